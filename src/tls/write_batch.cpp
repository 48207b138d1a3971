#include "tls/write_batch.hpp"

#include <openssl/bio.h>

namespace tlsresume::tls {

bool batchWrites(SSL* ssl) noexcept {
  BIO* socket = SSL_get_wbio(ssl);
  if (!socket || BIO_method_type(socket) == BIO_TYPE_BUFFER) return socket != nullptr;
  BIO* buffer = BIO_new(BIO_f_buffer());
  if (!buffer) return false;
  // Room for one full record (16 KiB plus header and tag) and the alert: the usual last
  // flight fits whole; anything larger is written through as before.
  constexpr long kBatchBytes = 17 * 1024;
  if (BIO_set_write_buffer_size(buffer, kBatchBytes) != 1) {
    BIO_free(buffer);
    return false;
  }
  // The chain takes a reference of its own to the socket BIO; SSL_set0_wbio drops the
  // one the SSL held for writing (SSL_set_fd shares one BIO for reading and writing).
  BIO_up_ref(socket);
  BIO_push(buffer, socket);
  SSL_set0_wbio(ssl, buffer);
  return true;
}

FlushResult flushWrites(SSL* ssl) noexcept {
  BIO* wbio = SSL_get_wbio(ssl);
  if (!wbio || BIO_wpending(wbio) == 0) return FlushResult::done;
  if (BIO_flush(wbio) > 0 && BIO_wpending(wbio) == 0) return FlushResult::done;
  return BIO_should_retry(wbio) ? FlushResult::again : FlushResult::failed;
}

}  // namespace tlsresume::tls
