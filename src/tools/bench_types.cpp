#include "tools/bench_types.hpp"

#include <algorithm>

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

}  // namespace tlsresume::tools::bench
