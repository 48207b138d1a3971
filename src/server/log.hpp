#pragma once
// Logging to stderr, one line per event. Never pass key material, session bytes or
// master secrets here: the log is the first place a secret leaks from.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tlsresume::server {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void setLogLevel(Level level);
Level parseLevel(const std::string& name);
void log(Level level, const std::string& message);
// Whether `level` is logged: check before building a message on a hot path.
bool logs(Level level) noexcept;

// One line per `period` at most for a recurring event (a failing backend under load would
// otherwise write a line per connection): the first occurrence is logged at once, later
// ones are counted and reported with the next line. Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::seconds period) : period_(period) {}
  void log(Level level, const std::string& message) noexcept;

 private:
  std::chrono::seconds period_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
  bool logged_ = false;
};

}  // namespace tlsresume::server
