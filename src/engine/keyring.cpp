#include "tlsresume/keyring.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "tlsresume/crypto.hpp"

namespace tlsresume {

namespace detail {
// One master key and every per-host subkey derived from it, packed into a single
// SecureBuffer: [master][host 0][host 1]... (80 bytes each, so one locked page holds a key
// for up to 50 hosts). Immutable after construction; shared by every snapshot that lists
// the key, so its bytes are wiped when the keyring has dropped it AND the last snapshot
// holding it is released (a handshake holds a snapshot for microseconds).
struct KeyMaterial {
  SecureBuffer buffer;
  std::uint64_t serial = 0;  // unique per keyring, never reused (unlike addresses)
  std::string id;
  std::unique_ptr<std::atomic<std::uint64_t>[]> decrypts;  // one per host
  const unsigned char* master() const noexcept { return buffer.data(); }
  const unsigned char* host(std::size_t h) const noexcept { return buffer.data() + (h + 1) * kKeyMaterialBytes; }
};
}  // namespace detail

struct Keyring::Slot {
  std::shared_ptr<detail::KeyMaterial> material;
  KeySchedule schedule;  // mutable (rotateNow retires early); snapshots copy the state
  bool shared = false;   // MasterKey::shared
};

namespace {

using std::chrono::days;

constexpr int kMaxRandomAttempts = 8;
constexpr int kMaxFetchesPerTick = 8;

bool allZero(const unsigned char* p, std::size_t n) noexcept {
  unsigned char acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

// GnuTLS CVE-2020-13777: an all-zero ticket key let anyone open tickets. Any all-zero part
// means a broken generator (chance 2^-128), never luck.
bool anyPartZero(const unsigned char* m) noexcept {
  return allZero(m + kAesKeyOffset, kAesKeyBytes) || allZero(m + kHmacKeyOffset, kHmacKeyBytes) ||
         allZero(m + kKeyNameOffset, kKeyNameBytes);
}

KeyringOptions validated(KeyringOptions o) {
  // RFC 9325 §3.4: ticket keys are rotated at least weekly.
  if (o.rotation_period <= std::chrono::seconds::zero() || o.rotation_period > days{7})
    throw std::invalid_argument("keyring: rotation_period must be in (0, 7 days]");
  // A window longer than a month only widens what a stolen key opens; it also keeps every
  // schedule time far from TimePoint overflow.
  if (o.decrypt_window < std::chrono::seconds::zero() || o.decrypt_window > days{30})
    throw std::invalid_argument("keyring: decrypt_window must be in [0, 30 days]");
  if (o.introduce_ahead < std::chrono::seconds::zero() || o.introduce_ahead >= o.rotation_period)
    throw std::invalid_argument("keyring: introduce_ahead must be in [0, rotation_period)");
  return o;
}

std::vector<std::string> validatedHosts(std::vector<std::string> hosts) {
  // Equal ids would derive equal subkeys and break per-host isolation.
  std::unordered_set<std::string> seen;
  for (const auto& h : hosts)
    if (!seen.insert(h).second) throw std::invalid_argument("keyring: duplicate host id '" + h + "'");
  return hosts;
}

}  // namespace

std::string_view toString(KeyState state) noexcept {
  switch (state) {
    case KeyState::introduced:
      return "introduced";
    case KeyState::current:
      return "current";
    case KeyState::retired:
      return "retired";
  }
  return "unknown";
}

// ---- LocalKeySource -------------------------------------------------------------------

LocalKeySource::LocalKeySource()
    : LocalKeySource([](unsigned char* out, std::size_t len) {
        return crypto::secretRandom(out, len);
      }) {}

LocalKeySource::LocalKeySource(RandomFn random) : random_(std::move(random)) {
  if (!random_) throw std::invalid_argument("LocalKeySource: null random function");
}

std::vector<MasterKey> LocalKeySource::fetch(const KeyRequest& request) {
  if (!request.wants_key) return {};
  MasterKey key{SecureBuffer(kKeyMaterialBytes), request.schedule};
  key.schedule.created_at = request.now;
  // RFC 5077 §5.5: keys from a CSPRNG (RAND_priv_bytes: the private DRBG, separate from
  // the one that produces public randoms). Regenerate on an all-zero part.
  for (int attempt = 0; attempt < kMaxRandomAttempts; ++attempt) {
    if (!random_(key.material.data(), kKeyMaterialBytes)) continue;
    if (anyPartZero(key.material.data())) continue;
    std::vector<MasterKey> out;
    out.push_back(std::move(key));
    return out;
  }
  return {};  // key (and whatever it held) is wiped here; the keyring retries later
}

// ---- derivation -----------------------------------------------------------------------

bool deriveHostKey(const unsigned char* master, std::string_view host_id, unsigned char* out) noexcept {
  struct Part {
    std::string_view purpose;
    std::size_t offset;
    std::size_t len;
  };
  static constexpr Part kParts[] = {{"aes key", kAesKeyOffset, kAesKeyBytes},
                                    {"hmac key", kHmacKeyOffset, kHmacKeyBytes},
                                    {"key name", kKeyNameOffset, kKeyNameBytes}};
  if (master == nullptr || out == nullptr) return false;
  try {
    // RFC 5869 §3.2: info binds each output to its use. purpose || 0x00 || host id is
    // unambiguous because no purpose contains 0x00.
    std::string info;
    for (const Part& part : kParts) {
      info.assign(part.purpose);
      info.push_back('\0');
      info.append(host_id);
      if (!crypto::hkdfSha256(master, kKeyMaterialBytes, kHostKeySalt, info, out + part.offset, part.len)) {
        OPENSSL_cleanse(out, kKeyMaterialBytes);
        return false;
      }
    }
  } catch (...) {
    OPENSSL_cleanse(out, kKeyMaterialBytes);
    return false;
  }
  return true;
}

std::string masterKeyId(const unsigned char* master_name16) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(master_name16, kKeyNameBytes, digest);
  std::string id;
  for (int i = 0; i < 4; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 15]);
  }
  OPENSSL_cleanse(digest, sizeof digest);
  return id;
}

// ---- KeySnapshot ----------------------------------------------------------------------

const SealingKey* KeySnapshot::current(std::size_t host) const noexcept {
  return host < current_.size() ? current_[host] : nullptr;
}

// Key names are public (sent in clear in every ticket): a plain compare leaks nothing.
const SealingKey* KeySnapshot::find(std::size_t host, const unsigned char* name16) const noexcept {
  if (host >= hosts_ || name16 == nullptr) return nullptr;
  for (std::size_t i = host * keys_; i < (host + 1) * keys_; ++i)
    if (std::memcmp(sealing_[i].name.data(), name16, kKeyNameBytes) == 0) return &sealing_[i];
  return nullptr;
}

std::span<const SealingKey> KeySnapshot::keys(std::size_t host) const noexcept {
  if (host >= hosts_) return {};
  return std::span<const SealingKey>(sealing_).subspan(host * keys_, keys_);
}

std::optional<std::size_t> KeySnapshot::hostOwning(const unsigned char* name16) const noexcept {
  if (name16 == nullptr) return std::nullopt;
  for (const auto& key : sealing_)
    if (std::memcmp(key.name.data(), name16, kKeyNameBytes) == 0) return key.host;
  return std::nullopt;
}

// ---- Keyring --------------------------------------------------------------------------

Keyring::Keyring(KeyringOptions options, std::vector<std::string> host_ids, const Clock& clock,
                 std::unique_ptr<KeySource> source)
    : options_(validated(options)),
      host_ids_(validatedHosts(std::move(host_ids))),
      clock_(clock),
      source_(std::move(source)) {
  if (!source_) throw std::invalid_argument("keyring: null key source");
  std::shared_ptr<KeySnapshot> empty(new KeySnapshot());
  empty->hosts_ = host_ids_.size();
  empty->current_.assign(host_ids_.size(), nullptr);
  snapshot_.store(std::move(empty));
  std::lock_guard lock(mutex_);
  refreshLocked(clock_.now());
}

Keyring::~Keyring() = default;

bool Keyring::tick() {
  const TimePoint now = clock_.now();
  // Fast path, once a second on a quiet server: nothing can change before next_event_,
  // unless the wall clock was stepped back (then states must be recomputed).
  const WallClock::rep ns = now.time_since_epoch().count();
  if (ns < next_event_.load(std::memory_order_acquire) && ns >= last_refresh_.load(std::memory_order_relaxed))
    return false;
  std::lock_guard lock(mutex_);
  return refreshLocked(now);
}

bool Keyring::refreshLocked(TimePoint now) {
  eraseExpiredLocked(now);
  const auto encryptsNow = [&] {
    return std::any_of(slots_.begin(), slots_.end(),
                       [&](const Slot& s) { return s.schedule.stateAt(now) == KeyState::current; });
  };
  bool failed = false;
  // Nothing encrypts now (fresh start, source outage, clock stepped back): a key encrypts
  // from now on, so there is no window without a current key. It stops where an already
  // scheduled key starts, so two keys never encrypt at once.
  if (!encryptsNow()) {
    KeySchedule s{now, now, now + options_.rotation_period, {}};
    for (const Slot& slot : slots_)
      if (slot.schedule.current_from > now) s.current_until = std::min(s.current_until, slot.schedule.current_from);
    s.erase_at = s.current_until + options_.decrypt_window;
    adoptLocked(KeyRequest{now, s, false}, nullptr);
    failed = !encryptsNow();
  }
  // Introduce the successor introduce_ahead before the last scheduled key stops
  // encrypting: decrypt-only everywhere before anyone encrypts with it.
  for (int i = 0; !failed && !slots_.empty() && i < kMaxFetchesPerTick; ++i) {
    TimePoint tail{};
    for (const Slot& slot : slots_) tail = std::max(tail, slot.schedule.current_until);
    if (tail - now > options_.introduce_ahead) break;
    const TimePoint until = tail + options_.rotation_period;
    adoptLocked(KeyRequest{now, KeySchedule{now, tail, until, until + options_.decrypt_window}, false}, nullptr);
    failed = std::none_of(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.schedule.current_until > tail; });
  }
  if (failed) source_failures_.fetch_add(1, std::memory_order_relaxed);
  preferSharedLocked(now);
  const bool published = publishIfChangedLocked(now);
  scheduleNextEventLocked(now, failed);
  return published;
}

std::size_t Keyring::adoptLocked(const KeyRequest& request, std::vector<std::uint64_t>* added) {
  std::vector<MasterKey> keys;
  try {
    keys = source_->fetch(request);
  } catch (...) {
    return 0;  // counted by the caller as a source failure
  }
  std::size_t adopted = 0;
  for (MasterKey& key : keys) {
    if (key.material.size() != kKeyMaterialBytes || !key.schedule.valid() || anyPartZero(key.material.data())) {
      rejected_keys_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (key.schedule.erasedAt(request.now)) continue;  // already past its life
    const unsigned char* name = key.material.data() + kKeyNameOffset;
    const bool known = std::any_of(slots_.begin(), slots_.end(), [&](const Slot& s) {
      return std::memcmp(s.material->master() + kKeyNameOffset, name, kKeyNameBytes) == 0;
    });
    if (known) {  // fleet sources hand the same key over repeatedly
      // A forced rotation elsewhere in the fleet ends the key early; nothing lengthens it.
      for (Slot& slot : slots_) {
        if (!key.shared || std::memcmp(slot.material->master() + kKeyNameOffset, name, kKeyNameBytes) != 0) continue;
        if (key.schedule.current_until < slot.schedule.current_until && key.schedule.current_until >= slot.schedule.current_from) {
          slot.schedule.current_until = key.schedule.current_until;
          slot.schedule.erase_at = std::min(slot.schedule.erase_at, key.schedule.erase_at);
        }
      }
      continue;
    }
    try {
      auto material = std::make_shared<detail::KeyMaterial>();
      material->buffer = SecureBuffer((1 + host_ids_.size()) * kKeyMaterialBytes);
      unsigned char* base = material->buffer.data();
      std::memcpy(base, key.material.data(), kKeyMaterialBytes);
      bool ok = true;
      for (std::size_t h = 0; ok && h < host_ids_.size(); ++h)
        ok = deriveHostKey(base, host_ids_[h], base + (h + 1) * kKeyMaterialBytes);
      if (!ok) {
        rejected_keys_.fetch_add(1, std::memory_order_relaxed);
        continue;  // material's buffer is wiped on the way out
      }
      material->serial = next_serial_++;
      material->id = masterKeyId(name);
      material->decrypts = std::make_unique<std::atomic<std::uint64_t>[]>(host_ids_.size());
      slots_.push_back(Slot{std::move(material), key.schedule, key.shared});
      if (added != nullptr) added->push_back(slots_.back().material->serial);
      ++adopted;
    } catch (const std::bad_alloc&) {
      // Out of memory or mappings: skip the key; the caller sees the shortfall and retries.
    }
  }
  std::stable_sort(slots_.begin(), slots_.end(),
                   [](const Slot& a, const Slot& b) { return a.schedule.current_from < b.schedule.current_from; });
  return adopted;
}

bool Keyring::rotateNow() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  eraseExpiredLocked(now);
  const TimePoint until = now + options_.rotation_period;
  std::vector<std::uint64_t> added;
  adoptLocked(KeyRequest{now, KeySchedule{now, now, until, until + options_.decrypt_window}, true}, &added);
  const auto isAdded = [&](const Slot& s) {
    return std::find(added.begin(), added.end(), s.material->serial) != added.end();
  };
  // The fresh key: the one added that encrypts from now, or (a fleet's) from a moment ahead.
  std::optional<TimePoint> from;
  for (const Slot& slot : slots_)
    if (isAdded(slot) && slot.schedule.current_until > now && slot.schedule.current_from < until)
      from = std::min(from.value_or(TimePoint::max()), std::max(now, slot.schedule.current_from));
  if (!from) {
    source_failures_.fetch_add(1, std::memory_order_relaxed);
    publishIfChangedLocked(now);
    scheduleNextEventLocked(now, false);
    return false;
  }
  const bool shared = std::any_of(slots_.begin(), slots_.end(), [&](const Slot& s) { return isAdded(s) && s.shared; });
  // The old current key stops encrypting when the fresh one starts. Every ticket it sealed
  // expires within decrypt_window (ticket lifetime <= window, RFC 5077 §5.6), so it can go
  // at that start + window.
  for (Slot& slot : slots_) {
    if (isAdded(slot) || slot.schedule.current_until <= *from || slot.schedule.current_from > now) continue;
    slot.schedule.current_until = *from;
    slot.schedule.erase_at = std::min(slot.schedule.erase_at, *from + options_.decrypt_window);
  }
  // Keys introduced before the rotation never encrypted anything here; a forced rotation
  // (often a suspected compromise) starts over from fresh material. tick() introduces the
  // next successor as usual. A fleet's introduced keys are the fleet's schedule: kept.
  if (!shared) std::erase_if(slots_, [&](const Slot& s) { return !isAdded(s) && s.schedule.current_from > now; });
  publishIfChangedLocked(now);
  scheduleNextEventLocked(now, false);
  return true;
}

bool Keyring::sync() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  eraseExpiredLocked(now);
  const TimePoint until = now + options_.rotation_period;
  adoptLocked(KeyRequest{now, KeySchedule{now, now, until, until + options_.decrypt_window}, false, false}, nullptr);
  return refreshLocked(now);
}

// A node that ran on its own keys (the fleet unreachable, or not yet joined) hands
// encryption over to the fleet's as soon as one of those encrypts: its own current keys
// stop encrypting now (they still open what they sealed, until their erase time) and its
// own introduced keys, which sealed nothing, are dropped. Tickets it sealed alone resume
// on this node only; elsewhere they cost a full handshake.
void Keyring::preferSharedLocked(TimePoint now) {
  const bool fleet_encrypts = std::any_of(slots_.begin(), slots_.end(), [&](const Slot& s) {
    return s.shared && s.schedule.stateAt(now) == KeyState::current;
  });
  if (!fleet_encrypts) return;
  std::erase_if(slots_, [&](const Slot& s) { return !s.shared && s.schedule.current_from > now; });
  for (Slot& slot : slots_) {
    if (slot.shared || slot.schedule.stateAt(now) != KeyState::current) continue;
    slot.schedule.current_until = now;
    slot.schedule.erase_at = std::min(slot.schedule.erase_at, now + options_.decrypt_window);
  }
}

void Keyring::eraseExpiredLocked(TimePoint now) {
  // Dropping the slot releases the keyring's reference; the bytes are wiped by SecureBuffer
  // once the last snapshot holding them is gone (the republish below releases ours).
  std::erase_if(slots_, [&](const Slot& s) { return s.schedule.erasedAt(now); });
}

bool Keyring::publishIfChangedLocked(TimePoint now) {
  std::vector<std::pair<std::uint64_t, KeyState>> states;
  states.reserve(slots_.size());
  for (const Slot& slot : slots_) states.emplace_back(slot.material->serial, slot.schedule.stateAt(now));
  if (states == published_) return false;

  const std::size_t hosts = host_ids_.size();
  std::shared_ptr<KeySnapshot> snap(new KeySnapshot());
  snap->hosts_ = hosts;
  snap->keys_ = slots_.size();
  snap->published_at_ = now;
  snap->sealing_.reserve(hosts * slots_.size());
  for (std::size_t h = 0; h < hosts; ++h) {
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      const detail::KeyMaterial& m = *slots_[k].material;
      SealingKey key;
      std::memcpy(key.name.data(), m.host(h) + kKeyNameOffset, kKeyNameBytes);
      key.aes_key = m.host(h) + kAesKeyOffset;
      key.hmac_key = m.host(h) + kHmacKeyOffset;
      key.state = states[k].second;
      key.host = h;
      key.id = m.id;
      key.decrypts = &m.decrypts[h];
      snap->sealing_.push_back(std::move(key));
    }
  }
  // Slots are sorted by current_from: if schedules from a fleet overlap, the newest
  // current key encrypts.
  std::uint64_t current_serial = 0;
  snap->current_.assign(hosts, nullptr);
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    if (states[k].second != KeyState::current) continue;
    current_serial = states[k].first;
    for (std::size_t h = 0; h < hosts; ++h) snap->current_[h] = &snap->sealing_[h * slots_.size() + k];
  }
  for (const Slot& slot : slots_) snap->materials_.push_back(slot.material);

  snapshot_.store(std::move(snap));
  published_ = std::move(states);
  // A rotation is the encrypting key changing to another one, scheduled or forced.
  if (current_serial != 0) {
    if (last_current_serial_ != 0 && current_serial != last_current_serial_)
      rotations_.fetch_add(1, std::memory_order_relaxed);
    last_current_serial_ = current_serial;
  }
  return true;
}

void Keyring::scheduleNextEventLocked(TimePoint now, bool retry_now) {
  TimePoint next = TimePoint::max();
  if (retry_now || slots_.empty()) {
    next = now;  // retry on the very next tick
  } else {
    TimePoint tail{};
    for (const Slot& slot : slots_) {
      const KeySchedule& s = slot.schedule;
      for (TimePoint t : {s.current_from, s.current_until, s.erase_at})
        if (t > now) next = std::min(next, t);
      tail = std::max(tail, s.current_until);
    }
    next = std::min(next, std::max(now, tail - options_.introduce_ahead));
  }
  last_refresh_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  next_event_.store(next.time_since_epoch().count(), std::memory_order_release);
}

std::vector<KeyInfo> Keyring::describe() const {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  std::vector<KeyInfo> out;
  for (const Slot& slot : slots_) {
    const KeySchedule& s = slot.schedule;
    if (s.erasedAt(now)) continue;
    KeyInfo info{slot.material->id, s.stateAt(now), s.created_at, s.current_from, s.current_until, s.erase_at, 0,
                 slot.shared};
    for (std::size_t h = 0; h < host_ids_.size(); ++h)
      info.decrypts += slot.material->decrypts[h].load(std::memory_order_relaxed);
    out.push_back(std::move(info));
  }
  return out;
}

KeyCounts Keyring::counts() const {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  KeyCounts c;
  for (const Slot& slot : slots_) {
    if (slot.schedule.erasedAt(now)) continue;
    switch (slot.schedule.stateAt(now)) {
      case KeyState::introduced:
        ++c.introduced;
        break;
      case KeyState::current:
        ++c.current;
        break;
      case KeyState::retired:
        ++c.retired;
        break;
    }
  }
  return c;
}

}  // namespace tlsresume
