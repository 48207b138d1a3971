// The fleet target's arithmetic: which server a connection goes to, the servers' lookup
// histograms read from /metrics and turned into quantiles, Redis's INFO answers.
#include "tools/bench_fleet.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tools/bench_load.hpp"

namespace tlsresume::tools::bench {
namespace {

TEST(BenchFleetPick, MovesOnAndNeverBackToTheIssuer) {
  EXPECT_EQ(pickServer(0, -1, 3), 0u);
  EXPECT_EQ(pickServer(1, 0, 3), 1u);
  EXPECT_EQ(pickServer(1, 1, 3), 2u);
  EXPECT_EQ(pickServer(2, 2, 3), 0u);
  EXPECT_EQ(pickServer(5, -1, 3), 2u);
  // Two servers: always the other one.
  for (int issuer = 0; issuer < 2; ++issuer)
    for (std::size_t next = 0; next < 2; ++next) EXPECT_NE(pickServer(next, issuer, 2), static_cast<std::size_t>(issuer));
}

TEST(BenchFleetPick, ASessionIdResumedAgainAndAgainNeverReturnsToItsIssuer) {
  // A TLS 1.2 session id keeps its issuer when resumed: the slot walks the other servers.
  const std::size_t n = 3;
  const int issuer = 1;
  std::size_t next = 2;
  for (int k = 0; k < 20; ++k) {
    const std::size_t s = pickServer(next, issuer, n);
    EXPECT_NE(s, static_cast<std::size_t>(issuer));
    next = (s + 1) % n;
  }
}

constexpr const char* kMetrics =
    "# HELP tlsresume_fleet_lookups_total Remote session lookups, by result.\n"
    "# TYPE tlsresume_fleet_lookups_total counter\n"
    "tlsresume_fleet_lookups_total{result=\"hit\"} 90\n"
    "tlsresume_fleet_lookups_total{result=\"miss\"} 6\n"
    "tlsresume_fleet_lookups_total{result=\"timeout\"} 4\n"
    "tlsresume_fleet_lookups_total{result=\"error\"} 0\n"
    "tlsresume_fleet_lookup_seconds_bucket{le=\"0.00025\"} 50\n"
    "tlsresume_fleet_lookup_seconds_bucket{le=\"0.0005\"} 90\n"
    "tlsresume_fleet_lookup_seconds_bucket{le=\"0.001\"} 96\n"
    "tlsresume_fleet_lookup_seconds_bucket{le=\"+Inf\"} 100\n"
    "tlsresume_fleet_lookup_seconds_sum 0.05\n"
    "tlsresume_fleet_lookup_seconds_count 100\n"
    "tlsresume_fleet_writes_total 120\n"
    "tlsresume_fleet_writes_dropped_total 2\n"
    "tlsresume_fleet_write_errors_total 7\n";

TEST(BenchFleetMetrics, ReadsCountersAndHistogram) {
  const FleetSample s = parseFleetMetrics(kMetrics);
  EXPECT_EQ(s.hit, 90u);
  EXPECT_EQ(s.miss, 6u);
  EXPECT_EQ(s.timeout, 4u);
  EXPECT_EQ(s.writes, 120u);  // not tlsresume_fleet_write_errors_total
  EXPECT_EQ(s.writes_dropped, 2u);
  ASSERT_EQ(s.buckets.size(), 4u);
  EXPECT_TRUE(std::isinf(s.buckets.back().first));
  EXPECT_DOUBLE_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.sum_seconds, 0.05);
}

TEST(BenchFleetMetrics, QuantilesInterpolateInsideBuckets) {
  const FleetSample s = parseFleetMetrics(kMetrics);
  // 50 of 100 at or below 250 us: the median is that bound.
  EXPECT_NEAR(*histogramQuantile(s.buckets, 0.5), 0.00025, 1e-12);
  // Rank 70: 20 of the 40 between 250 and 500 us.
  EXPECT_NEAR(*histogramQuantile(s.buckets, 0.7), 0.000375, 1e-12);
  // Rank 99 is in +Inf: the highest finite bound.
  EXPECT_NEAR(*histogramQuantile(s.buckets, 0.99), 0.001, 1e-12);
  EXPECT_FALSE(histogramQuantile({}, 0.5));
  EXPECT_FALSE(histogramQuantile({{0.001, 0}, {INFINITY, 0}}, 0.5));
}

TEST(BenchFleetMetrics, DifferenceAndSumOverServers) {
  const FleetSample after = parseFleetMetrics(kMetrics);
  FleetSample before = after;
  before.hit = 40;
  for (auto& b : before.buckets) b.second /= 2;
  before.count = 50;
  before.sum_seconds = 0.02;
  const FleetSample d = difference(after, before);
  EXPECT_EQ(d.hit, 50u);
  EXPECT_EQ(d.miss, 0u);
  EXPECT_DOUBLE_EQ(d.buckets.back().second, 50);
  EXPECT_NEAR(d.sum_seconds, 0.03, 1e-12);
  FleetSample total;
  accumulate(total, d);
  accumulate(total, d);
  EXPECT_EQ(total.hit, 100u);
  EXPECT_DOUBLE_EQ(total.buckets.front().second, 50);
  EXPECT_DOUBLE_EQ(total.count, 100);
}

TEST(BenchFleetRedis, CommandCallsAndFields) {
  const std::string stats =
      "# Commandstats\r\n"
      "cmdstat_get:calls=1501,usec=4000,usec_per_call=2.66,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_set:calls=1520,usec=9000,usec_per_call=5.92,rejected_calls=3,failed_calls=0\r\n"
      "cmdstat_client|setname:calls=3,usec=3,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n";
  const auto calls = parseCommandCalls(stats);
  EXPECT_EQ(calls.at("get"), 1501u);
  EXPECT_EQ(calls.at("set"), 1520u);
  EXPECT_EQ(calls.at("client|setname"), 3u);
  EXPECT_EQ(*infoField("# Memory\r\nused_memory:1954568\r\nused_memory_human:1.86M\r\n", "used_memory"), 1954568u);
  EXPECT_FALSE(infoField("used_memory_rss:1\r\n", "used_memory"));
}

TEST(BenchFleetAdmin, FleetKeyInUse) {
  EXPECT_TRUE(encryptsWithFleetKey(
      R"({"node":"n","keys":[{"id":"ab","origin":"fleet","state":"current","creator":"n"}]})"));
  EXPECT_FALSE(encryptsWithFleetKey(
      R"({"node":"n","keys":[{"id":"ab","origin":"fleet","state":"pending"},{"id":"cd","origin":"local","state":"current"}]})"));
}

}  // namespace
}  // namespace tlsresume::tools::bench
