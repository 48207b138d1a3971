#include "server/worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "tls/read_ahead.hpp"
#include "tls/tls_frontend.hpp"
#include "server/access_log.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/tls_holder.hpp"

namespace tlsresume::server {

Worker::Worker(const ServingContext& ctx, std::vector<int> listen_fds) : ctx_(ctx), listen_fds_(std::move(listen_fds)) {
  for (int fd : listen_fds_) {
    listeners_.push_back(std::make_unique<Listener>(this, fd));
    loop_.add(fd, EPOLLIN, listeners_.back().get());
  }
}

Worker::~Worker() {
  while (head_) {
    Connection* c = head_;
    head_ = c->next;
    delete c;
  }
  freeRetired();
  if (!listeners_closed_)
    for (int fd : listen_fds_) ::close(fd);
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}
void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::drain(std::chrono::seconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  drain_deadline_ns_.store(deadline.time_since_epoch().count());
  draining_.store(true);
}

void Worker::run() {
  // The access-log lines of the connections closed in a batch leave in one write.
  loop_.run(
      [this] {
        freeRetired();
        if (ctx_.access_log) ctx_.access_log->flushThread();
      },
      [this] {
        sweep();
        if (ctx_.access_log) ctx_.access_log->flushThread();
      },
      std::chrono::milliseconds{250});
  if (ctx_.access_log) ctx_.access_log->flushThread();
}

void Worker::acceptFrom(int fd) noexcept {
  // Bounded per wake-up so one busy listener cannot starve open connections.
  for (int i = 0; i < 64; ++i) {
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pauseAccepting();
      return;
    }
    ctx_.metrics->onConnectionAccepted();
    std::shared_ptr<TlsSetup> tls = ctx_.tls->current();
    tls::SslPtr ssl = tls->frontend->newConnection();
    if (!ssl || SSL_set_fd(ssl.get(), client) != 1) {
      ::close(client);
      continue;
    }
    // BoringSSL reads a record header, then its body: without this a resumed connection
    // costs a read() per record (OpenSSL reads ahead itself; set on its contexts).
    if (!tls::kLibraryReadsAhead) tls::readAhead(ssl.get());
    SSL_set_accept_state(ssl.get());
    auto* c = new (std::nothrow) Connection(*this, ctx_, client, std::move(ssl), std::move(tls));
    if (!c) {
      ::close(client);
      continue;
    }
    c->next = head_;
    if (head_) head_->prev = c;
    head_ = c;
    ++open_;
    c->start();
  }
}

void Worker::pauseAccepting() noexcept {
  // The pending connection stays queued, so a level-triggered listener would wake every
  // wait and spin the core. Stop watching the listeners until the next sweep (250 ms),
  // by when connections may have closed; the kernel's backlog holds new clients meanwhile.
  const int err = errno;
  if (accept_paused_) return;
  for (int fd : listen_fds_) loop_.remove(fd);
  accept_paused_ = true;
  ++pauses_since_log_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_pause_log_ >= std::chrono::seconds{10}) {
    last_pause_log_ = now;
    try {
      log(Level::warn, std::string("accept: ") +
                           (err == EMFILE || err == ENFILE ? "out of file descriptors" : "out of memory") +
                           "; accepting paused (" + std::to_string(pauses_since_log_) +
                           " pause(s) of 250 ms since the last report; raise the open-files limit or lower the load)");
      pauses_since_log_ = 0;
    } catch (...) {
      // Out of memory for the message too: the pause itself is what matters.
    }
  }
}

void Worker::resumeAccepting() noexcept {
  if (!accept_paused_ || listeners_closed_) return;
  bool all = true;
  for (std::size_t i = 0; i < listen_fds_.size(); ++i)
    if (!loop_.add(listen_fds_[i], EPOLLIN, listeners_[i].get()) && errno != EEXIST) all = false;
  accept_paused_ = !all;  // a listener epoll could not take yet is retried at the next sweep
}

void Worker::retire(Connection* c) noexcept {
  if (c->prev)
    c->prev->next = c->next;
  else
    head_ = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  --open_;
  retired_.push_back(c);
}

void Worker::freeRetired() noexcept {
  for (Connection* c : retired_) delete c;
  retired_.clear();
}

void Worker::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (Connection* c = head_; c;) {
    Connection* next = c->next;  // onTimeout may retire c
    if (c->expired(now)) c->onTimeout();
    c = next;
  }
  freeRetired();
  if (!draining_.load()) {
    resumeAccepting();
    return;
  }
  if (!listeners_closed_) {
    for (int fd : listen_fds_) {
      loop_.remove(fd);
      ::close(fd);
    }
    listeners_closed_ = true;
  }
  for (Connection* c = head_; c;) {
    Connection* next = c->next;  // onDrain may retire c
    c->onDrain();
    c = next;
  }
  freeRetired();
  const auto deadline =
      std::chrono::steady_clock::time_point{std::chrono::steady_clock::duration{drain_deadline_ns_.load()}};
  if (open_ != 0 && now >= deadline) {
    // Out of time: a close_notify to each client (best effort), then stop.
    for (Connection* c = head_; c;) {
      Connection* next = c->next;
      c->closeNow();
      c = next;
    }
    freeRetired();
  }
  if (open_ == 0 || now >= deadline) loop_.stop();
}

}  // namespace tlsresume::server
