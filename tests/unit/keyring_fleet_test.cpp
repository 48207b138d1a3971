// The keyring with a fleet's key source: shared keys take over from a node's own keys,
// schedules handed over again can only shorten, and a forced rotation may start a moment
// ahead so every node knows the key before any encrypts with it.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>

#include "tlsresume/keyring.hpp"

namespace tlsresume {
namespace {

using namespace std::chrono_literals;

MasterKey sharedKey(unsigned char seed, KeySchedule schedule) {
  MasterKey key{SecureBuffer(kKeyMaterialBytes), schedule, true};
  for (std::size_t i = 0; i < kKeyMaterialBytes; ++i) key.material.data()[i] = static_cast<unsigned char>(seed + i);
  return key;
}

// Hands over the fleet's keys while `fleet` is set, a local key otherwise.
struct FleetLikeSource final : KeySource {
  std::function<std::vector<MasterKey>(const KeyRequest&)> fleet;
  LocalKeySource local;
  std::vector<MasterKey> fetch(const KeyRequest& r) override {
    if (fleet) return fleet(r);
    return local.fetch(r);
  }
};

KeyringOptions hourly() {
  KeyringOptions o;
  o.rotation_period = 1h;
  o.decrypt_window = 1h;
  o.introduce_ahead = 60s;
  return o;
}

class KeyringFleetTest : public ::testing::Test {
 protected:
  KeyringFleetTest() {
    auto s = std::make_unique<FleetLikeSource>();
    source_ = s.get();
    keyring_ = std::make_unique<Keyring>(hourly(), std::vector<std::string>{"a"}, clock_, std::move(s));
  }
  std::string currentId() {
    const auto snap = keyring_->snapshot();
    return snap->current(0) ? snap->current(0)->id : "";
  }
  FakeClock clock_;
  const TimePoint t0_ = clock_.now();
  FleetLikeSource* source_ = nullptr;
  std::unique_ptr<Keyring> keyring_;
};

TEST_F(KeyringFleetTest, ANodeThatStartedAloneHandsEncryptionToTheFleetsKey) {
  const std::string own = currentId();
  ASSERT_FALSE(own.empty());
  clock_.advance(10min);
  const KeySchedule fleet{t0_ - 5min, t0_ - 5min, t0_ + 55min, t0_ + 115min};
  source_->fleet = [&](const KeyRequest&) {
    std::vector<MasterKey> keys;
    keys.push_back(sharedKey(7, fleet));
    return keys;
  };
  EXPECT_TRUE(keyring_->sync());
  const std::string shared = currentId();
  EXPECT_NE(shared, own);
  const auto info = keyring_->describe();
  ASSERT_EQ(info.size(), 2u);
  for (const auto& k : info) {
    if (k.id == own) {
      // Still opens what it sealed, for one decrypt window from now; encrypts no more.
      EXPECT_EQ(k.state, KeyState::retired);
      EXPECT_FALSE(k.shared);
      EXPECT_EQ(k.erase_at, clock_.now() + 1h);
    } else {
      EXPECT_EQ(k.state, KeyState::current);
      EXPECT_TRUE(k.shared);
    }
  }
}

TEST_F(KeyringFleetTest, AnIntroducedOwnKeyIsDroppedWhenTheFleetEncrypts) {
  clock_.set(t0_ + 1h - 30s);  // the local successor is introduced
  keyring_->tick();
  ASSERT_EQ(keyring_->counts().introduced, 1u);
  source_->fleet = [&](const KeyRequest&) {
    std::vector<MasterKey> keys;
    keys.push_back(sharedKey(9, KeySchedule{t0_, t0_, t0_ + 2h, t0_ + 3h}));
    return keys;
  };
  keyring_->sync();
  const auto c = keyring_->counts();
  EXPECT_EQ(c.introduced, 0u);
  EXPECT_EQ(c.current, 1u);
  EXPECT_EQ(c.retired, 1u);
}

TEST_F(KeyringFleetTest, AFleetKeyHandedOverAgainCanOnlyEndEarlier) {
  KeySchedule s{t0_, t0_, t0_ + 1h, t0_ + 2h};
  source_->fleet = [&](const KeyRequest&) {
    std::vector<MasterKey> keys;
    keys.push_back(sharedKey(3, s));
    return keys;
  };
  keyring_->sync();
  s.current_until = t0_ + 3h;  // longer: ignored
  s.erase_at = t0_ + 4h;
  keyring_->sync();
  auto shared = [&] {
    for (const auto& k : keyring_->describe())
      if (k.shared) return k;
    return KeyInfo{};
  };
  EXPECT_EQ(shared().current_until, t0_ + 1h);
  s.current_until = t0_ + 20min;  // a forced rotation elsewhere
  s.erase_at = t0_ + 80min;
  keyring_->sync();
  EXPECT_EQ(shared().current_until, t0_ + 20min);
  EXPECT_EQ(shared().erase_at, t0_ + 80min);
}

TEST_F(KeyringFleetTest, AForcedRotationMayStartAMomentAheadAndTheOldKeyEncryptsUntilThen) {
  const std::string old = currentId();
  source_->fleet = [&](const KeyRequest& r) {
    std::vector<MasterKey> keys;
    if (r.forced) keys.push_back(sharedKey(5, KeySchedule{r.now, r.now + 3s, r.now + 1h, r.now + 2h}));
    return keys;
  };
  ASSERT_TRUE(keyring_->rotateNow());
  EXPECT_EQ(currentId(), old);  // every node learns the fresh key before it encrypts
  clock_.advance(3s);
  keyring_->tick();
  EXPECT_NE(currentId(), old);
  for (const auto& k : keyring_->describe())
    if (k.id == old) {
      EXPECT_EQ(k.current_until, t0_ + 3s);
      EXPECT_EQ(k.erase_at, t0_ + 3s + 1h);
    }
}

}  // namespace
}  // namespace tlsresume
