// Fuzzes the path from Redis's bytes to Reply trees: hiredis's reader building nodes in place.
// The first byte picks where the input is split, so partial feeds are exercised too; replies
// must not depend on how the bytes arrived, and every node must be paid for by input bytes.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "redis/resp.hpp"

namespace {

using tlsresume::redis::Reply;
using tlsresume::redis::ReplyReader;

std::size_t countNodes(const Reply& r) {
  std::size_t n = 1;
  for (const auto& e : r.elements) n += countNodes(e);
  return n;
}

bool same(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer || a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

// Feeds the chunks in order and drains replies after each; false: a protocol error.
bool readAll(const std::vector<std::pair<const char*, std::size_t>>& chunks, std::vector<Reply>& out) {
  ReplyReader reader;
  for (const auto& [data, size] : chunks) {
    if (!reader.feed(data, size)) return false;
    for (;;) {
      Reply r;
      const auto status = reader.next(r);
      if (status == ReplyReader::Status::protocol_error) return false;
      if (status == ReplyReader::Status::incomplete) break;
      out.push_back(std::move(r));
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cut = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t len = size - 1;
  const std::size_t at = cut < len ? cut : len;

  std::vector<Reply> whole, split;
  const bool whole_ok = readAll({{bytes, len}}, whole);
  const bool split_ok = readAll({{bytes, at}, {bytes + at, len - at}}, split);
  if (whole_ok) {
    if (!split_ok || whole.size() != split.size()) std::abort();
    for (std::size_t i = 0; i < whole.size(); ++i)
      if (!same(whole[i], split[i])) std::abort();
  }
  // The smallest node on the wire (":\r\n") is 3 bytes: memory follows what arrived.
  std::size_t nodes = 0;
  for (const auto& r : whole) nodes += countNodes(r);
  if (nodes * 3 > len) std::abort();
  return 0;
}
