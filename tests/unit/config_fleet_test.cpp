// The [fleet] section of `tlsresume serve`'s configuration: every key, and one message per
// error that names the file, the key and the reason.
#include <gtest/gtest.h>

#include <string>

#include "server/config.hpp"

namespace tlsresume::server {
namespace {

using namespace std::chrono_literals;

Config parse(const std::string& text) { return parseConfigText(text, "t.toml"); }

std::string errorOf(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}

TEST(ConfigFleet, AbsentMeansNoFleet) { EXPECT_FALSE(parse("").fleet.enabled()); }

TEST(ConfigFleet, EveryKey) {
  const Config c = parse(
      "[fleet]\nredis = \"rediss://redis.internal:6380\"\nuser = \"tlsresume\"\npassword_file = \"/run/pw\"\n"
      "tls_ca_file = \"/etc/ca.pem\"\nkey_prefix = \"edge\"\nlookup_timeout = \"8ms\"\nnode_name = \"edge-1\"\n"
      "key_wrap_file = \"/run/wrap\"\n");
  EXPECT_TRUE(c.fleet.enabled());
  EXPECT_EQ(c.fleet.redis, "rediss://redis.internal:6380");
  EXPECT_EQ(c.fleet.user, "tlsresume");
  EXPECT_EQ(c.fleet.password_file, "/run/pw");
  EXPECT_EQ(c.fleet.tls_ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.fleet.key_prefix, "edge");
  EXPECT_EQ(c.fleet.lookup_timeout, 8ms);
  EXPECT_EQ(c.fleet.node_name, "edge-1");
  EXPECT_EQ(c.fleet.key_wrap_file, "/run/wrap");
}

TEST(ConfigFleet, Defaults) {
  const Config c = parse("[fleet]\nredis = \"unix:/run/redis.sock\"\n");
  EXPECT_EQ(c.fleet.key_prefix, "tlsresume");
  EXPECT_EQ(c.fleet.lookup_timeout, 5ms);
  EXPECT_TRUE(c.fleet.node_name.empty());
}

TEST(ConfigFleet, LookupTimeoutAsAnIntegerIsMilliseconds) {
  EXPECT_EQ(parse("[fleet]\nredis = \"redis://127.0.0.1\"\nlookup_timeout = 20\n").fleet.lookup_timeout, 20ms);
}

TEST(ConfigFleet, AClusterIsGivenByItsSeedNodes) {
  const Config c = parse("[fleet]\ncluster = [\"127.0.0.1:7000\", \"rediss://10.0.0.2:7001\"]\n");
  EXPECT_TRUE(c.fleet.enabled());
  EXPECT_TRUE(c.fleet.redis.empty());
  EXPECT_EQ(c.fleet.cluster.size(), 2u);
  EXPECT_EQ(c.fleet.describe(), "cluster 127.0.0.1:7000,rediss://10.0.0.2:7001");
}

TEST(ConfigFleet, BadValuesNameTheKey) {
  const std::string base = "[fleet]\nredis = \"redis://127.0.0.1:6379\"\n";
  struct Case {
    std::string text, key;
  } cases[] = {
      {"[fleet]\nuser = \"x\"\n", "fleet.redis"},
      {"[fleet]\nredis = \"http://127.0.0.1\"\n", "fleet.redis"},
      {"[fleet]\nredis = \"redis://user:secret@127.0.0.1\"\n", "fleet.redis"},
      {base + "lookup_timeout = \"0ms\"\n", "fleet.lookup_timeout"},
      {base + "lookup_timeout = \"2s\"\n", "fleet.lookup_timeout"},
      {base + "lookup_timeout = \"fast\"\n", "fleet.lookup_timeout"},
      {base + "key_prefix = \"a{b}\"\n", "fleet.key_prefix"},
      {base + "key_prefix = \"\"\n", "fleet.key_prefix"},
      {base + "node_name = \"two words\"\n", "fleet.node_name"},
      {base + "user = \"u\"\n", "fleet.user"},
      {base + "tls_ca_file = \"/ca.pem\"\n", "fleet.tls_ca_file"},
      {base + "colour = \"red\"\n", "fleet.colour"},
      {base + "cluster = [\"127.0.0.1:7000\"]\n", "fleet.cluster"},
      {"[fleet]\ncluster = []\n", "fleet.cluster"},
      {"[fleet]\ncluster = [\"unix:/tmp/r.sock\"]\n", "fleet.cluster"},
      {"[fleet]\ncluster = [\"no-port-here:x\"]\n", "fleet.cluster"},
  };
  for (const auto& c : cases) {
    const std::string msg = errorOf(c.text);
    EXPECT_NE(msg.find("t.toml: " + c.key + ": "), std::string::npos) << msg;
    EXPECT_EQ(msg.find("secret"), std::string::npos) << msg;  // credentials never echoed
  }
}

}  // namespace
}  // namespace tlsresume::server
