#include "tls/read_ahead.hpp"

#include <openssl/bio.h>

#include <algorithm>
#include <cstring>
#include <new>

// A small filter BIO of our own in front of the socket BIO (BIO_meth_new, as the write
// batch): OpenSSL's BIO_f_buffer, which would do this, is not in BoringSSL. A read that
// finds the buffer empty asks the socket for as much as the buffer holds and hands the
// library what it asked for; the rest waits for the library's next read. The buffer is
// only ever refilled once it is empty, so when the library sees "would block" the socket
// said so too: nothing waits here unseen by epoll.
namespace tlsresume::tls {
namespace {

// One full record (16 KiB of plaintext plus header and the largest expansion) and then
// some: a client's whole flight fits, and a bulk upload reads a record per read().
constexpr std::size_t kAheadBytes = 17 * 1024;

struct Ahead {
  std::size_t begin = 0;  // the next byte to hand out
  std::size_t end = 0;    // one past the last byte read
  unsigned char bytes[kAheadBytes];
  std::size_t waiting() const noexcept { return end - begin; }
};

Ahead* aheadOf(BIO* bio) noexcept { return static_cast<Ahead*>(BIO_get_data(bio)); }

int aheadRead(BIO* bio, char* out, int len) noexcept {
  Ahead* ahead = aheadOf(bio);
  BIO* next = BIO_next(bio);
  if (!ahead || !next || len < 0) return -1;
  BIO_clear_retry_flags(bio);
  if (len == 0) return 0;
  const auto want = static_cast<std::size_t>(len);
  if (ahead->waiting() == 0) {
    ahead->begin = ahead->end = 0;
    if (want >= kAheadBytes) {
      // As large as the buffer: straight into the caller's memory, no copy.
      const int n = BIO_read(next, out, len);
      if (n <= 0) BIO_copy_next_retry(bio);
      return n;
    }
    const int n = BIO_read(next, ahead->bytes, static_cast<int>(kAheadBytes));
    if (n <= 0) {
      BIO_copy_next_retry(bio);
      return n;
    }
    ahead->end = static_cast<std::size_t>(n);
  }
  const std::size_t given = std::min(want, ahead->waiting());
  std::memcpy(out, ahead->bytes + ahead->begin, given);
  ahead->begin += given;
  return static_cast<int>(given);
}

int aheadWrite(BIO* bio, const char* data, int len) noexcept {
  // A read buffer; writes pass through (the SSL writes to its own wbio).
  BIO* next = BIO_next(bio);
  if (!next) return -1;
  BIO_clear_retry_flags(bio);
  const int n = BIO_write(next, data, len);
  if (n <= 0) BIO_copy_next_retry(bio);
  return n;
}

long aheadCtrl(BIO* bio, int cmd, long num, void* ptr) noexcept {
  Ahead* ahead = aheadOf(bio);
  BIO* next = BIO_next(bio);
  if (!ahead || !next) return 0;
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(ahead->waiting()) + BIO_ctrl(next, cmd, num, ptr);
    case BIO_CTRL_EOF:
      return ahead->waiting() > 0 ? 0 : BIO_ctrl(next, cmd, num, ptr);
    case BIO_CTRL_RESET:
      ahead->begin = ahead->end = 0;
      return BIO_ctrl(next, cmd, num, ptr);
    default:
      // Everything else is about the socket beneath (close flag, descriptor, flush).
      return BIO_ctrl(next, cmd, num, ptr);
  }
}

int aheadCreate(BIO* bio) noexcept {
  auto* ahead = new (std::nothrow) Ahead;
  if (!ahead) return 0;
  BIO_set_data(bio, ahead);
  BIO_set_init(bio, 1);
  return 1;
}

int aheadDestroy(BIO* bio) noexcept {
  delete aheadOf(bio);
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

struct AheadMethod {
  int type = 0;
  BIO_METHOD* method = nullptr;
};

// Made once per process and kept for its life: every read-ahead BIO points at it.
const AheadMethod& aheadMethod() noexcept {
  static const AheadMethod made = [] {
    AheadMethod m;
    const int index = BIO_get_new_index();
    if (index <= 0) return m;
    m.type = index | BIO_TYPE_FILTER;
    m.method = BIO_meth_new(m.type, "tlsresume read ahead");
    if (m.method && (BIO_meth_set_read(m.method, aheadRead) != 1 || BIO_meth_set_write(m.method, aheadWrite) != 1 ||
                     BIO_meth_set_ctrl(m.method, aheadCtrl) != 1 || BIO_meth_set_create(m.method, aheadCreate) != 1 ||
                     BIO_meth_set_destroy(m.method, aheadDestroy) != 1)) {
      BIO_meth_free(m.method);
      m.method = nullptr;
    }
    return m;
  }();
  return made;
}

}  // namespace

bool readAhead(SSL* ssl) noexcept {
  BIO* socket = SSL_get_rbio(ssl);
  const AheadMethod& m = aheadMethod();
  if (!socket || !m.method) return false;
  if (BIO_method_type(socket) == m.type) return true;
  BIO* ahead = BIO_new(m.method);
  if (!ahead) return false;
  // The chain takes a reference of its own to the socket BIO; SSL_set0_rbio drops the
  // one the SSL held for reading (SSL_set_fd shares one BIO for reading and writing).
  BIO_up_ref(socket);
  BIO_push(ahead, socket);
  SSL_set0_rbio(ssl, ahead);
  return true;
}

std::size_t readAheadPending(const SSL* ssl) noexcept {
  BIO* rbio = SSL_get_rbio(ssl);
  const AheadMethod& m = aheadMethod();
  if (!rbio || !m.method || BIO_method_type(rbio) != m.type) return 0;
  const Ahead* ahead = aheadOf(rbio);
  return ahead ? ahead->waiting() : 0;
}

}  // namespace tlsresume::tls
