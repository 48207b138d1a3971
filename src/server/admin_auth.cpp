#include "server/admin_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/config.hpp"

namespace tlsresume::server {
namespace {

std::array<unsigned char, 32> sha256(std::string_view data) noexcept {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    out.fill(0xff);  // cannot happen with the default provider; matches no token digest in practice
  return out;
}

}  // namespace

AdminToken AdminToken::fromText(std::string_view token, const std::string& setting) {
  if (token.empty()) throw ConfigError(setting + ": the token is empty");
  if (token.size() < kMinLength)
    throw ConfigError(setting + ": the token is shorter than " + std::to_string(kMinLength) +
                      " characters (make one with: openssl rand -hex 32)");
  for (const unsigned char c : token)
    if (c <= ' ' || c >= 0x7f)
      throw ConfigError(setting + ": the token may only hold printable ASCII without spaces");
  AdminToken t;
  t.digest_ = sha256(token);
  return t;
}

AdminToken AdminToken::fromFile(const std::string& path) {
  const std::string setting = "admin_token_file: " + path;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ConfigError(setting + ": cannot read: " + std::strerror(errno));
  std::string contents;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && contents.size() < 4096) contents.append(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) {
    OPENSSL_cleanse(contents.data(), contents.size());
    throw ConfigError(setting + ": cannot read");
  }
  const std::string_view first(contents.data(), std::min(contents.size(), contents.find_first_of("\r\n")));
  try {
    AdminToken t = fromText(first, setting);
    OPENSSL_cleanse(contents.data(), contents.size());
    return t;
  } catch (...) {
    OPENSSL_cleanse(contents.data(), contents.size());
    throw;
  }
}

bool AdminToken::accepts(std::string_view authorization) const noexcept {
  // RFC 6750 section 2.1: "Bearer" (case-insensitive scheme, RFC 9110 section 11.1), one
  // space, the token.
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(authorization[i]))) != kScheme[i]) return false;
  authorization.remove_prefix(kScheme.size());
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  while (!authorization.empty() && (authorization.back() == ' ' || authorization.back() == '\t'))
    authorization.remove_suffix(1);
  const auto offered = sha256(authorization);
  return CRYPTO_memcmp(offered.data(), digest_.data(), digest_.size()) == 0;
}

}  // namespace tlsresume::server
