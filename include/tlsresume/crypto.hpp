#pragma once
// The engine's cryptography beyond what OpenSSL 3 and BoringSSL spell alike (SHA256,
// RAND_bytes, OPENSSL_cleanse, CRYPTO_memcmp are used directly). One process links one
// libcrypto, so the engine builds against either: one implementation per library,
// src/openssl/engine_crypto.cpp and src/boringssl/engine_crypto.cpp, and CMake compiles the
// one of the chosen build (TLSRESUME_TLS). Everything here is noexcept; false means the
// library failed (out of memory, no randomness) and every output buffer is wiped.
#include <cstddef>
#include <string_view>

namespace tlsresume::crypto {

// RFC 5869 HKDF with SHA-256: extract with `salt`, expand with `info`, `out_len` bytes.
bool hkdfSha256(const unsigned char* ikm, std::size_t ikm_len, std::string_view salt, std::string_view info,
                unsigned char* out, std::size_t out_len) noexcept;

// Bytes for secrets (ticket keys): OpenSSL's private DRBG (RAND_priv_bytes), kept apart from
// the one that makes public randomness; BoringSSL has one CSPRNG (RAND_bytes).
bool secretRandom(unsigned char* out, std::size_t len) noexcept;

// AES-256-GCM with a 12-byte IV and a 16-byte tag; `aad` authenticated, not encrypted.
inline constexpr std::size_t kGcmIvBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;
bool aes256GcmSeal(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, unsigned char* out, unsigned char* tag) noexcept;
bool aes256GcmOpen(const unsigned char* key32, const unsigned char* iv, std::string_view aad, const unsigned char* in,
                   std::size_t len, const unsigned char* tag, unsigned char* out) noexcept;

// The library's name and version, for --version and reports ("OpenSSL 3.0.17 1 Jul 2025").
const char* libraryVersion() noexcept;

}  // namespace tlsresume::crypto
