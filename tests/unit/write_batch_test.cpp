// tls::batchWrites / flushWrites over a real socket pair: the batch holds the last
// records until the close_notify, a full socket answers `again` without losing a byte,
// and the peer reads everything followed by a clean close_notify.
#include "tls/write_batch.hpp"

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

class WriteBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as `serve` does: a vanished peer is an error, not a signal
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
    SSL_set_accept_state(server_.get());
    SSL_set_connect_state(client_.get());
    for (int i = 0; i < 100; ++i) {
      const int s = SSL_do_handshake(server_.get());
      const int c = SSL_do_handshake(client_.get());
      if (s == 1 && c == 1) return;
    }
    FAIL() << "handshake over the socket pair did not finish";
  }
  void TearDown() override {
    server_.reset();
    client_.reset();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  // Everything the client can read now; `closed` becomes true on the close_notify.
  std::string drainClient(bool& closed) {
    std::string got;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(client_.get(), buf, sizeof buf);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      closed = SSL_get_error(client_.get(), n) == SSL_ERROR_ZERO_RETURN;
      ERR_clear_error();
      return got;
    }
  }

  int fds_[2] = {-1, -1};
  SslCtxPtr server_ctx_, client_ctx_;
  SslPtr server_, client_;
};

TEST_F(WriteBatch, LastRecordWaitsForTheCloseNotifyAndLeavesWithIt) {
  int before = -1;  // the TLS 1.3 tickets the client has not read yet
  ASSERT_EQ(ioctl(fds_[1], FIONREAD, &before), 0);
  ASSERT_TRUE(batchWrites(server_.get()));
  const std::string response = "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n";
  ASSERT_EQ(SSL_write(server_.get(), response.data(), static_cast<int>(response.size())),
            static_cast<int>(response.size()));
  int queued = -1;
  ASSERT_EQ(ioctl(fds_[1], FIONREAD, &queued), 0);
  EXPECT_EQ(queued, before) << "the record left before the close_notify";
  EXPECT_GT(BIO_wpending(SSL_get_wbio(server_.get())), 0);

  SSL_shutdown(server_.get());
  EXPECT_EQ(flushWrites(server_.get()), FlushResult::done);
  bool closed = false;
  EXPECT_EQ(drainClient(closed), response);
  EXPECT_TRUE(closed);
}

TEST_F(WriteBatch, FullSocketSaysAgainAndLosesNothing) {
  // A small send buffer and a client that does not read: the batch cannot leave at once.
  const int small = 4096;
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ASSERT_TRUE(batchWrites(server_.get()));
  const std::string body(16000, 'x');  // one record, held whole by the batch
  ASSERT_EQ(SSL_write(server_.get(), body.data(), static_cast<int>(body.size())), static_cast<int>(body.size()));
  SSL_shutdown(server_.get());
  ERR_clear_error();
  ASSERT_EQ(flushWrites(server_.get()), FlushResult::again);

  std::string got;
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    got += drainClient(closed);
    const FlushResult r = flushWrites(server_.get());
    ASSERT_NE(r, FlushResult::failed);
  }
  EXPECT_EQ(flushWrites(server_.get()), FlushResult::done);
  EXPECT_EQ(got, body);
  EXPECT_TRUE(closed) << "no close_notify after the data";
}

TEST_F(WriteBatch, PeerGoneIsAFailureNotAHang) {
  const int small = 4096;
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ASSERT_TRUE(batchWrites(server_.get()));
  const std::string body(16000, 'y');
  ASSERT_EQ(SSL_write(server_.get(), body.data(), static_cast<int>(body.size())), static_cast<int>(body.size()));
  client_.reset();
  ::close(fds_[1]);
  fds_[1] = -1;
  SSL_shutdown(server_.get());
  ERR_clear_error();
  EXPECT_EQ(flushWrites(server_.get()), FlushResult::failed);
  ERR_clear_error();
}

TEST_F(WriteBatch, BatchingTwiceKeepsOneBuffer) {
  ASSERT_TRUE(batchWrites(server_.get()));
  BIO* first = SSL_get_wbio(server_.get());
  ASSERT_TRUE(batchWrites(server_.get()));
  EXPECT_EQ(SSL_get_wbio(server_.get()), first);
  EXPECT_EQ(flushWrites(server_.get()), FlushResult::done);  // nothing waits
}

}  // namespace
}  // namespace tlsresume::tls
