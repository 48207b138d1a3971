// Certificate dates: the warning `serve` logs for a certificate clients will refuse.
#include "tls/certificate.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <ctime>

namespace tlsresume::tls {
namespace {

constexpr std::time_t kDay = 24 * 3600;

// A certificate whose dates are set by hand (not re-signed: only the dates are read).
CertifiedKey withDates(const char* not_before, const char* not_after) {
  CertifiedKey c = makeSelfSigned("dates.test");
  EXPECT_EQ(ASN1_TIME_set_string(X509_getm_notBefore(c.cert.get()), not_before), 1);
  EXPECT_EQ(ASN1_TIME_set_string(X509_getm_notAfter(c.cert.get()), not_after), 1);
  return c;
}

TEST(CertificateValidity, InDateHasNoProblem) {
  const CertifiedKey c = makeSelfSigned("localhost");
  EXPECT_FALSE(validityProblem(c.cert.get(), std::time(nullptr)).has_value());
}

TEST(CertificateValidity, ExpiredNamesTheNotAfterDate) {
  const CertifiedKey c = withDates("20200101000000Z", "20200201000000Z");
  const auto problem = validityProblem(c.cert.get(), std::time(nullptr));
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(*problem, "expired on 2020-02-01 (notAfter)");
}

TEST(CertificateValidity, NotYetValidNamesTheNotBeforeDate) {
  const CertifiedKey c = withDates("20991231120000Z", "21000101000000Z");
  const auto problem = validityProblem(c.cert.get(), std::time(nullptr));
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(*problem, "is not valid before 2099-12-31 (notBefore)");
}

TEST(CertificateValidity, JudgedAtTheGivenTime) {
  const CertifiedKey c = makeSelfSigned("localhost");  // valid from an hour ago for a year
  const std::time_t now = std::time(nullptr);
  EXPECT_NE(validityProblem(c.cert.get(), now + 400 * kDay).value_or("").find("(notAfter)"), std::string::npos);
  EXPECT_NE(validityProblem(c.cert.get(), now - kDay).value_or("").find("(notBefore)"), std::string::npos);
}

TEST(CertificateValidity, ChainNamesTheIntermediateThatLapsed) {
  CertifiedKey served = makeSelfSigned("leaf.test");
  CertifiedKey fresh = makeSelfSigned("fresh-intermediate.test");
  CertifiedKey lapsed = withDates("20200101000000Z", "20200201000000Z");
  served.chain.reset(sk_X509_new_null());
  sk_X509_push(served.chain.get(), fresh.cert.release());
  sk_X509_push(served.chain.get(), lapsed.cert.release());
  const auto problems = chainValidityProblems(served, std::time(nullptr));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "has intermediate \"CN=dates.test\" that expired on 2020-02-01 (notAfter)");
}

TEST(CertificateValidity, ChainReportsTheServedCertificateFirst) {
  CertifiedKey served = withDates("20200101000000Z", "20200201000000Z");
  CertifiedKey early = withDates("20991231120000Z", "21000101000000Z");
  served.chain.reset(sk_X509_new_null());
  sk_X509_push(served.chain.get(), early.cert.release());
  const auto problems = chainValidityProblems(served, std::time(nullptr));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "expired on 2020-02-01 (notAfter)");
  EXPECT_EQ(problems[1], "has intermediate \"CN=dates.test\" that is not valid before 2099-12-31 (notBefore)");
}

TEST(CertificateValidity, InDateChainHasNoProblem) {
  CertifiedKey served = makeSelfSigned("leaf.test");
  EXPECT_TRUE(chainValidityProblems(served, std::time(nullptr)).empty());  // no chain at all
  served.chain.reset(sk_X509_new_null());
  sk_X509_push(served.chain.get(), makeSelfSigned("i.test").cert.release());
  EXPECT_TRUE(chainValidityProblems(served, std::time(nullptr)).empty());
}

}  // namespace
}  // namespace tlsresume::tls
