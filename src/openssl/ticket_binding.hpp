#pragma once
// TicketBinding: seals and opens stateless session tickets (TLS 1.2 RFC 5077 tickets and
// TLS 1.3 PSK tickets) with the Keyring's per-host keys, and checks the app data of every
// ticket (age, resumption-chain age, host, revocation) before OpenSSL may use it.
//
// Installed on the listener SSL_CTX (OpenSSL's session_ctx), so the virtual host comes
// from the connection's ex_data, set in the client-hello callback.
#include <cstdint>
#include <vector>

#include "openssl/tls_frontend.hpp"
#include "tlsresume/keyring.hpp"

namespace tlsresume::ossl {

class TicketBinding {
 public:
  TicketBinding(TlsFrontend& frontend, Keyring& keyring);
  ~TicketBinding();
  TicketBinding(const TicketBinding&) = delete;
  TicketBinding& operator=(const TicketBinding&) = delete;

  TlsFrontend& frontend() noexcept { return frontend_; }
  Keyring& keyring() noexcept { return keyring_; }
  EVP_CIPHER* cipher() const noexcept { return cipher_; }

 private:
  TlsFrontend& frontend_;
  Keyring& keyring_;
  EVP_CIPHER* cipher_ = nullptr;  // fetched once: OpenSSL 3 re-fetches legacy objects
};

}  // namespace tlsresume::ossl
