// Fuzzes the ClientHello extension parsers the client-hello callback runs on raw,
// attacker-controlled bytes: server_name, supported_versions, pre_shared_key.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlsresume/client_hello_fields.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto name = tlsresume::parseServerName(bytes)) {
    // Invariants of an accepted name: non-empty, bounded, lower-case.
    if (name->empty() || name->size() > 253) std::abort();
    for (char c : *name)
      if (c >= 'A' && c <= 'Z') std::abort();
  }
  if (auto raw = tlsresume::serverNameBytes(bytes)) {
    // A view inside the input, never past its end.
    if (raw->data() < bytes.data() || raw->data() + raw->size() > bytes.data() + bytes.size()) std::abort();
  }
  (void)tlsresume::offersVersion(bytes, 0x0304);
  if (auto psk = tlsresume::parsePskIdentityLengths(bytes)) {
    // Invariants: at least one identity, none empty, within the bytes given.
    if (psk->count == 0 || psk->count > psk->length.size()) std::abort();
    for (std::size_t i = 0; i < psk->count; ++i)
      if (psk->length[i] == 0 || psk->length[i] > size) std::abort();
  }
  return 0;
}
