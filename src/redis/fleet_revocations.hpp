#pragma once
// FleetRevocations: one revocation list for the fleet, in Redis ({P}:revocations, a hash:
// "id:HEX" -> until, "host:NAME" -> issued before, "before" -> issued before; Unix seconds)
// with a version counter every revocation bumps ({P}:revocations:version).
//
// publish*: a revocation made on this server (admin, ctl) is written with a script that
// only ever moves a time later and bumps the version; while Redis is unreachable it is
// kept and written when the link is back. poll() (every 250 ms, on the link's thread)
// reads the version and, when it moved, or after the link came back, or on the first
// poll, the whole list, and merges it into this server's RevocationList in one copy: every
// server refuses a revoked session within about a poll period. Expired id entries are
// deleted from Redis by whichever server sees them.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "redis/fleet_layout.hpp"
#include "redis/redis_link.hpp"
#include "tlsresume/clock.hpp"
#include "tlsresume/revocation_list.hpp"

namespace tlsresume::redis {

class FleetRevocations {
 public:
  FleetRevocations(RedisCommands& link, FleetLayout layout, RevocationList& list, const Clock& clock);

  void publishId(std::string_view resumption_id, TimePoint until);
  void publishHost(std::string_view host, TimePoint issued_before);
  void publishAllBefore(TimePoint issued_before);
  void poll();  // link thread
  // True once after entries from the fleet were merged: the caller then erases the
  // stored sessions they cover (TlsFrontend::forgetRevoked), off the link's thread.
  bool takeMerged() noexcept { return merged_.exchange(false); }
  std::uint64_t entriesMerged() const noexcept { return entries_merged_.load(std::memory_order_relaxed); }
  std::size_t pending() const;

 private:
  void publish(std::string field, TimePoint t);
  void flushPending();
  void load();
  void apply(Reply&& all);

  RedisCommands& link_;
  const FleetLayout layout_;
  RevocationList& list_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, TimePoint>> pending_;  // not yet in Redis
  // Written by the poll (the timer thread) and by replies (a node link's thread, on a
  // cluster): atomics.
  std::atomic<bool> polling_{false};
  std::atomic<bool> was_up_{false};
  std::atomic<long long> version_{-1};  // unknown: load everything
  std::atomic<bool> merged_{false};
  std::atomic<std::uint64_t> entries_merged_{0};
};

}  // namespace tlsresume::redis
