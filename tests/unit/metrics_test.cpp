// Metrics text format: every line a scraper reads must parse, whatever the configured host
// names contain. The config refuses odd names; the writer must not depend on that.
#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

namespace tlsresume::server {
namespace {

// One sample line of the Prometheus text format (exposition format 0.0.4): a metric name,
// optional name="value" pairs whose values escape only \\, \" and \n, a space, a number.
const std::regex kSampleLine(
    R"re(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")re"
    R"re((,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? [-+0-9.eEInf]+$)re");

void expectEveryLineParses(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, kSampleLine)) << "not a valid sample line: " << line;
  }
}

TEST(MetricsLabels, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(escapeLabelValue("plain.host-1_a"), "plain.host-1_a");
  EXPECT_EQ(escapeLabelValue("q\"x"), "q\\\"x");
  EXPECT_EQ(escapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(escapeLabelValue("new\nline"), "new\\nline");
  EXPECT_EQ(escapeLabelValue("\\\"\n"), "\\\\\\\"\\n");
  EXPECT_EQ(labelPair("vhost", "q\"x"), "vhost=\"q\\\"x\"");
}

TEST(MetricsLabels, HostileHostNamesCannotBreakTheScrape) {
  Metrics m({"default", "q\"x", "back\\slash", "new\nline", "} 1\nfake_metric 2"});
  m.onHandshake(1, TlsVersion::tls13, HandshakeKind::full, std::chrono::milliseconds(1));
  m.onHandshake(3, TlsVersion::tls12, HandshakeKind::ticket, std::chrono::milliseconds(1));
  const std::string text = m.render({});
  expectEveryLineParses(text);
  EXPECT_NE(text.find("vhost=\"q\\\"x\""), std::string::npos);
  EXPECT_NE(text.find("vhost=\"back\\\\slash\""), std::string::npos);
  EXPECT_NE(text.find("vhost=\"new\\nline\""), std::string::npos);
  EXPECT_EQ(text.find("\nfake_metric"), std::string::npos) << text;
}

TEST(MetricsLabels, DefaultOutputParses) { expectEveryLineParses(Metrics({"default", "a.test"}).render({})); }

}  // namespace
}  // namespace tlsresume::server
