#include "tlsresume/secure_buffer.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <utility>

namespace tlsresume {
namespace {

std::atomic<std::uint64_t> g_allocations{0};
std::atomic<std::uint64_t> g_lock_failures{0};
std::atomic<std::uint64_t> g_dontdump_failures{0};
thread_local SecureBuffer::Protection t_last{};

std::size_t pageSize() noexcept {
  static const std::size_t size = [] {
    const long page = ::sysconf(_SC_PAGESIZE);
    return page > 0 ? static_cast<std::size_t>(page) : std::size_t{4096};
  }();
  return size;
}

}  // namespace

SecureBuffer::SecureBuffer(std::size_t size) {
  if (size == 0) return;
  const std::size_t page = pageSize();
  if (size > SIZE_MAX - page) throw std::bad_alloc();
  const std::size_t mapped = (size + page - 1) / page * page;
  // An anonymous mapping of its own, not heap memory: page-aligned, zero-filled by the
  // kernel, and the madvise flags below apply to exactly these pages and nothing else.
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<unsigned char*>(p);
  size_ = size;
  mapped_ = mapped;

  // Never swapped to disk. RLIMIT_MEMLOCK may forbid it (containers often allow 64 KiB):
  // tolerated and counted, the operator decides whether that matters. The raw syscall,
  // because sanitizer runtimes replace mlock() with a no-op that reports success, and
  // locked() must tell the truth in every build.
  protection_.locked = ::syscall(SYS_mlock, p, mapped) == 0;
  // Never in a core dump (requirements: "Secrets ... never in core dumps").
  protection_.dump_excluded = ::madvise(p, mapped, MADV_DONTDUMP) == 0;
#ifdef MADV_WIPEONFORK
  // Defence in depth: a forked helper process starts with these pages zeroed. Best effort
  // (Linux >= 4.14), not reported.
  (void)::madvise(p, mapped, MADV_WIPEONFORK);
#endif
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (!protection_.locked) g_lock_failures.fetch_add(1, std::memory_order_relaxed);
  if (!protection_.dump_excluded) g_dontdump_failures.fetch_add(1, std::memory_order_relaxed);
  t_last = protection_;
}

SecureBuffer::~SecureBuffer() { release(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      protection_(std::exchange(other.protection_, Protection{})) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    protection_ = std::exchange(other.protection_, Protection{});
  }
  return *this;
}

void SecureBuffer::release() noexcept {
  if (data_ == nullptr) return;
  // Wipe the whole mapping, not just size_: a caller may have written past size_ into the
  // page's slack by mistake, and the cost is one page of memset.
  OPENSSL_cleanse(data_, mapped_);
  ::munmap(data_, mapped_);  // also drops the mlock
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
  protection_ = {};
}

SecureBuffer::Protection SecureBuffer::lastAllocation() noexcept { return t_last; }

SecureBuffer::Stats SecureBuffer::stats() noexcept {
  return {g_allocations.load(std::memory_order_relaxed), g_lock_failures.load(std::memory_order_relaxed),
          g_dontdump_failures.load(std::memory_order_relaxed)};
}

}  // namespace tlsresume
