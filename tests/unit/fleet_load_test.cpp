// fleet-load's pacing and latency percentiles.
#include "tools/fleet_load_stats.hpp"

#include <gtest/gtest.h>

namespace tlsresume::tools::fleetload {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(FleetLoadPacer, IssuesWhatIsDueAndNoMore) {
  Pacer p(20000, 100000);  // 20 000/s
  EXPECT_EQ(p.due(nanoseconds{0}), 0u);
  EXPECT_EQ(p.due(milliseconds{1}), 20u);
  EXPECT_EQ(p.due(milliseconds{1}), 0u);  // asked again at the same time: nothing new
  EXPECT_EQ(p.due(nanoseconds{1'025'000}), 0u);  // 20.5 due: still 20
  EXPECT_EQ(p.due(nanoseconds{1'050'000}), 1u);
  EXPECT_EQ(p.due(milliseconds{500}), 9979u);
  EXPECT_EQ(p.issued(), 10000u);
}

TEST(FleetLoadPacer, FractionalRatesAddUp) {
  Pacer p(2.5);
  std::uint64_t total = 0;
  for (int ms = 0; ms <= 10000; ms += 7) total += p.due(milliseconds{ms});
  EXPECT_EQ(total, 24u);  // floor(9.996 s × 2.5)
  EXPECT_EQ(p.due(milliseconds{10000}), 1u);
}

TEST(FleetLoadPacer, ABurstIsCappedAndCaughtUpLater) {
  Pacer p(100000, 1000);
  EXPECT_EQ(p.due(milliseconds{50}), 1000u);  // 5000 due, 1000 at a time
  EXPECT_EQ(p.behind(milliseconds{50}), 4000u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p.due(milliseconds{50}), 1000u);
  EXPECT_EQ(p.due(milliseconds{50}), 0u);
  EXPECT_EQ(p.behind(milliseconds{50}), 0u);
}

TEST(FleetLoadPacer, ZeroRateIssuesNothing) {
  Pacer p(0);
  EXPECT_EQ(p.due(milliseconds{1000}), 0u);
}

TEST(FleetLoadHistogram, BucketsGrowByFourPercent) {
  EXPECT_EQ(LatencyHistogram::bucketOf(0.2), 0u);
  EXPECT_EQ(LatencyHistogram::bucketOf(1.0), 0u);
  for (double us : {1.5, 10.0, 99.0, 1234.0, 5e6}) {
    const std::size_t b = LatencyHistogram::bucketOf(us);
    EXPECT_LE(us, LatencyHistogram::upperBoundUs(b) * (1 + 1e-9)) << us;
    EXPECT_GT(us, LatencyHistogram::upperBoundUs(b - 1)) << us;
    EXPECT_LE(LatencyHistogram::upperBoundUs(b) / us, 1.04 + 1e-9) << us;
  }
  EXPECT_EQ(LatencyHistogram::bucketOf(1e12), LatencyHistogram::kBuckets - 1);
}

TEST(FleetLoadHistogram, PercentilesByNearestRankWithinABucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantileUs(0.99), 0);
  for (int i = 1; i <= 1000; ++i) h.add(std::chrono::microseconds{i});  // 1 .. 1000 µs
  EXPECT_EQ(h.count(), 1000u);
  const double p50 = h.quantileUs(0.50), p99 = h.quantileUs(0.99);
  EXPECT_GE(p50, 500);
  EXPECT_LE(p50, 500 * 1.04);
  EXPECT_GE(p99, 990);
  EXPECT_LE(p99, 990 * 1.04);
  EXPECT_DOUBLE_EQ(h.maxUs(), 1000);
  EXPECT_NEAR(h.meanUs(), 500.5, 1e-9);
  EXPECT_LE(h.quantileUs(1.0), 1000);  // never above the largest observation
}

TEST(FleetLoadHistogram, ATailOfOnePercent) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.add(std::chrono::microseconds{100});
  for (int i = 0; i < 10; ++i) h.add(std::chrono::milliseconds{5});
  EXPECT_LE(h.quantileUs(0.99), 104);  // the 990th observation is still 100 µs
  EXPECT_GE(h.quantileUs(0.991), 5000);
  EXPECT_LE(h.quantileUs(0.991), 5000 * 1.04);
}

}  // namespace
}  // namespace tlsresume::tools::fleetload
