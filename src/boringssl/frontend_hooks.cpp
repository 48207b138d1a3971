// BoringSSL's hooks for TlsFrontend: the select-certificate callback (host choice, per-host
// policy, fleet prefetch), the external session cache, ALPN, the info callback (fatal
// alerts), and the contexts they sit on.
//
// Which context BoringSSL reads what from, once SSL_set_SSL_CTX has moved a connection to
// its host (ssl/handshake_server.cc, ssl/tls13_server.cc, ssl/ssl_session.cc):
// - the listener's (the SSL's session_ctx): the session cache mode as far as storing and
//   looking up go, new/get/remove callbacks, the ticket AEAD method, num_tickets, the
//   session timeouts;
// - the host's (the SSL's current ctx): select-certificate, ALPN and info callbacks, the
//   cache mode bit that makes a full TLS 1.2 handshake assign a session id, the
//   certificate and the session-id context (SSL_set_SSL_CTX copies it; we set our own
//   per connection after it).
// After a HelloRetryRequest BoringSSL calls none of our hooks for the second ClientHello:
// it negotiates everything on the first (the one the select-certificate callback saw),
// checks only the second's PSK binder against the session already chosen, and never
// opens a ticket twice.
#include "boringssl/hooks.hpp"

#include <openssl/crypto.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>

#include "boringssl/ticket_format.hpp"
#include "tlsresume/client_hello_fields.hpp"

namespace tlsresume::tls {
namespace {

// Modern suites only. TLS 1.2: forward-secret AEAD suites. TLS 1.3 suites are not
// configurable in BoringSSL (AES-GCM and ChaCha20-Poly1305, its own order).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";

std::string_view extension(const SSL_CLIENT_HELLO* hello, std::uint16_t type) noexcept {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  if (SSL_early_callback_ctx_extension_get(hello, type, &data, &len) != 1) return {};
  return {reinterpret_cast<const char*>(data), len};
}

bool hasExtension(const SSL_CLIENT_HELLO* hello, std::uint16_t type) noexcept {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  return SSL_early_callback_ctx_extension_get(hello, type, &data, &len) == 1;
}

using NameDigest = std::array<unsigned char, kNameContextBytes>;

// The first kNameContextBytes of SHA-256 over the lower-cased name: DNS names compare
// without regard to case (RFC 4343); no name at all is a name too.
NameDigest digestName(std::string_view name) noexcept {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (char c : name) {
    const unsigned char lower = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    SHA256_Update(&sha, &lower, 1);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  NameDigest out;
  std::memcpy(out.data(), digest, out.size());
  return out;
}

// The digests of the last server names a worker thread saw, by the bytes as sent: a
// listener serves a handful of names, and each digest is a SHA-256 block (BoringSSL's
// portable code here) that every TLS 1.2 handshake would otherwise compute again. Names
// longer than a slot are digested every time.
NameDigest nameDigest(std::string_view name) noexcept {
  struct Slot {
    std::array<char, 64> name{};
    std::size_t len = 0;
    bool used = false;
    NameDigest digest{};
  };
  thread_local std::array<Slot, 8> slots;
  if (name.size() > Slot{}.name.size()) return digestName(name);
  Slot& slot = slots[std::hash<std::string_view>{}(name) % slots.size()];
  if (slot.used && std::string_view(slot.name.data(), slot.len) == name) return slot.digest;
  slot.digest = digestName(name);
  std::memcpy(slot.name.data(), name.data(), name.size());
  slot.len = name.size();
  slot.used = true;
  return slot.digest;
}

// See kNameContextBytes: the host's prefix, then (TLS 1.2) the server name's digest.
bool setSessionContext(SSL* ssl, const TlsFrontend::Host& host, const ConnectionTls& st) noexcept {
  std::array<unsigned char, TlsFrontend::kStoreKeyHostPrefix + kNameContextBytes> ctx{};
  std::memcpy(ctx.data(), host.sid_ctx.data(), TlsFrontend::kStoreKeyHostPrefix);
  std::size_t len = TlsFrontend::kStoreKeyHostPrefix;
  if (!st.offered_tls13) {
    const NameDigest digest = nameDigest(st.sent_server_name);
    std::memcpy(ctx.data() + len, digest.data(), digest.size());
    len += digest.size();
  }
  return SSL_set_session_id_context(ssl, ctx.data(), len) == 1;
}

}  // namespace

// BoringSSL's integer protocols are converted here and nowhere else; each callback is
// noexcept so no C++ exception can unwind through BoringSSL's frames.
struct FrontendCallbacks {
  // Runs before BoringSSL decides anything about resumption (and before it reads the
  // session cache or opens a ticket), on the context the SSL currently has: installed on
  // every host's.
  static ssl_select_cert_result_t selectHost(const SSL_CLIENT_HELLO* hello) noexcept {
    SSL* ssl = hello->ssl;
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st) return ssl_select_cert_error;
    // Called again for the same ClientHello once a remote lookup ended: everything below
    // was done, and the answer (if any) is in the local tier now.
    if (st->awaiting_remote) {
      st->awaiting_remote = false;
      return ssl_select_cert_success;
    }
    ++st->client_hellos;
    const std::string_view sni_ext = extension(hello, TLSEXT_TYPE_server_name);
    try {
      st->sni = parseServerName(sni_ext).value_or(std::string());
      st->sent_server_name = serverNameBytes(sni_ext).value_or(std::string_view());
    } catch (...) {
      return ssl_select_cert_error;  // out of memory before anything was decided
    }
    st->host = fe->hostForServerName(st->sni);
    st->offered_tls13 = offersVersion(extension(hello, TLSEXT_TYPE_supported_versions), TLS1_3_VERSION).value_or(false);
    st->tls12_ticket_length = extension(hello, TLSEXT_TYPE_session_ticket).size();
    // A pre_shared_key extension that does not parse is left to BoringSSL, which reads
    // every identity and binder and answers decode_error (RFC 8446 §6.2) before any PSK
    // is used; refusing it here could only send handshake_failure.
    const PskIdentityLengths psk =
        parsePskIdentityLengths(extension(hello, TLSEXT_TYPE_pre_shared_key)).value_or(PskIdentityLengths{});
    st->psk_identities = psk;
    st->psk_identities.identity = {};  // views into this ClientHello: not kept past the callback
    st->tickets_opened = 0;
    st->offers_extms = hasExtension(hello, TLSEXT_TYPE_extended_master_secret);
    const TlsFrontend::Host& host = fe->host(st->host);
    if (SSL_set_SSL_CTX(ssl, host.ctx.get()) == nullptr || !setSessionContext(ssl, host, *st))
      return ssl_select_cert_error;

    // Options are per SSL: the host's policy is applied here. The version is not
    // negotiated yet, but we support TLS 1.3, so a client that offers it gets it. TLS 1.3
    // ticket counts come from the listener's num_tickets (one value for every host,
    // checked at start); a host that issues none sets SSL_OP_NO_TICKET, which in TLS 1.3
    // also means no ticket is opened. Stateful TLS 1.3 tickets go through the same seal
    // and open hooks (ticket_hooks.cpp), so they need tickets on.
    const ResumptionPolicy& p = host.policy;
    const bool no_ticket =
        st->offered_tls13 ? p.tls13_tickets == Tls13Tickets::off || p.tickets_per_connection == 0 : !p.tls12_tickets;
    if (no_ticket)
      SSL_set_options(ssl, SSL_OP_NO_TICKET);
    else
      SSL_clear_options(ssl, SSL_OP_NO_TICKET);
    if (st->wake && prefetchStateful(fe, hello, *st, psk, no_ticket)) {
      st->awaiting_remote = true;
      return ssl_select_cert_retry;  // SSL_ERROR_PENDING_CERTIFICATE until wake
    }
    return ssl_select_cert_success;
  }

  // Fleet mode: the session this ClientHello would resume from the store (a TLS 1.2
  // session id, a TLS 1.3 stateful ticket) may have been made by another server and so be
  // only in the remote tier. If so, its lookup starts now and the handshake pauses until it
  // ends (the store guarantees the call), so no worker waits on the network. Only what
  // BoringSSL will look up is asked: a TLS 1.2 client whose ticket BoringSSL processes is
  // resumed by it (the session id is then only echoed); a TLS 1.3 ClientHello's session id
  // is a compatibility value (RFC 8446 §4.1.2), and BoringSSL opens only its first PSK
  // identity.
  static bool prefetchStateful(TlsFrontend* fe, const SSL_CLIENT_HELLO* hello, ConnectionTls& st,
                               const PskIdentityLengths& psk, bool no_ticket) noexcept {
    const TlsFrontend::Host& host = fe->host(st.host);
    std::string_view id;
    if (st.offered_tls13) {
      if (host.policy.tls13_tickets == Tls13Tickets::stateful && !no_ticket && psk.count > 0 &&
          psk.identity[0].size() >= bssl_ticket::kHandleBytes &&
          static_cast<unsigned char>(psk.identity[0][0]) == bssl_ticket::kHandleMarker)
        id = psk.identity[0].substr(0, bssl_ticket::kHandleBytes);
    } else if (host.policy.session_ids && (no_ticket || st.tls12_ticket_length == 0)) {
      id = {reinterpret_cast<const char*>(hello->session_id), hello->session_id_len};
    }
    if (id.empty() || id.size() > SSL_MAX_SSL_SESSION_ID_LENGTH + 1) return false;
    try {
      // `done` may run before prefetch returns (on this or another thread): the wake-up
      // is due only if we then pause, so the last of the two references decides. Ours is
      // dropped at the end: if the lookup already ended, nobody else will wake us and the
      // answer is already in the local tier.
      auto pending = std::make_shared<std::atomic<int>>(2);
      const std::function<void()> done = [pending, wake = st.wake] {
        if (pending->fetch_sub(1) == 1) wake();
      };
      const bool waiting =
          fe->store().prefetch(TlsFrontend::storeKey(host.sid_ctx, reinterpret_cast<const unsigned char*>(id.data()),
                                                     static_cast<unsigned>(id.size())),
                               done);
      if (!waiting) return false;
      return pending->fetch_sub(1) != 1;
    } catch (...) {
      // Out of memory: go on without waiting (a lookup already started never wakes the
      // connection: our reference is kept), a full handshake if the session is not local.
      return false;
    }
  }

  // The session callbacks allocate (store keys, buffers); an exception must not reach
  // BoringSSL's frames or end the process: out of memory means "not stored" / "not found".
  static int newSession(SSL* ssl, SSL_SESSION* session) noexcept {
    const ErrorScope errors;
    try {
      storeSession(ssl, session);
    } catch (...) {
    }
    return 0;  // we keep no reference
  }

  static SSL_SESSION* getSession(SSL* ssl, const std::uint8_t* id, int id_len, int* copy) noexcept {
    *copy = 0;  // a fresh object: BoringSSL owns it
    const ErrorScope errors;
    try {
      return findSession(ssl, id, id_len);
    } catch (...) {
      return nullptr;
    }
  }

  // A full TLS 1.2 handshake of a host with session ids: BoringSSL assigned an id (only
  // when it issued no ticket) and calls this once the handshake ended.
  static void storeSession(SSL* ssl, SSL_SESSION* session) {
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st || SSL_version(ssl) == TLS1_3_VERSION) return;
    const TlsFrontend::Host& host = fe->host(st->host);
    if (!host.policy.session_ids) return;
    unsigned id_len = 0;
    const std::uint8_t* id = SSL_SESSION_get_id(session, &id_len);
    if (id_len == 0) return;
    // BoringSSL's own expiry check agrees with the host's lifetime; ours is judged on our
    // clock from the record's times.
    SSL_SESSION_set_timeout(session, static_cast<std::uint32_t>(host.policy.session_lifetime.count()));
    const TimePoint issued = fe->clock().now();
    const TimePoint expires = issued + host.policy.session_lifetime;
    std::uint8_t* der = nullptr;
    std::size_t der_len = 0;
    if (SSL_SESSION_to_bytes(session, &der, &der_len) != 1) return;
    const std::unique_ptr<std::uint8_t, decltype(&OPENSSL_free)> owned(der, &OPENSSL_free);  // OPENSSL_free zeroes
    const StoredKind kind = SSL_get_extms_support(ssl) ? StoredKind::tls12_extms : StoredKind::tls12;
    std::string value = encodeStoredSessionHeader(kind, issued, expires, {}, der_len);
    const std::size_t header = value.size();
    value.resize(header + der_len);
    std::memcpy(value.data() + header, der, der_len);
    fe->store().put(TlsFrontend::storeKey(host.sid_ctx, id, id_len), value, expires);
    OPENSSL_cleanse(value.data(), value.size());  // it holds the master secret
  }

  // Hands over a fresh object, or nullptr (a full handshake).
  static SSL_SESSION* findSession(SSL* ssl, const std::uint8_t* id, int id_len) {
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st || id_len <= 0) return nullptr;
    const TlsFrontend::Host& host = fe->host(st->host);
    if (!host.policy.session_ids) return nullptr;
    const std::string key = TlsFrontend::storeKey(host.sid_ctx, id, static_cast<unsigned>(id_len));
    thread_local std::string stored;
    if (!fe->store().get(key, stored)) return nullptr;
    struct Wipe {
      std::string& s;
      ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
    } wipe{stored};
    const std::optional<StoredSessionView> view = decodeStoredSession(stored);
    if (!view || view->kind == StoredKind::tls13) {
      fe->store().erase(key);
      return nullptr;
    }
    // RFC 7627 §5.3: a session made without the extended master secret is not resumed by
    // a ClientHello that offers it (a full handshake; kept in the store: the client may
    // agree again next time). One made with it and offered without it goes on to
    // BoringSSL, which aborts with handshake_failure as §5.3 requires, once our own rules
    // said yes; that alert does not forget the session.
    if (view->kind == StoredKind::tls12 && st->offers_extms) return nullptr;
    const bool extms_dropped = view->kind == StoredKind::tls12_extms && !st->offers_extms;
    SessionPtr session(SSL_SESSION_from_bytes(reinterpret_cast<const std::uint8_t*>(view->der.data()), view->der.size(),
                                              SSL_get_SSL_CTX(ssl)));
    // A record from the remote tier was written by another process: it must be the session
    // it is stored under.
    unsigned got_len = 0;
    const std::uint8_t* got = session ? SSL_SESSION_get_id(session.get(), &got_len) : nullptr;
    if (!session || got_len != static_cast<unsigned>(id_len) || CRYPTO_memcmp(got, id, got_len) != 0) {
      fe->store().erase(key);
      return nullptr;
    }
    // Kept in the store: the client may offer it as it was made.
    if (fitsHandshake(ssl, session.get()) != TicketResult::ok) return nullptr;
    const TimePoint now = fe->clock().now();
    if (const std::optional<TicketAppData> chain = storedChain(*view, *fe, st->host)) {
      // A stored session that names a chain is judged like a ticket: chain age and
      // per-chain revocation apply to it too.
      const TicketResult verdict = judgeAndRecord(*fe, *st, *chain, false);
      if (verdict != TicketResult::ok && verdict != TicketResult::extms_dropped) {
        fe->store().erase(key);
        return nullptr;
      }
    } else {
      // The server enforces the lifetime itself, on its own clock.
      const bool expired = now >= view->expires || now >= view->start + host.policy.session_lifetime;
      const bool revoked =
          !expired &&
          fe->revocations().isRevoked(host.name, {reinterpret_cast<const char*>(id), std::size_t(id_len)}, view->start);
      if (expired || revoked) {
        if (revoked && st->counts()) fe->stats().onSessionRevokedAtResume();
        fe->store().erase(key);
        return nullptr;
      }
      if (st->counts() && !extms_dropped)
        fe->stats().onResumptionAge(std::chrono::duration_cast<std::chrono::seconds>(now - view->start));
    }
    st->cache_hit = true;
    st->keep_on_alert = extms_dropped;
    return session.release();
  }

  // RFC 7301: the host's first protocol (its order, not the client's) that the client
  // offers; none in common is a fatal no_application_protocol alert (§3.2). A host without
  // an ALPN list does not answer the extension. Called on the host's context.
  static int selectAlpn(SSL* ssl, const std::uint8_t** out, std::uint8_t* out_len, const std::uint8_t* in,
                        unsigned in_len, void* arg) noexcept {
    const auto* fe = static_cast<const TlsFrontend*>(arg);
    const ConnectionTls* st = TlsFrontend::state(ssl);
    if (!st) return SSL_TLSEXT_ERR_NOACK;
    const std::string& ours = fe->host(st->host).alpn_wire;
    if (ours.empty()) return SSL_TLSEXT_ERR_NOACK;
    std::uint8_t* chosen = nullptr;
    // BoringSSL returns the first protocol of its first list found in the second.
    if (SSL_select_next_proto(&chosen, out_len, reinterpret_cast<const std::uint8_t*>(ours.data()),
                              static_cast<unsigned>(ours.size()), in, in_len) != OPENSSL_NPN_NEGOTIATED)
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
  }

  // BoringSSL calls the remove callback only for its internal cache, which we do not use,
  // and never removes a session on an alert itself. RFC 5246 §7.2.2: a session whose
  // connection ended in a fatal alert (sent or received) is forgotten here.
  // Called at every step of every handshake: the type decides before any lookup.
  static void onInfo(const SSL* ssl, int type, int value) noexcept {
    const bool done = type == SSL_CB_HANDSHAKE_DONE;
    if (!done && (!(type & SSL_CB_ALERT) || (value >> 8) != SSL3_AL_FATAL)) return;
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!st) return;
    if (done) {
      // The second ClientHello reaches none of our hooks; the count still says there was one.
      if (SSL_used_hello_retry_request(ssl) && st->client_hellos == 1) st->client_hellos = 2;
      return;
    }
    if (st->keep_on_alert) return;
    const ErrorScope errors;
    TlsFrontend* fe = frontendOf(ssl);
    const SSL_SESSION* session = SSL_get_session(ssl);
    if (!fe || !session || SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION) return;
    unsigned id_len = 0;
    const std::uint8_t* id = SSL_SESSION_get_id(session, &id_len);
    unsigned ctx_len = 0;
    const std::uint8_t* sid_ctx = SSL_SESSION_get0_id_context(session, &ctx_len);
    if (id_len == 0 || ctx_len < TlsFrontend::kStoreKeyHostPrefix) return;
    try {
      fe->store().erase(TlsFrontend::storeKey({reinterpret_cast<const char*>(sid_ctx), ctx_len}, id, id_len));
    } catch (...) {
    }
  }
};

SslCtxPtr TlsFrontend::makeContext(const CertifiedKey& cert, const std::string& sid_ctx) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + lastError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);  // BoringSSL never renegotiates as a server
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // The chain is what the certificate file holds (as nginx does).
  SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_set_strict_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set1_curves_list(c, kGroups) != 1)
    throw std::runtime_error("cipher configuration: " + lastError());
  if (SSL_CTX_use_certificate(c, cert.cert.get()) != 1 || SSL_CTX_use_PrivateKey(c, cert.key.get()) != 1 ||
      SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("certificate: " + lastError());
  if (cert.chain) {
    for (std::size_t i = 0; i < sk_X509_num(cert.chain.get()); ++i) {
      X509* extra = sk_X509_value(cert.chain.get(), i);
      X509_up_ref(extra);
      if (SSL_CTX_add0_chain_cert(c, extra) != 1) {
        X509_free(extra);
        throw std::runtime_error("certificate chain: " + lastError());
      }
    }
  }
  // The host's prefix only: every connection sets its own context (setSessionContext).
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const std::uint8_t*>(sid_ctx.data()),
                                 std::min(sid_ctx.size(), kStoreKeyHostPrefix));
  return ctx;
}

void TlsFrontend::installHooks() {
  // One number of TLS 1.3 tickets for the listener: the hosts agree (unsupported() refused
  // them otherwise), so it is the first issuing host's.
  std::size_t tickets = 0;
  for (const auto& h : hosts_)
    if (h.policy.tickets_per_connection != 0 && h.policy.tls13_tickets != Tls13Tickets::off && tickets == 0)
      tickets = h.policy.tickets_per_connection;
  SSL_CTX* c = listenerContext();
  for (const auto& h : hosts_) {
    SSL_CTX_set_select_certificate_cb(h.ctx.get(), &FrontendCallbacks::selectHost);
    SSL_CTX_set_alpn_select_cb(h.ctx.get(), &FrontendCallbacks::selectAlpn, this);
    SSL_CTX_set_info_callback(h.ctx.get(), &FrontendCallbacks::onInfo);
    // Read from the host's context: whether a full TLS 1.2 handshake without a ticket gets
    // a session id. A host without session ids hands out none.
    SSL_CTX_set_session_cache_mode(
        h.ctx.get(), h.policy.session_ids ? SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL : SSL_SESS_CACHE_OFF);
  }
  // Our store replaces BoringSSL's internal cache, so a session made on one worker thread
  // resumes on any other, is bounded by bytes, and can be revoked. (Read from the
  // listener's context whatever the default host's own policy.)
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(c, &FrontendCallbacks::newSession);
  SSL_CTX_sess_set_get_cb(c, &FrontendCallbacks::getSession);
  // BoringSSL's own expiry checks (on its clock) take the longest lifetime; ours judge each
  // host's on our clock. The TLS 1.3 ticket_lifetime and TLS 1.2 lifetime hint sent to
  // clients are this value too: BoringSSL has no per-connection timeout.
  auto longest = std::chrono::seconds{0};
  for (const auto& h : hosts_) longest = std::max(longest, h.policy.session_lifetime);
  SSL_CTX_set_timeout(c, static_cast<std::uint32_t>(longest.count()));
  SSL_CTX_set_session_psk_dhe_timeout(c, static_cast<std::uint32_t>(longest.count()));
  SSL_CTX_set_num_tickets(c, tickets == 0 ? 2 : tickets);
  installTicketHooks(library(), c);
}

TicketResult judgeAndRecord(TlsFrontend& fe, ConnectionTls& st, const TicketAppData& data, bool tls13) noexcept {
  const TimePoint now = fe.clock().now();
  const TicketResult verdict = judgeChain(fe.hostView(st.host), data, tls13, st.offers_extms, fe.revocations(), now);
  if (verdict == TicketResult::revoked && st.counts()) fe.stats().onSessionRevokedAtResume();
  if (verdict != TicketResult::ok) return verdict;
  st.chain = data;
  if (st.counts()) fe.stats().onResumptionAge(std::chrono::duration_cast<std::chrono::seconds>(now - data.issued_at));
  return TicketResult::ok;
}

std::optional<TicketAppData> storedChain(const StoredSessionView& view, const TlsFrontend& fe,
                                         std::size_t host) noexcept {
  if (view.id.size() != kResumptionIdBytes) return std::nullopt;
  TicketAppData data;
  data.issued_at = view.expires - fe.policy(host).session_lifetime;
  data.chain_started_at = std::min(view.start, data.issued_at);
  data.host_tag = fe.hostTag(host);
  std::memcpy(data.resumption_id.data(), view.id.data(), kResumptionIdBytes);
  data.extms = view.kind == StoredKind::tls12_extms;
  return data;
}

TicketResult fitsHandshake(const SSL* ssl, const SSL_SESSION* session) noexcept {
  if (SSL_SESSION_get_protocol_version(session) != SSL_version(ssl)) return TicketResult::wrong_version;
  const SSL_CIPHER* chosen = SSL_get_pending_cipher(ssl);
  const SSL_CIPHER* made = SSL_SESSION_get0_cipher(session);
  if (!made || (chosen && SSL_CIPHER_get_protocol_id(chosen) != SSL_CIPHER_get_protocol_id(made)))
    return TicketResult::cipher_not_offered;
  std::size_t ours_len = 0;
  const std::uint8_t* ours = SSL_get0_session_id_context(ssl, &ours_len);
  unsigned theirs_len = 0;
  const std::uint8_t* theirs = SSL_SESSION_get0_id_context(session, &theirs_len);
  constexpr std::size_t kHost = TlsFrontend::kStoreKeyHostPrefix;
  if (ours_len < kHost || theirs_len < kHost || CRYPTO_memcmp(ours, theirs, kHost) != 0)
    return TicketResult::foreign_host;
  if (ours_len != theirs_len || CRYPTO_memcmp(ours, theirs, ours_len) != 0) return TicketResult::server_name_mismatch;
  return TicketResult::ok;
}

bool TlsFrontend::pausedForRemoteLookup(int ssl_error) noexcept {
  // The select-certificate callback pauses; the other two are BoringSSL's codes for a
  // paused session lookup or ticket opening, should a hook ever use them.
  return ssl_error == SSL_ERROR_PENDING_CERTIFICATE || ssl_error == SSL_ERROR_PENDING_SESSION ||
         ssl_error == SSL_ERROR_PENDING_TICKET;
}

std::string TlsFrontend::unsupported(std::span<const HostSpec> hosts) {
  const auto refuse = [](const HostSpec& h, const std::string& why) { return "host \"" + h.name + "\": " + why; };
  const HostSpec* issuing = nullptr;  // the first host that issues TLS 1.3 tickets
  for (const HostSpec& h : hosts) {
    const ResumptionPolicy& policy = h.policy;
    // RFC 8446 §4.2.9: BoringSSL resumes TLS 1.3 only with psk_dhe_ke; a client offering
    // psk_ke alone always gets a full handshake, so "any" would promise what it cannot do.
    if (policy.tls13_psk_modes == PskModes::any)
      return refuse(h, "tls13_psk_modes = \"any\" is not available with BoringSSL, which resumes TLS 1.3 only with "
                       "(EC)DHE (psk_dhe_ke); use \"dhe\"");
    // BoringSSL ends a TLS 1.3 chain 7 days after its full handshake (the session's
    // authentication timeout, SSL_DEFAULT_SESSION_AUTH_TIMEOUT), whatever we allow.
    if (policy.max_resumption_age > std::chrono::hours(24 * 7))
      return refuse(h, "max_resumption_age over 7 days is not available with BoringSSL, which ends a TLS 1.3 "
                       "resumption chain 7 days after its full handshake");
    // BoringSSL reads num_tickets from the listener's context only (tls13_server.cc), so
    // every host that issues TLS 1.3 tickets must want the same number.
    if (policy.tickets_per_connection == 0 || policy.tls13_tickets == Tls13Tickets::off) continue;
    if (issuing && issuing->policy.tickets_per_connection != policy.tickets_per_connection)
      return refuse(h, "tickets_per_connection = " + std::to_string(policy.tickets_per_connection) + " differs from host \"" +
                           issuing->name + "\"'s " + std::to_string(issuing->policy.tickets_per_connection) +
                           "; BoringSSL issues one number of TLS 1.3 tickets per listener (SSL_CTX_set_num_tickets)");
    if (!issuing) issuing = &h;
  }
  return {};
}

TlsFrontend::Library* TlsFrontend::makeLibrary() { return new Library(); }

void TlsFrontend::LibraryDeleter::operator()(Library* l) const noexcept { delete l; }

}  // namespace tlsresume::tls
