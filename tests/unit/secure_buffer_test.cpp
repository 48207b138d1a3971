#include "tlsresume/secure_buffer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace tlsresume {
namespace {

// The VmFlags line of the /proc/self/smaps entry whose range contains `addr`.
std::optional<std::string> vmFlagsOf(const void* addr) {
  const auto target = reinterpret_cast<std::uintptr_t>(addr);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    // Entry headers look like "7f12a000-7f12b000 rw-p 00000000 00:00 0".
    const auto dash = line.find('-');
    const auto space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space &&
        line.find_first_not_of("0123456789abcdef") == dash) {
      const auto start = std::stoull(line.substr(0, dash), nullptr, 16);
      const auto end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
      inside = start <= target && target < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8);
  }
  return std::nullopt;
}

bool hasFlag(const std::string& flags, const std::string& flag) {
  std::istringstream in(flags);
  std::string f;
  while (in >> f)
    if (f == flag) return true;
  return false;
}

TEST(SecureBuffer, AllocatesZeroedPageAlignedMemoryOfTheRequestedSize) {
  SecureBuffer buf(80);
  ASSERT_NE(buf.data(), nullptr);
  EXPECT_EQ(buf.size(), 80u);
  EXPECT_FALSE(buf.empty());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buf.data()) % static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE)), 0u);
  EXPECT_TRUE(std::all_of(buf.data(), buf.data() + buf.size(), [](unsigned char c) { return c == 0; }));
}

TEST(SecureBuffer, IsExcludedFromCoreDumpsAsSeenInSmaps) {
  SecureBuffer buf(64);
  std::fill(buf.data(), buf.data() + buf.size(), 0x5a);  // touch it
  const auto flags = vmFlagsOf(buf.data());
  ASSERT_TRUE(flags.has_value()) << "no smaps entry for the buffer";
  EXPECT_TRUE(buf.dumpExcluded());
  EXPECT_TRUE(hasFlag(*flags, "dd")) << "VmFlags:" << *flags;
  // mlock may be refused by RLIMIT_MEMLOCK; when it succeeded, the kernel must agree.
  if (buf.locked()) {
    EXPECT_TRUE(hasFlag(*flags, "lo")) << "VmFlags:" << *flags;
  }
}

TEST(SecureBuffer, ReportsTheProtectionOfTheLastAllocation) {
  SecureBuffer buf(32);
  const auto last = SecureBuffer::lastAllocation();
  EXPECT_EQ(last.locked, buf.locked());
  EXPECT_EQ(last.dump_excluded, buf.dumpExcluded());
}

TEST(SecureBuffer, CountsAllocationsAndLockFailures) {
  const auto before = SecureBuffer::stats();
  SecureBuffer a(16);
  SecureBuffer b(16);
  const auto after = SecureBuffer::stats();
  EXPECT_EQ(after.allocations - before.allocations, 2u);
  const std::uint64_t expected_lock_failures = (a.locked() ? 0u : 1u) + (b.locked() ? 0u : 1u);
  EXPECT_EQ(after.lock_failures - before.lock_failures, expected_lock_failures);
}

TEST(SecureBuffer, MoveTransfersOwnershipAndEmptiesTheSource) {
  SecureBuffer a(48);
  a.data()[0] = 7;
  unsigned char* const p = a.data();
  SecureBuffer b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 48u);
  EXPECT_EQ(b.data()[0], 7);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is specified
  EXPECT_EQ(a.size(), 0u);
  SecureBuffer c(8);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), 48u);
}

TEST(SecureBuffer, DestructionReturnsTheMapping) {
  const void* addr = nullptr;
  {
    SecureBuffer buf(100);
    addr = buf.data();
    ASSERT_TRUE(vmFlagsOf(addr).has_value());
  }
  // The pages are gone (or reused by an unrelated mapping without our dd flag): no other
  // SecureBuffer is alive in this test.
  const auto flags = vmFlagsOf(addr);
  if (flags) {
    EXPECT_FALSE(hasFlag(*flags, "dd")) << "VmFlags:" << *flags;
  }
}

TEST(SecureBuffer, EmptyBufferHoldsNothing) {
  SecureBuffer empty;
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_TRUE(empty.empty());
  SecureBuffer zero(0);
  EXPECT_EQ(zero.data(), nullptr);
  EXPECT_EQ(zero.size(), 0u);
}

TEST(SecureBuffer, LargeBuffersSpanSeveralPages) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  SecureBuffer buf(page * 2 + 1);
  buf.data()[buf.size() - 1] = 1;  // last byte is writable
  const auto flags = vmFlagsOf(buf.data() + buf.size() - 1);
  ASSERT_TRUE(flags.has_value());
  EXPECT_TRUE(hasFlag(*flags, "dd"));
}

}  // namespace
}  // namespace tlsresume
