#include "server/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <string_view>

#include "redis/redis_link.hpp"
#include "server/net.hpp"

namespace tlsresume::server {
namespace {

constexpr std::uint32_t kMaxTicketsPerConnection = 10;
// RFC 8446 §4.6.1: a ticket lifetime is never more than 7 days.
constexpr std::chrono::seconds kMaxSessionLifetime{7 * 24 * 3600};
// RFC 9325 §3.4: ticket keys rotate at least weekly.
constexpr std::chrono::seconds kMaxKeyRotation{7 * 24 * 3600};
// Durations are added to time points kept in nanoseconds (about 292 years of range): a
// bigger value would overflow and, for instance, close every connection at once.
constexpr std::chrono::seconds kMaxDuration{3650LL * 24 * 3600};

class Reader {
 public:
  Reader(const toml::table& table, std::string file, std::string prefix)
      : table_(table), file_(std::move(file)), prefix_(std::move(prefix)) {}

  std::string where(std::string_view key) const { return file_ + ": " + prefix_ + std::string(key); }
  [[noreturn]] void fail(std::string_view key, const std::string& reason) const {
    throw ConfigError(where(key) + ": " + reason);
  }

  // Every key present must be one we know: a typo is an error, not a silent default.
  template <typename Keys>
  void allowOnly(const Keys& known) const {
    for (auto&& [k, v] : table_) {
      (void)v;
      if (std::find(known.begin(), known.end(), k.str()) == known.end()) fail(k.str(), "unknown key");
    }
  }

  std::optional<std::string> string(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(key, "expected a string");
    return std::string(*n->value<std::string_view>());
  }
  std::optional<bool> boolean(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(key, "expected true or false");
    return *n->value<bool>();
  }
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(key, "expected an integer");
    const auto v = *n->value<std::int64_t>();
    if (v < lo || v > hi) fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }
  // A duration is a string ("90s", "15m", "1h") or an integer number of seconds.
  std::optional<std::chrono::seconds> duration(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    std::chrono::seconds v{0};
    if (n->is_integer()) {
      const auto i = *n->value<std::int64_t>();
      if (i < 0) fail(key, "must not be negative");
      if (i > kMaxDuration.count()) fail(key, "must be at most 3650d");
      v = std::chrono::seconds{i};
    } else if (n->is_string()) {
      v = parseDuration(std::string(*n->value<std::string_view>()), where(key));
    } else {
      fail(key, "expected a duration such as \"90s\", \"15m\" or \"1h\"");
    }
    if (v > kMaxDuration) fail(key, "must be at most 3650d");
    return v;
  }
  std::optional<std::vector<std::string>> strings(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    std::vector<std::string> out;
    if (n->is_string()) {
      out.emplace_back(*n->value<std::string_view>());
      return out;
    }
    const toml::array* arr = n->as_array();
    if (!arr) fail(key, "expected a string or an array of strings");
    for (const auto& item : *arr) {
      if (!item.is_string()) fail(key, "expected an array of strings");
      out.emplace_back(*item.value<std::string_view>());
    }
    return out;
  }
  const toml::table* subtable(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, "expected a table");
    return n->as_table();
  }
  const toml::table& table() const { return table_; }
  const std::string& file() const { return file_; }

 private:
  const toml::table& table_;
  std::string file_;
  std::string prefix_;
};

// Shows a configured string inside a one-line message: quotes, backslashes and control
// characters escaped, so a stray newline in the file cannot split the error line.
std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

// Names one character for a message: 'x' when printable, its code otherwise.
std::string describeChar(unsigned char c) {
  if (c == ' ') return "a space";
  if (c == '\n') return "a newline";
  if (c > 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", c);
  return std::string("byte ") + code;
}

// ASCII only, whatever the locale says: these names travel in TLS, HTTP and metrics.
bool isAsciiAlnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A host name is a metric label value, a revocation key (`ctl revoke --host NAME`) and an
// input of ticket key derivation: kept to characters that need no quoting anywhere.
constexpr const char* kHostNameRule = "a host name is letters, digits, '.', '-' and '_'";

std::optional<std::string> hostNameProblem(std::string_view name) {
  if (name.empty()) return std::string("must not be empty (") + kHostNameRule + ")";
  for (const unsigned char c : name)
    if (!isAsciiAlnum(c) && c != '.' && c != '-' && c != '_')
      return quoted(name) + " is not a valid host name: " + describeChar(c) + " is not allowed (" + kHostNameRule + ")";
  return std::nullopt;
}

// A server name is compared with the SNI a client sends, which is a DNS name without a
// port or a trailing dot (RFC 6066 section 3): anything else can never match, and an empty
// one used to fail later, inside OpenSSL, with no file, key or host named.
constexpr const char* kServerNameRule =
    "a server name is letters, digits, '-' and '.', optionally starting with \"*.\" for any one label; "
    "no port, no spaces";
constexpr std::size_t kMaxDnsName = 253;
constexpr std::size_t kMaxDnsLabel = 63;

std::optional<std::string> serverNameProblem(std::string_view entry) {
  if (entry.empty()) return std::string("it is empty");
  if (entry == "*") return std::string("\"*\" alone is not a wildcard; write \"*.example.com\" for one label of a domain");
  // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
  if (ipLiteral(std::string(entry)) != IpLiteral::none)
    return std::string(
        "it is an IP address, which clients never send as a server name (RFC 6066 section 3); clients that "
        "connect by address get the default host");
  std::string_view name = entry;
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
    if (name.empty()) return std::string("nothing follows \"*.\"");
  }
  if (entry.size() > kMaxDnsName) return std::string("it is longer than 253 characters");
  for (const unsigned char c : name) {
    if (isAsciiAlnum(c) || c == '-' || c == '.') continue;
    if (c == ':') return std::string("':' is not allowed: a server name has no port");
    if (c == '*') return std::string("'*' is only allowed as the whole first label, as in \"*.example.com\"");
    return describeChar(c) + " is not allowed";
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = name.find('.', start);
    const std::size_t length = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (length == 0) return std::string("it has an empty label (a leading, trailing or doubled '.')");
    if (length > kMaxDnsLabel) return std::string("a label is longer than 63 characters");
    if (dot == std::string_view::npos) return std::nullopt;
    start = dot + 1;
  }
}

std::string serverNameMessage(std::string_view entry, const std::string& reason) {
  std::string msg = quoted(entry);
  msg += " is not a valid server name: ";
  msg += reason;
  msg += " (";
  msg += kServerNameRule;
  msg += ")";
  return msg;
}

constexpr std::array<std::string_view, 12> kHostKeys = {"name",
                                                        "alpn",
                                                        "server_names",
                                                        "cert",
                                                        "key",
                                                        "session_lifetime",
                                                        "tls12_tickets",
                                                        "tls13_tickets",
                                                        "tickets_per_connection",
                                                        "tls13_psk_modes",
                                                        "max_resumption_age",
                                                        "session_ids"};

void readHost(const Reader& r, VirtualHostConfig& host, bool is_default) {
  r.allowOnly(kHostKeys);
  if (auto v = r.string("name")) {
    if (auto problem = hostNameProblem(*v)) r.fail("name", *problem);
    host.name = *v;
  }
  if (auto v = r.strings("server_names")) {
    for (const auto& entry : *v) {
      if (auto problem = serverNameProblem(entry)) {
        std::string msg = serverNameMessage(entry, *problem);
        if (!host.name.empty()) msg = "host \"" + host.name + "\": " + msg;
        r.fail("server_names", msg);
      }
    }
    host.server_names = *v;
  }
  if (auto v = r.string("cert")) {
    host.cert_file = *v;
    host.cert_origin = r.where("cert");
  }
  if (auto v = r.string("key")) host.key_file = *v;
  if (auto v = r.strings("alpn")) {
    // RFC 7301 §3.1: each protocol name is 1 to 255 bytes; the list is the server's order.
    std::set<std::string> seen;
    for (const auto& p : *v) {
      if (p.empty() || p.size() > 255) r.fail("alpn", "each protocol name is 1 to 255 bytes (RFC 7301)");
      if (!seen.insert(p).second) r.fail("alpn", "\"" + p + "\" is listed twice");
    }
    host.alpn = *v;
  }
  auto& p = host.policy;
  if (auto v = r.duration("session_lifetime")) {
    if (*v > kMaxSessionLifetime) r.fail("session_lifetime", "must be at most 7d (RFC 8446 section 4.6.1)");
    // 0 would make every session expired on arrival: resumption off by accident. The
    // switches (session_ids, tls12_tickets, tls13_tickets) turn it off on purpose.
    if (v->count() < 1) r.fail("session_lifetime", "must be at least 1s (to turn resumption off, use the switches)");
    p.session_lifetime = *v;
  }
  if (auto v = r.boolean("tls12_tickets")) p.tls12_tickets = *v;
  if (auto v = r.boolean("session_ids")) p.session_ids = *v;
  if (auto v = r.string("tls13_tickets")) {
    if (*v == "stateless")
      p.tls13_tickets = Tls13Tickets::stateless;
    else if (*v == "stateful")
      p.tls13_tickets = Tls13Tickets::stateful;
    else if (*v == "off")
      p.tls13_tickets = Tls13Tickets::off;
    else
      r.fail("tls13_tickets", "expected \"stateless\", \"stateful\" or \"off\", got \"" + *v + "\"");
  }
  if (auto v = r.integer("tickets_per_connection", 0, kMaxTicketsPerConnection))
    p.tickets_per_connection = static_cast<unsigned>(*v);
  if (auto v = r.string("tls13_psk_modes")) {
    if (*v == "dhe")
      p.tls13_psk_modes = PskModes::dhe;
    else if (*v == "any")
      p.tls13_psk_modes = PskModes::any;
    else
      r.fail("tls13_psk_modes", "expected \"dhe\" or \"any\", got \"" + *v + "\"");
  }
  if (auto v = r.duration("max_resumption_age")) {
    if (v->count() < 1) r.fail("max_resumption_age", "must be at least 1s (to turn resumption off, use the switches)");
    p.max_resumption_age = *v;
  }
  if (!is_default && host.server_names.empty()) r.fail("server_names", "a virtual host needs at least one SNI name");
  if (host.cert_file.empty() != host.key_file.empty())
    r.fail(host.cert_file.empty() ? "cert" : "key", "cert and key must be given together");
}

}  // namespace

Endpoint parseEndpoint(const std::string& text, const std::string& what) {
  Endpoint ep;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw ConfigError(what + ": \"" + text + "\" is not [IPv6]:PORT");
    ep.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) throw ConfigError(what + ": \"" + text + "\" is not HOST:PORT");
    ep.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
    throw ConfigError(what + ": \"" + text + "\" has no valid port");
  const long n = std::stol(port);
  if (n < 0 || n > 65535) throw ConfigError(what + ": port " + port + " is out of range");
  if (n == 0) throw ConfigError(what + ": port 0 is not a port to listen on or connect to; give one");
  ep.port = static_cast<std::uint16_t>(n);
  return ep;
}

namespace {
// One spelling per address: "[0:0::1]" and "[::1]" are the same socket, and host names are
// case-insensitive. Names are not resolved: that is the binding's job.
std::string canonicalAddress(const Endpoint& ep) {
  unsigned char raw[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  std::string host = ep.host;
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, ep.host.c_str(), raw) == 1 && inet_ntop(family, raw, text, sizeof text)) {
      host = text;
      break;
    }
  }
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  Endpoint canonical{host, ep.port};
  return canonical.str();
}
}  // namespace

void refuseDuplicateEndpoints(const std::vector<Endpoint>& endpoints, const std::string& what) {
  std::set<std::string> seen;
  for (const auto& ep : endpoints) {
    const std::string canonical = canonicalAddress(ep);
    if (seen.insert(canonical).second) continue;
    std::string msg = what;
    msg += ": ";
    msg += ep.str();
    msg += " is listed twice";
    if (canonical != ep.str()) {
      msg += " (as ";
      msg += canonical;
      msg += ")";
    }
    throw ConfigError(msg);
  }
}

std::string FleetConfig::describe() const {
  if (!redis.empty()) return redis;
  std::string out = "cluster ";
  for (std::size_t i = 0; i < cluster.size(); ++i) out += (i ? "," : "") + cluster[i];
  return out;
}

std::chrono::milliseconds parseMilliseconds(const std::string& text, const std::string& what) {
  std::string_view t(text);
  long long scale = 1;
  if (t.ends_with("ms")) {
    t.remove_suffix(2);
  } else if (t.ends_with("s")) {
    t.remove_suffix(1);
    scale = 1000;
  }
  long long v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v < 0 || v > 3'600'000 / scale)
    throw ConfigError(what + ": expected a duration such as \"5ms\" or \"1s\" (at most 1h), got \"" + text + "\"");
  return std::chrono::milliseconds{v * scale};
}

std::chrono::seconds parseDuration(const std::string& text, const std::string& what) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 9) throw ConfigError(what + ": \"" + text + "\" is not a duration like 90s, 15m, 1h or 7d");
  const long long n = std::stoll(text.substr(0, i));
  const std::string unit = text.substr(i);
  long long mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    throw ConfigError(what + ": \"" + text + "\" has unknown unit \"" + unit + "\" (use s, m, h or d)");
  return std::chrono::seconds{n * mult};
}

std::optional<Endpoint> Config::backendEndpoint() const {
  if (backend == "builtin") return std::nullopt;
  return parseEndpoint(backend, "backend");
}

namespace {
void readFleet(const Reader& r, FleetConfig& f) {
  r.allowOnly(std::array<std::string_view, 9>{"redis", "cluster", "user", "password_file", "tls_ca_file", "key_prefix",
                                              "lookup_timeout", "node_name", "key_wrap_file"});
  if (auto v = r.string("redis")) {
    std::string why;
    if (!redis::parseRedisUrl(*v, &why)) r.fail("redis", why);
    f.redis = *v;
  }
  if (auto v = r.strings("cluster")) {
    if (!f.redis.empty()) r.fail("cluster", "give either redis (one Redis) or cluster (a Redis Cluster's seed nodes), not both");
    if (v->empty()) r.fail("cluster", "needs at least one seed node HOST:PORT");
    for (const auto& seed : *v) {
      std::string why;
      const std::string url = seed.find("://") == std::string::npos ? "redis://" + seed : seed;
      const auto ep = redis::parseRedisUrl(url, &why);
      if (!ep) r.fail("cluster", "\"" + seed + "\": " + why);
      if (ep->kind == redis::Endpoint::Kind::unix_socket) r.fail("cluster", "\"" + seed + "\": cluster nodes are HOST:PORT");
    }
    f.cluster = *v;
  }
  if (f.redis.empty() && f.cluster.empty())
    r.fail("redis", "missing: the Redis the fleet shares (\"redis://HOST:PORT\", \"rediss://HOST:PORT\" or \"unix:/PATH\"), or cluster = [seed nodes]");
  if (auto v = r.string("user")) f.user = *v;
  if (auto v = r.string("password_file")) f.password_file = *v;
  if (auto v = r.string("tls_ca_file")) f.tls_ca_file = *v;
  if (auto v = r.string("key_prefix")) {
    // Part of every Redis key name: printable, no spaces or braces (braces are Redis
    // Cluster hash tags, which the key layout places itself).
    if (v->empty() || v->size() > 64 ||
        std::any_of(v->begin(), v->end(), [](char ch) { return ch <= ' ' || ch > '~' || ch == '{' || ch == '}'; }))
      r.fail("key_prefix", "expected 1 to 64 printable characters without spaces or braces");
    f.key_prefix = *v;
  }
  if (const toml::node* n = r.table().get("lookup_timeout")) {
    std::chrono::milliseconds v{0};
    if (n->is_integer())
      v = parseMilliseconds(std::to_string(*n->value<std::int64_t>()), r.where("lookup_timeout"));
    else if (n->is_string())
      v = parseMilliseconds(std::string(*n->value<std::string_view>()), r.where("lookup_timeout"));
    else
      r.fail("lookup_timeout", "expected a duration such as \"5ms\"");
    if (v.count() < 1 || v > std::chrono::milliseconds{1000})
      r.fail("lookup_timeout", "must be between 1ms and 1s (a handshake waits this long at most)");
    f.lookup_timeout = v;
  }
  if (auto v = r.string("node_name")) {
    if (v->empty() || v->size() > 64 ||
        std::any_of(v->begin(), v->end(), [](char ch) { return ch <= ' ' || ch > '~'; }))
      r.fail("node_name", "expected 1 to 64 printable characters without spaces");
    f.node_name = *v;
  }
  if (auto v = r.string("key_wrap_file")) f.key_wrap_file = *v;
  if (f.user.size() && f.password_file.empty()) r.fail("user", "a Redis ACL user needs password_file");
  const bool tls = f.redis.starts_with("rediss://") ||
                   std::any_of(f.cluster.begin(), f.cluster.end(), [](const std::string& s) { return s.starts_with("rediss://"); });
  if (!f.tls_ca_file.empty() && !tls) r.fail("tls_ca_file", "only used with rediss:// (TLS to Redis)");
}
}  // namespace

Config parseConfigText(const std::string& toml_text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column
        << ": invalid TOML: " << e.description();
    throw ConfigError(msg.str());
  }
  Config c;
  c.source = source_name;
  const Reader r(root, source_name, "");
  r.allowOnly(std::array<std::string_view, 16>{"listen", "backend", "admin", "workers", "handshake_timeout",
                                               "idle_timeout", "log_level", "session_cache", "tickets", "default_host",
                                               "hosts", "fleet", "admin_token_file", "log_format", "access_log",
                                               "proxy_protocol"});
  if (auto v = r.strings("listen")) {
    if (v->empty()) r.fail("listen", "needs at least one HOST:PORT");
    c.listen.clear();
    for (const auto& s : *v) c.listen.push_back(parseEndpoint(s, r.where("listen")));
    refuseDuplicateEndpoints(c.listen, r.where("listen"));
  }
  if (auto v = r.string("backend")) {
    c.backend = *v;
    if (c.backend != "builtin") parseEndpoint(c.backend, r.where("backend"));
  }
  if (auto v = r.string("proxy_protocol")) {
    if (*v != "off" && *v != "v2") r.fail("proxy_protocol", "expected \"v2\" or \"off\", got " + quoted(*v));
    c.proxy_protocol = *v;
  }
  if (auto v = r.string("admin")) {
    if (*v == "off")
      c.admin.reset();
    else
      c.admin = parseEndpoint(*v, r.where("admin"));
  }
  if (auto v = r.string("admin_token_file")) {
    if (v->empty()) r.fail("admin_token_file", "expected the path of a file whose first line is the token");
    c.admin_token_file = *v;
  }
  if (auto v = r.string("log_format")) {
    if (*v != "text" && *v != "json") r.fail("log_format", "expected \"text\" or \"json\", got " + quoted(*v));
    c.log_format = *v;
  }
  if (auto v = r.string("access_log")) {
    if (v->empty()) r.fail("access_log", "expected \"stderr\" or the path of a file");
    c.access_log = *v;
  }
  if (auto v = r.integer("workers", 0, 256)) c.workers = static_cast<unsigned>(*v);
  if (auto v = r.duration("handshake_timeout")) {
    if (v->count() < 1) r.fail("handshake_timeout", "must be at least 1s");
    c.handshake_timeout = *v;
  }
  if (auto v = r.duration("idle_timeout")) {
    if (v->count() < 1) r.fail("idle_timeout", "must be at least 1s");
    c.idle_timeout = *v;
  }
  if (auto v = r.string("log_level")) {
    if (*v != "debug" && *v != "info" && *v != "warn" && *v != "error")
      r.fail("log_level", "expected debug, info, warn or error");
    c.log_level = *v;
  }
  if (const auto* t = r.subtable("session_cache")) {
    const Reader sr(*t, source_name, "session_cache.");
    sr.allowOnly(std::array<std::string_view, 1>{"max_bytes"});
    // A store of 0 bytes keeps nothing: session_ids = false says that on purpose.
    if (auto v = sr.integer("max_bytes", 1024, std::int64_t{1} << 40)) c.session_cache_max_bytes = static_cast<size_t>(*v);
  }
  if (const auto* t = r.subtable("tickets")) {
    const Reader tr(*t, source_name, "tickets.");
    tr.allowOnly(std::array<std::string_view, 1>{"key_rotation"});
    if (auto v = tr.duration("key_rotation")) {
      if (v->count() < 1) tr.fail("key_rotation", "must be at least 1s");
      if (*v > kMaxKeyRotation) tr.fail("key_rotation", "must be at most 7d (RFC 9325 section 3.4)");
      c.ticket_key_rotation = *v;
    }
  }
  if (const auto* t = r.subtable("fleet")) readFleet(Reader(*t, source_name, "fleet."), c.fleet);
  if (const auto* t = r.subtable("default_host")) {
    readHost(Reader(*t, source_name, "default_host."), c.hosts[0], true);
  }
  if (const toml::node* n = root.get("hosts")) {
    const toml::array* arr = n->as_array();
    if (!arr) r.fail("hosts", "expected [[hosts]] tables");
    size_t i = 0;
    for (const auto& item : *arr) {
      const std::string element = "hosts[" + std::to_string(i++) + "]";
      const std::string prefix = element + ".";
      if (!item.is_table()) throw ConfigError(source_name + ": " + element + ": expected a table");
      VirtualHostConfig host;
      host.policy = c.hosts[0].policy;  // hosts inherit the default host's policy
      host.alpn = c.hosts[0].alpn;      // ... and its ALPN list
      readHost(Reader(*item.as_table(), source_name, prefix), host, false);
      if (host.name.empty()) host.name = host.server_names.front();
      c.hosts.push_back(std::move(host));
    }
  }
  validate(c);
  return c;
}

// std::ifstream opens a directory without complaint and then reads nothing, which made
// `-c DIR` start on the embedded defaults. Reading with stdio surfaces the OS's reason
// (EISDIR, EACCES, ...) for every file that cannot be read, as for certificates.
Config loadConfigFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ConfigError(path + ": cannot open config file: " + std::strerror(errno));
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0) throw ConfigError(path + ": cannot read config file: " + std::strerror(err));
  return parseConfigText(text, path);
}

void validate(const Config& c) {
  const std::string src = c.source.empty() ? "config" : c.source;
  std::set<std::string> names;
  std::set<std::string> sni;
  for (const auto& h : c.hosts) {
    // A name left out is the host's first server name, which may be a wildcard ("*.x.test"):
    // that one is checked by the server name rules instead.
    const bool derived = !h.server_names.empty() && h.name == h.server_names.front();
    if (!derived) {
      if (auto problem = hostNameProblem(h.name)) throw ConfigError(src + ": host name " + *problem);
    }
    if (!names.insert(h.name).second) throw ConfigError(src + ": host name \"" + h.name + "\" is used twice");
    for (const auto& s : h.server_names) {
      if (auto problem = serverNameProblem(s))
        throw ConfigError(src + ": host \"" + h.name + "\": " + serverNameMessage(s, *problem));
      std::string lower = s;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (!sni.insert(lower).second) throw ConfigError(src + ": server name \"" + s + "\" belongs to two hosts");
    }
  }
  if (c.listen.empty()) throw ConfigError(src + ": listen: needs at least one HOST:PORT");
  if (c.backend == "builtin") {
    if (c.proxy_protocol != "off")
      throw ConfigError(src + ": proxy_protocol: only for a TCP backend (backend = \"HOST:PORT\"), not the built-in responder");
    // The built-in responder speaks HTTP/1.x only: agreeing on h2 with a client would break it.
    for (const auto& h : c.hosts)
      for (const auto& p : h.alpn)
        if (p != "http/1.1" && p != "http/1.0")
          throw ConfigError(src + ": host \"" + h.name + "\": alpn: the built-in responder speaks HTTP/1.x only, not \"" +
                            p + "\" (give a backend that does)");
  }
  refuseDuplicateEndpoints(c.listen, src + ": listen");
}

const char* toString(Tls13Tickets v) {
  switch (v) {
    case Tls13Tickets::stateless:
      return "stateless";
    case Tls13Tickets::stateful:
      return "stateful";
    case Tls13Tickets::off:
      return "off";
  }
  return "?";
}
const char* toString(PskModes v) { return v == PskModes::dhe ? "dhe" : "any"; }

}  // namespace tlsresume::server
