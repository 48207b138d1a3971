#include "tools/bench_peers.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>
#include <initializer_list>
#include <thread>

#include "server/net.hpp"
#include "tlsresume/crypto.hpp"
#include "tools/bench_fleet.hpp"

namespace tlsresume::tools::bench {
namespace {

// The same TLS 1.2 suites and groups as src/openssl/tls_frontend.cpp, so that every
// server negotiates the same algorithms and the comparison is about the server.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr int kLaunchAttempts = 3;
// The first nginx that rotates its own ticket keys (with a shared session cache).
constexpr int kNginxRotates[3] = {1, 23, 2};
// Session lifetime of the peers' generated configs, as ours by default (server::Config).
constexpr std::chrono::seconds kPeerSessionLifetime{3600};
constexpr auto kStartTimeout = std::chrono::seconds(15);
// A fresh fleet's servers switch to the fleet's first ticket key about 3 s after the first
// of them reaches Redis.
constexpr auto kFleetKeyTimeout = std::chrono::seconds(30);

std::uint16_t freePort() {
  const int fd = server::listenOn(server::Endpoint{"127.0.0.1", 0}, false, "free port");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  ::close(fd);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

std::string pemOfKey(EVP_PKEY* key) {
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    throw BenchError("cannot encode the test key: " + tls::lastError());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// A pipe whose read end the child opens as /dev/fd/N: our server reads its certificate
// and key from it, so the key never touches the disk for self.
int pipeWith(const std::string& content) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw BenchError(std::string("pipe: ") + std::strerror(errno));
  // PEM files are a few KB, well under the 64 KB pipe buffer: the write cannot block.
  const ssize_t n = ::write(p[1], content.data(), content.size());
  ::close(p[1]);
  // Numbered above the bench's own descriptors, so the child's dup2 to 3 and 4 cannot
  // overwrite one source with another.
  const int high = fcntl(p[0], F_DUPFD_CLOEXEC, 100);
  ::close(p[0]);
  if (n != static_cast<ssize_t>(content.size()) || high < 0) {
    if (high >= 0) ::close(high);
    throw BenchError("cannot hand the certificate to the server through a pipe");
  }
  return high;
}

std::string lines(std::initializer_list<std::string> items) {
  std::string out;
  for (const auto& l : items) {
    out += l;
    out += '\n';
  }
  return out;
}

bool executable(const std::string& path) { return !path.empty() && access(path.c_str(), X_OK) == 0; }

}  // namespace

const char* peerInstallHint(TargetKind kind) {
  return kind == TargetKind::nginx ? "apt-get install nginx-light" : "apt-get install haproxy";
}

CertMaterial makeCertMaterial(CertType type) {
  CertMaterial m;
  m.type = type;
  m.key =
      tls::makeSelfSigned("localhost", type == CertType::ecdsa ? tls::KeyType::ecdsa_p256 : tls::KeyType::rsa2048);
  m.cert_pem = tls::certificatePem(m.key.cert.get());
  m.key_pem = pemOfKey(m.key.key.get());
  return m;
}

ServerLauncher::ServerLauncher(const BenchOptions& options, const TempDir& dir) : options_(options), dir_(dir) {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) self_exe_.assign(buf, static_cast<std::size_t>(n));
}

std::string ServerLauncher::otherBuildPath(const Target& t) const {
  if (!options_.other_build.empty()) return options_.other_build;
  const std::filesystem::path here = std::filesystem::path(self_exe_).parent_path();
  const char* folder = t.library == "BoringSSL" ? "build-boringssl" : "build";
  return (here / ".." / folder / "tlsresume").lexically_normal().string();
}

std::string ServerLauncher::otherBuildLibrary(const Target& t) {
  const std::string bin = otherBuildPath(t);
  const auto known = other_library_.find(bin);
  if (known != other_library_.end()) return known->second;
  std::string library;
  if (executable(bin)) {
    // "0.1.0 (BoringSSL (API 17))": the library is what the outer parentheses hold.
    std::string text = outputOf({bin, "--version"}, "other-build-version.log");
    text = text.substr(0, text.find('\n'));
    const auto open = text.find(" (");
    if (open != std::string::npos && text.size() > open + 3 && text.back() == ')')
      library = text.substr(open + 2, text.size() - open - 3);
  }
  other_library_[bin] = library;
  return library;
}

std::string ServerLauncher::unavailableReason(const Target& t) {
  if (t.kind == TargetKind::other_build) {
    const std::string bin = otherBuildPath(t);
    const std::string how = t.library == "BoringSSL" ? "make build TLS=boringssl" : "make build";
    if (!executable(bin))
      return "no tlsresume built with " + t.library + " at " + bin + " (" + how + ", or --other-build PATH)";
    if (otherBuildLibrary(t).empty())
      return bin + " is not a tlsresume binary that runs here (its --version names no TLS library)";
    return {};
  }
  if (t.kind == TargetKind::tcp_floor && !executable(self_exe_))
    return "cannot find our own binary through /proc/self/exe";
  if (t.kind == TargetKind::nginx || t.kind == TargetKind::haproxy) {
    const std::string& bin = t.kind == TargetKind::nginx ? options_.nginx_bin : options_.haproxy_bin;
    if (!executable(bin)) {
      const std::string standard = t.kind == TargetKind::nginx ? kNginxBin : kHaproxyBin;
      return t.name + (bin == standard ? " not installed" : " not found at " + bin) + " (" + peerInstallHint(t.kind) +
             ")";
    }
  }
  if ((t.kind == TargetKind::self || t.kind == TargetKind::fleet) && !executable(self_exe_))
    return "cannot find our own binary through /proc/self/exe";
  if (t.kind == TargetKind::fleet && !executable(kRedisServerBin))
    return std::string("redis-server not installed (") + kRedisServerBin + " not found; apt-get install redis-server)";
  return {};
}

std::string ServerLauncher::scenarioSkipReason(const Target& t, Scenario s) {
  // Its TLS 1.3 tickets look the same to a client whether the server keeps state or not:
  // only a server we configure ourselves is known to issue stateful ones.
  if (s == Scenario::stateful_ticket && t.kind == TargetKind::external)
    return "whether a HOST:PORT target's TLS 1.3 tickets are stateful cannot be seen from the client";
  return {};
}

std::unique_ptr<RunningServer> ServerLauncher::start(const Target& t, const CertMaterial& cert, bool stateful) {
  switch (t.kind) {
    case TargetKind::self:
      return startSelf(self_exe_, "tlsresume serve", cert, stateful);
    case TargetKind::other_build:
      return startSelf(otherBuildPath(t), "tlsresume serve (" + t.name + ")", cert, stateful);
    case TargetKind::tcp_floor:
      return startTcpFloor();
    case TargetKind::nginx:
      return startNginx(cert, stateful);
    case TargetKind::haproxy:
      return startHaproxy(cert, stateful);
    case TargetKind::fleet:
      return startFleet(cert, stateful);
    case TargetKind::external: {
      auto s = std::make_unique<RunningServer>();
      s->endpoint = t.endpoint;
      s->pid = options_.server_pid;
      return s;
    }
  }
  return nullptr;
}

std::unique_ptr<RunningServer> ServerLauncher::launch(const std::string& what,
                                                      const std::function<SpawnSpec(std::uint16_t)>& make) {
  std::string last;
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    if (interrupted()) throw BenchError("interrupted");
    const std::uint16_t port = freePort();
    SpawnSpec spec = make(port);
    if (options_.pin) spec.cpu = 0;
    auto s = std::make_unique<RunningServer>();
    s->endpoint = server::Endpoint{"127.0.0.1", port};
    try {
      s->process = ChildProcess::spawn(spec);
    } catch (...) {
      for (const auto& fd : spec.fds) ::close(fd.first);
      throw;
    }
    for (const auto& fd : spec.fds) ::close(fd.first);  // the child has its copies
    s->pid = s->process->pid();
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline && !interrupted()) {
      if (!s->process->running()) {
        exited = true;
        break;
      }
      try {
        ::close(server::connectTo(s->endpoint, 200, what));
        return s;
      } catch (const server::NetError&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    last = s->process->logTail();
    s->process->stop();
    // Another process took the port between our probe and the server's bind: try another.
    const bool port_taken = last.find("in use") != std::string::npos;
    if (!port_taken) {
      if (exited) throw BenchError(what + " exited at start: " + (last.empty() ? "(no output)" : last));
      throw BenchError(what + " did not listen on " + s->endpoint.str() + " within " +
                       std::to_string(kStartTimeout.count()) + " s: " + last);
    }
  }
  throw BenchError(what + ": port in use on " + std::to_string(kLaunchAttempts) + " attempts: " + last);
}

std::unique_ptr<RunningServer> ServerLauncher::startTcpFloor() {
  const unsigned n = ++launches_;
  return launch("tcp floor", [&](std::uint16_t port) {
    SpawnSpec spec;
    spec.argv = {self_exe_, "bench", "--serve-tcp-floor", "127.0.0.1:" + std::to_string(port)};
    spec.log_path = dir_.path() + "/tcp-floor-" + std::to_string(n) + ".log";
    return spec;
  });
}

std::unique_ptr<RunningServer> ServerLauncher::startSelf(const std::string& exe, const std::string& name,
                                                         const CertMaterial& cert, bool stateful) {
  const unsigned n = ++launches_;
  std::string config;
  if (stateful)
    config = dir_.write("self-" + std::to_string(n) + ".toml", "[default_host]\ntls13_tickets = \"stateful\"\n");
  return launch(name, [&](std::uint16_t port) {
    SpawnSpec spec;
    // Certificate and key through pipes (see pipeWith); one worker thread, no admin
    // endpoint, the built-in responder: the server and nothing else.
    spec.fds = {{pipeWith(cert.cert_pem), 3}, {pipeWith(cert.key_pem), 4}};
    spec.argv = {exe, "serve", "--listen", "127.0.0.1:" + std::to_string(port)};
    for (const char* arg : {"--workers", "1", "--admin", "off", "--backend", "builtin", "--log-level", "warn", "--cert",
                            "/dev/fd/3", "--key", "/dev/fd/4"})
      spec.argv.emplace_back(arg);
    if (!config.empty()) {
      spec.argv.push_back("--config");
      spec.argv.push_back(config);
    }
    spec.log_path = dir_.path() + "/self-" + std::to_string(n) + ".log";
    return spec;
  });
}

std::unique_ptr<RunningServer> ServerLauncher::startRedis() {
  const unsigned n = ++launches_;
  return launch("redis-server", [&](std::uint16_t port) {
    SpawnSpec spec;
    // No persistence, loopback only, its log to our scratch directory's file for the child.
    spec.argv = {kRedisServerBin, "--port",     std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly",  "no",         "--daemonize",        "no",     "--dir",     dir_.path(),
                 "--logfile",     "",           "--protected-mode",   "yes"};
    spec.log_path = dir_.path() + "/redis-" + std::to_string(n) + ".log";
    return spec;
  });
}

std::unique_ptr<RunningServer> ServerLauncher::startFleetNode(const CertMaterial& cert, bool stateful,
                                                              const server::Endpoint& redis, unsigned fleet,
                                                              unsigned node) {
  const std::string name = "fleet" + std::to_string(fleet) + "-node-" + std::to_string(node);
  std::optional<server::Endpoint> admin;
  auto s = launch("tlsresume serve (" + name + ")", [&](std::uint16_t port) {
    admin = server::Endpoint{"127.0.0.1", freePort()};
    std::string toml = lines({
        "[fleet]",
        "redis = \"redis://" + redis.str() + "\"",
        "node_name = \"" + name + "\"",
        "lookup_timeout = \"5ms\"",
    });
    if (stateful) toml += "[default_host]\ntls13_tickets = \"stateful\"\n";
    const std::string config = dir_.write(name + ".toml", toml);
    SpawnSpec spec;
    // As self (see startSelf), with an admin endpoint on loopback for /fleet and /metrics.
    spec.fds = {{pipeWith(cert.cert_pem), 3}, {pipeWith(cert.key_pem), 4}};
    spec.argv = {self_exe_, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--admin", admin->str()};
    for (const char* arg : {"--workers", "1", "--backend", "builtin", "--log-level", "warn", "--cert", "/dev/fd/3",
                            "--key", "/dev/fd/4", "--config"})
      spec.argv.emplace_back(arg);
    spec.argv.push_back(config);
    spec.log_path = dir_.path() + "/" + name + ".log";
    return spec;
  });
  s->admin = admin;
  return s;
}

std::unique_ptr<RunningServer> ServerLauncher::startFleet(const CertMaterial& cert, bool stateful) {
  const unsigned fleet = ++launches_;
  auto f = std::make_unique<RunningServer>();
  f->redis = startRedis();
  for (unsigned i = 1; i <= options_.fleet_size; ++i)
    f->nodes.push_back(startFleetNode(cert, stateful, f->redis->endpoint, fleet, i));
  f->endpoint = f->nodes.front()->endpoint;
  f->pid = f->nodes.front()->pid;
  // Tickets sealed by one server open on another only once all encrypt under the fleet's key.
  const auto deadline = std::chrono::steady_clock::now() + kFleetKeyTimeout;
  for (const auto& node : f->nodes) {
    std::string last;
    for (;;) {
      if (interrupted()) throw BenchError("interrupted");
      if (!node->process->running())
        throw BenchError("a fleet server exited: " + node->process->logTail());
      try {
        const AdminAnswer a = adminGet(*node->admin, "/fleet");
        if (a.status == 200 && encryptsWithFleetKey(a.body)) break;
        last = a.body;
      } catch (const BenchError& e) {
        last = e.what();
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw BenchError("fleet server " + node->endpoint.str() + " did not take up the fleet's ticket key within " +
                         std::to_string(kFleetKeyTimeout.count()) + " s: " + last + " " + node->process->logTail());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return f;
}

std::string ServerLauncher::peerFiles(const CertMaterial& cert, bool combined) {
  const std::string base = std::string("peer-") + toString(cert.type);
  if (combined) return dir_.write(base + "-combined.pem", cert.cert_pem + cert.key_pem);  // haproxy's format
  dir_.write(base + ".key", cert.key_pem);
  return dir_.write(base + ".crt", cert.cert_pem);
}

std::unique_ptr<RunningServer> ServerLauncher::startNginx(const CertMaterial& cert, bool stateful) {
  const unsigned n = ++launches_;
  const std::string crt = peerFiles(cert, false);
  const std::string key = crt.substr(0, crt.size() - 4) + ".key";
  const std::string d = dir_.path() + "/nginx-" + std::to_string(n);
  auto server = launch("nginx", [&](std::uint16_t port) {
    // One worker, shared session cache, tickets (OpenSSL's own keys), TLS 1.2 and 1.3,
    // our suites and groups, deferred accept, a fixed tiny answer; every path inside our
    // directory. `stateful`: ssl_session_tickets off, which sets SSL_OP_NO_TICKET; OpenSSL 3
    // then issues stateful TLS 1.3 tickets, whose sessions nginx keeps in its shared cache.
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    const std::string conf = lines({
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
        "pid " + d + ".pid;",
        "error_log stderr warn;",
        "events { worker_connections 4096; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path " + d + "-body;",
        "  proxy_temp_path " + d + "-proxy;",
        "  fastcgi_temp_path " + d + "-fastcgi;",
        "  uwsgi_temp_path " + d + "-uwsgi;",
        "  scgi_temp_path " + d + "-scgi;",
        "  server {",
        // `deferred`: TCP_DEFER_ACCEPT, as our own listeners use (see net.hpp).
        "    listen " + listen + " ssl deferred;",
        "    ssl_certificate " + crt + ";",
        "    ssl_certificate_key " + key + ";",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        std::string("    ssl_ciphers ") + kTls12Ciphers + ";",
        "    ssl_prefer_server_ciphers on;",
        std::string("    ssl_ecdh_curve ") + kGroups + ";",
        "    ssl_session_cache shared:bench:16m;",
        "    ssl_session_timeout " + std::to_string(kPeerSessionLifetime.count()) + "s;",
        std::string("    ssl_session_tickets ") + (stateful ? "off;" : "on;"),
        "    location / { default_type text/plain; return 200 \"ok\\n\"; }",
        "  }",
        "}",
    });
    SpawnSpec spec;
    // Errors go to stderr, which is our log of the child: a failed start is reported in
    // nginx's own words.
    const std::string file = dir_.write("nginx-" + std::to_string(n) + ".conf", conf);
    spec.argv = {options_.nginx_bin, "-p", dir_.path() + "/", "-e", "stderr", "-c", file};
    spec.log_path = d + ".log";
    return spec;
  });
  // The peer has read its key: take it off the disk, so that not even a bench killed
  // with SIGKILL (which cannot clean its directory) leaves it behind.
  ::unlink(key.c_str());
  return server;
}

std::unique_ptr<RunningServer> ServerLauncher::startHaproxy(const CertMaterial& cert, bool stateful) {
  const unsigned n = ++launches_;
  const std::string pem = peerFiles(cert, true);
  auto server = launch("haproxy", [&](std::uint16_t port) {
    // One thread, its shared session cache on (1 h), tickets on (OpenSSL's own keys),
    // TLS 1.2 and 1.3, our suites and groups, deferred accept, a fixed tiny answer.
    // `stateful`: no-tls-tickets (SSL_OP_NO_TICKET), so OpenSSL 3 issues stateful TLS 1.3
    // tickets whose sessions HAProxy keeps in its shared cache.
    const std::string conf = lines({
        "global",
        "  nbthread 1",
        "  maxconn 8192",
        "  tune.ssl.cachesize 100000",
        "  tune.ssl.lifetime " + std::to_string(kPeerSessionLifetime.count()),
        std::string("  ssl-default-bind-ciphers ") + kTls12Ciphers,
        "  ssl-default-bind-options ssl-min-ver TLSv1.2",
        "defaults",
        "  mode http",
        "  timeout connect 5s",
        "  timeout client 30s",
        "  timeout server 30s",
        "  timeout http-request 10s",
        "frontend bench",
        // defer-accept: TCP_DEFER_ACCEPT, as our own listeners use (see net.hpp).
        "  bind 127.0.0.1:" + std::to_string(port) + " ssl crt " + pem + " curves " + kGroups + " defer-accept" +
            (stateful ? " no-tls-tickets" : ""),
        "  http-request return status 200 content-type text/plain string \"ok\"",
    });
    SpawnSpec spec;
    spec.argv = {options_.haproxy_bin, "-db", "-f", dir_.write("haproxy-" + std::to_string(n) + ".cfg", conf)};
    spec.log_path = dir_.path() + "/haproxy-" + std::to_string(n) + ".log";
    return spec;
  });
  // The peer has read its key: take it off the disk, so that not even a bench killed
  // with SIGKILL (which cannot clean its directory) leaves it behind.
  ::unlink(pem.c_str());
  return server;
}

std::string ServerLauncher::outputOf(const std::vector<std::string>& argv, const std::string& log_name) {
  SpawnSpec spec;
  spec.argv = argv;
  spec.log_path = dir_.path() + "/" + log_name;
  try {
    ChildProcess p = ChildProcess::spawn(spec);
    if (!p.wait(std::chrono::seconds(5))) return {};
  } catch (const BenchError&) {
    return {};
  }
  std::ifstream in(spec.log_path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ServerInfo ServerLauncher::describe(const Target& t) {
  ServerInfo s;
  s.target = t.name;
  switch (t.kind) {
    case TargetKind::self:
    case TargetKind::fleet:
      s.software = t.kind == TargetKind::fleet ? "tlsresume fleet" : "tlsresume";
      s.library = crypto::libraryVersion();
      break;
    case TargetKind::other_build:
      s.software = "tlsresume";
      s.library = otherBuildLibrary(t);
      break;
    case TargetKind::tcp_floor:
      s.software = "TCP floor";
      s.library = "no TLS";
      break;
    case TargetKind::nginx:
    case TargetKind::haproxy: {
      const bool nginx = t.kind == TargetKind::nginx;
      s.software = nginx ? "nginx" : "HAProxy";
      s.version = peerVersion(t.kind);
      const std::string& bin = nginx ? options_.nginx_bin : options_.haproxy_bin;
      if (!executable(bin)) break;
      // nginx -V: "built with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)";
      // haproxy -vv: "Built with OpenSSL version : ..." and "Running on OpenSSL version : ...".
      // The library it runs is the one measured; the one it was built with is the fallback.
      const std::string text = outputOf({bin, nginx ? "-V" : "-vv"}, std::string(nginx ? "nginx" : "haproxy") + "-V.log");
      const auto after = [&](const std::string& marker, const std::string& ends) -> std::string {
        const auto at = text.find(marker);
        if (at == std::string::npos) return {};
        const auto from = at + marker.size();
        return text.substr(from, text.find_first_of(ends, from) - from);
      };
      s.library = nginx ? after("running with ", ")\n") : after("Running on OpenSSL version : ", "\n");
      if (s.library.empty()) s.library = nginx ? after("built with ", "(\n") : after("Built with OpenSSL version : ", "\n");
      while (!s.library.empty() && s.library.back() == ' ') s.library.pop_back();
      break;
    }
    case TargetKind::external:
      s.software = t.name;
      break;
  }
  return s;
}

std::string ServerLauncher::peerVersion(TargetKind kind) {
  const std::string& bin = kind == TargetKind::nginx ? options_.nginx_bin : options_.haproxy_bin;
  if (!executable(bin)) return {};
  const std::string text =
      outputOf({bin, "-v"}, std::string(kind == TargetKind::nginx ? "nginx" : "haproxy") + "-version.log");
  // "nginx version: nginx/1.22.1", "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - ..."
  const std::string marker = kind == TargetKind::nginx ? "nginx/" : "HAProxy version ";
  const auto at = text.find(marker);
  if (at == std::string::npos) return {};
  const auto from = at + marker.size();
  const auto end = text.find_first_of(" \r\n", from);
  return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

Posture ServerLauncher::posture(const Target& t) {
  Posture p;
  p.target = t.name;
  p.psk_modes = "psk_dhe_ke";
  if (t.kind == TargetKind::tcp_floor) {
    p.known = false;  // no TLS: nothing to weigh
    p.rotation = "none (no TLS)";
  } else if (isOurs(t.kind) || t.kind == TargetKind::fleet) {
    // Our embedded defaults, read from the config types so the report follows them.
    const server::Config defaults;
    const auto& policy = defaults.hosts.front().policy;
    p.tls12_tickets = policy.tls12_tickets;
    p.session_lifetime = policy.session_lifetime;
    // A key encrypts for one rotation period, then only decrypts until the last ticket it
    // sealed expires (session_lifetime).
    p.stek_window = defaults.ticket_key_rotation + policy.session_lifetime;
    p.rotation = "every " + std::to_string(defaults.ticket_key_rotation.count() / 60) + " min, per virtual host";
    if (policy.tls13_psk_modes == PskModes::any) p.psk_modes = "psk_dhe_ke, psk_ke";
    p.tickets_revocable = true;
    p.sessions_revocable = true;
  } else if (t.kind == TargetKind::nginx || t.kind == TargetKind::haproxy) {
    // Without ssl_session_ticket_key / tls-ticket-keys both use keys OpenSSL makes at
    // start and keeps until the process restarts; nginx 1.23.2 and later instead rotate
    // keys kept in the shared session cache (our config has one), each encrypting for
    // ssl_session_timeout (nginx CHANGES 1.23.2).
    const std::string version = peerVersion(t.kind);
    p.version = version;
    int major = 0, minor = 0, patch = 0;
    if (t.kind == TargetKind::nginx) std::sscanf(version.c_str(), "%d.%d.%d", &major, &minor, &patch);
    if (std::tie(major, minor, patch) >= std::tie(kNginxRotates[0], kNginxRotates[1], kNginxRotates[2])) {
      p.rotation = "every " + std::to_string(kPeerSessionLifetime.count() / 60) + " min by nginx " + version +
                   " itself (ssl_session_timeout; keys in the shared session cache)";
      p.stek_window = 2 * kPeerSessionLifetime;
    } else {
      p.rotation = t.kind == TargetKind::nginx
                       ? "never (random keys made at start, kept until restart; nginx 1.23.2 and later rotate keys "
                         "kept in a shared ssl_session_cache)"
                       : "never (random keys made at start, kept until restart, unless tls-ticket-keys names a file "
                         "the operator rotates)";
    }
    p.session_lifetime = kPeerSessionLifetime;  // ssl_session_timeout / tune.ssl.lifetime in their configs
    p.tickets_revocable = false;
    // Their session caches evict and expire entries, but have no way to forget one on demand.
    p.sessions_revocable = false;
  } else {
    p.known = false;
    p.rotation = "unknown";
  }
  return p;
}

}  // namespace tlsresume::tools::bench
