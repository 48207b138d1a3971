// Costs of the keyring on the ticket path: per-host key derivation (once per key and host,
// at rotation), a whole rotation, and the snapshot read every handshake does. What sealing
// and opening a ticket costs is measured where it happens, inside OpenSSL through our
// binding: bench/binding_bench.cpp. Prints figures, asserts nothing.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "tlsresume/crypto.hpp"
#include "tlsresume/keyring.hpp"

namespace tlsresume {
namespace {

Keyring& keyring() {
  static Keyring ring(KeyringOptions{}, {"shop.example", "api.example"}, SystemClock::instance(),
                      std::make_unique<LocalKeySource>());
  return ring;
}

void BM_DeriveHostKey(benchmark::State& state) {
  SecureBuffer master(kKeyMaterialBytes), out(kKeyMaterialBytes);
  crypto::secretRandom(master.data(), master.size());
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

}  // namespace
}  // namespace tlsresume

BENCHMARK_MAIN();
