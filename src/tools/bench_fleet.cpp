#include "tools/bench_fleet.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "server/http_response.hpp"
#include "server/net.hpp"

namespace tlsresume::tools::bench {
namespace {

// A blocking socket with send and receive time-outs; closed on scope exit.
class Socket {
 public:
  Socket(const server::Endpoint& ep, std::chrono::milliseconds timeout, const std::string& what) {
    try {
      fd_ = server::connectTo(ep, static_cast<int>(timeout.count()), what);
    } catch (const std::exception& e) {
      throw BenchError(e.what());
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void send(const std::string& bytes, const std::string& what) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw BenchError(what + ": " + std::strerror(errno));
      off += static_cast<std::size_t>(n);
    }
  }
  // Appends what arrives to `out`; 0 at end of stream.
  std::size_t receive(std::string& out, const std::string& what) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw BenchError(what + ": " + (errno == EAGAIN ? std::string("no answer in time") : std::strerror(errno)));
      out.append(buf, static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_ = -1;
};

// The value of `name{labels}` or `name` at the start of a line: "name 12" or "name{...} 12".
std::optional<double> sample(const std::string& line, const std::string& name) {
  if (line.compare(0, name.size(), name) != 0) return std::nullopt;
  const char next = line.size() > name.size() ? line[name.size()] : '\0';
  if (next != ' ' && next != '{') return std::nullopt;
  const auto space = line.rfind(' ');
  if (space == std::string::npos) return std::nullopt;
  return std::strtod(line.c_str() + space + 1, nullptr);
}

std::string label(const std::string& line, const std::string& key) {
  const std::string marker = key + "=\"";
  const auto at = line.find(marker);
  if (at == std::string::npos) return {};
  const auto from = at + marker.size();
  const auto end = line.find('"', from);
  return end == std::string::npos ? std::string() : line.substr(from, end - from);
}

std::uint64_t whole(double v) { return v > 0 ? static_cast<std::uint64_t>(std::llround(v)) : 0; }

}  // namespace

AdminAnswer adminGet(const server::Endpoint& admin, const std::string& path, std::chrono::milliseconds timeout) {
  const std::string what = "admin endpoint " + admin.str() + path;
  Socket s(admin, timeout, what);
  s.send("GET " + path + " HTTP/1.1\r\nHost: " + admin.str() + "\r\nConnection: close\r\n\r\n", what);
  std::string raw;
  while (s.receive(raw, what) > 0) {
  }
  const auto r = server::parseHttpResponse(raw);
  if (!r) throw BenchError(what + ": not an HTTP answer");
  return {r->status, std::string(r->body)};
}

bool encryptsWithFleetKey(const std::string& json) {
  return json.find("\"origin\":\"fleet\",\"state\":\"current\"") != std::string::npos;
}

FleetSample parseFleetMetrics(const std::string& text) {
  FleetSample s;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (auto v = sample(line, "tlsresume_fleet_lookups_total")) {
      const std::string result = label(line, "result");
      if (result == "hit") s.hit = whole(*v);
      if (result == "miss") s.miss = whole(*v);
      if (result == "timeout") s.timeout = whole(*v);
      if (result == "error") s.error = whole(*v);
    } else if (auto b = sample(line, "tlsresume_fleet_lookup_seconds_bucket")) {
      const std::string le = label(line, "le");
      s.buckets.emplace_back(le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), *b);
    } else if (auto v2 = sample(line, "tlsresume_fleet_lookup_seconds_sum")) {
      s.sum_seconds = *v2;
    } else if (auto v3 = sample(line, "tlsresume_fleet_lookup_seconds_count")) {
      s.count = *v3;
    } else if (auto v4 = sample(line, "tlsresume_fleet_writes_total")) {
      s.writes = whole(*v4);
    } else if (auto v5 = sample(line, "tlsresume_fleet_writes_dropped_total")) {
      s.writes_dropped = whole(*v5);
    }
  }
  std::sort(s.buckets.begin(), s.buckets.end());
  return s;
}

FleetSample difference(const FleetSample& a, const FleetSample& b) {
  const auto minus = [](std::uint64_t x, std::uint64_t y) { return x > y ? x - y : 0; };
  FleetSample d;
  d.hit = minus(a.hit, b.hit);
  d.miss = minus(a.miss, b.miss);
  d.timeout = minus(a.timeout, b.timeout);
  d.error = minus(a.error, b.error);
  d.writes = minus(a.writes, b.writes);
  d.writes_dropped = minus(a.writes_dropped, b.writes_dropped);
  d.sum_seconds = std::max(0.0, a.sum_seconds - b.sum_seconds);
  d.count = std::max(0.0, a.count - b.count);
  for (std::size_t i = 0; i < a.buckets.size(); ++i) {
    const double before = i < b.buckets.size() && b.buckets[i].first == a.buckets[i].first ? b.buckets[i].second : 0;
    d.buckets.emplace_back(a.buckets[i].first, std::max(0.0, a.buckets[i].second - before));
  }
  return d;
}

void accumulate(FleetSample& t, const FleetSample& o) {
  t.hit += o.hit;
  t.miss += o.miss;
  t.timeout += o.timeout;
  t.error += o.error;
  t.writes += o.writes;
  t.writes_dropped += o.writes_dropped;
  t.sum_seconds += o.sum_seconds;
  t.count += o.count;
  if (t.buckets.empty()) {
    t.buckets = o.buckets;
    return;
  }
  for (std::size_t i = 0; i < t.buckets.size() && i < o.buckets.size(); ++i) t.buckets[i].second += o.buckets[i].second;
}

std::optional<double> histogramQuantile(const std::vector<std::pair<double, double>>& buckets, double q) {
  if (buckets.empty()) return std::nullopt;
  const double total = buckets.back().second;
  if (total <= 0) return std::nullopt;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (const auto& [bound, cumulative] : buckets) {
    if (cumulative >= rank) {
      if (std::isinf(bound)) return lower;  // beyond the highest finite bound: that bound
      const double in_bucket = cumulative - below;
      if (in_bucket <= 0) return bound;
      return lower + (bound - lower) * (rank - below) / in_bucket;
    }
    if (!std::isinf(bound)) lower = bound;
    below = cumulative;
  }
  return lower;
}

std::string redisCommand(const server::Endpoint& redis, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout) {
  const std::string what = "redis " + redis.str() + " " + (args.empty() ? std::string() : args.front());
  Socket s(redis, timeout, what);
  // Built by appends: GCC 12 warns (-Wrestrict, a known false positive) on "*" + std::string.
  std::string req;
  req.append("*").append(std::to_string(args.size())).append("\r\n");
  for (const auto& a : args) req.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  s.send(req, what);
  std::string in;
  std::size_t eol = std::string::npos;
  while ((eol = in.find("\r\n")) == std::string::npos)
    if (s.receive(in, what) == 0) throw BenchError(what + ": connection closed");
  const char type = in.empty() ? '?' : in[0];
  const std::string head = in.substr(1, eol - 1);
  if (type == '+' || type == ':') return head;
  if (type == '-') throw BenchError(what + ": " + head);
  if (type != '$') throw BenchError(what + ": unexpected answer");
  const long len = std::strtol(head.c_str(), nullptr, 10);
  if (len < 0) return {};
  const std::size_t need = eol + 2 + static_cast<std::size_t>(len);
  while (in.size() < need)
    if (s.receive(in, what) == 0) throw BenchError(what + ": connection closed");
  return in.substr(eol + 2, static_cast<std::size_t>(len));
}

std::map<std::string, std::uint64_t> parseCommandCalls(const std::string& info) {
  // cmdstat_get:calls=12,usec=34,usec_per_call=2.83,rejected_calls=0,failed_calls=0
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    const auto colon = line.find(':');
    const auto calls = line.find("calls=");
    if (colon == std::string::npos || calls == std::string::npos) continue;
    out[line.substr(8, colon - 8)] = std::strtoull(line.c_str() + calls + 6, nullptr, 10);
  }
  return out;
}

std::optional<std::uint64_t> infoField(const std::string& info, const std::string& name) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0) return std::strtoull(line.c_str() + name.size() + 1, nullptr, 10);
  return std::nullopt;
}

}  // namespace tlsresume::tools::bench
