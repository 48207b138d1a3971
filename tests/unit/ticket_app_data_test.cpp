#include "tlsresume/ticket_app_data.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tlsresume {
namespace {

using namespace std::chrono_literals;

TicketAppData sample() {
  TicketAppData d;
  d.issued_at = TimePoint{1'700'000'123s};
  d.chain_started_at = TimePoint{1'699'990'000s};
  d.host_tag = 0x0102030405060708ULL;
  for (std::size_t i = 0; i < d.resumption_id.size(); ++i) d.resumption_id[i] = static_cast<unsigned char>(0xa0 + i);
  d.extms = true;
  return d;
}

TEST(TicketAppData, RoundTripsEveryField) {
  const auto d = sample();
  const auto bytes = encodeTicketAppData(d);
  EXPECT_EQ(bytes.size(), kTicketAppDataBytes);
  const auto back = decodeTicketAppData(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, d);
}

TEST(TicketAppData, EncodesVersionThenBigEndianFixedFields) {
  const auto bytes = encodeTicketAppData(sample());
  const std::string expected_head = std::string("\x02", 1) +
                                    std::string("\x00\x00\x00\x00\x65\x53\xf1\x7b", 8) +  // 1'700'000'123
                                    std::string("\x00\x00\x00\x00\x65\x53\xc9\xf0", 8) +  // 1'699'990'000
                                    std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  EXPECT_EQ(bytes.substr(0, 25), expected_head);
  EXPECT_EQ(static_cast<unsigned char>(bytes[25]), 0xa0);
  EXPECT_EQ(static_cast<unsigned char>(bytes[40]), 0xaf);
  ASSERT_EQ(bytes.size(), 42u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[41]), 0x01);  // flags: extended master secret
}

TEST(TicketAppData, CarriesTheExtendedMasterSecretFlag) {
  auto d = sample();
  for (const bool extms : {true, false}) {
    d.extms = extms;
    const auto back = decodeTicketAppData(encodeTicketAppData(d));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->extms, extms);
  }
}

TEST(TicketAppData, RejectsFlagsThisVersionDoesNotDefine) {
  auto bytes = encodeTicketAppData(sample());
  for (unsigned bit = 1; bit < 8; ++bit) {
    std::string b = bytes;
    b[41] = static_cast<char>(b[41] | (1u << bit));
    EXPECT_FALSE(decodeTicketAppData(b).has_value()) << "bit " << bit;
  }
}

TEST(TicketAppData, VersionOneIsReadWithTheSafeGuessForTheFlag) {
  // 41 bytes, version 1, as issued before the flags byte (another node of a fleet that
  // shares ticket keys may still issue them).
  auto d = sample();
  d.extms = false;
  const std::string v1 = std::string("\x01", 1) + encodeTicketAppData(d).substr(1, 40);
  const auto back = decodeTicketAppData(v1);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->extms);
  EXPECT_EQ(back->resumption_id, d.resumption_id);
  // Version 1 is 41 bytes and version 2 is 42: neither number goes with the other length.
  EXPECT_FALSE(decodeTicketAppData(std::string("\x02", 1) + v1.substr(1)).has_value());
  EXPECT_FALSE(decodeTicketAppData(v1 + std::string("\x00", 1)).has_value());
}

TEST(TicketAppData, DropsSubSecondPartsOfTimes) {
  auto d = sample();
  d.issued_at += 999ms;
  d.chain_started_at += 1ms;
  const auto back = decodeTicketAppData(encodeTicketAppData(d));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->issued_at, sample().issued_at);
  EXPECT_EQ(back->chain_started_at, sample().chain_started_at);
}

TEST(TicketAppData, AcceptsAChainThatStartedWithThisTicket) {
  auto d = sample();
  d.chain_started_at = d.issued_at;
  EXPECT_TRUE(decodeTicketAppData(encodeTicketAppData(d)).has_value());
}

TEST(TicketAppData, RejectsEveryTruncation) {
  const auto bytes = encodeTicketAppData(sample());
  for (std::size_t len = 0; len < bytes.size(); ++len)
    EXPECT_FALSE(decodeTicketAppData(std::string_view(bytes).substr(0, len)).has_value()) << "length " << len;
}

TEST(TicketAppData, RejectsEveryExtension) {
  const auto bytes = encodeTicketAppData(sample());
  for (std::size_t extra = 1; extra <= 64; ++extra) {
    EXPECT_FALSE(decodeTicketAppData(bytes + std::string(extra, '\0')).has_value()) << "extra " << extra;
    EXPECT_FALSE(decodeTicketAppData(bytes + std::string(extra, '\x01')).has_value()) << "extra " << extra;
  }
}

TEST(TicketAppData, RejectsEveryOtherVersion) {
  auto bytes = encodeTicketAppData(sample());
  for (int v = 0; v < 256; ++v) {
    if (v == kTicketAppDataVersion) continue;
    bytes[0] = static_cast<char>(v);
    EXPECT_FALSE(decodeTicketAppData(bytes).has_value()) << "version " << v;
  }
}

TEST(TicketAppData, RejectsAChainThatStartsAfterTheTicketWasIssued) {
  auto d = sample();
  d.chain_started_at = d.issued_at + 1s;
  EXPECT_FALSE(decodeTicketAppData(encodeTicketAppData(d)).has_value());
}

TEST(TicketAppData, RejectsTimesATimePointCannotHold) {
  auto bytes = encodeTicketAppData(sample());
  for (int i = 1; i <= 8; ++i) bytes[i] = '\xff';  // issued_at = 2^64 - 1 seconds
  EXPECT_FALSE(decodeTicketAppData(bytes).has_value());
  auto d = sample();
  d.chain_started_at = TimePoint{};
  d.issued_at = TimePoint{std::chrono::floor<std::chrono::seconds>(TimePoint::max().time_since_epoch())};
  EXPECT_TRUE(decodeTicketAppData(encodeTicketAppData(d)).has_value());  // the largest one still fits
}

TEST(TicketAppData, HostTagIsTheFirstEightBytesOfSha256) {
  // SHA-256("abc") = ba7816bf8f01cfea 414140de... (FIPS 180-2 example)
  EXPECT_EQ(hostTag("abc"), 0xba7816bf8f01cfeaULL);
  EXPECT_NE(hostTag("a.example"), hostTag("b.example"));
}

TEST(TicketAppData, ResumptionIdsAreFreshRandom) {
  const auto a = newResumptionId();
  const auto b = newResumptionId();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace tlsresume
