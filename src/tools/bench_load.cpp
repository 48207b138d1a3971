#include "tools/bench_load.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>

#include "server/http_response.hpp"
#include "tools/bench_wire.hpp"

namespace tlsresume::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Enough for a real site's response head (its headers can pass 4 KiB) and the built-in
// responder's body; the rest is read and dropped.
constexpr std::size_t kMaxResponseKept = 64 * 1024;
// A target that fails this many connections in a row, with none succeeding since, is
// given up on instead of being hammered until the deadline.
constexpr std::uint64_t kMaxConsecutiveErrors = 200;
// OpenSSL 3 takes an EOF without close_notify for a truncation unless told otherwise;
// BoringSSL has no such option. Either way the read loop accepts such an EOF once the
// answer has come (a server may close without its close_notify).
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
constexpr auto kIgnoreUnexpectedEof = SSL_OP_IGNORE_UNEXPECTED_EOF;
#else
constexpr decltype(SSL_OP_NO_TICKET) kIgnoreUnexpectedEof = 0;
#endif

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string errnoText(int err) { return lowerFirst(std::strerror(err)); }

// Bytes from the network for a one-line message: control characters become '.', so a
// table row or a log line cannot be broken by what a server sent.
std::string printable(std::string_view bytes) {
  std::string out(bytes);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '.';
  return out;
}

// One line for a failed SSL call, from OpenSSL's queue or errno; the queue is cleared.
std::string tlsError(SSL* ssl, int ret, const char* during) {
  const int err = SSL_get_error(ssl, ret);
  const int saved_errno = errno;
  std::string reason;
  if (const unsigned long e = ERR_peek_last_error()) {
    const char* r = ERR_reason_error_string(e);
    reason = r ? r : "error " + std::to_string(ERR_GET_REASON(e));
  } else if (err == SSL_ERROR_SYSCALL) {
    reason = saved_errno ? errnoText(saved_errno) : "the server closed the connection";
  } else {
    reason = "SSL error " + std::to_string(err);
  }
  ERR_clear_error();
  return std::string("TLS ") + during + " failed: " + reason;
}

enum class Phase { idle, connecting, handshaking, writing, reading };

struct Slot {
  int fd = -1;
  tls::SslPtr ssl;
  Phase phase = Phase::idle;
  Clock::time_point started, deadline;
  int profile = 0;
  bool warmup = false;
  bool offered_ticket = false;    // the session offered carries a ticket
  std::vector<int> warmups_left;  // profiles still to warm up on this slot
  tls::SessionPtr sessions[2];   // latest session per profile
  tls::SessionPtr newest;        // the newest session of the connection under way (app data)
  WireCounter wire;
  std::string response;
  std::size_t sent = 0;
  std::uint32_t events = 0;
  std::size_t first_address = 0;  // the index in the server's addresses tried first
  std::size_t tried = 0;          // ... and how many after it failed
  // Several servers: the one this connection goes to, the next in turn, and per profile
  // the server whose handshake made the saved session (-1: none yet).
  std::size_t server = 0;
  std::size_t next_server = 0;
  int issuer[2] = {-1, -1};
};

class Generator {
 public:
  Generator(const LoadSpec& spec, const std::atomic<bool>& stop)
      : spec_(spec),
        stop_(stop),
        request_("GET " + spec.path + " HTTP/1.1\r\nHost: " + spec.host + "\r\nConnection: close\r\n\r\n"),
        slots_(spec.concurrency),
        preferred_address_(std::max<std::size_t>(1, spec.servers.size()), 0) {
    if (spec.servers.size() == 1) throw BenchError("several servers: give at least 2");
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].next_server = spec.servers.empty() ? 0 : i % spec.servers.size();
    result_.per_server.assign(spec.servers.size(), 0);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw BenchError("epoll_create1: " + errnoText(errno));
    profiles_[0] = spec.clients.primary;
    ctx_[0] = makeClientContext(profiles_[0]);
    if (spec.clients.alternate) {
      profiles_[1] = *spec.clients.alternate;
      ctx_[1] = makeClientContext(profiles_[1]);
    }
  }
  ~Generator() {
    for (auto& s : slots_)
      if (s.fd >= 0) ::close(s.fd);
    ::close(epfd_);
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  LoadResult run() {
    // Warm-up: one full handshake per slot and profile gives each slot a session to
    // resume, and proves the target answers, before anything is counted.
    for (auto& s : slots_) {
      s.warmups_left = {0};
      if (ctx_[1]) s.warmups_left.push_back(1);
    }
    drive();
    if (warm_ok_ == 0 && !stop_) throw BenchError(spec_.target_name + ": " + warm_error_);

    if (spec_.on_measure_start) spec_.on_measure_start();
    measuring_ = true;
    consecutive_errors_ = 0;
    t0_ = last_done_ = Clock::now();
    deadline_ = t0_ + std::chrono::duration_cast<Clock::duration>(spec_.duration);
    drive();
    result_.attempts = started_;
    result_.seconds = std::chrono::duration<double>(last_done_ - t0_).count();
    return std::move(result_);
  }

 private:
  bool wantMore() const {
    if (stop_ || consecutive_errors_ >= kMaxConsecutiveErrors) return false;
    if (spec_.count > 0) return started_ < spec_.count;
    return Clock::now() < deadline_;
  }

  // Runs the loop until no slot is busy and none should start again.
  void drive() {
    auto next_tick = Clock::now();
    for (;;) {
      refill();
      if (active_ == 0) return;
      epoll_event events[256];
      const int n = epoll_wait(epfd_, events, 256, 50);
      if (n < 0 && errno != EINTR) throw BenchError("epoll_wait: " + errnoText(errno));
      for (int i = 0; i < n; ++i) {
        Slot& s = *static_cast<Slot*>(events[i].data.ptr);
        if (s.phase == Phase::connecting)
          onConnected(s);
        else if (s.phase != Phase::idle)
          step(s);
      }
      const auto now = Clock::now();
      for (auto& s : slots_)
        if (s.phase != Phase::idle && now > s.deadline)
          finish(s, "timed out after " + std::to_string(spec_.connection_timeout.count()) + " ms");
      if (stop_) abortAll();
      if (measuring_ && spec_.on_tick && now >= next_tick) {
        spec_.on_tick(result_.handshakes, std::chrono::duration<double>(now - t0_).count());
        next_tick = now + std::chrono::milliseconds(250);
      }
    }
  }

  void refill() {
    for (auto& s : slots_) {
      if (s.phase != Phase::idle) continue;
      if (!measuring_) {
        if (s.warmups_left.empty() || stop_) continue;
        const int p = s.warmups_left.front();
        s.warmups_left.erase(s.warmups_left.begin());
        begin(s, p, true);
      } else if (wantMore()) {
        ++started_;
        const bool alt = ctx_[1] && std::bernoulli_distribution(spec_.clients.alternate_share)(rng_);
        begin(s, alt ? 1 : 0, false);
      }
    }
  }

  void abortAll() {
    for (auto& s : slots_)
      if (s.phase != Phase::idle) close(s);
  }

  void begin(Slot& s, int profile, bool warmup) {
    s.profile = profile;
    s.warmup = warmup;
    s.response.clear();
    s.sent = 0;
    s.wire = WireCounter{};
    s.started = Clock::now();
    s.deadline = s.started + spec_.connection_timeout;
    ++active_;
    s.phase = Phase::connecting;
    s.events = 0;
    if (!spec_.servers.empty()) {
      const bool offers = !warmup && profiles_[profile].resume && s.sessions[profile];
      s.server = pickServer(s.next_server, offers ? s.issuer[profile] : -1, spec_.servers.size());
      s.next_server = (s.server + 1) % spec_.servers.size();
    }
    s.first_address = preferred_address_[s.server];
    s.tried = 0;
    connect(s);
  }

  const server::AddressList& addressesOf(const Slot& s) const {
    return spec_.servers.empty() ? spec_.addresses : spec_.servers[s.server];
  }

  // Connects to the slot's next address: the one that accepted last time first, then the
  // others in turn while a connect fails.
  void connect(Slot& s) {
    const server::AddressList& addresses = addressesOf(s);
    const std::size_t n = addresses.size();
    int err = EADDRNOTAVAIL;
    for (; s.tried < n; ++s.tried) {
      bool connected = false;
      s.fd = server::startConnect(addresses[(s.first_address + s.tried) % n], connected);
      if (s.fd < 0) {
        err = errno;
        continue;
      }
      if (connected) return onConnected(s);
      return watch(s, EPOLLOUT);
    }
    finish(s, errnoText(err));
  }

  void watch(Slot& s, std::uint32_t events) {
    if (s.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &s;
    const int op = s.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(epfd_, op, s.fd, &ev) != 0) return finish(s, "epoll_ctl: " + errnoText(errno));
    s.events = events;
  }

  void onConnected(Slot& s) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      if (s.tried + 1 < addressesOf(s).size()) {
        ::close(s.fd);  // also leaves the epoll set
        s.events = 0;
        ++s.tried;
        return connect(s);
      }
      return finish(s, errnoText(err));
    }
    // Later connections start with the address that accepted.
    preferred_address_[s.server] = (s.first_address + s.tried) % addressesOf(s).size();
    if (spec_.plain) {
      onConnectionUp(s);
      s.phase = Phase::writing;
      return step(s);
    }
    startTls(s);
  }

  void startTls(Slot& s) {
    s.ssl.reset(SSL_new(ctx_[s.profile].get()));
    if (!s.ssl || SSL_set_fd(s.ssl.get(), s.fd) != 1) return finish(s, "SSL_new: " + tls::lastError());
    if (!spec_.sni.empty()) SSL_set_tlsext_host_name(s.ssl.get(), spec_.sni.c_str());
    SSL_set_msg_callback(s.ssl.get(), &WireCounter::callback);
    SSL_set_msg_callback_arg(s.ssl.get(), &s.wire);
    s.newest.reset();
    SSL_set_app_data(s.ssl.get(), &s.newest);
    s.offered_ticket = false;
    if (!s.warmup && profiles_[s.profile].resume && s.sessions[s.profile]) {
      SSL_set_session(s.ssl.get(), s.sessions[s.profile].get());
      s.offered_ticket = SSL_SESSION_has_ticket(s.sessions[s.profile].get()) == 1;
    }
    SSL_set_connect_state(s.ssl.get());
    s.phase = Phase::handshaking;
    step(s);
  }

  // Advances one connection as far as it can go without blocking.
  void step(Slot& s) {
    if (spec_.plain) return stepPlain(s);
    SSL* ssl = s.ssl.get();
    for (;;) {
      int r = 0;
      if (s.phase == Phase::handshaking) {
        r = SSL_do_handshake(ssl);
        if (r == 1) {
          onHandshake(s);
          s.phase = Phase::writing;
          continue;
        }
      } else if (s.phase == Phase::writing) {
        r = SSL_write(ssl, request_.data() + s.sent, static_cast<int>(request_.size() - s.sent));
        if (r > 0) {
          s.sent += static_cast<std::size_t>(r);
          if (s.sent == request_.size()) s.phase = Phase::reading;
          continue;
        }
      } else {
        char buf[16384];
        errno = 0;  // a clean EOF leaves it 0 (see `eof` below)
        r = SSL_read(ssl, buf, sizeof buf);
        if (r > 0) {
          const std::size_t keep = std::min<std::size_t>(
              static_cast<std::size_t>(r), kMaxResponseKept - std::min(kMaxResponseKept, s.response.size()));
          s.response.append(buf, keep);
          continue;
        }
      }
      const int err = SSL_get_error(ssl, r);
      if (err == SSL_ERROR_WANT_READ) return watch(s, EPOLLIN);
      if (err == SSL_ERROR_WANT_WRITE) return watch(s, EPOLLOUT);
      // The server ended the connection: close_notify, or an EOF without one, which OpenSSL
      // (told to ignore it) reports as ZERO_RETURN and BoringSSL as a system call error with
      // no errno and nothing queued.
      const bool eof = err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0);
      if (s.phase == Phase::reading && (eof || !s.response.empty())) {
        ERR_clear_error();  // a server that resets after a full response has still answered
        return finish(s, {});
      }
      return finish(s, tlsError(ssl, r, s.phase == Phase::handshaking ? "handshake" : "exchange"));
    }
  }

  // The TCP floor's exchange: the same request and answer, no TLS.
  void stepPlain(Slot& s) {
    for (;;) {
      ssize_t r = 0;
      if (s.phase == Phase::writing) {
        r = ::send(s.fd, request_.data() + s.sent, request_.size() - s.sent, MSG_NOSIGNAL);
        if (r > 0) {
          s.sent += static_cast<std::size_t>(r);
          if (s.sent == request_.size()) s.phase = Phase::reading;
          continue;
        }
      } else {
        char buf[16384];
        r = ::read(s.fd, buf, sizeof buf);
        if (r > 0) {
          s.response.append(buf, std::min<std::size_t>(static_cast<std::size_t>(r),
                                                       kMaxResponseKept - std::min(kMaxResponseKept, s.response.size())));
          continue;
        }
        if (r == 0) return finish(s, {});
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return watch(s, s.phase == Phase::writing ? EPOLLOUT : EPOLLIN);
      if (s.phase == Phase::reading && !s.response.empty()) return finish(s, {});  // a reset after the answer
      return finish(s, r < 0 ? errnoText(errno) : "the server closed the connection");
    }
  }

  // A TCP connection established counts as the plain exchange's "handshake".
  void onConnectionUp(Slot& s) {
    if (s.warmup) return;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.started).count();
    result_.latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    ++result_.handshakes;
  }

  void onHandshake(Slot& s) {
    if (result_.server_key.empty()) result_.server_key = describeServerKey(s.ssl.get());
    if (s.warmup) return;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.started).count();
    result_.latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    ++result_.handshakes;
    if (!spec_.servers.empty()) ++result_.per_server[s.server];
    const int version = SSL_version(s.ssl.get());
    if (SSL_session_reused(s.ssl.get())) {
      ++result_.resumed;
      if (!spec_.servers.empty() && s.issuer[s.profile] == static_cast<int>(s.server)) ++result_.resumed_on_issuer;
      // TLS 1.3 resumes only from tickets (stateless or stateful); TLS 1.2 from a ticket
      // if the offered session held one, else by session id, which a server that issues
      // no tickets answers just as well: a "ticket" cell must show which one it measured.
      if (version == TLS1_3_VERSION || s.offered_ticket) ++result_.resumed_by_ticket;
    }
    ++result_.versions[version];
  }

  // Ends a connection: `error` empty means it completed with a response.
  void finish(Slot& s, const std::string& error) {
    if (error.empty())
      onComplete(s);
    else
      onError(s, error);
    close(s);
  }

  void close(Slot& s) {
    s.ssl.reset();
    if (s.fd >= 0) ::close(s.fd);  // also leaves the epoll set
    s.fd = -1;
    s.phase = Phase::idle;
    --active_;
    if (measuring_) last_done_ = Clock::now();
  }

  void onError(Slot& s, const std::string& error) {
    ++consecutive_errors_;
    if (s.warmup) {
      if (warm_error_.empty()) warm_error_ = error;
      return;
    }
    ++result_.errors;
    if (result_.first_error.empty()) result_.first_error = error;
  }

  void onComplete(Slot& s) {
    consecutive_errors_ = 0;
    if (!s.ssl) {  // plain: nothing to shut down, no session
      if (s.warmup)
        ++warm_ok_;
      else
        recordCompletion(s, nullptr);
      return;
    }
    // Our close_notify, as any TLS client's: a server whose OpenSSL takes an EOF without
    // one for a truncation (no SSL_OP_IGNORE_UNEXPECTED_EOF: Python's ssl module, for
    // one) would otherwise fail the connection and forget its session. Sent once, without
    // waiting for the server's (it already closed, or will): a socket that cannot take it
    // now is closed all the same.
    SSL_shutdown(s.ssl.get());
    ERR_clear_error();
    // The connection ended cleanly: without this mark (SSL_shutdown sets only the "sent"
    // half when the server closed without its own close_notify) SSL_free() takes the
    // session for a broken one and makes it non-resumable.
    SSL_set_shutdown(s.ssl.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    // After the response, TLS 1.3 tickets have arrived: the newest is the one to offer
    // next. A resumption that issued nothing new goes on with the session it resumed.
    tls::SessionPtr session = s.newest ? std::move(s.newest) : tls::SessionPtr(SSL_get1_session(s.ssl.get()));
    if (s.warmup)
      ++warm_ok_;
    else
      recordCompletion(s, session.get());
    if (profiles_[s.profile].resume && session && SSL_SESSION_is_resumable(session.get())) {
      // A TLS 1.2 resumption goes on with the same session (its id, or a ticket sealed
      // under the fleet's key): it keeps its issuer. Anything else is a session this
      // server just made (a full handshake; a TLS 1.3 resumption, whose new ticket it issued).
      const bool same = SSL_session_reused(s.ssl.get()) && SSL_version(s.ssl.get()) == TLS1_2_VERSION;
      if (!same || s.issuer[s.profile] < 0) s.issuer[s.profile] = static_cast<int>(s.server);
      s.sessions[s.profile] = std::move(session);
    }
  }

  void recordCompletion(Slot& s, SSL_SESSION* session) {
    ++result_.completed;
    result_.bytes_s2c += s.wire.bytes[0];
    result_.bytes_c2s += s.wire.bytes[1];
    const unsigned char* ticket = nullptr;
    std::size_t ticket_len = 0;
    if (session) SSL_SESSION_get0_ticket(session, &ticket, &ticket_len);
    if (ticket_len > 0) {
      result_.ticket_bytes += ticket_len;
      ++result_.tickets;
    }
    const std::string& r = s.response;
    const auto response = server::parseHttpResponse(r);
    if (!response) {
      ++result_.errors;
      if (result_.first_error.empty())
        result_.first_error = r.empty() ? "the server closed the connection without an answer"
                                        : "not an HTTP response: " + printable(std::string_view(r).substr(0, 80));
      return;
    }
    // Any answer completes the exchange the handshake is measured for (a site's / may well
    // redirect); statuses other than 2xx are reported, not counted as failures.
    if (response->status < 200 || response->status > 299) {
      ++result_.not_2xx;
      if (result_.first_not_2xx.empty()) result_.first_not_2xx = printable(response->status_line);
    }
    // The built-in responder says how the server saw the handshake; peers say "ok".
    if (const auto resumed = server::bodyField(response->body, "resumed")) ++result_.server_says[std::string(*resumed)];
  }

  const LoadSpec& spec_;
  const std::atomic<bool>& stop_;
  const std::string request_;
  int epfd_ = -1;
  ClientProfile profiles_[2];
  tls::SslCtxPtr ctx_[2];
  std::vector<Slot> slots_;  // never resized: epoll holds pointers into it
  unsigned active_ = 0;
  LoadResult result_;
  bool measuring_ = false;
  std::uint64_t started_ = 0;
  std::uint64_t warm_ok_ = 0;
  std::uint64_t consecutive_errors_ = 0;
  std::string warm_error_;
  std::vector<std::size_t> preferred_address_;  // per server
  Clock::time_point t0_, deadline_, last_done_;
  std::mt19937_64 rng_{42};  // fixed seed: the same mix from run to run
};

}  // namespace

std::size_t pickServer(std::size_t next, int issuer, std::size_t servers) {
  if (servers == 0) return 0;
  next %= servers;
  return issuer >= 0 && static_cast<std::size_t>(issuer) == next ? (next + 1) % servers : next;
}

ScenarioClients clientsFor(Scenario s, double mix_no_ticket) {
  const ClientProfile session_id{TLS1_2_VERSION, true, true};
  const ClientProfile ticket13{TLS1_3_VERSION, false, true};
  switch (s) {
    case Scenario::full_tls13:
      return {{TLS1_3_VERSION, false, false}, std::nullopt, 0};
    case Scenario::full_tls12:
      return {{TLS1_2_VERSION, false, false}, std::nullopt, 0};
    case Scenario::session_id:
      return {session_id, std::nullopt, 0};
    case Scenario::ticket_tls12:
      return {{TLS1_2_VERSION, false, true}, std::nullopt, 0};
    case Scenario::ticket_tls13:
    case Scenario::stateful_ticket:
      return {ticket13, std::nullopt, 0};
    // Clients without ticket support are old TLS 1.2 stacks; the rest are modern TLS 1.3.
    case Scenario::mix:
      return {ticket13, session_id, mix_no_ticket};
  }
  return {};
}

namespace {
// Every session the library hands a client (a full handshake's, each TLS 1.3 ticket)
// replaces the one in the tls::SessionPtr the SSL's app data points at, if it points at
// one: BoringSSL gives a client its TLS 1.3 tickets this way only (the handshake's own
// session does not resume), OpenSSL this way too.
int keepNewestSession(SSL* ssl, SSL_SESSION* session) {
  auto* newest = static_cast<tls::SessionPtr*>(SSL_get_app_data(ssl));
  if (!newest) return 0;  // not ours to keep: the library frees it
  newest->reset(session);
  return 1;
}
}  // namespace

tls::SslCtxPtr makeClientContext(const ClientProfile& p) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw BenchError("SSL_CTX_new: " + tls::lastError());
  SSL_CTX_set_min_proto_version(ctx.get(), p.version);
  SSL_CTX_set_max_proto_version(ctx.get(), p.version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // Sessions are kept per slot by hand, not in the library's client cache; the new-session
  // callback is how they reach the slot (SSL_SESS_CACHE_CLIENT turns it on).
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), keepNewestSession);
  SSL_CTX_set_options(ctx.get(), kIgnoreUnexpectedEof | (p.no_ticket ? SSL_OP_NO_TICKET : 0));
  return ctx;
}

LoadResult runLoad(const LoadSpec& spec, const std::atomic<bool>& stop) {
  if (spec.concurrency == 0) throw BenchError("concurrency must be at least 1");
  Generator g(spec, stop);
  return g.run();
}

std::string describeServerKey(SSL* ssl) {
  // From the certificate's SubjectPublicKeyInfo (algorithm and named-curve OIDs), which
  // OpenSSL and BoringSSL expose alike; a client's peer chain starts with the leaf in both.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  X509* cert = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
  X509_PUBKEY* spki = cert ? X509_get_X509_PUBKEY(cert) : nullptr;
  ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR* parameters = nullptr;
  if (!spki || X509_PUBKEY_get0_param(&algorithm, nullptr, nullptr, &parameters, spki) != 1 || !algorithm)
    return "none";
  const int type = OBJ_obj2nid(algorithm);
  if (type == NID_rsaEncryption) {
    tls::PkeyPtr key(X509_get_pubkey(cert));
    const int bits = key ? EVP_PKEY_bits(key.get()) : 0;
    return bits == 2048 ? "rsa" : "rsa-" + std::to_string(bits);
  }
  if (type == NID_X9_62_id_ecPublicKey) {
    const ASN1_OBJECT* curve = nullptr;
    int curve_type = 0;
    const void* value = nullptr;
    if (parameters) X509_ALGOR_get0(&curve, &curve_type, &value, parameters);
    if (curve_type != V_ASN1_OBJECT || !value) return "ec";
    const int nid = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(value));
    if (nid == NID_X9_62_prime256v1) return "ecdsa";
    const char* name = OBJ_nid2sn(nid);
    return std::string("ec-") + (name ? name : "unknown");
  }
  const char* name = type != NID_undef ? OBJ_nid2sn(type) : nullptr;
  std::string out = name ? name : "unknown";
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

void addressTarget(LoadSpec& spec, const server::Endpoint& endpoint, const std::string& sni) {
  const std::string& host = endpoint.host;
  const server::IpLiteral ip = server::ipLiteral(host);
  const bool v6_literal = ip == server::IpLiteral::v6;
  const bool literal = ip != server::IpLiteral::none;
  spec.sni = !sni.empty() ? sni : literal ? std::string() : host;
  // The Host header names the same site as the SNI, as a browser's would.
  // Built by appends: GCC 12 warns (-Wrestrict, a known false positive) on "[" + host + "]".
  std::string name;
  if (!sni.empty()) {
    name = sni;
  } else if (v6_literal) {
    name.append("[").append(host).append("]");
  } else {
    name = host;
  }
  if (endpoint.port != 443) name.append(":").append(std::to_string(endpoint.port));
  spec.host = std::move(name);
}

Percentiles percentiles(std::vector<std::uint32_t> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return static_cast<double>(v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)]);
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  return p;
}

}  // namespace tlsresume::tools::bench
