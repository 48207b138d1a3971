// tls::readAhead over a real socket pair: one read() takes the client's whole flight,
// the library's small reads are served from it in order, "would block" is said only
// once nothing waits, and a close_notify that arrived behind the data is read with it.
#include "tls/read_ahead.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "tls/certificate.hpp"
#include "tls/ossl_ptr.hpp"

namespace tlsresume::tls {
namespace {

class ReadAhead : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
    const CertifiedKey id = makeSelfSigned("localhost");
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_.get(), id.cert.get()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_.get(), id.key.get()), 1);
    server_.reset(SSL_new(server_ctx_.get()));
    client_.reset(SSL_new(client_ctx_.get()));
    SSL_set_fd(server_.get(), fds_[0]);
    SSL_set_fd(client_.get(), fds_[1]);
    ASSERT_TRUE(readAhead(server_.get()));
    SSL_set_accept_state(server_.get());
    SSL_set_connect_state(client_.get());
    for (int i = 0; i < 100; ++i) {
      const int s = SSL_do_handshake(server_.get());
      const int c = SSL_do_handshake(client_.get());
      if (s == 1 && c == 1) {
        // The client takes what the server sent after the handshake (TLS 1.3 tickets).
        char byte;
        EXPECT_LE(SSL_read(client_.get(), &byte, 1), 0);
        ERR_clear_error();
        return;
      }
    }
    FAIL() << "handshake over the socket pair did not finish";
  }
  void TearDown() override {
    server_.reset();
    client_.reset();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  int unreadAtServer() const {
    int unread = -1;
    EXPECT_EQ(ioctl(fds_[0], FIONREAD, &unread), 0);
    return unread;
  }

  void clientSends(const std::string& data) {
    ASSERT_EQ(SSL_write(client_.get(), data.data(), static_cast<int>(data.size())), static_cast<int>(data.size()));
  }

  int fds_[2] = {-1, -1};
  SslCtxPtr server_ctx_, client_ctx_;
  SslPtr server_, client_;
};

TEST_F(ReadAhead, OneReadTakesTheWholeFlightAndTheCloseNotifyBehindIt) {
  clientSends("GET / HTTP/1.1\r\n");
  clientSends("host: localhost\r\n");
  clientSends("\r\n");
  ASSERT_EQ(SSL_shutdown(client_.get()), 0);  // close_notify sent, the server's not yet read
  ASSERT_GT(unreadAtServer(), 0);

  std::string got;
  char buf[8];  // smaller than a record: the library asks for the rest from the buffer
  int n = 0;
  while ((n = SSL_read(server_.get(), buf, sizeof buf)) > 0) {
    got.append(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(unreadAtServer(), 0) << "the first read left bytes in the socket";
  }
  EXPECT_EQ(SSL_get_error(server_.get(), n), SSL_ERROR_ZERO_RETURN);
  EXPECT_EQ(got, "GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
  EXPECT_EQ(readAheadPending(server_.get()), 0u);
  ERR_clear_error();
}

TEST_F(ReadAhead, WouldBlockOnlyWhenNothingWaits) {
  char buf[64];
  int n = SSL_read(server_.get(), buf, sizeof buf);
  EXPECT_EQ(SSL_get_error(server_.get(), n), SSL_ERROR_WANT_READ);
  EXPECT_EQ(readAheadPending(server_.get()), 0u);
  ERR_clear_error();

  clientSends("ping");
  n = SSL_read(server_.get(), buf, sizeof buf);
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  n = SSL_read(server_.get(), buf, sizeof buf);
  EXPECT_EQ(SSL_get_error(server_.get(), n), SSL_ERROR_WANT_READ);
  ERR_clear_error();
}

TEST_F(ReadAhead, LargeUploadArrivesWholeAndInOrder) {
  std::string body;
  for (int i = 0; body.size() < 100000; ++i) body += std::to_string(i) + ',';
  std::size_t sent = 0;
  std::string got;
  char buf[4096];
  // Both ends take turns: the socket pair holds less than the body.
  for (int round = 0; round < 10000 && got.size() < body.size(); ++round) {
    if (sent < body.size()) {
      const int w = SSL_write(client_.get(), body.data() + sent, static_cast<int>(std::min<std::size_t>(body.size() - sent, 16384)));
      if (w > 0) sent += static_cast<std::size_t>(w);
      ERR_clear_error();
    }
    for (int n; (n = SSL_read(server_.get(), buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ERR_clear_error();
  }
  EXPECT_EQ(got, body);
}

TEST_F(ReadAhead, InstallingTwiceKeepsOneBufferAndTheSocketCountsTheBytes) {
  BIO* first = SSL_get_rbio(server_.get());
  ASSERT_TRUE(readAhead(server_.get()));
  EXPECT_EQ(SSL_get_rbio(server_.get()), first);
  // The socket BIO beneath still counts what crossed the wire (the access log reads it).
  BIO* sock = BIO_find_type(SSL_get_rbio(server_.get()), BIO_TYPE_SOCKET);
  ASSERT_NE(sock, nullptr);
  const auto before = BIO_number_read(sock);
  clientSends("x");
  char c;
  ASSERT_EQ(SSL_read(server_.get(), &c, 1), 1);
  EXPECT_GT(BIO_number_read(sock), before);
}

}  // namespace
}  // namespace tlsresume::tls
