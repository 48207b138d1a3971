// bench::tradeOffs and bench::conclusions on figures made up for the purpose: the speed-up
// of a resumption mode is the median of round-by-round ratios, a mix is set against the
// same blend of full handshakes, and cells that mostly failed or did not resume the way
// their scenario asks are not taken for what they are not.
#include <gtest/gtest.h>

#include <algorithm>

#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

CellResult cell(Scenario s, std::vector<double> cpu_rounds, double rate = 1000) {
  CellResult c;
  c.target = "self";
  c.scenario = s;
  c.protocol = "TLSv1.3";
  c.handshakes = c.attempts = 300;
  c.resumed = resumes(s) ? 300 : 0;
  c.resumed_by_ticket = s == Scenario::session_id ? 0 : c.resumed;
  c.resumed_ratio = resumes(s) ? 1.0 : 0.0;
  c.handshakes_per_sec = rate;
  c.server_cpu_us_rounds = cpu_rounds;
  if (!cpu_rounds.empty()) {
    std::sort(cpu_rounds.begin(), cpu_rounds.end());
    c.server_cpu_us_per_handshake = cpu_rounds[cpu_rounds.size() / 2];
  }
  if (c.server_cpu_us_rounds.size() < 2) c.server_cpu_us_rounds.clear();
  return c;
}

// Deleted for temporaries: the reference it returns would outlive the vector.
const TradeOff& find(const std::vector<TradeOff>&& all, Scenario mode) = delete;
const TradeOff& find(const std::vector<TradeOff>& all, Scenario mode) {
  for (const auto& t : all)
    if (t.mode == mode) return t;
  throw std::runtime_error("no trade-off");
}

TEST(BenchTradeOffs, SpeedupIsTheMedianOfRoundByRoundRatios) {
  // Rounds drifted: the medians (563.5 full, 581.9 resumed) come from different rounds
  // and would say "no saving"; round by round it saved about 17% (1.20, 1.22, 0.97).
  RunResult run;
  run.cells = {cell(Scenario::full_tls13, {773.9, 520.9, 563.5}), cell(Scenario::ticket_tls13, {645.7, 427.3, 581.9})};
  const auto trades = tradeOffs(run);  // kept: t refers into it
  const auto& t = find(trades, Scenario::ticket_tls13);
  ASSERT_TRUE(t.speedup);
  EXPECT_NEAR(*t.speedup, 773.9 / 645.7, 1e-9);
  EXPECT_TRUE(t.by_rounds);
  EXPECT_FALSE(t.by_throughput);
  bool said = false;
  for (const auto& line : conclusions(run)) said = said || line.find("1.2× round by round") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(BenchTradeOffs, OneRoundUsesTheFiguresThemselves) {
  RunResult run;
  run.cells = {cell(Scenario::full_tls12, {500}), cell(Scenario::session_id, {200})};
  const auto trades = tradeOffs(run);  // kept: t refers into it
  const auto& t = find(trades, Scenario::session_id);
  ASSERT_TRUE(t.speedup);
  EXPECT_DOUBLE_EQ(*t.speedup, 2.5);
  EXPECT_FALSE(t.by_rounds);
}

TEST(BenchTradeOffs, MixIsSetAgainstTheSameBlendOfFullHandshakesEvenByThroughput) {
  RunResult run;
  run.options.mix_no_ticket = 0.3;
  // No CPU figures (an outside target without --server-pid): handshakes per second.
  run.cells = {cell(Scenario::full_tls13, {}, 1000), cell(Scenario::full_tls12, {}, 2000),
               cell(Scenario::mix, {}, 3000)};
  const auto trades = tradeOffs(run);  // kept: t refers into it
  const auto& t = find(trades, Scenario::mix);
  ASSERT_TRUE(t.speedup);
  EXPECT_TRUE(t.by_throughput);
  // Time per handshake at full load: 0.3 / 2000 + 0.7 / 1000 against 1 / 3000.
  EXPECT_NEAR(*t.speedup, (0.3 / 2000 + 0.7 / 1000) * 3000, 1e-9);
}

TEST(BenchTradeOffs, AModeThatDidNotResumeClaimsNoSpeedup) {
  RunResult run;
  CellResult off = cell(Scenario::ticket_tls13, {600});
  off.resumed = 0;
  off.resumed_by_ticket = 0;
  off.resumed_ratio = 0.0;
  run.cells = {cell(Scenario::full_tls13, {700}), off};
  const auto trades = tradeOffs(run);
  EXPECT_FALSE(find(trades, Scenario::ticket_tls13).speedup);
}

TEST(BenchConclusions, CellsThatMostlyFailedAreLeftOut) {
  RunResult run;
  CellResult failing = cell(Scenario::session_id, {100});
  failing.errors = 200;  // of 300 connections
  run.cells = {cell(Scenario::full_tls12, {500}), failing};
  for (const auto& t : tradeOffs(run)) EXPECT_NE(t.mode, Scenario::session_id);
  failing.first_error = "TLS handshake failed: boom";
  run.cells.back() = failing;
  int said = 0;
  for (const auto& line : conclusions(run)) {
    if (line.find("session-id") == std::string::npos) continue;
    EXPECT_NE(line.find("200 of 300 connections failed (first: TLS handshake failed: boom); its figures are left out"),
              std::string::npos)
        << line;
    ++said;
  }
  EXPECT_EQ(said, 1);
}

TEST(BenchConclusions, TicketCellsThatResumedByIdAreNotTicketFigures) {
  RunResult run;
  CellResult by_id = cell(Scenario::ticket_tls12, {210});
  by_id.resumed_by_ticket = 0;  // the server issued no TLS 1.2 tickets
  run.cells = {cell(Scenario::full_tls12, {500}), cell(Scenario::session_id, {200}), by_id};
  const auto trades = tradeOffs(run);  // kept: t refers into it
  const auto& t = find(trades, Scenario::ticket_tls12);
  EXPECT_TRUE(t.by_id_instead);
  bool said = false;
  for (const auto& line : conclusions(run)) {
    EXPECT_EQ(line.find("tickets are no faster than session ids"), std::string::npos) << line;
    said = said || line.find("resumed by session id") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

TEST(BenchConclusions, SavesLittleOnlyWhenItDoes) {
  auto sentence = [](double full, double resumed) {
    RunResult run;
    run.cells = {cell(Scenario::full_tls13, {full}), cell(Scenario::ticket_tls13, {resumed})};
    for (const auto& line : conclusions(run))
      if (line.find("With ECDSA") != std::string::npos) return line;
    return std::string();
  };
  EXPECT_NE(sentence(1171, 646).find("resumption (psk_dhe_ke) on self: 646 µs against 1171 µs"), std::string::npos)
      << sentence(1171, 646);  // 45% less: no "saves little"
  EXPECT_NE(sentence(700, 600).find("saves little"), std::string::npos);
  EXPECT_NE(sentence(600, 618).find("saves nothing measurable"), std::string::npos);
}

}  // namespace
}  // namespace tlsresume::tools::bench

namespace tlsresume::tools::bench {
namespace {

CellResult rsaCell(Scenario s, double cpu) {
  CellResult c = cell(s, {cpu});
  c.cert = CertType::rsa;
  return c;
}

TEST(BenchWhatToEnable, OneLinePerDeploymentWithTheMeasuredGainOrNotMeasured) {
  RunResult run;
  run.cells = {cell(Scenario::full_tls12, {500}), cell(Scenario::session_id, {200}),
               cell(Scenario::full_tls13, {700}), cell(Scenario::ticket_tls13, {600})};
  const auto lines = whatToEnable(run);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("**One server", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("session ids: 60% less CPU with ECDSA P-256 (2.5×) than a full TLS 1.2 handshake on our "
                          "server"),
            std::string::npos)
      << lines[0];
  // No stateful-ticket cell in this run: said, not made up.
  EXPECT_NE(lines[0].find("stateful TLS 1.3 tickets: not measured in this run"), std::string::npos) << lines[0];
  for (const char* setting : {"ssl_session_tickets off", "no-tls-tickets", "tune.ssl.cachesize", "tls13_tickets"})
    EXPECT_NE(lines[0].find(setting), std::string::npos) << setting;
  EXPECT_EQ(lines[1].rfind("**Several servers without a shared cache", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("TLS 1.3 tickets: 14% less CPU"), std::string::npos) << lines[1];
  // No fleet cell: across servers is not measured, and the line says which command does.
  EXPECT_NE(lines[1].find("not measured in this run (tlsresume bench --target self,fleet"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[1].find("ssl_session_ticket_key"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("**Several servers sharing one session cache", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("not measured in this run (tlsresume bench --target self,fleet"), std::string::npos)
      << lines[2];
  EXPECT_NE(lines[2].find("[fleet]"), std::string::npos) << lines[2];
}

TEST(BenchWhatToEnable, SeveralServersQuoteTheFleetTargetWhenTheRunMeasuredIt) {
  RunResult run;
  CellResult fleet = cell(Scenario::session_id, {150});
  fleet.target = "fleet";
  fleet.resumed_ratio = 0.99;
  FleetFigures f;
  f.nodes = 3;
  f.cpu_vs_self = 1.25;
  f.lookup_p50_us = 240;
  f.lookup_p99_us = 900;
  fleet.fleet = f;
  run.cells = {cell(Scenario::full_tls12, {500}), cell(Scenario::session_id, {120}), fleet};
  const auto lines = whatToEnable(run);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[2].find("Measured with tlsresume's fleet mode on one Redis: Session ids across 3 servers: 99% resumed "
                          "on a server other than the issuer, server CPU 1.25x one server's, Redis lookup p50 0.24 ms / "
                          "p99 0.90 ms"),
            std::string::npos)
      << lines[2];
  // The stateless-ticket line has no fleet cell for tickets in this run.
  EXPECT_NE(lines[1].find("not measured in this run"), std::string::npos) << lines[1];
}

TEST(BenchConclusions, RsaIsSetAgainstEcdsaWhenBothRan) {
  RunResult run;
  run.options.certs = {CertType::ecdsa, CertType::rsa};
  run.cells = {cell(Scenario::full_tls13, {700}), cell(Scenario::ticket_tls13, {600}),
               rsaCell(Scenario::full_tls13, {950}), rsaCell(Scenario::ticket_tls13, {610})};
  std::string rsa;
  for (const auto& line : conclusions(run))
    if (line.rfind("With RSA-2048", 0) == 0) rsa = line;
  EXPECT_NE(rsa.find("With RSA-2048 on self, TLS 1.3: ticket-tls13 610 µs against 950 µs for a full handshake"),
            std::string::npos)
      << rsa;
  EXPECT_NE(rsa.find("RSA added 250 µs to the full handshake, while the resumed ones differ by 10 µs (neither signs)"), std::string::npos) << rsa;
  EXPECT_NE(rsa.find("a resumption costs 36% less CPU than a full handshake with RSA, 14% less CPU with ECDSA"), std::string::npos) << rsa;
}

}  // namespace
}  // namespace tlsresume::tools::bench
