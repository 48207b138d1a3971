#include "server/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

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

void log(Level level, const std::string& message) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s %-5s %s\n", stamp, name(level), message.c_str());
}

}  // namespace tlsresume::server
