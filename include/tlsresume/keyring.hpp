#pragma once
// Keyring: the session-ticket keys of every virtual host, on a rotation schedule.
//
// A master key (16-byte name, AES-256 key, HMAC-SHA256 key: RFC 5077 §4) moves through
//   introduced (decrypts only) -> current (encrypts) -> retired (decrypts only) -> erased
// driven purely by its schedule times and the injected Clock (RFC 5077 §5.5 "keys should
// be changed regularly"; RFC 9325 §3.4; we rotate hourly by default).
//
// Per-host isolation is cryptographic: every master key is expanded with HKDF-SHA256 into
// one subkey set per virtual host (name, AES key, HMAC key). A ticket sealed for host A
// carries a key name host B does not know, so B cannot open it (RFC 6066 §3,
// RFC 8446 §4.6.1: a ticket resumes only in the security domain that issued it).
//
// Readers (the handshake path) take an immutable KeySnapshot through an atomically
// published shared_ptr: no mutex. Writers (tick, rotateNow) serialise on a mutex.
// Secret material lives in SecureBuffer and never leaves through describe() or metrics.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tlsresume/clock.hpp"
#include "tlsresume/secure_buffer.hpp"
#include "tlsresume/shared_cell.hpp"

namespace tlsresume {

inline constexpr std::size_t kKeyNameBytes = 16;
inline constexpr std::size_t kAesKeyBytes = 32;   // AES-256-CBC (RFC 5077 §4)
inline constexpr std::size_t kHmacKeyBytes = 32;  // HMAC-SHA256 (RFC 5077 §4)
// Layout of one key's material, master or per-host: aes || hmac || name. The master
// layout is also the HKDF input keying material, in this order.
inline constexpr std::size_t kAesKeyOffset = 0;
inline constexpr std::size_t kHmacKeyOffset = kAesKeyOffset + kAesKeyBytes;
inline constexpr std::size_t kKeyNameOffset = kHmacKeyOffset + kHmacKeyBytes;
inline constexpr std::size_t kKeyMaterialBytes = kKeyNameOffset + kKeyNameBytes;  // 80
// HKDF salt of every per-host derivation. A new ticket format gets a new label.
inline constexpr std::string_view kHostKeySalt = "tlsresume ticket v1";

enum class KeyState : std::uint8_t { introduced, current, retired };  // erased = gone
std::string_view toString(KeyState state) noexcept;

// Invariant of a usable schedule: current_from < current_until <= erase_at.
struct KeySchedule {
  TimePoint created_at{};
  TimePoint current_from{};   // starts encrypting
  TimePoint current_until{};  // stops encrypting
  TimePoint erase_at{};       // stops decrypting and is wiped (= current_until + window)
  bool valid() const noexcept { return current_from < current_until && current_until <= erase_at; }
  bool erasedAt(TimePoint t) const noexcept { return t >= erase_at; }
  KeyState stateAt(TimePoint t) const noexcept {  // meaningful while !erasedAt(t)
    return t < current_from ? KeyState::introduced : t < current_until ? KeyState::current : KeyState::retired;
  }
};

// A master key as a KeySource hands it over: material plus the times it was given.
struct MasterKey {
  SecureBuffer material;  // kKeyMaterialBytes: aes || hmac || name
  KeySchedule schedule;
  // The key is the fleet's (every node has it), not this process's own. Once a shared key
  // encrypts, a node's own keys stop encrypting (they still decrypt what they sealed) and
  // its own introduced keys are dropped: a node that ran alone while the fleet was
  // unreachable joins the fleet's keys. A shared key handed over again with an earlier
  // current_until (a forced rotation elsewhere) is shortened to it; never lengthened.
  bool shared = false;
};

// What the Keyring wants: a key that encrypts from schedule.current_from.
struct KeyRequest {
  TimePoint now{};
  KeySchedule schedule;  // the times a locally generated key should get
  bool forced = false;   // operator-requested rotation: must encrypt from `now`
  // False when the keyring only asks what the source has (Keyring::sync): a source that
  // makes keys itself returns none then.
  bool wants_key = true;
};

// KeySource: where master keys come from. The Keyring calls fetch() (under its writer
// lock, never on the handshake path) when it needs the next key, and on rotateNow().
// Contract
// - Returns the keys the keyring should know, each with its own schedule. A local source
//   returns one fresh key with the requested times; a fleet source may return keys another
//   node generated, with that node's times (they win), and may return keys the keyring
//   already has (ignored by name). Empty = not available now: the keyring retries on a
//   later tick and keeps using what it has. May throw; treated as empty.
// - Material must come from a CSPRNG (RFC 5077 §5.5), differ per process unless
//   deliberately shared, never be derived from a certificate key, and never be all zero.
// - The source must not keep copies longer than it needs them (they are secrets).
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual std::vector<MasterKey> fetch(const KeyRequest& request) = 0;
};

// Generates keys in-process with RAND_priv_bytes, regenerating any key with an all-zero
// part (GnuTLS CVE-2020-13777 shipped all-zero keys before the first rotation).
class LocalKeySource final : public KeySource {
 public:
  using RandomFn = std::function<bool(unsigned char* out, std::size_t len)>;
  LocalKeySource();                          // RAND_priv_bytes
  explicit LocalKeySource(RandomFn random);  // seam for tests
  std::vector<MasterKey> fetch(const KeyRequest& request) override;

 private:
  RandomFn random_;
};

// HKDF-SHA256 (RFC 5869) of one host's subkeys: ikm = master material (aes||hmac||name),
// salt = kHostKeySalt, info = purpose || 0x00 || host_id with purpose "aes key",
// "hmac key" or "key name". Writes kKeyMaterialBytes (aes||hmac||name) to out; false on
// failure (out wiped). Exposed for tests, benchmarks and fleet tooling.
bool deriveHostKey(const unsigned char* master, std::string_view host_id, unsigned char* out) noexcept;
// Public id of a master key: first 8 hex chars of SHA-256(master name). Never material.
std::string masterKeyId(const unsigned char* master_name16);

// What a ticket key handle tells the binding. Key bytes point into the snapshot's locked
// memory and stay valid as long as the snapshot is held.
struct SealingKey {
  std::array<unsigned char, kKeyNameBytes> name{};  // host key name; public (in every ticket)
  const unsigned char* aes_key = nullptr;           // kAesKeyBytes
  const unsigned char* hmac_key = nullptr;          // kHmacKeyBytes
  KeyState state = KeyState::introduced;            // at the snapshot's publication time
  std::size_t host = 0;
  std::string id;                                  // public id of the MASTER key: 8 hex chars of SHA-256(master name)
  std::atomic<std::uint64_t>* decrypts = nullptr;  // per master key and host; binding bumps it
};

namespace detail {
struct KeyMaterial;  // defined in keyring.cpp

}  // namespace detail

// Immutable once published; safe to read from any number of threads.
class KeySnapshot {
 public:
  // The key that encrypts new tickets for `host`; nullptr if none (then issue no ticket).
  const SealingKey* current(std::size_t host) const noexcept;
  // A key of `host` (introduced, current or retired) whose name is name16; else nullptr.
  const SealingKey* find(std::size_t host, const unsigned char* name16) const noexcept;
  // Which host's key carries this name (to count tickets presented to the wrong host).
  std::optional<std::size_t> hostOwning(const unsigned char* name16) const noexcept;
  // Every key of `host`, oldest current_from first (empty for an unknown host).
  std::span<const SealingKey> keys(std::size_t host) const noexcept;
  std::size_t hostCount() const noexcept { return hosts_; }
  std::size_t keyCount() const noexcept { return keys_; }  // master keys
  TimePoint publishedAt() const noexcept { return published_at_; }

 private:
  friend class Keyring;
  KeySnapshot() = default;
  std::size_t hosts_ = 0;
  std::size_t keys_ = 0;
  TimePoint published_at_{};
  std::vector<SealingKey> sealing_;                                    // index host * keys_ + k, k oldest first
  std::vector<const SealingKey*> current_;                             // per host
  std::vector<std::shared_ptr<const detail::KeyMaterial>> materials_;  // keeps bytes alive
};

struct KeyInfo {  // admin /keys view: never material
  std::string id;
  KeyState state = KeyState::introduced;
  TimePoint created_at, current_from, current_until, erase_at;
  std::uint64_t decrypts = 0;  // summed over hosts
  bool shared = false;         // the fleet's key, not this node's own
};

struct KeyCounts {
  std::size_t introduced = 0;
  std::size_t current = 0;
  std::size_t retired = 0;
};

struct KeyringOptions {
  std::chrono::seconds rotation_period{3600};  // how long a key encrypts
  // How long a key still decrypts after it stopped encrypting. Must be >= the longest
  // ticket lifetime issued, so no ticket outlives its key (the lead passes the lifetime).
  std::chrono::seconds decrypt_window{3600};
  // A new key is known (decrypt-only) this long before it encrypts, so every node of a
  // fleet can open its tickets before any node issues them. Must be < rotation_period.
  std::chrono::seconds introduce_ahead{60};
};

class Keyring {
 public:
  // host_ids: virtual-host identities; a host's index here is its index everywhere else.
  // They are HKDF input: every node of a fleet must use the same strings. Throws
  // std::invalid_argument on bad options, duplicate host ids or a null source.
  // Runs a first tick(): if the source delivers, a key is current at once.
  Keyring(KeyringOptions options, std::vector<std::string> host_ids, const Clock& clock,
          std::unique_ptr<KeySource> source);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  std::shared_ptr<const KeySnapshot> snapshot() const noexcept { return snapshot_.load(); }

  // Call about once a second. Lock-free no-op until the next scheduled event (a state
  // change, an erasure, or the moment the next key must be introduced) or until the clock
  // steps back. Returns true if a new snapshot was published. Throws only std::bad_alloc.
  bool tick();
  // Forced rotation: a fresh key encrypts from now; the current key retires now and
  // decrypts until now + decrypt_window; introduced keys are dropped (they sealed nothing
  // here). Returns false, changing nothing, if the source did not deliver. A fleet source may give
  // the fresh key a start a moment ahead (so every node knows it before any encrypts with
  // it): the current key then encrypts until that start, and no introduced key is dropped
  // (the fleet scheduled them).
  bool rotateNow();
  // Asks the source for its keys now, outside the schedule (a fleet source calls for it
  // when it learnt new keys or changed schedules). Returns true if a snapshot was published.
  bool sync();

  std::vector<KeyInfo> describe() const;  // oldest first
  KeyCounts counts() const;
  std::uint64_t rotations() const noexcept { return rotations_.load(std::memory_order_relaxed); }
  // Times the source failed to deliver a needed key (retried on the next tick).
  std::uint64_t sourceFailures() const noexcept { return source_failures_.load(std::memory_order_relaxed); }
  // Keys refused: all-zero parts (GnuTLS CVE-2020-13777), inconsistent times, wrong size.
  std::uint64_t rejectedKeys() const noexcept { return rejected_keys_.load(std::memory_order_relaxed); }
  const std::vector<std::string>& hostIds() const noexcept { return host_ids_; }

 private:
  struct Slot;
  bool refreshLocked(TimePoint now);
  std::size_t adoptLocked(const KeyRequest& request, std::vector<std::uint64_t>* added);
  void preferSharedLocked(TimePoint now);
  bool publishIfChangedLocked(TimePoint now);
  void scheduleNextEventLocked(TimePoint now, bool retry_now);
  void eraseExpiredLocked(TimePoint now);

  const KeyringOptions options_;
  const std::vector<std::string> host_ids_;
  const Clock& clock_;
  std::unique_ptr<KeySource> source_;

  mutable std::mutex mutex_;                                   // guards everything below except the atomics
  std::vector<Slot> slots_;                                    // sorted by current_from
  std::vector<std::pair<std::uint64_t, KeyState>> published_;  // serial, state
  std::uint64_t last_current_serial_ = 0;
  std::uint64_t next_serial_ = 1;

  detail::SharedCell<const KeySnapshot> snapshot_;
  std::atomic<WallClock::rep> next_event_{0};    // earliest time anything can change
  std::atomic<WallClock::rep> last_refresh_{0};  // to notice a clock stepped back
  std::atomic<std::uint64_t> rotations_{0};
  std::atomic<std::uint64_t> source_failures_{0};
  std::atomic<std::uint64_t> rejected_keys_{0};
};

}  // namespace tlsresume
