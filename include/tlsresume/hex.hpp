#pragma once
// Lower-case hex of public identifiers (session ids, resumption ids). Never for secrets.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace tlsresume {

inline std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

inline std::string toHex(const unsigned char* data, std::size_t size) {
  return toHex(std::string_view(reinterpret_cast<const char*>(data), size));
}

// The bytes of a hex string (either case); nullopt when empty, odd, over 255 bytes or not hex.
inline std::optional<std::string> fromHex(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0 || s.size() > std::size_t{2} * 255) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc{} || p != s.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

}  // namespace tlsresume
