// OpenSSL's stateless ticket hooks: the key callback (RFC 5077 §4 construction, our
// per-host keys) and the ticket app data callbacks that carry and judge our chain record.
#include "openssl/hooks.hpp"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>
#include <stdexcept>

#include "tlsresume/ticket_app_data.hpp"

namespace tlsresume::tls {
namespace {

// A ticket of this many bytes or fewer holds no sealed state after its key name, IV and
// HMAC-SHA256: OpenSSL refuses it (tls_decrypt_ticket) after our key callback ran.
constexpr std::size_t kMinSealedBytes = 16 + 16 + 32;

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
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st) return 0;
    const auto snap = fe->keyring().snapshot();
    if (!snap) return 0;
    if (enc == 1) {
      const SealingKey* key = snap->current(st->host);
      if (!key) return 0;  // no current key: issue no ticket (session ids still work)
      if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(fe->library().ticket_cipher)) != 1) return -1;
      std::memcpy(key_name, key->name.data(), kKeyNameBytes);
      if (EVP_EncryptInit_ex(cctx, fe->library().ticket_cipher, nullptr, key->aes_key, iv) != 1 || !setMacKey(hctx, key->hmac_key))
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
    st->key_snapshot = snap;  // keeps `key` alive until `decrypt` counts it
    st->opened_key = key;
    if (EVP_DecryptInit_ex(cctx, fe->library().ticket_cipher, nullptr, key->aes_key, iv) != 1 || !setMacKey(hctx, key->hmac_key))
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
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    SSL_SESSION* session = SSL_get_session(ssl);
    if (!fe || !st || !session) return 1;
    const ResumptionPolicy& policy = fe->policy(st->host);
    const TimePoint now = fe->clock().now();
    TicketAppData data;
    data.issued_at = now;
    // A TLS 1.2 session gets the extended master secret iff the client offered it, on
    // the full handshake and (OpenSSL refuses a mismatch) on every resumption since.
    data.extms = SSL_version(ssl) != TLS1_3_VERSION && st->offers_extms;
    data.host_tag = fe->hostTag(st->host);
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

  static SSL_TICKET_RETURN decrypt(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                   SSL_TICKET_STATUS status, void*) noexcept {
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st) return SSL_TICKET_RETURN_IGNORE_RENEW;
    // The key the key callback found for this ticket (OpenSSL calls it, then this, for each
    // ticket in turn), taken for this call only; the snapshot keeps it alive meanwhile.
    const SealingKey* const opened_key = std::exchange(st->opened_key, nullptr);
    const std::shared_ptr<const KeySnapshot> opened_snapshot = std::move(st->key_snapshot);
    // After a HelloRetryRequest OpenSSL opens the same ticket again: counted once.
    NullStatsSink uncounted;
    StatsSink& stats = st->counts() ? fe->stats() : static_cast<StatsSink&>(uncounted);
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
    // The key the key callback found for this ticket, counted now that the MAC is checked.
    if (st->counts() && opened_key && opened_key->decrypts)
      opened_key->decrypts->fetch_add(1, std::memory_order_relaxed);
    if (const TicketResult fits = fitsHandshake(ssl, session, *st); fits != TicketResult::ok) {
      stats.onTicketOpen(fits);
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    const TicketResult verdict = judgeSessionChain(*fe, *st, session);
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

void installTicketHooks(SSL_CTX* listener) {
  SSL_CTX_set_tlsext_ticket_key_evp_cb(listener, &TicketCallbacks::keyCallback);
  SSL_CTX_set_session_ticket_cb(listener, &TicketCallbacks::generate, &TicketCallbacks::decrypt, nullptr);
}

}  // namespace tlsresume::tls
