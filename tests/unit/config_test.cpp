// Configuration of `tlsresume serve`: embedded defaults, every key of the TOML schema,
// inheritance of the default host's policy, and one message per error path that names
// the file, the key and the reason.
#include "server/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace tlsresume::server {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFile = "tlsresume.toml";

Config parse(const std::string& text) { return parseConfigText(text, kFile); }

// The message of the ConfigError that parsing `text` throws; fails the test if none.
std::string errorOf(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << e.what() << "\nfor:\n" << text;
    return {};
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}

// Every message starts with the file name and names the key (as its full dotted path).
void expectError(const std::string& text, const std::string& key, const std::string& reason) {
  SCOPED_TRACE(text);
  const std::string msg = errorOf(text);
  EXPECT_EQ(msg.rfind(std::string(kFile) + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(key), std::string::npos) << "key \"" << key << "\" not named in: " << msg;
  EXPECT_NE(msg.find(reason), std::string::npos) << "reason \"" << reason << "\" not in: " << msg;
}

std::string endpointError(const std::string& text) {
  try {
    parseEndpoint(text, "--listen");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for endpoint \"" << text << "\"";
  return {};
}

std::string durationError(const std::string& text) {
  try {
    parseDuration(text, "idle_timeout");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for duration \"" << text << "\"";
  return {};
}

// --- defaults -------------------------------------------------------------------------

TEST(ConfigDefaults, EmbeddedDefaults) {
  const Config c;
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 8443);
  EXPECT_EQ(c.backend, "builtin");
  EXPECT_FALSE(c.backendEndpoint().has_value());
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->str(), "127.0.0.1:9443");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.handshake_timeout, 10s);
  EXPECT_EQ(c.idle_timeout, 300s);
  EXPECT_EQ(c.session_cache_max_bytes, std::size_t{64} << 20);
  EXPECT_EQ(c.ticket_key_rotation, 3600s);
  EXPECT_EQ(c.log_level, "info");
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].name, "default");
  EXPECT_TRUE(c.hosts[0].server_names.empty());
  EXPECT_TRUE(c.hosts[0].cert_file.empty());
  EXPECT_TRUE(c.hosts[0].key_file.empty());
  EXPECT_NO_THROW(validate(c));
}

TEST(ConfigDefaults, EmptyFileIsTheDefaults) {
  const Config c = parse("");
  const Config d;
  EXPECT_EQ(c.source, kFile);
  EXPECT_EQ(c.listen[0].str(), d.listen[0].str());
  EXPECT_EQ(c.admin->str(), d.admin->str());
  EXPECT_EQ(c.backend, d.backend);
  EXPECT_EQ(c.workers, d.workers);
  EXPECT_EQ(c.handshake_timeout, d.handshake_timeout);
  EXPECT_EQ(c.idle_timeout, d.idle_timeout);
  EXPECT_EQ(c.session_cache_max_bytes, d.session_cache_max_bytes);
  EXPECT_EQ(c.ticket_key_rotation, d.ticket_key_rotation);
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].name, "default");
}

TEST(ConfigDefaults, DefaultPolicy) {
  const ResumptionPolicy p = parse("").hosts[0].policy;
  EXPECT_EQ(p.session_lifetime, 3600s);
  EXPECT_TRUE(p.session_ids);
  EXPECT_TRUE(p.tls12_tickets);
  EXPECT_EQ(p.tls13_tickets, Tls13Tickets::stateless);
  EXPECT_EQ(p.tickets_per_connection, 2u);
  EXPECT_EQ(p.tls13_psk_modes, PskModes::dhe);
  EXPECT_EQ(p.max_resumption_age, 24h);
}

TEST(ConfigDefaults, CommentsOnly) { EXPECT_NO_THROW(parse("# nothing here\n\n# still nothing\n")); }

// --- every key ------------------------------------------------------------------------

TEST(ConfigKeys, TopLevelKeys) {
  const Config c = parse(R"(
listen = ["127.0.0.1:4433", "[::1]:4434"]
backend = "10.0.0.5:8080"
admin = "127.0.0.1:9999"
workers = 3
handshake_timeout = "5s"
idle_timeout = "2m"
log_level = "debug"
)");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 4433);
  EXPECT_EQ(c.listen[1].host, "::1");
  EXPECT_EQ(c.listen[1].port, 4434);
  EXPECT_EQ(c.listen[1].str(), "[::1]:4434");
  EXPECT_EQ(c.backend, "10.0.0.5:8080");
  ASSERT_TRUE(c.backendEndpoint().has_value());
  EXPECT_EQ(c.backendEndpoint()->host, "10.0.0.5");
  EXPECT_EQ(c.backendEndpoint()->port, 8080);
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->port, 9999);
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.handshake_timeout, 5s);
  EXPECT_EQ(c.idle_timeout, 120s);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigKeys, ListenAsOneString) {
  const Config c = parse("listen = \"0.0.0.0:443\"\n");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].str(), "0.0.0.0:443");
}

TEST(ConfigKeys, AdminOff) { EXPECT_FALSE(parse("admin = \"off\"\n").admin.has_value()); }

TEST(ConfigKeys, BackendBuiltin) {
  const Config c = parse("backend = \"builtin\"\n");
  EXPECT_EQ(c.backend, "builtin");
  EXPECT_FALSE(c.backendEndpoint().has_value());
}

TEST(ConfigKeys, EveryLogLevel) {
  for (const char* level : {"debug", "info", "warn", "error"})
    EXPECT_EQ(parse(std::string("log_level = \"") + level + "\"\n").log_level, level);
}

TEST(ConfigKeys, SessionCacheAndTickets) {
  const Config c = parse("[session_cache]\nmax_bytes = 1048576\n[tickets]\nkey_rotation = \"15m\"\n");
  EXPECT_EQ(c.session_cache_max_bytes, 1048576u);
  EXPECT_EQ(c.ticket_key_rotation, 900s);
}

TEST(ConfigKeys, DurationsAsIntegerSeconds) {
  const Config c = parse("handshake_timeout = 7\nidle_timeout = 90\n[tickets]\nkey_rotation = 60\n");
  EXPECT_EQ(c.handshake_timeout, 7s);
  EXPECT_EQ(c.idle_timeout, 90s);
  EXPECT_EQ(c.ticket_key_rotation, 60s);
}

TEST(ConfigKeys, EveryDefaultHostKey) {
  const Config c = parse(R"(
[default_host]
name = "main"
server_names = ["example.com", "*.example.com"]
cert = "/etc/tls/main.crt"
key = "/etc/tls/main.key"
session_lifetime = "2h"
tls12_tickets = false
tls13_tickets = "stateful"
tickets_per_connection = 4
tls13_psk_modes = "any"
max_resumption_age = "3d"
session_ids = false
)");
  ASSERT_EQ(c.hosts.size(), 1u);
  const VirtualHostConfig& h = c.hosts[0];
  EXPECT_EQ(h.name, "main");
  EXPECT_EQ(h.server_names, (std::vector<std::string>{"example.com", "*.example.com"}));
  EXPECT_EQ(h.cert_file, "/etc/tls/main.crt");
  EXPECT_EQ(h.key_file, "/etc/tls/main.key");
  EXPECT_EQ(h.policy.session_lifetime, 2h);
  EXPECT_FALSE(h.policy.tls12_tickets);
  EXPECT_EQ(h.policy.tls13_tickets, Tls13Tickets::stateful);
  EXPECT_EQ(h.policy.tickets_per_connection, 4u);
  EXPECT_EQ(h.policy.tls13_psk_modes, PskModes::any);
  EXPECT_EQ(h.policy.max_resumption_age, 72h);
  EXPECT_FALSE(h.policy.session_ids);
}

TEST(ConfigKeys, EveryTls13TicketsValue) {
  EXPECT_EQ(parse("[default_host]\ntls13_tickets = \"stateless\"\n").hosts[0].policy.tls13_tickets,
            Tls13Tickets::stateless);
  EXPECT_EQ(parse("[default_host]\ntls13_tickets = \"stateful\"\n").hosts[0].policy.tls13_tickets,
            Tls13Tickets::stateful);
  EXPECT_EQ(parse("[default_host]\ntls13_tickets = \"off\"\n").hosts[0].policy.tls13_tickets, Tls13Tickets::off);
  EXPECT_STREQ(toString(Tls13Tickets::stateless), "stateless");
  EXPECT_STREQ(toString(Tls13Tickets::stateful), "stateful");
  EXPECT_STREQ(toString(Tls13Tickets::off), "off");
  EXPECT_STREQ(toString(PskModes::dhe), "dhe");
  EXPECT_STREQ(toString(PskModes::any), "any");
}

TEST(ConfigKeys, TicketsPerConnectionBounds) {
  EXPECT_EQ(parse("[default_host]\ntickets_per_connection = 0\n").hosts[0].policy.tickets_per_connection, 0u);
  EXPECT_EQ(parse("[default_host]\ntickets_per_connection = 10\n").hosts[0].policy.tickets_per_connection, 10u);
  expectError("[default_host]\ntickets_per_connection = 11\n", "default_host.tickets_per_connection",
              "between 0 and 10");
  expectError("[default_host]\ntickets_per_connection = -1\n", "default_host.tickets_per_connection",
              "between 0 and 10");
}

TEST(ConfigKeys, SessionLifetimeUpToSevenDays) {
  EXPECT_EQ(parse("[default_host]\nsession_lifetime = \"7d\"\n").hosts[0].policy.session_lifetime, 168h);
  EXPECT_EQ(parse("[default_host]\nsession_lifetime = 604800\n").hosts[0].policy.session_lifetime, 168h);
  expectError("[default_host]\nsession_lifetime = \"8d\"\n", "default_host.session_lifetime", "at most 7d");
  expectError("[default_host]\nsession_lifetime = 604801\n", "default_host.session_lifetime", "at most 7d");
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\nsession_lifetime = \"169h\"\n", "hosts[0].session_lifetime",
              "at most 7d");
}

TEST(ConfigKeys, WorkersBounds) {
  EXPECT_EQ(parse("workers = 0\n").workers, 0u);
  EXPECT_EQ(parse("workers = 256\n").workers, 256u);
  expectError("workers = 257\n", "workers", "between 0 and 256");
  expectError("workers = -1\n", "workers", "between 0 and 256");
}

// --- virtual hosts --------------------------------------------------------------------

TEST(ConfigHosts, HostsInheritTheDefaultHostsPolicy) {
  const Config c = parse(R"(
[default_host]
session_lifetime = "30m"
tls12_tickets = false
tls13_tickets = "stateful"
tickets_per_connection = 1
tls13_psk_modes = "any"
max_resumption_age = "12h"
session_ids = false

[[hosts]]
server_names = ["a.test"]

[[hosts]]
server_names = ["b.test"]
session_lifetime = "5m"
tls13_tickets = "off"
)");
  ASSERT_EQ(c.hosts.size(), 3u);
  const ResumptionPolicy& a = c.hosts[1].policy;
  EXPECT_EQ(a.session_lifetime, 30min);
  EXPECT_FALSE(a.tls12_tickets);
  EXPECT_EQ(a.tls13_tickets, Tls13Tickets::stateful);
  EXPECT_EQ(a.tickets_per_connection, 1u);
  EXPECT_EQ(a.tls13_psk_modes, PskModes::any);
  EXPECT_EQ(a.max_resumption_age, 12h);
  EXPECT_FALSE(a.session_ids);
  // b overrides two keys and inherits the rest.
  const ResumptionPolicy& b = c.hosts[2].policy;
  EXPECT_EQ(b.session_lifetime, 5min);
  EXPECT_EQ(b.tls13_tickets, Tls13Tickets::off);
  EXPECT_FALSE(b.tls12_tickets);
  EXPECT_EQ(b.tickets_per_connection, 1u);
  EXPECT_EQ(b.max_resumption_age, 12h);
  EXPECT_FALSE(b.session_ids);
  // ... and the default host keeps its own.
  EXPECT_EQ(c.hosts[0].policy.session_lifetime, 30min);
  EXPECT_EQ(c.hosts[0].policy.tls13_tickets, Tls13Tickets::stateful);
}

TEST(ConfigHosts, InheritanceDoesNotDependOnTheOrderInTheFile) {
  const Config c = parse(R"(
[[hosts]]
server_names = ["a.test"]

[default_host]
session_lifetime = "10m"
)");
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[1].policy.session_lifetime, 10min);
}

TEST(ConfigHosts, HostsDoNotInheritIdentity) {
  const Config c = parse(R"(
[default_host]
cert = "/d.crt"
key = "/d.key"
server_names = ["default.test"]

[[hosts]]
server_names = ["a.test"]
)");
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[0].name, "default");
  EXPECT_TRUE(c.hosts[1].cert_file.empty());
  EXPECT_TRUE(c.hosts[1].key_file.empty());
  EXPECT_EQ(c.hosts[1].server_names, (std::vector<std::string>{"a.test"}));
}

TEST(ConfigHosts, NameDefaultsToTheFirstServerName) {
  const Config c = parse(R"(
[[hosts]]
server_names = ["a.test", "www.a.test"]
cert = "/a.crt"
key = "/a.key"

[[hosts]]
name = "bravo"
server_names = "b.test"
)");
  ASSERT_EQ(c.hosts.size(), 3u);
  EXPECT_EQ(c.hosts[0].name, "default");
  EXPECT_EQ(c.hosts[1].name, "a.test");
  EXPECT_EQ(c.hosts[1].cert_file, "/a.crt");
  EXPECT_EQ(c.hosts[1].key_file, "/a.key");
  EXPECT_EQ(c.hosts[2].name, "bravo");
  EXPECT_EQ(c.hosts[2].server_names, (std::vector<std::string>{"b.test"}));
}

TEST(ConfigHosts, EmptyHostsArray) { EXPECT_EQ(parse("hosts = []\n").hosts.size(), 1u); }

TEST(ConfigHosts, DuplicateServerNamesAreRefused) {
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\n[[hosts]]\nname = \"two\"\nserver_names = [\"a.test\"]\n",
              "\"a.test\"", "belongs to two hosts");
  // SNI is case-insensitive, so are duplicates.
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\n[[hosts]]\nname = \"two\"\nserver_names = [\"A.Test\"]\n",
              "A.Test", "belongs to two hosts");
  // Within one host, too.
  expectError("[[hosts]]\nserver_names = [\"a.test\", \"a.test\"]\n", "a.test", "belongs to two hosts");
}

TEST(ConfigHosts, DuplicateHostNamesAreRefused) {
  expectError(
      "[[hosts]]\nname = \"x\"\nserver_names = [\"a.test\"]\n[[hosts]]\nname = \"x\"\nserver_names = [\"b.test\"]\n",
      "\"x\"", "used twice");
  expectError("[[hosts]]\nname = \"default\"\nserver_names = [\"a.test\"]\n", "\"default\"", "used twice");
}

TEST(ConfigHosts, HostNamesAreLettersDigitsDotsDashesUnderscores) {
  // A name is a metric label, a revocation key and a key-derivation input.
  EXPECT_EQ(parse("[[hosts]]\nname = \"Shop_2.eu-west\"\nserver_names = [\"a.test\"]\n").hosts[1].name,
            "Shop_2.eu-west");
  EXPECT_EQ(parse("[default_host]\nname = \"main\"\n").hosts[0].name, "main");
  expectError("[[hosts]]\nname = \"q\\\"x\"\nserver_names = [\"a.test\"]\n", "hosts[0].name",
              "'\"' is not allowed (a host name is letters, digits, '.', '-' and '_')");
  expectError("[[hosts]]\nname = \"two words\"\nserver_names = [\"a.test\"]\n", "hosts[0].name",
              "a space is not allowed");
  expectError("[default_host]\nname = \"a/b\"\n", "default_host.name", "'/' is not allowed");
  expectError("[[hosts]]\nname = \"\"\nserver_names = [\"a.test\"]\n", "hosts[0].name", "must not be empty");
  expectError("[[hosts]]\nname = \"caf\u00e9\"\nserver_names = [\"a.test\"]\n", "hosts[0].name", "not allowed");
  // A newline is refused, and the message stays on one line.
  const std::string msg = errorOf("[[hosts]]\nname = \"new\\nline\"\nserver_names = [\"a.test\"]\n");
  EXPECT_NE(msg.find("hosts[0].name"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a newline is not allowed"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(ConfigHosts, ValidateRefusesBadHostNamesBuiltByHand) {
  Config c;
  c.source = "command line";
  c.hosts.push_back(VirtualHostConfig{"a\"b", {"x.test"}, "", "", {}});
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("command line: host name ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("is not allowed"), std::string::npos) << e.what();
  }
}

TEST(ConfigHosts, NameTakenFromAWildcardServerNameIsAccepted) {
  const Config c = parse("[[hosts]]\nserver_names = [\"*.wild.test\"]\n");
  EXPECT_EQ(c.hosts[1].name, "*.wild.test");
}

TEST(ConfigHosts, ServerNamesAreDnsNamesOrOneLabelWildcards) {
  const Config c = parse(
      "[[hosts]]\nname = \"shop\"\nserver_names = [\"Shop.Example\", \"*.shop.example\", \"xn--caf-dma.test\", "
      "\"a-1.b-2.test\", \"localhost\"]\n");
  EXPECT_EQ(c.hosts[1].server_names.size(), 5u);
}

TEST(ConfigHosts, ServerNamesThatCanNeverMatchAreRefused) {
  struct Case {
    const char* entry;  // as written in TOML
    const char* reason;
  };
  for (const Case& bad : {Case{R"("")", "it is empty"}, Case{R"("*")", "\"*\" alone is not a wildcard"},
                          Case{R"("foo.test:443")", "':' is not allowed: a server name has no port"},
                          Case{R"(" sp.test")", "a space is not allowed"},
                          Case{R"("sp.test ")", "a space is not allowed"},
                          Case{R"("a.*.test")", "'*' is only allowed as the whole first label"},
                          Case{R"("*foo.test")", "'*' is only allowed as the whole first label"},
                          Case{R"("**.test")", "'*' is only allowed as the whole first label"},
                          Case{R"("*.")", "nothing follows \"*.\""},
                          Case{R"("a..test")", "empty label"}, Case{R"(".a.test")", "empty label"},
                          Case{R"("a.test.")", "empty label"}, Case{R"("a_b.test")", "'_' is not allowed"},
                          Case{R"("https://a.test")", "':' is not allowed"},
                          Case{R"("a\ttab.test")", "byte 0x09 is not allowed"},
                          Case{R"("192.0.2.1")", "it is an IP address, which clients never send"},
                          Case{R"("2001:db8::1")", "it is an IP address, which clients never send"}}) {
    SCOPED_TRACE(bad.entry);
    const std::string text =
        std::string("[[hosts]]\nname = \"shop\"\nserver_names = [\"ok.test\", ") + bad.entry + "]\n";
    const std::string msg = errorOf(text);
    EXPECT_EQ(msg.rfind(std::string(kFile) + ": hosts[0].server_names: host \"shop\": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(bad.reason), std::string::npos) << msg;
    EXPECT_NE(msg.find("is not a valid server name"), std::string::npos) << msg;
    EXPECT_NE(msg.find("letters, digits, '-' and '.'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // The entry itself is named, quoted.
  EXPECT_NE(errorOf("[[hosts]]\nserver_names = [\"foo.test:443\"]\n").find("\"foo.test:443\""), std::string::npos);
  expectError("[default_host]\nserver_names = [\"*\"]\n", "default_host.server_names: host \"default\"", "alone");
  expectError("[[hosts]]\nserver_names = \"\"\n", "hosts[0].server_names", "it is empty");
  expectError(std::string("[[hosts]]\nserver_names = [\"") + std::string(64, 'a') + ".test\"]\n",
              "hosts[0].server_names", "longer than 63");
}

TEST(ConfigHosts, ValidateRefusesBadServerNamesBuiltByHand) {
  Config c;
  c.source = "command line";
  c.hosts.push_back(VirtualHostConfig{"a", {"a.test:443"}, "", "", {}});
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("command line: host \"a\": \"a.test:443\" is not a valid server name", 0), 0u)
        << e.what();
  }
}

TEST(ConfigHosts, HostWithoutServerNames) {
  expectError("[[hosts]]\nname = \"lonely\"\n", "hosts[0].server_names", "at least one SNI name");
  expectError("[[hosts]]\nserver_names = []\n", "hosts[0].server_names", "at least one SNI name");
}

TEST(ConfigHosts, CertAndKeyTogether) {
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\ncert = \"/a.crt\"\n", "hosts[0].key", "together");
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\nkey = \"/a.key\"\n", "hosts[0].cert", "together");
  expectError("[default_host]\ncert = \"/d.crt\"\n", "default_host.key", "together");
}

TEST(ConfigHosts, ErrorsNameTheRightHostIndex) {
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\n[[hosts]]\nserver_names = [\"b.test\"]\nsession_ids = 1\n",
              "hosts[1].session_ids", "expected true or false");
}

TEST(ConfigHosts, HostsMustBeTables) {
  expectError("[hosts]\nname = \"x\"\n", "hosts", "expected [[hosts]] tables");
  const std::string msg = errorOf("hosts = [1]\n");
  EXPECT_NE(msg.find("hosts[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a table"), std::string::npos) << msg;
}

// --- error paths ----------------------------------------------------------------------

TEST(ConfigErrors, UnknownKeys) {
  expectError("workerz = 2\n", "workerz", "unknown key");
  expectError("[session_cache]\nmax_entries = 5\n", "session_cache.max_entries", "unknown key");
  expectError("[tickets]\nrotation = \"1h\"\n", "tickets.rotation", "unknown key");
  expectError("[default_host]\nlifetime = \"1h\"\n", "default_host.lifetime", "unknown key");
  expectError("[[hosts]]\nserver_names = [\"a.test\"]\ntls13_ticket = \"off\"\n", "hosts[0].tls13_ticket",
              "unknown key");
  expectError("[unknown_table]\nx = 1\n", "unknown_table", "unknown key");
}

TEST(ConfigErrors, WrongTypes) {
  expectError("workers = \"two\"\n", "workers", "expected an integer");
  expectError("workers = 2.5\n", "workers", "expected an integer");
  expectError("backend = 8080\n", "backend", "expected a string");
  expectError("admin = false\n", "admin", "expected a string");
  expectError("log_level = 1\n", "log_level", "expected a string");
  expectError("listen = 8443\n", "listen", "expected a string or an array of strings");
  expectError("listen = [\"127.0.0.1:1\", 2]\n", "listen", "expected an array of strings");
  expectError("handshake_timeout = true\n", "handshake_timeout", "expected a duration");
  expectError("idle_timeout = 1.5\n", "idle_timeout", "expected a duration");
  expectError("session_cache = 5\n", "session_cache", "expected a table");
  expectError("tickets = \"1h\"\n", "tickets", "expected a table");
  expectError("default_host = 1\n", "default_host", "expected a table");
  expectError("[session_cache]\nmax_bytes = \"64MB\"\n", "session_cache.max_bytes", "expected an integer");
  expectError("[default_host]\nsession_ids = \"yes\"\n", "default_host.session_ids", "expected true or false");
  expectError("[default_host]\ntls12_tickets = 1\n", "default_host.tls12_tickets", "expected true or false");
  expectError("[default_host]\nname = 5\n", "default_host.name", "expected a string");
  expectError("[default_host]\ncert = [\"a\"]\n", "default_host.cert", "expected a string");
  expectError("[default_host]\nserver_names = 5\n", "default_host.server_names", "expected a string or an array");
  expectError("[default_host]\ntls13_tickets = true\n", "default_host.tls13_tickets", "expected a string");
}

TEST(ConfigErrors, BadEnumValues) {
  expectError("[default_host]\ntls13_tickets = \"sometimes\"\n", "default_host.tls13_tickets",
              "expected \"stateless\", \"stateful\" or \"off\", got \"sometimes\"");
  expectError("[default_host]\ntls13_psk_modes = \"psk_ke\"\n", "default_host.tls13_psk_modes",
              "expected \"dhe\" or \"any\", got \"psk_ke\"");
  expectError("log_level = \"verbose\"\n", "log_level", "expected debug, info, warn or error");
}

TEST(ConfigErrors, BadEndpoints) {
  expectError("listen = [\"127.0.0.1\"]\n", "listen", "is not HOST:PORT");
  expectError("listen = []\n", "listen", "at least one HOST:PORT");
  expectError("listen = [\"127.0.0.1:70000\"]\n", "listen", "out of range");
  expectError("backend = \"localhost\"\n", "backend", "is not HOST:PORT");
  expectError("backend = \"10.0.0.1:http\"\n", "backend", "no valid port");
  expectError("admin = \"[::1]\"\n", "admin", "is not [IPv6]:PORT");
  expectError("listen = [\"127.0.0.1:0\"]\n", "listen", "port 0");
  expectError("backend = \"127.0.0.1:0\"\n", "backend", "port 0");
}

TEST(ConfigErrors, ListenAddressListedTwice) {
  // The second bind failed with a misleading "Address already in use".
  expectError("listen = [\"127.0.0.1:4433\", \"127.0.0.1:4433\"]\n", "listen",
              "127.0.0.1:4433 is listed twice");
  expectError("listen = [\"[::1]:4433\", \"[0:0::1]:4433\"]\n", "listen", "[0:0::1]:4433 is listed twice (as [::1]:4433)");
  expectError("listen = [\"LocalHost:4433\", \"localhost:4433\"]\n", "listen", "is listed twice");
  EXPECT_EQ(parse("listen = [\"127.0.0.1:4433\", \"127.0.0.1:4434\", \"[::1]:4433\"]\n").listen.size(), 3u);
}

TEST(ConfigErrors, DuplicateEndpointsNameWhereTheyCameFrom) {
  try {
    refuseDuplicateEndpoints({Endpoint{"127.0.0.1", 8443}, Endpoint{"127.0.0.1", 8443}}, "--listen");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--listen: 127.0.0.1:8443 is listed twice");
  }
  Config c;
  c.listen.push_back(c.listen.front());
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "config: listen: 127.0.0.1:8443 is listed twice");
  }
}

TEST(ConfigErrors, BadDurations) {
  expectError("idle_timeout = \"5 minutes\"\n", "idle_timeout", "unknown unit");
  expectError("idle_timeout = \"1w\"\n", "idle_timeout", "unknown unit \"w\"");
  expectError("handshake_timeout = \"fast\"\n", "handshake_timeout", "is not a duration");
  expectError("handshake_timeout = -5\n", "handshake_timeout", "must not be negative");
  expectError("[default_host]\nmax_resumption_age = \"1.5h\"\n", "default_host.max_resumption_age", "unknown unit");
  expectError("[tickets]\nkey_rotation = \"0s\"\n", "tickets.key_rotation", "at least 1s");
  expectError("[tickets]\nkey_rotation = 0\n", "tickets.key_rotation", "at least 1s");
}

TEST(ConfigErrors, TimeoutsMustBeAtLeastOneSecond) {
  // 0 would close every connection at the first sweep.
  expectError("handshake_timeout = \"0s\"\n", "handshake_timeout", "at least 1s");
  expectError("idle_timeout = 0\n", "idle_timeout", "at least 1s");
  // 0 would make every session expired on arrival: resumption off by accident.
  expectError("[default_host]\nsession_lifetime = 0\n", "session_lifetime", "at least 1s");
  expectError("[default_host]\nmax_resumption_age = \"0s\"\n", "max_resumption_age", "at least 1s");
  EXPECT_EQ(parse("handshake_timeout = \"1s\"\n").handshake_timeout, 1s);
}

TEST(ConfigErrors, DurationsThatWouldOverflowAreRefused) {
  // Added to nanosecond time points, these overflowed: every connection "timed out" at once.
  expectError("idle_timeout = \"999999999d\"\n", "idle_timeout", "at most 3650d");
  expectError("handshake_timeout = 9223372036854775807\n", "handshake_timeout", "at most 3650d");
  expectError("[default_host]\nmax_resumption_age = \"3651d\"\n", "default_host.max_resumption_age", "at most 3650d");
  expectError("[tickets]\nkey_rotation = \"99999999h\"\n", "tickets.key_rotation", "at most 3650d");
  EXPECT_EQ(parse("[default_host]\nmax_resumption_age = \"3650d\"\n").hosts[0].policy.max_resumption_age,
            std::chrono::seconds{3650LL * 86400});
}

TEST(ConfigErrors, OutOfRangeIntegers) {
  expectError("[session_cache]\nmax_bytes = -1\n", "session_cache.max_bytes", "must be between");
  expectError("[session_cache]\nmax_bytes = 0\n", "session_cache.max_bytes", "must be between 1024");
  expectError("[session_cache]\nmax_bytes = 1099511627777\n", "session_cache.max_bytes", "must be between");
}

TEST(ConfigErrors, TomlSyntaxNamesFileAndLine) {
  const std::string msg = errorOf("workers = 2\nlog_level = \"info\"\n[default_host\n");
  EXPECT_EQ(msg.rfind(std::string(kFile) + ":3:", 0), 0u) << msg;
  EXPECT_NE(msg.find("invalid TOML"), std::string::npos) << msg;

  const std::string msg2 = errorOf("workers = \n");
  EXPECT_EQ(msg2.rfind(std::string(kFile) + ":1:", 0), 0u) << msg2;

  const std::string msg3 = errorOf("workers = 1\nworkers = 2\n");  // redefinition
  EXPECT_EQ(msg3.rfind(std::string(kFile) + ":2:", 0), 0u) << msg3;
}

TEST(ConfigErrors, SourceNameIsUsedInEveryMessage) {
  try {
    parseConfigText("bogus = 1\n", "/etc/tlsresume/prod.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/etc/tlsresume/prod.toml: bogus: unknown key");
  }
  try {
    parseConfigText("[[hosts]]\nserver_names=[\"a\"]\n[[hosts]]\nname=\"b\"\nserver_names=[\"a\"]\n", "other.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("other.toml: ", 0), 0u) << e.what();
  }
}

TEST(ConfigErrors, ValidateWithoutSourceSaysConfig) {
  Config c;
  c.listen.clear();
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("listen"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("config: ", 0), 0u) << e.what();
  }
}

TEST(ConfigErrors, ValidateRefusesDuplicateServerNamesBuiltByHand) {
  Config c;
  c.source = "command line";
  c.hosts.push_back(VirtualHostConfig{"a", {"x.test"}, "", "", {}});
  c.hosts.push_back(VirtualHostConfig{"b", {"X.TEST"}, "", "", {}});
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("command line: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("two hosts"), std::string::npos) << e.what();
  }
}

TEST(ConfigFile, LoadsFromDisk) {
  const std::string path = ::testing::TempDir() + "tlsresume_config_test.toml";
  {
    std::ofstream out(path);
    out << "workers = 4\n[default_host]\nsession_lifetime = \"10m\"\n";
  }
  const Config c = loadConfigFile(path);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.hosts[0].policy.session_lifetime, 10min);
  {
    std::ofstream out(path);
    out << "workers = \"four\"\n";
  }
  try {
    loadConfigFile(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": workers: expected an integer");
  }
  std::remove(path.c_str());
}

TEST(ConfigFile, MissingFile) {
  const std::string path = ::testing::TempDir() + "no/such/dir/tlsresume.toml";
  try {
    loadConfigFile(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
}

TEST(ConfigFile, DirectoryIsRefusedNotReadAsEmpty) {
  // std::ifstream "opened" a directory and read nothing: the server started on defaults.
  const std::string dir = ::testing::TempDir();
  try {
    loadConfigFile(dir);
    FAIL() << "no error for a directory";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(dir + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("cannot read config file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Is a directory"), std::string::npos) << msg;
  }
}

// --- durations ------------------------------------------------------------------------

TEST(ParseDuration, Units) {
  EXPECT_EQ(parseDuration("90", "x"), 90s);
  EXPECT_EQ(parseDuration("90s", "x"), 90s);
  EXPECT_EQ(parseDuration("15m", "x"), 15min);
  EXPECT_EQ(parseDuration("1h", "x"), 1h);
  EXPECT_EQ(parseDuration("7d", "x"), 168h);
  EXPECT_EQ(parseDuration("0", "x"), 0s);
  EXPECT_EQ(parseDuration("0s", "x"), 0s);
  EXPECT_EQ(parseDuration("999999999d", "x"), std::chrono::seconds{999999999LL * 86400});
}

TEST(ParseDuration, Errors) {
  for (const char* bad : {"", "s", "h", "-5s", "+5s", " 5s", "1.5h", "1e3"}) {
    SCOPED_TRACE(bad);
    const std::string msg = durationError(bad);
    EXPECT_EQ(msg.rfind("idle_timeout: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(std::string("\"") + bad + "\""), std::string::npos) << msg;
  }
  for (const char* bad : {"5w", "5ms", "5 s", "5S", "5sec", "5s "}) {
    SCOPED_TRACE(bad);
    const std::string msg = durationError(bad);
    EXPECT_NE(msg.find("unknown unit"), std::string::npos) << msg;
    EXPECT_NE(msg.find("use s, m, h or d"), std::string::npos) << msg;
  }
  // Ten digits could overflow once multiplied by a unit: refused, not wrapped.
  EXPECT_NE(durationError("1234567890").find("is not a duration"), std::string::npos);
}

// --- endpoints ------------------------------------------------------------------------

TEST(ParseEndpoint, Ipv4AndNames) {
  Endpoint e = parseEndpoint("127.0.0.1:443", "--listen");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.str(), "127.0.0.1:443");
  e = parseEndpoint("backend.internal:8080", "--backend");
  EXPECT_EQ(e.host, "backend.internal");
  EXPECT_EQ(e.port, 8080);
  EXPECT_THROW(parseEndpoint("0.0.0.0:0", "x"), ConfigError);  // not a port to listen on or connect to
  EXPECT_EQ(parseEndpoint("0.0.0.0:65535", "x").port, 65535);
}

TEST(ParseEndpoint, Ipv6InBrackets) {
  Endpoint e = parseEndpoint("[::1]:443", "--listen");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.str(), "[::1]:443");
  e = parseEndpoint("[2001:db8::7]:8443", "--listen");
  EXPECT_EQ(e.host, "2001:db8::7");
  EXPECT_EQ(e.port, 8443);
}

TEST(ParseEndpoint, Errors) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {Case{"127.0.0.1", "is not HOST:PORT"}, Case{"", "is not HOST:PORT"},
                        Case{":443", "is not HOST:PORT"}, Case{"127.0.0.1:", "has no valid port"},
                        Case{"127.0.0.1:http", "has no valid port"}, Case{"127.0.0.1:-1", "has no valid port"},
                        Case{"127.0.0.1:123456", "has no valid port"}, Case{"127.0.0.1:70000", "out of range"},
                        Case{"127.0.0.1:65536", "out of range"}, Case{"[::1]", "is not [IPv6]:PORT"},
                        Case{"[::1:443", "is not [IPv6]:PORT"}, Case{"[::1]443", "is not [IPv6]:PORT"},
                        Case{"[::1]:", "has no valid port"}, Case{"[::1]:99999", "out of range"}}) {
    SCOPED_TRACE(c.text);
    const std::string msg = endpointError(c.text);
    EXPECT_EQ(msg.rfind("--listen: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace tlsresume::server
