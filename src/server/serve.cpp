#include "server/serve.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "tls/certificate.hpp"
#include "tls/tls_frontend.hpp"
#include "server/admin.hpp"
#include "server/access_log.hpp"
#include "server/admin_auth.hpp"
#include "server/fleet.hpp"
#include "server/json.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"
#include "server/service_notify.hpp"
#include "server/tls_holder.hpp"
#include "server/worker.hpp"
#include "tlsresume/keyring.hpp"
#include "tlsresume/memory_store.hpp"
#include "tlsresume/revocation_list.hpp"
#include "tlsresume/tiered_store.hpp"

namespace tlsresume::server {
namespace {

constexpr std::chrono::seconds kDrainGrace{10};
// Ticket keys held at once (current, introduced, retired within the decrypt window; each
// derives one key per host): scheduled rotation keeps 2-3, the rest is room for forced ones.
constexpr std::size_t kMaxTicketKeys = 64;

std::vector<tls::HostSpec> loadHosts(const Config& config) {
  std::vector<tls::HostSpec> hosts;
  for (const auto& h : config.hosts) {
    tls::HostSpec spec;
    spec.name = h.name;
    spec.server_names = h.server_names;
    spec.policy = h.policy;
    spec.alpn = h.alpn;
    if (h.cert_file.empty()) {
      const std::string cn = h.server_names.empty() ? "localhost" : h.server_names.front();
      spec.cert = tls::makeSelfSigned(cn.starts_with("*.") ? cn.substr(2) : cn);
    } else {
      try {
        spec.cert = tls::loadCertifiedKey(h.cert_file, h.key_file);
      } catch (const tls::CertificateError& e) {
        // The file names alone do not say which setting to fix when several hosts share a
        // directory of certificates.
        std::string where = h.cert_origin.empty() ? "host \"" + h.name + "\"" : h.cert_origin;
        if (!h.cert_origin.empty()) where.append(" (host \"").append(h.name).append("\")");
        throw tls::CertificateError(where + ": " + e.what());
      }
      // Served anyway, as nginx does: the operator may be replacing it right now, and
      // refusing to start would take every other host down with it.
      for (const auto& problem : tls::chainValidityProblems(spec.cert, std::time(nullptr)))
        log(Level::warn, "certificate " + h.cert_file + " of host \"" + h.name + "\" " + problem +
                             "; clients will refuse it");
    }
    hosts.push_back(std::move(spec));
  }
  return hosts;
}

// Ticket keys: a ticket must never outlive the key that sealed it, so the decrypt window
// is the longest lifetime any host gives its tickets.
KeyringOptions keyringOptionsFor(const Config& config) {
  KeyringOptions o;
  o.rotation_period = config.ticket_key_rotation;
  o.decrypt_window = std::chrono::seconds{1};
  for (const auto& h : config.hosts) o.decrypt_window = std::max(o.decrypt_window, h.policy.session_lifetime);
  o.introduce_ahead = std::min(std::chrono::seconds{60}, config.ticket_key_rotation / 2);
  return o;
}

long long unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Names (public ids), states and times only: never key material.
std::string keysJson(const Keyring& keyring) {
  std::string out = "[";
  bool first = true;
  for (const auto& k : keyring.describe()) {
    if (!first) out += ",";
    first = false;
    out += "{\"id\":" + jsonString(k.id) + ",\"state\":" + jsonString(std::string(toString(k.state))) +
           ",\"created_at\":" + std::to_string(unixSeconds(k.created_at)) +
           ",\"current_from\":" + std::to_string(unixSeconds(k.current_from)) +
           ",\"current_until\":" + std::to_string(unixSeconds(k.current_until)) +
           ",\"erase_at\":" + std::to_string(unixSeconds(k.erase_at)) + ",\"decrypts\":" + std::to_string(k.decrypts) +
           "}";
  }
  return out + "]\n";
}

std::string keyMetrics(const Keyring& keyring) {
  std::string out;
  const KeyCounts c = keyring.counts();
  appendHelp(out, "tlsresume_ticket_keys", "gauge", "Ticket keys by state.");
  appendSample(out, "tlsresume_ticket_keys", labelPair("state", "introduced"), static_cast<double>(c.introduced));
  appendSample(out, "tlsresume_ticket_keys", labelPair("state", "current"), static_cast<double>(c.current));
  appendSample(out, "tlsresume_ticket_keys", labelPair("state", "retired"), static_cast<double>(c.retired));
  appendHelp(out, "tlsresume_key_rotations_total", "counter", "Ticket key rotations, scheduled and forced.");
  appendSample(out, "tlsresume_key_rotations_total", "", static_cast<double>(keyring.rotations()));
  appendHelp(out, "tlsresume_key_source_failures_total", "counter", "Times the key source could not deliver a key.");
  appendSample(out, "tlsresume_key_source_failures_total", "", static_cast<double>(keyring.sourceFailures()));
  // One series per live key (a handful): lets an operator see a retired key stop being used.
  // Labelled by key id only: a label that changes with the key's state would end one
  // series and start another at the same value, which breaks rate() and increase(). The
  // state is in GET /keys and in tlsresume_ticket_keys.
  appendHelp(out, "tlsresume_ticket_key_decrypts_total", "counter",
             "Tickets opened, by key id (public id, not material).");
  for (const auto& k : keyring.describe())
    appendSample(out, "tlsresume_ticket_key_decrypts_total", labelPair("key", k.id), static_cast<double>(k.decrypts));
  return out;
}

// Core dumps would carry session secrets and ticket keys. Ticket keys live in memory
// marked MADV_DONTDUMP; cached sessions (master secrets) are ordinary heap. RLIMIT_CORE 0
// alone is ignored when core_pattern pipes dumps to a program (systemd-coredump, apport:
// core(5)); a process that is not dumpable is never dumped, and other processes of the
// same user cannot ptrace it or read its memory through /proc either.
void disableCoreDumps() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// Each client costs a descriptor (two with a backend); the usual soft limit of 1024 would
// cap a terminator at about a thousand clients. Take what the hard limit allows, as
// nginx's worker_rlimit_nofile lets operators do.
void raiseOpenFilesLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    log(Level::debug, "open-files limit raised from " + std::to_string(before) + " to " + std::to_string(lim.rlim_cur));
}

// What start-up makes from the operator's input before any thread starts or any port is
// held: every check that can refuse a configuration runs here, so that start-up and
// `serve --check-config` refuse exactly the same files, with the same message.
struct Prepared {
  std::vector<tls::HostSpec> hosts;
  std::vector<std::string> names;
  std::unique_ptr<Fleet> fleet;  // constructed (secret files read), not started
  std::unique_ptr<Keyring> keyring;
  std::optional<AddressList> backend;  // none: the built-in responder
  std::optional<AdminToken> admin_token;
  std::unique_ptr<AccessLog> access_log;  // opened (a file is created) as start-up would
};

bool isLoopback(const SocketAddress& a) {
  if (a.addr.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&a.addr)->sin_addr.s_addr) >> 24) == 127;
  if (a.addr.ss_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&a.addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

Prepared prepare(const Config& config, const Clock& clock) {
  Prepared p;
  validate(config);
  p.hosts = loadHosts(config);
  for (const auto& h : p.hosts) p.names.push_back(h.name);
  // What this build's TLS library cannot do is refused here, naming the host, rather than
  // served differently from what the file asks for.
  if (const std::string why = tls::TlsFrontend::unsupported(p.hosts); !why.empty()) throw ConfigError(why);
  // The config checks should refuse whatever the keyring would; an exception here is
  // a message and exit 2 either way, never an abort.
  if (config.fleet.enabled()) p.fleet = std::make_unique<Fleet>(config.fleet, keyringOptionsFor(config), clock);
  p.keyring = std::make_unique<Keyring>(keyringOptionsFor(config), p.names, clock,
                                        p.fleet ? p.fleet->keySource() : std::make_unique<LocalKeySource>());
  if (auto be = config.backendEndpoint()) p.backend = resolveAll(*be, "backend");
  if (!config.admin_token_file.empty()) p.admin_token = AdminToken::fromFile(config.admin_token_file);
  if (!config.access_log.empty()) p.access_log = std::make_unique<AccessLog>(config.access_log);
  // Anyone who reaches the admin endpoint can revoke sessions and rotate keys: off
  // loopback it needs a token, or it does not start (checked on the address it would bind).
  if (config.admin && !p.admin_token && !isLoopback(resolve(*config.admin, "admin")))
    throw ConfigError("admin: " + config.admin->str() +
                      " is reachable from other machines and has no token: set admin_token_file (a file whose "
                      "first line is the token), or bind admin to loopback (127.0.0.1:PORT), or turn it off");
  return p;
}

// What a reload cannot change without a restart: the sockets and threads made at start,
// and what the session store, the keyring and the fleet were built from. Named, never
// silently ignored. Certificates, keys, server names, ALPN, per-host policy and the log
// level are reloaded; a longer session_lifetime than the keyring's decrypt window is not
// (a ticket would outlive its key).
std::vector<std::string> restartOnlyChanges(const Config& was, const Config& next) {
  std::vector<std::string> changed;
  const auto endpoints = [](const std::vector<Endpoint>& v) {
    std::string out;
    for (const auto& e : v) out += e.str() + ",";
    return out;
  };
  const auto fleetKey = [](const FleetConfig& f) {
    std::string out = f.redis + "|" + f.user + "|" + f.password_file + "|" + f.tls_ca_file + "|" + f.key_prefix + "|" +
                      std::to_string(f.lookup_timeout.count()) + "|" + f.node_name + "|" + f.key_wrap_file;
    for (const auto& c : f.cluster) out += "|" + c;
    return out;
  };
  const auto hostNames = [](const Config& c) {
    std::string out;
    for (const auto& h : c.hosts) out += h.name + ",";
    return out;
  };
  if (endpoints(was.listen) != endpoints(next.listen)) changed.push_back("listen");
  if ((was.admin ? was.admin->str() : "off") != (next.admin ? next.admin->str() : "off")) changed.push_back("admin");
  if (was.admin_token_file != next.admin_token_file) changed.push_back("admin_token_file");
  if (was.workers != next.workers) changed.push_back("workers");
  if (was.backend != next.backend) changed.push_back("backend");
  if (was.proxy_protocol != next.proxy_protocol) changed.push_back("proxy_protocol");
  if (was.handshake_timeout != next.handshake_timeout) changed.push_back("handshake_timeout");
  if (was.idle_timeout != next.idle_timeout) changed.push_back("idle_timeout");
  if (was.session_cache_max_bytes != next.session_cache_max_bytes) changed.push_back("session_cache.max_bytes");
  if (was.ticket_key_rotation != next.ticket_key_rotation) changed.push_back("tickets.key_rotation");
  if (was.access_log != next.access_log) changed.push_back("access_log");
  if (was.log_format != next.log_format) changed.push_back("log_format");
  if (fleetKey(was.fleet) != fleetKey(next.fleet)) changed.push_back("fleet");
  if (hostNames(was) != hostNames(next)) changed.push_back("the virtual hosts' names (hosts added, removed or renamed)");
  if (keyringOptionsFor(next).decrypt_window > keyringOptionsFor(was).decrypt_window)
    changed.push_back("a session_lifetime longer than the longest at start (the ticket keys' decrypt window)");
  return changed;
}

}  // namespace

int serve(const Config& config, const std::function<Config()>& reread) {
  // Signals are taken synchronously by the main thread only (workers inherit the mask).
  // Blocked before any port is bound: a SIGTERM that arrives once clients can connect
  // must drain, never kill the process with the default action.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // reopen the access log (logrotate)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  setLogLevel(parseLevel(config.log_level));
  setLogFormat(config.log_format == "json" ? LogFormat::json : LogFormat::text);
  disableCoreDumps();  // before any key or session exists
  // Everything that can fail because of the operator's input happens before any thread
  // starts or any port is held for long: nothing is half-started on error.
  const Clock& clock = SystemClock::instance();
  Prepared prepared;
  try {
    prepared = prepare(config, clock);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsresume: %s\n", e.what());
    return kExitBadConfig;
  }
  std::vector<tls::HostSpec>& hosts = prepared.hosts;
  const std::vector<std::string>& names = prepared.names;
  std::unique_ptr<Keyring>& keyring_owner = prepared.keyring;
  std::unique_ptr<Fleet>& fleet = prepared.fleet;
  ServingContext ctx;
  if (prepared.backend) {
    ctx.backend = std::move(*prepared.backend);
    ctx.builtin_backend = false;
  }
  std::vector<Endpoint> listen = config.listen;

  const unsigned workers = config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::vector<int>> worker_fds(workers);
  int admin_fd = -1;
  try {
    for (const auto& ep : listen) {
      ensurePortFree(ep, "listen");
      for (unsigned w = 0; w < workers; ++w) {
        worker_fds[w].push_back(listenOn(ep, true, "listen"));
        tuneTlsListener(worker_fds[w].back());
      }
    }
    if (config.admin) admin_fd = listenOn(*config.admin, false, "admin");
  } catch (const std::exception& e) {
    for (auto& fds : worker_fds)
      for (int fd : fds) ::close(fd);
    std::fprintf(stderr, "tlsresume: %s\n", e.what());
    return kExitBadConfig;
  }

  Keyring& keyring = *keyring_owner;
  raiseOpenFilesLimit();
  MemoryStore store(MemoryStoreOptions{config.session_cache_max_bytes, shardsFor(config.session_cache_max_bytes)},
                    clock);
  RevocationList revocations(clock);
  Metrics metrics(names);
  // Fleet mode: the fleet's Redis is a second tier behind this process's store.
  std::unique_ptr<TieredStore> tiered;
  if (fleet) tiered = std::make_unique<TieredStore>(store, fleet->sessions());
  SessionStore& sessions = tiered ? static_cast<SessionStore&>(*tiered) : store;
  // The TLS side (contexts, certificates, callbacks) is built from the hosts and replaced
  // whole by a reload; the store, keyring, revocations and metrics above outlive it.
  const auto makeTls = [&](const std::vector<tls::HostSpec>& specs) {
    auto setup = std::make_shared<TlsSetup>();
    setup->frontend = std::make_unique<tls::TlsFrontend>(specs, sessions, revocations, metrics, clock, keyring);
    return setup;
  };
  TlsHolder tls;
  try {
    tls.replace(makeTls(hosts));
  } catch (const std::exception& e) {
    // prepare() ran the same checks; this is the library refusing what they could not
    // foresee (a context it cannot make): a message and exit 2 all the same, never an abort.
    for (auto& fds : worker_fds)
      for (int fd : fds) ::close(fd);
    if (admin_fd >= 0) ::close(admin_fd);
    std::fprintf(stderr, "tlsresume: %s\n", e.what());
    return kExitBadConfig;
  }

  // SIGHUP, ctl reload, POST /reload: the configuration and certificates read again and
  // new contexts swapped in; connections under way keep theirs. Refused whole (one log
  // line, the old configuration keeps serving) when anything fails or a change needs a
  // restart. Returns the error, empty on success.
  std::mutex reload_mutex;
  Config serving = config;
  std::atomic<std::uint64_t> reloads_ok{0}, reloads_failed{0};
  const auto reload = [&](const char* by) -> std::string {
    std::lock_guard lock(reload_mutex);
    notifyReloading();
    std::string error;
    try {
      if (!reread) throw ConfigError("this server was started without a configuration source to read again");
      Config next = reread();
      validate(next);
      const auto changed = restartOnlyChanges(serving, next);
      if (!changed.empty()) {
        std::string list;
        for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
        throw ConfigError("these changes need a restart: " + list);
      }
      const std::vector<tls::HostSpec> specs = loadHosts(next);
      tls.replace(makeTls(specs));
      setLogLevel(parseLevel(next.log_level));
      serving = std::move(next);
      reloads_ok.fetch_add(1, std::memory_order_relaxed);
      log(Level::info, std::string("reloaded (") + by + "): " + std::to_string(specs.size()) +
                           " virtual host(s), certificates read again; sessions, ticket keys and revocations kept");
    } catch (const std::exception& e) {
      error = e.what();
      reloads_failed.fetch_add(1, std::memory_order_relaxed);
      log(Level::error, std::string("reload (") + by + ") refused, still serving the previous configuration: " + error);
    }
    notifyReady();
    return error;
  };

  ctx.tls = &tls;
  ctx.metrics = &metrics;
  ctx.handshake_timeout = config.handshake_timeout;
  ctx.idle_timeout = config.idle_timeout;
  ctx.remote_lookups = fleet != nullptr;
  ctx.access_log = prepared.access_log.get();
  ctx.proxy_protocol_v2 = config.proxy_protocol == "v2";
  if (fleet) fleet->start(revocations);

  std::vector<std::unique_ptr<Worker>> pool;
  for (unsigned w = 0; w < workers; ++w) pool.push_back(std::make_unique<Worker>(ctx, std::move(worker_fds[w])));
  for (auto& w : pool) w->start();

  std::mutex rotate_mutex;  // declared first: outlives the admin server that uses it
  std::unique_ptr<AdminServer> admin;
  if (admin_fd >= 0) {
    AdminContext actx;
    actx.token = prepared.admin_token;
    actx.metrics = &metrics;
    actx.store = &store;
    actx.revocations = &revocations;
    actx.tls = &tls;
    actx.clock = &clock;
    actx.extra_metrics.push_back([&keyring](std::string& out) { out += keyMetrics(keyring); });
    actx.keys_json = [&keyring] { return keysJson(keyring); };
    if (fleet) {
      actx.extra_metrics.push_back([f = fleet.get()](std::string& out) { f->appendMetrics(out); });
      actx.fleet_json = [f = fleet.get(), &keyring] { return f->json(keyring); };
      actx.fleet_text = [f = fleet.get(), &keyring] { return f->text(keyring); };
      actx.on_revoke = [f = fleet.get(), &tls, &sessions](std::string_view kind, std::string_view subject, TimePoint t) {
        const std::shared_ptr<TlsSetup> setup = tls.current();
        if (kind == "id") {
          f->revokedId(subject, t);
          for (const auto& key : setup->frontend->storeKeysFor(subject)) sessions.erase(key);  // here and in Redis
        } else if (kind == "host") {
          f->revokedHost(subject, setup->frontend->storeKeyHostPrefix(subject), t);
        } else {
          f->revokedAllBefore(t);
        }
      };
    }
    actx.reload = [&reload] {
      const std::string error = reload("POST /reload");
      return error.empty() ? AdminResponse{200, "application/json", "{\"reloaded\":true}\n"}
                           : AdminResponse{400, "application/json", "{\"reloaded\":false,\"error\":" + jsonString(error) + "}\n"};
    };
    actx.extra_metrics.push_back([&reloads_ok, &reloads_failed](std::string& out) {
      appendHelp(out, "tlsresume_reloads_total", "counter", "Configuration reloads, by result.");
      appendSample(out, "tlsresume_reloads_total", labelPair("result", "ok"), static_cast<double>(reloads_ok.load()));
      appendSample(out, "tlsresume_reloads_total", labelPair("result", "refused"),
                   static_cast<double>(reloads_failed.load()));
    });
    actx.rotate = [&keyring, &rotate_mutex] {
      // Every forced rotation keeps the retired key (a locked page, a metrics series) for
      // the decrypt window; unbounded, a loop of rotations exhausted the process's
      // mappings and ended it. An operator rotates because a key may have leaked: a few
      // in a row is plenty. describe() lists master keys (each derives one per host).
      // Checked and done under one lock: admin requests run on several threads.
      std::lock_guard lock(rotate_mutex);
      if (keyring.describe().size() >= kMaxTicketKeys)
        return AdminResponse{429, "application/json",
                             "{\"rotated\":false,\"error\":\"" + std::to_string(kMaxTicketKeys) +
                                 " ticket keys are already kept for the decrypt window; retry when older ones "
                                 "expire\"}\n"};
      const bool ok = keyring.rotateNow();
      if (ok) log(Level::info, "ticket keys rotated by operator request");
      return ok ? AdminResponse{200, "application/json", "{\"rotated\":true}\n"}
                : AdminResponse{503, "application/json", "{\"rotated\":false,\"error\":\"key source unavailable\"}\n"};
    };
    admin = std::make_unique<AdminServer>(std::move(actx), admin_fd);
    admin->start();
  }

  std::string where;
  for (const auto& ep : listen) where += (where.empty() ? "" : ", ") + ep.str();
  log(Level::info, "serving TLS on " + where + " with " + std::to_string(workers) + " worker(s); backend " +
                       config.backend + "; admin " + (config.admin ? config.admin->str() : std::string("off")) + "; " +
                       std::to_string(hosts.size()) + " virtual host(s)");
  std::fflush(stderr);
  notifyReady();  // systemd Type=notify: the listeners are up and the workers started

  for (;;) {
    // Four times a second: a key's scheduled state change (and, in a fleet, the switch from
    // a node's own key to the fleet's) reaches the handshakes within 250 ms.
    timespec tick{0, 250'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      log(Level::info, std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", draining");
      notifyStopping();
      break;
    }
    if (sig == SIGHUP) reload("SIGHUP");
    if (sig == SIGUSR1 && ctx.access_log && ctx.access_log->toFile()) {
      if (ctx.access_log->reopen())
        log(Level::info, "SIGUSR1: access log " + ctx.access_log->path() + " reopened", {{"access_log", ctx.access_log->path()}});
      else
        log(Level::error, "SIGUSR1: cannot reopen access log " + ctx.access_log->path() + ": " + std::strerror(errno) +
                              "; still writing to the file opened before",
            {{"access_log", ctx.access_log->path()}});
    }
    revocations.expire();
    flushRateLimitedLogs();
    if (fleet) fleet->tick(keyring, *tls.current()->frontend);
    if (keyring.tick()) {
      const auto c = keyring.counts();
      log(Level::info, "ticket keys: " + std::to_string(c.current) + " current, " + std::to_string(c.introduced) +
                           " introduced, " + std::to_string(c.retired) + " retired");
    }
  }
  for (auto& w : pool) w->drain(kDrainGrace);
  for (auto& w : pool) w->join();
  if (fleet) fleet->stop();  // pending lookups end now, while the workers' loops still exist
  if (admin) admin->stop();
  pool.clear();
  log(Level::info, "stopped");
  return 0;
}

int checkConfig(const Config& config) {
  setLogLevel(parseLevel(config.log_level));
  setLogFormat(config.log_format == "json" ? LogFormat::json : LogFormat::text);
  try {
    const Prepared prepared = prepare(config, SystemClock::instance());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsresume: %s\n", e.what());
    return kExitBadConfig;
  }
  std::printf("configuration OK\n");
  return 0;
}

}  // namespace tlsresume::server
