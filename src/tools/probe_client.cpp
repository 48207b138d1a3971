#include "tools/probe_client.hpp"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "tls/compat.hpp"
#include "tools/probe_report.hpp"

namespace tlsresume::tools::probe {
namespace {

using Clock = std::chrono::steady_clock;

// At least this long without a byte from the server ends the wait for TLS 1.3 tickets;
// longer on a slow path (twice the TCP connect time).
constexpr int kQuietMs = 250;

struct Seen {
  std::vector<tls::SessionPtr>* sessions = nullptr;
  std::string first_bytes;  // the first bytes the server sent, to tell TLS from anything else
};

int onNewSession(SSL* ssl, SSL_SESSION* sess) {
  auto* seen = static_cast<Seen*>(SSL_get_app_data(ssl));
  seen->sessions->emplace_back(sess);
  return 1;  // we own it now
}

// The first bytes the server sends, seen through a small filter BIO in front of the
// socket (BIO_meth_new: both TLS libraries have it; BoringSSL has no BIO callbacks).
int recordRead(BIO* bio, char* out, int len) noexcept {
  BIO_clear_retry_flags(bio);
  const int n = BIO_read(BIO_next(bio), out, len);
  if (n <= 0) {
    BIO_copy_next_retry(bio);
    return n;
  }
  auto* seen = static_cast<Seen*>(BIO_get_data(bio));
  if (seen && seen->first_bytes.size() < 16)
    seen->first_bytes.append(out, std::min<std::size_t>(static_cast<std::size_t>(n), 16 - seen->first_bytes.size()));
  return n;
}

int recordWrite(BIO* bio, const char* data, int len) noexcept {
  BIO_clear_retry_flags(bio);
  const int n = BIO_write(BIO_next(bio), data, len);
  if (n <= 0) BIO_copy_next_retry(bio);
  return n;
}

long recordCtrl(BIO* bio, int cmd, long num, void* ptr) noexcept { return BIO_ctrl(BIO_next(bio), cmd, num, ptr); }

int recordCreate(BIO* bio) noexcept {
  BIO_set_init(bio, 1);
  return 1;
}

// Made once per process and kept for its life.
const BIO_METHOD* recordingMethod() {
  static BIO_METHOD* const method = [] {
    const int index = BIO_get_new_index();
    BIO_METHOD* m = index > 0 ? BIO_meth_new(index | BIO_TYPE_FILTER, "tlsresume probe first bytes") : nullptr;
    if (m && (BIO_meth_set_read(m, recordRead) != 1 || BIO_meth_set_write(m, recordWrite) != 1 ||
              BIO_meth_set_ctrl(m, recordCtrl) != 1 || BIO_meth_set_create(m, recordCreate) != 1)) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

// Puts the recording BIO in front of the SSL's read side. The chain takes a reference of
// its own to the socket BIO; SSL_set0_rbio drops the one the SSL held for reading.
bool recordFirstBytes(SSL* ssl, Seen* seen) {
  BIO* socket = SSL_get_rbio(ssl);
  const BIO_METHOD* method = recordingMethod();
  if (!socket || !method) return false;
  BIO* recorder = BIO_new(method);
  if (!recorder) return false;
  BIO_set_data(recorder, seen);
  BIO_up_ref(socket);
  BIO_push(recorder, socket);
  SSL_set0_rbio(ssl, recorder);
  return true;
}

void setReadTimeout(int fd, int ms) {
  timeval tv{ms / 1000, static_cast<suseconds_t>(ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string printable(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
  return out;
}

bool looksLikeTls(const std::string& first) {
  // A record header: content type 20..23 (or 24, heartbeat), major version 3.
  if (first.empty()) return true;
  const auto type = static_cast<unsigned char>(first[0]);
  if (type < 20 || type > 24) return false;
  return first.size() < 2 || first[1] == 3;
}

void classify(Outcome& o, SSL* ssl, int ret, const Seen& seen, const Target& t, int saved_errno) {
  const int err = SSL_get_error(ssl, ret);
  const unsigned long e = ERR_peek_last_error();
  const int reason = e ? ERR_GET_REASON(e) : 0;
  const char* reason_text = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  if (!looksLikeTls(seen.first_bytes)) {
    o.failure = Failure::not_tls;
    o.error = "not TLS: " + t.connect_text + " answered the ClientHello with \"" + printable(seen.first_bytes) + "\"";
    return;
  }
  if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    // The alert's own name ("illegal parameter"), the same from both libraries; their
    // error-queue texts differ ("sslv3 alert illegal parameter", SSLV3_ALERT_ILLEGAL_PARAMETER).
    const int alert = reason - SSL_AD_REASON_OFFSET;
    const char* name = SSL_alert_desc_string_long(alert);
    o.failure = Failure::alert;
    o.error = "the server sent an alert: ";
    o.error += name && std::strcmp(name, "unknown") != 0 ? std::string(name) : "alert " + std::to_string(alert);
    return;
  }
  const bool timed_out = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ||
                         (err == SSL_ERROR_SYSCALL && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK));
  if (timed_out) {
    o.failure = Failure::timeout;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", t.timeout_ms / 1000.0);
    o.error = "timed out after ";
    o.error += secs;
    o.error += seen.first_bytes.empty() ? " s waiting for an answer to the ClientHello (not TLS?)"
                                        : " s waiting for the TLS handshake";
    return;
  }
  if (seen.first_bytes.empty() && (err == SSL_ERROR_SYSCALL || tls::isUnexpectedEof(e))) {
    o.failure = Failure::closed;
    o.error = "the server closed the connection without answering the ClientHello (not TLS?)";
    return;
  }
  o.failure = Failure::other;
  if (reason_text)
    o.error = std::string("TLS handshake failed: ") + reason_text;
  else if (err == SSL_ERROR_SYSCALL)
    o.error = std::string("TLS handshake failed: ") + (saved_errno ? std::strerror(saved_errno) : "the server closed the connection");
  else
    o.error = "TLS handshake failed: SSL error " + std::to_string(err);
}

std::string numericHost(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  char host[NI_MAXHOST] = "";
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return {};
  return host;
}

}  // namespace

Outcome connectOnce(const Target& t, const ClientSpec& spec, SSL_SESSION* offer) {
  Outcome o;
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw ProbeError("cannot make a TLS client context: " + tls::lastError());
  // Certificates are not verified: the probe audits resumption, not the chain.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), spec.version ? spec.version : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), spec.version ? spec.version : TLS1_3_VERSION);
  if (spec.no_ticket) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  if (!spec.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), spec.ciphers.c_str()) != 1)
    throw ProbeError("cipher list " + spec.ciphers + ": " + tls::lastError());
  // Every session the server hands out reaches onNewSession (TLS 1.3: once per ticket).
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), onNewSession);

  const auto t0 = Clock::now();
  int fd = -1;
  try {
    fd = server::connectTo(t.addresses, t.timeout_ms, t.connect_text);
  } catch (const server::NetError& e) {
    o.failure = Failure::connect;
    o.error = std::string("cannot connect to ") + e.what();
    return o;
  }
  const auto connect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  o.peer_address = numericHost(fd);

  tls::SslPtr ssl(SSL_new(ctx.get()));
  Seen seen;
  seen.sessions = &o.sessions;
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || !recordFirstBytes(ssl.get(), &seen)) {
    ::close(fd);
    throw ProbeError("cannot make a TLS client: " + tls::lastError());
  }
  SSL_set_app_data(ssl.get(), &seen);
  if (!spec.server_name.empty()) SSL_set_tlsext_host_name(ssl.get(), spec.server_name.c_str());
  if (offer) SSL_set_session(ssl.get(), offer);

  ERR_clear_error();
  errno = 0;
  const int ret = SSL_connect(ssl.get());
  const int saved_errno = errno;
  if (ret != 1) {
    classify(o, ssl.get(), ret, seen, t, saved_errno);
  } else {
    o.version = SSL_version(ssl.get());
    o.version_name = SSL_get_version(ssl.get());
    o.cipher = SSL_get_cipher_name(ssl.get());
    o.reused = SSL_session_reused(ssl.get()) == 1;
    // The session's copy of the leaf: SSL_get0_peer_certificate is OpenSSL 3's only.
    if (X509* cert = SSL_SESSION_get0_peer(SSL_get_session(ssl.get()))) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (X509_digest(cert, EVP_sha256(), md, &len) == 1) o.peer_cert_sha256 = hex(md, len);
    }
    if (spec.wait_tickets && o.version == TLS1_3_VERSION) {
      // NewSessionTickets come after the handshake: read (and drop whatever else the
      // server says) until it has been quiet for a while or closes.
      const int quiet = std::max<int>(kQuietMs, static_cast<int>(2 * connect_ms));
      setReadTimeout(fd, std::min(quiet, t.timeout_ms));
      const auto deadline = Clock::now() + std::chrono::milliseconds(t.timeout_ms);
      char buf[4096];
      while (Clock::now() < deadline && SSL_read(ssl.get(), buf, sizeof buf) > 0) {
      }
      ERR_clear_error();
    }
    setReadTimeout(fd, 200);
    SSL_shutdown(ssl.get());
    ERR_clear_error();
  }
  ssl.reset();
  ::close(fd);
  return o;
}

std::vector<unsigned char> ticketOf(const SSL_SESSION* s) {
  const unsigned char* tick = nullptr;
  std::size_t len = 0;
  if (!s) return {};
  SSL_SESSION_get0_ticket(s, &tick, &len);
  if (!tick || len == 0) return {};
  return {tick, tick + len};
}

std::uint32_t lifetimeHintOf(const SSL_SESSION* s) {
  return tls::ticketLifetime(s);
}

std::size_t sessionIdLength(const SSL_SESSION* s) {
  unsigned int len = 0;
  if (s) SSL_SESSION_get_id(s, &len);
  return len;
}

SSL_SESSION* lastWithTicket(const Outcome& o) {
  for (auto it = o.sessions.rbegin(); it != o.sessions.rend(); ++it)
    if (SSL_SESSION_has_ticket(it->get())) return it->get();
  return nullptr;
}

tls::SessionPtr withFlippedTicketByte(SSL_SESSION* s, std::size_t offset) {
  const std::vector<unsigned char> ticket = ticketOf(s);
  if (offset >= ticket.size()) return nullptr;
  const int len = i2d_SSL_SESSION(s, nullptr);
  if (len <= 0) return nullptr;
  std::vector<unsigned char> der(static_cast<std::size_t>(len));
  unsigned char* w = der.data();
  i2d_SSL_SESSION(s, &w);
  // The ticket is one OCTET STRING inside the encoding: flipping a byte of its content
  // changes no length.
  const auto at = std::search(der.begin(), der.end(), ticket.begin(), ticket.end());
  if (at == der.end()) return nullptr;
  at[static_cast<std::ptrdiff_t>(offset)] ^= 0xff;
  const unsigned char* r = der.data();
  tls::SessionPtr copy(d2i_SSL_SESSION(nullptr, &r, len));
  OPENSSL_cleanse(der.data(), der.size());  // the encoding holds the master secret
  if (!copy || ticketOf(copy.get()).size() != ticket.size()) return nullptr;
  return copy;
}

}  // namespace tlsresume::tools::probe
