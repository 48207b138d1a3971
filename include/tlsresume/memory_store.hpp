#pragma once
// MemoryStore: the in-process SessionStore. Sharded (one lock per shard, shard count a
// power of two), O(1) get/put/erase, TTL expiry plus LRU eviction under a byte budget
// that counts keys, values and per-entry overhead. Each shard gets an equal part of the
// budget, so a small budget needs few shards: shardsFor() picks the count.
#include <cstddef>
#include <memory>

#include "tlsresume/session_store.hpp"

namespace tlsresume {

struct MemoryStoreOptions {
  std::size_t max_bytes = 64u << 20;  // session_cache.max_bytes
  std::size_t shards = 64;            // rounded up to a power of two
};

// Shards for a budget: up to `most` (a power of two), fewer when the budget is small, so
// that every shard keeps at least 64 KiB (about 150 TLS sessions). With 64 shards a
// 16 KiB budget gave each shard 256 bytes, less than one session: every put was refused
// and session ids never resumed.
std::size_t shardsFor(std::size_t max_bytes, std::size_t most = 64) noexcept;

class MemoryStore final : public SessionStore {
 public:
  MemoryStore(MemoryStoreOptions options, const Clock& clock);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  void put(std::string_view key, std::string_view value, TimePoint expiry) noexcept override;
  bool get(std::string_view key, std::string& out) noexcept override;
  bool erase(std::string_view key) noexcept override;
  // Shard by shard, each under its own lock for one walk of its entries.
  std::size_t eraseIf(const Match& match) noexcept override;
  StoreStats stats() const noexcept override;

  // Bytes one entry costs beyond its key and value (exposed so tests can check the budget).
  static std::size_t overheadPerEntry() noexcept;

 private:
  struct Shard;
  Shard& shardFor(std::string_view key) noexcept;
  // The hash picks the shard and then the slot inside it, so callers compute it once.
  Shard& shardFor(std::uint64_t key_hash) noexcept;
  const Clock& clock_;
  std::size_t shard_mask_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace tlsresume
