#include "tlsresume/revocation_list.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace std::chrono_literals;
using tlsresume::FakeClock;
using tlsresume::RevocationList;

TEST(RevocationList, NothingIsRevokedAtFirst) {
  FakeClock clock;
  RevocationList list(clock);
  EXPECT_FALSE(list.isRevoked("default", "id", clock.now()));
  EXPECT_EQ(list.size(), 0u);
}

TEST(RevocationList, ARevokedIdIsRevokedOnEveryHostAndOthersAreNot) {
  FakeClock clock;
  RevocationList list(clock);
  list.revokeId("abc", clock.now() + 1h);
  EXPECT_TRUE(list.isRevoked("default", "abc", clock.now()));
  EXPECT_TRUE(list.isRevoked("other", "abc", clock.now()));
  EXPECT_FALSE(list.isRevoked("default", "abd", clock.now()));
}

TEST(RevocationList, AHostRevocationCoversOnlySessionsIssuedUntilThen) {
  FakeClock clock;
  RevocationList list(clock);
  const auto before = clock.now();
  clock.advance(10s);
  list.revokeHost("a", clock.now());
  EXPECT_TRUE(list.isRevoked("a", "x", before));
  EXPECT_TRUE(list.isRevoked("a", "x", clock.now()));
  EXPECT_FALSE(list.isRevoked("b", "x", before));
  clock.advance(1s);
  EXPECT_FALSE(list.isRevoked("a", "x", clock.now())) << "a session made after the revocation resumes";
}

TEST(RevocationList, RevokingEverythingBeforeTCoversEveryHost) {
  FakeClock clock;
  RevocationList list(clock);
  const auto t = clock.now();
  list.revokeAllBefore(t);
  EXPECT_TRUE(list.isRevoked("a", "", t - 1h));
  EXPECT_TRUE(list.isRevoked("b", "", t));
  EXPECT_FALSE(list.isRevoked("b", "", t + 1s));
}

TEST(RevocationList, AnEarlierCutOffNeverUndoesALaterOne) {
  FakeClock clock;
  RevocationList list(clock);
  const auto t = clock.now();
  list.revokeAllBefore(t);
  list.revokeAllBefore(t - 1h);
  EXPECT_TRUE(list.isRevoked("a", "", t - 1s));
  list.revokeHost("a", t);
  list.revokeHost("a", t - 1h);
  EXPECT_TRUE(list.isRevoked("a", "", t));
}

TEST(RevocationList, IdEntriesExpireOnceTheSessionCouldNoLongerResume) {
  FakeClock clock;
  RevocationList list(clock);
  list.revokeId("abc", clock.now() + 1h);
  list.revokeId("def", clock.now() + 2h);
  clock.advance(90min);
  list.expire();
  EXPECT_FALSE(list.isRevoked("a", "abc", clock.now()));
  EXPECT_TRUE(list.isRevoked("a", "def", clock.now()));
  EXPECT_EQ(list.size(), 1u);
}

TEST(RevocationList, EntriesAreListedWithHexIds) {
  FakeClock clock;
  RevocationList list(clock);
  list.revokeId(std::string("\x01\xff", 2), clock.now() + 1h);
  list.revokeHost("a", clock.now());
  list.revokeAllBefore(clock.now());
  const auto entries = list.entries();
  ASSERT_EQ(entries.size(), 3u);
  bool saw_id = false;
  for (const auto& e : entries)
    if (e.kind == "id") {
      saw_id = true;
      EXPECT_EQ(e.subject, "01ff");
    }
  EXPECT_TRUE(saw_id);
}

TEST(RevocationList, ReadersAndWritersMayRunConcurrently) {
  FakeClock clock;
  RevocationList list(clock);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::size_t n = 0;
    while (!stop.load()) n += list.isRevoked("a", "id5", clock.now()) ? 1 : 0;
    (void)n;
  });
  for (int i = 0; i < 2000; ++i) list.revokeId("id" + std::to_string(i), clock.now() + 1h);
  stop.store(true);
  reader.join();
  EXPECT_TRUE(list.isRevoked("a", "id5", clock.now()));
  EXPECT_EQ(list.size(), 2000u);
}

// Each revocation copies the list for lock-free readers: the number of id entries is
// bounded, expired ones make room, and a refused id changes nothing.
TEST(RevocationList, IdEntriesAreBoundedAndExpiredOnesMakeRoom) {
  FakeClock clock;
  constexpr std::size_t kMax = 50;  // the server's 10 000 would make this test quadratic in it
  RevocationList list(clock, kMax);
  EXPECT_EQ(RevocationList(clock).maxIds(), RevocationList::kMaxIds);
  for (std::size_t i = 0; i < kMax; ++i)
    ASSERT_TRUE(list.revokeId("id" + std::to_string(i), clock.now() + (i == 0 ? 1min : 1h)));
  EXPECT_FALSE(list.revokeId("one-too-many", clock.now() + 1h));
  EXPECT_FALSE(list.isRevoked("default", "one-too-many", clock.now()));
  EXPECT_EQ(list.size(), kMax);
  EXPECT_TRUE(list.revokeId("id7", clock.now() + 2h)) << "an id already held can still be extended";
  clock.advance(2min);  // "id0" is past its time
  EXPECT_TRUE(list.revokeId("one-too-many", clock.now() + 1h));
  EXPECT_TRUE(list.isRevoked("default", "one-too-many", clock.now()));
  EXPECT_FALSE(list.isRevoked("default", "id0", clock.now()));
}
