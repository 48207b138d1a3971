// The engine's crypto seam against published vectors, so that both builds (OpenSSL 3 and
// BoringSSL) are held to the same answers: a fleet may mix them, and every node must derive
// the same per-host ticket keys and open the same wrapped key records.
#include "tlsresume/crypto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlsresume::crypto {
namespace {

using Bytes = std::vector<unsigned char>;

Bytes fromHex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<unsigned char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string_view view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

TEST(Crypto, HkdfSha256MatchesRfc5869TestCase1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = fromHex("000102030405060708090a0b0c");
  const Bytes info = fromHex("f0f1f2f3f4f5f6f7f8f9");
  Bytes okm(42);
  ASSERT_TRUE(hkdfSha256(ikm.data(), ikm.size(), view(salt), view(info), okm.data(), okm.size()));
  EXPECT_EQ(okm, fromHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
}

TEST(Crypto, HkdfSha256MatchesRfc5869TestCase3WithoutSaltOrInfo) {
  const Bytes ikm(22, 0x0b);
  Bytes okm(42);
  ASSERT_TRUE(hkdfSha256(ikm.data(), ikm.size(), "", "", okm.data(), okm.size()));
  EXPECT_EQ(okm, fromHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
}

// NIST GCM test vector (gcmEncryptExtIV256, Count 0 with 16-byte plaintext and AAD).
TEST(Crypto, Aes256GcmMatchesAKnownVectorAndRefusesAChangedTag) {
  const Bytes key = fromHex("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b");
  const Bytes iv = fromHex("ac93a1a6145299bde902f21a");
  const Bytes pt = fromHex("2d71bcfa914e4ac045b2aa60955fad24");
  const Bytes aad = fromHex("1e0889016f67601c8ebea4943bc23ad6");
  Bytes ct(pt.size()), tag(kGcmTagBytes);
  ASSERT_TRUE(aes256GcmSeal(key.data(), iv.data(), view(aad), pt.data(), pt.size(), ct.data(), tag.data()));
  EXPECT_EQ(ct, fromHex("8995ae2e6df3dbf96fac7b7137bae67f"));
  EXPECT_EQ(tag, fromHex("eca5aa77d51d4a0a14d9c51e1da474ab"));
  Bytes back(ct.size());
  ASSERT_TRUE(aes256GcmOpen(key.data(), iv.data(), view(aad), ct.data(), ct.size(), tag.data(), back.data()));
  EXPECT_EQ(back, pt);
  tag[0] ^= 1;
  EXPECT_FALSE(aes256GcmOpen(key.data(), iv.data(), view(aad), ct.data(), ct.size(), tag.data(), back.data()));
  EXPECT_EQ(back, Bytes(pt.size(), 0));  // wiped on failure
}

TEST(Crypto, SecretRandomFillsAndDiffers) {
  Bytes a(32), b(32);
  ASSERT_TRUE(secretRandom(a.data(), a.size()));
  ASSERT_TRUE(secretRandom(b.data(), b.size()));
  EXPECT_NE(a, b);
}

TEST(Crypto, NamesItsLibrary) { EXPECT_NE(std::string(libraryVersion()), ""); }

}  // namespace
}  // namespace tlsresume::crypto
