// libFuzzer target: decodeStoredSession reads records another process wrote (fleet mode:
// through Redis). Property: whatever decodes re-encodes to exactly the input (one encoding
// per record, so no two byte strings mean the same session), and what it points at lies
// inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlsresume/stored_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto view = tlsresume::decodeStoredSession(input);
  if (!view) return 0;
  if (view->der.empty() || view->start > view->expires || view->id.size() > tlsresume::kStoredSessionMaxIdBytes) {
    std::fputs("decoder accepted an inconsistent record\n", stderr);
    std::abort();
  }
  std::string encoded = tlsresume::encodeStoredSessionHeader(view->kind, view->start, view->expires, view->id);
  encoded.append(view->der);
  if (encoded != input) {
    std::fputs("decode/encode round trip changed the bytes\n", stderr);
    std::abort();
  }
  return 0;
}
