// What every library's binding shares: the host table, store keys, and the judgement of a
// resumption chain. The library's hooks are in src/<library>/.
#include "tls/tls_frontend.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>

#include <openssl/sha.h>

#include "tlsresume/hex.hpp"
#include "tlsresume/stored_session.hpp"

namespace tlsresume::tls {
namespace {

std::string hostSessionIdContext(const std::string& host_name) {
  // Deterministic, so every node of a fleet (whatever its library) derives the same
  // context for a host.
  const std::string label = "tlsresume host " + host_name;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(label.data()), label.size(), digest);
  static_assert(SHA256_DIGEST_LENGTH <= SSL_MAX_SID_CTX_LENGTH);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// The SSL's ex_data slot for its ConnectionTls, freed with the SSL.
int connectionIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<ConnectionTls*>(ptr); });
  return index;
}

}  // namespace

TlsFrontend::TlsFrontend(const std::vector<HostSpec>& hosts, SessionStore& store, RevocationList& revocations,
                         StatsSink& stats, const Clock& clock, Keyring& keyring)
    : library_(makeLibrary()), store_(store), revocations_(revocations), stats_(stats), clock_(clock), keyring_(keyring) {
  if (hosts.empty()) throw std::invalid_argument("TlsFrontend needs at least one host");
  if (const std::string why = unsupported(hosts); !why.empty()) throw std::invalid_argument(why);
  connectionIndex();  // allocate the ex_data slot before any thread races for it
  for (const auto& spec : hosts) {
    Host h;
    h.name = spec.name;
    h.server_names = spec.server_names;
    for (auto& n : h.server_names) std::transform(n.begin(), n.end(), n.begin(), ::tolower);
    h.policy = spec.policy;
    h.sid_ctx = hostSessionIdContext(spec.name);
    h.tag = tlsresume::hostTag(spec.name);
    for (const auto& proto : spec.alpn) {
      h.alpn_wire.push_back(static_cast<char>(proto.size()));
      h.alpn_wire.append(proto);
    }
    h.ctx = makeContext(spec.cert, h.sid_ctx);
    SSL_CTX_set_app_data(h.ctx.get(), this);
    hosts_.push_back(std::move(h));
  }
  installHooks();
}

TlsFrontend::~TlsFrontend() = default;

SslPtr TlsFrontend::newConnection() const {
  SslPtr ssl(SSL_new(listenerContext()));
  if (!ssl) return nullptr;
  auto* st = new (std::nothrow) ConnectionTls();
  if (!st || SSL_set_ex_data(ssl.get(), connectionIndex(), st) != 1) {
    delete st;
    return nullptr;
  }
  return ssl;
}

ConnectionTls* TlsFrontend::state(const SSL* ssl) noexcept {
  return static_cast<ConnectionTls*>(SSL_get_ex_data(ssl, connectionIndex()));
}

// Which hook accepted the session tells the kinds apart; the library only says "reused".
HandshakeKind TlsFrontend::handshakeKind(const SSL* ssl) const noexcept {
  if (!SSL_session_reused(const_cast<SSL*>(ssl))) return HandshakeKind::full;
  const ConnectionTls* st = state(ssl);
  if (st && st->ticket_opened) return HandshakeKind::ticket;
  if (st && st->cache_hit)
    return SSL_version(ssl) == TLS1_3_VERSION ? HandshakeKind::stateful_ticket : HandshakeKind::session_id;
  return HandshakeKind::ticket;
}

std::size_t TlsFrontend::hostForServerName(std::string_view sni) const noexcept {
  if (sni.empty()) return 0;
  for (std::size_t i = 1; i < hosts_.size(); ++i) {
    for (const auto& pattern : hosts_[i].server_names) {
      if (pattern == sni) return i;
      // "*.example.com" matches exactly one more label.
      if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
        const std::string_view suffix = std::string_view(pattern).substr(1);
        if (sni.size() > suffix.size() && sni.ends_with(suffix) &&
            sni.substr(0, sni.size() - suffix.size()).find('.') == std::string_view::npos)
          return i;
      }
    }
  }
  return 0;
}

TicketResult judgeChain(const HostPolicyView& host, const TicketAppData& data, bool tls13, bool offers_extms,
                        const RevocationList& revocations, TimePoint now) noexcept {
  if (data.host_tag != host.tag) return TicketResult::foreign_host;
  if (now >= data.issued_at + host.policy->session_lifetime ||
      now >= data.chain_started_at + host.policy->max_resumption_age)
    return TicketResult::expired;
  const std::string_view id{reinterpret_cast<const char*>(data.resumption_id.data()), data.resumption_id.size()};
  // "Everything issued before T" is judged by the chain's start, not this ticket's issue:
  // a renewal re-issues what the chain's first full handshake established (the same
  // master secret in TLS 1.2, PSKs derived from it in TLS 1.3), so a chain that began
  // before T is as exposed as its first ticket.
  if (revocations.isRevoked(host.name, id, data.chain_started_at)) return TicketResult::revoked;
  // RFC 7627 §5.3 (see TicketResult::extms_mismatch and extms_dropped). After expiry and
  // revocation, so that those are counted for what they are.
  if (!tls13 && data.extms != offers_extms)
    return data.extms ? TicketResult::extms_dropped : TicketResult::extms_mismatch;
  return TicketResult::ok;
}

std::string hexId(std::span<const unsigned char> bytes) { return toHex(bytes.data(), bytes.size()); }

std::size_t TlsFrontend::forgetRevoked() noexcept {
  return store_.eraseIf([this](std::string_view key, std::string_view value) {
    const std::optional<StoredSessionView> view = decodeStoredSession(value);
    if (!view) return true;  // not ours to keep: no session can come of it
    for (const Host& h : hosts_) {
      if (!key.starts_with(std::string_view(h.sid_ctx).substr(0, kStoreKeyHostPrefix))) continue;
      // The judgements the session lookup and judgeChain make when the session is
      // offered: by its session id (the key's tail) and by its chain's resumption id.
      return revocations_.isRevoked(h.name, key.substr(kStoreKeyHostPrefix), view->start) ||
             (!view->id.empty() && revocations_.isRevoked(h.name, view->id, view->start));
    }
    return false;
  });
}

std::vector<std::string> TlsFrontend::storeKeysFor(std::string_view id) const {
  std::vector<std::string> keys;
  for (const Host& h : hosts_)
    keys.push_back(storeKey(h.sid_ctx, reinterpret_cast<const unsigned char*>(id.data()), static_cast<unsigned>(id.size())));
  return keys;
}

std::string TlsFrontend::storeKeyHostPrefix(std::string_view name) const {
  for (const Host& h : hosts_)
    if (h.name == name) return h.sid_ctx.substr(0, kStoreKeyHostPrefix);
  return {};
}

std::string TlsFrontend::storeKey(std::string_view sid_ctx, const unsigned char* id, unsigned id_len) {
  std::string key;
  // 8 bytes of the context's hash tell hosts apart; the full 32 would double the key size.
  sid_ctx = sid_ctx.substr(0, kStoreKeyHostPrefix);
  key.reserve(sid_ctx.size() + id_len);
  key.append(sid_ctx);
  key.append(reinterpret_cast<const char*>(id), id_len);
  return key;
}

}  // namespace tlsresume::tls
