// The engine's cryptography on BoringSSL (see tlsresume/crypto.hpp): HKDF() from
// <openssl/hkdf.h> (BoringSSL has no EVP_KDF), the EVP_AEAD interface for AES-256-GCM, and
// its one CSPRNG for secrets (it has no separate private DRBG).
#include <openssl/aead.h>
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <openssl/digest.h>
#include <openssl/hkdf.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <string>

#include "tlsresume/crypto.hpp"

namespace tlsresume::crypto {

bool hkdfSha256(const unsigned char* ikm, std::size_t ikm_len, std::string_view salt, std::string_view info,
                unsigned char* out, std::size_t out_len) noexcept {
  if (!ikm || !out) return false;
  if (HKDF(out, out_len, EVP_sha256(), ikm, ikm_len, reinterpret_cast<const uint8_t*>(salt.data()), salt.size(),
           reinterpret_cast<const uint8_t*>(info.data()), info.size()) != 1) {
    OPENSSL_cleanse(out, out_len);
    return false;
  }
  return true;
}

bool secretRandom(unsigned char* out, std::size_t len) noexcept { return RAND_bytes(out, len) == 1; }

bool aes256GcmSeal(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, unsigned char* out, unsigned char* tag) noexcept {
  bssl::ScopedEVP_AEAD_CTX ctx;
  std::size_t out_tag_len = 0;
  const bool ok =
      EVP_AEAD_CTX_init(ctx.get(), EVP_aead_aes_256_gcm(), key32, 32, kGcmTagBytes, nullptr) == 1 &&
      EVP_AEAD_CTX_seal_scatter(ctx.get(), out, tag, &out_tag_len, kGcmTagBytes, iv, kGcmIvBytes, in, len, nullptr, 0,
                                reinterpret_cast<const uint8_t*>(aad.data()), aad.size()) == 1 &&
      out_tag_len == kGcmTagBytes;
  if (!ok) OPENSSL_cleanse(out, len);
  return ok;
}

bool aes256GcmOpen(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, const unsigned char* tag, unsigned char* out) noexcept {
  bssl::ScopedEVP_AEAD_CTX ctx;
  const bool ok = EVP_AEAD_CTX_init(ctx.get(), EVP_aead_aes_256_gcm(), key32, 32, kGcmTagBytes, nullptr) == 1 &&
                  EVP_AEAD_CTX_open_gather(ctx.get(), out, iv, kGcmIvBytes, in, len, tag, kGcmTagBytes,
                                           reinterpret_cast<const uint8_t*>(aad.data()), aad.size()) == 1;
  if (!ok) OPENSSL_cleanse(out, len);
  return ok;
}

const char* libraryVersion() noexcept {
  static const std::string version = "BoringSSL (API " + std::to_string(BORINGSSL_API_VERSION) + ")";
  return version.c_str();
}

}  // namespace tlsresume::crypto
