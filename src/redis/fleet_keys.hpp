#pragma once
// FleetKeySource: the ticket master keys of a fleet, held in Redis ({P}:keys) and handed to
// every server's Keyring (a KeySource), so a ticket sealed by any server opens on all.
//
// One node at a time holds the lease ({P}:lease, a few seconds, renewed every poll) and
// makes the fleet's keys: the first one to start `lead` ahead of now, then each successor
// two introduce_ahead periods before the last key stops encrypting, to start where it
// stops. Every node reads the whole set every poll (a handful of records) and adopts what
// is new, so each key is known everywhere (decrypt-only) for about introduce_ahead before
// any node encrypts with it, whatever clocks differ by within that margin. Records are
// wrapped with the operator's key when key_wrap_file is set. Keys leave Redis when they
// leave their decrypt window: the lease holder deletes erased records, and the hash
// expires with the last key in it if no node is left to do so.
//
// Without Redis (not reachable yet, or lost for longer than the cached keys last) a node
// makes its own keys, as without a fleet; the Keyring hands encryption back to the fleet's
// keys as soon as it learns them (MasterKey::shared).
//
// Threads: poll() runs on the link's thread; fetch() on the keyring's caller (the main
// loop, or an admin thread for a forced rotation, which waits up to a second for Redis);
// view() anywhere.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis/fleet_layout.hpp"
#include "redis/redis_link.hpp"
#include "tlsresume/fleet_key_record.hpp"
#include "tlsresume/keyring.hpp"

namespace tlsresume::redis {

struct FleetKeyOptions {
  FleetLayout layout;
  std::string node;          // this server's node name (lease holder, key creator)
  KeyringOptions keyring;    // rotation period, decrypt window, introduce_ahead: as the Keyring's
  std::chrono::seconds lead{3};              // a fresh key is known this long before it encrypts
  std::chrono::milliseconds lease{5000};     // lease lifetime (renewed every poll)
  std::chrono::seconds stale_after{10};      // no successful read this long: the cache is not trusted for new keys
  const KeyWrap* wrap = nullptr;             // key_wrap_file, or none
};

class FleetKeySource final : public KeySource {
 public:
  struct KeyView {  // never material
    std::string id;
    KeySchedule schedule;
    std::string creator;
  };
  struct Stats {
    std::uint64_t created = 0;           // keys this node made for the fleet
    std::uint64_t rejected_records = 0;  // records that did not decode (or open with the wrap key)
    std::uint64_t local_fallbacks = 0;   // own keys made because the fleet had none to give
  };

  FleetKeySource(RedisCommands& link, FleetKeyOptions options, const Clock& clock);
  ~FleetKeySource() override;

  std::vector<MasterKey> fetch(const KeyRequest& request) override;
  // Link thread, every poll period: renews or takes the lease, reads every key, makes the
  // next one when this node holds the lease.
  void poll();
  // True once after the fleet's keys changed (new keys, a shortened schedule): the caller
  // then calls Keyring::sync().
  bool takeChanged() noexcept { return changed_.exchange(false); }

  std::string leaseHolder() const;
  bool synced() const noexcept;  // read the fleet's keys within stale_after
  std::vector<KeyView> view() const;
  Stats stats() const noexcept;

 private:
  struct Cached;
  void onKeys(Reply&& reply);
  void makeKeysIfLeader();
  void put(std::vector<std::string> args);
  std::vector<MasterKey> copyLocked() const;

  RedisCommands& link_;
  const FleetKeyOptions options_;
  const Clock& clock_;
  LocalKeySource local_;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Cached>> keys_;  // sorted by current_from
  std::string lease_holder_;
  std::atomic<WallClock::rep> last_read_{0};  // when the keys were last read (0: never)
  // A poll's commands are in flight. Set by the poll (the timer thread), cleared by the
  // last reply (a node link's thread, on a cluster).
  std::atomic<bool> polling_{false};
  std::atomic<bool> changed_{false};
  std::atomic<std::uint64_t> created_{0}, rejected_{0}, local_fallbacks_{0};
};

}  // namespace tlsresume::redis
