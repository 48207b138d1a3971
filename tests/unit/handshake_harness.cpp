#include "handshake_harness.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <iterator>

namespace tlsresume::testing {
namespace {
thread_local int t_client_sessions = 0;
thread_local std::vector<tls::SessionPtr>* t_received = nullptr;
int countClientSession(SSL*, SSL_SESSION* session) {
  ++t_client_sessions;
  if (t_received && SSL_SESSION_up_ref(session) == 1) t_received->emplace_back(session);
  return 0;  // OpenSSL's reference is not kept (ours is a reference of our own)
}

thread_local const std::string* t_external_identity = nullptr;

// What the client can be asked for differs by library: the few calls that exist on one
// only are here, each with a stated answer on the other (clientCannot).
#if !defined(OPENSSL_IS_BORINGSSL)
int offerExternalPsk(SSL* ssl, const EVP_MD*, const unsigned char** id, size_t* idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  if (!t_external_identity) return 1;  // nothing to offer
  static const unsigned char kAes128GcmSha256[] = {0x13, 0x01};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kAes128GcmSha256);
  const unsigned char key[32] = {1, 2, 3};  // a test PSK no server knows
  tls::SessionPtr psk(SSL_SESSION_new());
  if (!cipher || !psk || SSL_SESSION_set1_master_key(psk.get(), key, sizeof key) != 1 ||
      SSL_SESSION_set_cipher(psk.get(), cipher) != 1 ||
      SSL_SESSION_set_protocol_version(psk.get(), TLS1_3_VERSION) != 1)
    return 0;
  *id = reinterpret_cast<const unsigned char*>(t_external_identity->data());
  *idlen = t_external_identity->size();
  *sess = psk.release();  // OpenSSL takes this reference
  return 1;
}
#endif

void applyLibraryOptions(SSL* client, const ClientOptions& o) {
#if defined(OPENSSL_IS_BORINGSSL)
  (void)client;
  (void)o;  // clientCannot() refused every option this would apply
#else
  if (o.only_psk_ke) SSL_set_options(client, SSL_OP_ALLOW_NO_DHE_KEX);
  if (!o.tls13_ciphersuites.empty()) SSL_set_ciphersuites(client, o.tls13_ciphersuites.c_str());
  if (t_external_identity) SSL_set_psk_use_session_callback(client, &offerExternalPsk);
#endif
}

std::vector<unsigned char> derOf(SSL_SESSION* session) {
  const int len = i2d_SSL_SESSION(session, nullptr);
  if (len <= 0) return {};
  std::vector<unsigned char> der(static_cast<std::size_t>(len));
  unsigned char* out = der.data();
  i2d_SSL_SESSION(session, &out);
  return der;
}

tls::SessionPtr fromDer(const std::vector<unsigned char>& der) {
  const unsigned char* in = der.data();
  return tls::SessionPtr(d2i_SSL_SESSION(nullptr, &in, static_cast<long>(der.size())));
}
}  // namespace

std::string clientCannot(const ClientOptions& o) {
#if defined(OPENSSL_IS_BORINGSSL)
  if (!o.external_psk_identity.empty()) return "BoringSSL's client cannot offer an external TLS 1.3 PSK";
  if (o.only_psk_ke) return "BoringSSL's client always offers psk_dhe_ke, never psk_ke alone";
  if (!o.tls13_ciphersuites.empty()) return "BoringSSL's TLS 1.3 cipher suites cannot be configured";
#else
  (void)o;
#endif
  return {};
}

tls::SessionPtr copySession(SSL_SESSION* session) {
  const std::vector<unsigned char> der = derOf(session);
  return der.empty() ? nullptr : fromDer(der);
}

tls::SessionPtr withCipherSuite(SSL_SESSION* session, std::uint16_t suite) {
  const SSL_CIPHER* current = SSL_SESSION_get0_cipher(session);
  if (!current) return nullptr;
  const std::uint16_t was = SSL_CIPHER_get_protocol_id(current);
  std::vector<unsigned char> der = derOf(session);
  // Both libraries encode the suite as the session's first 2-byte OCTET STRING, right
  // after the format and protocol versions.
  const unsigned char field[] = {0x04, 0x02, static_cast<unsigned char>(was >> 8), static_cast<unsigned char>(was)};
  const auto at = std::search(der.begin(), der.end(), std::begin(field), std::end(field));
  if (at == der.end()) return nullptr;
  at[2] = static_cast<unsigned char>(suite >> 8);
  at[3] = static_cast<unsigned char>(suite);
  tls::SessionPtr copy = fromDer(der);
  if (!copy || !SSL_SESSION_get0_cipher(copy.get()) || SSL_CIPHER_get_protocol_id(SSL_SESSION_get0_cipher(copy.get())) != suite)
    return nullptr;
  return copy;
}

void clearTicketAppData(SSL_SESSION* session) {
#if defined(OPENSSL_IS_BORINGSSL)
  (void)session;
#else
  SSL_SESSION_set1_ticket_appdata(session, nullptr, 0);
#endif
}

ServerFixture::ServerFixture(std::vector<std::pair<std::string, ResumptionPolicy>> hosts, KeyringOptions key_options) {
  std::vector<tls::HostSpec> specs;
  std::vector<std::string> names;
  for (auto& [name, policy] : hosts) {
    tls::HostSpec spec;
    spec.name = name;
    if (name != "default") spec.server_names = {name};
    spec.policy = policy;
    spec.cert = tls::makeSelfSigned(name == "default" ? "localhost" : name);
    names.push_back(name);
    specs.push_back(std::move(spec));
  }
  keyring = std::make_unique<Keyring>(key_options, names, clock, std::make_unique<LocalKeySource>());
  frontend = std::make_unique<tls::TlsFrontend>(std::move(specs), store, revocations, stats, clock, *keyring);
  client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(client_ctx_.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(client_ctx_.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(client_ctx_.get(), &countClientSession);
}

HandshakeResult ServerFixture::connect(const ClientOptions& o) {
  HandshakeResult result;
  result.unsupported = clientCannot(o);
  if (!result.unsupported.empty()) return result;
  t_client_sessions = 0;
  t_received = &result.received;
  tls::SslPtr client(SSL_new(client_ctx_.get()));
  tls::SslPtr server = frontend->newConnection();
  SSL_set_min_proto_version(client.get(), o.version);
  SSL_set_max_proto_version(client.get(), o.version);
  if (!o.tickets) SSL_set_options(client.get(), SSL_OP_NO_TICKET);
  if (!o.sni.empty()) SSL_set_tlsext_host_name(client.get(), o.sni.c_str());
  if (o.session) SSL_set_session(client.get(), o.session);
  t_external_identity = o.external_psk_identity.empty() ? nullptr : &o.external_psk_identity;
  applyLibraryOptions(client.get(), o);
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  BIO_new_bio_pair(&cbio, 0, &sbio, 0);
  SSL_set_bio(client.get(), cbio, cbio);
  SSL_set_bio(server.get(), sbio, sbio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  bool client_done = false, server_done = false;
  for (int i = 0; i < 50 && !(client_done && server_done); ++i) {
    if (!client_done) {
      const int r = SSL_do_handshake(client.get());
      if (r == 1)
        client_done = true;
      else if (const int e = SSL_get_error(client.get(), r); e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        break;
    }
    if (!server_done) {
      const int r = SSL_do_handshake(server.get());
      if (r == 1)
        server_done = true;
      else if (const int e = SSL_get_error(server.get(), r); e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        break;
    }
  }
  ERR_clear_error();
  t_external_identity = nullptr;
  if (!(client_done && server_done)) return result;
  // TLS 1.3 tickets arrive after the handshake: one exchange of application data pulls
  // them in on the client side.
  char byte = 'x';
  SSL_write(server.get(), &byte, 1);
  SSL_read(client.get(), &byte, 1);
  ERR_clear_error();
  result.tickets_received = t_client_sessions;
  t_received = nullptr;
  result.ok = true;
  result.reused = SSL_session_reused(server.get()) == 1;
  result.kind = frontend->handshakeKind(server.get());
  if (const auto* st = tls::TlsFrontend::state(server.get())) {
    result.host = st->host;
    if (st->chain) result.resumption_id = tls::hexId(st->chain->resumption_id);
  }
  // The newest session the client was given: BoringSSL's SSL_get1_session is the TLS 1.3
  // handshake's own session, which holds no ticket (the tickets come as new sessions);
  // OpenSSL's is the last of those already.
  if (!result.received.empty() && SSL_SESSION_up_ref(result.received.back().get()) == 1)
    result.session.reset(result.received.back().get());
  else
    result.session.reset(SSL_get1_session(client.get()));
  // A clean close on both sides: OpenSSL forgets (and calls remove_session on) a session
  // whose connection ends without close_notify.
  SSL_shutdown(client.get());
  SSL_shutdown(server.get());
  ERR_clear_error();
  return result;
}

}  // namespace tlsresume::testing
