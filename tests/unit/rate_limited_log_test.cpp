// RateLimitedLog: a recurring warning (a dead backend fails every connection) is one line
// per period with a count, and the count of a burst that ended is not held back.
#include "server/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace tlsresume::server {
namespace {

using std::chrono::seconds;

std::chrono::steady_clock::time_point g_now{seconds{1000}};
std::chrono::steady_clock::time_point fakeNow() noexcept { return g_now; }

// The message part of each stderr line ("2026-... warn  MESSAGE").
std::vector<std::string> messages(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("warn  ");
    out.push_back(at == std::string::npos ? line : line.substr(at + 6));
  }
  return out;
}

TEST(RateLimitedLog, FirstLineAtOnceThenOnePerPeriodWithTheCount) {
  setLogLevel(Level::info);
  RateLimitedLog limited(seconds{10}, &fakeNow);
  ::testing::internal::CaptureStderr();
  limited.log(Level::warn, "backend down");
  for (int i = 0; i < 5; ++i) {
    g_now += seconds{1};
    limited.log(Level::warn, "backend down");
  }
  g_now += seconds{5};  // 10 s after the first line
  limited.log(Level::warn, "backend down again");
  EXPECT_EQ(messages(::testing::internal::GetCapturedStderr()),
            (std::vector<std::string>{"backend down", "backend down again (and 5 more since the last report)"}));
}

TEST(RateLimitedLog, FlushReportsAFinishedBurstOnlyOnceItsPeriodHasPassed) {
  setLogLevel(Level::info);
  RateLimitedLog limited(seconds{10}, &fakeNow);
  ::testing::internal::CaptureStderr();
  limited.log(Level::warn, "backend down");
  g_now += seconds{1};
  limited.log(Level::warn, "backend down");
  limited.log(Level::warn, "backend refused");
  limited.flush();  // within the period: nothing yet
  g_now += seconds{9};
  flushRateLimitedLogs();  // what serve calls each second: reaches every live RateLimitedLog
  limited.flush();         // nothing more to say
  EXPECT_EQ(messages(::testing::internal::GetCapturedStderr()),
            (std::vector<std::string>{"backend down", "2 more like: backend refused"}));
}

TEST(RateLimitedLog, NothingWhenTheLevelIsOff) {
  setLogLevel(Level::error);
  RateLimitedLog limited(seconds{10}, &fakeNow);
  ::testing::internal::CaptureStderr();
  limited.log(Level::warn, "backend down");
  g_now += seconds{20};
  limited.flush();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  setLogLevel(Level::info);
}

}  // namespace
}  // namespace tlsresume::server
