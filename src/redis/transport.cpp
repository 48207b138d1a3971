#include "redis/transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "tls/ossl_ptr.hpp"

namespace tlsresume::redis {
namespace {

std::string errnoText(int err) {
  std::string text = std::strerror(err);
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool isIpLiteral(const std::string& name) {
  in6_addr probe{};
  return inet_pton(AF_INET, name.c_str(), &probe) == 1 || inet_pton(AF_INET6, name.c_str(), &probe) == 1;
}

}  // namespace

std::vector<Address> resolve(const Endpoint& endpoint, std::string* error) {
  std::vector<Address> out;
  if (endpoint.kind == Endpoint::Kind::unix_socket) {
    Address a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
    un->sun_family = AF_UNIX;
    if (endpoint.path.size() >= sizeof un->sun_path) {
      *error = "unix socket path too long";
      return out;
    }
    std::memcpy(un->sun_path, endpoint.path.c_str(), endpoint.path.size() + 1);
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + endpoint.path.size() + 1);
    out.push_back(a);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = isIpLiteral(endpoint.host) ? AI_NUMERICHOST : AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &list); rc != 0) {
    *error = "cannot resolve " + endpoint.host + ": " + gai_strerror(rc);
    return out;
  }
  for (auto* ai = list; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(list);
  if (out.empty()) *error = "cannot resolve " + endpoint.host + ": no address";
  return out;
}

tls::SslCtxPtr makeClientContext(const std::string& ca_file) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("redis TLS: cannot create a context: " + tls::lastError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                     : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (loaded != 1)
    throw std::runtime_error("redis TLS: cannot load CA certificates" +
                             (ca_file.empty() ? std::string() : " from " + ca_file) + ": " + tls::lastError());
  // Partial writes keep the link's output buffer simple: SSL_write reports what it took.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

Transport::Io Transport::connect(const Address& address, std::string* error) {
  close();
  const int family = address.storage.ss_family;
  fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *error = "socket: " + errnoText(errno);
    return Io::failed;
  }
  if (family == AF_INET || family == AF_INET6) {
    // Commands are small and latency-bound; Nagle would hold the second of two pipelined writes.
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0) return Io::done;
  if (errno == EINPROGRESS || errno == EAGAIN) return Io::want_write;
  *error = errnoText(errno);
  close();
  return Io::failed;
}

Transport::Io Transport::finishConnect(std::string* error) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) return Io::done;
  if (err == EINPROGRESS) return Io::want_write;
  *error = errnoText(err);
  return Io::failed;
}

bool Transport::startTls(SSL_CTX* ctx, const std::string& server_name, std::string* error) {
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) {
    *error = "TLS: " + tls::lastError();
    ssl_.reset();
    return false;
  }
  // RFC 6066 §3: SNI carries host names only, never an address. An IP literal is checked
  // against the certificate's IP SANs, asked for by name: OpenSSL 3's SSL_set1_host would
  // take an address as one, BoringSSL's compares it with DNS names only.
  const bool ip = isIpLiteral(server_name);
  if (!ip) SSL_set_tlsext_host_name(ssl_.get(), server_name.c_str());
  const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), server_name.c_str())
                       : SSL_set1_host(ssl_.get(), server_name.c_str());
  if (named != 1) {
    *error = "TLS: cannot set the name to verify: " + tls::lastError();
    ssl_.reset();
    return false;
  }
  SSL_set_connect_state(ssl_.get());
  return true;
}

Transport::Io Transport::handshake(std::string* error) {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) return Io::done;
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      return Io::want_read;
    case SSL_ERROR_WANT_WRITE:
      return Io::want_write;
    default:
      break;
  }
  const long verify = SSL_get_verify_result(ssl_.get());
  if (verify != X509_V_OK) {
    ERR_clear_error();
    *error =
        std::string("TLS handshake failed: certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
  } else {
    const int err = errno;
    std::string reason = tls::lastError();
    if (reason == "unknown TLS error") reason = err ? errnoText(err) : "connection closed during the handshake";
    *error = "TLS handshake failed: " + reason;
  }
  return Io::failed;
}

// What a TLS read or write that did not complete means for the caller.
Transport::Io Transport::tlsFailure(int rc, std::string* error) {
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      return Io::want_read;
    case SSL_ERROR_WANT_WRITE:
      return Io::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return Io::closed;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return Io::closed;
      *error = errnoText(errno);
      return Io::failed;
    default:
      *error = "TLS: " + tls::lastError();
      return Io::failed;
  }
}

Transport::Io Transport::read(char* buffer, std::size_t capacity, std::size_t* got, std::string* error) {
  *got = 0;
  if (ssl_) {
    ERR_clear_error();
    // SSL_read, not SSL_read_ex: both TLS libraries have it (BoringSSL has no _ex).
    const int rc = SSL_read(ssl_.get(), buffer, static_cast<int>(std::min<std::size_t>(capacity, INT_MAX)));
    if (rc <= 0) return tlsFailure(rc, error);
    *got = static_cast<std::size_t>(rc);
    return Io::done;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, capacity);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
      return Io::done;
    }
    if (n == 0) return Io::closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::want_read;
    *error = errnoText(errno);
    return Io::failed;
  }
}

Transport::Io Transport::write(const char* data, std::size_t size, std::size_t* wrote, std::string* error) {
  *wrote = 0;
  if (ssl_) {
    if (size == 0) return Io::done;  // SSL_write reads 0 as a failure
    ERR_clear_error();
    const int rc = SSL_write(ssl_.get(), data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
    if (rc <= 0) return tlsFailure(rc, error);
    *wrote = static_cast<std::size_t>(rc);
    return Io::done;
  }
  for (;;) {
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      *wrote = static_cast<std::size_t>(n);
      return Io::done;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::want_write;
    if (errno == EPIPE || errno == ECONNRESET) return Io::closed;
    *error = errnoText(errno);
    return Io::failed;
  }
}

void Transport::close() noexcept {
  ssl_.reset();  // no close_notify: the socket goes away either way, and Redis does not wait for it
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace tlsresume::redis
