#pragma once
// One client connection: a non-blocking TLS handshake driven directly on the socket,
// then bytes spliced to the backend (or the built-in responder) with back-pressure and
// half-close. Owned by its Worker; closes itself and asks the worker to free it.
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tls/ossl_ptr.hpp"
#include "server/builtin_responder.hpp"
#include "server/event_loop.hpp"
#include "server/net.hpp"
#include "tlsresume/stats_sink.hpp"

namespace tlsresume::tls {
class TlsFrontend;
}
namespace tlsresume::server {
struct TlsSetup;
class TlsHolder;
}  // namespace tlsresume::server

namespace tlsresume::server {

class AccessLog;
class Metrics;
class Worker;

// What every connection of the process shares, read-only after start.
struct ServingContext {
  TlsHolder* tls = nullptr;  // the current TLS setup (a reload replaces it)
  Metrics* metrics = nullptr;
  bool builtin_backend = true;
  AddressList backend;  // every address the backend resolved to, tried in turn
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{300};
  // Fleet mode: the store has a remote tier, so a handshake may pause for a lookup.
  bool remote_lookups = false;
  AccessLog* access_log = nullptr;  // access_log: a line per connection as it closes
  bool proxy_protocol_v2 = false;   // every backend connection starts with a PROXY v2 header
};

class Connection final {
 public:
  Connection(Worker& worker, const ServingContext& ctx, int client_fd, tls::SslPtr ssl,
             std::shared_ptr<TlsSetup> tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Handshake timeout or idle timeout, judged by the worker's sweep.
  bool expired(std::chrono::steady_clock::time_point now) const noexcept;
  void onTimeout() noexcept;
  // The server is draining: close now if this connection is idle between requests.
  void onDrain() noexcept;
  // The drain deadline: close, with a best-effort close_notify.
  void closeNow() noexcept;
  bool closed() const noexcept { return closed_; }

  // Intrusive list links for the worker.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  struct ClientSide final : EventHandler {
    Connection* c;
    explicit ClientSide(Connection* conn) : c(conn) {}
    void onEvents(std::uint32_t events) noexcept override { c->onClientEvents(events); }
  };
  struct BackendSide final : EventHandler {
    Connection* c;
    explicit BackendSide(Connection* conn) : c(conn) {}
    void onEvents(std::uint32_t events) noexcept override { c->onBackendEvents(events); }
  };

  // flushing: closed for reading and writing, waiting for the socket to take the last
  // batched records (see tls::batchWrites) before the connection is freed.
  // lingering: our answer and close_notify are out and our side is shut; what the client
  // still sends is read and dropped, because closing a socket with unread bytes makes the
  // kernel send a reset that can destroy the answer still in flight.
  enum class State { handshaking, connecting, streaming, flushing, lingering, closed };

  void onClientEvents(std::uint32_t events) noexcept;
  void onBackendEvents(std::uint32_t events) noexcept;
  void handshake();
  void handshakeDone();
  void onRemoteLookupDone() noexcept;
  void queueProxyHeader();
  void connectBackend(std::size_t first_address);
  bool connectNextBackendAddress() noexcept;
  void pump();
  bool readClient();
  bool writeClient();
  bool readBackend();
  bool writeBackend();
  void serveBuiltin();
  bool roomForClientData() const noexcept;
  void updateInterest();
  void batchFinalWrites() noexcept;
  void close(bool send_close_notify) noexcept;
  void afterFinalFlush() noexcept;
  void drainLingering() noexcept;
  void finish() noexcept;
  void touch() noexcept { last_activity_ = std::chrono::steady_clock::now(); }
  // Sets what epoll reports for fd; 0 takes it out of the set (see the definition).
  bool watch(int fd, std::uint32_t want, std::uint32_t& current, EventHandler& handler) noexcept;
  void onBackendFailure(const char* what, int err) noexcept;  // err: errno, 0 if none
  void logHandshakeFailure(int ssl_error) noexcept;
  bool clientMaySendMore() const noexcept;
  // Why the connection ends, for the access log: the first reason given wins (a backend
  // failure that then closes the client stays "backend failed"); none given is "done".
  void closeReason(const char* reason) noexcept {
    if (!close_reason_) close_reason_ = reason;
  }
  void writeAccessLine() noexcept;

  Worker& worker_;
  const ServingContext& ctx_;
  int client_fd_;
  int backend_fd_ = -1;
  std::size_t backend_address_ = 0;  // the index in ctx_.backend being connected to or used
  // The setup ssl_ was made from, kept to the end. Declared before ssl_ so that it goes
  // after it: SSL_free may still call the setup's callbacks (a bad session's removal).
  std::shared_ptr<TlsSetup> tls_;
  tls::SslPtr ssl_;
  State state_ = State::handshaking;
  bool closed_ = false;
  ClientSide client_side_{this};
  BackendSide backend_side_{this};
  std::uint32_t client_interest_ = 0;
  std::uint32_t backend_interest_ = 0;

  // Bytes read from the client waiting for the backend, and the reverse.
  std::string to_backend_;
  std::string to_client_;
  bool client_eof_ = false;  // close_notify or TCP EOF from the client
  bool backend_eof_ = false;
  bool backend_shut_wr_ = false;    // we forwarded the client's half-close
  bool close_after_flush_ = false;  // built-in responder asked to close
  bool writes_batched_ = false;     // the last records and close_notify leave together
  bool linger_ = false;             // closing must drain what the client may still send
  bool answered_ = false;           // the built-in responder has answered a request
  bool backend_write_failed_ = false;     // the backend closed its reading side on us
  bool backend_failure_counted_ = false;
  bool ssl_read_wants_write_ = false;
  bool ssl_write_wants_read_ = false;
  // Fleet mode: the handshake waits for a remote session lookup (client-hello callback
  // retry). The token outlives the connection in the remote tier's callback; the
  // connection clears it when it goes, so a late answer finds nobody to wake.
  struct WakeToken {
    Connection* connection = nullptr;
  };
  std::shared_ptr<WakeToken> wake_token_;
  bool awaiting_remote_ = false;

  BuiltinResponder responder_;
  TlsFacts facts_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point linger_until_;

  // Access log (only when one is configured).
  const char* close_reason_ = nullptr;
  sockaddr_storage peer_{};
  socklen_t peer_len_ = 0;
  bool proxy_header_queued_ = false;  // the PROXY v2 header is in to_backend_ (once per connection)
  std::optional<std::chrono::steady_clock::duration> handshake_took_;
  HandshakeKind kind_ = HandshakeKind::failed;
};

}  // namespace tlsresume::server
