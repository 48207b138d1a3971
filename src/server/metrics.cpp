#include "server/metrics.hpp"

#include <cstdio>

namespace tlsresume::server {
namespace {
const char* versionLabel(TlsVersion v) {
  switch (v) {
    case TlsVersion::tls12:
      return "TLSv1.2";
    case TlsVersion::tls13:
      return "TLSv1.3";
    case TlsVersion::unknown:
      return "unknown";
  }
  return "unknown";
}
}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string labelPair(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  out += escapeLabelValue(value);
  out += '"';
  return out;
}

void appendSample(std::string& out, const std::string& name, const std::string& labels, double value) {
  char num[64];
  if (value == static_cast<double>(static_cast<std::int64_t>(value)))
    std::snprintf(num, sizeof num, "%lld", static_cast<long long>(value));
  else
    std::snprintf(num, sizeof num, "%.6g", value);
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " ";
  out += num;
  out += "\n";
}

void appendHelp(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double value) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : labels + ",";
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::snprintf(le, sizeof le, "%g", bounds_[i]);
    appendSample(out, name + "_bucket", sep + labelPair("le", le), static_cast<double>(cumulative));
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  appendSample(out, name + "_bucket", sep + labelPair("le", "+Inf"), static_cast<double>(cumulative));
  appendSample(out, name + "_sum", labels, static_cast<double>(sum_micros_.load()) / 1e6);
  appendSample(out, name + "_count", labels, static_cast<double>(count_.load()));
}

Metrics::Metrics(std::vector<std::string> host_names)
    : hosts_(std::move(host_names)),
      handshakes_(new std::atomic<std::uint64_t>[hosts_.size() * kVersions * kHandshakeKinds]),
      handshake_seconds_({0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}),
      resumption_age_seconds_({60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600}) {
  for (std::size_t i = 0; i < hosts_.size() * kVersions * kHandshakeKinds; ++i) handshakes_[i] = 0;
}

void Metrics::onHandshake(std::size_t host, TlsVersion version, HandshakeKind kind,
                          std::chrono::nanoseconds took) noexcept {
  if (host >= hosts_.size()) host = 0;
  const std::size_t i =
      (host * kVersions + static_cast<std::size_t>(version)) * kHandshakeKinds + static_cast<std::size_t>(kind);
  handshakes_[i].fetch_add(1, std::memory_order_relaxed);
  if (kind != HandshakeKind::failed) handshake_seconds_.observe(std::chrono::duration<double>(took).count());
}

std::uint64_t Metrics::handshakes(std::size_t host, TlsVersion v, HandshakeKind k) const noexcept {
  return handshakes_[(host * kVersions + static_cast<std::size_t>(v)) * kHandshakeKinds + static_cast<std::size_t>(k)]
      .load(std::memory_order_relaxed);
}

void Metrics::onTicketOpen(TicketResult result) noexcept {
  ticket_results_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::onResumptionAge(std::chrono::seconds age) noexcept {
  resumption_age_seconds_.observe(static_cast<double>(age.count()));
}

std::string Metrics::render(const std::vector<std::function<void(std::string&)>>& extra) const {
  std::string out;
  out.reserve(8192);
  appendHelp(out, "tlsresume_handshakes_total", "counter", "TLS handshakes by virtual host, version and kind.");
  for (std::size_t h = 0; h < hosts_.size(); ++h)
    for (std::size_t v = 0; v < kVersions; ++v)
      for (std::size_t k = 0; k < kHandshakeKinds; ++k) {
        const auto n = handshakes(h, static_cast<TlsVersion>(v), static_cast<HandshakeKind>(k));
        if (n == 0 && v == static_cast<std::size_t>(TlsVersion::unknown)) continue;
        appendSample(out, "tlsresume_handshakes_total",
                     labelPair("vhost", hosts_[h]) + "," + labelPair("version", versionLabel(static_cast<TlsVersion>(v))) +
                         "," + labelPair("kind", toString(static_cast<HandshakeKind>(k))),
                     static_cast<double>(n));
      }
  appendHelp(out, "tlsresume_handshake_seconds", "histogram", "Duration of successful handshakes.");
  handshake_seconds_.render(out, "tlsresume_handshake_seconds", "");
  appendHelp(out, "tlsresume_resumption_age_seconds", "histogram",
             "Age of a session or ticket when it resumed (server clock).");
  resumption_age_seconds_.render(out, "tlsresume_resumption_age_seconds", "");
  appendHelp(out, "tlsresume_ticket_decrypt_total", "counter", "Tickets presented, by outcome.");
  for (std::size_t r = 0; r < kTicketResults; ++r)
    appendSample(out, "tlsresume_ticket_decrypt_total",
                 labelPair("result", toString(static_cast<TicketResult>(r))),
                 static_cast<double>(ticket_results_[r].load(std::memory_order_relaxed)));
  appendHelp(out, "tlsresume_sessions_revoked_at_resume_total", "counter",
             "Resumption attempts refused because the session was revoked.");
  appendSample(out, "tlsresume_sessions_revoked_at_resume_total", "", static_cast<double>(revoked_at_resume_.load()));
  appendHelp(out, "tlsresume_connections_total", "counter", "Accepted client connections.");
  appendSample(out, "tlsresume_connections_total", "", static_cast<double>(connections_total_.load()));
  appendHelp(out, "tlsresume_connections_open", "gauge", "Client connections open now.");
  appendSample(out, "tlsresume_connections_open", "", static_cast<double>(connections_open_.load()));
  appendHelp(out, "tlsresume_backend_failures_total", "counter", "Backend connections refused, reset or failed.");
  appendSample(out, "tlsresume_backend_failures_total", "", static_cast<double>(backend_failures_.load()));
  appendHelp(out, "tlsresume_handshake_timeouts_total", "counter", "Handshakes that did not finish in time.");
  appendSample(out, "tlsresume_handshake_timeouts_total", "", static_cast<double>(handshake_timeouts_.load()));
  appendHelp(out, "tlsresume_connections_without_hello_total", "counter",
             "Connections closed before sending any byte (port probes, health checks).");
  appendSample(out, "tlsresume_connections_without_hello_total", "", static_cast<double>(empty_connections_.load()));
  for (const auto& f : extra) f(out);
  return out;
}

}  // namespace tlsresume::server
