// The worker's event loop: an idle loop sleeps in epoll_wait until its next tick, and
// wakes for posted tasks and stop().
#include "server/event_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tlsresume::server {
namespace {

TEST(EventLoop, AnIdleLoopWakesOnlyForItsTicks) {
  EventLoop loop;
  int batches = 0;
  int ticks = 0;
  // The loop stops itself after its tenth tick: about 200 ms of nothing to do.
  loop.run([&] { ++batches; },
           [&] {
             if (++ticks == 10) loop.stop();
           },
           std::chrono::milliseconds(20));
  EXPECT_EQ(ticks, 10);
  // One wake-up per tick (and the stop): a wait rounded down to 0 ms would spin through
  // hundreds of empty batches in the last millisecond before each tick.
  EXPECT_LE(batches, 2 * ticks + 2) << "batches for " << ticks << " ticks";
}

TEST(EventLoop, PostedTasksRunOnTheLoopsThreadAndStopEndsIt) {
  EventLoop loop;
  std::atomic<bool> ran{false};
  std::thread::id ran_on;
  std::thread poster([&] {
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      ran = true;
      loop.stop();
    });
  });
  const auto loop_thread = std::this_thread::get_id();
  loop.run([] {}, [] {}, std::chrono::milliseconds(1000));
  poster.join();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(ran_on, loop_thread);
}

}  // namespace
}  // namespace tlsresume::server
