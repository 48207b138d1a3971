// The engine's cryptography on OpenSSL 3 (see tlsresume/crypto.hpp). Algorithms are
// fetched once per process: OpenSSL 3 fetches take locks and re-fetch when handed legacy
// EVP_aes_256_gcm()-style objects.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

#include "tlsresume/crypto.hpp"

namespace tlsresume::crypto {
namespace {

// Deliberately never freed (reachable statics; process lifetime).
EVP_KDF* hkdf() noexcept {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}
EVP_CIPHER* aesGcm() noexcept {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

}  // namespace

bool hkdfSha256(const unsigned char* ikm, std::size_t ikm_len, std::string_view salt, std::string_view info,
                unsigned char* out, std::size_t out_len) noexcept {
  if (!hkdf() || !ikm || !out) return false;
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(hkdf()));
  if (!ctx) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(ikm), ikm_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  // The context keeps a copy of the ikm and frees it with OPENSSL_clear_free.
  if (EVP_KDF_derive(ctx.get(), out, out_len, params) != 1) {
    OPENSSL_cleanse(out, out_len);
    return false;
  }
  return true;
}

bool secretRandom(unsigned char* out, std::size_t len) noexcept {
  return len <= INT_MAX && RAND_priv_bytes(out, static_cast<int>(len)) == 1;
}

bool aes256GcmSeal(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, unsigned char* out, unsigned char* tag) noexcept {
  if (!aesGcm() || len > INT_MAX || aad.size() > INT_MAX) return false;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  const bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), aesGcm(), key32, iv, nullptr) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                                    static_cast<int>(aad.size())) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), out, &n, in, static_cast<int>(len)) == 1 &&
                  EVP_EncryptFinal_ex(ctx.get(), out + n, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes), tag) == 1;
  if (!ok) OPENSSL_cleanse(out, len);
  return ok;
}

bool aes256GcmOpen(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, const unsigned char* tag, unsigned char* out) noexcept {
  if (!aesGcm() || len > INT_MAX || aad.size() > INT_MAX) return false;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  const bool ok = ctx && EVP_DecryptInit_ex2(ctx.get(), aesGcm(), key32, iv, nullptr) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                                    static_cast<int>(aad.size())) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), out, &n, in, static_cast<int>(len)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                                      const_cast<unsigned char*>(tag)) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), out + n, &n) == 1;
  if (!ok) OPENSSL_cleanse(out, len);
  return ok;
}

const char* libraryVersion() noexcept { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace tlsresume::crypto
