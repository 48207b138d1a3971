// libFuzzer target: decodeTicketAppData reads bytes that come out of a ticket. The MAC
// makes forged input unlikely, but a key shared with a buggy fleet node, or a future
// version's record, must still never crash or be misread.
// Property: whatever decodes as the current version re-encodes to exactly the input (one
// encoding per value, so no two byte strings can mean the same record and none is
// silently reinterpreted); an older version decodes to a record that re-encodes (as the
// current one) and decodes to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlsresume/ticket_app_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto decoded = tlsresume::decodeTicketAppData(input);
  if (!decoded) return 0;
  if (decoded->chain_started_at > decoded->issued_at) {
    std::fputs("decoder accepted a chain that starts after issue\n", stderr);
    std::abort();
  }
  const std::string encoded = tlsresume::encodeTicketAppData(*decoded);
  const bool current = !input.empty() && static_cast<std::uint8_t>(input[0]) == tlsresume::kTicketAppDataVersion;
  if (current && encoded != input) {
    std::fputs("decode/encode round trip changed the bytes\n", stderr);
    std::abort();
  }
  if (!current && tlsresume::decodeTicketAppData(encoded) != decoded) {
    std::fputs("an older record re-encoded to a different record\n", stderr);
    std::abort();
  }
  return 0;
}
