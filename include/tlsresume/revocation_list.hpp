#pragma once
// RevocationList: lets the server forget sessions and tickets it issued. Checked on every
// resumption (session id, stateful ticket or stateless ticket); a revoked session costs
// the client a full handshake, never an error.
//
// Three kinds of entry:
// - one resumption id (a session id, or the random id carried in a ticket's app data);
// - a whole virtual host: everything of that host issued before the revocation time;
// - everything issued before a time T.
// Entries expire: an id entry once the longest lifetime has passed (the session it names
// can no longer resume anyway), a time entry never needs more than one per host.
//
// Thread-safe. Readers (the handshake path) take an immutable snapshot: no lock.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tlsresume/clock.hpp"
#include "tlsresume/shared_cell.hpp"

namespace tlsresume {

struct RevocationEntryView {
  std::string kind;     // "id" | "host" | "before"
  std::string subject;  // hex id, host name, or empty
  TimePoint time;       // for "host"/"before": issued-before; for "id": when it expires
};

class RevocationList {
 public:
  explicit RevocationList(const Clock& clock, std::size_t max_ids = kMaxIds);

  // Id entries held at most by default. Each revocation copies the list for lock-free
  // readers, and an operator forgetting more sessions than this one by one wants
  // revokeHost or revokeAllBefore instead.
  static constexpr std::size_t kMaxIds = 10000;
  std::size_t maxIds() const noexcept { return max_ids_; }

  // `until`: when the entry may be dropped (the longest time the session could live).
  // False, and nothing changed, when maxIds() live entries are held and `resumption_id` is
  // not one of them.
  bool revokeId(std::string_view resumption_id, TimePoint until);
  void revokeHost(std::string_view host, TimePoint issued_before);
  void revokeAllBefore(TimePoint issued_before);

  // Several entries at once, as a fleet's shared list delivers them: one copy of the list
  // for all of them (revokeId and friends copy it once each). The same rules as one by
  // one: times only move later, expired ids are dropped, ids beyond maxIds() are left out.
  // Returns how many entries were new or moved.
  struct Batch {
    std::vector<std::pair<std::string, TimePoint>> ids;    // resumption id (bytes) -> until
    std::vector<std::pair<std::string, TimePoint>> hosts;  // host -> issued before
    TimePoint all_before{};
  };
  std::size_t merge(const Batch& batch);

  bool isRevoked(std::string_view host, std::string_view resumption_id, TimePoint issued_at) const noexcept;

  // Drops id entries whose `until` has passed. Cheap; call from a timer.
  void expire();
  std::vector<RevocationEntryView> entries() const;
  std::size_t size() const noexcept;

 private:
  // Transparent hashing: the handshake path looks up string_views without allocating.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, TimePoint, Hash, std::equal_to<>>;
  struct Snapshot {
    Map ids;                 // id -> until
    Map hosts;               // host -> issued before
    TimePoint all_before{};  // epoch = nothing
  };
  void publish(std::shared_ptr<const Snapshot> next);

  const Clock& clock_;
  const std::size_t max_ids_;
  std::mutex writer_;  // serialises writers; readers never take it
  detail::SharedCell<const Snapshot> current_;
};

}  // namespace tlsresume
