#include "server/http_request.hpp"

#include <gtest/gtest.h>

#include "server/builtin_responder.hpp"

using namespace tlsresume::server;

TEST(HttpRequest, ACompleteGetIsParsed) {
  const auto r = parseHttpRequest("GET /a?id=00ff&host=a%20b HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\nrest");
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path(), "/a");
  EXPECT_EQ(r.request.query("id"), "00ff");
  EXPECT_EQ(r.request.query("host"), "a b");
  EXPECT_FALSE(r.request.query("missing"));
  EXPECT_EQ(r.request.header("x-y"), "z");
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_EQ(r.request.head_size,
            std::string("GET /a?id=00ff&host=a%20b HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\n").size());
}

TEST(HttpRequest, AnIncompleteHeadAsksForMore) {
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nHost: x\r\n").status, ParseStatus::incomplete);
}

TEST(HttpRequest, AnEndlessHeadIsTooLarge) {
  EXPECT_EQ(parseHttpRequest(std::string(kMaxRequestHead, 'a')).status, ParseStatus::too_large);
}

TEST(HttpRequest, MalformedRequestsAreInvalid) {
  for (const char* bad :
       {"GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET x HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"})
    EXPECT_EQ(parseHttpRequest(bad).status, ParseStatus::invalid) << bad;
}

// RFC 9112 §2.2: a recipient may take a lone LF for a line's end; nginx and HAProxy do,
// and a client that sends one must get an answer, not wait for the idle timeout.
TEST(HttpRequest, ALoneLfEndsALine) {
  const auto r = parseHttpRequest("GET /a?id=1 HTTP/1.0\nHost: x\nX-Y: z \n\nrest");
  ASSERT_EQ(r.status, ParseStatus::complete) << r.error;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path(), "/a");
  EXPECT_EQ(r.request.minor_version, 0);
  EXPECT_EQ(r.request.header("host"), "x");
  EXPECT_EQ(r.request.header("x-y"), "z");
  EXPECT_EQ(r.request.head_size, std::string("GET /a?id=1 HTTP/1.0\nHost: x\nX-Y: z \n\n").size());

  const auto bare = parseHttpRequest("GET / HTTP/1.0\n\n");
  ASSERT_EQ(bare.status, ParseStatus::complete) << bare.error;
  EXPECT_EQ(bare.request.head_size, 16u);
  EXPECT_FALSE(bare.request.keep_alive);

  // CRLF and LF mixed, in either order, end the head at the first empty line.
  for (const char* mixed : {"GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\nHost: x\r\n\n"}) {
    const auto m = parseHttpRequest(mixed);
    ASSERT_EQ(m.status, ParseStatus::complete) << mixed;
    EXPECT_EQ(m.request.header("host"), "x");
    EXPECT_EQ(m.request.head_size, std::string(mixed).size());
  }
  EXPECT_EQ(parseHttpRequest("POST / HTTP/1.1\nContent-Length: 3\n\nabc").request.content_length, 3u);
}

TEST(HttpRequest, ABareLfHeadIsIncompleteUntilItsEmptyLine) {
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\n").status, ParseStatus::incomplete);
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\nHost: x\n").status, ParseStatus::incomplete);
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\nHost: x\r").status, ParseStatus::incomplete);
  EXPECT_EQ(requestHeadSize("GET / HTTP/1.1\nHost: x\n"), 0u);
  EXPECT_EQ(requestHeadSize("GET / HTTP/1.1\nHost: x\n\nbody"), 24u);
  EXPECT_EQ(requestHeadSize("GET / HTTP/1.1\r\n\r\n"), 18u);
}

TEST(HttpRequest, ACrThatEndsNoLineIsRefused) {
  // RFC 9112 §2.2: a bare CR outside a line's end is invalid (or replaced); we refuse it.
  for (const char* bad : {"GET / HTTP/1.1\r\r\n\r\n", "GET / HTTP/1.1\nHost: a\rb\n\n", "GET /\r HTTP/1.1\n\n",
                          "GET / HTTP/1.1\n\r\r\n\n"})
    EXPECT_EQ(parseHttpRequest(bad).status, ParseStatus::invalid) << bad;
  // An empty first line is not a request line.
  EXPECT_EQ(parseHttpRequest("\nGET / HTTP/1.1\n\n").status, ParseStatus::invalid);
}

TEST(HttpRequest, ABareLfHeadPastTheLimitIsTooLarge) {
  std::string head = "GET / HTTP/1.1\n";
  while (head.size() < kMaxRequestHead) head += "X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  EXPECT_EQ(parseHttpRequest(head + "\n").status, ParseStatus::too_large);
}

TEST(HttpRequest, ConnectionCloseAndHttp10EndKeepAlive) {
  EXPECT_FALSE(parseHttpRequest("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parseHttpRequest("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parseHttpRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
}

TEST(HttpRequest, ConnectionIsAListAndCloseAnywhereWins) {
  EXPECT_FALSE(parseHttpRequest("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parseHttpRequest("GET / HTTP/1.1\r\nConnection: Upgrade,CLOSE\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(
      parseHttpRequest("GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parseHttpRequest("GET / HTTP/1.0\r\nConnection: te, keep-alive\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parseHttpRequest("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n").request.keep_alive);
}

TEST(BuiltinResponder, AnswersPipelinedRequestsAndStatesHowTheSessionResumed) {
  BuiltinResponder responder;
  std::string in = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  std::string out;
  const auto verdict = responder.consume(in, out, {"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", "default", "ticket", "ab"});
  EXPECT_EQ(verdict, BuiltinResponder::Verdict::close_after_flush);
  EXPECT_TRUE(in.empty());
  EXPECT_NE(out.find("resumed: ticket\n"), std::string::npos);
  EXPECT_NE(out.find("sni: (none)\n"), std::string::npos);
  EXPECT_EQ(out.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(out.find("HTTP/1.1 200", 10), std::string::npos);
}

TEST(BuiltinResponder, AnswersARequestWhoseLinesEndInLf) {
  BuiltinResponder responder;
  std::string in = "GET / HTTP/1.0\n\n";
  std::string out;
  EXPECT_EQ(responder.consume(in, out, {"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", "default", "no", ""}),
            BuiltinResponder::Verdict::close_after_flush);
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(out.find("HTTP/1.1 200 OK\r\n"), 0u);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  // Pipelined, keep-alive, with LF only: both answered, in order.
  std::string two = "GET / HTTP/1.1\nHost: a\n\nHEAD / HTTP/1.1\nConnection: close\n\n";
  std::string out2;
  EXPECT_EQ(responder.consume(two, out2, {}), BuiltinResponder::Verdict::close_after_flush);
  EXPECT_TRUE(two.empty());
  EXPECT_NE(out2.find("HTTP/1.1 200", 10), std::string::npos);
}

TEST(BuiltinResponder, WaitsForTheBodyAndRefusesGarbage) {
  BuiltinResponder responder;
  std::string in = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
  std::string out;
  EXPECT_EQ(responder.consume(in, out, {}), BuiltinResponder::Verdict::need_more);
  EXPECT_TRUE(out.empty());
  in += "cd";
  EXPECT_EQ(responder.consume(in, out, {}), BuiltinResponder::Verdict::need_more);
  EXPECT_NE(out.find("200 OK"), std::string::npos);
  std::string garbage = "\x16\x03\x01 nonsense\r\n\r\n";
  std::string out2;
  EXPECT_EQ(responder.consume(garbage, out2, {}), BuiltinResponder::Verdict::close_after_flush);
  EXPECT_NE(out2.find("400 Bad Request"), std::string::npos);
}
