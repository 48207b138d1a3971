#include "redis/resp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis/redis_link.hpp"

namespace tlsresume::redis {
namespace {

using namespace std::string_literals;

// ---- encoder ---------------------------------------------------------------------------------

TEST(RespEncoder, EncodesACommandAsAnArrayOfBulkStrings) {
  const std::vector<std::string> args{"SET", "key", "value"};
  EXPECT_EQ(encodeCommand(args), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
}

TEST(RespEncoder, KeepsBinaryBytesAndEmptyArgumentsIntact) {
  const std::vector<std::string> args{"SET", "k\r\n\0x"s, ""};
  EXPECT_EQ(encodeCommand(args), "*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0x\r\n$0\r\n\r\n"s);
}

TEST(RespEncoder, AppendsToWhatIsAlreadyBuffered) {
  std::string out = "*1\r\n$4\r\nPING\r\n";
  const std::vector<std::string> args{"GET", std::string(300, 'a')};
  appendCommand(out, args);
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$300\r\n" + std::string(300, 'a') + "\r\n");
}

TEST(RespEncoder, EncodesAnEmptyCommandAsAnEmptyArray) {
  EXPECT_EQ(encodeCommand(std::vector<std::string>{}), "*0\r\n");
}

// ---- reader ----------------------------------------------------------------------------------

Reply readOne(std::string_view bytes) {
  ReplyReader reader;
  EXPECT_TRUE(reader.feed(bytes.data(), bytes.size()));
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Status::reply);
  return r;
}

TEST(RespReader, ReadsEveryScalarType) {
  auto r = readOne("+OK\r\n");
  EXPECT_EQ(r.type, Reply::Type::status);
  EXPECT_EQ(r.str, "OK");
  r = readOne("-WRONGPASS invalid username-password pair\r\n");
  EXPECT_EQ(r.type, Reply::Type::error);
  EXPECT_EQ(r.str, "WRONGPASS invalid username-password pair");
  r = readOne(":-42\r\n");
  EXPECT_EQ(r.type, Reply::Type::integer);
  EXPECT_EQ(r.integer, -42);
  r = readOne("$5\r\nhe\0lo\r\n"s);
  EXPECT_EQ(r.type, Reply::Type::string);
  EXPECT_EQ(r.str, "he\0lo"s);
  r = readOne("$-1\r\n");
  EXPECT_EQ(r.type, Reply::Type::nil);
  r = readOne("*-1\r\n");
  EXPECT_EQ(r.type, Reply::Type::nil);
}

TEST(RespReader, ReadsNestedArraysInOrder) {
  const auto r = readOne("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n");
  ASSERT_EQ(r.type, Reply::Type::array);
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].integer, 1);
  ASSERT_EQ(r.elements[1].type, Reply::Type::array);
  ASSERT_EQ(r.elements[1].elements.size(), 2u);
  EXPECT_EQ(r.elements[1].elements[0].str, "a");
  EXPECT_EQ(r.elements[1].elements[1].type, Reply::Type::nil);
  EXPECT_EQ(r.elements[2].type, Reply::Type::array);
  EXPECT_TRUE(r.elements[2].elements.empty());
}

TEST(RespReader, ReadsALargeArrayWhoseElementsMoveAsItGrows) {
  std::string wire = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) wire += "*2\r\n:" + std::to_string(i) + "\r\n$3\r\nabc\r\n";
  const auto r = readOne(wire);
  ASSERT_EQ(r.elements.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(r.elements[i].elements.size(), 2u);
    EXPECT_EQ(r.elements[i].elements[0].integer, i);
    EXPECT_EQ(r.elements[i].elements[1].str, "abc");
  }
}

TEST(RespReader, WaitsForTheRestOfAReplySplitAnywhere) {
  const std::string wire = "*2\r\n$5\r\nhello\r\n:7\r\n+PONG\r\n";
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    ReplyReader reader;
    Reply r;
    ASSERT_TRUE(reader.feed(wire.data(), cut));
    std::vector<Reply> got;
    while (reader.next(r) == ReplyReader::Status::reply) got.push_back(std::move(r));
    ASSERT_TRUE(reader.feed(wire.data() + cut, wire.size() - cut));
    while (reader.next(r) == ReplyReader::Status::reply) got.push_back(std::move(r));
    ASSERT_EQ(got.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(got[0].elements[0].str, "hello");
    EXPECT_EQ(got[0].elements[1].integer, 7);
    EXPECT_EQ(got[1].str, "PONG");
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(RespReader, AHugeAnnouncedArrayCostsOnlyWhatArrives) {
  ReplyReader reader;
  const std::string wire = "*2000000000\r\n:1\r\n";
  ASSERT_TRUE(reader.feed(wire.data(), wire.size()));
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Status::incomplete);
}

TEST(RespReader, ReportsAProtocolErrorAndStaysInError) {
  ReplyReader reader;
  const std::string wire = "!bogus\r\n";
  ASSERT_TRUE(reader.feed(wire.data(), wire.size()));
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Status::protocol_error);
  EXPECT_FALSE(reader.error().empty());
  EXPECT_FALSE(reader.feed("+OK\r\n", 5));
}

TEST(RespReader, RefusesNestingDeeperThanHiredisSupports) {
  std::string wire;
  for (int i = 0; i < 12; ++i) wire += "*1\r\n";
  wire += ":1\r\n";
  ReplyReader reader;
  ASSERT_TRUE(reader.feed(wire.data(), wire.size()));
  Reply r;
  EXPECT_EQ(reader.next(r), ReplyReader::Status::protocol_error);
}

// ---- URLs ------------------------------------------------------------------------------------

TEST(RedisUrl, ParsesTcpWithAndWithoutAPort) {
  std::string error;
  auto ep = parseRedisUrl("redis://127.0.0.1:6380", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->kind, Endpoint::Kind::tcp);
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->describe(), "redis://127.0.0.1:6380");
  ep = parseRedisUrl("redis://redis.internal", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->host, "redis.internal");
  EXPECT_EQ(ep->port, 6379);
  ep = parseRedisUrl("redis://cache/0", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->describe(), "redis://cache:6379");
}

TEST(RedisUrl, ParsesTlsAndBracketedIpv6) {
  std::string error;
  const auto ep = parseRedisUrl("rediss://[::1]:6390/", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->kind, Endpoint::Kind::tls);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 6390);
  EXPECT_EQ(ep->describe(), "rediss://[::1]:6390");
}

TEST(RedisUrl, ParsesUnixSocketPaths) {
  std::string error;
  auto ep = parseRedisUrl("unix:/run/redis/redis.sock", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->kind, Endpoint::Kind::unix_socket);
  EXPECT_EQ(ep->path, "/run/redis/redis.sock");
  EXPECT_EQ(ep->describe(), "unix:/run/redis/redis.sock");
  ep = parseRedisUrl("unix:///tmp/r.sock", &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->path, "/tmp/r.sock");
}

TEST(RedisUrl, RefusesCredentialsWithoutRepeatingThem) {
  std::string error;
  EXPECT_FALSE(parseRedisUrl("redis://fleet:hunter2@cache:6379", &error));
  EXPECT_NE(error.find("credentials"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  EXPECT_FALSE(parseRedisUrl("rediss://:hunter2@cache", &error));
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

TEST(RedisUrl, RefusesMalformedUrlsWithAReason) {
  const char* bad[] = {
      "",                         // nothing
      "http://cache:6379",        // wrong scheme
      "redis://",                 // no host
      "redis://:6379",            // no host
      "redis://cache:",           // empty port
      "redis://cache:0",          // port 0
      "redis://cache:65536",      // port too big
      "redis://cache:63x9",       // not a number
      "redis://cache:6379/3",     // another database
      "redis://cache?timeout=1",  // query
      "redis://::1:6379",         // IPv6 without brackets
      "redis://[::1",             // unterminated bracket
      "redis://[cache]:6379",     // not an IPv6 address
      "redis://ca che",           // space in host
      "unix:relative.sock",       // relative path
  };
  for (const char* url : bad) {
    std::string error;
    EXPECT_FALSE(parseRedisUrl(url, &error)) << url;
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find('\n'), std::string::npos) << url;
  }
  std::string error;
  EXPECT_FALSE(parseRedisUrl("unix:/" + std::string(200, 'x'), &error));
}

}  // namespace
}  // namespace tlsresume::redis
