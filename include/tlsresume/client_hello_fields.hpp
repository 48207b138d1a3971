#pragma once
// Strict parsers for the ClientHello extensions the server reads before OpenSSL decides
// anything (the client-hello callback sees raw extension bytes). Every length field is
// checked against the bytes actually present: a lying length means "not parsed", never
// an out-of-bounds read. Each has a libFuzzer target in tests/fuzz/.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsresume {

// server_name (RFC 6066 §3): the host_name entry, lower-cased. nullopt when malformed,
// when there is no host_name, or when the name is not a plausible DNS name.
std::optional<std::string> parseServerName(std::string_view ext) noexcept;

// supported_versions (RFC 8446 §4.2.1), ClientHello form: does the list offer `version`?
// nullopt when malformed.
std::optional<bool> offersVersion(std::string_view ext, std::uint16_t version) noexcept;

// psk_key_exchange_modes (RFC 8446 §4.2.9): which modes are offered. nullopt when malformed.
struct PskModesOffered {
  bool psk_ke = false;
  bool psk_dhe_ke = false;
};
std::optional<PskModesOffered> parsePskModes(std::string_view ext) noexcept;

}  // namespace tlsresume
