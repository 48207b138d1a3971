#pragma once
// RedisCommands: what the fleet needs of Redis, whether one server (RedisLink) or a Redis
// Cluster (RedisCluster): keyed commands with a deadline each, periodic work on the I/O
// thread, and whether the link is up. The fleet's parts (sessions, keys, revocations,
// erasure) are written against this and do not know which one they talk to.
//
// Contract (as RedisLink's): command() is thread-safe and never blocks; `done` runs exactly
// once, on an I/O thread of the implementation, with the reply, a time-out, or an error
// (at once when the destination is down). Commands to one key are answered in order.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "redis/redis_reply.hpp"

namespace tlsresume::redis {

class RedisCommands {
 public:
  using Callback = std::function<void(Outcome, Reply&&)>;
  virtual ~RedisCommands() = default;
  virtual void start() = 0;
  virtual void stop() noexcept = 0;
  // The key a command is routed by is args[1], or for EVAL/EVALSHA the first KEYS entry; a
  // cluster routes a command without one (PING) to any node.
  virtual void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) = 0;
  virtual void every(std::chrono::milliseconds period, std::function<void()> fn) = 0;
  virtual bool up() const noexcept = 0;
  virtual std::string lastError() const = 0;
  // Runs `fn` for each node that holds data (one Redis; every master of a cluster), for
  // the commands that act on one node's keyspace (SCAN). Keyed commands issued through
  // `node` go to that node only.
  virtual void forEachDataNode(const std::function<void(RedisCommands& node)>& fn) = 0;
};

}  // namespace tlsresume::redis
