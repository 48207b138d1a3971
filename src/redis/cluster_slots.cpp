#include "redis/cluster_slots.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tlsresume::redis {
namespace {

constexpr std::array<std::uint16_t, 256> makeCrcTable() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrcTable = makeCrcTable();

bool equalsNoCase(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

template <typename Int>
std::optional<Int> parseNumber(std::string_view s) noexcept {
  Int value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

bool validSlot(long long n) noexcept { return n >= 0 && n < static_cast<long long>(kClusterSlots); }

// [host, port, id?, {meta}?, ...]; *unknown: Redis said "?" (no endpoint to reach it at).
std::optional<ClusterNode> parseNode(const Reply& r, bool* unknown) {
  if (r.type != Reply::Type::array || r.elements.size() < 2) return std::nullopt;
  const Reply& host = r.elements[0];
  const Reply& port = r.elements[1];
  ClusterNode node;
  if (host.type == Reply::Type::string) {
    node.host = host.str;
  } else if (host.type != Reply::Type::nil) {
    return std::nullopt;
  }
  if (port.type != Reply::Type::integer || port.integer < 1 || port.integer > 65535) return std::nullopt;
  node.port = static_cast<std::uint16_t>(port.integer);
  if (r.elements.size() >= 3) {
    if (r.elements[2].type != Reply::Type::string) return std::nullopt;
    node.id = r.elements[2].str;
  }
  // Redis 7's networking metadata ("hostname", ...): a map, which RESP2 sends as a flat array.
  if (r.elements.size() >= 4 && r.elements[3].type != Reply::Type::array) return std::nullopt;
  *unknown = node.host == "?";
  return node;
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (const char c : bytes)
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xFF]);
  return crc;
}

std::uint16_t keySlot(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) & (kClusterSlots - 1));
}

std::optional<std::string_view> routingKey(std::span<const std::string> args) noexcept {
  if (args.size() < 2) return std::nullopt;
  const std::string_view name = args[0];
  if (equalsNoCase(name, "EVAL") || equalsNoCase(name, "EVALSHA") || equalsNoCase(name, "EVAL_RO") ||
      equalsNoCase(name, "EVALSHA_RO") || equalsNoCase(name, "FCALL") || equalsNoCase(name, "FCALL_RO")) {
    if (args.size() < 4) return std::nullopt;
    const auto numkeys = parseNumber<long long>(args[2]);
    if (!numkeys || *numkeys < 1) return std::nullopt;
    return std::string_view(args[3]);
  }
  return std::string_view(args[1]);
}

std::size_t SlotTable::covered() const noexcept {
  return static_cast<std::size_t>(std::count_if(owner.begin(), owner.end(), [](auto o) { return o != kNoOwner; }));
}

std::optional<std::vector<SlotRange>> parseClusterSlots(const Reply& reply) {
  if (reply.type != Reply::Type::array) return std::nullopt;
  std::vector<SlotRange> ranges;
  std::vector<bool> seen(kClusterSlots, false);
  for (const Reply& entry : reply.elements) {
    if (entry.type != Reply::Type::array || entry.elements.size() < 3) return std::nullopt;
    const Reply& start = entry.elements[0];
    const Reply& end = entry.elements[1];
    if (start.type != Reply::Type::integer || end.type != Reply::Type::integer) return std::nullopt;
    if (!validSlot(start.integer) || !validSlot(end.integer) || start.integer > end.integer) return std::nullopt;
    for (long long s = start.integer; s <= end.integer; ++s) {
      if (seen[static_cast<std::size_t>(s)]) return std::nullopt;  // two owners for one slot
      seen[static_cast<std::size_t>(s)] = true;
    }
    SlotRange range;
    range.first = static_cast<std::uint16_t>(start.integer);
    range.last = static_cast<std::uint16_t>(end.integer);
    bool master_unknown = false;
    auto master = parseNode(entry.elements[2], &master_unknown);
    if (!master) return std::nullopt;
    range.master = std::move(*master);
    for (std::size_t i = 3; i < entry.elements.size(); ++i) {
      bool unknown = false;
      auto replica = parseNode(entry.elements[i], &unknown);
      if (!replica) return std::nullopt;
      if (!unknown) range.replicas.push_back(std::move(*replica));
    }
    if (!master_unknown) ranges.push_back(std::move(range));
  }
  return ranges;
}

SlotTable buildSlotTable(const std::vector<SlotRange>& ranges, std::string_view answered_by) {
  SlotTable table;
  for (const SlotRange& range : ranges) {
    ClusterNode master = range.master;
    if (master.host.empty()) master.host = answered_by;
    auto it = std::find_if(table.masters.begin(), table.masters.end(),
                           [&](const ClusterNode& n) { return n.host == master.host && n.port == master.port; });
    const auto index = static_cast<std::uint16_t>(it - table.masters.begin());
    if (it == table.masters.end()) table.masters.push_back(std::move(master));
    std::fill(table.owner.begin() + range.first, table.owner.begin() + range.last + 1, index);
  }
  return table;
}

std::optional<Redirect> parseRedirect(std::string_view error) {
  if (!error.empty() && error.front() == '-') error.remove_prefix(1);
  Redirect r;
  if (error.starts_with("MOVED ")) {
    r.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot = parseNumber<unsigned>(error.substr(0, space));
  if (!slot || *slot >= kClusterSlots) return std::nullopt;
  std::string_view where = error.substr(space + 1);
  while (!where.empty() && (where.back() == '\r' || where.back() == '\n')) where.remove_suffix(1);
  const auto colon = where.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto port = parseNumber<unsigned>(where.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  std::string_view host = where.substr(0, colon);
  if (host.find(' ') != std::string_view::npos) return std::nullopt;
  // "[::1]:6379" is how some proxies write it; Redis itself writes "::1:6379".
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  r.slot = static_cast<std::uint16_t>(*slot);
  r.host.assign(host);
  r.port = static_cast<std::uint16_t>(*port);
  return r;
}

}  // namespace tlsresume::redis
