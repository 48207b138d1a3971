// Costs on the ticket path: per-host key derivation (once per key and host, at rotation),
// the snapshot read every handshake does, and sealing/opening a ticket body with the
// RFC 5077 §4 construction: key_name(16) || IV(16) || AES-256-CBC(state) || HMAC-SHA256
// over everything before it. Prints figures, asserts nothing.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlsresume/keyring.hpp"

namespace tlsresume {
namespace {

constexpr std::size_t kBodyBytes = 200;  // a TLS 1.2 session plus our app data
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kMacBytes = 32;

struct CipherFree {
  void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

// Fetched once per process (OpenSSL 3 re-fetches per call when handed EVP_aes_256_cbc()).
const EVP_CIPHER* aes256cbc() {
  static const std::unique_ptr<EVP_CIPHER, CipherFree> cipher(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  return cipher.get();
}
EVP_MAC* hmacAlg() {
  static const std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac.get();
}

// What the binding's ticket callback does with the contexts OpenSSL hands it.
class TicketSealer {
 public:
  explicit TicketSealer(const EVP_CIPHER* cipher = aes256cbc())
      : cipher_(cipher), cctx_(EVP_CIPHER_CTX_new()), mctx_(EVP_MAC_CTX_new(hmacAlg())) {
    if (!cctx_ || !mctx_) throw std::runtime_error("context allocation failed");
  }

  bool seal(const SealingKey& key, const unsigned char* body, std::size_t len, std::vector<unsigned char>& out) {
    out.resize(kKeyNameBytes + kIvBytes + len + kIvBytes + kMacBytes);
    unsigned char* p = out.data();
    std::memcpy(p, key.name.data(), kKeyNameBytes);
    unsigned char* iv = p + kKeyNameBytes;
    if (RAND_bytes(iv, kIvBytes) != 1) return false;
    unsigned char* ct = iv + kIvBytes;
    int n1 = 0, n2 = 0;
    if (EVP_EncryptInit_ex2(cctx_.get(), cipher_, key.aes_key, iv, nullptr) != 1 ||
        EVP_EncryptUpdate(cctx_.get(), ct, &n1, body, static_cast<int>(len)) != 1 ||
        EVP_EncryptFinal_ex(cctx_.get(), ct + n1, &n2) != 1)
      return false;
    const std::size_t authed = kKeyNameBytes + kIvBytes + static_cast<std::size_t>(n1 + n2);
    std::size_t mac_len = 0;
    if (!macInit(key) || EVP_MAC_update(mctx_.get(), p, authed) != 1 ||
        EVP_MAC_final(mctx_.get(), p + authed, &mac_len, kMacBytes) != 1)
      return false;
    out.resize(authed + mac_len);
    return true;
  }

  // RFC 5077 §4: the MAC is checked, in constant time, before anything is decrypted.
  bool open(const SealingKey& key, const std::vector<unsigned char>& ticket, std::vector<unsigned char>& body) {
    if (ticket.size() < kKeyNameBytes + kIvBytes + kIvBytes + kMacBytes) return false;
    const std::size_t authed = ticket.size() - kMacBytes;
    unsigned char mac[kMacBytes];
    std::size_t mac_len = 0;
    if (!macInit(key) || EVP_MAC_update(mctx_.get(), ticket.data(), authed) != 1 ||
        EVP_MAC_final(mctx_.get(), mac, &mac_len, sizeof mac) != 1 || mac_len != kMacBytes)
      return false;
    if (CRYPTO_memcmp(mac, ticket.data() + authed, kMacBytes) != 0) return false;
    const unsigned char* iv = ticket.data() + kKeyNameBytes;
    const unsigned char* ct = iv + kIvBytes;
    const std::size_t ct_len = authed - kKeyNameBytes - kIvBytes;
    body.resize(ct_len);
    int n1 = 0, n2 = 0;
    if (EVP_DecryptInit_ex2(cctx_.get(), cipher_, key.aes_key, iv, nullptr) != 1 ||
        EVP_DecryptUpdate(cctx_.get(), body.data(), &n1, ct, static_cast<int>(ct_len)) != 1 ||
        EVP_DecryptFinal_ex(cctx_.get(), body.data() + n1, &n2) != 1)
      return false;
    body.resize(static_cast<std::size_t>(n1 + n2));
    return true;
  }

 private:
  bool macInit(const SealingKey& key) {
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    return EVP_MAC_init(mctx_.get(), key.hmac_key, kHmacKeyBytes, params) == 1;
  }

  const EVP_CIPHER* cipher_;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> cctx_;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> mctx_;
};

Keyring& keyring() {
  static Keyring ring(KeyringOptions{}, {"shop.example", "api.example"}, SystemClock::instance(),
                      std::make_unique<LocalKeySource>());
  return ring;
}

std::vector<unsigned char> body() {
  std::vector<unsigned char> b(kBodyBytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  return b;
}

void BM_DeriveHostKey(benchmark::State& state) {
  SecureBuffer master(kKeyMaterialBytes), out(kKeyMaterialBytes);
  RAND_priv_bytes(master.data(), static_cast<int>(master.size()));
  for (auto _ : state) {
    bool ok = deriveHostKey(master.data(), "shop.example", out.data());
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_DeriveHostKey);

// A whole rotation: new master key, one SecureBuffer, derivation for every host, snapshot.
void BM_RotateNow(benchmark::State& state) {
  std::vector<std::string> hosts;
  for (int i = 0; i < state.range(0); ++i) hosts.push_back("host" + std::to_string(i) + ".example");
  FakeClock clock;
  Keyring ring(KeyringOptions{}, hosts, clock, std::make_unique<LocalKeySource>());
  for (auto _ : state) {
    clock.advance(std::chrono::hours{3});  // keeps the ring at two keys
    benchmark::DoNotOptimize(ring.rotateNow());
  }
}
BENCHMARK(BM_RotateNow)->Arg(1)->Arg(16)->Arg(64);

// Every handshake: take a snapshot, find a key by name.
void BM_SnapshotFind(benchmark::State& state) {
  const auto name = keyring().snapshot()->current(1)->name;
  for (auto _ : state) {
    const auto snap = keyring().snapshot();
    benchmark::DoNotOptimize(snap->find(1, name.data()));
  }
}
BENCHMARK(BM_SnapshotFind)->Threads(1)->Threads(2);

void BM_Seal(benchmark::State& state) {
  TicketSealer sealer;
  const auto snap = keyring().snapshot();
  const auto b = body();
  std::vector<unsigned char> ticket;
  for (auto _ : state) {
    if (!sealer.seal(*snap->current(0), b.data(), b.size(), ticket)) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(ticket.data());
  }
  state.counters["ticket_bytes"] = static_cast<double>(ticket.size());
}
BENCHMARK(BM_Seal);

// The same with the legacy EVP_aes_256_cbc() object: OpenSSL 3 fetches behind it per init.
void BM_SealLegacyCipherObject(benchmark::State& state) {
  TicketSealer sealer(EVP_aes_256_cbc());
  const auto snap = keyring().snapshot();
  const auto b = body();
  std::vector<unsigned char> ticket;
  for (auto _ : state) {
    if (!sealer.seal(*snap->current(0), b.data(), b.size(), ticket)) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(ticket.data());
  }
}
BENCHMARK(BM_SealLegacyCipherObject);

void BM_Open(benchmark::State& state) {
  TicketSealer sealer;
  const auto snap = keyring().snapshot();
  const auto b = body();
  std::vector<unsigned char> ticket, out;
  sealer.seal(*snap->current(0), b.data(), b.size(), ticket);
  for (auto _ : state) {
    const SealingKey* key = snap->find(0, ticket.data());
    if (key == nullptr || !sealer.open(*key, ticket, out)) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  if (out != b) state.SkipWithError("round trip changed the body");
}
BENCHMARK(BM_Open);

// A tampered ticket costs one MAC and no decryption.
void BM_OpenTampered(benchmark::State& state) {
  TicketSealer sealer;
  const auto snap = keyring().snapshot();
  const auto b = body();
  std::vector<unsigned char> ticket, out;
  sealer.seal(*snap->current(0), b.data(), b.size(), ticket);
  ticket[40] ^= 1;
  for (auto _ : state) {
    if (sealer.open(*snap->current(0), ticket, out)) state.SkipWithError("tampered ticket opened");
  }
}
BENCHMARK(BM_OpenTampered);

}  // namespace
}  // namespace tlsresume

BENCHMARK_MAIN();
