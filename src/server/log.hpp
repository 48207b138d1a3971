#pragma once
// Logging to stderr, one line per event. Never pass key material, session bytes or
// master secrets here: the log is the first place a secret leaks from.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>

namespace tlsresume::server {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void setLogLevel(Level level);
Level parseLevel(const std::string& name);
void log(Level level, const std::string& message);

// log_format: "text" (a line: time, level, message) or "json" (one object per line:
// "time", "level", "msg" and the event's fields), for the log and the access log.
enum class LogFormat { text, json };
void setLogFormat(LogFormat format) noexcept;
LogFormat logFormat() noexcept;

// A structured field of an event: in json, a member of the line's object (a string, or a
// number when `number` is set); text shows the message only, which says the same.
struct LogField {
  std::string_view key;
  std::string value;
  bool number = false;
};
void log(Level level, const std::string& message, std::initializer_list<LogField> fields);

// "2024-05-01T12:00:00Z", or with milliseconds "2024-05-01T12:00:00.123Z" (UTC).
std::string utcTimestamp(std::chrono::system_clock::time_point t, bool millis);
// Whether `level` is logged: check before building a message on a hot path.
bool logs(Level level) noexcept;

// One line per `period` at most for a recurring event (a failing backend under load would
// otherwise write a line per connection): the first occurrence is logged at once, later
// ones are counted and reported with the next line. Thread-safe.
class RateLimitedLog {
 public:
  using Now = std::chrono::steady_clock::time_point (*)() noexcept;
  // `now` is the clock (a seam for tests; the steady clock in the server).
  explicit RateLimitedLog(std::chrono::seconds period, Now now = &std::chrono::steady_clock::now);
  ~RateLimitedLog();
  RateLimitedLog(const RateLimitedLog&) = delete;
  RateLimitedLog& operator=(const RateLimitedLog&) = delete;
  void log(Level level, const std::string& message) noexcept;
  // Reports occurrences still unreported once the period has passed, so that the count
  // of a burst that ended is not held back until the next one.
  void flush() noexcept;

 private:
  std::chrono::seconds period_;
  Now now_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
  Level level_ = Level::info;
  std::string last_message_;
  bool logged_ = false;
};

// flush() on every RateLimitedLog alive; serve calls it once a second.
void flushRateLimitedLogs() noexcept;

}  // namespace tlsresume::server
