#include "tools/bench_types.hpp"

#include <algorithm>
#include <cctype>

namespace tlsresume::tools::bench {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const char* toString(Scenario s) {
  switch (s) {
    case Scenario::full_tls13:
      return "full-tls13";
    case Scenario::full_tls12:
      return "full-tls12";
    case Scenario::session_id:
      return "session-id";
    case Scenario::ticket_tls12:
      return "ticket-tls12";
    case Scenario::ticket_tls13:
      return "ticket-tls13";
    case Scenario::stateful_ticket:
      return "stateful-ticket";
    case Scenario::mix:
      return "mix";
  }
  return "?";
}

const std::vector<Scenario>& allScenarios() {
  static const std::vector<Scenario> all = {Scenario::full_tls13,   Scenario::full_tls12,   Scenario::session_id,
                                            Scenario::ticket_tls12, Scenario::ticket_tls13, Scenario::stateful_ticket,
                                            Scenario::mix};
  return all;
}

std::optional<std::vector<Scenario>> parseScenario(const std::string& name) {
  if (name == "full") return std::vector<Scenario>{Scenario::full_tls13, Scenario::full_tls12};
  if (name == "all") return allScenarios();
  for (Scenario s : allScenarios())
    if (name == toString(s)) return std::vector<Scenario>{s};
  return std::nullopt;
}

bool resumes(Scenario s) { return s != Scenario::full_tls12 && s != Scenario::full_tls13; }

const char* toString(CertType c) { return c == CertType::ecdsa ? "ecdsa" : "rsa"; }

std::string shortLibrary(const std::string& library) {
  const auto first = library.find(' ');
  if (first == std::string::npos) return library;
  const auto second = library.find(' ', first + 1);
  const std::string version = library.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  // "OpenSSL 3.0.19 27 Jan 2026": name and version; "BoringSSL (API 17)": the name alone.
  if (!version.empty() && std::isdigit(static_cast<unsigned char>(version.front())))
    return library.substr(0, first) + " " + version;
  return library.substr(0, first);
}

const ServerInfo* serverOf(const RunResult& run, const std::string& target) {
  for (const auto& s : run.servers)
    if (s.target == target) return &s;
  return nullptr;
}

std::string labelOf(const RunResult& run, const std::string& target) {
  const ServerInfo* s = serverOf(run, target);
  return s && !s->label.empty() ? s->label : target;
}

}  // namespace tlsresume::tools::bench
