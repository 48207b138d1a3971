#include "server/worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "openssl/tls_frontend.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"

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
  loop_.run([this] { freeRetired(); }, [this] { sweep(); }, std::chrono::milliseconds{250});
}

void Worker::acceptFrom(int fd) noexcept {
  // Bounded per wake-up so one busy listener cannot starve open connections.
  for (int i = 0; i < 64; ++i) {
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EMFILE || errno == ENFILE) log(Level::warn, "accept: out of file descriptors");
      return;
    }
    ctx_.metrics->onConnectionAccepted();
    ossl::SslPtr ssl = ctx_.tls->newConnection();
    if (!ssl || SSL_set_fd(ssl.get(), client) != 1) {
      ::close(client);
      continue;
    }
    SSL_set_accept_state(ssl.get());
    auto* c = new (std::nothrow) Connection(*this, ctx_, client, std::move(ssl));
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
  if (draining_.load()) {
    if (!listeners_closed_) {
      for (int fd : listen_fds_) {
        loop_.remove(fd);
        ::close(fd);
      }
      listeners_closed_ = true;
    }
    const auto deadline =
        std::chrono::steady_clock::time_point{std::chrono::steady_clock::duration{drain_deadline_ns_.load()}};
    if (open_ == 0 || now >= deadline) loop_.stop();
  }
}

}  // namespace tlsresume::server
