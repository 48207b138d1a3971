#include <unistd.h>

#include <cstdlib>

#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kReset = "\033[0m";

struct Column {
  std::string title;
  bool right = true;  // numbers are right-aligned
};

struct Row {
  std::vector<std::string> cells;
  std::vector<const char*> colours;  // per cell, nullptr: plain
  const char* row_colour = nullptr;
};

std::string opt(const std::optional<double>& v, int decimals) { return v ? formatNumber(*v, decimals) : "-"; }

void printFleet(const RunResult& run, std::FILE* out);
void printSplit(const RunResult& run, std::FILE* out);

Row rowFor(const RunResult& run, const CellResult& c, bool with_floor) {
  Row r;
  auto add = [&](std::string text, const char* colour = nullptr) {
    r.cells.push_back(std::move(text));
    r.colours.push_back(colour);
  };
  add(labelOf(run, c.target));
  add(c.certName());
  add(toString(c.scenario));
  if (!c.measured()) {
    add("-");
    const std::size_t numbers = with_floor ? 11 : 9;
    for (std::size_t i = 0; i < numbers; ++i) add("-");
    add(c.skipped_reason.empty() ? "error: " + c.error : "skipped: " + c.skipped_reason,
        c.skipped_reason.empty() ? kRed : nullptr);
    if (!c.skipped_reason.empty()) r.row_colour = kDim;
    return r;
  }
  add(c.protocol.empty() ? "-" : c.protocol);
  add(formatNumber(c.handshakes_per_sec, 0));
  add(c.latency_us ? formatNumber(c.latency_us->p50, 0) : "-");
  add(c.latency_us ? formatNumber(c.latency_us->p90, 0) : "-");
  add(c.latency_us ? formatNumber(c.latency_us->p99, 0) : "-");
  add(opt(c.server_cpu_us_per_handshake, 0));
  add(formatNumber(c.bytes_client_to_server, 0));
  add(formatNumber(c.bytes_server_to_client, 0));
  add(c.ticket_bytes > 0 ? formatNumber(c.ticket_bytes, 0) : "-");  // no ticket held
  const double ratio = c.resumed_ratio.value_or(0);
  const char* colour = nullptr;
  if (resumes(c.scenario)) colour = ratio >= 0.99 ? kGreen : ratio >= 0.5 ? kYellow : kRed;
  add(c.resumed_ratio ? formatNumber(100 * ratio, 1) + "%" : "-", colour);
  if (with_floor) {
    add(opt(c.floor_us, 0));
    if (c.floor_us && c.server_cpu_us_per_handshake && *c.floor_us > 0)
      add(formatNumber(*c.server_cpu_us_per_handshake / *c.floor_us, 1) + "x");
    else
      add("-");
  }
  std::string note;
  if (c.resumedByIdInstead()) note = "resumed by session id: the server issued no TLS 1.2 tickets";
  if (c.errors) note += (note.empty() ? "" : "; ") + std::to_string(c.errors) + " errors: " + c.first_error;
  if (c.not_2xx)
    note += (note.empty() ? "" : "; ") + std::to_string(c.not_2xx) + " answers not 2xx (first: " + c.first_not_2xx + ")";
  add(note, c.errors || c.resumedByIdInstead() ? kYellow : nullptr);
  return r;
}

}  // namespace

std::string formatNumber(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void printTable(const RunResult& run, std::FILE* out) {
  const bool colour = isatty(fileno(out)) == 1 && std::getenv("NO_COLOR") == nullptr;
  const bool with_floor = !run.floor.empty();
  std::vector<Column> cols = {{"target", false}, {"cert", false}, {"scenario", false}, {"protocol", false}, {"hs/s"},
                              {"p50 us"},        {"p90 us"},      {"p99 us"},          {"CPU us/hs"},       {"c>s B"},
                              {"s>c B"},         {"ticket B"},    {"resumed"}};
  if (with_floor) {
    cols.push_back({"floor us"});
    cols.push_back({"/floor"});
  }
  cols.push_back({"note", false});
  std::vector<Row> rows;
  for (const auto& c : run.cells) rows.push_back(rowFor(run, c, with_floor));
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].title.size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i + 1 < cols.size() && i < r.cells.size(); ++i)
      width[i] = std::max(width[i], r.cells[i].size());

  auto emit = [&](const std::vector<std::string>& cells, const std::vector<const char*>* colours,
                  const char* row_colour) {
    std::string line;
    for (std::size_t i = 0; i < cols.size() && i < cells.size(); ++i) {
      const std::string& text = cells[i];
      const std::string pad(i + 1 < cols.size() ? width[i] - std::min(width[i], text.size()) : 0, ' ');
      std::string cell = cols[i].right ? pad + text : text + pad;
      const char* c = colours ? (*colours)[i] : nullptr;
      if (colour && c && !row_colour) cell = std::string(c) + cell + kReset;
      line += (i ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (colour && row_colour) line = std::string(row_colour) + line + kReset;
    std::fprintf(out, "%s\n", line.c_str());
  };
  std::vector<std::string> titles;
  for (const auto& c : cols) titles.push_back(c.title);
  emit(titles, nullptr, colour ? kBold : nullptr);
  for (const auto& r : rows) emit(r.cells, &r.colours, r.row_colour);
  printFleet(run, out);
  printSplit(run, out);
}

std::vector<std::string> splitColumns() {
  return {"server", "cert", "scenario", "CPU us/hs", "TCP floor us", "library floor us", "rest us", "(CPU-TCP)/floor"};
}

std::vector<std::vector<std::string>> splitTable(const RunResult& run) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : splitRows(run))
    rows.push_back({r.label, toString(r.cert), toString(r.scenario), formatNumber(r.cpu_us, 0),
                    formatNumber(r.tcp_floor_us, 0), formatNumber(r.library_floor_us, 0), formatNumber(r.rest_us(), 0),
                    formatNumber(r.overFloor(), 2) + "x"});
  return rows;
}

std::vector<std::string> fleetColumns() {
  return {"cert",           "scenario",        "servers",          "resumed",        "CPU us/hs",
          "self us/hs",     "fleet/self",      "lookups h/m/t/e",  "lookup p50 us",  "lookup p99 us",
          "client +p50 us", "client +p99 us",  "Redis us/resumed", "Redis cmds/hs"};
}

std::vector<std::vector<std::string>> fleetRows(const RunResult& run) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : run.cells) {
    if (!c.fleet || !c.measured() || c.handshakes == 0) continue;
    const FleetFigures& f = *c.fleet;
    const auto signedUs = [](const std::optional<double>& v) {
      return v ? (*v >= 0 ? "+" : "") + formatNumber(*v, 0) : std::string("-");
    };
    rows.push_back({c.certName(), toString(c.scenario), std::to_string(f.nodes),
                    c.resumed_ratio ? formatNumber(100 * *c.resumed_ratio, 1) + "%" : "-",
                    opt(c.server_cpu_us_per_handshake, 0), opt(f.self_cpu_us_per_handshake, 0),
                    f.cpu_vs_self ? formatNumber(*f.cpu_vs_self, 2) + "x" : "-",
                    std::to_string(f.lookups_hit) + "/" + std::to_string(f.lookups_miss) + "/" +
                        std::to_string(f.lookups_timeout) + "/" + std::to_string(f.lookups_error),
                    opt(f.lookup_p50_us, 0), opt(f.lookup_p99_us, 0), signedUs(f.client_p50_added_us),
                    signedUs(f.client_p99_added_us), opt(f.redis_cpu_us_per_resumed, 1),
                    formatNumber(static_cast<double>(f.redisCommands()) / static_cast<double>(c.handshakes), 2)});
  }
  return rows;
}

namespace {

void printColumns(const std::vector<std::string>& cols, const std::vector<std::vector<std::string>>& rows,
                  std::size_t text_columns, std::FILE* out) {
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  const auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      const std::string pad(width[i] - std::min(width[i], cells[i].size()), ' ');
      line += (i ? "  " : "") + (i < text_columns ? cells[i] + pad : pad + cells[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  };
  emit(cols);
  for (const auto& r : rows) emit(r);
}

void printSplit(const RunResult& run, std::FILE* out) {
  const auto rows = splitTable(run);
  if (rows.empty()) return;
  std::fprintf(out, "\nWhere a handshake's server CPU goes: the kernel's connection (TCP floor), the TLS library (its "
                    "in-memory floor), the rest (the server's own work)\n");
  printColumns(splitColumns(), rows, 3, out);
}

void printFleet(const RunResult& run, std::FILE* out) {
  const auto rows = fleetRows(run);
  if (rows.empty()) return;
  const auto cols = fleetColumns();
  std::vector<std::size_t> width(cols.size());
  for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  const auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(width[i] - std::min(width[i], cells[i].size()), ' ');
      line += (i ? "  " : "") + (i < 2 ? cells[i] + pad : pad + cells[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  };
  std::fprintf(out, "\nFleet: %u servers sharing one Redis, every resumption on another server than the one that "
                    "issued the session; CPU summed over the servers (Redis apart); lookups and their latency from the "
                    "servers' metrics; client latency against self\n",
               run.options.fleet_size);
  emit(cols);
  for (const auto& r : rows) emit(r);
}

}  // namespace

void printConclusions(const RunResult& run, std::FILE* out) {
  const auto lines = conclusions(run);
  if (!lines.empty()) {
    std::fprintf(out, "\n");
    for (const auto& l : lines) std::fprintf(out, "- %s\n", l.c_str());
  }
  const auto aims = aimChecks(run);
  if (!aims.empty()) {
    std::fprintf(out, "\nAims:\n");
    for (const auto& a : aims) std::fprintf(out, "- %s\n", aimLine(a).c_str());
  }
}

}  // namespace tlsresume::tools::bench
