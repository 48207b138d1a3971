#pragma once
// TlsHolder: the TLS side of serving that a reload replaces whole: the frontend (one
// SSL_CTX per virtual host, certificates, the resumption hooks, tickets included).
// Everything a session resumes from lives outside it (the session store,
// the keyring, the revocation list, the metrics), so a session or ticket issued under one
// TlsSetup resumes under the next.
//
// Readers (each accepted connection, the admin endpoint) take the current setup with one
// load and keep it as long as they need it: a connection keeps the setup it began with to
// its end, so its contexts and callbacks never change under it; the old setup goes when
// its last connection does.
#include <memory>

#include "tls/tls_frontend.hpp"
#include "tlsresume/shared_cell.hpp"

namespace tlsresume::server {

struct TlsSetup {
  std::unique_ptr<tls::TlsFrontend> frontend;
};

class TlsHolder {
 public:
  std::shared_ptr<TlsSetup> current() const noexcept { return cell_.load(); }
  void replace(std::shared_ptr<TlsSetup> next) noexcept { cell_.store(std::move(next)); }

 private:
  detail::SharedCell<TlsSetup> cell_;
};

}  // namespace tlsresume::server
