// tlsresume probe's judgements that need no network: exit codes, the RFC 5077 layout,
// key rotation counting, lifetime hints, where a ticket's bytes are flipped, and output.
#include "tools/probe_report.hpp"

#include <gtest/gtest.h>

#include "tlsresume/crypto.hpp"

namespace tlsresume::tools::probe {
namespace {

std::vector<unsigned char> ticket(unsigned char key, std::size_t len, unsigned char fill) {
  std::vector<unsigned char> t(len, fill);
  for (std::size_t i = 0; i < kKeyNameBytes && i < len; ++i) t[i] = key;
  return t;
}

TEST(ProbeReport, ExitCodeIsTheWorstVerdict) {
  EXPECT_EQ(exitCode({}), 0);
  EXPECT_EQ(exitCode({{"a", Verdict::ok, ""}, {"b", Verdict::info, ""}}), 0);
  EXPECT_EQ(exitCode({{"a", Verdict::ok, ""}, {"b", Verdict::warn, ""}}), 1);
  EXPECT_EQ(exitCode({{"a", Verdict::fail, ""}, {"b", Verdict::warn, ""}}), 2);
  EXPECT_EQ(exitCode({{"a", Verdict::warn, ""}, {"b", Verdict::fail, ""}}), 2);
}

TEST(ProbeReport, NotMeasuredIsInfoWithTheReason) {
  const Finding f = notMeasured("x", "no tickets");
  EXPECT_EQ(f.verdict, Verdict::info);
  EXPECT_EQ(f.reason, "not measured (no tickets)");
}

TEST(ProbeReport, TicketsSharingAKeyNameFollowRfc5077) {
  const Finding f = judgeTicketLayout({ticket(0xab, 192, 1), ticket(0xab, 192, 2), ticket(0xab, 192, 3)});
  EXPECT_EQ(f.verdict, Verdict::ok);
  EXPECT_NE(f.reason.find("abababab"), std::string::npos) << f.reason;
}

TEST(ProbeReport, TicketsWithoutACommonPrefixAreNotTheLayout) {
  const Finding f = judgeTicketLayout({ticket(1, 192, 0), ticket(2, 192, 0)});
  EXPECT_EQ(f.verdict, Verdict::info);
  EXPECT_NE(f.reason.find("share no key-name prefix"), std::string::npos) << f.reason;
}

TEST(ProbeReport, AShorterSharedPrefixIsAKeyNameOfTheServersOwnFormat) {
  // tlsresume on BoringSSL: a 4-byte name, then a random nonce.
  auto t1 = ticket(0, 160, 0), t2 = ticket(0, 160, 0), t3 = ticket(0, 160, 0);
  for (auto* t : {&t1, &t2, &t3}) {
    for (std::size_t i = 0; i < 4; ++i) (*t)[i] = 0xcd;
    (*t)[4] = static_cast<unsigned char>(t == &t1 ? 1 : t == &t2 ? 2 : 3);
  }
  std::size_t name_bytes = 0;
  const Finding f = judgeTicketLayout({t1, t2, t3}, &name_bytes);
  EXPECT_EQ(f.verdict, Verdict::ok) << f.reason;
  EXPECT_EQ(name_bytes, 4u);
  EXPECT_NE(f.reason.find("4-byte key name cdcdcdcd"), std::string::npos) << f.reason;
  EXPECT_EQ(keyNameOf(t1, name_bytes), std::optional<std::string>("cdcdcdcd"));
  // Three shared bytes could be chance: no name.
  for (auto* t : {&t1, &t2, &t3}) (*t)[3] = (*t)[4];
  EXPECT_EQ(judgeTicketLayout({t1, t2, t3}).verdict, Verdict::info);
}

TEST(ProbeReport, OneTicketOrShortTicketsProveNothing) {
  EXPECT_EQ(judgeTicketLayout({ticket(1, 192, 0)}).reason.substr(0, 12), "not measured");
  EXPECT_EQ(judgeTicketLayout({ticket(1, 10, 0), ticket(1, 10, 0)}).verdict, Verdict::info);
  // A stable prefix with no room for IV, state and MAC.
  const Finding f = judgeTicketLayout({ticket(1, 40, 0), ticket(1, 40, 0)});
  EXPECT_EQ(f.verdict, Verdict::info);
  EXPECT_NE(f.reason.find("no room"), std::string::npos) << f.reason;
}

TEST(ProbeReport, ATls13TicketSaysWhereItsSessionLives) {
  EXPECT_NE(judgeTls13TicketSize(std::vector<unsigned char>(32, 7)).find("(stateful)"), std::string::npos);
  // A handle padded with zeros to a session's length (tlsresume on BoringSSL).
  std::vector<unsigned char> padded(95, 0);
  for (std::size_t i = 0; i < 17; ++i) padded[i] = static_cast<unsigned char>(0xa1 + i);
  const std::string p = judgeTls13TicketSize(padded);
  EXPECT_NE(p.find("only the first 17 vary"), std::string::npos) << p;
  EXPECT_NE(p.find("(stateful)"), std::string::npos) << p;
  // A sealed ticket: no telling run of zeros (a few at the end happen by chance).
  std::vector<unsigned char> sealed(152, 0x5a);
  for (std::size_t i = 140; i < 152; ++i) sealed[i] = 0;
  EXPECT_NE(judgeTls13TicketSize(sealed).find("(stateless"), std::string::npos);
}

TEST(ProbeReport, RotationsAreCountedBetweenSamplesWithAName) {
  const Rotation r = countRotations({{0, "aa"}, {2, ""}, {4, "aa"}, {6, "bb"}, {8, "bb"}, {10, "cc"}});
  EXPECT_EQ(r.samples, 5u);
  EXPECT_EQ(r.changes, 2u);
  EXPECT_DOUBLE_EQ(r.window, 10.0);
}

TEST(ProbeReport, AKeyThatNeverChangesIsAWarningWithTheWindow) {
  const Finding same = judgeKeyRotation(countRotations({{0, "aa"}, {5, "aa"}, {10, "aa"}}), std::chrono::seconds(10));
  EXPECT_EQ(same.verdict, Verdict::warn);
  EXPECT_NE(same.reason.find("did not change in 10 s"), std::string::npos) << same.reason;
  const Finding changed = judgeKeyRotation(countRotations({{0, "aa"}, {5, "bb"}}), std::chrono::seconds(5));
  EXPECT_EQ(changed.verdict, Verdict::ok);
  EXPECT_NE(changed.reason.find("changed 1 time in 5.0 s"), std::string::npos) << changed.reason;
  EXPECT_EQ(judgeKeyRotation(countRotations({{0, "aa"}}), std::chrono::seconds(5)).verdict, Verdict::info);
}

TEST(ProbeReport, LifetimeHintsBeyondSevenDays) {
  EXPECT_EQ(judgeLifetimeHint("h", 3600, true).verdict, Verdict::info);
  EXPECT_EQ(judgeLifetimeHint("h", 3600, true).reason, "3600 s (1 h)");
  EXPECT_EQ(judgeLifetimeHint("h", 0, false).verdict, Verdict::info);
  EXPECT_EQ(judgeLifetimeHint("h", 604800, true).verdict, Verdict::info);
  EXPECT_EQ(judgeLifetimeHint("h", 604801, true).verdict, Verdict::fail);
  EXPECT_EQ(judgeLifetimeHint("h", 604801, false).verdict, Verdict::warn);
}

TEST(ProbeReport, FlipPointsFollowTheRfc5077Regions) {
  const auto p = flipPoints(192);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].offset, 0u);
  EXPECT_EQ(p[1].offset, 16u);
  EXPECT_GT(p[2].offset, 31u);
  EXPECT_LT(p[2].offset, 160u);
  EXPECT_EQ(p[3].offset, 191u);
  // A 32-byte reference (a stateful ticket) has no body or MAC region.
  EXPECT_EQ(flipPoints(32).size(), 2u);
  EXPECT_EQ(flipPoints(8).size(), 1u);
  EXPECT_TRUE(flipPoints(0).empty());
}

TEST(ProbeReport, TableIsAlignedAndColouredOnlyWhenAsked) {
  Report r{"127.0.0.1:443", "a.example",
           {{"tls", Verdict::info, "TLSv1.3"}, {"tls12-ticket-key-rotation", Verdict::warn, "did not change"}}};
  const std::string plain = renderTable(r, false);
  // Names padded to the longest one, two spaces, the verdict padded to 7, two spaces.
  EXPECT_NE(plain.find("\ntls" + std::string(22 + 2, ' ') + "info     TLSv1.3\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("\ntls12-ticket-key-rotation  warn     did not change\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("0 ok, 1 info, 1 warn, 0 fail"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  EXPECT_NE(renderTable(r, true).find("\033[33mwarn"), std::string::npos);
  // What the probe could test depends on its own client's library: the report names it.
  EXPECT_NE(plain.find(std::string(", client on ") + crypto::libraryVersion() + "\n"), std::string::npos) << plain;
}

TEST(ProbeReport, JsonCarriesTheExitCodeAndEscapes) {
  Report r{"h:1", "", {{"x", Verdict::fail, "said \"no\""}}};
  const std::string j = renderJson(r);
  EXPECT_NE(j.find("\"exit_code\": 2"), std::string::npos) << j;
  EXPECT_NE(j.find("\"reason\": \"said \\\"no\\\"\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"server_name\": \"\""), std::string::npos) << j;
  EXPECT_NE(j.find(std::string("\"client_library\": \"") + crypto::libraryVersion() + "\""), std::string::npos) << j;
}

}  // namespace
}  // namespace tlsresume::tools::probe
