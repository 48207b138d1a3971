#pragma once
// Lower-case hex of public identifiers (session ids, resumption ids). Never for secrets.
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

}  // namespace tlsresume
