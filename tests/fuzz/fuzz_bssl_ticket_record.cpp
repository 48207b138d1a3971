// libFuzzer target: the chain record inside a BoringSSL-build ticket
// (src/boringssl/ticket_format.hpp). The record is read only after AES-256-GCM accepted the
// ticket, but a key shared with a buggy fleet node, or a future version's record, must
// still never crash or be misread.
// Property: whatever decodes re-encodes to exactly the input (one encoding per value, so no
// two byte strings mean the same record), and no decoded chain starts after its issue.
// The codec has no TLS calls, so this target builds with either library.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "boringssl/ticket_format.hpp"

namespace bt = tlsresume::tls::bssl_ticket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < bt::kRecordBytes + 8) return 0;
  std::uint64_t host_tag = 0;
  std::memcpy(&host_tag, data + bt::kRecordBytes, sizeof host_tag);
  const std::span<const unsigned char, bt::kRecordBytes> record(data, bt::kRecordBytes);
  const auto decoded = bt::decodeRecord(record, host_tag);
  if (!decoded) return 0;
  if (decoded->chain_started_at > decoded->issued_at || decoded->host_tag != host_tag) {
    std::fputs("decoder accepted an inconsistent record\n", stderr);
    std::abort();
  }
  unsigned char again[bt::kRecordBytes];
  if (!bt::encodeRecord(*decoded, std::span<unsigned char, bt::kRecordBytes>(again)) ||
      std::memcmp(again, data, bt::kRecordBytes) != 0) {
    std::fputs("decode/encode round trip changed the bytes\n", stderr);
    std::abort();
  }
  return 0;
}
