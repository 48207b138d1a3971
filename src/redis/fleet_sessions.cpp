#include "redis/fleet_sessions.hpp"

#include <openssl/crypto.h>

namespace tlsresume::redis {

RedisSessionTier::RedisSessionTier(RedisCommands& link, FleetLayout layout, std::chrono::milliseconds lookup_timeout,
                                   const Clock& clock, std::size_t max_writes)
    : link_(link), layout_(std::move(layout)), lookup_timeout_(lookup_timeout), clock_(clock), max_writes_(max_writes) {}

void RedisSessionTier::observe(std::chrono::steady_clock::duration latency) noexcept {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  latency_[i].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()),
                            std::memory_order_relaxed);
}

bool RedisSessionTier::fetch(std::string key, Done done) noexcept {
  try {
    const auto started = std::chrono::steady_clock::now();
    link_.command({"GET", layout_.session(key)}, lookup_timeout_,
                  [this, started, done = std::move(done)](Outcome outcome, Reply&& reply) {
                    observe(std::chrono::steady_clock::now() - started);
                    Lookup result = Lookup::error;
                    if (outcome == Outcome::ok && reply.type == Reply::Type::string)
                      result = Lookup::hit;
                    else if (outcome == Outcome::ok && reply.type == Reply::Type::nil)
                      result = Lookup::miss;
                    else if (outcome == Outcome::timeout)
                      result = Lookup::timeout;
                    (result == Lookup::hit       ? hits_
                     : result == Lookup::miss    ? misses_
                     : result == Lookup::timeout ? timeouts_
                                                 : errors_)
                        .fetch_add(1, std::memory_order_relaxed);
                    std::string value = result == Lookup::hit ? std::move(reply.str) : std::string();
                    OPENSSL_cleanse(reply.str.data(), reply.str.size());
                    done(result, std::move(value));
                    OPENSSL_cleanse(value.data(), value.size());
                  });
    return true;
  } catch (...) {
    return false;  // out of memory before the command was queued: `done` was not taken
  }
}

void RedisSessionTier::store(std::string key, std::string value, TimePoint expiry) noexcept {
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(expiry - clock_.now());
  if (remaining.count() <= 0) {
    OPENSSL_cleanse(value.data(), value.size());
    return;
  }
  if (!link_.up() || writes_in_flight_.fetch_add(1, std::memory_order_relaxed) >= max_writes_) {
    if (link_.up()) writes_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    writes_dropped_.fetch_add(1, std::memory_order_relaxed);
    OPENSSL_cleanse(value.data(), value.size());
    return;
  }
  try {
    std::vector<std::string> args{"SET", layout_.session(key), std::move(value), "PX", std::to_string(remaining.count())};
    OPENSSL_cleanse(value.data(), value.size());  // moved-from; wiped in case the move copied
    // Written behind the handshake: the deadline only bounds how long the slot is held.
    link_.command(std::move(args), std::chrono::milliseconds{1000}, [this](Outcome outcome, Reply&&) {
      writes_in_flight_.fetch_sub(1, std::memory_order_relaxed);
      (outcome == Outcome::ok ? writes_ : write_errors_).fetch_add(1, std::memory_order_relaxed);
    });
  } catch (...) {
    writes_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    writes_dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void RedisSessionTier::erase(std::string key) noexcept {
  if (!link_.up()) return;
  try {
    link_.command({"DEL", layout_.session(key)}, std::chrono::milliseconds{1000}, [](Outcome, Reply&&) {});
  } catch (...) {
  }
}

RedisSessionTier::Stats RedisSessionTier::stats() const noexcept {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.writes = writes_.load(std::memory_order_relaxed);
  s.writes_dropped = writes_dropped_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < s.latency.size(); ++i) s.latency[i] = latency_[i].load(std::memory_order_relaxed);
  s.latency_sum_seconds = static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

}  // namespace tlsresume::redis
