#include "tlsresume/ticket_app_data.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>

namespace tlsresume {
namespace {

using std::chrono::seconds;

// The largest second count a TimePoint can hold (system_clock counts nanoseconds in an
// int64 on libstdc++: year 2262). Larger values would overflow on conversion.
constexpr std::uint64_t kMaxSeconds =
    static_cast<std::uint64_t>(std::chrono::duration_cast<seconds>(TimePoint::max().time_since_epoch()).count());

constexpr std::size_t kIssuedAtOffset = 1;
constexpr std::size_t kChainStartedAtOffset = kIssuedAtOffset + 8;
constexpr std::size_t kHostTagOffset = kChainStartedAtOffset + 8;
constexpr std::size_t kResumptionIdOffset = kHostTagOffset + 8;
constexpr std::size_t kFlagsOffset = kResumptionIdOffset + kResumptionIdBytes;
static_assert(kFlagsOffset + 1 == kTicketAppDataBytes);
static_assert(kFlagsOffset == kTicketAppDataBytesV1);
constexpr unsigned char kFlagExtms = 0x01;

void putU64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t getU64(const unsigned char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

std::uint64_t toSeconds(TimePoint t) noexcept {
  const auto s = std::chrono::floor<seconds>(t).time_since_epoch().count();
  return s < 0 ? 0 : static_cast<std::uint64_t>(s);
}

}  // namespace

std::string encodeTicketAppData(const TicketAppData& data) {
  std::string out;
  out.reserve(kTicketAppDataBytes);
  out.push_back(static_cast<char>(kTicketAppDataVersion));
  putU64(out, toSeconds(data.issued_at));
  putU64(out, toSeconds(data.chain_started_at));
  putU64(out, data.host_tag);
  out.append(reinterpret_cast<const char*>(data.resumption_id.data()), data.resumption_id.size());
  out.push_back(static_cast<char>(data.extms ? kFlagExtms : 0));
  return out;
}

std::optional<TicketAppData> decodeTicketAppData(std::string_view bytes) noexcept {
  // Exactly one length per version: a shorter or longer record is not ours (and a
  // truncated one must never be read past its end, cf. OpenSSL CVE-2016-6302).
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const bool v2 = bytes.size() == kTicketAppDataBytes && p[0] == kTicketAppDataVersion;
  const bool v1 = bytes.size() == kTicketAppDataBytesV1 && p[0] == kTicketAppDataVersion1;
  if (!v1 && !v2) return std::nullopt;
  const std::uint64_t issued = getU64(p + kIssuedAtOffset);
  const std::uint64_t chain = getU64(p + kChainStartedAtOffset);
  if (issued > kMaxSeconds || chain > kMaxSeconds) return std::nullopt;
  // A chain of renewed tickets starts at or before the ticket in hand.
  if (chain > issued) return std::nullopt;
  TicketAppData data;
  data.issued_at = TimePoint{seconds{static_cast<seconds::rep>(issued)}};
  data.chain_started_at = TimePoint{seconds{static_cast<seconds::rep>(chain)}};
  data.host_tag = getU64(p + kHostTagOffset);
  for (std::size_t i = 0; i < kResumptionIdBytes; ++i) data.resumption_id[i] = p[kResumptionIdOffset + i];
  if (v1) {
    data.extms = true;  // unknown; see the header for why this guess is the safe one
    return data;
  }
  const unsigned char flags = p[kFlagsOffset];
  if (flags & ~kFlagExtms) return std::nullopt;  // a bit this version does not define
  data.extms = (flags & kFlagExtms) != 0;
  return data;
}

std::uint64_t hostTag(std::string_view host_id) noexcept {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  if (SHA256(reinterpret_cast<const unsigned char*>(host_id.data()), host_id.size(), digest) == nullptr) return 0;
  return getU64(digest);
}

std::optional<std::array<unsigned char, kResumptionIdBytes>> newResumptionId() noexcept {
  std::array<unsigned char, kResumptionIdBytes> id{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) return std::nullopt;
  return id;
}

}  // namespace tlsresume
