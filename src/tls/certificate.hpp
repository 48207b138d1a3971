#pragma once
// Certificates for a virtual host: loaded from PEM files, or made in memory at start
// (the embedded default: ECDSA P-256, self-signed for localhost; nothing is written).
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls/ossl_ptr.hpp"

namespace tlsresume::tls {

struct ChainDeleter {
  void operator()(STACK_OF(X509) * chain) const noexcept;
};

struct CertifiedKey {
  X509Ptr cert;
  std::unique_ptr<STACK_OF(X509), ChainDeleter> chain;  // intermediates
  PkeyPtr key;
};

// Thrown with a message that names the file and the reason.
struct CertificateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class KeyType { ecdsa_p256, rsa2048 };

CertifiedKey makeSelfSigned(const std::string& common_name, KeyType type = KeyType::ecdsa_p256);
CertifiedKey loadCertifiedKey(const std::string& cert_file, const std::string& key_file);

// Why clients will refuse `cert` on its dates at `now`: "expired on 2020-02-01 (notAfter)"
// or "is not valid before 2030-01-01 (notBefore)"; nothing while it is in date. For a
// warning only: a server may keep serving such a certificate while it is being replaced.
std::optional<std::string> validityProblem(const X509* cert, std::time_t now);

// The same for a served certificate and every intermediate sent with it: one line each,
// e.g. "expired on ..." for the certificate itself or "has intermediate \"CN=R3,O=..\"
// that expired on ..." for a chain member. Clients refuse a chain with any of them out
// of date, and an intermediate that lapsed before its leaf is a classic outage.
std::vector<std::string> chainValidityProblems(const CertifiedKey& served, std::time_t now);

// PEM text of a certificate (for the bench tool and tests to trust it); never the key.
std::string certificatePem(const X509* cert);

}  // namespace tlsresume::tls
