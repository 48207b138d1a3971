#pragma once
// The state a RedisLink's I/O thread owns, shared by redis_link.cpp (the public face, the loop,
// reading and writing) and link_lifecycle.cpp (connecting, failing, backoff, deadlines).
#include "redis/redis_link.hpp"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>

#include "redis/resp.hpp"
#include "redis/transport.hpp"

namespace tlsresume::redis {
namespace detail {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

inline constexpr std::uint64_t kWakeTag = 0;
inline constexpr std::uint64_t kSocketTag = 1;
inline constexpr std::size_t kReadChunk = 16 * 1024;
inline constexpr int kReadsPerEvent = 64;  // then back to epoll, so timers still run under a flood
// Redis's own bulk limit (proto-max-bulk-len) plus headroom: beyond that the peer is not Redis.
inline constexpr std::size_t kMaxBufferedReply = (512u << 20) + (1u << 20);

inline Reply failure(std::string why) {
  Reply r;
  r.str = std::move(why);
  return r;
}

// Runs a user callback; the contract forbids throwing, and noexcept makes a violation loud.
inline void deliver(RedisLink::Callback& done, Outcome outcome, Reply&& reply) noexcept {
  if (done) done(outcome, std::move(reply));
}

}  // namespace detail

struct RedisLink::Impl {
  using Clock = detail::Clock;
  using TimePoint = detail::TimePoint;
  using milliseconds = std::chrono::milliseconds;

  enum class State { idle, connecting, tls_handshake, handshaking, up };
  enum class Reported { nothing, up, down };
  enum class Step { user, auth, setname, ping };

  struct Queued {
    std::string wire;
    TimePoint deadline;
    Callback done;
    bool refused = false;
  };
  struct InFlight {
    Step step = Step::user;
    bool last_step = false;  // its OK reply completes the session handshake
    bool abandoned = false;  // timed out: its reply, when it comes, is dropped
    TimePoint deadline;
    TimePoint sent;
    Callback done;
  };
  struct Deadline {
    TimePoint at;
    std::uint64_t seq;
    bool operator>(const Deadline& o) const noexcept { return at > o.at; }
  };
  struct Timer {
    milliseconds period;
    TimePoint next;
    std::function<void()> fn;
  };

  Impl(LinkOptions o, LinkObserver* obs) : options(std::move(o)), observer(obs) {
    if (options.tls_server_name.empty()) options.tls_server_name = options.endpoint.host;
    if (options.backoff_min.count() < 1) options.backoff_min = milliseconds(1);
    if (options.backoff_max < options.backoff_min) options.backoff_max = options.backoff_min;
    if (options.endpoint.kind == Endpoint::Kind::tls) ssl_ctx = makeClientContext(options.tls_ca_file);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0) {
      closeFds();
      throw std::runtime_error("redis link: out of descriptors for epoll/eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = detail::kWakeTag;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    rng.seed(std::random_device{}());
  }

  ~Impl() {
    closeFds();
    OPENSSL_cleanse(options.password.data(), options.password.size());
  }

  void closeFds() noexcept {
    if (wake_fd >= 0) ::close(wake_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    wake_fd = epoll_fd = -1;
  }

  void wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_fd, &one, sizeof one);
  }

  // ---- shared with callers (mutex or atomics) ------------------------------------------------
  LinkOptions options;
  LinkObserver* observer;
  tls::SslCtxPtr ssl_ctx;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> is_up{false};
  std::atomic<std::size_t> pending{0};
  mutable std::mutex mutex;
  std::vector<Queued> inbox;                     // guarded by mutex
  std::vector<Timer> new_timers;                 // guarded by mutex
  std::string last_error = "not connected yet";  // guarded by mutex
  struct {
    std::atomic<std::uint64_t> commands{0}, timeouts{0}, errors{0}, reconnects{0}, refused{0};
  } counters;

  // ---- the I/O thread's own ------------------------------------------------------------------
  State state = State::idle;
  Reported reported = Reported::nothing;
  Transport transport;
  std::unique_ptr<ReplyReader> reader;
  std::deque<InFlight> fifo;
  std::uint64_t front_seq = 0;  // sequence number of fifo.front()
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
  std::string out;
  std::size_t out_offset = 0;
  bool out_has_secret = false;
  std::uint32_t interest = 0;
  bool read_wants_write = false;
  std::vector<Address> addresses;
  std::size_t next_address = 0;
  std::string cycle_error;  // the last connect failure of this cycle of addresses
  TimePoint connect_deadline{};
  TimePoint retry_at{};
  TimePoint last_read{};
  unsigned failures = 0;
  bool attempted = false;
  std::vector<Timer> timers;
  std::minstd_rand rng;

  void run() noexcept;
  void drainInbox(TimePoint now);
  void beginCycle();
  void tryNextAddress();
  void onSocket(std::uint32_t events);
  void afterConnect();
  void continueTls();
  void startSession();
  void goUp();
  void readAvailable();
  bool dispatch(Reply&& reply);
  void flush();
  void enqueue(std::string&& wire, InFlight&& entry);
  void updateInterest();
  void fail(const std::string& reason);
  void dropConnection(const std::string& reason);
  void markDown(const std::string& reason);
  void fireTimers(TimePoint now);
  int waitMs(TimePoint now) const;
  void failAll(const std::string& reason) noexcept;
  void wipeOutput() noexcept;
};

}  // namespace tlsresume::redis
