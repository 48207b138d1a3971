#pragma once
// Configuration of `tlsresume serve`: embedded defaults, a TOML file, then flags.
// Every error is a ConfigError whose message names the file, the key and the reason.
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlsresume/resumption_policy.hpp"

namespace tlsresume::server {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

// Parses "HOST:PORT" or "[v6]:PORT"; throws ConfigError naming `what`.
Endpoint parseEndpoint(const std::string& text, const std::string& what);
// Throws ConfigError naming `what` when two endpoints are the same address (the second
// bind would fail with a misleading "Address already in use").
void refuseDuplicateEndpoints(const std::vector<Endpoint>& endpoints, const std::string& what);
// Parses "90", "90s", "15m", "1h", "7d"; throws ConfigError naming `what`.
std::chrono::seconds parseDuration(const std::string& text, const std::string& what);
// Parses "5ms", "250ms", "1s" or an integer of milliseconds; throws ConfigError naming `what`.
std::chrono::milliseconds parseMilliseconds(const std::string& text, const std::string& what);

using tlsresume::PskModes;
using tlsresume::ResumptionPolicy;
using tlsresume::Tls13Tickets;

struct VirtualHostConfig {
  std::string name;                       // identity used in metrics, revocation, key derivation
  std::vector<std::string> server_names;  // SNI names (exact, or "*.example.com")
  std::string cert_file;                  // empty: generated self-signed certificate
  std::string key_file;
  ResumptionPolicy policy;
  // Where cert/key were given, for messages about the files: "/etc/t.toml: hosts[1].cert"
  // or "--cert". Empty: the embedded certificate.
  std::string cert_origin = {};
  // ALPN protocols this host offers, in the server's order of preference ("h2",
  // "http/1.1"); empty: no ALPN (the extension is ignored). Passed to the backend in the
  // PROXY header when proxy_protocol is on.
  std::vector<std::string> alpn = {};
};

// [fleet]: several servers share sessions, ticket keys and revocations through Redis.
// Absent (redis empty): every server keeps its own, and no Redis is needed.
struct FleetConfig {
  std::string redis;          // "redis://HOST:PORT", "rediss://HOST:PORT" or "unix:/PATH"
  std::vector<std::string> cluster;  // or: a Redis Cluster's seed nodes, "HOST:PORT" or redis[s]:// URLs
  std::string user;           // Redis ACL user (empty: the default user)
  std::string password_file;  // the password, first line of this file (never in the config itself)
  std::string tls_ca_file;    // rediss: the CA that signed Redis's certificate (empty: the system's)
  std::string key_prefix = "tlsresume";
  std::chrono::milliseconds lookup_timeout{5};
  std::string node_name;      // empty: HOSTNAME:PID
  std::string key_wrap_file;  // optional: 32 bytes (64 hex) that wrap ticket keys held in Redis
  bool enabled() const noexcept { return !redis.empty() || !cluster.empty(); }
  std::string describe() const;  // the URL, or "cluster HOST:PORT,..." for messages
};

struct Config {
  std::vector<Endpoint> listen{{"127.0.0.1", 8443}};
  std::string backend = "builtin";  // "builtin" or HOST:PORT
  // "v2": every backend connection starts with a PROXY protocol v2 header (client address,
  // server name, ALPN, TLS version and cipher, how the session resumed). "off": none.
  std::string proxy_protocol = "off";
  std::optional<Endpoint> admin = Endpoint{"127.0.0.1", 9443};
  unsigned workers = 0;  // 0: number of cores
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{300};
  std::size_t session_cache_max_bytes = 64u << 20;
  std::chrono::seconds ticket_key_rotation{3600};
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json" (one object per line): the log and the access log
  std::string access_log;           // empty: none; "stderr", or a file (reopened on SIGUSR1)
  // The admin endpoint's bearer token: the first line of this file. Empty: no token (then
  // the admin endpoint must be on loopback).
  std::string admin_token_file;
  // hosts[0] is the default host: unknown or absent SNI lands there.
  std::vector<VirtualHostConfig> hosts{VirtualHostConfig{"default", {}, "", "", {}}};
  FleetConfig fleet;
  std::string source;  // where it came from, for messages

  std::optional<Endpoint> backendEndpoint() const;
};

// Loads a TOML file on top of the embedded defaults. Unknown keys are errors.
Config loadConfigFile(const std::string& path);
Config parseConfigText(const std::string& toml_text, const std::string& source_name);
// Checks cross-field rules (duplicate names, cert without key, ...).
void validate(const Config& config);

const char* toString(Tls13Tickets v);
const char* toString(PskModes v);

}  // namespace tlsresume::server
