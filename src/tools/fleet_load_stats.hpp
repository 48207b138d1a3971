#pragma once
// fleet-load's arithmetic: open-loop pacing and a latency histogram with percentiles.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace tlsresume::tools::fleetload {

// Open-loop pacing at a fixed rate: due(elapsed) answers how many operations to issue now
// so that floor(elapsed × rate) have been issued since the start, at most max_burst at a
// time. A caller that falls behind catches up over the next calls (never skips); what it
// could not issue in time shows in the achieved rate.
class Pacer {
 public:
  explicit Pacer(double rate_per_second, std::uint64_t max_burst = 1000) noexcept
      : rate_(rate_per_second), max_burst_(max_burst) {}
  std::uint64_t due(std::chrono::nanoseconds elapsed) noexcept;
  std::uint64_t issued() const noexcept { return issued_; }
  // Operations behind schedule after the last due() (those the burst cap held back).
  std::uint64_t behind(std::chrono::nanoseconds elapsed) const noexcept;

 private:
  double rate_;
  std::uint64_t max_burst_;
  std::uint64_t issued_ = 0;
};

// Latencies in buckets growing by about 4% from 1 µs to about 60 s; thread-safe add().
// quantile() is the upper bound of the bucket holding the q-th observation (nearest rank),
// so it errs high by at most one bucket (4%).
class LatencyHistogram {
 public:
  static constexpr std::size_t kBuckets = 460;
  void add(std::chrono::nanoseconds latency) noexcept;
  std::uint64_t count() const noexcept;
  double quantileUs(double q) const noexcept;  // 0 without observations
  double maxUs() const noexcept { return static_cast<double>(max_ns_.load(std::memory_order_relaxed)) / 1000.0; }
  double meanUs() const noexcept;
  static std::size_t bucketOf(double us) noexcept;
  static double upperBoundUs(std::size_t bucket) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> max_ns_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace tlsresume::tools::fleetload
