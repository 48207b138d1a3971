#include "tools/probe_report.hpp"

#include <algorithm>
#include <cstdio>

#include "server/json.hpp"
#include "tlsresume/crypto.hpp"

namespace tlsresume::tools::probe {
namespace {

constexpr std::uint32_t kTls13MaxLifetime = 7 * 24 * 3600;  // RFC 8446 §4.6.1
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kMacBytes = 32;

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f" : "%.0f", v);
  return buf;
}

}  // namespace

const char* toString(Verdict v) {
  switch (v) {
    case Verdict::ok:
      return "ok";
    case Verdict::info:
      return "info";
    case Verdict::warn:
      return "warn";
    case Verdict::fail:
      return "fail";
  }
  return "?";
}

int exitCode(const std::vector<Finding>& findings) {
  int code = 0;
  for (const auto& f : findings) {
    if (f.verdict == Verdict::fail) return 2;
    if (f.verdict == Verdict::warn) code = 1;
  }
  return code;
}

std::string hex(const unsigned char* data, std::size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (std::size_t i = 0; i < len; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::optional<std::string> keyNameOf(const std::vector<unsigned char>& ticket, std::size_t name_bytes) {
  if (ticket.size() < name_bytes) return std::nullopt;
  return hex(ticket.data(), name_bytes);
}

std::string seconds(std::uint64_t s) {
  std::string out = std::to_string(s) + " s";
  if (s >= 86400 && s % 86400 == 0)
    out += " (" + std::to_string(s / 86400) + " d)";
  else if (s >= 3600 && s % 3600 == 0)
    out += " (" + std::to_string(s / 3600) + " h)";
  else if (s >= 60 && s % 60 == 0)
    out += " (" + std::to_string(s / 60) + " min)";
  return out;
}

std::string judgeTls13TicketSize(const std::vector<unsigned char>& ticket) {
  const std::string size = std::to_string(ticket.size()) + " bytes";
  if (ticket.size() <= kStatefulTicketMax)
    return size + ": too short to hold a session, so a reference to one the server keeps (stateful)";
  // A sealed ticket looks random: 16 zero bytes in a row at its end come by chance once in
  // 2^128. Where they are, only the bytes before them can name anything.
  std::size_t zeros = 0;
  while (zeros < ticket.size() && ticket[ticket.size() - 1 - zeros] == 0) ++zeros;
  if (zeros >= 16 && ticket.size() - zeros <= kStatefulTicketMax)
    return size + ", of which only the first " + std::to_string(ticket.size() - zeros) +
           " vary: a reference to a session the server keeps, padded (stateful)";
  return size + ": long enough to carry the sealed session (stateless, or a large reference)";
}

Finding judgeTicketLayout(const std::vector<std::vector<unsigned char>>& tickets, std::size_t* name_bytes) {
  const std::string name = "tls12-ticket-layout";
  if (tickets.size() < 2) return notMeasured(name, "fewer than 2 TLS 1.2 tickets to compare");
  // The prefix every ticket shares, up to a full RFC 5077 name.
  std::size_t shared = kKeyNameBytes;
  for (const auto& t : tickets) {
    if (t.size() < kMinKeyNameBytes)
      return {name, Verdict::info,
              "a " + std::to_string(t.size()) + "-byte ticket is too short to carry a key name; key rotation cannot "
              "be followed from outside"};
    shared = std::min(shared, t.size());
    const auto& first = tickets.front();
    std::size_t i = 0;
    while (i < shared && t[i] == first[i]) ++i;
    shared = i;
  }
  if (shared < kMinKeyNameBytes)
    return {name, Verdict::info,
            std::to_string(tickets.size()) +
                " tickets issued back to back share no key-name prefix (4 to 16 bytes): not RFC 5077's recommended "
                "layout (or a key per ticket); key rotation cannot be followed from outside"};
  const std::string key = hex(tickets.front().data(), shared).substr(0, 8) + "…";
  if (shared == kKeyNameBytes) {
    const std::size_t min_len = kKeyNameBytes + kIvBytes + kMacBytes;
    if (tickets.front().size() < min_len)
      return {name, Verdict::info,
              "a stable 16-byte prefix, but " + std::to_string(tickets.front().size()) +
                  " bytes leave no room for RFC 5077's IV, state and HMAC"};
    if (name_bytes) *name_bytes = shared;
    return {name, Verdict::ok, "RFC 5077 layout: " + std::to_string(tickets.size()) + " tickets share the 16-byte key name " + key};
  }
  // A shorter name: an AEAD format of its own needs at least a 12-byte nonce and a 16-byte
  // tag after it.
  if (tickets.front().size() < shared + 12 + 16)
    return {name, Verdict::info,
            "a stable " + std::to_string(shared) + "-byte prefix, but " + std::to_string(tickets.front().size()) +
                " bytes leave no room for a nonce, state and tag"};
  if (name_bytes) *name_bytes = shared;
  return {name, Verdict::ok,
          std::to_string(tickets.size()) + " tickets share a " + std::to_string(shared) +
              "-byte key name " + key + " (shorter than RFC 5077's 16 bytes: a format of the server's own)"};
}

Rotation countRotations(const std::vector<KeySample>& samples) {
  Rotation r;
  const KeySample* prev = nullptr;
  double first_at = 0;
  for (const auto& s : samples) {
    if (s.key_name.empty()) continue;
    if (!prev)
      first_at = s.at;
    else if (s.key_name != prev->key_name)
      ++r.changes;
    ++r.samples;
    r.window = s.at - first_at;
    prev = &s;
  }
  return r;
}

Finding judgeKeyRotation(const Rotation& r, std::chrono::seconds watch) {
  const std::string name = "tls12-ticket-key-rotation";
  if (r.samples < 2) return notMeasured(name, "fewer than 2 TLS 1.2 ticket key names seen while watching");
  const std::string window = fixed(r.window) + " s";
  if (r.changes == 0)
    return {name, Verdict::warn,
            "the TLS 1.2 ticket key did not change in " + window + " (" + std::to_string(r.samples) +
                " tickets, --watch " + std::to_string(watch.count()) +
                " s): whoever holds it can decrypt every recorded TLS 1.2 connection it sealed"};
  return {name, Verdict::ok,
          "the key name changed " + std::to_string(r.changes) + (r.changes == 1 ? " time" : " times") + " in " +
              window + " (about every " + fixed(r.window / static_cast<double>(r.changes)) + " s)"};
}

Finding judgeLifetimeHint(const std::string& name, std::uint32_t hint, bool tls13) {
  if (hint == 0) return {name, Verdict::info, "no lifetime hint (0: unspecified)"};
  if (hint > kTls13MaxLifetime) {
    if (tls13) return {name, Verdict::fail, seconds(hint) + ": more than the 7 days RFC 8446 §4.6.1 allows"};
    return {name, Verdict::warn,
            seconds(hint) + ": a ticket usable for more than 7 days (TLS 1.3's cap) keeps its key's secrets exposed "
                            "as long"};
  }
  return {name, Verdict::info, seconds(hint)};
}

std::vector<FlipPoint> flipPoints(std::size_t n) {
  std::vector<FlipPoint> out;
  if (n == 0) return out;
  out.push_back({"key name", 0});
  if (n > kKeyNameBytes) out.push_back({"IV", kKeyNameBytes});
  if (n > kKeyNameBytes + kIvBytes + kMacBytes)
    out.push_back({"body", kKeyNameBytes + kIvBytes + (n - kKeyNameBytes - kIvBytes - kMacBytes) / 2});
  if (n > kKeyNameBytes + kIvBytes) out.push_back({"MAC", n - 1});
  return out;
}

std::string renderTable(const Report& r, bool colour) {
  std::size_t name_w = 7;  // "finding"
  for (const auto& f : r.findings) name_w = std::max(name_w, f.name.size());
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
  };
  std::string out = "probe " + r.target + (r.server_name.empty() ? " (no SNI)" : " (SNI " + r.server_name + ")") +
                    ", client on " + crypto::libraryVersion() + "\n\n";
  out += pad("finding", name_w) + "  verdict  reason\n";
  for (const auto& f : r.findings) {
    std::string v = pad(toString(f.verdict), 7);
    if (colour) {
      const char* c = f.verdict == Verdict::ok     ? "\033[32m"
                      : f.verdict == Verdict::warn ? "\033[33m"
                      : f.verdict == Verdict::fail ? "\033[31m"
                                                   : "\033[2m";
      v = c + v + "\033[0m";
    }
    out += pad(f.name, name_w) + "  " + v + "  " + f.reason + "\n";
  }
  std::size_t counts[4] = {0, 0, 0, 0};
  for (const auto& f : r.findings) ++counts[static_cast<int>(f.verdict)];
  static constexpr const char* kLabels[4] = {" ok, ", " info, ", " warn, ", " fail\n"};
  out += '\n';
  for (int i = 0; i < 4; ++i) {
    out += std::to_string(counts[i]);
    out += kLabels[i];
  }
  return out;
}

std::string renderJson(const Report& r) {
  using server::jsonString;
  // The probe's own TLS library: what its client can offer (and so test) depends on it.
  std::string out = "{\"target\": " + jsonString(r.target) + ", \"server_name\": " + jsonString(r.server_name) +
                    ", \"client_library\": " + jsonString(crypto::libraryVersion()) + ", \"exit_code\": " + std::to_string(exitCode(r.findings)) + ", \"findings\": [";
  for (std::size_t i = 0; i < r.findings.size(); ++i) {
    const auto& f = r.findings[i];
    out += (i ? ",\n  " : "\n  ");
    out += "{\"name\": " + jsonString(f.name) + ", \"verdict\": " + jsonString(toString(f.verdict)) +
           ", \"reason\": " + jsonString(f.reason) + "}";
  }
  return out + "\n]}\n";
}

}  // namespace tlsresume::tools::probe
