#pragma once
// FleetSessionEraser: after a revocation by host or by time, the stored sessions it covers
// are deleted from the fleet's Redis too, in the background, so their master secrets leave
// Redis now rather than when their TTL ends. (Every server already refuses them at resume:
// this is about the secrets at rest.)
//
// One pass per data node (every master of a cluster) walks the session keys with SCAN (MATCH <prefix>:s:*, 1000 a step), reads each
// record's first 10 bytes with GETRANGE (version, kind and start: never the secret part),
// and deletes the records a rule covers: start <= before, and for a host rule the key's
// host prefix (8 bytes of the host's session-id context) matching. Rules that arrive
// during a pass get a pass of their own. Runs on the link's thread, pipelined, never on a
// handshake's path; a pass that meets a link failure stops and is not retried (the TTLs
// end those records anyway).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis/fleet_layout.hpp"
#include "redis/redis_link.hpp"
#include "tlsresume/clock.hpp"

namespace tlsresume::redis {

class FleetSessionEraser {
 public:
  struct Rule {
    std::string host_prefix;  // empty: every host
    TimePoint before{};       // records whose start is at or before this
  };
  FleetSessionEraser(RedisCommands& link, FleetLayout layout);
  void erase(Rule rule);  // thread-safe
  std::uint64_t erased() const noexcept { return erased_.load(std::memory_order_relaxed); }
  bool running() const;

 private:
  struct Pass;
  std::vector<std::shared_ptr<Pass>> startPassesLocked();
  void scan(std::shared_ptr<Pass> pass);
  void judge(std::shared_ptr<Pass> pass, std::vector<std::string> keys);
  void finish(std::shared_ptr<Pass> pass);

  RedisCommands& link_;
  const FleetLayout layout_;
  mutable std::mutex mutex_;
  std::vector<Rule> waiting_;
  std::size_t running_ = 0;  // passes under way
  std::atomic<std::uint64_t> erased_{0};
};

}  // namespace tlsresume::redis
