#include "tlsresume/memory_store.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <utility>

namespace tlsresume {
namespace {

// ---- hashing -------------------------------------------------------------------------
// wyhash-style multiply-fold. Session ids are chosen by clients (a TLS 1.2 ClientHello
// carries one), so the hash is keyed with a per-process secret: without it a client could
// aim every id at one shard and one probe run. Per process rather than per store so that
// every store with the same shard count places a key alike (the unit tests rely on it).
struct HashSeed {
  std::uint64_t a;
  std::uint64_t b;
};

__extension__ using Uint128 = unsigned __int128;

std::uint64_t mum(std::uint64_t x, std::uint64_t y) noexcept {
  const Uint128 r = static_cast<Uint128>(x) * y;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

const HashSeed& hashSeed() noexcept {
  static const HashSeed seed = [] {
    HashSeed s{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&s), sizeof s) != 1) {
      // No entropy: still vary by run, the cache stays correct either way.
      const auto t = static_cast<std::uint64_t>(WallClock::now().time_since_epoch().count());
      s = {t ^ 0xa0761d6478bd642f, mum(t, 0xe7037ed1a0b428db)};
    }
    return s;
  }();
  return seed;
}

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t hashKey(std::string_view key) noexcept {
  const HashSeed& seed = hashSeed();
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = seed.a;
  for (; n > 16; p += 16, n -= 16) h = mum(load64(p) ^ seed.b, load64(p + 8) ^ h);
  // 0..16 bytes left; the overlapping loads cover them without a byte loop.
  std::uint64_t x = 0;
  std::uint64_t y = 0;
  if (n >= 8) {
    x = load64(p);
    y = load64(p + n - 8);
  } else if (n >= 4) {
    x = load32(p);
    y = load32(p + n - 4);
  } else if (n > 0) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    x = (std::uint64_t{u[0]} << 16) | (std::uint64_t{u[n >> 1]} << 8) | u[n - 1];
  }
  return mum(mum(x ^ seed.b, y ^ h) ^ 0x8ebc6af09c88c6e3, key.size() ^ 0x589965cc75374cc3);
}

// ---- entries -------------------------------------------------------------------------
// One malloc per session: this header, then the key bytes, then the value bytes. Packed so
// the key starts right after the 29 header bytes; malloc's 16-byte alignment keeps the
// pointer fields aligned anyway. The table and the LRU list point at it, nothing else.
// `referenced` is the second-chance bit: get() sets it instead of moving the entry in the
// list (which would touch both neighbours, two cache misses in a large store); eviction
// gives a referenced entry at the cold end one more round instead of dropping it.
struct [[gnu::packed]] Entry {
  Entry* prev;  // towards the most recently used end
  Entry* next;  // towards the least recently used end; links the graveyard once dropped
  std::int64_t expiry_ns;
  std::uint32_t value_len : 31;
  std::uint32_t referenced : 1;  // read since it was inserted or last given a second chance
  std::uint8_t key_len;

  char* key() noexcept { return reinterpret_cast<char*>(this) + sizeof(Entry); }
  char* value() noexcept { return key() + key_len; }
  std::string_view keyView() noexcept { return {key(), key_len}; }
  std::size_t allocBytes() const noexcept { return sizeof(Entry) + key_len + value_len; }
};
static_assert(sizeof(Entry) == 29);

// A table slot is one 64-bit word: the entry's address in the low 48 bits, then 8 bits of
// probe distance + 1 (0 = empty slot) and an 8-bit hash tag on top. Probing reads one array
// and rarely touches an entry. User-space addresses fit in 48 bits on x86-64 and arm64
// Linux; an allocation that does not (memory tagging) is refused, see makeEntry.
static_assert(sizeof(void*) == 8, "slots pack an address into 48 bits");
constexpr std::uint64_t kAddressMask = (std::uint64_t{1} << 48) - 1;
constexpr std::uint64_t kDistanceOne = std::uint64_t{1} << 48;
constexpr unsigned kDistanceShift = 48;
constexpr unsigned kTagShift = 56;

// What the budget charges beyond key and value. malloc: glibc adds 8 bytes and rounds to
// 16, so 16 is a fair upper estimate. Table: a doubling table at most 7/8 full is at least
// 7/16 full, so an entry's share is at most 8 * 16 / 7 bytes, charged as 19.
constexpr std::size_t kMallocOverheadBytes = 16;
constexpr std::size_t kSlotBytes = sizeof(std::uint64_t);
constexpr std::size_t kTableShareBytes = (kSlotBytes * 16 + 6) / 7;
constexpr std::size_t kOverheadBytes = sizeof(Entry) + kMallocOverheadBytes + kTableShareBytes;

constexpr std::size_t kMaxKeyBytes = std::numeric_limits<std::uint8_t>::max();
constexpr std::size_t kMaxValueBytes = (std::size_t{1} << 31) - 1;  // Entry::value_len
constexpr std::size_t kMinShards = 1;
constexpr std::size_t kMinShardBytes = std::size_t{64} << 10;
constexpr std::size_t kMaxShards = std::size_t{1} << 16;
constexpr std::size_t kInitialSlots = 16;
// Expired entries at the cold end reclaimed per put: bounded, so one put never walks a
// whole shard that expired at once while holding its lock.
constexpr int kReapPerPut = 4;
// Referenced entries at the cold end given a second chance per put, at most. Each chance
// clears a bit a get set, so the cost is O(1) amortised anyway; the bound keeps one put
// short when a whole shard was read since the last eviction (then a referenced entry is
// evicted like an unreferenced one).
constexpr int kSecondChancesPerPut = 8;

std::size_t chargeFor(std::size_t key_len, std::size_t value_len) noexcept {
  return key_len + value_len + kOverheadBytes;
}

std::int64_t toNs(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Entry* makeEntry(std::string_view key, std::string_view value, TimePoint expiry) noexcept {
  void* raw = std::malloc(sizeof(Entry) + key.size() + value.size());
  if (raw == nullptr) return nullptr;
  if ((reinterpret_cast<std::uintptr_t>(raw) & ~kAddressMask) != 0) {
    std::free(raw);  // does not fit a slot: treated like a failed allocation
    return nullptr;
  }
  auto* e = new (raw) Entry{nullptr,
                            nullptr,
                            toNs(expiry),
                            static_cast<std::uint32_t>(value.size()),
                            0,
                            static_cast<std::uint8_t>(key.size())};
  if (!key.empty()) std::memcpy(e->key(), key.data(), key.size());
  if (!value.empty()) std::memcpy(e->value(), value.data(), value.size());
  return e;
}

// Values are serialized sessions holding master secrets: wipe before the allocator reuses
// the memory.
void burn(Entry* e) noexcept {
  OPENSSL_cleanse(e, e->allocBytes());
  std::free(e);
}

void burnAll(Entry* list) noexcept {
  while (list != nullptr) {
    Entry* next = list->next;
    burn(list);
    list = next;
  }
}

bool sameKey(Entry* e, std::string_view key) noexcept {
  return e->key_len == key.size() && (key.empty() || std::memcmp(e->key(), key.data(), key.size()) == 0);
}

}  // namespace

// ---- shard ---------------------------------------------------------------------------
// A Robin Hood open-addressing table of packed slots (see kAddressMask) plus an intrusive
// LRU list. Probe distances let deletion shift a run back without rehashing and let a
// lookup stop as soon as it is closer to its home than the slot it reads. Every method
// below runs under mutex_.
struct MemoryStore::Shard {
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  static constexpr std::uint64_t kMaxStoredDistance = 0xff;

  alignas(64) std::mutex mutex_;  // a cache line apart from the neighbouring shard
  std::unique_ptr<std::uint64_t[]> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  Entry* mru_ = nullptr;
  Entry* lru_ = nullptr;
  std::size_t budget_ = 0;  // set once before the store is shared
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t expired_ = 0;

  static std::uint64_t storedDistance(std::uint64_t slot) noexcept { return (slot >> kDistanceShift) & 0xff; }
  static Entry* entryIn(std::uint64_t slot) noexcept { return reinterpret_cast<Entry*>(slot & kAddressMask); }
  Entry* entryAt(std::size_t i) const noexcept { return entryIn(slots_[i]); }

  void init(std::size_t budget) {
    budget_ = budget;
    slots_ = std::make_unique<std::uint64_t[]>(kInitialSlots);
    mask_ = kInitialSlots - 1;
  }

  ~Shard() {
    Entry* e = mru_;
    while (e != nullptr) {
      Entry* next = e->next;
      burn(e);
      e = next;
    }
  }

  std::size_t find(std::uint64_t hash, std::string_view key) const noexcept {
    const std::uint64_t tag = hash >> kTagShift;
    std::size_t i = hash & mask_;
    for (std::uint64_t d = 0;; ++d, i = (i + 1) & mask_) {
      const std::uint64_t slot = slots_[i];
      // Empty (0) or closer to its home than we are to ours: the key would have been here.
      if (storedDistance(slot) <= d) return kNone;
      if ((slot >> kTagShift) == tag && sameKey(entryIn(slot), key)) return i;
    }
  }

  std::size_t slotOf(Entry* e) const noexcept {
    std::size_t i = hashKey(e->keyView()) & mask_;
    while (entryAt(i) != e) i = (i + 1) & mask_;
    return i;
  }

  void linkFront(Entry* e) noexcept {
    e->prev = nullptr;
    e->next = mru_;
    if (mru_ != nullptr)
      mru_->prev = e;
    else
      lru_ = e;
    mru_ = e;
  }

  void unlink(Entry* e) noexcept {
    if (e->prev != nullptr)
      e->prev->next = e->next;
    else
      mru_ = e->next;
    if (e->next != nullptr)
      e->next->prev = e->prev;
    else
      lru_ = e->prev;
  }

  // A hit: marks the entry, leaves the list alone (see Entry::referenced). Skips the store
  // when the bit is already set, so repeated hits keep the line clean.
  static void touch(Entry* e) noexcept {
    if (!e->referenced) e->referenced = 1;
  }

  // Takes an entry out of the list and the accounts (not the table) and queues it to be
  // wiped and freed once the lock is released.
  void release(Entry* e, Entry*& graveyard) noexcept {
    unlink(e);
    --size_;
    bytes_ -= chargeFor(e->key_len, e->value_len);
    e->next = graveyard;
    graveyard = e;
  }

  void eraseSlot(std::size_t i, Entry*& graveyard) noexcept {
    Entry* e = entryAt(i);
    // Backward shift: pull each displaced follower one step towards its home.
    for (std::size_t j = (i + 1) & mask_; storedDistance(slots_[j]) > 1; i = j, j = (j + 1) & mask_)
      slots_[i] = slots_[j] - kDistanceOne;
    slots_[i] = 0;
    release(e, graveyard);
  }

  // Robin Hood insertion. A run of 255 only happens if the hash is being attacked (or is
  // broken); then the entry left in hand is dropped rather than the table grown.
  void place(Entry* e, std::uint64_t hash, Entry*& graveyard) noexcept {
    std::uint64_t carried = (hash >> kTagShift << kTagShift) | kDistanceOne | reinterpret_cast<std::uintptr_t>(e);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == 0) {
        slots_[i] = carried;
        return;
      }
      if (storedDistance(slots_[i]) < storedDistance(carried)) std::swap(slots_[i], carried);
      if (storedDistance(carried) == kMaxStoredDistance) {
        ++evictions_;
        release(entryIn(carried), graveyard);
        return;
      }
      carried += kDistanceOne;
    }
  }

  void grow(Entry*& graveyard) {
    const std::size_t old_slots = mask_ + 1;
    auto slots = std::make_unique<std::uint64_t[]>(old_slots * 2);  // zero: all empty
    slots_.swap(slots);
    mask_ = old_slots * 2 - 1;
    for (std::size_t i = 0; i < old_slots; ++i) {
      if (slots[i] == 0) continue;
      Entry* e = entryIn(slots[i]);
      place(e, hashKey(e->keyView()), graveyard);
    }
  }

  // Drops from the cold end until `charge` more bytes fit. An entry found already expired
  // there is counted as expired, not as an eviction. A live entry read since it was last
  // considered loses its mark and moves to the hot end instead (second chance), up to
  // kSecondChancesPerPut times per call.
  void makeRoom(std::size_t charge, std::int64_t now_ns, Entry*& graveyard) noexcept {
    for (int n = 0; n < kReapPerPut && lru_ != nullptr && lru_->expiry_ns <= now_ns; ++n) {
      ++expired_;
      eraseSlot(slotOf(lru_), graveyard);
    }
    int chances = kSecondChancesPerPut;
    while (lru_ != nullptr && bytes_ + charge > budget_) {
      Entry* e = lru_;
      if (e->expiry_ns <= now_ns) {
        ++expired_;
      } else if (e->referenced && chances > 0) {
        --chances;
        e->referenced = 0;
        if (e != mru_) {
          unlink(e);
          linkFront(e);
        }
        continue;
      } else {
        ++evictions_;
      }
      eraseSlot(slotOf(e), graveyard);
    }
  }

  // Throws std::bad_alloc (from grow) before changing anything.
  void insert(Entry* e, std::uint64_t hash, Entry*& graveyard) {
    if ((size_ + 1) * 8 > (mask_ + 1) * 7) grow(graveyard);
    linkFront(e);
    ++size_;
    bytes_ += chargeFor(e->key_len, e->value_len);
    place(e, hash, graveyard);
  }
};

// ---- store ---------------------------------------------------------------------------
std::size_t shardsFor(std::size_t max_bytes, std::size_t most) noexcept {
  const std::size_t fit = std::max<std::size_t>(1, max_bytes / kMinShardBytes);
  return std::bit_floor(std::clamp(fit, kMinShards, std::clamp(most, kMinShards, kMaxShards)));
}

MemoryStore::MemoryStore(MemoryStoreOptions options, const Clock& clock)
    : clock_(clock),
      shard_mask_(std::bit_ceil(std::clamp(options.shards, kMinShards, kMaxShards)) - 1),
      shards_(std::make_unique<Shard[]>(shard_mask_ + 1)) {
  const std::size_t budget = options.max_bytes / (shard_mask_ + 1);
  for (std::size_t i = 0; i <= shard_mask_; ++i) shards_[i].init(budget);
}

MemoryStore::~MemoryStore() = default;

std::size_t MemoryStore::overheadPerEntry() noexcept { return kOverheadBytes; }

MemoryStore::Shard& MemoryStore::shardFor(std::string_view key) noexcept { return shardFor(hashKey(key)); }

// High half picks the shard, low bits the slot, top byte the tag: independent bits.
MemoryStore::Shard& MemoryStore::shardFor(std::uint64_t key_hash) noexcept {
  return shards_[(key_hash >> 32) & shard_mask_];
}

void MemoryStore::put(std::string_view key, std::string_view value, TimePoint expiry) noexcept {
  const std::uint64_t hash = hashKey(key);
  Shard& shard = shardFor(hash);
  const std::int64_t now_ns = toNs(clock_.now());
  const bool storable = key.size() <= kMaxKeyBytes && value.size() <= kMaxValueBytes && toNs(expiry) > now_ns &&
                        chargeFor(key.size(), value.size()) <= shard.budget_;
  // Allocate and copy before taking the lock; wipe and free after releasing it.
  Entry* fresh = storable ? makeEntry(key, value, expiry) : nullptr;
  Entry* graveyard = nullptr;
  {
    std::lock_guard lock(shard.mutex_);
    // The old value goes even when the new one is refused: a get after put(k, v2) must
    // never answer v1.
    if (const std::size_t i = shard.find(hash, key); i != Shard::kNone) shard.eraseSlot(i, graveyard);
    if (fresh != nullptr) {
      shard.makeRoom(chargeFor(key.size(), value.size()), now_ns, graveyard);
      try {
        shard.insert(fresh, hash, graveyard);
        fresh = nullptr;
      } catch (const std::bad_alloc&) {
        // The table could not grow: refuse this put, keep what is cached.
      }
    }
  }
  if (fresh != nullptr) burn(fresh);
  burnAll(graveyard);
}

bool MemoryStore::get(std::string_view key, std::string& out) noexcept {
  const std::uint64_t hash = hashKey(key);
  Shard& shard = shardFor(hash);
  const std::int64_t now_ns = toNs(clock_.now());
  Entry* graveyard = nullptr;
  bool hit = false;
  {
    std::lock_guard lock(shard.mutex_);
    const std::size_t i = shard.find(hash, key);
    if (i == Shard::kNone) {
      ++shard.misses_;
    } else if (Entry* e = shard.entryAt(i); e->expiry_ns <= now_ns) {
      ++shard.expired_;
      ++shard.misses_;
      shard.eraseSlot(i, graveyard);
    } else {
      try {
        out.assign(e->value(), e->value_len);
        shard.touch(e);
        ++shard.hits_;
        hit = true;
      } catch (const std::bad_alloc&) {
        ++shard.misses_;
      }
    }
  }
  burnAll(graveyard);
  return hit;
}

bool MemoryStore::erase(std::string_view key) noexcept {
  const std::uint64_t hash = hashKey(key);
  Shard& shard = shardFor(hash);
  Entry* graveyard = nullptr;
  {
    std::lock_guard lock(shard.mutex_);
    if (const std::size_t i = shard.find(hash, key); i != Shard::kNone) shard.eraseSlot(i, graveyard);
  }
  const bool erased = graveyard != nullptr;
  burnAll(graveyard);
  return erased;
}

std::size_t MemoryStore::eraseIf(const Match& match) noexcept {
  std::size_t erased = 0;
  for (std::size_t s = 0; s <= shard_mask_; ++s) {
    Shard& shard = shards_[s];
    Entry* graveyard = nullptr;
    {
      std::lock_guard lock(shard.mutex_);
      for (Entry* e = shard.mru_; e != nullptr;) {
        Entry* const next = e->next;  // release() relinks e into the graveyard
        bool hit = false;
        try {
          hit = match(e->keyView(), {e->value(), e->value_len});
        } catch (...) {
          // A predicate that cannot decide (out of memory) keeps the entry.
        }
        if (hit) {
          if (const std::size_t i = shard.find(hashKey(e->keyView()), e->keyView()); i != Shard::kNone) {
            shard.eraseSlot(i, graveyard);
            ++erased;
          }
        }
        e = next;
      }
    }
    burnAll(graveyard);
  }
  return erased;
}

StoreStats MemoryStore::stats() const noexcept {
  StoreStats total;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex_);
    total.hits += shard.hits_;
    total.misses += shard.misses_;
    total.evictions += shard.evictions_;
    total.expired += shard.expired_;
    total.entries += shard.size_;
    total.bytes += shard.bytes_;
  }
  return total;
}

}  // namespace tlsresume
