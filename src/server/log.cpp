#include "server/log.hpp"

#include "server/json.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace tlsresume::server {
namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<LogFormat> g_format{LogFormat::text};
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

std::string utcTimestamp(std::chrono::system_clock::time_point t, bool millis) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  if (millis) n += static_cast<std::size_t>(std::snprintf(stamp + n, sizeof stamp - n, ".%03d", static_cast<int>(ms % 1000)));
  stamp[n++] = 'Z';
  return std::string(stamp, n);
}

void setLogFormat(LogFormat format) noexcept { g_format.store(format); }
LogFormat logFormat() noexcept { return g_format.load(std::memory_order_relaxed); }

void log(Level level, const std::string& message) { log(level, message, {}); }

void log(Level level, const std::string& message, std::initializer_list<LogField> fields) {
  if (!logs(level)) return;
  const auto now = std::chrono::system_clock::now();
  std::string line;
  if (logFormat() == LogFormat::json) {
    line = "{\"time\":\"" + utcTimestamp(now, true) + "\",\"level\":\"" + name(level) + "\",\"msg\":" + jsonString(message);
    for (const auto& f : fields) {
      line += "," + jsonString(f.key) + ":";
      line += f.number ? f.value : jsonString(f.value);
    }
    line += "}\n";
  } else {
    char lvl[8];
    std::snprintf(lvl, sizeof lvl, "%-5s", name(level));
    line = utcTimestamp(now, false) + " " + lvl + " " + message + "\n";
  }
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tlsresume::server
