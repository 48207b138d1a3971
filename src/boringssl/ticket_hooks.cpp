// BoringSSL's ticket hooks: SSL_CTX_set_ticket_aead_method with our own format
// (ticket_format.hpp): stateless tickets sealed under the Keyring's per-host keys with
// AES-256-GCM and carrying our chain record, and TLS 1.3 stateful tickets, a random handle
// to a session kept in the SessionStore.
//
// What the method cannot say, and what follows from it:
// - open has no "renew" answer. TLS 1.3 needs none: BoringSSL sends num_tickets fresh
//   tickets after every handshake, resumed ones included (RFC 8446 appendix C.4). A TLS 1.2
//   ticket sealed under a key that no longer encrypts resumes but is not replaced; its
//   lifetime ends before its key is erased (decrypt_window >= session_lifetime), and the
//   client's next full handshake brings a ticket under the current key.
// - BoringSSL opens only the first PSK identity of a TLS 1.3 ClientHello.
// - A failing seal ends the handshake, so seal never fails: when it cannot seal (no
//   current key, no randomness, no memory) it issues random bytes, which open later counts
//   as an unknown key (a full handshake then, never now).
#include <openssl/crypto.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>
#include <vector>

#include "boringssl/hooks.hpp"
#include "boringssl/ticket_format.hpp"
#include "tlsresume/crypto.hpp"

namespace tlsresume::tls {
namespace {

namespace fmt = bssl_ticket;
static_assert(fmt::kNonceBytes == crypto::kGcmIvBytes && fmt::kTagBytes == crypto::kGcmTagBytes);
static_assert(fmt::kNameBytes <= kKeyNameBytes);
static_assert(fmt::kHandleBytes <= fmt::kOverheadBytes);

// A per-thread buffer for plaintext (chain record and session bytes), wiped after each use.
struct Scratch {
  std::vector<unsigned char>& bytes;
  explicit Scratch(std::size_t size) : bytes(buffer()) {
    if (bytes.size() < size) bytes.resize(size);
  }
  ~Scratch() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  static std::vector<unsigned char>& buffer() {
    thread_local std::vector<unsigned char> b;
    return b;
  }
};

// The key of `host` whose name starts with the ticket's first kNameBytes, if any.
const SealingKey* findKey(const KeySnapshot& snap, std::size_t host, const unsigned char* name) noexcept {
  for (const SealingKey& key : snap.keys(host))
    if (std::memcmp(key.name.data(), name, fmt::kNameBytes) == 0) return &key;
  return nullptr;
}

bool ownedByAnotherHost(const KeySnapshot& snap, std::size_t host, const unsigned char* name) noexcept {
  for (std::size_t h = 0; h < snap.hostCount(); ++h)
    if (h != host && findKey(snap, h, name)) return true;
  return false;
}

SessionPtr parseSession(const SSL* ssl, const unsigned char* bytes, std::size_t len) noexcept {
  return SessionPtr(SSL_SESSION_from_bytes(bytes, len, SSL_get_SSL_CTX(ssl)));
}

}  // namespace

// All of BoringSSL's integer protocols for tickets are converted here, in noexcept code.
struct TicketCallbacks {
  static std::size_t maxOverhead(SSL*) noexcept { return fmt::kOverheadBytes; }

  static int seal(SSL* ssl, std::uint8_t* out, std::size_t* out_len, std::size_t max_out_len, const std::uint8_t* in,
                  std::size_t in_len) noexcept {
    const ErrorScope errors;
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    bool sealed = false;
    if (fe && st && max_out_len >= in_len + fmt::kOverheadBytes) {
      try {
        const bool stateful =
            SSL_version(ssl) == TLS1_3_VERSION && fe->policy(st->host).tls13_tickets == Tls13Tickets::stateful;
        sealed = stateful ? sealStateful(*fe, *st, ssl, out, out_len, in, in_len)
                          : sealStateless(*fe, *st, ssl, out, out_len, in, in_len);
      } catch (...) {
        sealed = false;
      }
    }
    if (sealed) return 1;
    // See the file comment: random bytes that open will not know.
    *out_len = std::min(max_out_len, fmt::kOverheadBytes);
    if (RAND_bytes(out, *out_len) != 1) std::memset(out, 0, *out_len);
    return 1;
  }

  // The chain this ticket belongs to. It continues if BoringSSL resumed it, or if this
  // connection already started it (a full TLS 1.3 handshake sends several tickets: all
  // belong to one chain, so the id the connection reports revokes every one of them).
  static std::optional<TicketAppData> chainFor(TlsFrontend& fe, ConnectionTls& st, SSL* ssl) {
    TicketAppData data;
    data.issued_at = fe.clock().now();
    // A TLS 1.2 session keeps the extended master secret it was made with (RFC 7627).
    data.extms = SSL_version(ssl) != TLS1_3_VERSION && SSL_get_extms_support(ssl);
    data.host_tag = fe.hostTag(st.host);
    if (st.chain && (SSL_session_reused(ssl) || st.chain_minted)) {
      // A renewal keeps the chain's start and id: the chain cannot outlive
      // max_resumption_age, and revoking the id revokes every ticket of the chain.
      data.chain_started_at = st.chain->chain_started_at;
      data.resumption_id = st.chain->resumption_id;
    } else {
      data.chain_started_at = data.issued_at;
      const auto id = newResumptionId();
      if (!id) return std::nullopt;
      data.resumption_id = *id;
      st.chain = data;
      st.chain_minted = true;
    }
    return data;
  }

  static bool sealStateless(TlsFrontend& fe, ConnectionTls& st, SSL* ssl, std::uint8_t* out, std::size_t* out_len,
                            const std::uint8_t* in, std::size_t in_len) {
    const auto snap = fe.keyring().snapshot();
    const SealingKey* key = snap ? snap->current(st.host) : nullptr;
    if (!key) return false;
    const std::optional<TicketAppData> data = chainFor(fe, st, ssl);
    if (!data) return false;
    // The plaintext is assembled apart: BoringSSL may pass the same buffer as in and out.
    const std::size_t plain_len = fmt::kRecordBytes + in_len;
    Scratch plain(plain_len);
    if (!fmt::encodeRecord(*data, std::span<unsigned char, fmt::kRecordBytes>(plain.bytes.data(), fmt::kRecordBytes)))
      return false;
    std::memcpy(plain.bytes.data() + fmt::kRecordBytes, in, in_len);
    std::memcpy(out, key->name.data(), fmt::kNameBytes);
    unsigned char* nonce = out + fmt::kNameBytes;
    if (RAND_bytes(nonce, fmt::kNonceBytes) != 1) return false;
    const std::string_view aad(reinterpret_cast<const char*>(out), fmt::kNameBytes);
    unsigned char* body = out + fmt::kHeaderBytes;
    if (!crypto::aes256GcmSeal(key->aes_key, nonce, aad, plain.bytes.data(), plain_len, body, body + plain_len))
      return false;
    *out_len = fmt::kHeaderBytes + plain_len + fmt::kTagBytes;
    return true;
  }

  // TLS 1.3 stateful ticket: BoringSSL has no stateful mode of its own, so the session
  // goes into the store under a random handle and the ticket is that handle.
  static bool sealStateful(TlsFrontend& fe, ConnectionTls& st, SSL* ssl, std::uint8_t* out, std::size_t* out_len,
                           const std::uint8_t* in, std::size_t in_len) {
    const std::optional<TicketAppData> data = chainFor(fe, st, ssl);
    if (!data) return false;
    unsigned char handle[fmt::kHandleBytes];
    handle[0] = fmt::kHandleMarker;
    if (RAND_bytes(handle + 1, fmt::kHandleRandomBytes) != 1) return false;
    const TlsFrontend::Host& host = fe.host(st.host);
    const TimePoint expires = data->issued_at + host.policy.session_lifetime;
    const std::string_view id(reinterpret_cast<const char*>(data->resumption_id.data()), data->resumption_id.size());
    std::string value = encodeStoredSessionHeader(StoredKind::tls13, data->chain_started_at, expires, id, in_len);
    value.append(reinterpret_cast<const char*>(in), in_len);  // before `out` is written: they may be one buffer
    fe.store().put(TlsFrontend::storeKey(host.sid_ctx, handle, fmt::kHandleBytes), value, expires);
    OPENSSL_cleanse(value.data(), value.size());  // it holds the resumption secret
    // Padded to the session's length: open returns the session through a buffer as long
    // as the ticket.
    const std::size_t len = std::max(fmt::kHandleBytes, in_len);
    std::memcpy(out, handle, fmt::kHandleBytes);
    std::memset(out + fmt::kHandleBytes, 0, len - fmt::kHandleBytes);
    *out_len = len;
    return true;
  }

  static ssl_ticket_aead_result_t open(SSL* ssl, std::uint8_t* out, std::size_t* out_len, std::size_t max_out_len,
                                       const std::uint8_t* in, std::size_t in_len) noexcept {
    const ErrorScope errors;
    TlsFrontend* fe = frontendOf(ssl);
    ConnectionTls* st = TlsFrontend::state(ssl);
    if (!fe || !st) return ssl_ticket_aead_ignore_ticket;
    try {
      const bool stateful = SSL_version(ssl) == TLS1_3_VERSION &&
                            fe->policy(st->host).tls13_tickets == Tls13Tickets::stateful &&
                            in_len >= fmt::kHandleBytes && in[0] == fmt::kHandleMarker;
      return stateful ? openStateful(*fe, *st, ssl, out, out_len, max_out_len, in, in_len)
                      : openStateless(*fe, *st, ssl, out, out_len, max_out_len, in, in_len);
    } catch (...) {
      return ssl_ticket_aead_ignore_ticket;  // out of memory: a full handshake
    }
  }

  // Every refusal is a full handshake, never an alert (RFC 5077 §3.3), counted by reason.
  static ssl_ticket_aead_result_t openStateless(TlsFrontend& fe, ConnectionTls& st, SSL* ssl, std::uint8_t* out,
                                                std::size_t* out_len, std::size_t max_out_len, const std::uint8_t* in,
                                                std::size_t in_len) {
    NullStatsSink uncounted;
    StatsSink& stats = st.counts() ? fe.stats() : static_cast<StatsSink&>(uncounted);
    ++st.tickets_opened;
    st.ticket_key_seen = true;
    const auto refuse = [&](TicketResult why) {
      st.ticket_result = why;
      stats.onTicketOpen(why);
      return ssl_ticket_aead_ignore_ticket;
    };
    // Too short to name a key, or longer than any we issue (CVE-2016-6302 class).
    if (in_len < fmt::kNameBytes || in_len > fmt::kMaxTicketBytes) return refuse(TicketResult::malformed);
    const auto snap = fe.keyring().snapshot();
    const SealingKey* key = snap ? findKey(*snap, st.host, in) : nullptr;
    if (!key) {
      // A rotated-out key, another server's ticket, or another host's.
      return refuse(snap && ownedByAnotherHost(*snap, st.host, in) ? TicketResult::foreign_host
                                                                   : TicketResult::unknown_key);
    }
    st.ticket_key_found = true;
    if (in_len < fmt::kOverheadBytes) return refuse(TicketResult::malformed);
    const std::size_t plain_len = in_len - fmt::kOverheadBytes + fmt::kRecordBytes;
    Scratch plain(plain_len);
    const std::string_view aad(reinterpret_cast<const char*>(in), fmt::kNameBytes);
    const unsigned char* body = in + fmt::kHeaderBytes;
    // The tag is checked (in constant time) before anything decrypted is used.
    if (!crypto::aes256GcmOpen(key->aes_key, in + fmt::kNameBytes, aad, body, plain_len, body + plain_len,
                               plain.bytes.data()))
      return refuse(TicketResult::bad_mac);
    // Counted only now that the tag is checked: key names travel in clear, so counting
    // earlier would let anyone inflate a key's count.
    if (st.counts() && key->decrypts) key->decrypts->fetch_add(1, std::memory_order_relaxed);
    const std::optional<TicketAppData> data = fmt::decodeRecord(
        std::span<const unsigned char, fmt::kRecordBytes>(plain.bytes.data(), fmt::kRecordBytes), fe.hostTag(st.host));
    const unsigned char* session_bytes = plain.bytes.data() + fmt::kRecordBytes;
    const std::size_t session_len = plain_len - fmt::kRecordBytes;
    const SessionPtr session = data ? parseSession(ssl, session_bytes, session_len) : nullptr;
    if (!session || session_len > max_out_len) return refuse(TicketResult::malformed);
    if (const TicketResult fits = fitsHandshake(ssl, session.get()); fits != TicketResult::ok) return refuse(fits);
    const bool tls13 = SSL_version(ssl) == TLS1_3_VERSION;
    const TicketResult verdict = judgeAndRecord(fe, st, *data, tls13);
    if (verdict == TicketResult::extms_dropped) {
      // RFC 7627 §5.3: the server MUST abort. Handed to BoringSSL, which does
      // (handshake_failure).
      stats.onTicketOpen(verdict);
      st.keep_on_alert = true;
    } else if (verdict != TicketResult::ok) {
      return refuse(verdict);
    } else {
      // A TLS 1.3 ticket under a key that no longer encrypts is replaced by the tickets
      // BoringSSL sends after every resumption, sealed under the current key.
      stats.onTicketOpen(tls13 && key->state != KeyState::current ? TicketResult::renewed : TicketResult::ok);
      st.ticket_opened = true;
    }
    std::memcpy(out, session_bytes, session_len);
    *out_len = session_len;
    return ssl_ticket_aead_success;
  }

  // Looked up and judged as a stored session is: it stays in the store for as long as it
  // may resume (OpenSSL's stateful TLS 1.3 tickets can be offered again too), and leaves it
  // when judged expired, revoked or unreadable. No ticket count, as for session ids; the
  // chain's age and revocation apply as for any chain.
  static ssl_ticket_aead_result_t openStateful(TlsFrontend& fe, ConnectionTls& st, SSL* ssl, std::uint8_t* out,
                                               std::size_t* out_len, std::size_t max_out_len, const std::uint8_t* in,
                                               std::size_t in_len) {
    // The handle names the session; the rest must be the zeros seal wrote, so that one
    // ticket has one encoding and an altered one is a miss, as an altered session id is.
    for (std::size_t i = fmt::kHandleBytes; i < in_len; ++i)
      if (in[i] != 0) return ssl_ticket_aead_ignore_ticket;
    const TlsFrontend::Host& host = fe.host(st.host);
    const std::string key = TlsFrontend::storeKey(host.sid_ctx, in, fmt::kHandleBytes);
    thread_local std::string stored;
    if (!fe.store().get(key, stored)) return ssl_ticket_aead_ignore_ticket;
    struct Wipe {
      std::string& s;
      ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
    } wipe{stored};
    const std::optional<StoredSessionView> view = decodeStoredSession(stored);
    // Seal padded the handle to exactly the session's length: any other length is not this
    // session's ticket.
    if (view && std::max(fmt::kHandleBytes, view->der.size()) != in_len) return ssl_ticket_aead_ignore_ticket;
    if (view && view->der.size() > max_out_len) return ssl_ticket_aead_ignore_ticket;
    const auto* der = view ? reinterpret_cast<const unsigned char*>(view->der.data()) : nullptr;
    const SessionPtr session =
        view && view->kind == StoredKind::tls13 ? parseSession(ssl, der, view->der.size()) : nullptr;
    const std::optional<TicketAppData> chain = view ? storedChain(*view, fe, st.host) : std::nullopt;
    if (!session || !chain) {
      fe.store().erase(key);  // no session can come of it
      return ssl_ticket_aead_ignore_ticket;
    }
    // Kept in the store: the client may offer it again where it fits.
    if (fitsHandshake(ssl, session.get()) != TicketResult::ok) return ssl_ticket_aead_ignore_ticket;
    if (judgeAndRecord(fe, st, *chain, true) != TicketResult::ok) {
      fe.store().erase(key);
      return ssl_ticket_aead_ignore_ticket;
    }
    std::memcpy(out, der, view->der.size());
    *out_len = view->der.size();
    st.cache_hit = true;
    return ssl_ticket_aead_success;
  }
};

void installTicketHooks(TlsFrontend::Library& library, SSL_CTX* listener) {
  library.ticket_method.max_overhead = &TicketCallbacks::maxOverhead;
  library.ticket_method.seal = &TicketCallbacks::seal;
  library.ticket_method.open = &TicketCallbacks::open;
  SSL_CTX_set_ticket_aead_method(listener, &library.ticket_method);
}

}  // namespace tlsresume::tls
