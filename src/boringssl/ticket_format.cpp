#include "boringssl/ticket_format.hpp"

#include <chrono>
#include <cstring>

namespace tlsresume::tls::bssl_ticket {
namespace {

constexpr unsigned char kRecordVersion = 1;
constexpr unsigned char kFlagExtms = 0x01;

void putU32(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}

std::uint32_t getU32(const unsigned char* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::int64_t seconds(TimePoint t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

}  // namespace

bool encodeRecord(const TicketAppData& data, std::span<unsigned char, kRecordBytes> out) noexcept {
  const std::int64_t issued = seconds(data.issued_at);
  const std::int64_t age = issued - seconds(data.chain_started_at);
  if (issued < 0 || issued > 0xffffffffLL || age < 0 || age > 0xffffffffLL) return false;
  out[0] = static_cast<unsigned char>(kRecordVersion << 4 | (data.extms ? kFlagExtms : 0));
  putU32(&out[1], static_cast<std::uint32_t>(issued));
  putU32(&out[5], static_cast<std::uint32_t>(age));
  std::memcpy(&out[9], data.resumption_id.data(), kResumptionIdBytes);
  return true;
}

std::optional<TicketAppData> decodeRecord(std::span<const unsigned char, kRecordBytes> in,
                                          std::uint64_t host_tag) noexcept {
  // The version is authenticated with the rest (inside the sealed part); strict all the same.
  if (in[0] >> 4 != kRecordVersion || (in[0] & 0x0f & ~kFlagExtms) != 0) return std::nullopt;
  const std::uint32_t issued = getU32(&in[1]);
  const std::uint32_t age = getU32(&in[5]);
  if (age > issued) return std::nullopt;
  TicketAppData data;
  data.issued_at = TimePoint{std::chrono::seconds{issued}};
  data.chain_started_at = TimePoint{std::chrono::seconds{issued - age}};
  data.host_tag = host_tag;
  std::memcpy(data.resumption_id.data(), &in[9], kResumptionIdBytes);
  data.extms = (in[0] & kFlagExtms) != 0;
  return data;
}

}  // namespace tlsresume::tls::bssl_ticket
