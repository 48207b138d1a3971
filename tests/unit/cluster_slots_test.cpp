#include "redis/cluster_slots.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlsresume::redis {
namespace {

Reply integer(long long n) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = n;
  return r;
}
Reply bulk(std::string s) {
  Reply r;
  r.type = Reply::Type::string;
  r.str = std::move(s);
  return r;
}
Reply nil() { return Reply{}; }
Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(elements);
  return r;
}
// A node as Redis 7 describes it: [ip, port, id, {networking metadata}].
Reply node(std::string ip, long long port, std::string id, std::vector<Reply> meta = {}) {
  return array({bulk(std::move(ip)), integer(port), bulk(std::move(id)), array(std::move(meta))});
}
Reply range(long long first, long long last, std::vector<Reply> nodes) {
  std::vector<Reply> e{integer(first), integer(last)};
  for (auto& n : nodes) e.push_back(std::move(n));
  return array(std::move(e));
}

const std::string kId1 = "09dbe9720cda62f7865eabc5fd8857c5d2678366";
const std::string kId2 = "c9d93d9f2c0c524ff34cc11838c2003d8c29e013";
const std::string kId3 = "1b8e9c6e5f1b3e0a2a1f1c8b2e6d0a9f3c4d5e6f";
const std::string kId4 = "821d8ca00d7ccf931ed3ffc7e3db0599d2271abf";

// What `redis-cli cluster slots` shows for `redis-cli --cluster create ... --cluster-replicas 1`.
Reply threeMastersWithReplicas() {
  return array({
      range(0, 5460, {node("127.0.0.1", 30001, kId1), node("127.0.0.1", 30005, kId4)}),
      range(5461, 10922, {node("127.0.0.1", 30002, kId2), node("127.0.0.1", 30006, "e1")}),
      range(10923, 16383, {node("127.0.0.1", 30003, kId3), node("127.0.0.1", 30004, "e2")}),
  });
}

// ---- hashing ---------------------------------------------------------------------------------

TEST(ClusterSlots, Crc16IsXmodemWithRedisCheckValue) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, KeySlotsMatchWhatRedisComputes) {  // values from CLUSTER KEYSLOT on redis 7.0
  EXPECT_EQ(keySlot("foo"), 12182);
  EXPECT_EQ(keySlot("bar"), 5061);
  EXPECT_EQ(keySlot("123456789"), 12739);
  EXPECT_EQ(keySlot(""), 0);
  EXPECT_EQ(keySlot("{}"), 15257);
  EXPECT_EQ(keySlot("a{b"), 13340);
}

TEST(ClusterSlots, KeysWithTheSameHashTagShareASlot) {
  EXPECT_EQ(keySlot("{user1000}.following"), 3443);
  EXPECT_EQ(keySlot("{user1000}.followers"), 3443);
  EXPECT_EQ(keySlot("{tlsresume}:keys"), keySlot("{tlsresume}:revocations:version"));
}

TEST(ClusterSlots, AnEmptyTagHashesTheWholeKey) {
  EXPECT_EQ(keySlot("foo{}{bar}"), 8363);
  EXPECT_EQ(keySlot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
}

TEST(ClusterSlots, TheTagEndsAtTheFirstClosingBraceAfterTheFirstOpening) {
  EXPECT_EQ(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  EXPECT_EQ(keySlot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(keySlot("foo{bar}{zap}"), keySlot("bar"));
}

TEST(ClusterSlots, TheRoutingKeyIsTheFirstArgumentOrTheFirstScriptKey) {
  using Args = std::vector<std::string>;
  EXPECT_EQ(routingKey(Args{"GET", "k"}), "k");
  EXPECT_EQ(routingKey(Args{"SET", "k", "v", "PX", "10"}), "k");
  EXPECT_EQ(routingKey(Args{"EVAL", "return 1", "2", "{t}:a", "{t}:b", "arg"}), "{t}:a");
  EXPECT_EQ(routingKey(Args{"evalsha", "abc", "1", "key"}), "key");
  EXPECT_EQ(routingKey(Args{"EVAL", "return 1", "0", "arg"}), std::nullopt);
  EXPECT_EQ(routingKey(Args{"EVAL", "return 1", "x", "arg"}), std::nullopt);
  EXPECT_EQ(routingKey(Args{"EVAL", "return 1", "1"}), std::nullopt);
  EXPECT_EQ(routingKey(Args{"PING"}), std::nullopt);
  EXPECT_EQ(routingKey(Args{}), std::nullopt);
}

// ---- CLUSTER SLOTS ---------------------------------------------------------------------------

TEST(ClusterSlots, ThreeMastersWithReplicasCoverEverySlot) {
  const auto ranges = parseClusterSlots(threeMastersWithReplicas());
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ((*ranges)[0].first, 0);
  EXPECT_EQ((*ranges)[0].last, 5460);
  EXPECT_EQ((*ranges)[0].master, (ClusterNode{"127.0.0.1", 30001, kId1}));
  ASSERT_EQ((*ranges)[0].replicas.size(), 1u);
  EXPECT_EQ((*ranges)[0].replicas[0].port, 30005);
  const auto table = buildSlotTable(*ranges, "127.0.0.1");
  EXPECT_EQ(table.covered(), kClusterSlots);
  ASSERT_EQ(table.masters.size(), 3u);
  EXPECT_EQ(table.masters[table.owner[0]].port, 30001);
  EXPECT_EQ(table.masters[table.owner[5461]].port, 30002);
  EXPECT_EQ(table.masters[table.owner[keySlot("foo")]].port, 30003);
  EXPECT_EQ(table.masters[table.owner[16383]].port, 30003);
}

TEST(ClusterSlots, AMasterWithSeveralRangesIsOneMaster) {
  const Reply reply = array({
      range(0, 99, {node("10.0.0.1", 6379, kId1)}),
      range(100, 199, {node("10.0.0.2", 6379, kId2)}),
      range(200, 16383, {node("10.0.0.1", 6379, kId1)}),
  });
  const auto ranges = parseClusterSlots(reply);
  ASSERT_TRUE(ranges);
  const auto table = buildSlotTable(*ranges, "seed");
  EXPECT_EQ(table.masters.size(), 2u);
  EXPECT_EQ(table.owner[0], table.owner[300]);
  EXPECT_NE(table.owner[0], table.owner[150]);
}

TEST(ClusterSlots, Redis7HostnamesAndExtraFieldsAreSkipped) {
  const Reply reply = array({
      range(0, 8191,
            {node("10.0.0.1", 6379, kId1, {bulk("hostname"), bulk("redis-1.example.com")}),
             node("10.0.0.4", 6379, kId4, {bulk("hostname"), bulk("redis-4.example.com")})}),
      // Newer servers may add fields after the metadata; a plain [ip, port] is an older one.
      range(8192, 16383,
            {array({bulk("10.0.0.2"), integer(6380), bulk(kId2), array({}), bulk("future")}),
             array({bulk("10.0.0.5"), integer(6380)})}),
  });
  const auto ranges = parseClusterSlots(reply);
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].master.host, "10.0.0.1");
  EXPECT_EQ((*ranges)[1].master.port, 6380);
  EXPECT_EQ((*ranges)[1].replicas[0].id, "");
  EXPECT_EQ(buildSlotTable(*ranges, "seed").covered(), kClusterSlots);
}

TEST(ClusterSlots, ANilEndpointMeansTheNodeThatAnswered) {
  const Reply reply = array({range(0, 16383, {array({nil(), integer(7000), bulk(kId1), array({})})})});
  const auto ranges = parseClusterSlots(reply);
  ASSERT_TRUE(ranges);
  EXPECT_EQ((*ranges)[0].master.host, "");
  const auto table = buildSlotTable(*ranges, "10.1.2.3");
  EXPECT_EQ(table.masters[0].host, "10.1.2.3");
  EXPECT_EQ(table.masters[0].port, 7000);
}

TEST(ClusterSlots, AnUnknownEndpointLeavesItsSlotsWithoutOwner) {
  const Reply reply = array({
      range(0, 99, {node("?", 7000, kId1)}),
      range(100, 16383, {node("10.0.0.2", 7001, kId2), node("?", 7002, kId3)}),
  });
  const auto ranges = parseClusterSlots(reply);
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 1u);
  EXPECT_TRUE((*ranges)[0].replicas.empty());
  const auto table = buildSlotTable(*ranges, "seed");
  EXPECT_EQ(table.owner[50], SlotTable::kNoOwner);
  EXPECT_EQ(table.covered(), kClusterSlots - 100);
}

TEST(ClusterSlots, AClusterWithoutSlotsIsAnEmptyTable) {
  const auto ranges = parseClusterSlots(array({}));
  ASSERT_TRUE(ranges);
  EXPECT_TRUE(ranges->empty());
  EXPECT_EQ(buildSlotTable(*ranges, "seed").covered(), 0u);
}

TEST(ClusterSlots, MalformedRepliesAreRefusedWhole) {
  const auto n = [] { return node("10.0.0.1", 6379, kId1); };
  const std::vector<std::pair<const char*, Reply>> cases = {
      {"not an array", bulk("ERR This instance has cluster support disabled")},
      {"nil", nil()},
      {"entry not an array", array({integer(0)})},
      {"entry too short", array({array({integer(0), integer(10)})})},
      {"start not an integer", array({array({bulk("0"), integer(10), n()})})},
      {"slot past 16383", array({range(0, 16384, {n()})})},
      {"negative slot", array({range(-1, 10, {n()})})},
      {"start after end", array({range(10, 5, {n()})})},
      {"overlapping ranges", array({range(0, 100, {n()}), range(100, 200, {n()})})},
      {"node not an array", array({array({integer(0), integer(10), bulk("10.0.0.1:6379")})})},
      {"node too short", array({array({integer(0), integer(10), array({bulk("10.0.0.1")})})})},
      {"port zero", array({range(0, 10, {node("10.0.0.1", 0, kId1)})})},
      {"port too large", array({range(0, 10, {node("10.0.0.1", 65536, kId1)})})},
      {"port as string", array({range(0, 10, {array({bulk("10.0.0.1"), bulk("6379")})})})},
      {"host as integer", array({range(0, 10, {array({integer(1), integer(6379)})})})},
      {"id as integer", array({range(0, 10, {array({bulk("h"), integer(6379), integer(5)})})})},
      {"metadata not an array", array({range(0, 10, {array({bulk("h"), integer(6379), bulk(kId1), bulk("x")})})})},
      {"bad replica", array({range(0, 10, {n(), integer(3)})})},
  };
  for (const auto& [why, reply] : cases) EXPECT_FALSE(parseClusterSlots(reply)) << why;
}

// ---- redirections ----------------------------------------------------------------------------

TEST(ClusterSlots, MovedNamesTheSlotAndItsNewOwner) {
  const auto r = parseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Redirect::Kind::moved);
  EXPECT_EQ(r->slot, 3999);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 6381);
}

TEST(ClusterSlots, AskIsParsedLikeMoved) {
  const auto r = parseRedirect("-ASK 16383 redis-2.example.com:7002");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Redirect::Kind::ask);
  EXPECT_EQ(r->slot, 16383);
  EXPECT_EQ(r->host, "redis-2.example.com");
  EXPECT_EQ(r->port, 7002);
}

TEST(ClusterSlots, RedirectHostsMayBeIpv6OrUnknown) {
  const auto v6 = parseRedirect("MOVED 1 ::1:7000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  const auto bracketed = parseRedirect("MOVED 1 [fe80::1]:7000");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->host, "fe80::1");
  const auto unknown = parseRedirect("MOVED 1 :7000");  // Redis 7: "the node you asked"
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->host, "");
}

TEST(ClusterSlots, OtherErrorsAndMalformedRedirectsAreNotRedirects) {
  for (const char* e : {"TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down",
                        "ERR unknown command", "MOVED", "MOVED 3999", "MOVED 3999 127.0.0.1", "MOVED 16384 h:1",
                        "MOVED -1 h:1", "MOVED x h:1", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:", "MOVED 1 h:1x",
                        "ASK 1 a b:1", "moved 1 h:1", ""})
    EXPECT_FALSE(parseRedirect(e)) << e;
}

}  // namespace
}  // namespace tlsresume::redis
