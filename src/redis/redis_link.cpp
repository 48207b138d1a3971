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

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::milliseconds;

namespace {

constexpr std::uint64_t kWakeTag = 0;
constexpr std::uint64_t kSocketTag = 1;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kReadsPerEvent = 64;  // then back to epoll, so timers still run under a flood
// Redis's own bulk limit (proto-max-bulk-len) plus headroom: beyond that the peer is not Redis.
constexpr std::size_t kMaxBufferedReply = (512u << 20) + (1u << 20);

Reply failure(std::string why) {
  Reply r;
  r.str = std::move(why);
  return r;
}

// Runs a user callback; the contract forbids throwing, and noexcept makes a violation loud.
void deliver(RedisLink::Callback& done, Outcome outcome, Reply&& reply) noexcept {
  if (done) done(outcome, std::move(reply));
}

}  // namespace

struct RedisLink::Impl {
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
    ev.data.u64 = kWakeTag;
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
  ossl::SslCtxPtr ssl_ctx;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> is_up{false};
  std::atomic<std::size_t> pending{0};
  mutable std::mutex mutex;
  std::vector<Queued> inbox;       // guarded by mutex
  std::vector<Timer> new_timers;   // guarded by mutex
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

// ---- public face -----------------------------------------------------------------------------

RedisLink::RedisLink(LinkOptions options, LinkObserver* observer)
    : impl_(std::make_unique<Impl>(std::move(options), observer)) {}

RedisLink::~RedisLink() {
  stop();
  impl_->failAll("link stopped");
}

void RedisLink::start() {
  if (impl_->thread.joinable() || impl_->stopping) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void RedisLink::stop() noexcept {
  impl_->stopping = true;
  impl_->wake();
  // From a callback on the link's own thread the loop just ends; the destructor joins.
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) impl_->thread.join();
}

void RedisLink::command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) {
  Impl::Queued q;
  q.deadline = Clock::now() + timeout;
  q.done = std::move(done);
  impl_->counters.commands.fetch_add(1, std::memory_order_relaxed);
  if (impl_->pending.fetch_add(1) >= impl_->options.max_pending) {
    impl_->pending.fetch_sub(1);
    q.refused = true;
  } else {
    appendCommand(q.wire, args);
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->inbox.push_back(std::move(q));
  }
  impl_->wake();
}

void RedisLink::every(std::chrono::milliseconds period, std::function<void()> fn) {
  if (period.count() < 1) period = milliseconds(1);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->new_timers.push_back({period, Clock::now() + period, std::move(fn)});
  }
  impl_->wake();
}

bool RedisLink::up() const noexcept { return impl_->is_up.load(); }

std::string RedisLink::lastError() const {
  if (impl_->is_up) return {};
  std::lock_guard lock(impl_->mutex);
  return impl_->last_error;
}

RedisLink::Stats RedisLink::stats() const noexcept {
  const auto& c = impl_->counters;
  return {c.commands.load(), c.timeouts.load(), c.errors.load(), c.reconnects.load(), c.refused.load()};
}

// ---- the I/O thread --------------------------------------------------------------------------

void RedisLink::Impl::run() noexcept {
  // A write to a socket Redis closed must come back as EPIPE, not kill the process. SIGPIPE is
  // raised on the writing thread, so blocking it here is enough (OpenSSL writes with write()).
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  beginCycle();
  epoll_event events[8];
  while (!stopping) {
    const int n = epoll_wait(epoll_fd, events, 8, waitMs(Clock::now()));
    for (int i = 0; i < n && !stopping; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd, &count, sizeof count);
      } else if (transport.fd() >= 0) {
        onSocket(events[i].events);
      }
    }
    if (stopping) break;
    const auto now = Clock::now();
    drainInbox(now);
    fireTimers(Clock::now());
  }
  transport.close();
  is_up = false;
  failAll("link stopped");
}

// Everything still owed a callback gets error: what is in flight, then what is queued.
void RedisLink::Impl::failAll(const std::string& reason) noexcept {
  std::deque<InFlight> owed;
  owed.swap(fifo);
  deadlines = {};
  for (auto& e : owed) {
    if (e.step != Step::user) continue;
    pending.fetch_sub(1);
    if (e.abandoned) continue;
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    deliver(e.done, Outcome::error, failure(reason));
  }
  wipeOutput();
  std::vector<Queued> queued;
  {
    std::lock_guard lock(mutex);
    queued.swap(inbox);
  }
  for (auto& q : queued) {
    if (!q.refused) pending.fetch_sub(1);
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    deliver(q.done, Outcome::error, failure(reason));
  }
}

void RedisLink::Impl::drainInbox(TimePoint now) {
  std::vector<Queued> batch;
  {
    std::lock_guard lock(mutex);
    batch.swap(inbox);
    for (auto& t : new_timers) timers.push_back(std::move(t));
    new_timers.clear();
  }
  bool wrote = false;
  for (auto& q : batch) {
    if (q.refused || state != State::up) {
      if (!q.refused) pending.fetch_sub(1);
      counters.refused.fetch_add(1, std::memory_order_relaxed);
      counters.errors.fetch_add(1, std::memory_order_relaxed);
      std::string why = q.refused ? "queue full (max_pending reached)" : "link down";
      if (!q.refused) {
        std::lock_guard lock(mutex);
        why += ": " + last_error;
      }
      deliver(q.done, Outcome::error, failure(std::move(why)));
      continue;
    }
    if (q.deadline <= now) {  // waited in the queue past its deadline (a slow callback)
      pending.fetch_sub(1);
      counters.timeouts.fetch_add(1, std::memory_order_relaxed);
      deliver(q.done, Outcome::timeout, failure("timed out"));
      continue;
    }
    InFlight e;
    e.deadline = q.deadline;
    e.done = std::move(q.done);
    enqueue(std::move(q.wire), std::move(e));
    wrote = true;
  }
  if (wrote) flush();
}

void RedisLink::Impl::enqueue(std::string&& wire, InFlight&& entry) {
  const bool secret = entry.step == Step::auth;
  entry.sent = Clock::now();
  deadlines.push({entry.deadline, front_seq + fifo.size()});
  fifo.push_back(std::move(entry));
  if (out.empty()) {
    out = std::move(wire);
    out_offset = 0;
  } else {
    out += wire;
    if (secret) OPENSSL_cleanse(wire.data(), wire.size());
  }
}

// ---- connecting ------------------------------------------------------------------------------

void RedisLink::Impl::beginCycle() {
  if (attempted) counters.reconnects.fetch_add(1, std::memory_order_relaxed);
  attempted = true;
  std::string error;
  addresses = resolve(options.endpoint, &error);
  next_address = 0;
  cycle_error = addresses.empty() ? error : "no address to try";
  tryNextAddress();
}

// Tries the cycle's addresses in turn until one is connecting; none left: down, then backoff.
void RedisLink::Impl::tryNextAddress() {
  while (next_address < addresses.size()) {
    std::string error;
    const auto io = transport.connect(addresses[next_address++], &error);
    if (io == Transport::Io::failed) {
      cycle_error = error;
      continue;
    }
    connect_deadline = Clock::now() + options.connect_timeout;
    epoll_event ev{};
    ev.events = interest = EPOLLIN | EPOLLOUT;
    ev.data.u64 = kSocketTag;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, transport.fd(), &ev);
    state = State::connecting;
    if (io == Transport::Io::done) afterConnect();
    return;
  }
  fail(cycle_error);
}

void RedisLink::Impl::afterConnect() {
  if (!ssl_ctx) {
    startSession();
    return;
  }
  std::string error;
  if (!transport.startTls(ssl_ctx.get(), options.tls_server_name, &error)) {
    fail(error);
    return;
  }
  state = State::tls_handshake;
  continueTls();
}

void RedisLink::Impl::continueTls() {
  std::string error;
  std::uint32_t want = EPOLLIN;
  switch (transport.handshake(&error)) {
    case Transport::Io::done: startSession(); return;
    case Transport::Io::want_read: break;
    case Transport::Io::want_write: want |= EPOLLOUT; break;
    default: fail(error); return;
  }
  if (want == interest) return;
  epoll_event ev{};
  ev.events = interest = want;
  ev.data.u64 = kSocketTag;
  epoll_ctl(epoll_fd, EPOLL_CTL_MOD, transport.fd(), &ev);
}

// AUTH, then CLIENT SETNAME; with neither, a PING, so "up" always means Redis answered (a
// stopped server still completes TCP handshakes from its listen backlog).
void RedisLink::Impl::startSession() {
  state = State::handshaking;
  reader = std::make_unique<ReplyReader>();
  last_read = Clock::now();
  const auto deadline = Clock::now() + options.connect_timeout;
  std::vector<std::pair<Step, std::vector<std::string>>> steps;
  if (!options.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!options.user.empty()) auth.push_back(options.user);
    auth.push_back(options.password);
    steps.emplace_back(Step::auth, std::move(auth));
  }
  if (!options.name.empty()) steps.emplace_back(Step::setname, std::vector<std::string>{"CLIENT", "SETNAME", options.name});
  if (steps.empty()) steps.emplace_back(Step::ping, std::vector<std::string>{"PING"});
  for (std::size_t i = 0; i < steps.size(); ++i) {
    InFlight e;
    e.step = steps[i].first;
    e.last_step = i + 1 == steps.size();
    e.deadline = deadline;
    if (e.step == Step::auth) out_has_secret = true;
    enqueue(encodeCommand(steps[i].second), std::move(e));
    for (auto& arg : steps[i].second) OPENSSL_cleanse(arg.data(), arg.size());
  }
  flush();
}

void RedisLink::Impl::goUp() {
  state = State::up;
  failures = 0;
  is_up = true;
  {
    std::lock_guard lock(mutex);
    last_error.clear();
  }
  if (reported != Reported::up) {
    reported = Reported::up;
    if (observer) observer->onLinkUp();
  }
}

// ---- failing ---------------------------------------------------------------------------------

void RedisLink::Impl::markDown(const std::string& reason) {
  is_up = false;
  {
    std::lock_guard lock(mutex);
    last_error = reason;
  }
  if (reported != Reported::down) {
    reported = Reported::down;
    if (observer) observer->onLinkDown(reason);
  }
}

// The connection (or the attempt) is over: every command on it fails, then a retry after a
// jittered exponential backoff.
void RedisLink::Impl::fail(const std::string& reason) {
  dropConnection(reason);
  const auto shift = std::min(failures, 20u);
  ++failures;
  auto delay = options.backoff_min * (1ll << shift);
  if (delay > options.backoff_max || delay.count() <= 0) delay = options.backoff_max;
  // Full jitter over the upper half: a fleet that lost Redis together does not return together.
  std::uniform_int_distribution<long long> pick(delay.count() / 2, delay.count());
  retry_at = Clock::now() + milliseconds(pick(rng));
  state = State::idle;
}

void RedisLink::Impl::dropConnection(const std::string& reason) {
  if (transport.fd() >= 0) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, transport.fd(), nullptr);
  transport.close();
  reader.reset();
  interest = 0;
  read_wants_write = false;
  state = State::idle;
  markDown(reason);
  std::deque<InFlight> owed;
  owed.swap(fifo);
  deadlines = {};
  front_seq += owed.size();
  wipeOutput();
  for (auto& e : owed) {
    if (e.step != Step::user) continue;
    pending.fetch_sub(1);
    if (e.abandoned) continue;
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    deliver(e.done, Outcome::error, failure("connection lost: " + reason));
  }
}

void RedisLink::Impl::wipeOutput() noexcept {
  if (out_has_secret) {
    // The AUTH bytes may sit anywhere in the buffer's capacity, sent or not.
    out.resize(out.capacity());
    OPENSSL_cleanse(out.data(), out.size());
    out_has_secret = false;
  }
  out.clear();
  out_offset = 0;
}

// ---- reading and writing ---------------------------------------------------------------------

void RedisLink::Impl::onSocket(std::uint32_t events) {
  switch (state) {
    case State::connecting: {
      std::string error;
      const auto io = transport.finishConnect(&error);
      if (io == Transport::Io::want_write) return;
      if (io == Transport::Io::failed) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, transport.fd(), nullptr);
        transport.close();
        cycle_error = error;
        tryNextAddress();
        return;
      }
      afterConnect();
      return;
    }
    case State::tls_handshake: continueTls(); return;
    case State::handshaking:
    case State::up:
      if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (read_wants_write && (events & EPOLLOUT))) {
        read_wants_write = false;
        readAvailable();
      }
      // Also after a read: a TLS write that wanted to read first can go on now.
      if (transport.fd() >= 0 && out_offset < out.size()) flush();
      return;
    case State::idle: return;
  }
}

void RedisLink::Impl::readAvailable() {
  char buffer[kReadChunk];
  for (int i = 0; i < kReadsPerEvent; ++i) {
    std::size_t got = 0;
    std::string error;
    switch (transport.read(buffer, sizeof buffer, &got, &error)) {
      case Transport::Io::done: break;
      case Transport::Io::want_read: return;
      case Transport::Io::want_write:  // TLS has to write before it can read on
        read_wants_write = true;
        updateInterest();
        return;
      case Transport::Io::closed: fail("connection closed by Redis"); return;
      case Transport::Io::failed: fail(error); return;
    }
    last_read = Clock::now();
    if (!reader->feed(buffer, got) || reader->buffered() > kMaxBufferedReply) {
      fail("protocol error: reply too large or unreadable");
      return;
    }
    for (;;) {
      Reply reply;
      const auto status = reader->next(reply);
      if (status == ReplyReader::Status::incomplete) break;
      if (status == ReplyReader::Status::protocol_error) {
        fail("protocol error: " + reader->error());
        return;
      }
      if (!dispatch(std::move(reply))) return;
    }
  }
}

// Matches one reply to the oldest command on the wire. False: the connection is gone.
bool RedisLink::Impl::dispatch(Reply&& reply) {
  if (fifo.empty()) {
    fail("protocol error: a reply without a command");
    return false;
  }
  InFlight e = std::move(fifo.front());
  fifo.pop_front();
  ++front_seq;
  if (e.step != Step::user) {
    if (reply.type == Reply::Type::error) {
      // Redis's own words ("WRONGPASS invalid username-password pair…"); it never echoes the
      // password.
      fail(reply.str);
      return false;
    }
    if (e.last_step) {
      if (out_has_secret && out.empty()) wipeOutput();
      goUp();
    }
    return true;
  }
  pending.fetch_sub(1);
  if (e.abandoned) return true;
  const bool is_error = reply.type == Reply::Type::error;
  if (is_error) counters.errors.fetch_add(1, std::memory_order_relaxed);
  deliver(e.done, is_error ? Outcome::error : Outcome::ok, std::move(reply));
  return transport.fd() >= 0;
}

void RedisLink::Impl::flush() {
  while (out_offset < out.size()) {
    std::size_t wrote = 0;
    std::string error;
    switch (transport.write(out.data() + out_offset, out.size() - out_offset, &wrote, &error)) {
      case Transport::Io::done: out_offset += wrote; continue;
      case Transport::Io::want_read:
      case Transport::Io::want_write: updateInterest(); return;
      case Transport::Io::closed: fail("connection closed by Redis"); return;
      case Transport::Io::failed: fail(error); return;
    }
  }
  if (out_has_secret) {
    wipeOutput();
  } else {
    out.clear();
    out_offset = 0;
  }
  updateInterest();
}

void RedisLink::Impl::updateInterest() {
  if (transport.fd() < 0) return;
  const std::uint32_t want = EPOLLIN | (out_offset < out.size() || read_wants_write ? std::uint32_t{EPOLLOUT} : 0u);
  if (want == interest) return;
  epoll_event ev{};
  ev.events = interest = want;
  ev.data.u64 = kSocketTag;
  epoll_ctl(epoll_fd, EPOLL_CTL_MOD, transport.fd(), &ev);
}

// ---- time ------------------------------------------------------------------------------------

void RedisLink::Impl::fireTimers(TimePoint now) {
  // Per-command deadlines: the callback runs now, the entry stays so later replies still match.
  while (!deadlines.empty() && deadlines.top().at <= now) {
    const auto d = deadlines.top();
    deadlines.pop();
    if (d.seq < front_seq || d.seq - front_seq >= fifo.size()) continue;  // answered already
    auto& e = fifo[d.seq - front_seq];
    if (e.abandoned) continue;
    if (e.step != Step::user) {
      fail("timed out: no answer to the session handshake");
      break;
    }
    e.abandoned = true;
    counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    auto done = std::move(e.done);  // the callback may enqueue: no reference into fifo after this
    deliver(done, Outcome::timeout, failure("timed out"));
  }
  // A connection that has commands waiting and has said nothing for connect_timeout is dead
  // (Redis stopped, a silent network drop): every waiting command has timed out by now.
  if ((state == State::handshaking || state == State::up) && !fifo.empty() &&
      now >= std::max(last_read, fifo.front().sent) + options.connect_timeout) {
    fail("timed out: no reply from Redis for " + std::to_string(options.connect_timeout.count()) + " ms");
  }
  if ((state == State::connecting || state == State::tls_handshake) && now >= connect_deadline) {
    if (state == State::connecting && next_address < addresses.size()) {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, transport.fd(), nullptr);
      transport.close();
      cycle_error = "timed out connecting";
      tryNextAddress();
    } else {
      fail(state == State::connecting ? "timed out connecting" : "timed out in the TLS handshake");
    }
  }
  if (state == State::idle && now >= retry_at) beginCycle();
  for (auto& t : timers) {
    if (now < t.next) continue;
    t.next += t.period;
    if (t.next <= now) t.next = now + t.period;  // fell behind (a slow callback): no burst
    t.fn();
  }
}

int RedisLink::Impl::waitMs(TimePoint now) const {
  TimePoint next = now + milliseconds(1000);
  if (!deadlines.empty()) next = std::min(next, deadlines.top().at);
  if ((state == State::handshaking || state == State::up) && !fifo.empty())
    next = std::min(next, std::max(last_read, fifo.front().sent) + options.connect_timeout);
  if (state == State::connecting || state == State::tls_handshake) next = std::min(next, connect_deadline);
  if (state == State::idle) next = std::min(next, retry_at);
  for (const auto& t : timers) next = std::min(next, t.next);
  if (next <= now) return 0;
  // Rounded up: waking a little early would spin with a zero timeout until the deadline.
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(next - now).count();
  return static_cast<int>((us + 999) / 1000);
}

}  // namespace tlsresume::redis
