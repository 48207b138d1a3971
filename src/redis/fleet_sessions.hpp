#pragma once
// RedisSessionTier: the fleet's shared session store, the remote tier behind each server's
// in-process store (see tlsresume/tiered_store.hpp).
//
// - fetch: GET with the lookup time-out (a few ms); a hit, a miss, a time-out or an error,
//   each counted, with the latency in a histogram. Never started while the link is down.
// - store: SET ... PX <remaining lifetime>, written behind the handshake; at most
//   max_writes in flight, beyond that (or while the link is down) the write is dropped and
//   counted: the session stays in the local tier, so only another server misses it.
// - erase: DEL, fire and forget.
// Records hold master secrets: every copy this class makes is wiped when dropped.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "redis/fleet_layout.hpp"
#include "redis/redis_link.hpp"
#include "tlsresume/clock.hpp"
#include "tlsresume/tiered_store.hpp"

namespace tlsresume::redis {

class RedisSessionTier final : public RemoteSessionTier {
 public:
  // Upper bounds of the lookup latency histogram, in seconds (the last bucket is +Inf).
  static constexpr std::array<double, 8> kLatencyBuckets{0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1};
  struct Stats {
    std::uint64_t hits = 0, misses = 0, timeouts = 0, errors = 0;
    std::uint64_t writes = 0, writes_dropped = 0, write_errors = 0;
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> latency{};  // per bucket (not cumulative)
    double latency_sum_seconds = 0;
  };

  RedisSessionTier(RedisCommands& link, FleetLayout layout, std::chrono::milliseconds lookup_timeout, const Clock& clock,
                   std::size_t max_writes = 10000);

  bool available() const noexcept override { return link_.up(); }
  bool fetch(std::string key, Done done) noexcept override;
  void store(std::string key, std::string value, TimePoint expiry) noexcept override;
  void erase(std::string key) noexcept override;
  Stats stats() const noexcept;

 private:
  void observe(std::chrono::steady_clock::duration latency) noexcept;

  RedisCommands& link_;
  const FleetLayout layout_;
  const std::chrono::milliseconds lookup_timeout_;
  const Clock& clock_;
  const std::size_t max_writes_;
  std::atomic<std::size_t> writes_in_flight_{0};
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, timeouts_{0}, errors_{0};
  std::atomic<std::uint64_t> writes_{0}, writes_dropped_{0}, write_errors_{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
};

}  // namespace tlsresume::redis
