#include "tlsresume/stored_session.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tlsresume {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart{1'700'000'000s};
const TimePoint kExpires{1'700'007'200s};

std::string record(StoredKind kind, std::string_view id, std::string_view der) {
  std::string out = encodeStoredSessionHeader(kind, kStart, kExpires, id, der.size());
  out.append(der);
  return out;
}

TEST(StoredSession, RoundTripsEveryField) {
  const std::string bytes = record(StoredKind::tls12_extms, "0123456789abcdef", "DER-BYTES");
  const auto v = decodeStoredSession(bytes);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, StoredKind::tls12_extms);
  EXPECT_EQ(v->start, kStart);
  EXPECT_EQ(v->expires, kExpires);
  EXPECT_EQ(v->id, "0123456789abcdef");
  EXPECT_EQ(v->der, "DER-BYTES");
}

TEST(StoredSession, AnEmptyIdIsAllowed) {
  const std::string bytes = record(StoredKind::tls13, "", "D");  // the view points into it
  const auto v = decodeStoredSession(bytes);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->id.empty());
  EXPECT_EQ(v->der, "D");
}

TEST(StoredSession, AnotherVersionIsRefused) {
  std::string bytes = record(StoredKind::tls12, "", "DER");
  bytes[0] = 2;
  EXPECT_FALSE(decodeStoredSession(bytes));
  // The unversioned layout of earlier builds began with the kind (0..2).
  bytes[0] = 0;
  EXPECT_FALSE(decodeStoredSession(bytes));
}

TEST(StoredSession, AnUnknownKindIsRefused) {
  std::string bytes = record(StoredKind::tls12, "", "DER");
  bytes[1] = 3;
  EXPECT_FALSE(decodeStoredSession(bytes));
}

TEST(StoredSession, WithoutDerItIsRefused) {
  EXPECT_FALSE(decodeStoredSession(record(StoredKind::tls13, "abc", "")));
  EXPECT_FALSE(decodeStoredSession(""));
}

TEST(StoredSession, AnIdLongerThanItsRecordIsRefused) {
  std::string bytes = record(StoredKind::tls13, "abc", "D");
  bytes[18] = 33;  // over the 32-byte cap
  EXPECT_FALSE(decodeStoredSession(bytes));
  bytes[18] = 10;  // past the end of the record
  EXPECT_FALSE(decodeStoredSession(bytes));
}

TEST(StoredSession, AStartAfterTheExpiryIsRefused) {
  std::string bytes = encodeStoredSessionHeader(StoredKind::tls13, kExpires + 1s, kExpires, "");
  bytes += "D";
  EXPECT_FALSE(decodeStoredSession(bytes));
}

TEST(StoredSession, TimesBeyondTheClocksRangeAreRefused) {
  std::string bytes = record(StoredKind::tls13, "", "D");
  for (int i = 10; i < 18; ++i) bytes[i] = '\xff';  // expires in the year 584 billion
  EXPECT_FALSE(decodeStoredSession(bytes));
}

}  // namespace
}  // namespace tlsresume
