#pragma once
// SecureBuffer: fixed-size memory for secrets (ticket keys, their derived subkeys).
//
// Contract
// - The bytes live in their own anonymous, page-aligned mapping, zero-filled at creation.
// - The mapping is mlock()ed so it is never swapped out, madvise(MADV_DONTDUMP)ed so it is
//   left out of core dumps, and madvise(MADV_WIPEONFORK)ed so a forked child never sees it.
//   Each step may fail (RLIMIT_MEMLOCK, old kernel): that is tolerated, reported per buffer
//   (locked(), dumpExcluded()) and counted process-wide (stats()), never fatal: a server
//   that cannot lock a page should still serve, and the operator sees the counter.
// - Destruction (and move-assignment over a live buffer) wipes the bytes with
//   OPENSSL_cleanse before the mapping is returned.
// - Move-only. A moved-from buffer is empty. Construction throws std::bad_alloc only if
//   the mapping itself cannot be created.
// A buffer costs at least one page: callers pack related secrets into one buffer (the
// Keyring keeps a master key and all its per-host subkeys in a single buffer).
#include <cstddef>
#include <cstdint>

namespace tlsresume {

class SecureBuffer {
 public:
  struct Protection {
    bool locked = false;         // mlock succeeded
    bool dump_excluded = false;  // MADV_DONTDUMP succeeded
  };
  struct Stats {
    std::uint64_t allocations = 0;
    std::uint64_t lock_failures = 0;
    std::uint64_t dontdump_failures = 0;
  };

  SecureBuffer() noexcept = default;  // empty: data() == nullptr, size() == 0
  explicit SecureBuffer(std::size_t size);
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  unsigned char* data() noexcept { return data_; }
  const unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool locked() const noexcept { return protection_.locked; }
  bool dumpExcluded() const noexcept { return protection_.dump_excluded; }

  // Protection obtained by the most recent non-empty allocation made on this thread.
  static Protection lastAllocation() noexcept;
  // Process-wide counters since start.
  static Stats stats() noexcept;

 private:
  void release() noexcept;

  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;  // size_ rounded up to whole pages
  Protection protection_{};
};

}  // namespace tlsresume
