#include "tls/write_batch.hpp"

#include <openssl/bio.h>

#include <cstring>
#include <new>

// The batch is a small filter BIO of our own in front of the socket BIO, made with
// BIO_meth_new, which both TLS libraries have (OpenSSL's BIO_f_buffer, which this once
// was, is not in BoringSSL). It holds what the SSL writes until a flush or until the next
// write would not fit; BIO_flush, BIO_wpending and BIO_should_retry mean what they mean
// for any BIO, so the TLS library and flushWrites() drive it like BIO_f_buffer.
namespace tlsresume::tls {
namespace {

// Room for one full record (16 KiB plus header and tag) and the alert: the usual last
// flight fits whole; anything larger is written through as before.
constexpr std::size_t kBatchBytes = 17 * 1024;

struct Batch {
  std::size_t begin = 0;  // bytes before `begin` have left already
  std::size_t end = 0;
  unsigned char bytes[kBatchBytes];
  std::size_t waiting() const noexcept { return end - begin; }
};

Batch* batchOf(BIO* bio) noexcept { return static_cast<Batch*>(BIO_get_data(bio)); }

// Sends what waits to the next BIO. 1 when nothing waits any more; otherwise the next
// BIO's answer (<= 0), its retry flags copied so that BIO_should_retry tells.
int drain(BIO* bio, Batch& batch) noexcept {
  BIO* next = BIO_next(bio);
  while (batch.waiting() > 0) {
    const int n = BIO_write(next, batch.bytes + batch.begin, static_cast<int>(batch.waiting()));
    if (n <= 0) {
      BIO_copy_next_retry(bio);
      return n;
    }
    batch.begin += static_cast<std::size_t>(n);
  }
  batch.begin = batch.end = 0;
  return 1;
}

int batchWrite(BIO* bio, const char* data, int len) noexcept {
  Batch* batch = batchOf(bio);
  BIO* next = BIO_next(bio);
  if (!batch || !next || len < 0) return -1;
  BIO_clear_retry_flags(bio);
  const auto size = static_cast<std::size_t>(len);
  if (size > kBatchBytes - batch->end) {
    // It does not fit behind what waits: what waits leaves first, keeping the order.
    if (const int r = drain(bio, *batch); r <= 0) return r;
    if (size >= kBatchBytes) {
      const int n = BIO_write(next, data, len);
      if (n <= 0) BIO_copy_next_retry(bio);
      return n;
    }
  }
  std::memcpy(batch->bytes + batch->end, data, size);
  batch->end += size;
  return len;
}

int batchRead(BIO* bio, char* out, int len) noexcept {
  // The batch is a write buffer; a read passes through (the SSL reads its own rbio).
  BIO* next = BIO_next(bio);
  if (!next) return -1;
  BIO_clear_retry_flags(bio);
  const int n = BIO_read(next, out, len);
  if (n <= 0) BIO_copy_next_retry(bio);
  return n;
}

long batchCtrl(BIO* bio, int cmd, long num, void* ptr) noexcept {
  Batch* batch = batchOf(bio);
  BIO* next = BIO_next(bio);
  if (!batch || !next) return 0;
  switch (cmd) {
    case BIO_CTRL_FLUSH: {
      BIO_clear_retry_flags(bio);
      if (const int r = drain(bio, *batch); r <= 0) return r;
      const long flushed = BIO_ctrl(next, cmd, num, ptr);
      if (flushed <= 0) BIO_copy_next_retry(bio);
      return flushed;
    }
    case BIO_CTRL_WPENDING:
      return static_cast<long>(batch->waiting()) + BIO_ctrl(next, cmd, num, ptr);
    case BIO_CTRL_RESET:
      batch->begin = batch->end = 0;
      return BIO_ctrl(next, cmd, num, ptr);
    default:
      // Everything else is about the socket beneath (close flag, descriptor, pending).
      return BIO_ctrl(next, cmd, num, ptr);
  }
}

int batchCreate(BIO* bio) noexcept {
  auto* batch = new (std::nothrow) Batch;
  if (!batch) return 0;
  BIO_set_data(bio, batch);
  BIO_set_init(bio, 1);
  return 1;
}

int batchDestroy(BIO* bio) noexcept {
  delete batchOf(bio);
  BIO_set_data(bio, nullptr);
  BIO_set_init(bio, 0);
  return 1;
}

struct BatchMethod {
  int type = 0;
  BIO_METHOD* method = nullptr;
};

// Made once per process and kept for its life: every batching BIO points at it.
const BatchMethod& batchMethod() noexcept {
  static const BatchMethod made = [] {
    BatchMethod m;
    const int index = BIO_get_new_index();
    if (index <= 0) return m;
    m.type = index | BIO_TYPE_FILTER;
    m.method = BIO_meth_new(m.type, "tlsresume write batch");
    if (m.method && (BIO_meth_set_write(m.method, batchWrite) != 1 || BIO_meth_set_read(m.method, batchRead) != 1 ||
                     BIO_meth_set_ctrl(m.method, batchCtrl) != 1 || BIO_meth_set_create(m.method, batchCreate) != 1 ||
                     BIO_meth_set_destroy(m.method, batchDestroy) != 1)) {
      BIO_meth_free(m.method);
      m.method = nullptr;
    }
    return m;
  }();
  return made;
}

}  // namespace

bool batchWrites(SSL* ssl) noexcept {
  BIO* socket = SSL_get_wbio(ssl);
  const BatchMethod& m = batchMethod();
  if (!socket || !m.method) return false;
  if (BIO_method_type(socket) == m.type) return true;
  BIO* batch = BIO_new(m.method);
  if (!batch) return false;
  // The chain takes a reference of its own to the socket BIO; SSL_set0_wbio drops the
  // one the SSL held for writing (SSL_set_fd shares one BIO for reading and writing).
  BIO_up_ref(socket);
  BIO_push(batch, socket);
  SSL_set0_wbio(ssl, batch);
  return true;
}

FlushResult flushWrites(SSL* ssl) noexcept {
  BIO* wbio = SSL_get_wbio(ssl);
  if (!wbio || BIO_wpending(wbio) == 0) return FlushResult::done;
  if (BIO_flush(wbio) > 0 && BIO_wpending(wbio) == 0) return FlushResult::done;
  return BIO_should_retry(wbio) ? FlushResult::again : FlushResult::failed;
}

}  // namespace tlsresume::tls
