#include "tls/ossl_ptr.hpp"

#include <openssl/err.h>

namespace tlsresume::tls {

std::string lastError() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown TLS error";  // either library: nothing was queued
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "OpenSSL error " + std::to_string(last);
}

}  // namespace tlsresume::tls
