// MemoryStore benchmarks: get (hit), put and erase at 1 and 2 threads with 10^4 and 10^6
// sessions cached, and what one cached session costs in process memory.
//
// Sizes: 32-byte keys (a TLS 1.2 session id is at most 32 bytes, and our TLS 1.3 stateful
// ticket ids are 32) and 200-byte values, the typical size of an OpenSSL 3 serialized
// TLS 1.3 server session (i2d_SSL_SESSION without a peer certificate).
//
// For medians: store_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// With threads:2, "Time" is wall time divided by the operations of both threads (inverse
// throughput); "CPU" is CPU time per operation.
//
// Keys are derived from an index on the fly (a few ns, included in every figure) so no key
// array competes with the store for cache or skews the memory figure.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tlsresume/memory_store.hpp"

namespace tlsresume {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kValueBytes = 200;

class Key {
 public:
  explicit Key(std::uint64_t i) { set(i); }
  void set(std::uint64_t i) noexcept {
    // splitmix64 stream: looks random, like a real session id.
    for (std::size_t w = 0; w < kKeyBytes / 8; ++w) {
      std::uint64_t z = (i * 4 + w + 1) * 0x9e3779b97f4a7c15;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      z ^= z >> 31;
      std::memcpy(bytes_ + w * 8, &z, 8);
    }
  }
  std::string_view view() const noexcept { return {bytes_, kKeyBytes}; }

 private:
  char bytes_[kKeyBytes];
};

const std::string& sessionValue() {
  static const std::string value = [] {
    std::string v(kValueBytes, '\0');
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(i * 131 + 7);
    return v;
  }();
  return value;
}

TimePoint farFuture() { return SystemClock::instance().now() + std::chrono::hours{24}; }

std::size_t entryCost() { return kKeyBytes + kValueBytes + MemoryStore::overheadPerEntry(); }

void preload(MemoryStore& store, std::size_t n) {
  const TimePoint expiry = farFuture();
  Key key(0);
  for (std::size_t i = 0; i < n; ++i) {
    key.set(i);
    store.put(key.view(), sessionValue(), expiry);
  }
}

// Stores are built once per size and shared by every run and thread of a benchmark.
// kind 0: room for 4n (get, erase); kind 1: room for exactly n, so puts churn (evict).
MemoryStore& storeFor(int kind, std::size_t n) {
  static std::mutex mutex;
  static std::map<std::pair<int, std::size_t>, std::unique_ptr<MemoryStore>> stores;
  std::lock_guard lock(mutex);
  auto& slot = stores[{kind, n}];
  if (!slot) {
    const std::size_t room = kind == 0 ? 4 * n : n;
    slot = std::make_unique<MemoryStore>(MemoryStoreOptions{.max_bytes = room * entryCost(), .shards = 64},
                                         SystemClock::instance());
    preload(*slot, n);
  }
  return *slot;
}

// Each thread walks its own slice of the preloaded keys.
std::size_t sliceStart(const benchmark::State& state, std::size_t n) {
  return static_cast<std::size_t>(state.thread_index()) * n / static_cast<std::size_t>(state.threads());
}

void BM_Get(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  MemoryStore& store = storeFor(0, n);
  std::string out;
  out.reserve(kValueBytes);
  std::size_t i = sliceStart(state, n);
  Key key(i);
  for (auto _ : state) {
    key.set(i);
    if (!store.get(key.view(), out)) {
      state.SkipWithError("preloaded key missed");
      break;
    }
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// Fresh session ids into a full store: each put also evicts, the steady state of a cache.
void BM_Put(benchmark::State& state) {
  static std::atomic<std::uint64_t> next_block{1};
  const auto n = static_cast<std::size_t>(state.range(0));
  MemoryStore& store = storeFor(1, n);
  const TimePoint expiry = farFuture();
  std::uint64_t i = next_block.fetch_add(1) << 40;  // never collides with preloaded ids
  Key key(i);
  for (auto _ : state) {
    key.set(i++);
    store.put(key.view(), sessionValue(), expiry);
  }
  state.SetItemsProcessed(state.iterations());
}

// An erase leaves the store smaller, so each iteration erases a batch, timed by hand, then
// puts it back untimed. "Time" is per batch; ns_per_erase is the figure to read.
void BM_Erase(benchmark::State& state) {
  constexpr std::size_t kBatch = 64;
  const auto n = static_cast<std::size_t>(state.range(0));
  MemoryStore& store = storeFor(0, n);
  const TimePoint expiry = farFuture();
  const std::size_t start = sliceStart(state, n);
  const std::size_t slice = n / static_cast<std::size_t>(state.threads());
  std::size_t offset = 0;
  double erase_seconds = 0;
  Key key(0);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t b = 0; b < kBatch; ++b) {
      key.set(start + (offset + b) % slice);
      benchmark::DoNotOptimize(store.erase(key.view()));
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    state.SetIterationTime(took.count());
    erase_seconds += took.count();
    for (std::size_t b = 0; b < kBatch; ++b) {
      key.set(start + (offset + b) % slice);
      store.put(key.view(), sessionValue(), expiry);
    }
    offset = (offset + kBatch) % slice;
  }
  const double erases = static_cast<double>(state.iterations() * kBatch);
  state.counters["ns_per_erase"] = benchmark::Counter(erase_seconds * 1e9 / erases, benchmark::Counter::kAvgThreads);
}

std::size_t residentBytes() {
  std::size_t pages_total = 0;
  std::size_t pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%zu %zu", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// malloc's own count: small chunks in use plus large (mmapped) blocks, e.g. hash tables.
std::size_t heapBytesInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Memory one cached session costs, from the process's own RSS (and malloc's count of bytes
// in use) before and after caching n sessions. Registered first, so it runs on a fresh
// heap: freed memory from other benchmarks would hide growth.
void BM_MemoryPerSession(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    const std::size_t rss_before = residentBytes();
    const std::size_t heap_before = heapBytesInUse();
    // Budget far above need: the figure must not be flattered by evictions.
    MemoryStore store({.max_bytes = 4 * n * entryCost(), .shards = 64}, SystemClock::instance());
    preload(store, n);
    const std::size_t rss_after = residentBytes();
    const std::size_t heap_after = heapBytesInUse();
    const StoreStats stats = store.stats();
    if (stats.entries != n) {
      state.SkipWithError("sessions were evicted");
      break;
    }
    const double sessions = static_cast<double>(n);
    const double payload = kKeyBytes + kValueBytes;
    const double rss_per = static_cast<double>(rss_after - rss_before) / sessions;
    const double heap_per = static_cast<double>(heap_after - heap_before) / sessions;
    state.counters["bytes_per_session"] = rss_per;
    state.counters["overhead_per_session"] = rss_per - payload;
    state.counters["heap_overhead_per_session"] = heap_per - payload;
    state.counters["charged_overhead_per_session"] = static_cast<double>(stats.bytes) / sessions - payload;
  }
}

// Once only, even under --benchmark_repetitions: a second run would start on a used heap.
BENCHMARK(BM_MemoryPerSession)->Arg(1'000'000)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Get)->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Put)->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Erase)->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseManualTime();

}  // namespace
}  // namespace tlsresume

BENCHMARK_MAIN();
