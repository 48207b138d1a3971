// The admin token: only "Bearer <the token>" is accepted; every near miss is refused.
#include <gtest/gtest.h>

#include "server/admin_auth.hpp"
#include "server/config.hpp"

using tlsresume::server::AdminToken;
using tlsresume::server::ConfigError;

namespace {
constexpr const char* kToken = "0123456789abcdef0123";
}

TEST(AdminToken, AcceptsExactlyTheToken) {
  const AdminToken t = AdminToken::fromText(kToken, "test");
  EXPECT_TRUE(t.accepts("Bearer 0123456789abcdef0123"));
  EXPECT_TRUE(t.accepts("bearer 0123456789abcdef0123"));   // the scheme is case-insensitive
  EXPECT_TRUE(t.accepts("Bearer 0123456789abcdef0123 "));  // trailing space (header whitespace)
  EXPECT_FALSE(t.accepts(""));
  EXPECT_FALSE(t.accepts("Bearer"));
  EXPECT_FALSE(t.accepts("Bearer "));
  EXPECT_FALSE(t.accepts("0123456789abcdef0123"));  // no scheme
  EXPECT_FALSE(t.accepts("Basic 0123456789abcdef0123"));
  EXPECT_FALSE(t.accepts("Bearer 0123456789abcdef012"));    // a prefix
  EXPECT_FALSE(t.accepts("Bearer 0123456789abcdef01234"));  // longer
  EXPECT_FALSE(t.accepts("Bearer 0123456789ABCDEF0123"));   // the token is case-sensitive
  EXPECT_FALSE(t.accepts("Bearer 1123456789abcdef0123"));
}

TEST(AdminToken, RefusesWeakOrUnsendableTokens) {
  EXPECT_THROW(AdminToken::fromText("", "t"), ConfigError);
  EXPECT_THROW(AdminToken::fromText("short", "t"), ConfigError);
  EXPECT_THROW(AdminToken::fromText("0123456789 abcdef0123", "t"), ConfigError);
  EXPECT_THROW(AdminToken::fromText("0123456789\x01" "abcdef0123", "t"), ConfigError);
  try {
    AdminToken::fromText("secretsecret", "admin_token_file: /x");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("secretsecret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("admin_token_file"), std::string::npos);
  }
}
