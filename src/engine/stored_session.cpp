#include "tlsresume/stored_session.hpp"

#include <algorithm>

namespace tlsresume {
namespace {

void putU64(std::string& out, TimePoint t) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s));
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Seconds beyond what a TimePoint (nanoseconds in 64 bits) holds are refused, not wrapped.
std::optional<TimePoint> getU64(std::string_view in) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  constexpr std::uint64_t kMaxSeconds = 9'000'000'000ull;  // year 2255; TimePoint ends in 2262
  if (v > kMaxSeconds) return std::nullopt;
  return TimePoint{std::chrono::seconds{static_cast<std::int64_t>(v)}};
}

}  // namespace

std::string encodeStoredSessionHeader(StoredKind kind, TimePoint start, TimePoint expires, std::string_view id,
                                      std::size_t reserve_der) {
  id = id.substr(0, kStoredSessionMaxIdBytes);
  std::string out;
  out.reserve(kStoredSessionFixedBytes + id.size() + reserve_der);
  out.push_back(static_cast<char>(kStoredSessionVersion));
  out.push_back(static_cast<char>(kind));
  putU64(out, start);
  putU64(out, expires);
  out.push_back(static_cast<char>(id.size()));
  out.append(id);
  return out;
}

std::optional<StoredSessionView> decodeStoredSession(std::string_view in) noexcept {
  if (in.size() <= kStoredSessionFixedBytes) return std::nullopt;
  if (static_cast<std::uint8_t>(in[0]) != kStoredSessionVersion) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(in[1]);
  if (kind > static_cast<std::uint8_t>(StoredKind::tls12_extms)) return std::nullopt;
  const auto start = getU64(in.substr(2, 8));
  const auto expires = getU64(in.substr(10, 8));
  if (!start || !expires || *start > *expires) return std::nullopt;
  const std::size_t id_len = static_cast<unsigned char>(in[18]);
  if (id_len > kStoredSessionMaxIdBytes || in.size() <= kStoredSessionFixedBytes + id_len) return std::nullopt;
  StoredSessionView v;
  v.kind = static_cast<StoredKind>(kind);
  v.start = *start;
  v.expires = *expires;
  v.id = in.substr(kStoredSessionFixedBytes, id_len);
  v.der = in.substr(kStoredSessionFixedBytes + id_len);
  return v;
}

}  // namespace tlsresume
