#include "tlsresume/fleet_key_record.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace tlsresume {
namespace {

using namespace std::chrono_literals;

MasterKey sample() {
  const TimePoint t{1'700'000'000s};
  MasterKey k{SecureBuffer(kKeyMaterialBytes), KeySchedule{t, t + 60s, t + 3660s, t + 7260s}, true};
  for (std::size_t i = 0; i < kKeyMaterialBytes; ++i) k.material.data()[i] = static_cast<unsigned char>(i + 1);
  return k;
}

KeyWrap wrapOf(char c) { return KeyWrap::fromFileContents(std::string(64, c)); }

TEST(FleetKeyRecord, RoundTripsPlain) {
  const MasterKey k = sample();
  const std::string bytes = encodeFleetKeyRecord(k, "node-a", nullptr);
  const auto r = decodeFleetKeyRecord(bytes, nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->creator, "node-a");
  EXPECT_EQ(r->key.schedule.current_from, k.schedule.current_from);
  EXPECT_EQ(r->key.schedule.erase_at, k.schedule.erase_at);
  EXPECT_TRUE(r->key.shared);
  EXPECT_EQ(0, std::memcmp(r->key.material.data(), k.material.data(), kKeyMaterialBytes));
}

TEST(FleetKeyRecord, AWrappedRecordHidesTheMaterialAndOpensWithTheSameWrapKey) {
  const MasterKey k = sample();
  const KeyWrap wrap = wrapOf('7');
  const std::string bytes = encodeFleetKeyRecord(k, "node-a", &wrap);
  const std::string material(reinterpret_cast<const char*>(k.material.data()), kKeyMaterialBytes);
  EXPECT_EQ(bytes.find(material.substr(0, 16)), std::string::npos);
  const auto r = decodeFleetKeyRecord(bytes, &wrap);
  ASSERT_TRUE(r);
  EXPECT_EQ(0, std::memcmp(r->key.material.data(), k.material.data(), kKeyMaterialBytes));
  const KeyWrap other = wrapOf('8');
  EXPECT_FALSE(decodeFleetKeyRecord(bytes, &other));
  EXPECT_FALSE(decodeFleetKeyRecord(bytes, nullptr));
}

TEST(FleetKeyRecord, AChangedScheduleInAWrappedRecordIsRefused) {
  const KeyWrap wrap = wrapOf('7');
  std::string bytes = encodeFleetKeyRecord(sample(), "node-a", &wrap);
  bytes[25] ^= 1;  // current_until's last byte: authenticated as additional data
  EXPECT_FALSE(decodeFleetKeyRecord(bytes, &wrap));
}

TEST(FleetKeyRecord, WithAWrapKeyAPlainRecordIsRefused) {
  const KeyWrap wrap = wrapOf('7');
  EXPECT_FALSE(decodeFleetKeyRecord(encodeFleetKeyRecord(sample(), "x", nullptr), &wrap));
}

TEST(FleetKeyRecord, MalformedRecordsAreRefused) {
  std::string bytes = encodeFleetKeyRecord(sample(), "node-a", nullptr);
  EXPECT_FALSE(decodeFleetKeyRecord(bytes.substr(0, bytes.size() - 1), nullptr));
  EXPECT_FALSE(decodeFleetKeyRecord(bytes + "x", nullptr));
  std::string v2 = bytes;
  v2[0] = 2;
  EXPECT_FALSE(decodeFleetKeyRecord(v2, nullptr));
  MasterKey backwards = sample();
  backwards.schedule.current_until = backwards.schedule.current_from;  // not a valid schedule
  EXPECT_FALSE(decodeFleetKeyRecord(encodeFleetKeyRecord(backwards, "x", nullptr), nullptr));
}

TEST(KeyWrap, ReadsHexOrRawBytesAndRefusesTheRest) {
  EXPECT_NO_THROW(KeyWrap::fromFileContents(std::string(64, 'a') + "\n"));
  EXPECT_NO_THROW(KeyWrap::fromFileContents(std::string(32, 'x')));
  EXPECT_THROW(KeyWrap::fromFileContents("abc"), std::invalid_argument);
  EXPECT_THROW(KeyWrap::fromFileContents(std::string(64, 'g')), std::invalid_argument);
  EXPECT_THROW(KeyWrap::fromFileContents(std::string(64, '0')), std::invalid_argument);
}

}  // namespace
}  // namespace tlsresume
