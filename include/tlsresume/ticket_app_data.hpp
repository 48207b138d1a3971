#pragma once
// TicketAppData: the record the server puts into every ticket it issues
// (SSL_SESSION_set1_ticket_appdata) and checks on every resumption: when the ticket was
// issued (age, "revoke everything before T"), when the resumption chain began (a chain of
// renewed tickets cannot outlive the first full handshake's limit), which virtual host
// issued it, and a random resumption id (per-ticket revocation).
//
// Wire format, version 2 (42 bytes, big-endian, fixed size):
//   u8 version = 2 | u64 issued_at | u64 chain_started_at | u64 host_tag | 16 resumption_id
//   | u8 flags (bit 0: the TLS 1.2 session used the extended master secret; others zero)
// Version 1 (41 bytes, no flags byte) is still read, so that nodes sharing ticket keys
// can be upgraded one by one: its extms is taken as true, the safe guess (a client that
// offers the extended master secret resumes, and OpenSSL falls back by itself if the
// session had none; one that does not offer it gets a full handshake, never an alert).
// Times are whole seconds since the Unix epoch (sub-second parts are dropped on encoding).
//
// The record travels inside the encrypted and MACed ticket (RFC 5077 §4; RFC 8446 §4.6.1
// for TLS 1.3 tickets), so its version byte is authenticated by the ticket MAC: an
// attacker can neither forge nor downgrade it. The decoder is strict all the same: any
// other version, any other length, a time out of range or a chain that starts after the
// ticket was issued is rejected (nullopt), which means a full handshake.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tlsresume/clock.hpp"

namespace tlsresume {

inline constexpr std::uint8_t kTicketAppDataVersion = 2;
inline constexpr std::uint8_t kTicketAppDataVersion1 = 1;
inline constexpr std::size_t kTicketAppDataBytesV1 = 41;
inline constexpr std::size_t kResumptionIdBytes = 16;
inline constexpr std::size_t kTicketAppDataBytes = 1 + 8 + 8 + 8 + kResumptionIdBytes + 1;  // 42

struct TicketAppData {
  TimePoint issued_at{};
  TimePoint chain_started_at{};  // <= issued_at
  std::uint64_t host_tag = 0;    // hostTag(host id) of the issuing virtual host
  std::array<unsigned char, kResumptionIdBytes> resumption_id{};
  // RFC 7627: whether the (TLS 1.2) session's master secret is the extended one. OpenSSL
  // keeps this flag inside the session but offers no getter; resuming across a change of
  // it ends in a fatal alert, so the server records it where it can read it back.
  bool extms = false;
  bool operator==(const TicketAppData&) const = default;
};

// Times before the epoch are encoded as 0 (a wall clock never produces them).
std::string encodeTicketAppData(const TicketAppData& data);
std::optional<TicketAppData> decodeTicketAppData(std::string_view bytes) noexcept;

// First 8 bytes of SHA-256(host id), big-endian. The binding computes it once per virtual
// host at startup; 0 means hashing failed (treat as a startup error: a zero tag for every
// host would weaken the isolation check, though not the per-host ticket keys).
std::uint64_t hostTag(std::string_view host_id) noexcept;

// 16 bytes from RAND_bytes (public randomness: the id is an identifier, not a key).
// nullopt only if the RNG fails; the caller then issues no ticket.
std::optional<std::array<unsigned char, kResumptionIdBytes>> newResumptionId() noexcept;

}  // namespace tlsresume
