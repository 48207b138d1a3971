#include "tlsresume/client_hello_fields.hpp"

namespace tlsresume {
namespace {

// A cursor over untrusted bytes: every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : data_(bytes) {}
  bool u8(std::uint8_t& out) noexcept {
    if (data_.empty()) return false;
    out = static_cast<std::uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool u16(std::uint16_t& out) noexcept {
    if (data_.size() < 2) return false;
    out = static_cast<std::uint16_t>((static_cast<std::uint8_t>(data_[0]) << 8) | static_cast<std::uint8_t>(data_[1]));
    data_.remove_prefix(2);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) noexcept {
    if (data_.size() < n) return false;
    out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool empty() const noexcept { return data_.empty(); }

 private:
  std::string_view data_;
};

bool plausibleHostName(std::string_view name) noexcept {
  // RFC 6066 §3: no trailing dot; DNS names are at most 253 characters.
  if (name.empty() || name.size() > 253 || name.back() == '.') return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> serverNameBytes(std::string_view ext) noexcept {
  Reader r(ext);
  std::uint16_t list_len = 0;
  std::string_view list;
  if (!r.u16(list_len) || !r.bytes(list_len, list) || !r.empty()) return std::nullopt;
  Reader entries(list);
  while (!entries.empty()) {
    std::uint8_t type = 0;
    std::uint16_t len = 0;
    std::string_view name;
    if (!entries.u8(type) || !entries.u16(len) || !entries.bytes(len, name)) return std::nullopt;
    if (type == 0) return name;  // host_name
  }
  return std::nullopt;
}

std::optional<std::string> parseServerName(std::string_view ext) noexcept {
  const std::optional<std::string_view> name = serverNameBytes(ext);
  if (!name || !plausibleHostName(*name)) return std::nullopt;
  std::string out(*name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<bool> offersVersion(std::string_view ext, std::uint16_t version) noexcept {
  Reader r(ext);
  std::uint8_t len = 0;
  std::string_view list;
  if (!r.u8(len) || len % 2 != 0 || !r.bytes(len, list) || !r.empty()) return std::nullopt;
  Reader versions(list);
  bool found = false;
  std::uint16_t v = 0;
  while (versions.u16(v)) found = found || v == version;
  return found;
}

std::optional<PskIdentityLengths> parsePskIdentityLengths(std::string_view ext) noexcept {
  Reader r(ext);
  std::uint16_t identities_len = 0;
  std::string_view identities;
  std::uint16_t binders_len = 0;
  std::string_view binders;
  // OfferedPsks: identities<7..2^16-1>, binders<33..2^16-1>; nothing after.
  if (!r.u16(identities_len) || identities_len == 0 || !r.bytes(identities_len, identities) || !r.u16(binders_len) ||
      binders_len == 0 || !r.bytes(binders_len, binders) || !r.empty())
    return std::nullopt;
  PskIdentityLengths out;
  Reader ids(identities);
  while (!ids.empty()) {
    std::uint16_t len = 0;
    std::string_view identity;
    std::string_view obfuscated_age;
    if (!ids.u16(len) || len == 0 || !ids.bytes(len, identity) || !ids.bytes(4, obfuscated_age)) return std::nullopt;
    if (out.count < PskIdentityLengths::kMax) {
      out.identity[out.count] = identity;
      out.length[out.count++] = len;
    } else
      out.more = true;
  }
  return out;
}

}  // namespace tlsresume
