#pragma once
// TieredStore: a local SessionStore in front of a remote tier shared by a fleet (Redis).
//
// Writes go to both: the local tier at once, the remote one behind the handshake (the
// remote tier queues the write; a full queue drops it and counts). Reads are local only:
// a handshake never waits on the network inside an OpenSSL callback. What the local tier
// lacks is fetched by prefetch() before OpenSSL looks (the binding pauses the handshake,
// see SessionStore::prefetch), and a found record is put into the local tier with its own
// expiry. Erasures go to both; eraseIf (revocation) scans the local tier only: the fleet's
// revocation feed erases the remote entries itself.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "tlsresume/session_store.hpp"

namespace tlsresume {

// The contract of a remote tier. Every method is thread-safe, noexcept and returns at
// once; network work happens on the tier's own thread.
class RemoteSessionTier {
 public:
  enum class Lookup { hit, miss, timeout, error };
  using Done = std::function<void(Lookup, std::string&& value)>;
  virtual ~RemoteSessionTier() = default;
  // False while the tier is unreachable: lookups are not started then (a full handshake
  // costs less than waiting for a time-out on every ClientHello).
  virtual bool available() const noexcept = 0;
  // `done` runs exactly once, on any thread, within the tier's lookup time-out. False: not
  // started (out of memory, queue full); `done` is not called.
  virtual bool fetch(std::string key, Done done) noexcept = 0;
  virtual void store(std::string key, std::string value, TimePoint expiry) noexcept = 0;
  virtual void erase(std::string key) noexcept = 0;
};

class TieredStore final : public SessionStore {
 public:
  TieredStore(SessionStore& local, RemoteSessionTier& remote) : local_(local), remote_(remote) {}

  void put(std::string_view key, std::string_view value, TimePoint expiry) noexcept override;
  bool get(std::string_view key, std::string& out) noexcept override { return local_.get(key, out); }
  bool erase(std::string_view key) noexcept override;
  std::size_t eraseIf(const Match& match) noexcept override { return local_.eraseIf(match); }
  StoreStats stats() const noexcept override { return local_.stats(); }
  bool prefetch(std::string_view key, std::function<void()> done) noexcept override;

 private:
  SessionStore& local_;
  RemoteSessionTier& remote_;
};

}  // namespace tlsresume
