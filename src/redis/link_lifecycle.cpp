#include "redis/link_impl.hpp"

#include <openssl/crypto.h>
#include <sys/epoll.h>

#include <algorithm>

namespace tlsresume::redis {

using namespace detail;
using std::chrono::milliseconds;

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
    case Transport::Io::done:
      startSession();
      return;
    case Transport::Io::want_read:
      break;
    case Transport::Io::want_write:
      want |= EPOLLOUT;
      break;
    default:
      fail(error);
      return;
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
  if (!options.name.empty())
    steps.emplace_back(Step::setname, std::vector<std::string>{"CLIENT", "SETNAME", options.name});
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
