// Fuzzes what a Redis Cluster client reads from its nodes: the input is RESP, parsed by
// hiredis into Reply trees, and each tree is read as a CLUSTER SLOTS reply, turned into a slot
// table, and (when it is an error or a string) read as a -MOVED/-ASK redirection. A table must
// only name masters the ranges named, and a redirection must name a valid slot and port.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redis/cluster_slots.hpp"
#include "redis/resp.hpp"

namespace {

using namespace tlsresume::redis;

void check(const Reply& reply) {
  if (const auto ranges = parseClusterSlots(reply)) {
    std::size_t slots = 0;
    for (const auto& r : *ranges) {
      if (r.first > r.last || r.last >= kClusterSlots || r.master.port == 0) std::abort();
      slots += r.last - r.first + 1u;
    }
    const auto table = buildSlotTable(*ranges, "seed");
    if (table.covered() != slots || table.masters.size() > ranges->size()) std::abort();
    for (const auto owner : table.owner)
      if (owner != SlotTable::kNoOwner && owner >= table.masters.size()) std::abort();
  }
  if (reply.type == Reply::Type::error || reply.type == Reply::Type::string) {
    if (const auto r = parseRedirect(reply.str)) {
      if (r->slot >= kClusterSlots || r->port == 0) std::abort();
      if (r->host.find(' ') != std::string::npos) std::abort();
    }
  }
  (void)keySlot(reply.str);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  // The raw bytes as an error line too: the redirection parser sees more than hiredis lets by.
  if (const auto r = parseRedirect(std::string_view(bytes, size))) {
    if (r->slot >= kClusterSlots || r->port == 0) std::abort();
  }
  if (keySlot(std::string_view(bytes, size)) >= kClusterSlots) std::abort();
  ReplyReader reader;
  if (!reader.feed(bytes, size)) return 0;
  for (;;) {
    Reply reply;
    if (reader.next(reply) != ReplyReader::Status::reply) break;
    check(reply);
  }
  return 0;
}
