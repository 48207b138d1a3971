// Access-log lines: every field in text and JSON, "-" for what is absent, and bytes a
// client chose (SNI) unable to split a line or forge a field.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include "server/access_log.hpp"

using namespace tlsresume::server;

namespace {
AccessRecord sample() {
  AccessRecord r;
  r.time = std::chrono::system_clock::time_point{std::chrono::milliseconds{1700000000123}};
  r.client = "192.0.2.7";
  r.client_port = 51515;
  r.sni = "shop.example";
  r.vhost = "shop";
  r.version = "TLSv1.3";
  r.cipher = "TLS_AES_128_GCM_SHA256";
  r.resumed = "ticket";
  r.handshake = std::chrono::microseconds{1250};
  r.bytes_in = 517;
  r.bytes_out = 1234;
  r.duration = std::chrono::milliseconds{42};
  r.reason = "done";
  return r;
}
}  // namespace

TEST(AccessLog, TextLine) {
  EXPECT_EQ(formatAccessLine(sample(), LogFormat::text),
            "2023-11-14T22:13:20.123Z 192.0.2.7:51515 sni=shop.example vhost=shop tls=TLSv1.3 "
            "cipher=TLS_AES_128_GCM_SHA256 alpn=- resumed=ticket handshake_ms=1.250 in=517 out=1234 "
            "duration_ms=42.000 close=\"done\"\n");
}

TEST(AccessLog, JsonLine) {
  EXPECT_EQ(formatAccessLine(sample(), LogFormat::json),
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"client\":\"192.0.2.7\",\"client_port\":51515,"
            "\"sni\":\"shop.example\",\"vhost\":\"shop\",\"tls_version\":\"TLSv1.3\","
            "\"cipher\":\"TLS_AES_128_GCM_SHA256\",\"alpn\":\"\",\"resumed\":\"ticket\",\"handshake_ms\":1.250,"
            "\"bytes_in\":517,\"bytes_out\":1234,\"duration_ms\":42.000,\"close\":\"done\"}\n");
}

TEST(AccessLog, FailedHandshakeAndHostileSni) {
  AccessRecord r = sample();
  r.handshake.reset();
  r.version = r.cipher = r.resumed = "";
  r.sni = "a b\nforged=1\"";
  r.reason = "handshake failed";
  const std::string text = formatAccessLine(r, LogFormat::text);
  EXPECT_NE(text.find("sni=a\\x20b\\x0aforged\\x3d1\\x22 "), std::string::npos) << text;
  EXPECT_NE(text.find("tls=- cipher=- alpn=- resumed=- handshake_ms=- "), std::string::npos) << text;
  EXPECT_NE(text.find("close=\"handshake failed\"\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  const std::string json = formatAccessLine(r, LogFormat::json);
  EXPECT_NE(json.find("\"handshake_ms\":null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"sni\":\"a b\\u000aforged=1\\\"\""), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), json.size() - 1);
}

TEST(AccessLog, Ipv6Client) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(443);
  inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr);
  AccessRecord r = sample();
  setClient(r, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  EXPECT_EQ(r.client, "2001:db8::1");
  EXPECT_EQ(r.client_port, 443);
  EXPECT_EQ(formatAccessLine(r, LogFormat::text).substr(25, 18), "[2001:db8::1]:443 ");
}
