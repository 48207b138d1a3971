#include "server/http_response.hpp"

#include <gtest/gtest.h>

namespace tlsresume::server {
namespace {

TEST(HttpResponse, ReadsStatusLineAndBody) {
  const auto r = parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "hello");
}

TEST(HttpResponse, AcceptsNoReasonPhraseAndHttp10) {
  const auto r = parseHttpResponse("HTTP/1.0 404\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "");
}

TEST(HttpResponse, RefusesWhatIsNotAResponse) {
  for (const char* bad : {"", "HTTP/1.1 200 OK\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
                          "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
                          "HTTP/1.1 2x0 OK\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1"})
    EXPECT_FALSE(parseHttpResponse(bad)) << bad;
}

TEST(HttpResponse, ReadsContentLengthWhateverItsCase) {
  EXPECT_EQ(parseHttpResponse("HTTP/1.1 200 OK\r\ncontent-LENGTH:  12\r\n\r\nx")->content_length, 12u);
  EXPECT_EQ(parseHttpResponse("HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 0\r\n\r\n")->content_length, 0u);
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nX-Content-Length: 5\r\n\r\n")->content_length);
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n")->content_length);
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n")
                   ->content_length);
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\n\r\nContent-Length: 5\r\n")->content_length);  // in the body
}

TEST(HttpResponse, BodyFieldFindsTheResponderLines) {
  const std::string body = "version: TLSv1.3\nresumed: session-id\r\nsession: ab\n";
  EXPECT_EQ(bodyField(body, "resumed"), "session-id");
  EXPECT_EQ(bodyField(body, "version"), "TLSv1.3");
  EXPECT_EQ(bodyField(body, "session"), "ab");
  EXPECT_FALSE(bodyField(body, "sni"));
  EXPECT_FALSE(bodyField("resumed:no-space\n", "resumed"));
  EXPECT_FALSE(bodyField("xresumed: no\n", "resumed"));
  EXPECT_EQ(bodyField("resumed: ", "resumed"), "");
}

}  // namespace
}  // namespace tlsresume::server
