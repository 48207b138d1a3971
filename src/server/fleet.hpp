#pragma once
// Fleet mode ([fleet] in the config): this server's membership of a fleet that shares, on
// one Redis, its stored sessions (a remote tier behind the local store), its ticket keys
// (a KeySource for the Keyring) and its revocation list. Owns the Redis link and the
// periodic work on the link's thread: key poll and lease (1 s), revocation poll (250 ms),
// heartbeat (1 s). What must not run on that thread (a keyring sync, erasing revoked
// sessions from the local store) is handed to the main loop through tick().
//
// Redis is never on a handshake's critical path: a lookup is bounded by lookup_timeout
// and skipped while the link is down; writes go behind; keys and revocations are cached.
// The link logs one line when it goes down and one when it is back.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis/fleet_eraser.hpp"
#include "redis/fleet_keys.hpp"
#include "redis/fleet_revocations.hpp"
#include "redis/fleet_sessions.hpp"
#include "redis/redis_link.hpp"
#include "server/config.hpp"
#include "tlsresume/fleet_key_record.hpp"
#include "tlsresume/keyring.hpp"

namespace tlsresume::tls {
class TlsFrontend;
}

namespace tlsresume::server {

class Fleet final : public redis::LinkObserver {
 public:
  // Reads password_file and key_wrap_file; throws ConfigError naming the setting.
  Fleet(const FleetConfig& config, KeyringOptions keyring, const Clock& clock);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // The key source for the Keyring (the Keyring owns it; the fleet keeps using it).
  std::unique_ptr<KeySource> keySource();
  RemoteSessionTier& sessions() noexcept { return *sessions_; }
  // Starts the link and the periodic work; the revocation list is shared from now on.
  void start(RevocationList& revocations);
  void stop() noexcept;
  // Main loop, about once a second: adopts new fleet keys, erases what the fleet revoked.
  void tick(Keyring& keyring, tls::TlsFrontend& tls);

  // A revocation made here, for every server.
  void revokedId(std::string_view resumption_id, TimePoint until);
  // `host_prefix`: the host's prefix in store keys (TlsFrontend::storeKeyHostPrefix), so
  // the fleet's stored sessions of that host are erased from Redis too.
  void revokedHost(std::string_view host, std::string_view host_prefix, TimePoint issued_before);
  void revokedAllBefore(TimePoint issued_before);

  std::string json(const Keyring& keyring) const;  // GET /fleet: never key material
  std::string text(const Keyring& keyring) const;  // the same as aligned tables
  void appendMetrics(std::string& out) const;
  const std::string& node() const noexcept { return node_; }

 private:
  void onLinkUp() noexcept override;
  void onLinkDown(std::string_view reason) noexcept override;
  void heartbeat();
  struct KeyRow {
    std::string id, origin, state, creator;
    TimePoint current_from, current_until, erase_at;
  };
  std::vector<KeyRow> keyRows(const Keyring& keyring) const;

  const FleetConfig config_;
  const KeyringOptions keyring_options_;
  const Clock& clock_;
  std::string node_;
  redis::FleetLayout layout_;
  std::unique_ptr<KeyWrap> wrap_;
  std::unique_ptr<redis::RedisCommands> link_;  // one Redis, or a Redis Cluster
  std::unique_ptr<redis::RedisSessionTier> sessions_;
  redis::FleetKeySource* keys_ = nullptr;  // owned by the Keyring
  std::unique_ptr<redis::FleetKeySource> keys_owner_;
  std::unique_ptr<redis::FleetRevocations> revocations_;
  std::unique_ptr<redis::FleetSessionEraser> eraser_;
  std::atomic<bool> up_{false};
  std::atomic<std::uint64_t> downs_{0};
  mutable std::mutex nodes_mutex_;
  std::vector<std::pair<std::string, long long>> nodes_;  // name, last heartbeat (Unix ms)
  std::atomic<bool> heartbeating_{false};  // set by the timer thread, cleared by a reply
};

}  // namespace tlsresume::server
