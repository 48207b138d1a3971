#pragma once
// Strict parsers for the ClientHello extensions the server reads before OpenSSL decides
// anything (the client-hello callback sees raw extension bytes). Every length field is
// checked against the bytes actually present: a lying length means "not parsed", never
// an out-of-bounds read. Each has a libFuzzer target in tests/fuzz/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsresume {

// server_name (RFC 6066 §3): the host_name entry, lower-cased. nullopt when malformed,
// when there is no host_name, or when the name is not a plausible DNS name.
std::optional<std::string> parseServerName(std::string_view ext) noexcept;

// The host_name entry's bytes exactly as sent (a view into `ext`), plausible or not: what
// OpenSSL stores in a session it acknowledges the name for. nullopt when malformed or
// when there is no host_name.
std::optional<std::string_view> serverNameBytes(std::string_view ext) noexcept;

// supported_versions (RFC 8446 §4.2.1), ClientHello form: does the list offer `version`?
// nullopt when malformed.
std::optional<bool> offersVersion(std::string_view ext, std::uint16_t version) noexcept;

// pre_shared_key (RFC 8446 §4.2.11), ClientHello form: the length of each identity, in
// the order the server tries them (the first kMax; `more` if there were others). The
// identities are tickets to the server, and OpenSSL's ticket callbacks are not told a
// ticket's length. nullopt when malformed (OpenSSL then refuses the ClientHello itself).
struct PskIdentityLengths {
  static constexpr std::size_t kMax = 8;
  std::array<std::uint16_t, kMax> length{};
  // The identities themselves, as views into the parsed extension (valid while it is):
  // a stateful TLS 1.3 ticket is its identity, the key a fleet's remote store is asked.
  std::array<std::string_view, kMax> identity{};
  std::size_t count = 0;
  bool more = false;
};
std::optional<PskIdentityLengths> parsePskIdentityLengths(std::string_view ext) noexcept;

}  // namespace tlsresume
