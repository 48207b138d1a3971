#pragma once
// Metrics: lock-free counters bumped on the handshake path, rendered in Prometheus text
// format on the admin endpoint. Labels are bounded enums and configured host names only,
// and every label value is escaped on the way out.
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlsresume/stats_sink.hpp"

namespace tlsresume::server {

enum class TlsVersion { tls12, tls13, unknown };
inline constexpr std::size_t kVersions = 3;

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics final : public StatsSink {
 public:
  explicit Metrics(std::vector<std::string> host_names);

  void onHandshake(std::size_t host, TlsVersion version, HandshakeKind kind, std::chrono::nanoseconds took) noexcept;
  void onConnectionAccepted() noexcept { connections_total_.fetch_add(1, std::memory_order_relaxed); }
  void onConnectionOpen(int delta) noexcept { connections_open_.fetch_add(delta, std::memory_order_relaxed); }
  void onBackendFailure() noexcept { backend_failures_.fetch_add(1, std::memory_order_relaxed); }
  void onHandshakeTimeout() noexcept { handshake_timeouts_.fetch_add(1, std::memory_order_relaxed); }
  void onEmptyConnection() noexcept { empty_connections_.fetch_add(1, std::memory_order_relaxed); }

  // StatsSink
  void onTicketOpen(TicketResult result) noexcept override;
  void onResumptionAge(std::chrono::seconds age) noexcept override;
  void onSessionRevokedAtResume() noexcept override { revoked_at_resume_.fetch_add(1, std::memory_order_relaxed); }

  std::uint64_t handshakes(std::size_t host, TlsVersion v, HandshakeKind k) const noexcept;

  // Appends the text format. `extra` lets other owners (store, keyring) append theirs.
  std::string render(const std::vector<std::function<void(std::string&)>>& extra) const;

 private:
  std::vector<std::string> hosts_;
  // [host][version][kind]
  std::unique_ptr<std::atomic<std::uint64_t>[]> handshakes_;
  std::array<std::atomic<std::uint64_t>, kTicketResults> ticket_results_{};
  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::int64_t> connections_open_{0};
  std::atomic<std::uint64_t> backend_failures_{0};
  std::atomic<std::uint64_t> handshake_timeouts_{0};
  std::atomic<std::uint64_t> empty_connections_{0};
  std::atomic<std::uint64_t> revoked_at_resume_{0};
  Histogram handshake_seconds_;
  Histogram resumption_age_seconds_;
};

// A label value escaped as the text format requires (backslash, double quote, newline),
// so that no value, whatever its origin, can end the quoted string or the line early.
std::string escapeLabelValue(std::string_view value);
// One label pair, name="escaped value": the only way label values enter the output.
std::string labelPair(std::string_view name, std::string_view value);

// Appends one sample line: name{labels} value. `labels` is made of labelPair()s
// joined by commas.
void appendSample(std::string& out, const std::string& name, const std::string& labels, double value);
void appendHelp(std::string& out, const std::string& name, const char* type, const char* help);

}  // namespace tlsresume::server
