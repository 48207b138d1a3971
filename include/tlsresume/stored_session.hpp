#pragma once
// StoredSession: the record a session store keeps for one stateful resumption (a TLS 1.2
// session id or a TLS 1.3 stateful ticket). In fleet mode it is written by one process and
// read by another (through Redis), so it is a versioned format with a strict decoder.
//
// Wire format, version 1 (big-endian):
//   u8 version = 1 | u8 kind | u64 start | u64 expires | u8 id_len | id[id_len] | DER
// kind: the protocol and, for TLS 1.2, whether the master secret is the extended one
//   (RFC 7627; OpenSSL keeps that flag in the session but has no getter).
// start: what "revoke everything before T" judges the session by: its resumption chain's
//   start when the session carries our ticket app data, otherwise its issue time.
// id: the chain's resumption id (per-chain revocation), empty when there is none; at most
//   32 bytes.
// expires: when the session stops resuming (issue time + the host's session lifetime), so
//   a store that receives the record from elsewhere gives it the right TTL.
// DER: OpenSSL's i2d_SSL_SESSION encoding; it holds the master secret. Callers wipe every
//   buffer that held a record.
//
// Redis is trusted as far as the operator's ACL and TLS make it so; the record carries no
// MAC of its own. The decoder is strict all the same: another version, an unknown kind, an
// id over 32 bytes, a start after the expiry or an empty DER is refused (nullopt), which
// means a cache miss and a full handshake.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tlsresume/clock.hpp"

namespace tlsresume {

inline constexpr std::uint8_t kStoredSessionVersion = 1;
inline constexpr std::size_t kStoredSessionFixedBytes = 1 + 1 + 8 + 8 + 1;
inline constexpr std::size_t kStoredSessionMaxIdBytes = 32;

enum class StoredKind : std::uint8_t { tls13 = 0, tls12 = 1, tls12_extms = 2 };

struct StoredSessionView {  // points into the decoded bytes
  StoredKind kind = StoredKind::tls13;
  TimePoint start{};
  TimePoint expires{};
  std::string_view id;
  std::string_view der;
};

// Everything but the DER, which the caller appends (i2d_SSL_SESSION writes in place, so
// the session's secret is never copied through a temporary). `reserve_der` sizes the
// string for it. Times before the epoch are encoded as 0; an id over 32 bytes is cut.
std::string encodeStoredSessionHeader(StoredKind kind, TimePoint start, TimePoint expires, std::string_view id,
                                      std::size_t reserve_der = 0);
std::optional<StoredSessionView> decodeStoredSession(std::string_view bytes) noexcept;

}  // namespace tlsresume
