#pragma once
// The fleet's link to a Redis Cluster: the same contract as RedisLink (RedisCommands), over one
// RedisLink per master. Keys are routed by their hash slot through a slot table read with
// CLUSTER SLOTS from any reachable node, refreshed every refresh_period and at once after a
// MOVED, a lost connection or a command to a slot without a live owner. Replicas are not read
// from. Each master link has its own I/O thread: fine for a handful of masters, not for
// hundreds. A control thread of the cluster runs every() timers, refreshes the table and
// creates and drops links as masters come and go.
//
// Redirections: -MOVED updates that slot's owner at once and resends the command there; -ASK
// sends ASKING and the command back to back to the named node, the table unchanged; at most
// max_redirects of either, then error. -TRYAGAIN and -CLUSTERDOWN come back as errors (the
// caller treats them as a miss). A command whose slot's master is down, or has no owner, fails
// at once: nothing waits behind a dead master. (A link to a node just named, not connected
// yet, holds its commands until that first connection, within their deadline.) The timeout given to command() covers every
// redirection.
//
// "Up" means: a slot table is known and at least one master's link is up. A cluster missing a
// master stays up; commands to that master's slots fail until a replica takes over.
// Secrets: the password (in `link`) goes only to each node's AUTH, never into an error.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/redis_commands.hpp"
#include "redis/redis_link.hpp"

namespace tlsresume::redis {

struct ClusterOptions {
  std::vector<Endpoint> seeds;  // asked for the slot table until a master answers (tcp or tls)
  // Template for every node's link (user, password, TLS, timeouts, backoff, max_pending); the
  // endpoint is the node's, tls when any seed is (rediss://), else tcp.
  LinkOptions link;
  std::chrono::milliseconds refresh_period{5000};
  int max_redirects = 3;
};

class RedisCluster final : public RedisCommands {
 public:
  // The observer is called on the cluster's control thread: onLinkUp when the cluster becomes
  // up (above), onLinkDown once per transition to down, with the reason. Must not block.
  // Throws std::runtime_error as RedisLink does (a TLS CA file that cannot be loaded, out of
  // descriptors); connects nowhere before start().
  explicit RedisCluster(ClusterOptions options, LinkObserver* observer = nullptr);
  ~RedisCluster() override;  // stops every link; pending callbacks run with Outcome::error
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  void start() override;  // starts the control thread and the seed links; never blocks
  void stop() noexcept override;

  // Thread-safe; `done` runs exactly once, on a node link's thread or the control thread.
  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) override;
  // Runs fn on the control thread every `period`, whichever nodes come and go.
  void every(std::chrono::milliseconds period, std::function<void()> fn) override;
  bool up() const noexcept override;
  std::string lastError() const override;  // why it is down, "" when up
  // fn(node) for every master of the current table; `node` stays valid for the cluster's
  // lifetime (a node that left answers every command with error).
  void forEachDataNode(const std::function<void(RedisCommands& node)>& fn) override;

  struct Stats {
    std::uint64_t commands = 0;   // command() calls
    std::uint64_t moved = 0;      // -MOVED replies followed
    std::uint64_t asked = 0;      // -ASK replies followed
    std::uint64_t refreshes = 0;  // slot tables applied
    std::uint64_t no_owner = 0;   // commands failed at once: no table yet, or a slot without owner
  };
  Stats stats() const noexcept;
  std::size_t masters() const;  // masters in the current table

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsresume::redis
