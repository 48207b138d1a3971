// OpenSSL's hooks for TlsFrontend: the client-hello callback (host choice, fleet
// prefetch), the session cache, the servername and ALPN callbacks; the contexts they sit on.
#include "openssl/hooks.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "tlsresume/client_hello_fields.hpp"
#include "tlsresume/hex.hpp"
#include "tlsresume/stored_session.hpp"

namespace tlsresume::tls {
namespace {

// Modern suites only. TLS 1.2: forward-secret AEAD suites; TLS 1.3: OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";

std::string_view extension(SSL* ssl, unsigned type) {
  const unsigned char* data = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, type, &data, &len) != 1) return {};
  return {reinterpret_cast<const char*>(data), len};
}

}  // namespace

// OpenSSL's integer protocols are converted here and nowhere else; each callback is
// noexcept so no C++ exception can unwind through OpenSSL's frames.
struct FrontendCallbacks {
  static int clientHello(SSL* ssl, int* alert, void* arg) noexcept {
    auto* fe = static_cast<TlsFrontend*>(arg);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!st) return SSL_CLIENT_HELLO_ERROR;
    // Called again for the same ClientHello once a remote lookup ended: everything below
    // was done, and the answer (if any) is in the local tier now.
    if (st->awaiting_remote) {
      st->awaiting_remote = false;
      return SSL_CLIENT_HELLO_SUCCESS;
    }
    // Runs again for the second ClientHello after a HelloRetryRequest (every host context
    // carries this callback: OpenSSL asks the SSL's current context, which is the host's
    // by then). Everything below is idempotent, and the host is chosen anew.
    ++st->client_hellos;
    const std::string_view sni_ext = extension(ssl, TLSEXT_TYPE_server_name);
    std::string sni;
    if (auto name = parseServerName(sni_ext)) sni = std::move(*name);
    st->sent_server_name = serverNameBytes(sni_ext).value_or(std::string_view());
    // RFC 8446 section 4.1.2: the second ClientHello repeats the first except for the key
    // share, cookie, early data and PSK. Another server name there would move the
    // connection (and the PSK it offers) to another virtual host after the first was
    // judged; OpenSSL 3.0 does not compare them.
    if (st->client_hellos > 1 && sni != st->sni) {
      *alert = SSL_AD_ILLEGAL_PARAMETER;
      return SSL_CLIENT_HELLO_ERROR;
    }
    st->sni = std::move(sni);
    st->host = fe->hostForServerName(st->sni);
    st->offered_tls13 = offersVersion(extension(ssl, TLSEXT_TYPE_supported_versions), TLS1_3_VERSION).value_or(false);
    st->tls12_ticket_length = extension(ssl, TLSEXT_TYPE_session_ticket).size();
    // A pre_shared_key extension that does not parse is a decode_error (RFC 8446 §6.2).
    // OpenSSL reads the binders only when an identity matched a session, so a garbage
    // identity followed by a malformed binder list would otherwise get a full handshake.
    const std::string_view psk_ext = extension(ssl, TLSEXT_TYPE_psk);
    const std::optional<PskIdentityLengths> parsed_psk = parsePskIdentityLengths(psk_ext);
    if (st->offered_tls13 && !parsed_psk && SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, nullptr, nullptr) == 1) {
      *alert = SSL_AD_DECODE_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    const PskIdentityLengths psk = parsed_psk.value_or(PskIdentityLengths{});
    st->psk_identities = psk;
    st->psk_identities.identity = {};  // views into this ClientHello: not kept past the callback
    st->tickets_opened = 0;
    const unsigned char* ems = nullptr;
    size_t ems_len = 0;
    st->offers_extms = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_extended_master_secret, &ems, &ems_len) == 1;
    const TlsFrontend::Host& host = fe->host(st->host);
    if (SSL_set_SSL_CTX(ssl, host.ctx.get()) == nullptr) return SSL_CLIENT_HELLO_ERROR;

    // Options are per SSL, not copied by SSL_set_SSL_CTX: apply the host's policy here.
    // The version is not negotiated yet, but we support TLS 1.3, so a client that offers
    // it gets it; SSL_OP_NO_TICKET means "no tickets" in TLS 1.2 and "stateful tickets"
    // in TLS 1.3.
    const ResumptionPolicy& p = host.policy;
    bool no_ticket = false;
    unsigned tickets = p.tickets_per_connection;
    if (st->offered_tls13) {
      no_ticket = p.tls13_tickets == Tls13Tickets::stateful;
      if (p.tls13_tickets == Tls13Tickets::off) tickets = 0;
    } else {
      no_ticket = !p.tls12_tickets;
    }
    if (no_ticket)
      SSL_set_options(ssl, SSL_OP_NO_TICKET);
    else
      SSL_clear_options(ssl, SSL_OP_NO_TICKET);
    SSL_set_num_tickets(ssl, tickets);
    // RFC 8446 §4.2.9 / RFC 9325 §3.4: psk_ke resumes without (EC)DHE, so without forward
    // secrecy; OpenSSL accepts it only with SSL_OP_ALLOW_NO_DHE_KEX.
    if (p.tls13_psk_modes == PskModes::any)
      SSL_set_options(ssl, SSL_OP_ALLOW_NO_DHE_KEX);
    else
      SSL_clear_options(ssl, SSL_OP_ALLOW_NO_DHE_KEX);
    if (st->wake && prefetchStateful(fe, ssl, *st, psk)) {
      st->awaiting_remote = true;
      return SSL_CLIENT_HELLO_RETRY;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  // Fleet mode: the session this ClientHello would resume from the store (a TLS 1.2
  // session id, a TLS 1.3 stateful ticket) may have been made by another server and so be
  // only in the remote tier. If so, its lookup starts now and the handshake pauses until it
  // ends (answer, miss, time-out or error: the store guarantees the call), so no worker
  // ever waits on the network. Only what OpenSSL will look up is asked: a TLS 1.2 client
  // that sends a ticket is resumed by it (OpenSSL then ignores the session id), and the
  // session id a TLS 1.3 client sends is a compatibility value (RFC 8446 §4.1.2), never a
  // session. Stateful TLS 1.3 identities are at most 32 bytes (OpenSSL's session ids);
  // longer ones are stateless tickets.
  static bool prefetchStateful(TlsFrontend* fe, SSL* ssl, ConnectionTls& st, const PskIdentityLengths& psk) noexcept {
    const TlsFrontend::Host& host = fe->host(st.host);
    // What OpenSSL will look up, gathered first: most ClientHellos offer nothing stateful,
    // and those cost no allocation here.
    std::array<std::string_view, PskIdentityLengths::kMax> ids{};
    std::size_t count = 0;
    const auto consider = [&](std::string_view id) {
      if (!id.empty() && id.size() <= SSL_MAX_SSL_SESSION_ID_LENGTH && count < ids.size()) ids[count++] = id;
    };
    if (st.offered_tls13) {
      if (host.policy.tls13_tickets == Tls13Tickets::stateful)
        for (std::size_t i = 0; i < psk.count; ++i) consider(psk.identity[i]);
    } else if (host.policy.session_ids && st.tls12_ticket_length == 0) {
      const unsigned char* id = nullptr;
      const std::size_t len = SSL_client_hello_get0_session_id(ssl, &id);
      consider({reinterpret_cast<const char*>(id), len});
    }
    if (count == 0) return false;
    try {
      // One wake-up for however many lookups this ClientHello starts: the last to end
      // calls it. Our own reference is dropped at the end: if every lookup already ended,
      // nobody else will wake us.
      auto pending = std::make_shared<std::atomic<int>>(1);
      const std::function<void()> done = [pending, wake = st.wake] {
        if (pending->fetch_sub(1) == 1) wake();
      };
      bool waiting = false;
      for (std::size_t i = 0; i < count; ++i) {
        pending->fetch_add(1);
        const auto* id = reinterpret_cast<const unsigned char*>(ids[i].data());
        if (fe->store().prefetch(TlsFrontend::storeKey(host.sid_ctx, id, static_cast<unsigned>(ids[i].size())), done))
          waiting = true;
        else
          pending->fetch_sub(1);
      }
      return pending->fetch_sub(1) != 1 && waiting;
    } catch (...) {
      // Out of memory: go on without waiting (a lookup already started never wakes the
      // connection: our reference is kept), a full handshake if the session is not local.
      return false;
    }
  }

  // The session callbacks allocate (store keys, DER buffers); an exception must not reach
  // OpenSSL's frames or end the process: out of memory means "not stored" / "not found".
  static int newSession(SSL* ssl, SSL_SESSION* session) noexcept {
    try {
      return storeSession(ssl, session);
    } catch (...) {
      return 0;
    }
  }

  static SSL_SESSION* getSession(SSL* ssl, const unsigned char* id, int id_len, int* copy) noexcept {
    *copy = 0;
    try {
      return findSession(ssl, id, id_len);
    } catch (...) {
      return nullptr;
    }
  }

  static int storeSession(SSL* ssl, SSL_SESSION* session) {
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st) return 0;
    const TlsFrontend::Host& host = fe->host(st->host);
    if (SSL_version(ssl) == TLS1_3_VERSION) {
      // OpenSSL calls this after every TLS 1.3 ticket, stateless ones included: a
      // stateless ticket carries the whole session, so there is nothing to store.
      if (!(SSL_get_options(ssl) & SSL_OP_NO_TICKET)) return 0;
    } else if (!host.policy.session_ids) {
      return 0;
    }
    unsigned id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
    if (id_len == 0) return 0;  // TLS 1.2 with a ticket: the ticket is the session
    // OpenSSL's own expiry check and the store's TTL agree on the host's lifetime.
    SSL_SESSION_set_timeout(session, static_cast<long>(host.policy.session_lifetime.count()));
    // Issue time by our clock, so lifetime and "revoke before T" are judged on one clock.
    const TimePoint issued = fe->clock().now();
    SSL_SESSION_set_time(
        session,
        static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(issued.time_since_epoch()).count()));
    const int len = i2d_SSL_SESSION(session, nullptr);
    if (len <= 0) return 0;
    // A TLS 1.2 session is new only after a full handshake, where OpenSSL uses the
    // extended master secret iff the client offered it.
    const StoredKind kind = SSL_version(ssl) == TLS1_3_VERSION ? StoredKind::tls13
                            : st->offers_extms                 ? StoredKind::tls12_extms
                                                               : StoredKind::tls12;
    void* appdata = nullptr;
    size_t appdata_len = 0;
    std::optional<TicketAppData> chain;
    if (SSL_SESSION_get0_ticket_appdata(session, &appdata, &appdata_len) == 1 && appdata_len > 0)
      chain = decodeTicketAppData({static_cast<const char*>(appdata), appdata_len});
    const std::string_view chain_id =
        chain ? std::string_view(reinterpret_cast<const char*>(chain->resumption_id.data()), chain->resumption_id.size())
              : std::string_view();
    const TimePoint expires = issued + host.policy.session_lifetime;
    std::string value = encodeStoredSessionHeader(kind, chain ? chain->chain_started_at : issued, expires, chain_id,
                                                  static_cast<size_t>(len));
    const std::size_t header = value.size();
    value.resize(header + static_cast<size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(value.data() + header);
    i2d_SSL_SESSION(session, &out);
    fe->store().put(TlsFrontend::storeKey(host.sid_ctx, id, id_len), value, expires);
    OPENSSL_cleanse(value.data(), value.size());  // it holds the master secret
    return 0;                                 // we did not keep a reference
  }

  // Hands over a fresh object (the caller sets *copy = 0): OpenSSL owns it.
  static SSL_SESSION* findSession(SSL* ssl, const unsigned char* id, int id_len) {
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st || id_len <= 0) return nullptr;
    const TlsFrontend::Host& host = fe->host(st->host);
    const std::string key = TlsFrontend::storeKey(host.sid_ctx, id, static_cast<unsigned>(id_len));
    thread_local std::string stored;
    if (!fe->store().get(key, stored)) return nullptr;
    const std::optional<StoredSessionView> view = decodeStoredSession(stored);
    if (!view) {
      OPENSSL_cleanse(stored.data(), stored.size());
      fe->store().erase(key);
      return nullptr;
    }
    // RFC 7627 §5.3: a session made without the extended master secret is not resumed by
    // a ClientHello that offers it (a full handshake; kept in the store: the client may
    // agree again next time). One made with it and offered without it goes on to OpenSSL,
    // which aborts with handshake_failure as §5.3 requires, once our own rules said yes.
    if (view->kind == StoredKind::tls12 && st->offers_extms) {
      OPENSSL_cleanse(stored.data(), stored.size());
      return nullptr;
    }
    const bool extms_dropped = view->kind == StoredKind::tls12_extms && !st->offers_extms;
    const auto* in = reinterpret_cast<const unsigned char*>(view->der.data());
    SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &in, static_cast<long>(view->der.size()));
    OPENSSL_cleanse(stored.data(), stored.size());
    // A record from the remote tier was written by another process: it must be the session
    // it is stored under (OpenSSL does not compare the id it asked for with the answer).
    unsigned got_len = 0;
    const unsigned char* got = session ? SSL_SESSION_get_id(session, &got_len) : nullptr;
    if (!session || got_len != static_cast<unsigned>(id_len) || CRYPTO_memcmp(got, id, got_len) != 0) {
      SSL_SESSION_free(session);
      fe->store().erase(key);
      return nullptr;
    }
    if (fitsHandshake(ssl, session, *st) != TicketResult::ok) {
      SSL_SESSION_free(session);  // kept in the store: the client may offer it as it was made
      return nullptr;
    }
    const TimePoint now = fe->clock().now();
    const TimePoint issued{std::chrono::seconds{SSL_SESSION_get_time(session)}};
    // The server enforces the lifetime itself, whatever the stored timeout says.
    const bool expired = now >= issued + host.policy.session_lifetime;
    const bool revoked =
        !expired && fe->revocations().isRevoked(host.name, {reinterpret_cast<const char*>(id), size_t(id_len)}, issued);
    if (expired || revoked) {
      if (revoked && st->counts()) fe->stats().onSessionRevokedAtResume();
      fe->store().erase(key);
      SSL_SESSION_free(session);
      return nullptr;
    }
    // A stored session that carries our app data (TLS 1.3 stateful tickets, TLS 1.2
    // sessions that also got a ticket) is judged like a ticket: chain age and per-chain
    // revocation apply to it too.
    void* appdata = nullptr;
    size_t appdata_len = 0;
    if (SSL_SESSION_get0_ticket_appdata(session, &appdata, &appdata_len) == 1 && appdata_len > 0) {
      const TicketResult verdict = judgeSessionChain(*fe, *st, session);
      if (verdict != TicketResult::ok && verdict != TicketResult::extms_dropped) {
        fe->store().erase(key);
        SSL_SESSION_free(session);
        return nullptr;
      }
    } else if (st->counts() && !extms_dropped) {
      fe->stats().onResumptionAge(std::chrono::duration_cast<std::chrono::seconds>(now - issued));
    }
    st->cache_hit = true;
    return session;
  }

  // The servername callback, used for its timing rather than for choosing (the host is
  // chosen in the client-hello callback): OpenSSL calls it after deciding whether the
  // session resumes and before it writes the ServerHello, whose ticket extension checks
  // SSL_OP_NO_TICKET. It answers OK, as nginx's does: the name is acknowledged (an empty
  // server_name extension, RFC 6066 §3) and, on a full handshake, stored in the session,
  // so that fitsHandshake can refuse a TLS 1.2 resumption under another name.
  //
  // A TLS 1.2 session resumed by id carries no chain: a ticket issued now would start a
  // new chain that revoking this session id could not reach (and that the chain age would
  // restart). The client keeps resuming by id; tickets come with its next full handshake.
  // (Set earlier, in the get-session callback, the option would also hold when OpenSSL then
  // declines the session, and that connection would end with neither a ticket nor a
  // stored id.)
  static int afterResumptionDecision(SSL* ssl, int*, void*) noexcept {
    const ConnectionTls* st = TlsFrontend::state(ssl);
    // A stored session with our app data continues its chain (judgeSessionChain recorded it).
    if (st && st->cache_hit && !st->chain && SSL_session_reused(ssl) && SSL_version(ssl) != TLS1_3_VERSION)
      SSL_set_options(ssl, SSL_OP_NO_TICKET);
    return SSL_TLSEXT_ERR_OK;
  }

  // RFC 7301: the host's first protocol (its order, not the client's) that the client
  // offers; none in common is a fatal no_application_protocol alert (§3.2). A host without
  // an ALPN list does not answer the extension. Called on the host's context (the SSL's
  // current one by then).
  static int selectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                        unsigned in_len, void* arg) noexcept {
    const auto* fe = static_cast<const TlsFrontend*>(arg);
    const ConnectionTls* st = TlsFrontend::state(ssl);
    if (!st) return SSL_TLSEXT_ERR_NOACK;
    const std::string& ours = fe->host(st->host).alpn_wire;
    if (ours.empty()) return SSL_TLSEXT_ERR_NOACK;
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_len, reinterpret_cast<const unsigned char*>(ours.data()),
                              static_cast<unsigned>(ours.size()), in, in_len) != OPENSSL_NPN_NEGOTIATED)
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
  }

  static void removeSession(SSL_CTX* ctx, SSL_SESSION* session) noexcept {
    // RFC 5246 §7.2.2: a session whose connection ended in a fatal alert is forgotten.
    auto* fe = static_cast<TlsFrontend*>(SSL_CTX_get_app_data(ctx));
    if (!fe) return;
    unsigned id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
    unsigned ctx_len = 0;
    const unsigned char* sid_ctx = SSL_SESSION_get0_id_context(session, &ctx_len);
    if (id_len == 0) return;
    fe->store().erase(TlsFrontend::storeKey({reinterpret_cast<const char*>(sid_ctx), ctx_len}, id, id_len));
  }
};

SslCtxPtr TlsFrontend::makeContext(const CertifiedKey& cert, const std::string& sid_ctx) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + lastError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                             SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // The chain is what the certificate file holds (as nginx does): without this OpenSSL
  // tries to build a chain from the trust store on every full handshake.
  SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
  // Read whole records (and whatever else the kernel has) in one read(2): without it
  // OpenSSL reads each record's 5-byte header and its body separately, ~11 reads per
  // resumed TLS 1.2 connection instead of ~4 (measured with strace -c).
  SSL_CTX_set_read_ahead(c, 1);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(c, kGroups) != 1)
    throw std::runtime_error("cipher configuration: " + lastError());
  if (SSL_CTX_use_certificate(c, cert.cert.get()) != 1 || SSL_CTX_use_PrivateKey(c, cert.key.get()) != 1 ||
      SSL_CTX_check_private_key(c) != 1)
    throw std::runtime_error("certificate: " + lastError());
  if (cert.chain) {
    for (int i = 0; i < sk_X509_num(cert.chain.get()); ++i) {
      X509* extra = sk_X509_value(cert.chain.get(), i);
      X509_up_ref(extra);
      SSL_CTX_add0_chain_cert(c, extra);
    }
  }
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const unsigned char*>(sid_ctx.data()),
                                 static_cast<unsigned>(sid_ctx.size()));
  return ctx;
}

void TlsFrontend::installHooks() {
  SSL_CTX* c = listenerContext();
  // On every host context, not only the listener's: after SSL_set_SSL_CTX OpenSSL calls the
  // callback of the SSL's current context, so a second ClientHello (after a
  // HelloRetryRequest) on a named host would otherwise go unseen: not checked, and its
  // tickets counted as if it were a first one.
  for (const auto& h : hosts_) {
    SSL_CTX_set_client_hello_cb(h.ctx.get(), &FrontendCallbacks::clientHello, this);
    SSL_CTX_set_alpn_select_cb(h.ctx.get(), &FrontendCallbacks::selectAlpn, this);
  }
  // Host contexts carry none, so OpenSSL falls back to this one (the session context's).
  SSL_CTX_set_tlsext_servername_callback(c, &FrontendCallbacks::afterResumptionDecision);
  // Our store replaces OpenSSL's internal cache, so a session made on one worker thread
  // resumes on any other, is bounded by bytes, and can be revoked.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_NO_AUTO_CLEAR);
  SSL_CTX_sess_set_new_cb(c, &FrontendCallbacks::newSession);
  SSL_CTX_sess_set_get_cb(c, &FrontendCallbacks::getSession);
  SSL_CTX_sess_set_remove_cb(c, &FrontendCallbacks::removeSession);
  auto longest = std::chrono::seconds{0};
  for (const auto& h : hosts_) longest = std::max(longest, h.policy.session_lifetime);
  SSL_CTX_set_timeout(c, static_cast<long>(longest.count()));
  installTicketHooks(c);
}

TicketResult judgeSessionChain(TlsFrontend& fe, ConnectionTls& st, SSL_SESSION* session) noexcept {
  void* raw = nullptr;
  size_t len = 0;
  if (SSL_SESSION_get0_ticket_appdata(session, &raw, &len) != 1) return TicketResult::malformed;
  const auto data = decodeTicketAppData({static_cast<const char*>(raw), len});
  if (!data) return TicketResult::malformed;
  const TimePoint now = fe.clock().now();
  const TicketResult verdict = judgeChain(fe.hostView(st.host), *data,
                                          SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION,
                                          st.offers_extms, fe.revocations(), now);
  if (verdict == TicketResult::revoked && st.counts()) fe.stats().onSessionRevokedAtResume();
  if (verdict != TicketResult::ok) return verdict;
  st.chain = *data;
  if (st.counts()) fe.stats().onResumptionAge(std::chrono::duration_cast<std::chrono::seconds>(now - data->issued_at));
  return TicketResult::ok;
}

namespace {
// DNS names compare without regard to case (RFC 4343); no name at all is a name too.
bool sameServerName(const char* made_for, std::string_view sni) noexcept {
  const std::string_view a = made_for ? std::string_view(made_for) : std::string_view();
  if (a.size() != sni.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(sni[i])) return false;
  }
  return true;
}
}  // namespace

TicketResult fitsHandshake(SSL* ssl, const SSL_SESSION* session, const ConnectionTls& st) noexcept {
  const int version = SSL_SESSION_get_protocol_version(session);
  if (version != SSL_version(ssl)) return TicketResult::wrong_version;
  if (version == TLS1_3_VERSION) {
    // RFC 8446 §4.2.11: a PSK is used only with a suite of its own hash (OpenSSL skips the
    // identity otherwise). The suite is chosen before the PSK extension is read.
    const SSL_CIPHER* chosen = SSL_get_pending_cipher(ssl);
    const SSL_CIPHER* made = SSL_SESSION_get0_cipher(session);
    if (chosen && made && SSL_CIPHER_get_handshake_digest(chosen) != SSL_CIPHER_get_handshake_digest(made))
      return TicketResult::cipher_not_offered;
    return TicketResult::ok;
  }
  if (!clientOffersCipherOf(ssl, session)) return TicketResult::cipher_not_offered;
  // RFC 6066 §3: "MUST NOT accept the request to resume the session if the server_name
  // extension contains a different name"; the name is the one stored at the full handshake.
  if (!sameServerName(SSL_SESSION_get0_hostname(session), st.sent_server_name))
    return TicketResult::server_name_mismatch;
  return TicketResult::ok;
}

bool clientOffersCipherOf(SSL* ssl, const SSL_SESSION* session) noexcept {
  if (SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION) return true;  // OpenSSL falls back by itself
  const SSL_CIPHER* cipher = SSL_SESSION_get0_cipher(session);
  if (!cipher) return false;
  const std::uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
  unsigned char* raw = nullptr;
  const std::size_t len = SSL_get0_raw_cipherlist(ssl, &raw);
  for (std::size_t i = 0; raw && i + 1 < len; i += 2)
    if (static_cast<std::uint16_t>((raw[i] << 8) | raw[i + 1]) == id) return true;
  return false;
}

bool TlsFrontend::pausedForRemoteLookup(int ssl_error) noexcept { return ssl_error == SSL_ERROR_WANT_CLIENT_HELLO_CB; }

std::string TlsFrontend::unsupported(std::span<const HostSpec>) { return {}; }

TlsFrontend::Library* TlsFrontend::makeLibrary() {
  auto lib = std::make_unique<Library>();
  lib->ticket_cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (!lib->ticket_cipher) throw std::runtime_error("cannot fetch AES-256-CBC: " + lastError());
  return lib.release();
}

void TlsFrontend::LibraryDeleter::operator()(Library* l) const noexcept { delete l; }

}  // namespace tlsresume::tls
