#include "server/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls/compat.hpp"
#include "tls/tls_frontend.hpp"
#include "tls/write_batch.hpp"
#include "server/access_log.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"
#include "server/proxy_header.hpp"
#include "server/tls_holder.hpp"
#include "server/worker.hpp"

namespace tlsresume::server {
namespace {

// Per-direction buffer bound: reading from a side stops while the buffer toward the
// other side holds this much (back-pressure instead of unbounded memory).
constexpr std::size_t kMaxBuffered = std::size_t{64} * 1024;
constexpr std::size_t kChunk = std::size_t{16} * 1024;
// How long a connection that answered with unread input (an error reply, a pipelined
// request after "Connection: close") keeps reading and dropping the client's bytes, in
// all: enough for a request body in flight, bounded so a client cannot hold it open.
constexpr std::chrono::seconds kLingerTime{2};

TlsVersion versionOf(const SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_2_VERSION:
      return TlsVersion::tls12;
    case TLS1_3_VERSION:
      return TlsVersion::tls13;
    default:
      return TlsVersion::unknown;
  }
}

const char* resumedLabel(HandshakeKind k) { return k == HandshakeKind::full ? "no" : toString(k); }

// SSL_get_error needs an empty error queue before each TLS call. Every failure path
// clears it, so it is almost always empty already: peeking costs a fraction of
// ERR_clear_error (which walks all 16 slots), and this runs several times per connection.
void clearErrors() noexcept {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// Reads and drops what the client's socket holds now, through the socket BIO so that the
// access log counts it; false if that may not be all.
bool takeArrivedInput(SSL* ssl) noexcept {
  BIO* sock = BIO_find_type(SSL_get_rbio(ssl), BIO_TYPE_SOCKET);
  if (!sock) return false;
  char buf[kChunk];
  return BIO_read(sock, buf, sizeof buf) < static_cast<int>(sizeof buf);
}

}  // namespace

Connection::Connection(Worker& worker, const ServingContext& ctx, int client_fd, tls::SslPtr ssl,
                       std::shared_ptr<TlsSetup> tls)
    : worker_(worker), ctx_(ctx), client_fd_(client_fd), tls_(std::move(tls)), ssl_(std::move(ssl)) {
  started_ = last_activity_ = std::chrono::steady_clock::now();
}

Connection::~Connection() {
  if (wake_token_) wake_token_->connection = nullptr;
  if (client_fd_ >= 0) ::close(client_fd_);
  if (backend_fd_ >= 0) ::close(backend_fd_);
}

bool Connection::watch(int fd, std::uint32_t want, std::uint32_t& current, EventHandler& handler) noexcept {
  // epoll reports EPOLLERR and EPOLLHUP whatever the mask, so a socket held back (its
  // buffer toward the other side is full) with a level-triggered mask of 0 would wake the
  // loop on every wait once its peer reset, and spin a core. Held back, a socket is
  // watched edge-triggered for nothing: the reset is reported once, and the handler acts
  // on it (a client that reset is closed at once; a backend's error waits for its turn).
  const std::uint32_t mask = want == 0 ? std::uint32_t{EPOLLET} : want;
  if (mask == current) return true;
  const bool ok = current == 0 ? worker_.loop().add(fd, mask, &handler) : worker_.loop().modify(fd, mask, &handler);
  if (ok) current = mask;
  return ok;
}

void Connection::start() {
  ctx_.metrics->onConnectionOpen(+1);
  if (ctx_.access_log || ctx_.proxy_protocol_v2) {
    peer_len_ = sizeof peer_;
    if (getpeername(client_fd_, reinterpret_cast<sockaddr*>(&peer_), &peer_len_) != 0) peer_len_ = 0;
  }
  if (ctx_.remote_lookups) {
    auto* st = tls::TlsFrontend::state(ssl_.get());
    try {
      wake_token_ = std::make_shared<WakeToken>(WakeToken{this});
      // Called on the remote tier's thread: only posts to this worker's loop, which runs
      // the task on the worker's thread, where the connection lives (or has gone).
      if (st)
        st->wake = [loop = &worker_.loop(), token = wake_token_] {
          loop->post([token] {
            if (token->connection) token->connection->onRemoteLookupDone();
          });
        };
    } catch (...) {
      wake_token_.reset();  // out of memory: this connection resumes from the local tier only
    }
  }
  if (!watch(client_fd_, EPOLLIN, client_interest_, client_side_)) {
    closeReason("internal error");
    close(false);
    return;
  }
  handshake();  // the ClientHello is often already there
}

bool Connection::expired(std::chrono::steady_clock::time_point now) const noexcept {
  // A client that stops reading must not hold the last flight forever.
  if (state_ == State::flushing) return now - last_activity_ > ctx_.handshake_timeout;
  if (state_ == State::lingering) return now >= linger_until_;
  if (closed_) return false;
  if (state_ == State::handshaking) return now - started_ > ctx_.handshake_timeout;
  // A backend that drops SYNs must not hold the client until the idle timeout.
  if (state_ == State::connecting) return now - last_activity_ > ctx_.handshake_timeout;
  return now - last_activity_ > ctx_.idle_timeout;
}

void Connection::onDrain() noexcept {
  // A keep-alive client between requests would hold the drain until its deadline. (A
  // request already under way is answered, with "Connection: close"; so is the first
  // request of a connection that has not sent one yet: it was opened to be used, and
  // HTTP clients retry only what was refused on a reused connection.) Proxied bytes have
  // no request boundaries we could see: those connections get the grace period.
  if (closed_ || state_ != State::streaming || !ctx_.builtin_backend || !answered_) return;
  if (!to_backend_.empty() || !to_client_.empty()) return;
  linger_ = clientMaySendMore();  // a request that just arrived must not turn the close into a reset
  closeReason("drain");
  close(true);
}

void Connection::closeNow() noexcept {
  closeReason("drain timeout");
  close(true);
}

void Connection::onTimeout() noexcept {
  if (state_ == State::flushing || state_ == State::lingering) {
    finish();
    return;
  }
  if (state_ == State::handshaking) {
    closeReason("handshake timeout");
    ctx_.metrics->onHandshakeTimeout();
    const auto* st = tls::TlsFrontend::state(ssl_.get());
    ctx_.metrics->onHandshake(st ? st->host : 0, TlsVersion::unknown, HandshakeKind::failed, {});
    close(false);
    return;
  }
  if (state_ == State::connecting) {
    touch();  // the next address gets a timeout of its own
    if (connectNextBackendAddress()) return;
    onBackendFailure("connect timed out", 0);
  }
  closeReason("idle timeout");
  close(true);
}

void Connection::onClientEvents(std::uint32_t events) noexcept {
  if (state_ == State::flushing) {
    touch();
    tls::FlushResult flushed = tls::flushWrites(ssl_.get());
    if (flushed == tls::FlushResult::done) {
      // A close_notify that did not fit behind the batch is still inside OpenSSL: a
      // second SSL_shutdown dispatches it (otherwise it reads, and may drop, what the
      // client sent: harmless, we are closing).
      clearErrors();
      SSL_shutdown(ssl_.get());
      flushed = tls::flushWrites(ssl_.get());
      clearErrors();
    }
    if (flushed == tls::FlushResult::done)
      afterFinalFlush();
    else if (flushed == tls::FlushResult::failed)
      finish();
    return;
  }
  if (state_ == State::lingering) {
    drainLingering();
    return;
  }
  if (closed_) return;
  if ((events & (EPOLLERR | EPOLLHUP)) && state_ != State::handshaking) {
    // Past the handshake we never shut our side toward the client (only lingering does),
    // so a hang-up or an error means the client reset: nothing we send can arrive.
    closeReason("client reset");
    close(false);
    return;
  }
  touch();
  if (state_ == State::handshaking) {
    // Paused for a remote lookup: the ClientHello is read, and OpenSSL must not be driven
    // again before the answer (its callback would go on without it). A reset closes.
    if (awaiting_remote_) {
      if (events & (EPOLLERR | EPOLLHUP)) {
        closeReason("client reset");
        close(false);
      }
      return;
    }
    handshake();
  } else {
    pump();
  }
}

void Connection::onRemoteLookupDone() noexcept {
  if (closed_ || !awaiting_remote_) return;
  awaiting_remote_ = false;
  touch();
  handshake();
}

void Connection::onBackendEvents(std::uint32_t events) noexcept {
  if (closed_) return;
  touch();
  if (state_ == State::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(backend_fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
        (events & (EPOLLERR | EPOLLHUP))) {
      if (connectNextBackendAddress()) return;
      onBackendFailure("connect", err);
      close(true);
      return;
    }
    state_ = State::streaming;
  }
  pump();
}

void Connection::handshake() {
  clearErrors();
  const int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshakeDone();
    return;
  }
  const int err = SSL_get_error(ssl_.get(), r);
  std::uint32_t want = 0;
  if (err == SSL_ERROR_WANT_READ)
    want = EPOLLIN;
  else if (err == SSL_ERROR_WANT_WRITE)
    want = EPOLLOUT;
  else if (tls::TlsFrontend::pausedForRemoteLookup(err) && wake_token_) {
    // The binding started a remote lookup and will wake us (onRemoteLookupDone). Until then
    // the socket is watched for a reset only (edge-triggered: bytes the client sends
    // meanwhile must not spin the loop); the handshake time-out still runs.
    awaiting_remote_ = true;
    want = 0;
  } else {
    // Garbage, an aborted handshake or a protocol error: one counted failure, nothing else.
    // A connection that closes without sending a byte (a port probe, a load balancer's
    // health check) never attempted a handshake and is counted apart.
    if (BIO_number_read(SSL_get_rbio(ssl_.get())) == 0) {
      ERR_clear_error();
      ctx_.metrics->onEmptyConnection();
      closeReason("empty");
      close(false);
      return;
    }
    if (logs(Level::debug)) logHandshakeFailure(err);
    const auto* st = tls::TlsFrontend::state(ssl_.get());
    // A failure before a ClientHello was parsed (garbage, plain HTTP) or in the version
    // negotiation itself has no version; SSL_version() would still name one (plain HTTP
    // showed up as a TLS 1.3 failure).
    const unsigned long reason = ERR_GET_REASON(ERR_peek_last_error());
    const bool version_known = st && st->client_hellos > 0 && reason != SSL_R_UNSUPPORTED_PROTOCOL &&
                               reason != SSL_R_WRONG_VERSION_NUMBER;
    ERR_clear_error();
    const TlsVersion version = version_known ? versionOf(ssl_.get()) : TlsVersion::unknown;
    ctx_.metrics->onHandshake(st ? st->host : 0, version, HandshakeKind::failed, {});
    closeReason("handshake failed");
    close(false);
    return;
  }
  if (!watch(client_fd_, want, client_interest_, client_side_)) close(false);  // unwatched would hang
}

void Connection::handshakeDone() {
  const auto& tls = *tls_->frontend;
  const auto* st = tls::TlsFrontend::state(ssl_.get());
  const std::size_t host = st ? st->host : 0;
  const HandshakeKind kind = tls.handshakeKind(ssl_.get());
  const auto took = std::chrono::steady_clock::now() - started_;
  ctx_.metrics->onHandshake(host, versionOf(ssl_.get()), kind, took);
  handshake_took_ = took;
  kind_ = kind;

  if (ctx_.builtin_backend) {
    // Only the built-in responder reports these; a real backend never sees them.
    facts_.version = SSL_get_version(ssl_.get());
    facts_.cipher = SSL_get_cipher_name(ssl_.get());
    facts_.sni = st ? st->sni : "";
    facts_.vhost = tls.hostName(host);
    facts_.resumed = resumedLabel(kind);
    if (st && st->chain) {
      facts_.session = tls::hexId(st->chain->resumption_id);  // the id that revokes the chain
    } else if (const SSL_SESSION* s = SSL_get_session(ssl_.get())) {
      unsigned len = 0;
      const unsigned char* id = SSL_SESSION_get_id(s, &len);
      facts_.session = tls::hexId({id, len});
    }
    state_ = State::streaming;
    pump();
    // TLS 1.3 tickets BoringSSL still holds leave with the answer when the request came
    // with the client's Finished (one write, not two); a client that waits for its
    // tickets before it asks anything gets them now.
    if (!closed_ && to_client_.empty()) tls::sendTicketsNow(ssl_.get());
  } else {
    tls::sendTicketsNow(ssl_.get());
    connectBackend(0);
  }
}

// The connect to the backend's current address failed or timed out: if the name has
// another address (localhost: ::1, then 127.0.0.1), connect to that one instead.
bool Connection::connectNextBackendAddress() noexcept {
  if (backend_address_ + 1 >= ctx_.backend.size()) return false;
  ::close(backend_fd_);  // also leaves the epoll set
  backend_fd_ = -1;
  backend_interest_ = 0;
  connectBackend(backend_address_ + 1);
  return true;
}

// Connects to the backend's addresses from `first_address` on: one that fails at once is
// skipped here, one whose connect fails later in onBackendEvents.
// proxy_protocol = "v2": the backend's first bytes say who the client is and how its TLS
// session began. Queued ahead of anything the client sent; once, whichever of the
// backend's addresses the connection ends up on (a failed connect wrote nothing).
void Connection::queueProxyHeader() {
  if (!ctx_.proxy_protocol_v2 || proxy_header_queued_) return;
  proxy_header_queued_ = true;
  ProxyInfo info;
  std::memcpy(&info.client, &peer_, sizeof peer_);
  socklen_t local_len = sizeof info.local;
  if (getsockname(client_fd_, reinterpret_cast<sockaddr*>(&info.local), &local_len) != 0) info.local.ss_family = AF_UNSPEC;
  SSL* ssl = ssl_.get();
  if (const auto* st = tls::TlsFrontend::state(ssl)) {
    info.server_name = st->sni;
    info.vhost = tls_->frontend->hostName(st->host);
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  info.tls_version = SSL_get_version(ssl);
  if (const char* cipher = SSL_get_cipher_name(ssl)) info.cipher = cipher;
  info.resumed = resumedLabel(kind_);
  to_backend_.insert(0, encodeProxyV2(info));
}

void Connection::connectBackend(std::size_t first_address) {
  try {
    queueProxyHeader();
  } catch (...) {
    onBackendFailure("out of memory for the PROXY header", 0);
    close(true);
    return;
  }
  bool connected = false;
  int err = 0;
  for (backend_address_ = first_address; backend_address_ < ctx_.backend.size(); ++backend_address_) {
    backend_fd_ = startConnect(ctx_.backend[backend_address_], connected);
    if (backend_fd_ >= 0) break;
    err = errno;
  }
  if (backend_fd_ < 0) {
    backend_address_ = ctx_.backend.empty() ? 0 : ctx_.backend.size() - 1;  // the last one tried
    onBackendFailure("connect", err);
    close(true);
    return;
  }
  state_ = connected ? State::streaming : State::connecting;
  if (!watch(backend_fd_, EPOLLOUT, backend_interest_, backend_side_)) {
    close(true);
    return;
  }
  // Until the backend answers, do not read more from the client than we can hold.
  if (state_ == State::streaming)
    pump();
  else
    updateInterest();
}

void Connection::pump() {
  bool progress = true;
  while (progress && !closed_) {
    progress = readClient();
    if (closed_) return;
    // The built-in responder answers inside readClient, after each read.
    if (!ctx_.builtin_backend && state_ == State::streaming) {
      progress = writeBackend() || progress;
      if (closed_) return;
      progress = readBackend() || progress;
      if (closed_) return;
      if (backend_eof_) batchFinalWrites();
    }
    progress = writeClient() || progress;
  }
  if (closed_) return;

  if (ctx_.builtin_backend) {
    if ((close_after_flush_ || client_eof_) && to_client_.empty()) {
      close(true);
      return;
    }
  } else if (state_ == State::streaming) {
    // Half-close: the client has finished sending; tell the backend, keep its answer coming.
    if (client_eof_ && to_backend_.empty() && !backend_shut_wr_) {
      ::shutdown(backend_fd_, SHUT_WR);
      backend_shut_wr_ = true;
    }
    if (backend_eof_ && to_client_.empty()) {
      // Closing with unread client bytes would make the kernel reset the connection and
      // could destroy the answer in flight: linger as the built-in responder does.
      linger_ = clientMaySendMore();
      close(true);
      return;
    }
  }
  updateInterest();
}

bool Connection::readClient() {
  bool progress = false;
  char buf[kChunk];
  // Once the built-in responder has given its last answer, nothing the client sends
  // matters: reading on would only cost a read() that says EAGAIN.
  while (!client_eof_ && !close_after_flush_ && roomForClientData()) {
    clearErrors();
    const int n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min(sizeof buf, kMaxBuffered - to_backend_.size())));
    if (n > 0) {
      ssl_read_wants_write_ = false;
      to_backend_.append(buf, static_cast<std::size_t>(n));
      progress = true;
      if (ctx_.builtin_backend) serveBuiltin();  // answer before asking the socket for more
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), n);
    ssl_read_wants_write_ = err == SSL_ERROR_WANT_WRITE;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && n == 0)) {
      client_eof_ = true;  // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      return true;
    }
    ERR_clear_error();
    closeReason("client reset");
    close(false);
    return false;
  }
  return progress;
}

bool Connection::writeClient() {
  bool progress = false;
  while (!to_client_.empty()) {
    clearErrors();
    const int n = SSL_write(ssl_.get(), to_client_.data(), static_cast<int>(std::min(to_client_.size(), kChunk)));
    if (n > 0) {
      ssl_write_wants_read_ = false;
      to_client_.erase(0, static_cast<std::size_t>(n));
      progress = true;
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), n);
    ssl_write_wants_read_ = err == SSL_ERROR_WANT_READ;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    ERR_clear_error();
    closeReason("client reset");
    close(false);  // the client is gone
    return false;
  }
  if (to_client_.empty()) ssl_write_wants_read_ = false;
  return progress;
}

bool Connection::readBackend() {
  bool progress = false;
  char buf[kChunk];
  while (!backend_eof_ && to_client_.size() < kMaxBuffered) {
    const ssize_t n = ::recv(backend_fd_, buf, std::min(sizeof buf, kMaxBuffered - to_client_.size()), 0);
    if (n > 0) {
      to_client_.append(buf, static_cast<std::size_t>(n));
      progress = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (n < 0) onBackendFailure("read", errno);  // reset mid-stream: deliver what we have, then close
    backend_eof_ = true;
    return true;
  }
  return progress;
}

bool Connection::writeBackend() {
  if (backend_write_failed_) {
    to_backend_.clear();  // the backend takes no more; keep reading the client so it can finish
    return false;
  }
  bool progress = false;
  while (!to_backend_.empty()) {
    const ssize_t n = ::send(backend_fd_, to_backend_.data(), to_backend_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      to_backend_.erase(0, static_cast<std::size_t>(n));
      progress = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    // The backend stopped taking the request (closed early: an error answer to a large
    // upload, or a crash). What it already answered may still be in its socket: read on
    // and deliver it, then close.
    onBackendFailure("write", errno);
    backend_write_failed_ = true;
    to_backend_.clear();
    return true;
  }
  return progress;
}

// Debug only: under a flood of bad handshakes a line each would be a log flood.
void Connection::logHandshakeFailure(int ssl_error) noexcept {
  try {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const std::string client = getpeername(client_fd_, reinterpret_cast<sockaddr*>(&peer), &len) == 0
                                   ? addressText(reinterpret_cast<const sockaddr*>(&peer), len)
                                   : std::string("?");
    const int saved_errno = errno;
    std::string reason;
    if (const unsigned long e = ERR_peek_error()) {
      const char* r = ERR_reason_error_string(e);
      reason = r ? r : "error " + std::to_string(ERR_GET_REASON(e));
    } else if (ssl_error == SSL_ERROR_ZERO_RETURN) {  // EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) or close_notify
      reason = "the client closed the connection";
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
      reason = saved_errno ? std::strerror(saved_errno) : "the client closed the connection";
    } else {
      reason = "SSL error " + std::to_string(ssl_error);
    }
    log(Level::debug, "handshake with " + client + " failed: " + reason);
  } catch (...) {
  }
}

void Connection::onBackendFailure(const char* what, int err) noexcept {
  if (backend_failure_counted_) return;  // one failure per connection, however it shows
  backend_failure_counted_ = true;
  closeReason("backend failed");
  ctx_.metrics->onBackendFailure();
  // A dead backend fails every connection: one warning per 10 s, with the count.
  static RateLimitedLog warnings(std::chrono::seconds{10});
  if (!logs(Level::warn)) return;
  try {
    std::string message =
        "backend " + (ctx_.backend.empty() ? std::string("?")
                                           : addressText(reinterpret_cast<const sockaddr*>(&ctx_.backend[backend_address_].addr),
                                                         ctx_.backend[backend_address_].len)) +
        ": " + what;
    if (err != 0) message.append(": ").append(std::strerror(err));
    message.append("; the client's connection is closed");
    warnings.log(Level::warn, message);
  } catch (...) {
    // No memory for the message: the metric counted it.
  }
}

bool Connection::clientMaySendMore() const noexcept {
  if (client_eof_) return false;
  if (backend_write_failed_ || !to_backend_.empty()) return true;
  int unread = 0;
  return ioctl(client_fd_, FIONREAD, &unread) == 0 && unread > 0;
}

void Connection::serveBuiltin() {
  if (close_after_flush_ || to_backend_.empty()) return;
  const std::size_t before = to_client_.size();
  if (responder_.consume(to_backend_, to_client_, facts_, worker_.draining()) ==
      BuiltinResponder::Verdict::close_after_flush) {
    close_after_flush_ = true;
    linger_ = !to_backend_.empty();  // bytes the answer did not consume: more may follow
    to_backend_.clear();
    batchFinalWrites();
  }
  if (to_client_.size() != before) answered_ = true;
}

void Connection::batchFinalWrites() noexcept {
  // The last response and our close_notify leave in one write() and one segment: on
  // loopback every segment costs the sender the receiver's processing too (measured:
  // ~10% of server CPU per resumed TLS 1.2 connection), and every write() a syscall.
  if (!writes_batched_) writes_batched_ = tls::batchWrites(ssl_.get());
}

bool Connection::roomForClientData() const noexcept {
  // The built-in responder turns what it reads straight into answers: a client that
  // pipelines requests and never reads must meet back-pressure on the answers too.
  return to_backend_.size() < kMaxBuffered && (!ctx_.builtin_backend || to_client_.size() < kMaxBuffered);
}

void Connection::updateInterest() {
  std::uint32_t client = 0;
  const bool room_for_client_data = !client_eof_ && !close_after_flush_ && roomForClientData();
  if (room_for_client_data || ssl_write_wants_read_) client |= EPOLLIN;
  if ((!to_client_.empty() && !ssl_write_wants_read_) || ssl_read_wants_write_) client |= EPOLLOUT;
  if (!watch(client_fd_, client, client_interest_, client_side_)) {
    closeReason("internal error");
    close(false);  // a socket epoll refused to watch (ENOMEM, max_user_watches) would hang
    return;
  }

  if (backend_fd_ >= 0) {
    std::uint32_t backend = 0;
    if (state_ == State::connecting)
      backend = EPOLLOUT;
    else {
      if (!backend_eof_ && to_client_.size() < kMaxBuffered) backend |= EPOLLIN;
      if (!to_backend_.empty()) backend |= EPOLLOUT;
    }
    if (!watch(backend_fd_, backend, backend_interest_, backend_side_)) close(true);
  }
}

void Connection::close(bool send_close_notify) noexcept {
  if (closed_) return;
  closed_ = true;
  if (backend_fd_ >= 0) {
    // Nothing more is owed to or taken from the backend; a finished one would report
    // EPOLLHUP on every wait while we flush or linger toward the client.
    ::close(backend_fd_);
    backend_fd_ = -1;
    backend_interest_ = 0;
  }
  if (send_close_notify && SSL_is_init_finished(ssl_.get())) {
    // Hold the last records in the socket until the close: the kernel then sends our FIN
    // in the same segment as the answer and close_notify, one segment of 13 fewer per
    // resumed TLS 1.2 connection (on loopback the receiver's work for a segment is charged
    // to the sender). close() and shutdown() push whatever the cork holds, and the
    // connection is closed within this event-loop turn (or, when the client's window is
    // full, as soon as it takes the rest). Measured: 4-6% less server CPU per TLS 1.2
    // resumption, nine alternating rounds (docs/performance.md).
    const int one = 1;
    setsockopt(client_fd_, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    clearErrors();
    SSL_shutdown(ssl_.get());  // best effort, non-blocking: one close_notify
    const tls::FlushResult flushed = tls::flushWrites(ssl_.get());
    clearErrors();
    if (flushed == tls::FlushResult::again) {
      // Batched records still wait (the client's receive window is full): keep the
      // socket until it takes them or the client stays stuck past the handshake timeout.
      state_ = State::flushing;
      touch();  // the wait for room starts now, not at the last byte read
      if (watch(client_fd_, EPOLLOUT, client_interest_, client_side_)) return;
      finish();
      return;
    }
    if (flushed == tls::FlushResult::done) {
      afterFinalFlush();
      return;
    }
  }
  finish();
}

void Connection::afterFinalFlush() noexcept {
  // A client may send right behind its last request (gnutls-cli's close_notify): bytes
  // that arrived after our last read would make close() reset the connection and could
  // destroy the answer in flight. One read takes them (counted with the socket's bytes);
  // only a read that filled the buffer leaves more to linger for.
  if (!linger_ && !client_eof_) linger_ = !takeArrivedInput(ssl_.get());
  if (!linger_) {
    finish();
    return;
  }
  // Our FIN follows the answer; the client's remaining bytes are read and dropped until
  // its own FIN or kLingerTime, then the socket closes without a reset.
  ::shutdown(client_fd_, SHUT_WR);
  state_ = State::lingering;
  linger_until_ = std::chrono::steady_clock::now() + kLingerTime;
  if (!watch(client_fd_, EPOLLIN, client_interest_, client_side_)) {
    finish();
    return;
  }
  drainLingering();
}

void Connection::drainLingering() noexcept {
  char buf[kChunk];
  for (;;) {
    const ssize_t n = ::recv(client_fd_, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    finish();  // EOF or an error: nothing left that a close could reset
    return;
  }
}

// Gathered from the connection as it ends; never a secret (no session id, no key).
void Connection::writeAccessLine() noexcept {
  try {
    AccessRecord r;
    r.time = std::chrono::system_clock::now();
    setClient(r, peer_len_ ? reinterpret_cast<const sockaddr*>(&peer_) : nullptr, peer_len_);
    SSL* ssl = ssl_.get();
    const auto* st = tls::TlsFrontend::state(ssl);
    if (st) {
      r.sni = st->sni;
      if (st->client_hellos > 0) r.vhost = tls_->frontend->hostName(st->host);
    }
    if (handshake_took_) {
      r.version = SSL_get_version(ssl);
      if (const char* cipher = SSL_get_cipher_name(ssl)) r.cipher = cipher;
      const unsigned char* alpn = nullptr;
      unsigned alpn_len = 0;
      SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
      if (alpn) r.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
      r.resumed = resumedLabel(kind_);
      r.handshake = std::chrono::duration_cast<std::chrono::nanoseconds>(*handshake_took_);
    }
    // The socket's own counters: bytes as they crossed the wire, batched records included.
    if (BIO* sock = BIO_find_type(SSL_get_rbio(ssl), BIO_TYPE_SOCKET)) r.bytes_in = BIO_number_read(sock);
    if (BIO* sock = BIO_find_type(SSL_get_wbio(ssl), BIO_TYPE_SOCKET)) r.bytes_out = BIO_number_written(sock);
    r.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started_);
    r.reason = close_reason_ ? close_reason_ : "done";
    ctx_.access_log->append(formatAccessLine(r, logFormat()));
  } catch (...) {
    // Out of memory for the line: the connection's metrics still count it.
  }
}

void Connection::finish() noexcept {
  state_ = State::closed;
  if (ctx_.access_log) writeAccessLine();
  // No EPOLL_CTL_DEL: the descriptors are closed when the worker frees this connection,
  // right after the current batch of events, which removes them from the epoll set.
  ctx_.metrics->onConnectionOpen(-1);
  worker_.retire(this);
}

}  // namespace tlsresume::server
