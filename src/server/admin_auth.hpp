#pragma once
// The admin endpoint's bearer token (admin_token_file): read once at start, kept only as
// its SHA-256 digest, and compared in constant time.
#include <array>
#include <string>
#include <string_view>

namespace tlsresume::server {

class AdminToken {
 public:
  // The first line of the file (a trailing newline is not part of the token). Throws
  // ConfigError naming admin_token_file: unreadable, empty, shorter than kMinLength, or
  // holding characters a header cannot carry.
  static AdminToken fromFile(const std::string& path);
  // The same rules for a token given directly; `setting` names it in messages.
  static AdminToken fromText(std::string_view token, const std::string& setting);

  // Whether an Authorization header value is "Bearer <the token>". The digests of both are
  // compared with CRYPTO_memcmp: equal lengths, so neither the token's bytes nor its length
  // show in the time the comparison takes.
  bool accepts(std::string_view authorization) const noexcept;

  static constexpr std::size_t kMinLength = 16;

 private:
  std::array<unsigned char, 32> digest_{};
};

}  // namespace tlsresume::server
