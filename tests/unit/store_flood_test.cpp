// A flood of distinct sessions cannot grow the store past its byte budget, and the
// process's memory stays within a small multiple of that budget.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tlsresume/memory_store.hpp"

using namespace std::chrono_literals;

namespace {
long rssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}
}  // namespace

TEST(StoreFlood, AMillionDistinctSessionsStayWithinTheByteBudget) {
  constexpr std::size_t kBudget = 16u << 20;
  tlsresume::FakeClock clock;
  tlsresume::MemoryStore store({kBudget, 64}, clock);
  const long before = rssKib();
  std::string key(32, '\0');
  const std::string value(200, 'v');
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    std::memcpy(key.data(), &i, sizeof i);
    store.put(key, value, clock.now() + 1h);
  }
  const auto stats = store.stats();
  const long grown_kib = rssKib() - before;
  std::printf("flood: 1e6 puts -> %llu entries, %llu bytes (budget %zu), %llu evictions, RSS +%ld KiB\n",
              static_cast<unsigned long long>(stats.entries), static_cast<unsigned long long>(stats.bytes), kBudget,
              static_cast<unsigned long long>(stats.evictions), grown_kib);
  EXPECT_LE(stats.bytes, kBudget);
  EXPECT_GT(stats.evictions, 900'000u);
  EXPECT_EQ(stats.entries + stats.evictions, 1'000'000u);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)grown_kib;  // sanitizer shadow memory and quarantines make RSS meaningless here
#else
  EXPECT_LT(grown_kib * 1024, static_cast<long>(2 * kBudget)) << "memory beyond the budget";
#endif
}
