#pragma once
// FleetKeyRecord: how one ticket master key travels between the servers of a fleet (held
// in Redis), with its schedule and the node that made it.
//
// Wire format, version 1 (big-endian):
//   u8 version = 1 | u8 flags | u64 created_at | u64 current_from | u64 current_until
//   | u64 erase_at | u8 creator_len | creator | payload
// flags bit 0: the payload is wrapped. Plain payload: the 80 bytes of material
// (aes || hmac || name). Wrapped: 12-byte IV | 80 bytes AES-256-GCM ciphertext | 16-byte
// tag, with every byte before the payload as additional data, so neither the material
// nor its schedule can be read or changed without the wrap key. Times are Unix seconds.
//
// With a wrap key, a plain record is refused: whoever can write to Redis could otherwise
// hand the fleet a key they know. Without one, a wrapped record is refused (it cannot be
// opened). Refused or malformed records are never adopted: the keyring keeps what it has.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tlsresume/keyring.hpp"
#include "tlsresume/secure_buffer.hpp"

namespace tlsresume {

inline constexpr std::uint8_t kFleetKeyRecordVersion = 1;
inline constexpr std::size_t kKeyWrapBytes = 32;

// The operator's wrap key (key_wrap_file). AES-256-GCM; the cipher is fetched once.
class KeyWrap {
 public:
  // 32 raw bytes, or 64 hex digits (whitespace around them ignored). Throws
  // std::invalid_argument with a reason that never repeats the bytes.
  static KeyWrap fromFileContents(std::string_view contents);
  explicit KeyWrap(SecureBuffer key);
  const unsigned char* key() const noexcept { return key_.data(); }

 private:
  SecureBuffer key_;
};

struct FleetKeyRecord {
  MasterKey key;  // shared = true
  std::string creator;
};

// Empty on failure (out of memory, no randomness for the IV).
std::string encodeFleetKeyRecord(const MasterKey& key, std::string_view creator, const KeyWrap* wrap);
std::optional<FleetKeyRecord> decodeFleetKeyRecord(std::string_view bytes, const KeyWrap* wrap) noexcept;

}  // namespace tlsresume
