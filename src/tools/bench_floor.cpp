#include "tools/bench_floor.hpp"

#include <openssl/err.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "tls/compat.hpp"
#include "tlsresume/crypto.hpp"
#include "tools/bench_load.hpp"

namespace tlsresume::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this thread: other processes on the machine do not inflate the figures.
// (A syscall of well under a microsecond per reading; a handshake is hundreds.)
std::chrono::nanoseconds threadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Same algorithms as our server (src/openssl/tls_frontend.cpp) and the peers. Groups are
// set by SSL_CTX_set1_curves_list, the name both OpenSSL and BoringSSL know.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr int kMinHandshakes = 30;
constexpr int kMaxRounds = 64;

// OpenSSL's server with its internal cache and its own ticket keys: nothing of ours.
// stateful_tls13: OpenSSL's stateful TLS 1.3 tickets (SSL_OP_NO_TICKET keeps the session in
// its cache). BoringSSL has no such mode (SSL_OP_NO_TICKET turns TLS 1.3 resumption off), so
// its floor for that scenario is its own stateless ticket: the same handshake on the wire.
tls::SslCtxPtr makeServerContext(const CertMaterial& cert, bool stateful_tls13) {
#if defined(OPENSSL_IS_BORINGSSL)
  stateful_tls13 = false;
#endif
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw BenchError("SSL_CTX_new: " + tls::lastError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                             (stateful_tls13 ? SSL_OP_NO_TICKET : 0));
  static const unsigned char kSidCtx[] = "tlsresume-floor";
  SSL_CTX_set_session_id_context(c, kSidCtx, sizeof kSidCtx - 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set1_curves_list(c, kGroups) != 1 ||
      SSL_CTX_use_certificate(c, cert.key.cert.get()) != 1 || SSL_CTX_use_PrivateKey(c, cert.key.key.get()) != 1)
    throw BenchError("floor server context: " + tls::lastError());
  return ctx;
}

struct Timing {
  std::chrono::nanoseconds server{}, client{};
};

// Drives one SSL call and adds its wall time to `spent`; returns 1 done, 0 wants I/O, -1 failed.
int timed(SSL* ssl, std::chrono::nanoseconds& spent) {
  const auto t = threadCpu();
  const int r = SSL_do_handshake(ssl);
  spent += threadCpu() - t;
  if (r == 1) return 1;
  const int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

// One handshake over a BIO pair; returns the client's newest session (nullptr on failure).
tls::SessionPtr handshake(SSL_CTX* cctx, SSL_CTX* sctx, SSL_SESSION* offer, Timing& timing, bool& reused) {
  tls::SslPtr c(SSL_new(cctx)), s(SSL_new(sctx));
  BIO *cb = nullptr, *sb = nullptr;
  if (!c || !s || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1) throw BenchError("floor: " + tls::lastError());
  SSL_set_bio(c.get(), cb, cb);
  SSL_set_bio(s.get(), sb, sb);
  SSL_set_connect_state(c.get());
  SSL_set_accept_state(s.get());
  SSL_set_tlsext_host_name(c.get(), "localhost");
  tls::SessionPtr newest;
  SSL_set_app_data(c.get(), &newest);
  if (offer) SSL_set_session(c.get(), offer);
  int cd = 0, sd = 0;
  for (int round = 0; round < kMaxRounds && (cd != 1 || sd != 1); ++round) {
    if (cd != 1 && (cd = timed(c.get(), timing.client)) < 0) break;
    if (sd != 1 && (sd = timed(s.get(), timing.server)) < 0) break;
  }
  if (cd != 1 || sd != 1) {
    ERR_clear_error();
    return nullptr;
  }
  // BoringSSL holds a server's TLS 1.3 tickets until it next writes (OpenSSL sent them with
  // its last flight): they are the server's work, so they leave on its clock.
  const auto ts = threadCpu();
  tls::sendTicketsNow(s.get());
  timing.server += threadCpu() - ts;
  // TLS 1.3 tickets follow the handshake: let the client take them, as a browser would.
  const auto t = threadCpu();
  char byte;
  SSL_read(c.get(), &byte, 1);
  timing.client += threadCpu() - t;
  ERR_clear_error();
  reused = SSL_session_reused(c.get()) == 1;
  // Both ends are done with each other: without this mark SSL_free() treats the session
  // as broken, drops it from the server cache and makes it non-resumable.
  SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(s.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_app_data(c.get(), nullptr);
  // A resumption that issued nothing new goes on with the session it resumed.
  return newest ? std::move(newest) : tls::SessionPtr(SSL_get1_session(c.get()));
}

FloorResult measureOne(const CertMaterial& cert, Scenario scenario, double mix_no_ticket,
                       std::chrono::milliseconds budget, const std::atomic<bool>& stop) {
  const ScenarioClients clients = clientsFor(scenario, mix_no_ticket);
  const tls::SslCtxPtr sctx = makeServerContext(cert, scenario == Scenario::stateful_ticket);
  tls::SslCtxPtr cctx[2] = {makeClientContext(clients.primary), nullptr};
  ClientProfile profiles[2] = {clients.primary, clients.alternate.value_or(clients.primary)};
  if (clients.alternate) cctx[1] = makeClientContext(*clients.alternate);
  tls::SessionPtr sessions[2];
  std::mt19937_64 rng(42);

  // Warm-up, not counted: a first session per profile.
  for (int p = 0; p < (cctx[1] ? 2 : 1); ++p) {
    Timing ignored;
    bool reused = false;
    sessions[p] = handshake(cctx[p].get(), sctx.get(), nullptr, ignored, reused);
    if (!sessions[p]) throw BenchError(std::string("floor: in-memory handshake failed for ") + toString(scenario));
  }
  Timing timing;
  FloorResult r;
  r.library = crypto::libraryVersion();
  r.cert = cert.type;
  r.scenario = scenario;
  std::uint64_t resumed = 0;
  const auto end = Clock::now() + budget;
  while ((Clock::now() < end || r.handshakes < kMinHandshakes) && !stop) {
    const int p = cctx[1] && std::bernoulli_distribution(clients.alternate_share)(rng) ? 1 : 0;
    bool reused = false;
    SSL_SESSION* offer = profiles[p].resume ? sessions[p].get() : nullptr;
    tls::SessionPtr next = handshake(cctx[p].get(), sctx.get(), offer, timing, reused);
    if (!next) throw BenchError(std::string("floor: in-memory handshake failed for ") + toString(scenario));
    ++r.handshakes;
    resumed += reused;
    if (SSL_SESSION_is_resumable(next.get())) sessions[p] = std::move(next);
  }
  const double n = static_cast<double>(std::max<std::uint64_t>(1, r.handshakes));
  r.server_us = std::chrono::duration<double, std::micro>(timing.server).count() / n;
  r.client_us = std::chrono::duration<double, std::micro>(timing.client).count() / n;
  r.resumed_ratio = static_cast<double>(resumed) / n;
  return r;
}

}  // namespace

std::vector<FloorResult> measureFloor(const CertMaterial& cert, const std::vector<Scenario>& scenarios,
                                      double mix_no_ticket, std::chrono::milliseconds per_scenario,
                                      const std::atomic<bool>& stop) {
  std::vector<FloorResult> out;
  for (Scenario s : scenarios) {
    if (stop) break;
    out.push_back(measureOne(cert, s, mix_no_ticket, per_scenario, stop));
  }
  return out;
}

namespace {
constexpr const char* kLibraryLine = "library\t";
constexpr const char* kFloorLine = "floor\t";
constexpr auto kFloorChildTimeout = std::chrono::seconds(60);
}  // namespace

int printFloorLines(const BenchOptions& options) {
  const std::atomic<bool> never{false};
  try {
    std::printf("%s%s\n", kLibraryLine, crypto::libraryVersion());
    for (CertType type : options.certs) {
      const CertMaterial cert = makeCertMaterial(type);
      for (const FloorResult& f : measureFloor(cert, options.scenarios, options.mix_no_ticket, kFloorPerScenario, never))
        std::printf("%s%s\t%s\t%llu\t%.3f\t%.3f\t%.4f\n", kFloorLine, toString(f.cert), toString(f.scenario),
                    static_cast<unsigned long long>(f.handshakes), f.server_us, f.client_us, f.resumed_ratio);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsresume bench: floor: %s\n", e.what());
    return 1;
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

std::vector<FloorResult> parseFloorLines(const std::string& text) {
  std::vector<FloorResult> out;
  std::string library;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(kLibraryLine, 0) == 0) {
      library = line.substr(std::char_traits<char>::length(kLibraryLine));
      continue;
    }
    if (line.rfind(kFloorLine, 0) != 0) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string v; std::getline(fields, v, '\t');) f.push_back(v);
    if (f.size() != 7) continue;
    const auto scenario = parseScenario(f[2]);
    if (!scenario || scenario->size() != 1 || (f[1] != "ecdsa" && f[1] != "rsa")) continue;
    FloorResult r;
    r.library = library;
    r.cert = f[1] == "rsa" ? CertType::rsa : CertType::ecdsa;
    r.scenario = scenario->front();
    r.handshakes = std::strtoull(f[3].c_str(), nullptr, 10);
    r.server_us = std::strtod(f[4].c_str(), nullptr);
    r.client_us = std::strtod(f[5].c_str(), nullptr);
    r.resumed_ratio = std::strtod(f[6].c_str(), nullptr);
    out.push_back(r);
  }
  return out;
}

std::vector<FloorResult> measureFloorWith(const std::string& binary, CertType cert, Scenario scenario,
                                          double mix_no_ticket, const TempDir& dir, std::optional<int> cpu) {
  SpawnSpec spec;
  char share[32];
  std::snprintf(share, sizeof share, "%g", mix_no_ticket);
  spec.argv = {binary, "bench", "--floor-lines", "--cert-type", toString(cert), "--scenarios", toString(scenario),
               "--mix-no-ticket", share};
  spec.log_path = dir.path() + "/floor-other-build.log";
  spec.cpu = cpu;
  ChildProcess child = ChildProcess::spawn(spec);
  const auto status = child.wait(kFloorChildTimeout);
  std::ifstream in(spec.log_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<FloorResult> out = parseFloorLines(text);
  if (!status || *status != 0 || out.empty())
    throw BenchError(binary + " --floor-lines " + (status ? "failed" : "did not finish") + ": " + child.logTail());
  return out;
}

}  // namespace tlsresume::tools::bench
