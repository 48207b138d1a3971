#pragma once
// One non-blocking connection to Redis: a TCP or Unix stream socket, optionally wrapped in
// TLS. Knows nothing of RESP; the link drives it from its epoll loop.
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <vector>

#include "tls/ossl_ptr.hpp"
#include "redis/redis_link.hpp"

namespace tlsresume::redis {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// Every address to try for the endpoint, in resolver order. getaddrinfo blocks, so a host
// name costs the link's thread one lookup per connection cycle; an IP literal never blocks.
std::vector<Address> resolve(const Endpoint& endpoint, std::string* error);

// The TLS client context, built once per link: TLS 1.2+, the peer verified against ca_file
// (or the system's default paths when empty). Throws std::runtime_error with a reason.
tls::SslCtxPtr makeClientContext(const std::string& ca_file);

class Transport {
 public:
  enum class Io { done, want_read, want_write, closed, failed };

  Transport() = default;
  ~Transport() { close(); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts a non-blocking connect. done: connected already; want_write: in progress.
  Io connect(const Address& address, std::string* error);
  // After the socket turned writable: the outcome of the connect.
  Io finishConnect(std::string* error);
  // Wraps the connected socket in TLS; server_name is sent as SNI (unless an IP literal) and
  // verified against the certificate.
  bool startTls(SSL_CTX* ctx, const std::string& server_name, std::string* error);
  Io handshake(std::string* error);
  Io read(char* buffer, std::size_t capacity, std::size_t* got, std::string* error);
  Io write(const char* data, std::size_t size, std::size_t* wrote, std::string* error);

  int fd() const noexcept { return fd_; }
  bool tls() const noexcept { return ssl_ != nullptr; }
  void close() noexcept;

 private:
  Io tlsFailure(int rc, std::string* error);
  int fd_ = -1;
  tls::SslPtr ssl_;
};

}  // namespace tlsresume::redis
