#include "tls/certificate.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

namespace tlsresume::tls {

void ChainDeleter::operator()(STACK_OF(X509) * chain) const noexcept { sk_X509_pop_free(chain, X509_free); }

namespace {

void addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  // The nconf form: both libraries export it (BoringSSL's libcrypto may not export the
  // older X509V3_EXT_conf_nid).
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw CertificateError("cannot build certificate extension: " + lastError());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Reads the whole file first so that "missing" and "unreadable" get their own message
// instead of OpenSSL's generic PEM error.
std::string readFile(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw CertificateError(std::string(what) + " " + path + ": " + std::strerror(errno));
  std::string data;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0) throw CertificateError(std::string(what) + " " + path + ": " + std::strerror(err));
  return data;
}

// "2020-02-01" (UTC); the time of day matters little to the operator reading a warning.
// Measured from the epoch with ASN1_TIME_diff, which both TLS libraries have
// (ASN1_TIME_to_tm is OpenSSL's only).
std::string isoDate(const ASN1_TIME* t) {
  using AsnTimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
  const AsnTimePtr epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), t) != 1) {
    ERR_clear_error();
    return "an unreadable date";
  }
  const std::time_t when = static_cast<std::time_t>(days) * 86400 + seconds;
  std::tm tm{};
  if (!gmtime_r(&when, &tm)) return "an unreadable date";
  char out[16];
  std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
  return out;
}

// A fresh key through EVP_PKEY_keygen, which both TLS libraries have (OpenSSL 3's
// EVP_PKEY_Q_keygen does not exist in BoringSSL). Null on failure.
EVP_PKEY* generateKey(KeyType type) {
  using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
  const bool ec = type == KeyType::ecdsa_p256;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(ec ? EVP_PKEY_EC : EVP_PKEY_RSA, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
  if (ec ? EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) != 1
         : EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1)
    return nullptr;
  EVP_PKEY* key = nullptr;
  return EVP_PKEY_keygen(ctx.get(), &key) == 1 ? key : nullptr;
}

}  // namespace

std::optional<std::string> validityProblem(const X509* cert, std::time_t now) {
  // X509_cmp_time: -1 if the certificate's time is before `now`, 1 if after, 0 if unreadable.
  // Built by appends: GCC 12's -Wrestrict misfires on "..." + std::string&&.
  std::string problem;
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  if (X509_cmp_time(not_after, &now) < 0) {
    problem = "expired on ";
    problem += isoDate(not_after);
    problem += " (notAfter)";
  } else if (X509_cmp_time(not_before, &now) > 0) {
    problem = "is not valid before ";
    problem += isoDate(not_before);
    problem += " (notBefore)";
  }
  ERR_clear_error();
  if (problem.empty()) return std::nullopt;
  return problem;
}

namespace {
// "CN=R3,O=Let's Encrypt,C=US": enough to tell which file member is meant.
std::string subjectText(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "(unreadable subject)";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string("(empty subject)");
}
}  // namespace

std::vector<std::string> chainValidityProblems(const CertifiedKey& served, std::time_t now) {
  std::vector<std::string> problems;
  if (served.cert)
    if (auto p = validityProblem(served.cert.get(), now)) problems.push_back(std::move(*p));
  const int n = served.chain ? sk_X509_num(served.chain.get()) : 0;
  for (int i = 0; i < n; ++i) {
    const X509* member = sk_X509_value(served.chain.get(), i);
    if (auto p = validityProblem(member, now)) {
      std::string line = "has intermediate \"";
      line += subjectText(member);
      line += "\" that ";
      line += *p;
      problems.push_back(std::move(line));
    }
  }
  return problems;
}

CertifiedKey makeSelfSigned(const std::string& common_name, KeyType type) {
  CertifiedKey out;
  out.key.reset(generateKey(type));
  if (!out.key) throw CertificateError("cannot generate key: " + lastError());
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  const std::string san = "DNS:" + common_name + ",IP:127.0.0.1,IP:::1";
  addExtension(x, NID_subject_alt_name, san.c_str());
  addExtension(x, NID_basic_constraints, "critical,CA:FALSE");
  if (!X509_sign(x, out.key.get(), EVP_sha256())) throw CertificateError("cannot sign certificate: " + lastError());
  return out;
}

namespace {
// Without a callback OpenSSL asks for a passphrase on the terminal: a server started from
// a shell would hang at "Enter PEM pass phrase:". No passphrase is given; the key is
// refused with a message instead. `asked` tells the caller why it was refused. -1, not 0:
// 0 would be a passphrase of length zero, which OpenSSL tries.
int refusePassphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}
}  // namespace

CertifiedKey loadCertifiedKey(const std::string& cert_file, const std::string& key_file) {
  CertifiedKey out;
  const std::string cert_pem = readFile(cert_file, "certificate");
  const std::string key_pem = readFile(key_file, "key");

  BioPtr cbio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  out.cert.reset(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  if (!out.cert) {
    ERR_clear_error();
    throw CertificateError("certificate " + cert_file + ": no PEM certificate found");
  }
  out.chain.reset(sk_X509_new_null());
  while (X509* extra = PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr)) sk_X509_push(out.chain.get(), extra);
  ERR_clear_error();  // the loop above ends on a "no start line" error by design

  BioPtr kbio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  bool asked = false;
  out.key.reset(PEM_read_bio_PrivateKey(kbio.get(), nullptr, &refusePassphrase, &asked));
  if (!out.key) {
    ERR_clear_error();
    if (asked)
      throw CertificateError("key " + key_file +
                             " is encrypted; tlsresume reads unencrypted keys only (kept 0600; decrypt it with: "
                             "openssl pkey -in " +
                             key_file + " -out NEW.key)");
    throw CertificateError("key " + key_file + ": no PEM private key found");
  }
  if (X509_check_private_key(out.cert.get(), out.key.get()) != 1) {
    ERR_clear_error();
    throw CertificateError("key " + key_file + " does not match certificate " + cert_file);
  }
  return out;
}

std::string certificatePem(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert));
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace tlsresume::tls
