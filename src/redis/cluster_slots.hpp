#pragma once
// What a Redis Cluster client must compute on its own: which of the 16384 hash slots a key
// lives in, who owns each slot (from a CLUSTER SLOTS reply), and where a -MOVED or -ASK
// redirection points. Pure functions over values: no I/O, no locks. Everything read from the
// network is untrusted; a reply that does not have CLUSTER SLOTS's shape is nullopt, never a
// partial table.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_reply.hpp"

namespace tlsresume::redis {

inline constexpr std::size_t kClusterSlots = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial 0), Redis Cluster's key hash.
std::uint16_t crc16(std::string_view bytes) noexcept;

// The slot of `key`: CRC16 of its hash tag mod 16384. The tag is what lies between the first
// '{' and the first '}' after it, when that is non-empty; otherwise the whole key.
std::uint16_t keySlot(std::string_view key) noexcept;

// The key a command is routed by: args[1], or for EVAL/EVALSHA (and their _RO forms) the first
// KEYS entry (args[3] when numkeys >= 1). nullopt: the command names no key (PING, EVAL with
// numkeys 0): any master can run it.
std::optional<std::string_view> routingKey(std::span<const std::string> args) noexcept;

struct ClusterNode {
  // Empty: Redis did not say (a nil endpoint): the host of the node that answered.
  std::string host;
  std::uint16_t port = 0;
  std::string id;  // 40 hex characters in Redis 7; may be empty (older servers)
  bool operator==(const ClusterNode&) const = default;
};

struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;  // inclusive
  ClusterNode master;
  std::vector<ClusterNode> replicas;
};

// The slot table: each slot's master as an index into `masters`, or kNoOwner.
struct SlotTable {
  static constexpr std::uint16_t kNoOwner = 0xFFFF;
  std::vector<ClusterNode> masters;  // each distinct master once, in the order the reply named them
  std::array<std::uint16_t, kClusterSlots> owner;
  SlotTable() { owner.fill(kNoOwner); }
  std::size_t covered() const noexcept;  // slots with an owner
};

// The ranges of a CLUSTER SLOTS reply: [[start, end, [host, port, id?, {meta}?], replica...], ...]
// (Redis 7 adds a map of extra fields — hostname — as a 4th node element; it is skipped).
// A range whose master's endpoint is "?" (unknown to Redis) is left out: those slots have no
// reachable owner. nullopt: not that shape (slot out of range, start > end, overlapping ranges,
// a port outside 1..65535, a field of the wrong type).
std::optional<std::vector<SlotRange>> parseClusterSlots(const Reply& reply);

// The table for parsed ranges; a master with an empty host gets `answered_by`'s host.
SlotTable buildSlotTable(const std::vector<SlotRange>& ranges, std::string_view answered_by);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 redis-2:6381" (the '-' hiredis already removed is
// tolerated). The host is everything before the last ':' (an IPv6 literal has several); empty
// when Redis does not know the node's endpoint (then: the host of the node that answered).
struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  std::string host;
  std::uint16_t port = 0;
};
std::optional<Redirect> parseRedirect(std::string_view error);

}  // namespace tlsresume::redis
