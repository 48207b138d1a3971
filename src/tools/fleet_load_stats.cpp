#include "tools/fleet_load_stats.hpp"

#include <algorithm>
#include <cmath>

namespace tlsresume::tools::fleetload {
namespace {
constexpr double kGrowth = 1.04;
}

std::uint64_t Pacer::due(std::chrono::nanoseconds elapsed) noexcept {
  if (elapsed.count() <= 0 || rate_ <= 0) return 0;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const auto target = static_cast<std::uint64_t>(std::floor(seconds * rate_));
  if (target <= issued_) return 0;
  const std::uint64_t n = std::min(target - issued_, max_burst_);
  issued_ += n;
  return n;
}

std::uint64_t Pacer::behind(std::chrono::nanoseconds elapsed) const noexcept {
  if (elapsed.count() <= 0 || rate_ <= 0) return 0;
  const auto target = static_cast<std::uint64_t>(std::floor(std::chrono::duration<double>(elapsed).count() * rate_));
  return target > issued_ ? target - issued_ : 0;
}

// Bucket 0: up to 1 µs; bucket i: up to 1.04^i µs; the last one takes everything above.
std::size_t LatencyHistogram::bucketOf(double us) noexcept {
  if (!(us > 1.0)) return 0;
  const double i = std::ceil(std::log(us) / std::log(kGrowth) - 1e-9);
  return std::min(static_cast<std::size_t>(i), kBuckets - 1);
}

double LatencyHistogram::upperBoundUs(std::size_t bucket) noexcept { return std::pow(kGrowth, static_cast<double>(bucket)); }

void LatencyHistogram::add(std::chrono::nanoseconds latency) noexcept {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  buckets_[bucketOf(static_cast<double>(ns) / 1000.0)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  std::uint64_t seen = max_ns_.load(std::memory_order_relaxed);
  while (ns > seen && !max_ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

std::uint64_t LatencyHistogram::count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

double LatencyHistogram::meanUs() const noexcept {
  const std::uint64_t n = count();
  return n == 0 ? 0 : static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1000.0 / static_cast<double>(n);
}

double LatencyHistogram::quantileUs(double q) const noexcept {
  const std::uint64_t n = count();
  if (n == 0) return 0;
  // Nearest rank: the smallest observation with at least q × n observations at or below it.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(n))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return i + 1 == kBuckets ? maxUs() : std::min(upperBoundUs(i), std::max(maxUs(), 1.0));
  }
  return maxUs();
}

}  // namespace tlsresume::tools::fleetload
