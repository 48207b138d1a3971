#include "server/admin.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "tls/tls_frontend.hpp"
#include "server/json.hpp"
#include "server/tls_holder.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"
#include "server/status_page.hpp"
#include "tlsresume/hex.hpp"
#include "tlsresume/revocation_list.hpp"
#include "tlsresume/session_store.hpp"

namespace tlsresume::server {
namespace {

constexpr std::size_t kMaxAdminBody = 4096;
constexpr std::chrono::seconds kRequestTime{5};   // to read one whole admin request
constexpr std::chrono::seconds kResponseTime{10};  // to send one whole answer
// Connections served at once: a few stalled or slow clients cannot keep /healthz (and a
// liveness probe behind it) waiting; each is cut at kRequestTime + kResponseTime.
constexpr unsigned kAdminThreads = 4;

AdminResponse error(int status, const std::string& message) {
  return {status, "application/json", "{\"error\":" + jsonString(message) + "}\n"};
}

std::string storeMetrics(const SessionStore& store) {
  const StoreStats s = store.stats();
  std::string out;
  const auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    appendHelp(out, name, "counter", help);
    appendSample(out, name, "", static_cast<double>(v));
  };
  counter("tlsresume_session_store_hits_total", "Session store lookups that found a session.", s.hits);
  counter("tlsresume_session_store_misses_total", "Session store lookups that found nothing.", s.misses);
  counter("tlsresume_session_store_evictions_total", "Sessions dropped to stay within the byte budget.", s.evictions);
  counter("tlsresume_session_store_expired_total", "Sessions dropped because their lifetime ended.", s.expired);
  appendHelp(out, "tlsresume_session_store_entries", "gauge", "Sessions in the store.");
  appendSample(out, "tlsresume_session_store_entries", "", static_cast<double>(s.entries));
  appendHelp(out, "tlsresume_session_store_bytes", "gauge", "Bytes the stored sessions cost, overhead included.");
  appendSample(out, "tlsresume_session_store_bytes", "", static_cast<double>(s.bytes));
  return out;
}

// Issue times are whole seconds (SSL_SESSION_get_time, ticket app data) while "now" is
// not, so a session issued later in the same second as a time-based revocation cannot be
// told from one issued just before it, and is revoked too. The reply waits for that
// second to end: whatever is issued after `ctl revoke` returns resumes normally.
void waitOutCurrentSecond() {
  const auto now = std::chrono::system_clock::now();
  std::this_thread::sleep_until(std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds{1});
}

// Every revocation ends alike: the stored sessions it covers are erased now (their secrets
// leave memory), an audit line says what was revoked, and the answer how many were erased.
AdminResponse revoked(AdminContext& ctx, const std::string& what, const std::string& json_fields) {
  const std::size_t erased = ctx.tls->current()->frontend->forgetRevoked();
  log(Level::info, "revoked " + what + " (" + std::to_string(erased) + " session(s) erased from the store)");
  return {200, "application/json", "{" + json_fields + ",\"erased_from_store\":" + std::to_string(erased) + "}\n"};
}

AdminResponse revoke(const HttpRequest& req, AdminContext& ctx) {
  const TimePoint now = ctx.clock->now();
  const std::shared_ptr<TlsSetup> setup = ctx.tls->current();
  auto& tls = *setup->frontend;
  std::chrono::seconds longest{0};
  for (std::size_t i = 0; i < tls.hostCount(); ++i)
    longest = std::max({longest, tls.policy(i).session_lifetime, tls.policy(i).max_resumption_age});
  if (auto id_hex = req.query("id")) {
    const auto id = fromHex(*id_hex);
    if (!id) return error(400, "id must be the hex bytes of a session id or resumption id");
    // RFC 5246 7.4.1.2: a session id is at most 32 bytes; resumption ids are 16.
    if (id->empty() || id->size() > 32) return error(400, "id must be 1 to 32 bytes (2 to 64 hex digits)");
    // Remembered, so that a ticket carrying the same resumption id (or another node's
    // copy) is refused too; and every stored session it names is erased now.
    if (!ctx.revocations->revokeId(*id, now + longest))
      return error(503, "the revocation list holds " + std::to_string(ctx.revocations->maxIds()) +
                            " session ids already; revoke by host (--host) or by time (--before now) instead");
    if (ctx.on_revoke) ctx.on_revoke("id", *id, now + longest);
    // The id in the audit line is an identifier, not a secret: a session id travels in
    // clear in every TLS 1.2 handshake, a resumption id is public randomness.
    return revoked(ctx, "session or resumption id " + *id_hex, "\"revoked\":\"id\",\"id\":" + jsonString(*id_hex));
  }
  if (auto host = req.query("host")) {
    bool known = false;
    for (std::size_t i = 0; i < tls.hostCount(); ++i) known = known || tls.hostName(i) == *host;
    if (!known) return error(404, "no virtual host named \"" + *host + "\"");
    ctx.revocations->revokeHost(*host, now);
    if (ctx.on_revoke) ctx.on_revoke("host", *host, now);
    return revoked(ctx, "every session and ticket of virtual host " + *host + " issued until now",
                   "\"revoked\":\"host\",\"host\":" + jsonString(*host));
  }
  if (auto before = req.query("before")) {
    TimePoint t = now;
    if (*before != "now") {
      long long secs = 0;
      const auto [p, ec] = std::from_chars(before->data(), before->data() + before->size(), secs);
      if (ec != std::errc{} || p != before->data() + before->size() || secs < 0)
        return error(400, "before must be \"now\" or seconds since the Unix epoch");
      // Compared in seconds before any TimePoint is made: a TimePoint counts nanoseconds,
      // and a large value would overflow into a past time (or crash) instead of being refused.
      if (secs > std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count())
        return error(400, "before is in the future; use \"now\"");
      t = TimePoint{std::chrono::seconds{secs}};
    }
    ctx.revocations->revokeAllBefore(t);
    if (ctx.on_revoke) ctx.on_revoke("before", "", t);
    const std::string cut_off =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    return revoked(ctx, "every session and ticket issued before " + cut_off + " (Unix seconds), on every virtual host",
                   "\"revoked\":\"before\",\"before\":" + cut_off);
  }
  return error(400, "POST /revoke needs one of ?id=HEX, ?host=NAME, ?before=now|UNIX_SECONDS");
}

// Each entry's time under a name that says what it is: for an id, until when the entry is
// kept (the longest a session could still resume); for a host or "before", the cut-off
// (what was issued before it is revoked). One field "time" for both read as the same.
AdminResponse revocations(AdminContext& ctx) {
  std::string body = "[";
  bool first = true;
  for (const auto& e : ctx.revocations->entries()) {
    if (!first) body += ",";
    first = false;
    body += "{\"kind\":" + jsonString(e.kind) + ",\"subject\":" + jsonString(e.subject) + ",";
    body += e.kind == "id" ? "\"kept_until\":" : "\"issued_before\":";
    body += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(e.time.time_since_epoch()).count()) + "}";
  }
  return {200, "application/json", body + "]\n"};
}

}  // namespace

AdminResponse handleAdminRequest(const HttpRequest& req, const std::string&, AdminContext& ctx) {
  // First: without the token nothing else is answered, not even which paths exist.
  if (ctx.token && !ctx.token->accepts(req.header("authorization")))
    return error(401, "this admin endpoint needs \"Authorization: Bearer <token>\" (admin_token_file; ctl --token-file)");
  // Only browsers send Origin. Without authentication, a web page in the operator's
  // browser could otherwise POST /revoke or /rotate here (cross-site request forgery,
  // or DNS rebinding to 127.0.0.1); curl, ctl and Prometheus never send it.
  if (!req.header("origin").empty()) return error(403, "requests from web pages are refused (Origin header)");
  const std::string path = req.path();
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  // A browser opening the endpoint gets the live status page (docs/admin.md); its script
  // reads the GET routes below from the same origin, which sends no Origin header.
  if (path == "/" && acceptsHtml(req.header("accept"))) {
    if (!get) return error(405, "use GET");
    return {200, "text/html; charset=utf-8", std::string(statusPageHtml())};
  }
  if (path == "/healthz") {
    if (!get) return error(405, "use GET");
    return {200, "text/plain", "ok\n"};
  }
  if (path == "/metrics") {
    if (!get) return error(405, "use GET");
    auto extra = ctx.extra_metrics;
    extra.push_back([&](std::string& out) { out += storeMetrics(*ctx.store); });
    extra.push_back([&](std::string& out) {
      appendHelp(out, "tlsresume_revocations", "gauge", "Entries in the revocation list.");
      appendSample(out, "tlsresume_revocations", "", static_cast<double>(ctx.revocations->size()));
    });
    return {200, "text/plain; version=0.0.4", ctx.metrics->render(extra)};
  }
  if (path == "/revoke") {
    if (!post) return error(405, "use POST");
    return revoke(req, ctx);
  }
  if (path == "/revocations") {
    if (!get) return error(405, "use GET");
    return revocations(ctx);
  }
  if (path == "/keys") {
    if (!get) return error(405, "use GET");
    if (!ctx.keys_json) return error(404, "ticket keys are not managed by this server");
    return {200, "application/json", ctx.keys_json()};
  }
  if (path == "/fleet") {
    if (!get) return error(405, "use GET");
    if (!ctx.fleet_json) return error(404, "fleet mode is off (no [fleet] section in the config)");
    if (req.query("format").value_or("") == "text") return {200, "text/plain", ctx.fleet_text()};
    return {200, "application/json", ctx.fleet_json()};
  }
  if (path == "/reload") {
    if (!post) return error(405, "use POST");
    if (!ctx.reload) return error(404, "reload is not available on this server");
    return ctx.reload();
  }
  if (path == "/rotate") {
    if (!post) return error(405, "use POST");
    if (!ctx.rotate) return error(404, "ticket keys are not managed by this server");
    return ctx.rotate();
  }
  return error(404, "no such endpoint; try /healthz, /metrics, /keys, /revocations, /fleet, POST /revoke, POST /rotate, POST /reload");
}

AdminServer::AdminServer(AdminContext ctx, int listen_fd) : ctx_(std::move(ctx)), listen_fd_(listen_fd) {}

AdminServer::~AdminServer() {
  stop();
  ::close(listen_fd_);
}

void AdminServer::start() {
  // Each thread polls and accepts on the same non-blocking listener; the kernel hands a
  // connection to one of them (the others' accept4 says EAGAIN).
  for (unsigned i = 0; i < kAdminThreads; ++i) threads_.emplace_back([this] { run(); });
}

void AdminServer::stop() {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void AdminServer::run() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // another thread took it
    if (fd < 0) {
      // Out of descriptors or memory: the client stays queued and poll() would report it
      // again at once. Wait instead of spinning.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) ::poll(nullptr, 0, 100);
      continue;
    }
    timeval tv{2, 0};  // a stalled admin client cannot hold the endpoint
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    serveOne(fd);
    ::close(fd);
  }
}

// Someone without the token: the address says who (a scanner, a misconfigured scraper).
// A scan or a scraper retrying must not flood the log: one line per 10 s, with the count.
static void logRefused(int fd, bool no_token) noexcept {
  static RateLimitedLog refusals(std::chrono::seconds{10});
  if (!logs(Level::warn)) return;
  try {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const std::string client = getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0
                                   ? addressText(reinterpret_cast<const sockaddr*>(&peer), len)
                                   : std::string("?");
    refusals.log(Level::warn, "admin request from " + client + " refused (401): " +
                                  (no_token ? "no bearer token" : "wrong bearer token"));
  } catch (...) {
  }
}

void AdminServer::serveOne(int fd) {
  std::string in;
  char buf[4096];
  // One request, however it trickles in, gets kRequestTime in all: the per-recv timeout
  // alone would let a client sending a byte a second hold the (single) admin thread
  // for hours, and with it /healthz and shutdown.
  const auto deadline = std::chrono::steady_clock::now() + kRequestTime;
  const auto receive = [&]() -> ssize_t {
    // At most 2 s of silence (as before), and kRequestTime in all.
    const auto left = std::min(std::chrono::milliseconds{2000}, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                    deadline - std::chrono::steady_clock::now()));
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return -1;
    return ::recv(fd, buf, sizeof buf, 0);
  };
  ParseResult parsed{ParseStatus::incomplete, {}, {}};
  for (;;) {
    parsed = parseHttpRequest(in);
    if (parsed.status != ParseStatus::incomplete) break;
    const ssize_t n = receive();
    if (n <= 0) return;
    in.append(buf, static_cast<std::size_t>(n));
  }
  AdminResponse resp;
  if (parsed.status != ParseStatus::complete) {
    resp = error(400, parsed.status == ParseStatus::too_large ? "request too large" : parsed.error);
  } else if (parsed.request.content_length > kMaxAdminBody) {
    resp = error(413, "request body too large");
  } else {
    while (in.size() < parsed.request.head_size + parsed.request.content_length) {
      const ssize_t n = receive();
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
    resp = handleAdminRequest(parsed.request, in.substr(parsed.request.head_size, parsed.request.content_length), ctx_);
    if (resp.status == 200 && parsed.request.path() == "/revoke" &&
        (parsed.request.query("host") || parsed.request.query("before")))
      waitOutCurrentSecond();
  }
  if (resp.status == 401) logRefused(fd, parsed.request.header("authorization").empty());
  const char* reason = resp.status == 200   ? "OK"
                       : resp.status == 400 ? "Bad Request"
                       : resp.status == 401 ? "Unauthorized"
                       : resp.status == 403 ? "Forbidden"
                       : resp.status == 404 ? "Not Found"
                       : resp.status == 405 ? "Method Not Allowed"
                       : resp.status == 413 ? "Payload Too Large"
                       : resp.status == 429 ? "Too Many Requests"
                       : resp.status == 503 ? "Service Unavailable"
                                            : "Error";
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + reason +
                    "\r\nContent-Type: " + resp.content_type +
                    "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                    (resp.status == 401 ? "\r\nWWW-Authenticate: Bearer realm=\"tlsresume admin\"" : "") +
                    "\r\nServer: tlsresume\r\nConnection: close\r\n\r\n";
  if (parsed.request.method != "HEAD") out += resp.body;
  // The answer gets kResponseTime in all, however slowly the client reads: a send
  // timeout alone restarts with every byte taken.
  const auto send_deadline = std::chrono::steady_clock::now() + kResponseTime;
  std::size_t sent = 0;
  while (sent < out.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(send_deadline -
                                                                          std::chrono::steady_clock::now());
    pollfd p{fd, POLLOUT, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace tlsresume::server
