#pragma once
// `tlsresume probe`: findings, the judgements that need no network (ticket layout, key
// rotation, lifetimes), and the table and JSON they are printed as.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsresume::tools::probe {

enum class Verdict { ok, info, warn, fail };
const char* toString(Verdict v);

struct Finding {
  std::string name;  // "tls12-tickets", "ticket-key-rotation", ...
  Verdict verdict = Verdict::info;
  std::string reason;  // one line
};

// What can be measured but was not, with why: always info, never a guess.
inline Finding notMeasured(std::string name, const std::string& why) {
  return {std::move(name), Verdict::info, "not measured (" + why + ")"};
}

// 0: every finding ok or info; 1: a warning; 2: a failure.
int exitCode(const std::vector<Finding>& findings);

// The first bytes of a ticket as hex: its key name. RFC 5077 §4's recommended layout has
// 16; a format of its own may have fewer (tlsresume on BoringSSL: 4). Fewer than 4 shared
// bytes could be chance, so they are not taken for a name.
inline constexpr std::size_t kKeyNameBytes = 16;
inline constexpr std::size_t kMinKeyNameBytes = 4;
std::string hex(const unsigned char* data, std::size_t len);
std::optional<std::string> keyNameOf(const std::vector<unsigned char>& ticket, std::size_t name_bytes = kKeyNameBytes);

// A TLS 1.3 session needs a PSK of 32 or 48 bytes, and sealing adds at least an IV and a
// tag: a ticket this short can only be a reference to state the server keeps.
inline constexpr std::size_t kStatefulTicketMax = 64;

// What a TLS 1.3 ticket's bytes say of where the session lives: too short to hold one, or
// ending in a run of zeros no sealed ticket has (a reference padded to a length: tlsresume
// on BoringSSL pads its handles to the session's length), means a reference to a session
// the server keeps (stateful); otherwise it may carry the sealed session.
std::string judgeTls13TicketSize(const std::vector<unsigned char>& ticket);

// Whether tickets issued back to back share a prefix of 4 to 16 bytes: a key name that
// lets rotation be followed from outside (16 bytes: RFC 5077's recommended layout).
// Several tickets from one key are needed: one alone proves nothing. On ok, `name_bytes`
// (if given) is the name's length.
Finding judgeTicketLayout(const std::vector<std::vector<unsigned char>>& tickets, std::size_t* name_bytes = nullptr);

// One ticket key name seen at a time (seconds since the watch began).
struct KeySample {
  double at = 0;
  std::string key_name;  // hex; empty: no ticket, or no stable layout
};

struct Rotation {
  std::size_t samples = 0;  // samples with a key name
  std::size_t changes = 0;  // times the name differed from the previous sample's
  double window = 0;        // seconds from the first to the last sample with a key name
};
Rotation countRotations(const std::vector<KeySample>& samples);

// The TLS 1.2 ticket key finding: a key that never changes within the window is a
// forward-secrecy finding (whoever holds it decrypts every recorded connection whose
// ticket it sealed).
Finding judgeKeyRotation(const Rotation& r, std::chrono::seconds watch);

// Lifetime hint of a ticket (seconds; 0 = unspecified). TLS 1.3 caps it at 7 days
// (RFC 8446 §4.6.1): more is a failure there, a warning for TLS 1.2.
Finding judgeLifetimeHint(const std::string& name, std::uint32_t hint, bool tls13);

// Offsets of one flipped byte per region of a ticket laid out as RFC 5077 §4 recommends:
// key_name [0,16), IV [16,32), the encrypted state, and the 32-byte HMAC at the end.
// Fewer regions for a ticket too short to have them all.
struct FlipPoint {
  const char* region;
  std::size_t offset;
};
std::vector<FlipPoint> flipPoints(std::size_t ticket_len);

// "3600 s (1 h)", "45 s".
std::string seconds(std::uint64_t s);

// Output.
struct Report {
  std::string target;       // what was connected to
  std::string server_name;  // SNI sent; empty: none
  std::vector<Finding> findings;
};
// An aligned table: name, verdict, reason. `colour` for a terminal.
std::string renderTable(const Report& r, bool colour);
std::string renderJson(const Report& r);

}  // namespace tlsresume::tools::probe
