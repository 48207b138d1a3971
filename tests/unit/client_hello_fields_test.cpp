#include "tlsresume/client_hello_fields.hpp"

#include <gtest/gtest.h>

using namespace tlsresume;
using namespace std::string_literals;

namespace {
std::string sni(const std::string& name) {
  std::string entry = "\x00"s + char(name.size() >> 8) + char(name.size() & 0xff) + name;
  return std::string{char(entry.size() >> 8), char(entry.size() & 0xff)} + entry;
}
}  // namespace

TEST(ServerName, AHostNameIsReturnedLowerCased) { EXPECT_EQ(parseServerName(sni("LocalHost")), "localhost"); }

TEST(ServerName, LengthsThatLieAreRejected) {
  std::string ext = sni("localhost");
  for (std::size_t cut = 0; cut < ext.size(); ++cut)
    EXPECT_FALSE(parseServerName(ext.substr(0, cut))) << "truncated at " << cut;
  EXPECT_FALSE(parseServerName(ext + "x")) << "trailing byte";
  std::string longer = ext;
  longer[1] = char(longer[1] + 1);
  EXPECT_FALSE(parseServerName(longer));
  std::string inner = ext;
  inner[4] = char(inner[4] + 5);
  EXPECT_FALSE(parseServerName(inner));
}

TEST(ServerName, ImplausibleNamesAreRejected) {
  EXPECT_FALSE(parseServerName(sni("")));
  EXPECT_FALSE(parseServerName(sni("trailing.dot.")));
  EXPECT_FALSE(parseServerName(sni("bad name")));
  EXPECT_FALSE(parseServerName(sni("nul\0x"s)));
  EXPECT_FALSE(parseServerName(sni(std::string(254, 'a'))));
}

// What OpenSSL stores in a session (and a resumption is compared with): the bytes as sent.
TEST(ServerName, TheBytesAsSentAreKeptForNamesParseServerNameRefuses) {
  EXPECT_EQ(serverNameBytes(sni("Trailing.Dot.")), "Trailing.Dot.");
  EXPECT_EQ(serverNameBytes(sni("bad name")), "bad name");
  EXPECT_EQ(serverNameBytes(sni("LocalHost")), "LocalHost");
  EXPECT_FALSE(serverNameBytes(sni("localhost").substr(0, 5))) << "truncated";
  EXPECT_FALSE(serverNameBytes("\x00\x00"s)) << "no host_name entry";
}

TEST(ServerName, NonHostNameEntriesAreSkipped) {
  std::string entries = "\x05\x00\x01z"s + "\x00\x00\x01"s + "a";
  const std::string ext = std::string{char(entries.size() >> 8), char(entries.size() & 0xff)} + entries;
  EXPECT_EQ(parseServerName(ext), "a");
}

TEST(SupportedVersions, FindsTls13AmongOffers) {
  EXPECT_EQ(offersVersion("\x04\x03\x04\x03\x03"s, 0x0304), true);
  EXPECT_EQ(offersVersion("\x02\x03\x03"s, 0x0304), false);
}

TEST(SupportedVersions, MalformedListsAreRejected) {
  EXPECT_FALSE(offersVersion(""s, 0x0304));
  EXPECT_FALSE(offersVersion("\x03\x03\x04\x03"s, 0x0304)) << "odd length";
  EXPECT_FALSE(offersVersion("\x04\x03\x04"s, 0x0304)) << "length longer than data";
  EXPECT_FALSE(offersVersion("\x02\x03\x04\x00"s, 0x0304)) << "trailing data";
}

TEST(PskIdentityLengths, ListsEachIdentityInOrder) {
  // identities: [3 bytes "abc", age], [1 byte "z", age]; binders: one of 32 bytes.
  const std::string ext = "\x00\x10"s + "\x00\x03"s + "abc"s + "\x00\x00\x00\x01"s + "\x00\x01"s + "z"s +
                          "\x00\x00\x00\x02"s + "\x00\x21\x20"s + std::string(32, 'b');
  auto psk = parsePskIdentityLengths(ext);
  ASSERT_TRUE(psk);
  ASSERT_EQ(psk->count, 2u);
  EXPECT_EQ(psk->length[0], 3);
  EXPECT_EQ(psk->length[1], 1);
  EXPECT_FALSE(psk->more);
  EXPECT_FALSE(parsePskIdentityLengths(ext.substr(0, ext.size() - 1))) << "binders cut short";
  EXPECT_FALSE(parsePskIdentityLengths(ext + "x")) << "trailing data";
  EXPECT_FALSE(parsePskIdentityLengths("\x00\x00\x00\x00"s)) << "no identities";
  EXPECT_FALSE(parsePskIdentityLengths("\x00\x07\x00\x09"s + "abc"s + "\x00\x00"s)) << "identity longer than the list";
}

TEST(PskIdentityLengths, KeepsTheFirstEightAndSaysThereWereMore) {
  std::string ids;
  for (int i = 0; i < 10; ++i) ids += "\x00\x02"s + "id"s + "\x00\x00\x00\x00"s;
  const std::string ext = "\x00"s + static_cast<char>(ids.size()) + ids + "\x00\x21\x20"s + std::string(32, 'b');
  auto psk = parsePskIdentityLengths(ext);
  ASSERT_TRUE(psk);
  EXPECT_EQ(psk->count, 8u);
  EXPECT_TRUE(psk->more);
}
