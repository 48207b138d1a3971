#pragma once
// SessionStore: where stateful resumption state lives (TLS 1.2 session ids and TLS 1.3
// stateful tickets). Keys and values are opaque bytes to the store.
//
// Contract
// - put(key, value, expiry): stores a copy; replaces an existing entry with the same key.
//   A store may refuse or evict to stay within its budget: put never fails loudly.
// - get(key, out): true and `out` holds a copy of the value if the entry exists and has not
//   expired at the store's clock; false otherwise (miss). An expired entry is dropped.
// - erase(key): true if an entry was removed.
// - eraseIf(match): removes every entry for which match(key, value) is true; returns how
//   many. A full scan, for revocation (rare, from the admin endpoint): the entries a
//   revocation refuses are also forgotten now, not when next offered or when they expire.
//   `match` must not call into the store.
// - prefetch(key, done): for a store with a remote tier (fleet mode), whose answers take
//   a network round trip. False: there is nothing to wait for (the key is in the local
//   tier, there is no remote tier, or it is unreachable now): go on with get(). True: a
//   remote lookup started, and `done` runs exactly once when it has ended, after a found
//   entry was put into the local tier (so get() finds it) or without one (miss, time-out,
//   error). `done` may run on another thread, or before prefetch returns.
// - All methods are thread-safe and noexcept: a failing store (e.g. a remote one that is
//   down) answers "miss", which costs a full handshake and nothing else.
// - Values hold serialized sessions, i.e. master secrets: a store never logs them and
//   wipes them when it drops them.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tlsresume/clock.hpp"

namespace tlsresume {

struct StoreStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;  // dropped to stay within the byte budget
  std::uint64_t expired = 0;    // dropped because their expiry had passed
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // everything the entries cost: keys, values, overhead
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual void put(std::string_view key, std::string_view value, TimePoint expiry) noexcept = 0;
  virtual bool get(std::string_view key, std::string& out) noexcept = 0;
  virtual bool erase(std::string_view key) noexcept = 0;
  using Match = std::function<bool(std::string_view key, std::string_view value)>;
  virtual std::size_t eraseIf(const Match& match) noexcept = 0;
  virtual StoreStats stats() const noexcept = 0;
  virtual bool prefetch(std::string_view /*key*/, std::function<void()> /*done*/) noexcept { return false; }
};

// Remembers nothing: every lookup misses. The store of a host with resumption off.
class NullStore final : public SessionStore {
 public:
  void put(std::string_view, std::string_view, TimePoint) noexcept override {}
  bool get(std::string_view, std::string&) noexcept override { return false; }
  bool erase(std::string_view) noexcept override { return false; }
  std::size_t eraseIf(const Match&) noexcept override { return 0; }
  StoreStats stats() const noexcept override { return {}; }
};

}  // namespace tlsresume
