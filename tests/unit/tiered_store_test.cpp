// TieredStore: a local store in front of a remote tier. Writes reach both, reads are local,
// and prefetch() fetches what only the remote tier has into the local one, calling back
// exactly once whatever the answer.
#include "tlsresume/tiered_store.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tlsresume/memory_store.hpp"
#include "tlsresume/stored_session.hpp"

namespace tlsresume {
namespace {

using namespace std::chrono_literals;

// A remote tier the test answers by hand.
struct ScriptedRemote final : RemoteSessionTier {
  bool up = true;
  std::map<std::string, std::string> stored;
  std::vector<std::pair<std::string, Done>> asked;
  std::vector<std::string> erased;
  bool available() const noexcept override { return up; }
  bool fetch(std::string key, Done done) noexcept override {
    asked.emplace_back(std::move(key), std::move(done));
    return true;
  }
  void store(std::string key, std::string value, TimePoint) noexcept override { stored[key] = value; }
  void erase(std::string key) noexcept override { erased.push_back(key); }
};

class TieredStoreTest : public ::testing::Test {
 protected:
  std::string record(TimePoint expires) {
    std::string r = encodeStoredSessionHeader(StoredKind::tls12, clock_.now(), expires, "");
    return r + "DER";
  }
  FakeClock clock_;
  MemoryStore local_{MemoryStoreOptions{1 << 20, 4}, clock_};
  ScriptedRemote remote_;
  TieredStore store_{local_, remote_};
};

TEST_F(TieredStoreTest, WritesReachBothTiersAndReadsStayLocal) {
  store_.put("k", "v", clock_.now() + 1h);
  EXPECT_EQ(remote_.stored["k"], "v");
  std::string out;
  EXPECT_TRUE(store_.get("k", out));
  EXPECT_EQ(out, "v");
  EXPECT_TRUE(remote_.asked.empty());
  EXPECT_TRUE(store_.erase("k"));
  EXPECT_EQ(remote_.erased, std::vector<std::string>{"k"});
}

TEST_F(TieredStoreTest, NothingToWaitForWhenTheKeyIsLocalOrTheRemoteIsDown) {
  store_.put("k", "v", clock_.now() + 1h);
  int calls = 0;
  EXPECT_FALSE(store_.prefetch("k", [&] { ++calls; }));
  remote_.up = false;
  EXPECT_FALSE(store_.prefetch("other", [&] { ++calls; }));
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(remote_.asked.empty());
}

TEST_F(TieredStoreTest, AHitIsPutIntoTheLocalTierWithItsOwnExpiryBeforeTheCallback) {
  int calls = 0;
  std::string seen_in_callback;
  ASSERT_TRUE(store_.prefetch("k", [&] {
    ++calls;
    store_.get("k", seen_in_callback);
  }));
  ASSERT_EQ(remote_.asked.size(), 1u);
  const std::string rec = record(clock_.now() + 10min);
  remote_.asked[0].second(RemoteSessionTier::Lookup::hit, std::string(rec));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen_in_callback, rec);
  clock_.advance(11min);  // the record's expiry, not a default, bounds the local copy
  std::string out;
  EXPECT_FALSE(store_.get("k", out));
}

TEST_F(TieredStoreTest, AMissATimeoutOrARecordThatDoesNotDecodeCallsBackWithNothingStored) {
  for (auto result : {RemoteSessionTier::Lookup::miss, RemoteSessionTier::Lookup::timeout,
                      RemoteSessionTier::Lookup::error, RemoteSessionTier::Lookup::hit}) {
    remote_.asked.clear();
    int calls = 0;
    ASSERT_TRUE(store_.prefetch("k", [&] { ++calls; }));
    remote_.asked[0].second(result, result == RemoteSessionTier::Lookup::hit ? "not a record" : "");
    EXPECT_EQ(calls, 1);
    std::string out;
    EXPECT_FALSE(store_.get("k", out));
  }
}

TEST_F(TieredStoreTest, RevocationScansTheLocalTierOnly) {
  store_.put("a", "1", clock_.now() + 1h);
  store_.put("b", "2", clock_.now() + 1h);
  EXPECT_EQ(store_.eraseIf([](std::string_view key, std::string_view) { return key == "a"; }), 1u);
  EXPECT_TRUE(remote_.erased.empty());
}

}  // namespace
}  // namespace tlsresume
