#include "openssl/ticket_binding.hpp"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

#include "tlsresume/ticket_app_data.hpp"

namespace tlsresume::ossl {
namespace {

// A ticket of this many bytes or fewer holds no sealed state after its key name, IV and
// HMAC-SHA256: OpenSSL refuses it (tls_decrypt_ticket) after our key callback ran.
constexpr std::size_t kMinSealedBytes = 16 + 16 + 32;

TicketBinding* bindingOf(SSL* ssl) {
  // The listener context carries the frontend; the frontend knows its ticket binding.
  auto* fe = static_cast<TlsFrontend*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  return fe ? fe->tickets() : nullptr;
}

bool setMacKey(EVP_MAC_CTX* hctx, const unsigned char* key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key), kHmacKeyBytes),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

}  // namespace

// All OpenSSL integer protocols of the ticket hooks are converted here, in noexcept code.
struct TicketCallbacks {
  // RFC 5077 §4 recommended construction: key_name || IV || AES-256-CBC(state) ||
  // HMAC-SHA256 over all of that. OpenSSL checks the MAC (in constant time) before it
  // decrypts or parses anything; we only choose the keys.
  static int keyCallback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                         int enc) noexcept {
    TicketBinding* tb = bindingOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!tb || !st) return 0;
    const auto snap = tb->keyring().snapshot();
    if (!snap) return 0;
    if (enc == 1) {
      const SealingKey* key = snap->current(st->host);
      if (!key) return 0;  // no current key: issue no ticket (session ids still work)
      if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(tb->cipher())) != 1) return -1;
      std::memcpy(key_name, key->name.data(), kKeyNameBytes);
      if (EVP_EncryptInit_ex(cctx, tb->cipher(), nullptr, key->aes_key, iv) != 1 || !setMacKey(hctx, key->hmac_key))
        return -1;
      return 1;
    }
    st->ticket_key_seen = true;
    const SealingKey* key = snap->find(st->host, key_name);
    if (!key) {
      // Unknown name: a rotated-out key, another server's ticket, or another host's.
      // Never an alert: a full handshake (RFC 5077 §3.3).
      const auto owner = snap->hostOwning(key_name);
      st->ticket_result = owner && *owner != st->host ? TicketResult::foreign_host : TicketResult::unknown_key;
      return 0;
    }
    st->ticket_key_found = true;
    if (EVP_DecryptInit_ex(cctx, tb->cipher(), nullptr, key->aes_key, iv) != 1 || !setMacKey(hctx, key->hmac_key))
      return -1;
    // The decrypt count is taken in `decrypt`, once OpenSSL has checked the MAC: key
    // names travel in clear, so counting here would let anyone inflate a key's count.
    // A ticket sealed with a key that no longer encrypts resumes and is replaced by one
    // under the current key.
    return key->state == KeyState::current ? 1 : 2;
  }

  // OpenSSL treats 0 from the generate callback as a fatal internal_error. Whatever goes
  // wrong here (no randomness, no memory) the ticket goes out without our app data, and
  // `decrypt` refuses such a ticket later as malformed: a full handshake then, never now.
  static int generate(SSL* ssl, void* arg) noexcept {
    try {
      return generateAppData(ssl, arg);
    } catch (...) {
      return 1;
    }
  }

  static int generateAppData(SSL* ssl, void*) {
    TicketBinding* tb = bindingOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    SSL_SESSION* session = SSL_get_session(ssl);
    if (!tb || !st || !session) return 1;
    const ResumptionPolicy& policy = tb->frontend().policy(st->host);
    const TimePoint now = tb->frontend().clock().now();
    TicketAppData data;
    data.issued_at = now;
    // A TLS 1.2 session gets the extended master secret iff the client offered it, on
    // the full handshake and (OpenSSL refuses a mismatch) on every resumption since.
    data.extms = SSL_version(ssl) != TLS1_3_VERSION && st->offers_extms;
    data.host_tag = tb->frontend().hostTag(st->host);
    // The chain continues if OpenSSL resumed it, or if this connection already started it
    // (a full TLS 1.3 handshake sends several tickets: all belong to one chain, so the id
    // the connection reports revokes every one of them).
    if (st->chain && (SSL_session_reused(ssl) || st->chain_minted)) {
      // A renewal keeps the chain's start and id: the chain cannot outlive
      // max_resumption_age, and revoking the id revokes every ticket of the chain.
      data.chain_started_at = st->chain->chain_started_at;
      data.resumption_id = st->chain->resumption_id;
    } else {
      data.chain_started_at = now;
      const auto id = newResumptionId();
      if (!id) return 1;  // see generate()
      data.resumption_id = *id;
      st->chain = data;
      st->chain_minted = true;
    }
    const std::string encoded = encodeTicketAppData(data);
    // The lifetime hint (TLS 1.2) and ticket_lifetime (TLS 1.3) come from the session's
    // timeout; the host's own lifetime, not the listener's longest.
    SSL_SESSION_set_timeout(session, static_cast<long>(policy.session_lifetime.count()));
    // A renewed TLS 1.2 ticket carries the resumed session (OpenSSL makes a new one per
    // ticket only in TLS 1.3), whose time is the chain's first handshake: OpenSSL's own
    // expiry check would end the renewed ticket at the old one's end. It lives a lifetime
    // from now, as our app data says; max_resumption_age still bounds the chain.
    SSL_SESSION_set_time(session, static_cast<long>(
                                      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
    SSL_SESSION_set1_ticket_appdata(session, encoded.data(), encoded.size());
    return 1;
  }

  static SSL_TICKET_RETURN decrypt(SSL* ssl, SSL_SESSION* session, const unsigned char* key_name,
                                   size_t key_name_len, SSL_TICKET_STATUS status, void*) noexcept {
    TicketBinding* tb = bindingOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!tb || !st) return SSL_TICKET_RETURN_IGNORE_RENEW;
    // After a HelloRetryRequest OpenSSL opens the same ticket again: counted once.
    NullStatsSink uncounted;
    StatsSink& stats = st->counts() ? tb->frontend().stats() : static_cast<StatsSink&>(uncounted);
    // Which ticket this is, for its length: OpenSSL opens a ClientHello's in order.
    const std::size_t index = st->tickets_opened++;
    const std::size_t length = SSL_version(ssl) != TLS1_3_VERSION ? st->tls12_ticket_length
                               : index < st->psk_identities.count ? st->psk_identities.length[index]
                                                                   : 0;
    switch (status) {
      case SSL_TICKET_EMPTY:
        return SSL_TICKET_RETURN_IGNORE_RENEW;  // the client asks for a ticket
      case SSL_TICKET_NO_DECRYPT:
        // Our key callback told us "unknown key" or "foreign host"; if it found the key,
        // the MAC or the padding was wrong, unless the ticket cannot even hold a name, an
        // IV and a MAC (OpenSSL checks that only after asking for the key); if it was never
        // asked, the ticket was too short for a name and an IV (CVE-2016-6302 class).
        stats.onTicketOpen(st->ticket_result                                 ? *st->ticket_result
                           : st->ticket_key_found && (length == 0 || length > kMinSealedBytes)
                               ? TicketResult::bad_mac
                               : TicketResult::malformed);
        return SSL_TICKET_RETURN_IGNORE_RENEW;
      case SSL_TICKET_FATAL_ERR_MALLOC:
      case SSL_TICKET_FATAL_ERR_OTHER:
        stats.onTicketOpen(TicketResult::malformed);
        return SSL_TICKET_RETURN_IGNORE_RENEW;
      case SSL_TICKET_SUCCESS:
      case SSL_TICKET_SUCCESS_RENEW:
        break;
      default:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    if (st->counts() && key_name && key_name_len == kKeyNameBytes)
      if (const auto snap = tb->keyring().snapshot())
        if (const SealingKey* key = snap->find(st->host, key_name); key && key->decrypts)
          key->decrypts->fetch_add(1, std::memory_order_relaxed);
    if (const TicketResult fits = fitsHandshake(ssl, session, *st); fits != TicketResult::ok) {
      stats.onTicketOpen(fits);
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    const TicketResult verdict = tb->frontend().judgeAppData(*st, session);
    if (verdict == TicketResult::extms_dropped) {
      // RFC 7627 §5.3: the server MUST abort. Handed to OpenSSL, which does (handshake_failure).
      stats.onTicketOpen(verdict);
      return SSL_TICKET_RETURN_USE;
    }
    stats.onTicketOpen(verdict == TicketResult::ok && status == SSL_TICKET_SUCCESS_RENEW ? TicketResult::renewed
                                                                                         : verdict);
    if (verdict != TicketResult::ok) return SSL_TICKET_RETURN_IGNORE_RENEW;
    st->ticket_opened = true;
    // TLS 1.3: always renew. OpenSSL sends no NewSessionTicket after a resumption unless
    // asked to, and RFC 8446 appendix C.4 tells clients not to reuse a ticket, so without
    // renewal a client's next connection would be a full handshake. TLS 1.2 tickets may be
    // reused, so they are renewed only when sealed by a key that no longer encrypts.
    const bool renew = status == SSL_TICKET_SUCCESS_RENEW || SSL_version(ssl) == TLS1_3_VERSION;
    return renew ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
  }
};

TicketBinding::TicketBinding(TlsFrontend& frontend, Keyring& keyring) : frontend_(frontend), keyring_(keyring) {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (!cipher_) throw std::runtime_error("cannot fetch AES-256-CBC: " + lastError());
  SSL_CTX* ctx = frontend.listenerContext();
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketCallbacks::keyCallback);
  SSL_CTX_set_session_ticket_cb(ctx, &TicketCallbacks::generate, &TicketCallbacks::decrypt, this);
  frontend.setTickets(this);
}

TicketBinding::~TicketBinding() {
  frontend_.setTickets(nullptr);
  EVP_CIPHER_free(cipher_);
}

}  // namespace tlsresume::ossl
