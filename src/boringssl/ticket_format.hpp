#pragma once
// The bytes of a ticket on BoringSSL, where SSL_CTX_set_ticket_aead_method lets the format be
// ours. Pure functions: no TLS calls, no keys held.
//
// Stateless ticket, version 1:
//   name[4] | nonce[12] | AES-256-GCM(record[25] | session) | tag[16]      (AAD = name[4])
// - name: the first 4 bytes of the per-host key's 16-byte name. The name only picks which
//   of the few live keys (a handful per host) to try; it is public and no secret rests on
//   it: a wrong pick fails the tag. 4 bytes make a clash between two live keys of a
//   listener about n^2 / 2^33 (under 2e-5 for 400 keys) and a random or forged name
//   hitting a live key 1 in 2^32 per key: either costs one full handshake, counted as a
//   bad tag. 2 bytes would clash routinely; the full 16 buy nothing more.
// - nonce: random per ticket (GCM's 96-bit IV; NIST SP 800-38D §8.3 bounds one key to 2^32
//   random IVs, far above the tickets one key seals in its encrypting period).
// - record: the chain record of tlsresume/ticket_app_data.hpp without the bytes the ticket
//   already implies: u8 (version 1 << 4 | bit 0: extended master secret) | u32 issue time
//   (seconds since the epoch, until 2106) | u32 seconds from the chain's start to the issue
//   | 16-byte resumption id. The host tag is implied by the key (each key is one host's,
//   HKDF-derived from the master and the host id), so it is not carried; the engine's codec
//   is untouched. The record is inside the sealed part: authenticated and secret.
// - session: BoringSSL's own serialization (SSL_SESSION_to_bytes_for_ticket).
//
// Stateful TLS 1.3 ticket: kHandleMarker | 16 random bytes | zero padding. The session is
// in the store under the host's prefix and the first kHandleBytes; the ticket holds no
// secret. The padding exists because BoringSSL gives the open callback an output buffer as
// long as the ticket, and open must return the stored session through it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tlsresume/ticket_app_data.hpp"

namespace tlsresume::tls::bssl_ticket {

inline constexpr std::size_t kNameBytes = 4;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kHeaderBytes = kNameBytes + kNonceBytes;
inline constexpr std::size_t kRecordBytes = 1 + 4 + 4 + kResumptionIdBytes;             // 25
inline constexpr std::size_t kOverheadBytes = kHeaderBytes + kRecordBytes + kTagBytes;  // 57
// No ticket we issue is longer: a longer one is refused unread (malformed). Our sessions
// hold no peer certificate, so their bytes stay in the hundreds.
inline constexpr std::size_t kMaxTicketBytes = 2048;

inline constexpr unsigned char kHandleMarker = 0xA1;
inline constexpr std::size_t kHandleRandomBytes = 16;
inline constexpr std::size_t kHandleBytes = 1 + kHandleRandomBytes;  // the part that names the session

// The record of `data` into out (kRecordBytes); false when a time does not fit (before the
// epoch, after 2106, or a chain that starts after the issue).
bool encodeRecord(const TicketAppData& data, std::span<unsigned char, kRecordBytes> out) noexcept;
// The record back, with `host_tag` (the tag of the host whose key opened the ticket).
// nullopt on another version, unknown flags or an inconsistent time.
std::optional<TicketAppData> decodeRecord(std::span<const unsigned char, kRecordBytes> in,
                                          std::uint64_t host_tag) noexcept;

}  // namespace tlsresume::tls::bssl_ticket
