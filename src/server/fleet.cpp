#include "server/fleet.hpp"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "tls/tls_frontend.hpp"
#include "redis/redis_cluster.hpp"
#include "server/json.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"

namespace tlsresume::server {
namespace {

using namespace std::chrono_literals;

constexpr auto kNodeGone = 30s;  // a node whose heartbeat is older is dropped from {P}:nodes

// The whole file (a secret): read with stdio so the OS's reason reaches the message.
std::string readSecretFile(const std::string& path, const std::string& setting) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ConfigError(setting + ": cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() < 4096) out.append(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw ConfigError(setting + ": cannot read " + path);
  return out;
}

std::string defaultNodeName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "node");
  return std::string(host) + ":" + std::to_string(getpid());
}

long long unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

long long unixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Fleet::Fleet(const FleetConfig& config, KeyringOptions keyring, const Clock& clock)
    : config_(config), keyring_options_(keyring), clock_(clock) {
  node_ = config.node_name.empty() ? defaultNodeName() : config.node_name;
  layout_.prefix = config.key_prefix;
  // One Redis, or a cluster's seed nodes ("HOST:PORT" means redis://HOST:PORT).
  std::vector<redis::Endpoint> endpoints;
  const char* const setting = config.cluster.empty() ? "fleet.redis" : "fleet.cluster";
  for (const std::string& where : config.cluster.empty() ? std::vector<std::string>{config.redis} : config.cluster) {
    std::string why;
    const auto endpoint =
        redis::parseRedisUrl(where.find("://") == std::string::npos && !where.starts_with("unix:") ? "redis://" + where : where, &why);
    if (!endpoint) throw ConfigError(std::string(setting) + ": " + why);
    endpoints.push_back(*endpoint);
  }
  redis::LinkOptions o;
  o.endpoint = endpoints.front();
  o.user = config.user;
  o.tls_ca_file = config.tls_ca_file;
  o.name = "tlsresume:" + node_;
  if (!config.password_file.empty()) {
    std::string contents = readSecretFile(config.password_file, "fleet.password_file");
    // The first line: a trailing newline (echo > file) is not part of the password.
    o.password = contents.substr(0, contents.find_first_of("\r\n"));
    OPENSSL_cleanse(contents.data(), contents.size());
    if (o.password.empty()) throw ConfigError("fleet.password_file: " + config.password_file + " is empty");
  }
  if (!config.key_wrap_file.empty()) {
    std::string contents = readSecretFile(config.key_wrap_file, "fleet.key_wrap_file");
    try {
      wrap_ = std::make_unique<KeyWrap>(KeyWrap::fromFileContents(contents));
    } catch (const std::invalid_argument& e) {
      OPENSSL_cleanse(contents.data(), contents.size());
      throw ConfigError("fleet.key_wrap_file: " + config.key_wrap_file + ": " + e.what());
    }
    OPENSSL_cleanse(contents.data(), contents.size());
  }
  try {
    if (config.cluster.empty()) {
      link_ = std::make_unique<redis::RedisLink>(std::move(o), this);
    } else {
      redis::ClusterOptions co;
      co.seeds = std::move(endpoints);
      co.link = std::move(o);
      link_ = std::make_unique<redis::RedisCluster>(std::move(co), this);
    }
  } catch (const std::exception& e) {
    throw ConfigError(std::string(config.tls_ca_file.empty() ? setting : "fleet.tls_ca_file") + ": " + e.what());
  }
  sessions_ = std::make_unique<redis::RedisSessionTier>(*link_, layout_, config.lookup_timeout, clock_);
  eraser_ = std::make_unique<redis::FleetSessionEraser>(*link_, layout_);
  redis::FleetKeyOptions ko;
  ko.layout = layout_;
  ko.node = node_;
  ko.keyring = keyring_options_;
  ko.wrap = wrap_.get();
  keys_owner_ = std::make_unique<redis::FleetKeySource>(*link_, std::move(ko), clock_);
  keys_ = keys_owner_.get();
}

Fleet::~Fleet() { stop(); }

std::unique_ptr<KeySource> Fleet::keySource() { return std::move(keys_owner_); }

void Fleet::start(RevocationList& revocations) {
  revocations_ = std::make_unique<redis::FleetRevocations>(*link_, layout_, revocations, clock_);
  link_->every(1000ms, [this] { keys_->poll(); });
  link_->every(250ms, [this] { revocations_->poll(); });
  link_->every(1000ms, [this] { heartbeat(); });
  log(Level::info, "fleet: node " + node_ + " joining the fleet on Redis " + config_.describe() + " (prefix " + config_.key_prefix + ")");
  link_->start();
}

void Fleet::stop() noexcept {
  // Before the workers go: pending lookups end here, and their wake-ups are posted to
  // event loops that still exist.
  if (link_) link_->stop();
}

void Fleet::onLinkUp() noexcept {
  up_.store(true);
  try {
    log(Level::info, "fleet: Redis " + config_.describe() + " is up (node " + node_ +
                         "); sessions, ticket keys and revocations are shared");
  } catch (...) {
  }
}

void Fleet::onLinkDown(std::string_view reason) noexcept {
  up_.store(false);
  downs_.fetch_add(1, std::memory_order_relaxed);
  try {
    log(Level::warn, "fleet: Redis " + config_.describe() + " unreachable: " + std::string(reason) +
                         "; handshakes go on with this server's own sessions and keys, reconnecting");
  } catch (...) {
  }
}

void Fleet::heartbeat() {
  if (!link_->up() || heartbeating_.exchange(true)) return;
  const long long now = unixMillis(clock_.now());
  link_->command({"HSET", layout_.nodes(), node_, std::to_string(now)}, 1000ms, [](redis::Outcome, redis::Reply&&) {});
  link_->command({"HGETALL", layout_.nodes()}, 1000ms, [this, now](redis::Outcome outcome, redis::Reply&& reply) {
    heartbeating_.store(false);
    if (outcome != redis::Outcome::ok || reply.type != redis::Reply::Type::array) return;
    std::vector<std::pair<std::string, long long>> seen;
    std::vector<std::string> gone{"HDEL", layout_.nodes()};
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const long long at = std::atoll(reply.elements[i + 1].str.c_str());
      if (now - at > std::chrono::duration_cast<std::chrono::milliseconds>(kNodeGone).count())
        gone.push_back(reply.elements[i].str);
      else
        seen.emplace_back(reply.elements[i].str, at);
    }
    std::sort(seen.begin(), seen.end());
    if (gone.size() > 2) link_->command(std::move(gone), 1000ms, [](redis::Outcome, redis::Reply&&) {});
    std::lock_guard lock(nodes_mutex_);
    nodes_ = std::move(seen);
  });
}

void Fleet::tick(Keyring& keyring, tls::TlsFrontend& tls) {
  if (keys_->takeChanged() && keyring.sync()) {
    const auto c = keyring.counts();
    log(Level::info, "ticket keys (fleet): " + std::to_string(c.current) + " current, " + std::to_string(c.introduced) +
                         " introduced, " + std::to_string(c.retired) + " retired");
  }
  if (revocations_ && revocations_->takeMerged()) {
    const std::size_t erased = tls.forgetRevoked();
    log(Level::info, "revocations from the fleet applied (" + std::to_string(erased) +
                         " session(s) erased from the store)");
  }
}

void Fleet::revokedId(std::string_view resumption_id, TimePoint until) {
  if (revocations_) revocations_->publishId(resumption_id, until);
}
void Fleet::revokedHost(std::string_view host, std::string_view host_prefix, TimePoint issued_before) {
  if (revocations_) revocations_->publishHost(host, issued_before);
  if (eraser_ && !host_prefix.empty()) eraser_->erase({std::string(host_prefix), issued_before});
}
void Fleet::revokedAllBefore(TimePoint issued_before) {
  if (revocations_) revocations_->publishAllBefore(issued_before);
  if (eraser_) eraser_->erase({"", issued_before});
}

std::string Fleet::json(const Keyring& keyring) const {
  std::string out = "{\"node\":" + jsonString(node_) + ",\"redis\":" + jsonString(config_.describe()) +
                    ",\"up\":" + (link_->up() ? "true" : "false") + ",\"last_error\":" + jsonString(link_->lastError()) +
                    ",\"lease_holder\":" + jsonString(keys_->leaseHolder()) +
                    ",\"keys_synced\":" + (keys_->synced() ? "true" : "false") + ",\"nodes\":[";
  {
    std::lock_guard lock(nodes_mutex_);
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + jsonString(nodes_[i].first) +
             ",\"last_seen_ms\":" + std::to_string(nodes_[i].second) + "}";
  }
  out += "],\"keys\":[";
  bool first = true;
  for (const auto& k : keyRows(keyring)) {
    out += std::string(first ? "" : ",") + "{\"id\":" + jsonString(k.id) + ",\"origin\":" + jsonString(k.origin) +
           ",\"state\":" + jsonString(k.state) + ",\"creator\":" + jsonString(k.creator) +
           ",\"current_from\":" + std::to_string(unixSeconds(k.current_from)) +
           ",\"current_until\":" + std::to_string(unixSeconds(k.current_until)) +
           ",\"erase_at\":" + std::to_string(unixSeconds(k.erase_at)) + "}";
    first = false;
  }
  out += "],\"revocations_pending\":" + std::to_string(revocations_ ? revocations_->pending() : 0) + "}\n";
  return out;
}

// The fleet's keys as this server sees them, with this server's state for each (a key the
// fleet has and this server has not adopted yet is "pending"), then this server's own keys.
std::vector<Fleet::KeyRow> Fleet::keyRows(const Keyring& keyring) const {
  std::vector<KeyRow> rows;
  const auto local = keyring.describe();
  for (const auto& k : keys_->view()) {
    std::string state = "pending";
    for (const auto& l : local)
      if (l.id == k.id) state = std::string(toString(l.state));
    rows.push_back({k.id, "fleet", state, k.creator, k.schedule.current_from, k.schedule.current_until,
                    k.schedule.erase_at});
  }
  // A fleet key this server holds that Redis no longer lists (Redis restarted empty, or the
  // record was deleted) still opens tickets here, and may still encrypt: it is shown too.
  const std::size_t listed = rows.size();
  for (const auto& l : local)
    if (l.shared && std::none_of(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(listed),
                                 [&](const KeyRow& r) { return r.id == l.id; }))
      rows.push_back({l.id, "fleet", std::string(toString(l.state)), "", l.current_from, l.current_until, l.erase_at});
  for (const auto& l : local)
    if (!l.shared)
      rows.push_back({l.id, "local", std::string(toString(l.state)), node_, l.current_from, l.current_until, l.erase_at});
  return rows;
}

std::string Fleet::text(const Keyring& keyring) const {
  const auto utc = [](TimePoint t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf);
  };
  std::string out = "node          " + node_ + "\nredis         " + config_.describe() + " (" +
                    (link_->up() ? std::string("up") : "down: " + link_->lastError()) + ")\nlease holder  " +
                    (keys_->leaseHolder().empty() ? std::string("-") : keys_->leaseHolder()) + "\n\nservers seen\n";
  const long long now = unixMillis(clock_.now());
  {
    std::lock_guard lock(nodes_mutex_);
    if (nodes_.empty()) out += "  (none yet)\n";
    for (const auto& [name, at] : nodes_) {
      char line[160];
      std::snprintf(line, sizeof line, "  %-40s last seen %.1f s ago\n", name.c_str(), static_cast<double>(now - at) / 1000);
      out += line;
    }
  }
  out += "\nticket keys (times UTC)\n";
  char head[200];
  std::snprintf(head, sizeof head, "  %-8s  %-6s  %-10s  %-19s  %-19s  %-19s  %s\n", "id", "origin", "state",
                "current from", "current until", "erased at", "made by");
  out += head;
  for (const auto& k : keyRows(keyring)) {
    char line[300];
    std::snprintf(line, sizeof line, "  %-8s  %-6s  %-10s  %-19s  %-19s  %-19s  %s\n", k.id.c_str(), k.origin.c_str(),
                  k.state.c_str(), utc(k.current_from).c_str(), utc(k.current_until).c_str(), utc(k.erase_at).c_str(),
                  k.creator.c_str());
    out += line;
  }
  return out;
}

void Fleet::appendMetrics(std::string& out) const {
  const auto s = sessions_->stats();
  appendHelp(out, "tlsresume_fleet_up", "gauge", "1 while the link to the fleet's Redis is up.");
  appendSample(out, "tlsresume_fleet_up", "", link_->up() ? 1 : 0);
  appendHelp(out, "tlsresume_fleet_lookups_total", "counter", "Remote session lookups, by result.");
  appendSample(out, "tlsresume_fleet_lookups_total", labelPair("result", "hit"), static_cast<double>(s.hits));
  appendSample(out, "tlsresume_fleet_lookups_total", labelPair("result", "miss"), static_cast<double>(s.misses));
  appendSample(out, "tlsresume_fleet_lookups_total", labelPair("result", "timeout"), static_cast<double>(s.timeouts));
  appendSample(out, "tlsresume_fleet_lookups_total", labelPair("result", "error"), static_cast<double>(s.errors));
  appendHelp(out, "tlsresume_fleet_lookup_seconds", "histogram", "Latency of remote session lookups.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < redis::RedisSessionTier::kLatencyBuckets.size(); ++i) {
    cumulative += s.latency[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", redis::RedisSessionTier::kLatencyBuckets[i]);
    appendSample(out, "tlsresume_fleet_lookup_seconds_bucket", labelPair("le", le), static_cast<double>(cumulative));
  }
  cumulative += s.latency.back();
  appendSample(out, "tlsresume_fleet_lookup_seconds_bucket", labelPair("le", "+Inf"), static_cast<double>(cumulative));
  appendSample(out, "tlsresume_fleet_lookup_seconds_sum", "", s.latency_sum_seconds);
  appendSample(out, "tlsresume_fleet_lookup_seconds_count", "", static_cast<double>(cumulative));
  appendHelp(out, "tlsresume_fleet_writes_total", "counter", "Sessions written to the fleet's store.");
  appendSample(out, "tlsresume_fleet_writes_total", "", static_cast<double>(s.writes));
  appendHelp(out, "tlsresume_fleet_writes_dropped_total", "counter",
             "Session writes dropped (link down or write queue full): the session stays local.");
  appendSample(out, "tlsresume_fleet_writes_dropped_total", "", static_cast<double>(s.writes_dropped));
  appendHelp(out, "tlsresume_fleet_write_errors_total", "counter", "Session writes Redis refused or did not answer.");
  appendSample(out, "tlsresume_fleet_write_errors_total", "", static_cast<double>(s.write_errors));
  const auto k = keys_->stats();
  appendHelp(out, "tlsresume_fleet_keys_created_total", "counter", "Ticket keys this server made for the fleet.");
  appendSample(out, "tlsresume_fleet_keys_created_total", "", static_cast<double>(k.created));
  appendHelp(out, "tlsresume_fleet_key_records_rejected_total", "counter",
             "Key records in Redis that did not decode or open with the wrap key.");
  appendSample(out, "tlsresume_fleet_key_records_rejected_total", "", static_cast<double>(k.rejected_records));
  appendHelp(out, "tlsresume_fleet_local_keys_total", "counter",
             "Ticket keys this server made for itself because the fleet had none to give.");
  appendSample(out, "tlsresume_fleet_local_keys_total", "", static_cast<double>(k.local_fallbacks));
  appendHelp(out, "tlsresume_fleet_link_downs_total", "counter", "Times the link to Redis went down.");
  appendSample(out, "tlsresume_fleet_link_downs_total", "", static_cast<double>(downs_.load()));
  appendHelp(out, "tlsresume_fleet_sessions_erased_total", "counter",
             "Stored sessions deleted from Redis by revocations made here (by host or time).");
  appendSample(out, "tlsresume_fleet_sessions_erased_total", "", static_cast<double>(eraser_->erased()));
  if (revocations_) {
    appendHelp(out, "tlsresume_fleet_revocations_merged_total", "counter",
               "Revocation entries learnt from the fleet (or moved later by it).");
    appendSample(out, "tlsresume_fleet_revocations_merged_total", "",
                 static_cast<double>(revocations_->entriesMerged()));
    appendHelp(out, "tlsresume_fleet_revocations_pending", "gauge", "Revocations made here not yet written to Redis.");
    appendSample(out, "tlsresume_fleet_revocations_pending", "", static_cast<double>(revocations_->pending()));
  }
}

}  // namespace tlsresume::server
