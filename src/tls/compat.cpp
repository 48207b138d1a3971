#include "tls/compat.hpp"

#include <openssl/err.h>

namespace tlsresume::tls {

bool isUnexpectedEof(unsigned long error_code) noexcept {
#if defined(OPENSSL_IS_BORINGSSL)
  // BoringSSL queues no error for it: SSL_get_error says SSL_ERROR_SYSCALL with errno 0,
  // which callers read as a closed connection already.
  (void)error_code;
  return false;
#else
  // OpenSSL 3 queues SSL_R_UNEXPECTED_EOF_WHILE_READING (SSL_get_error: SSL_ERROR_SSL).
  return ERR_GET_LIB(error_code) == ERR_LIB_SSL && ERR_GET_REASON(error_code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#endif
}

}  // namespace tlsresume::tls
