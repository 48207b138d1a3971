#include "tlsresume/keyring.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <set>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tlsresume {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<unsigned char>;

KeyringOptions hourly() { return KeyringOptions{3600s, 3600s, 60s}; }

Bytes bytesOf(const unsigned char* p, std::size_t n) { return Bytes(p, p + n); }

std::string hex(const Bytes& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

MasterKey makeKey(unsigned char seed, KeySchedule schedule) {
  MasterKey key{SecureBuffer(kKeyMaterialBytes), schedule};
  for (std::size_t i = 0; i < kKeyMaterialBytes; ++i) key.material.data()[i] = static_cast<unsigned char>(seed + i);
  return key;
}

// A source the test scripts; it also remembers every master key it handed over, so tests
// can look for leaked material.
struct ScriptedSource final : KeySource {
  using Script = std::function<std::vector<MasterKey>(const KeyRequest&)>;
  struct Log {
    std::mutex mutex;
    std::vector<Bytes> handed;
    std::vector<KeyRequest> requests;
  };
  ScriptedSource(Script s, std::shared_ptr<Log> l) : script(std::move(s)), log(std::move(l)) {}
  std::vector<MasterKey> fetch(const KeyRequest& request) override {
    auto keys = script(request);
    std::lock_guard lock(log->mutex);
    log->requests.push_back(request);
    for (const auto& k : keys) log->handed.push_back(bytesOf(k.material.data(), k.material.size()));
    return keys;
  }
  Script script;
  std::shared_ptr<Log> log;
};

ScriptedSource::Script localScript() {
  auto local = std::make_shared<LocalKeySource>();
  return [local](const KeyRequest& r) { return local->fetch(r); };
}

class KeyringTest : public ::testing::Test {
 protected:
  std::unique_ptr<Keyring> make(ScriptedSource::Script script = localScript(),
                                std::vector<std::string> hosts = {"a.example", "b.example"}) {
    return std::make_unique<Keyring>(hourly(), std::move(hosts), clock_,
                                     std::make_unique<ScriptedSource>(std::move(script), log_));
  }
  const SealingKey* keyAt(const Keyring& kr, std::size_t host, std::size_t index) {
    snap_ = kr.snapshot();
    const auto keys = snap_->keys(host);
    return index < keys.size() ? &keys[index] : nullptr;
  }

  FakeClock clock_;
  const TimePoint t0_ = clock_.now();
  std::shared_ptr<ScriptedSource::Log> log_ = std::make_shared<ScriptedSource::Log>();
  std::shared_ptr<const KeySnapshot> snap_;
};

TEST_F(KeyringTest, FirstKeyIsCurrentImmediatelyOnAFreshStart) {
  auto kr = make();
  const auto snap = kr->snapshot();
  ASSERT_NE(snap->current(0), nullptr);
  ASSERT_NE(snap->current(1), nullptr);
  EXPECT_EQ(snap->current(0)->state, KeyState::current);
  const auto info = kr->describe();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].current_from, t0_);
  EXPECT_EQ(info[0].current_until, t0_ + 1h);
  EXPECT_EQ(info[0].erase_at, t0_ + 2h);
  EXPECT_EQ(info[0].created_at, t0_);
  EXPECT_EQ(kr->counts().current, 1u);
  EXPECT_EQ(kr->rotations(), 0u);
}

TEST_F(KeyringTest, WalksTheWholeScheduleIntroducedCurrentRetiredErased) {
  auto kr = make();
  const auto a = keyAt(*kr, 0, 0)->name;

  clock_.set(t0_ + 1h - 61s);
  EXPECT_FALSE(kr->tick());  // nothing due yet
  EXPECT_EQ(kr->snapshot()->keyCount(), 1u);

  clock_.set(t0_ + 1h - 60s);  // introduce_ahead before A stops encrypting
  EXPECT_TRUE(kr->tick());
  auto snap = kr->snapshot();
  ASSERT_EQ(snap->keyCount(), 2u);
  const auto b = snap->keys(0)[1].name;
  EXPECT_EQ(snap->find(0, b.data())->state, KeyState::introduced);
  EXPECT_EQ(snap->current(0)->name, a);  // B decrypts only, A still encrypts
  EXPECT_EQ(kr->counts().introduced, 1u);
  EXPECT_EQ(kr->describe()[1].current_from, t0_ + 1h);
  EXPECT_EQ(kr->describe()[1].created_at, t0_ + 1h - 60s);

  clock_.set(t0_ + 1h);
  EXPECT_TRUE(kr->tick());
  snap = kr->snapshot();
  EXPECT_EQ(snap->current(0)->name, b);
  EXPECT_EQ(snap->find(0, a.data())->state, KeyState::retired);  // still decrypts
  EXPECT_EQ(kr->rotations(), 1u);
  EXPECT_EQ(kr->counts().retired, 1u);

  clock_.set(t0_ + 2h - 1s);
  kr->tick();
  EXPECT_NE(kr->snapshot()->find(0, a.data()), nullptr);  // last second of A's window

  clock_.set(t0_ + 2h);  // A's erase_at; B retires, C (introduced at 2h-60s) takes over
  EXPECT_TRUE(kr->tick());
  snap = kr->snapshot();
  EXPECT_EQ(snap->find(0, a.data()), nullptr);
  EXPECT_EQ(snap->find(0, b.data())->state, KeyState::retired);
  EXPECT_NE(snap->current(0)->name, b);
  EXPECT_EQ(kr->rotations(), 2u);
  const auto counts = kr->counts();
  EXPECT_EQ(counts.introduced, 0u);
  EXPECT_EQ(counts.current, 1u);
  EXPECT_EQ(counts.retired, 1u);
  EXPECT_EQ(kr->describe().size(), 2u);
}

TEST_F(KeyringTest, FindsKeysOfEveryLiveStateByName) {
  auto kr = make();
  clock_.set(t0_ + 1h);
  kr->tick();
  clock_.set(t0_ + 2h - 60s);
  kr->tick();  // now: A retired, B current, C introduced
  const auto snap = kr->snapshot();
  ASSERT_EQ(snap->keyCount(), 3u);
  for (std::size_t host = 0; host < 2; ++host) {
    const auto keys = snap->keys(host);
    EXPECT_EQ(snap->find(host, keys[0].name.data())->state, KeyState::retired);
    EXPECT_EQ(snap->find(host, keys[1].name.data())->state, KeyState::current);
    EXPECT_EQ(snap->find(host, keys[2].name.data())->state, KeyState::introduced);
    EXPECT_EQ(snap->find(host, keys[1].name.data()), snap->current(host));
  }
  const std::array<unsigned char, 16> unknown{1, 2, 3};
  EXPECT_EQ(snap->find(0, unknown.data()), nullptr);
  EXPECT_EQ(snap->find(7, snap->keys(0)[0].name.data()), nullptr);  // no such host
  EXPECT_EQ(snap->current(7), nullptr);
}

TEST_F(KeyringTest, ForcedRotationRetiresTheCurrentKeyNowAndDropsIntroducedOnes) {
  auto kr = make();
  clock_.set(t0_ + 1h - 60s);
  kr->tick();
  const auto a = keyAt(*kr, 0, 0)->name;
  const auto b = keyAt(*kr, 0, 1)->name;
  clock_.set(t0_ + 1h - 50s);
  ASSERT_TRUE(kr->rotateNow());
  const TimePoint now = clock_.now();
  const auto snap = kr->snapshot();
  ASSERT_NE(snap->current(0), nullptr);
  EXPECT_NE(snap->current(0)->name, a);
  EXPECT_NE(snap->current(0)->name, b);
  EXPECT_EQ(snap->find(0, a.data())->state, KeyState::retired);
  EXPECT_EQ(snap->find(0, b.data()), nullptr);
  EXPECT_EQ(kr->rotations(), 1u);
  const auto info = kr->describe();
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].current_until, now);
  EXPECT_EQ(info[0].erase_at, now + 1h);
  EXPECT_EQ(info[1].current_from, now);
  EXPECT_EQ(info[1].current_until, now + 1h);

  clock_.set(now + 1h);  // the old key's window is over
  kr->tick();
  EXPECT_EQ(kr->snapshot()->find(0, a.data()), nullptr);
  EXPECT_EQ(kr->rotations(), 2u);  // the scheduled successor took over too
}

TEST_F(KeyringTest, ForcedRotationThatGetsNoKeyChangesNothing) {
  bool deliver = true;
  auto local = localScript();
  auto kr = make([&](const KeyRequest& r) { return deliver ? local(r) : std::vector<MasterKey>{}; });
  const auto before = kr->snapshot();
  deliver = false;
  EXPECT_FALSE(kr->rotateNow());
  EXPECT_EQ(kr->snapshot(), before);
  EXPECT_EQ(kr->rotations(), 0u);
  EXPECT_EQ(kr->sourceFailures(), 1u);
}

TEST_F(KeyringTest, DerivedKeysDifferBetweenHostsAndBetweenMasterKeys) {
  auto kr = make(localScript(), {"a.example", "b.example", "c.example"});
  const auto first = kr->snapshot();
  ASSERT_TRUE(kr->rotateNow());
  const auto second = kr->snapshot();
  std::vector<Bytes> seen;
  for (const auto& snap : {first, second}) {
    for (std::size_t h = 0; h < 3; ++h) {
      const SealingKey* k = snap->current(h);
      ASSERT_NE(k, nullptr);
      EXPECT_EQ(k->host, h);
      seen.push_back(bytesOf(k->name.data(), kKeyNameBytes));
      seen.push_back(bytesOf(k->aes_key, kAesKeyBytes));
      seen.push_back(bytesOf(k->hmac_key, kHmacKeyBytes));
    }
  }
  for (const auto& master : log_->handed) {  // and none equals its master's parts
    seen.push_back(bytesOf(master.data() + kAesKeyOffset, kAesKeyBytes));
    seen.push_back(bytesOf(master.data() + kHmacKeyOffset, kHmacKeyBytes));
    seen.push_back(bytesOf(master.data() + kKeyNameOffset, kKeyNameBytes));
  }
  // Strings, not byte vectors: GCC 12 warns falsely (-Wstringop-overread) when it inlines
  // operator<=> of vector<unsigned char>.
  std::set<std::string> unique;
  for (const auto& b : seen) unique.emplace(b.begin(), b.end());
  EXPECT_EQ(unique.size(), seen.size());
}

TEST_F(KeyringTest, AHostCannotFindAnotherHostsKeyButHostOwningNamesTheOwner) {
  auto kr = make();
  const auto snap = kr->snapshot();
  const auto* a = snap->current(0);
  const auto* b = snap->current(1);
  EXPECT_EQ(snap->find(1, a->name.data()), nullptr);
  EXPECT_EQ(snap->find(0, b->name.data()), nullptr);
  EXPECT_EQ(snap->hostOwning(a->name.data()), 0u);
  EXPECT_EQ(snap->hostOwning(b->name.data()), 1u);
  const std::array<unsigned char, 16> unknown{9};
  EXPECT_EQ(snap->hostOwning(unknown.data()), std::nullopt);
  EXPECT_EQ(a->id, b->id);  // one master key behind both
}

// RFC 5869 from HMAC-SHA256 alone, to pin deriveHostKey's construction (every node of a
// fleet must derive the same subkeys from the same master key).
Bytes hmac(const Bytes& key, const Bytes& data) {
  Bytes out(32);
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}
Bytes referenceHkdf(const Bytes& ikm, const Bytes& salt, const Bytes& info, std::size_t len) {
  const Bytes prk = hmac(salt, ikm);
  Bytes okm, t;
  for (unsigned char i = 1; okm.size() < len; ++i) {
    Bytes block = t;
    block.insert(block.end(), info.begin(), info.end());
    block.push_back(i);
    t = hmac(prk, block);
    okm.insert(okm.end(), t.begin(), t.end());
  }
  okm.resize(len);
  return okm;
}
Bytes toBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(HostKeyDerivation, ReferenceHkdfMatchesRfc5869TestCase1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
  const Bytes info{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9};
  EXPECT_EQ(hex(referenceHkdf(ikm, salt, info, 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HostKeyDerivation, IsHkdfSha256WithTheDocumentedSaltAndInfo) {
  Bytes master(kKeyMaterialBytes);
  for (std::size_t i = 0; i < master.size(); ++i) master[i] = static_cast<unsigned char>(i * 7 + 1);
  Bytes out(kKeyMaterialBytes);
  ASSERT_TRUE(deriveHostKey(master.data(), "shop.example", out.data()));
  const Bytes salt = toBytes(kHostKeySalt);
  const auto info = [](std::string_view purpose) {
    Bytes b = toBytes(purpose);
    b.push_back(0);
    const Bytes host = toBytes("shop.example");
    b.insert(b.end(), host.begin(), host.end());
    return b;
  };
  EXPECT_EQ(bytesOf(out.data() + kAesKeyOffset, kAesKeyBytes), referenceHkdf(master, salt, info("aes key"), 32));
  EXPECT_EQ(bytesOf(out.data() + kHmacKeyOffset, kHmacKeyBytes), referenceHkdf(master, salt, info("hmac key"), 32));
  EXPECT_EQ(bytesOf(out.data() + kKeyNameOffset, kKeyNameBytes), referenceHkdf(master, salt, info("key name"), 16));
}

TEST_F(KeyringTest, KeyringSubkeysAreTheDocumentedDerivationOfTheMasterKey) {
  auto kr = make();
  ASSERT_EQ(log_->handed.size(), 1u);
  Bytes expected(kKeyMaterialBytes);
  ASSERT_TRUE(deriveHostKey(log_->handed[0].data(), "b.example", expected.data()));
  const SealingKey* k = kr->snapshot()->current(1);
  EXPECT_EQ(bytesOf(k->aes_key, kAesKeyBytes), bytesOf(expected.data() + kAesKeyOffset, kAesKeyBytes));
  EXPECT_EQ(bytesOf(k->hmac_key, kHmacKeyBytes), bytesOf(expected.data() + kHmacKeyOffset, kHmacKeyBytes));
  EXPECT_EQ(bytesOf(k->name.data(), kKeyNameBytes), bytesOf(expected.data() + kKeyNameOffset, kKeyNameBytes));
  EXPECT_EQ(k->id, masterKeyId(log_->handed[0].data() + kKeyNameOffset));
}

TEST_F(KeyringTest, SnapshotStaysValidWhileTheKeyringRotatesAndErases) {
  auto kr = make();
  const auto old = kr->snapshot();
  const SealingKey* k = old->current(0);
  const Bytes aes = bytesOf(k->aes_key, kAesKeyBytes);
  const Bytes mac = bytesOf(k->hmac_key, kHmacKeyBytes);
  for (int i = 0; i < 4; ++i) {
    clock_.advance(2h);
    kr->tick();
    ASSERT_TRUE(kr->rotateNow());
  }
  EXPECT_EQ(kr->snapshot()->find(0, k->name.data()), nullptr);  // gone from the keyring
  // ...but the old snapshot still owns readable, unchanged bytes and its frozen states.
  EXPECT_EQ(bytesOf(k->aes_key, kAesKeyBytes), aes);
  EXPECT_EQ(bytesOf(k->hmac_key, kHmacKeyBytes), mac);
  EXPECT_EQ(old->find(0, k->name.data()), k);
  EXPECT_EQ(k->state, KeyState::current);
  k->decrypts->fetch_add(1);  // counter memory is still owned too
}

TEST_F(KeyringTest, SnapshotStatesAreThoseAtPublicationTime) {
  auto kr = make();
  clock_.set(t0_ + 1h - 60s);
  kr->tick();
  const auto before = kr->snapshot();
  clock_.set(t0_ + 1h);
  kr->tick();
  EXPECT_EQ(before->keys(0)[1].state, KeyState::introduced);
  EXPECT_EQ(kr->snapshot()->keys(0)[1].state, KeyState::current);
  EXPECT_EQ(before->publishedAt(), t0_ + 1h - 60s);
}

TEST_F(KeyringTest, TickIsANoOpWhenNothingIsDue) {
  auto kr = make();
  const auto snap = kr->snapshot();
  for (int i = 0; i < 100; ++i) {
    clock_.advance(1s);
    EXPECT_FALSE(kr->tick());
  }
  EXPECT_EQ(kr->snapshot(), snap);
  EXPECT_EQ(log_->requests.size(), 1u);
}

TEST(LocalKeySource, RegeneratesAKeyWithAnAllZeroPart) {
  int calls = 0;
  LocalKeySource source([&](unsigned char* out, std::size_t len) {
    ++calls;
    if (RAND_bytes(out, static_cast<int>(len)) != 1) return false;
    if (calls == 1) std::memset(out, 0, len);                             // all zero
    if (calls == 2) std::memset(out + kKeyNameOffset, 0, kKeyNameBytes);  // zero name
    if (calls == 3) std::memset(out + kHmacKeyOffset, 0, kHmacKeyBytes);  // zero HMAC key
    return true;
  });
  const auto keys = source.fetch(KeyRequest{});
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(calls, 4);
  const unsigned char* m = keys[0].material.data();
  EXPECT_FALSE(std::all_of(m + kKeyNameOffset, m + kKeyMaterialBytes, [](unsigned char c) { return c == 0; }));
}

TEST(LocalKeySource, GivesUpOnAGeneratorThatOnlyProducesZerosOrFails) {
  LocalKeySource zeros([](unsigned char* out, std::size_t len) {
    std::memset(out, 0, len);
    return true;
  });
  EXPECT_TRUE(zeros.fetch(KeyRequest{}).empty());
  LocalKeySource failing([](unsigned char*, std::size_t) { return false; });
  EXPECT_TRUE(failing.fetch(KeyRequest{}).empty());
}

TEST(LocalKeySource, GivesEveryKeyTheRequestedTimesAndFreshMaterial) {
  LocalKeySource source;
  const TimePoint now{1'700'000'000s};
  const KeyRequest request{now, KeySchedule{{}, now + 1s, now + 2s, now + 3s}, false};
  auto a = source.fetch(request);
  auto b = source.fetch(request);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].schedule.created_at, now);
  EXPECT_EQ(a[0].schedule.current_from, now + 1s);
  EXPECT_EQ(a[0].schedule.erase_at, now + 3s);
  EXPECT_NE(bytesOf(a[0].material.data(), kKeyMaterialBytes), bytesOf(b[0].material.data(), kKeyMaterialBytes));
}

TEST_F(KeyringTest, RefusesAnAllZeroKeyFromAnySource) {
  auto kr = make([](const KeyRequest& r) {
    std::vector<MasterKey> keys;
    keys.push_back(MasterKey{SecureBuffer(kKeyMaterialBytes), r.schedule});  // zero-filled
    return keys;
  });
  EXPECT_EQ(kr->snapshot()->current(0), nullptr);  // no ticket rather than a zero key
  EXPECT_EQ(kr->rejectedKeys(), 1u);
  EXPECT_EQ(kr->sourceFailures(), 1u);
}

TEST_F(KeyringTest, RefusesKeysWithInconsistentTimesOrWrongSize) {
  auto kr = make([](const KeyRequest& r) {
    std::vector<MasterKey> keys;
    KeySchedule backwards = r.schedule;
    std::swap(backwards.current_from, backwards.current_until);
    keys.push_back(makeKey(1, backwards));
    keys.push_back(MasterKey{SecureBuffer(kKeyMaterialBytes - 1), r.schedule});
    return keys;
  });
  EXPECT_EQ(kr->rejectedKeys(), 2u);
  EXPECT_EQ(kr->snapshot()->keyCount(), 0u);
}

TEST_F(KeyringTest, RecoversOnTheNextTickAfterTheSourceFailed) {
  bool deliver = false;
  auto local = localScript();
  auto kr = make([&](const KeyRequest& r) { return deliver ? local(r) : std::vector<MasterKey>{}; });
  EXPECT_EQ(kr->snapshot()->current(0), nullptr);
  EXPECT_EQ(kr->sourceFailures(), 1u);
  deliver = true;
  clock_.advance(1s);
  EXPECT_TRUE(kr->tick());
  ASSERT_NE(kr->snapshot()->current(0), nullptr);
  EXPECT_EQ(kr->describe()[0].current_from, t0_ + 1s);
}

TEST_F(KeyringTest, AdoptsKeysAnotherNodeGeneratedWithTheirTimesAndIgnoresRepeats) {
  // A fleet source: the fleet's current key and its successor, times set by another node.
  const TimePoint origin = t0_ - 30min;
  auto kr = make([&](const KeyRequest&) {
    std::vector<MasterKey> keys;
    keys.push_back(makeKey(10, KeySchedule{origin, origin, origin + 1h, origin + 2h}));
    keys.push_back(makeKey(90, KeySchedule{origin, origin + 1h, origin + 2h, origin + 3h}));
    return keys;
  });
  auto info = kr->describe();
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].state, KeyState::current);
  EXPECT_EQ(info[0].current_from, origin);
  EXPECT_EQ(info[1].state, KeyState::introduced);
  EXPECT_EQ(info[1].created_at, origin);

  clock_.set(origin + 2h - 60s);  // asks again: the same two keys come back
  kr->tick();
  EXPECT_EQ(kr->describe().size(), 2u);
  EXPECT_GE(kr->sourceFailures(), 1u);  // no successor for the tail yet: retried
  EXPECT_EQ(kr->rejectedKeys(), 0u);
}

TEST_F(KeyringTest, DescribeShowsPublicIdsAndCountsButNoMaterial) {
  auto kr = make();
  clock_.set(t0_ + 1h - 60s);
  kr->tick();
  const auto snap = kr->snapshot();
  snap->current(0)->decrypts->fetch_add(2);
  snap->current(1)->decrypts->fetch_add(3);
  std::vector<Bytes> secrets = log_->handed;
  for (std::size_t h = 0; h < 2; ++h)
    for (const auto& k : snap->keys(h)) {
      secrets.push_back(bytesOf(k.aes_key, kAesKeyBytes));
      secrets.push_back(bytesOf(k.hmac_key, kHmacKeyBytes));
    }
  const auto info = kr->describe();
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].decrypts, 5u);
  EXPECT_EQ(info[1].decrypts, 0u);
  for (std::size_t i = 0; i < info.size(); ++i) {
    EXPECT_EQ(info[i].id.size(), 8u);
    EXPECT_EQ(info[i].id, masterKeyId(log_->handed[i].data() + kKeyNameOffset));
    for (const auto& secret : secrets) {
      EXPECT_EQ(hex(secret).find(info[i].id), std::string::npos);
      EXPECT_EQ(std::string(secret.begin(), secret.end()).find(info[i].id), std::string::npos);
    }
  }
}

TEST_F(KeyringTest, ClockSteppingBackBeforeEveryKeyStillLeavesACurrentKey) {
  auto kr = make();
  clock_.set(t0_ - 10min);  // every known key now lies in the future
  kr->tick();
  const auto snap = kr->snapshot();
  ASSERT_NE(snap->current(0), nullptr);
  const auto info = kr->describe();
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].current_until, t0_);  // fills the gap, never overlaps
  EXPECT_EQ(info[1].state, KeyState::introduced);
}

TEST(KeyringOptionsTest, RejectsUnsafeOrInconsistentSettings) {
  FakeClock clock;
  const auto build = [&](KeyringOptions o, std::vector<std::string> hosts = {"a"}) {
    Keyring kr(o, std::move(hosts), clock, std::make_unique<LocalKeySource>());
  };
  EXPECT_THROW(build({0s, 3600s, 0s}), std::invalid_argument);
  EXPECT_THROW(build({std::chrono::days{8}, 3600s, 60s}), std::invalid_argument);  // RFC 9325 §3.4
  EXPECT_THROW(build({3600s, -1s, 60s}), std::invalid_argument);
  EXPECT_THROW(build({3600s, 3600s, 3600s}), std::invalid_argument);
  EXPECT_THROW(build({3600s, 3600s, 60s}, {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(Keyring(hourly(), {"a"}, clock, nullptr), std::invalid_argument);
  EXPECT_NO_THROW(build({3600s, 0s, 0s}));
}

TEST_F(KeyringTest, ReadersNeverBlockOrSeeTornStateWhileWritersRotate) {
  auto kr = make();
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto snap = kr->snapshot();
      const SealingKey* k = snap->current(1);
      if (k == nullptr) continue;
      EXPECT_EQ(snap->find(1, k->name.data()), k);
      unsigned char acc = 0;
      for (std::size_t i = 0; i < kAesKeyBytes; ++i) acc |= k->aes_key[i];
      EXPECT_NE(acc, 0);
      k->decrypts->fetch_add(1, std::memory_order_relaxed);
      reads.fetch_add(1);
    }
  });
  for (int i = 0; i < 300; ++i) {
    clock_.advance(10min);
    kr->tick();
    if (i % 7 == 0) kr->rotateNow();
    (void)kr->describe();
  }
  while (reads.load() == 0) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_GT(kr->rotations(), 50u);
  EXPECT_LE(kr->snapshot()->keyCount(), 5u);
}

}  // namespace
}  // namespace tlsresume
