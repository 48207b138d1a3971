#include "tlsresume/memory_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tlsresume {
namespace {

using std::chrono::hours;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr std::size_t kShards = 16;
constexpr std::size_t kValueBytes = 200;

// 32 bytes, like a TLS 1.2 session id; distinct per index.
std::string makeKey(std::size_t i) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "session-%024zu", i);
  return std::string(buf, 32);
}

std::string makeValue(std::size_t fill, std::size_t size = kValueBytes) {
  return std::string(size, static_cast<char>('a' + fill % 26));
}

std::size_t costOf(std::size_t key_bytes, std::size_t value_bytes) {
  return key_bytes + value_bytes + MemoryStore::overheadPerEntry();
}

std::size_t entryCost() { return costOf(32, kValueBytes); }

// Keys that all land in one shard of a 16-shard store. Shards are invisible through the
// API, so a probe store whose shards hold exactly one entry each reveals them: a candidate
// evicts the anchor only if the two share a shard. Relies on placement depending only on
// the key and the shard count, alike for every store in the process.
std::vector<std::string> keysSharingAShard(std::size_t count) {
  FakeClock clock;
  const TimePoint expiry = clock.now() + hours{1};
  MemoryStore probe({.max_bytes = kShards * entryCost(), .shards = kShards}, clock);
  const std::string value = makeValue(15);
  std::vector<std::string> keys{makeKey(0)};
  probe.put(keys[0], value, expiry);
  for (std::size_t i = 1; keys.size() < count && i < 100'000; ++i) {
    const std::string candidate = makeKey(i);
    const auto evictions = probe.stats().evictions;
    probe.put(candidate, value, expiry);
    if (probe.stats().evictions > evictions) {
      keys.push_back(candidate);
      probe.put(keys[0], value, expiry);  // evicts the candidate, restores the anchor
    } else {
      probe.erase(candidate);
    }
  }
  EXPECT_EQ(keys.size(), count) << "could not find keys sharing a shard";
  return keys;
}

class MemoryStoreTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  TimePoint later() const { return clock_.now() + hours{1}; }
};

TEST_F(MemoryStoreTest, ReturnsACopyOfTheValueThatWasPut) {
  MemoryStore store({}, clock_);
  store.put(makeKey(1), "serialized session", later());
  std::string out;
  ASSERT_TRUE(store.get(makeKey(1), out));
  EXPECT_EQ(out, "serialized session");
  EXPECT_EQ(store.stats().hits, 1u);
  EXPECT_EQ(store.stats().entries, 1u);
}

TEST_F(MemoryStoreTest, ReplacesTheValueWhenTheSameKeyIsPutAgain) {
  MemoryStore store({}, clock_);
  store.put(makeKey(1), makeValue(0, 100), later());
  store.put(makeKey(1), makeValue(1, 150), later());
  std::string out;
  ASSERT_TRUE(store.get(makeKey(1), out));
  EXPECT_EQ(out, makeValue(1, 150));
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.bytes, costOf(32, 150));
  EXPECT_EQ(stats.evictions, 0u);
}

TEST_F(MemoryStoreTest, EraseRemovesTheEntryAndSaysWhetherThereWasOne) {
  MemoryStore store({}, clock_);
  store.put(makeKey(1), makeValue(0), later());
  EXPECT_TRUE(store.erase(makeKey(1)));
  EXPECT_FALSE(store.erase(makeKey(1)));
  std::string out;
  EXPECT_FALSE(store.get(makeKey(1), out));
  EXPECT_EQ(store.stats().entries, 0u);
}

// Revocation erases what it refuses with one scan: every matching entry, in every shard
// (keys sharing a shard included, so a removal mid-walk cannot skip a neighbour), and
// nothing else; the budget is credited back.
TEST_F(MemoryStoreTest, EraseIfRemovesExactlyTheMatchingEntries) {
  MemoryStore store({.max_bytes = 1 << 20, .shards = kShards}, clock_);
  // makeValue(fill) repeats the letter 'a' + fill % 26: an even letter for an even fill.
  std::unordered_map<std::string, bool> kept;  // key -> survives; the last value put wins
  const auto put = [&](const std::string& key, std::size_t fill) {
    store.put(key, makeValue(fill), later());
    kept[key] = fill % 2 == 1;
  };
  for (std::size_t i = 0; i < 200; ++i) put(makeKey(i), i);
  const std::vector<std::string> neighbours = keysSharingAShard(6);
  for (std::size_t i = 0; i < neighbours.size(); ++i) put(neighbours[i], i);
  ASSERT_EQ(store.stats().entries, kept.size());
  const std::size_t erased =
      store.eraseIf([](std::string_view, std::string_view value) { return (value.front() - 'a') % 2 == 0; });
  std::size_t survivors = 0;
  for (const auto& [key, survives] : kept) {
    std::string out;
    EXPECT_EQ(store.get(key, out), survives) << key;
    survivors += survives;
  }
  EXPECT_EQ(erased, kept.size() - survivors);
  const StoreStats after = store.stats();
  EXPECT_EQ(after.entries, survivors);
  EXPECT_EQ(after.bytes, survivors * entryCost());
  EXPECT_EQ(store.eraseIf([](std::string_view, std::string_view) { return false; }), 0u);
}

TEST_F(MemoryStoreTest, MissesAKeyItNeverSaw) {
  MemoryStore store({}, clock_);
  store.put(makeKey(1), makeValue(0), later());
  std::string out;
  EXPECT_FALSE(store.get(makeKey(2), out));
  EXPECT_FALSE(store.get("", out));
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.misses, 2u);
  EXPECT_EQ(stats.hits, 0u);
}

TEST_F(MemoryStoreTest, AcceptsEmptyAndShortKeys) {
  MemoryStore store({}, clock_);
  for (std::string key : {"", "a", "ab", "abcde", "abcdefghijk"}) store.put(key, "v" + key, later());
  for (std::string key : {"", "a", "ab", "abcde", "abcdefghijk"}) {
    std::string out;
    ASSERT_TRUE(store.get(key, out)) << key;
    EXPECT_EQ(out, "v" + key);
  }
}

TEST_F(MemoryStoreTest, MissesAndDropsAnEntryOnceItsExpiryIsReached) {
  MemoryStore store({}, clock_);
  const TimePoint expiry = clock_.now() + seconds{10};
  store.put(makeKey(1), makeValue(0), expiry);
  std::string out;
  clock_.set(expiry - nanoseconds{1});
  EXPECT_TRUE(store.get(makeKey(1), out));
  clock_.set(expiry);
  EXPECT_FALSE(store.get(makeKey(1), out));
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST_F(MemoryStoreTest, DoesNotStoreAnEntryThatHasAlreadyExpired) {
  MemoryStore store({}, clock_);
  store.put(makeKey(1), makeValue(0), later());
  store.put(makeKey(1), makeValue(1), clock_.now());
  std::string out;
  EXPECT_FALSE(store.get(makeKey(1), out));
  EXPECT_EQ(store.stats().entries, 0u);
}

TEST_F(MemoryStoreTest, EvictsTheLeastRecentlyUsedEntryWhenAShardIsFull) {
  const auto keys = keysSharingAShard(5);
  MemoryStore store({.max_bytes = kShards * 3 * entryCost(), .shards = kShards}, clock_);
  for (std::size_t i = 0; i < 5; ++i) store.put(keys[i], makeValue(i), later());
  std::string out;
  EXPECT_FALSE(store.get(keys[0], out));
  EXPECT_FALSE(store.get(keys[1], out));
  for (std::size_t i = 2; i < 5; ++i) {
    ASSERT_TRUE(store.get(keys[i], out)) << i;
    EXPECT_EQ(out, makeValue(i));
  }
  EXPECT_EQ(store.stats().evictions, 2u);
  EXPECT_EQ(store.stats().entries, 3u);
}

TEST_F(MemoryStoreTest, AGetMakesAnEntryTheMostRecentlyUsed) {
  const auto keys = keysSharingAShard(4);
  MemoryStore store({.max_bytes = kShards * 3 * entryCost(), .shards = kShards}, clock_);
  for (std::size_t i = 0; i < 3; ++i) store.put(keys[i], makeValue(0), later());
  std::string out;
  ASSERT_TRUE(store.get(keys[0], out));
  store.put(keys[3], makeValue(0), later());
  EXPECT_TRUE(store.get(keys[0], out));
  EXPECT_FALSE(store.get(keys[1], out));
  EXPECT_TRUE(store.get(keys[2], out));
  EXPECT_TRUE(store.get(keys[3], out));
}

// get() marks an entry rather than moving it (second chance): eviction passes over an entry
// read since it was last considered, clearing the mark, and the protection lasts only until
// the next time eviction reaches it unread.
TEST_F(MemoryStoreTest, AReadEntrySurvivesOneEvictionRoundAndNotASecondUnreadOne) {
  const auto keys = keysSharingAShard(6);
  MemoryStore store({.max_bytes = kShards * 3 * entryCost(), .shards = kShards}, clock_);
  for (std::size_t i = 0; i < 3; ++i) store.put(keys[i], makeValue(i), later());
  std::string out;
  ASSERT_TRUE(store.get(keys[0], out));       // the coldest entry, now marked
  store.put(keys[3], makeValue(3), later());  // passes over keys[0], evicts keys[1]
  store.put(keys[4], makeValue(4), later());  // evicts keys[2]
  store.put(keys[5], makeValue(5), later());  // keys[0] was not read again: evicted
  EXPECT_EQ(store.stats().evictions, 3u);
  EXPECT_FALSE(store.get(keys[0], out));
  EXPECT_FALSE(store.get(keys[1], out));
  EXPECT_FALSE(store.get(keys[2], out));
  for (std::size_t i = 3; i < 6; ++i) {
    ASSERT_TRUE(store.get(keys[i], out)) << i;
    EXPECT_EQ(out, makeValue(i));
  }
}

TEST_F(MemoryStoreTest, CountsAnExpiredEntryAtTheColdEndAsExpiredNotEvicted) {
  const auto keys = keysSharingAShard(3);
  MemoryStore store({.max_bytes = kShards * 2 * entryCost(), .shards = kShards}, clock_);
  store.put(keys[0], makeValue(0), clock_.now() + seconds{1});
  store.put(keys[1], makeValue(0), later());
  clock_.advance(seconds{2});
  store.put(keys[2], makeValue(0), later());
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.entries, 2u);
}

TEST_F(MemoryStoreTest, RefusesAnEntryBiggerThanAShardBudgetAndForgetsTheOldValue) {
  MemoryStore store({.max_bytes = kShards * 1000, .shards = kShards}, clock_);
  store.put(makeKey(1), makeValue(0), later());
  store.put(makeKey(1), makeValue(1, 1000), later());
  std::string out;
  EXPECT_FALSE(store.get(makeKey(1), out));
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.evictions, 0u);
}

TEST_F(MemoryStoreTest, RefusesAKeyLongerThan255Bytes) {
  MemoryStore store({}, clock_);
  store.put(std::string(255, 'k'), "v", later());
  store.put(std::string(256, 'k'), "v", later());
  std::string out;
  EXPECT_TRUE(store.get(std::string(255, 'k'), out));
  EXPECT_FALSE(store.get(std::string(256, 'k'), out));
}

TEST_F(MemoryStoreTest, SplitsTheBudgetOverAPowerOfTwoShards) {
  // One byte short of one entry per shard: the put is refused only if the count was
  // rounded up (17 -> 32); with 17 shards the entry would fit. One shard keeps it all.
  MemoryStore seventeen({.max_bytes = 32 * entryCost() - 1, .shards = 17}, clock_);
  seventeen.put(makeKey(1), makeValue(0), later());
  EXPECT_EQ(seventeen.stats().entries, 0u);
  MemoryStore one({.max_bytes = entryCost(), .shards = 1}, clock_);
  one.put(makeKey(1), makeValue(0), later());
  EXPECT_EQ(one.stats().entries, 1u);
}

TEST(MemoryStoreShards, ASmallBudgetGetsFewShardsSoThatASessionFits) {
  EXPECT_EQ(shardsFor(1024), 1u);        // the smallest budget the config accepts
  EXPECT_EQ(shardsFor(16 << 10), 1u);    // 64 shards of 256 bytes could hold no session
  EXPECT_EQ(shardsFor(1 << 20), 16u);    // 64 KiB each
  EXPECT_EQ(shardsFor(64u << 20), 64u);  // the default: as many as asked for
  EXPECT_EQ(shardsFor(64u << 20, 8), 8u);
  EXPECT_EQ(shardsFor(3u << 20), 32u);   // a power of two, never more than fits
}

TEST_F(MemoryStoreTest, NeverChargesMoreThanItsBudgetAndKeepsTheNewestEntry) {
  const std::size_t max_bytes = kShards * 10 * entryCost();
  MemoryStore store({.max_bytes = max_bytes, .shards = kShards}, clock_);
  std::string out;
  for (std::size_t i = 0; i < 2000; ++i) {
    store.put(makeKey(i), makeValue(i), later());
    ASSERT_LE(store.stats().bytes, max_bytes);
    ASSERT_TRUE(store.get(makeKey(i), out)) << i;
  }
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.entries + stats.evictions, 2000u);
  EXPECT_EQ(stats.bytes, stats.entries * entryCost());
}

TEST_F(MemoryStoreTest, ChargesKeyValueAndOverheadAndReturnsToZeroWhenEmptied) {
  MemoryStore store({}, clock_);
  std::size_t expected = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    store.put(makeKey(i), makeValue(0, i), later());
    expected += costOf(32, i);
  }
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.entries, 1000u);
  EXPECT_EQ(stats.bytes, expected);
  for (std::size_t i = 0; i < 1000; ++i) ASSERT_TRUE(store.erase(makeKey(i)));
  stats = store.stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST_F(MemoryStoreTest, AgreesWithAPlainMapOverManyRandomOperations) {
  // Budget large enough that nothing is evicted: every answer must match the model while
  // the tables grow and deletions shift probe runs around.
  MemoryStore store({.max_bytes = std::size_t{1} << 30, .shards = kShards}, clock_);
  std::unordered_map<std::string, std::string> model;
  std::mt19937 rng(7);
  std::string out;
  for (int op = 0; op < 60'000; ++op) {
    const std::string key = makeKey(rng() % 6000);
    const unsigned dice = rng() % 10;
    if (dice < 4) {
      const std::string value = makeValue(rng(), 1 + rng() % 300);
      store.put(key, value, later());
      model[key] = value;
    } else if (dice < 7) {
      ASSERT_EQ(store.erase(key), model.erase(key) == 1) << op;
    } else {
      const auto it = model.find(key);
      ASSERT_EQ(store.get(key, out), it != model.end()) << op;
      if (it != model.end()) {
        ASSERT_EQ(out, it->second) << op;
      }
    }
  }
  std::size_t expected_bytes = 0;
  for (const auto& [key, value] : model) expected_bytes += costOf(key.size(), value.size());
  EXPECT_EQ(store.stats().entries, model.size());
  EXPECT_EQ(store.stats().bytes, expected_bytes);
}

TEST_F(MemoryStoreTest, StaysConsistentUnderConcurrentPutGetAndErase) {
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 50'000;
  constexpr std::size_t kKeys = 1024;
  // Room for about 320 of the 1024 keys, so evictions happen too.
  const std::size_t max_bytes = kShards * 20 * entryCost();
  MemoryStore store({.max_bytes = max_bytes, .shards = kShards}, clock_);
  // Each value starts with its key, so a torn or misplaced entry shows up as a mismatch.
  auto valueFor = [](const std::string& key) { return key + std::string(kValueBytes - key.size(), 'v'); };
  std::atomic<std::uint64_t> gets{0};
  std::atomic<std::uint64_t> wrong{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::string out;
      std::uint64_t my_gets = 0;
      for (int op = 0; op < kOpsPerThread; ++op) {
        const std::string key = makeKey(rng() % kKeys);
        const unsigned dice = rng() % 100;
        if (dice < 50) {
          ++my_gets;
          if (store.get(key, out) && out != valueFor(key)) wrong.fetch_add(1);
        } else if (dice < 85) {
          store.put(key, valueFor(key), clock_.now() + seconds{1 + rng() % 30});
        } else {
          store.erase(key);
        }
        if (t == 0 && op % 1000 == 0) clock_.advance(seconds{1});
      }
      gets.fetch_add(my_gets);
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(wrong.load(), 0u);
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.hits + stats.misses, gets.load());
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.evictions + stats.expired, 0u);
  EXPECT_LE(stats.bytes, max_bytes);
  EXPECT_EQ(stats.bytes, stats.entries * entryCost());
  for (std::size_t i = 0; i < kKeys; ++i) store.erase(makeKey(i));
  stats = store.stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
}

}  // namespace
}  // namespace tlsresume
