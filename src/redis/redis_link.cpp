#include "redis/link_impl.hpp"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <csignal>

namespace tlsresume::redis {

using namespace detail;
using std::chrono::milliseconds;

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

void RedisLink::commandAfter(std::vector<std::string> first, std::vector<std::string> args,
                             std::chrono::milliseconds timeout, Callback done) {
  Impl::Queued lead, q;
  lead.deadline = q.deadline = Clock::now() + timeout;
  q.done = std::move(done);
  impl_->counters.commands.fetch_add(1, std::memory_order_relaxed);
  if (impl_->pending.fetch_add(2) + 2 > impl_->options.max_pending) {
    impl_->pending.fetch_sub(2);
    lead.refused = q.refused = true;
  } else {
    appendCommand(lead.wire, first);
    appendCommand(q.wire, args);
  }
  {
    // One push under one lock: the I/O thread drains the inbox whole, so the two leave together.
    std::lock_guard lock(impl_->mutex);
    impl_->inbox.push_back(std::move(lead));
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
    case State::tls_handshake:
      continueTls();
      return;
    case State::handshaking:
    case State::up:
      if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || (read_wants_write && (events & EPOLLOUT))) {
        read_wants_write = false;
        readAvailable();
      }
      // Also after a read: a TLS write that wanted to read first can go on now.
      if (transport.fd() >= 0 && out_offset < out.size()) flush();
      return;
    case State::idle:
      return;
  }
}

void RedisLink::Impl::readAvailable() {
  char buffer[kReadChunk];
  for (int i = 0; i < kReadsPerEvent; ++i) {
    std::size_t got = 0;
    std::string error;
    switch (transport.read(buffer, sizeof buffer, &got, &error)) {
      case Transport::Io::done:
        break;
      case Transport::Io::want_read:
        return;
      case Transport::Io::want_write:  // TLS has to write before it can read on
        read_wants_write = true;
        updateInterest();
        return;
      case Transport::Io::closed:
        fail("connection closed by Redis");
        return;
      case Transport::Io::failed:
        fail(error);
        return;
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
      case Transport::Io::done:
        out_offset += wrote;
        continue;
      case Transport::Io::want_read:
      case Transport::Io::want_write:
        updateInterest();
        return;
      case Transport::Io::closed:
        fail("connection closed by Redis");
        return;
      case Transport::Io::failed:
        fail(error);
        return;
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

}  // namespace tlsresume::redis
