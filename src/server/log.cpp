#include "server/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace tlsresume::server {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
const char* name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "?";
}
}  // namespace

void setLogLevel(Level level) { g_level.store(level); }

Level parseLevel(const std::string& n) {
  if (n == "debug") return Level::debug;
  if (n == "warn") return Level::warn;
  if (n == "error") return Level::error;
  return Level::info;
}

bool logs(Level level) noexcept { return level >= g_level.load(std::memory_order_relaxed); }

namespace {
std::mutex g_limited_mutex;
std::vector<RateLimitedLog*>& limitedLogs() {
  static std::vector<RateLimitedLog*> all;
  return all;
}
}  // namespace

RateLimitedLog::RateLimitedLog(std::chrono::seconds period, Now now) : period_(period), now_(now) {
  std::lock_guard lock(g_limited_mutex);
  limitedLogs().push_back(this);
}

RateLimitedLog::~RateLimitedLog() {
  std::lock_guard lock(g_limited_mutex);
  std::erase(limitedLogs(), this);
}

void flushRateLimitedLogs() noexcept {
  std::lock_guard lock(g_limited_mutex);
  for (RateLimitedLog* l : limitedLogs()) l->flush();
}

void RateLimitedLog::flush() noexcept {
  std::uint64_t suppressed = 0;
  Level level;
  std::string message;
  {
    std::lock_guard lock(mutex_);
    const auto now = now_();
    if (suppressed_ == 0 || now - last_ < period_) return;
    suppressed = suppressed_;
    suppressed_ = 0;
    last_ = now;
    level = level_;
    try {
      message = last_message_;
    } catch (...) {
      return;
    }
  }
  try {
    server::log(level, std::to_string(suppressed) + " more like: " + message);
  } catch (...) {
  }
}

void RateLimitedLog::log(Level level, const std::string& message) noexcept {
  if (!logs(level)) return;
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    const auto now = now_();
    try {
      last_message_ = message;
    } catch (...) {
    }
    level_ = level;
    if (logged_ && now - last_ < period_) {
      ++suppressed_;
      return;
    }
    logged_ = true;
    last_ = now;
    suppressed = suppressed_;
    suppressed_ = 0;
  }
  try {
    server::log(level, suppressed ? message + " (and " + std::to_string(suppressed) + " more since the last report)"
                                  : message);
  } catch (...) {
    // Out of memory for a log line: the event itself is counted in the metrics.
  }
}

void log(Level level, const std::string& message) {
  if (!logs(level)) return;
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s %-5s %s\n", stamp, name(level), message.c_str());
}

}  // namespace tlsresume::server
