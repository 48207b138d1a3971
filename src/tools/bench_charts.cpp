// Charts of the report, drawn by gnuplot (Debian: gnuplot-nox) as SVG. The data and the
// script of each chart are kept beside it, so a chart can be redrawn or restyled.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "tools/bench_process.hpp"
#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

constexpr auto kGnuplotTimeout = std::chrono::seconds(30);

std::string findExecutable(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

// gnuplot single-quoted string: a quote is written twice.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

struct Series {
  std::string name;
  std::function<std::optional<double>(const CellResult&)> value;
  std::string suffix;  // appended to the series name ("p50")
};

struct Chart {
  std::string file;  // without extension
  std::string title;
  std::string ylabel;
  std::vector<Series> metrics;
};

}  // namespace

Charts drawCharts(const RunResult& run, const std::string& dir) {
  Charts out;
  const std::string gnuplot = findExecutable("gnuplot");
  if (gnuplot.empty()) {
    out.missing_reason = "gnuplot not found (apt-get install gnuplot-nox)";
    return out;
  }
  std::vector<std::string> series;
  for (const auto& c : run.cells)
    if (c.measured() && c.handshakes > 0 && std::find(series.begin(), series.end(), seriesName(run, c)) == series.end())
      series.push_back(seriesName(run, c));
  if (series.empty()) {
    out.missing_reason = "no measured cells to draw";
    return out;
  }
  const std::vector<Chart> charts = {
      {"throughput",
       "Handshakes per second, by scenario and server",
       "handshakes/s",
       {{"", [](const CellResult& c) -> std::optional<double> { return c.handshakes_per_sec; }, ""}}},
      {"cpu",
       "Server CPU per handshake, by scenario and server",
       "server CPU, microseconds per handshake",
       {{"", [](const CellResult& c) { return c.server_cpu_us_per_handshake; }, ""}}},
      {"latency",
       "Handshake latency (connect to handshake done), p50 and p99",
       "microseconds",
       {{"",
         [](const CellResult& c) -> std::optional<double> {
           if (!c.latency_us) return std::nullopt;
           return c.latency_us->p50;
         },
         " p50"},
        {"",
         [](const CellResult& c) -> std::optional<double> {
           if (!c.latency_us) return std::nullopt;
           return c.latency_us->p99;
         },
         " p99"}}},
  };
  for (const auto& chart : charts) {
    // Rows: scenarios; columns: one per server (and per metric).
    std::string data = "scenario";
    for (const auto& s : series)
      for (const auto& m : chart.metrics) data += "\t" + s + m.suffix;
    data += "\n";
    bool any = false;
    for (Scenario sc : run.options.scenarios) {
      data += toString(sc);
      for (const auto& s : series)
        for (const auto& m : chart.metrics) {
          std::optional<double> v;
          for (const auto& c : run.cells)
            if (c.scenario == sc && c.measured() && c.handshakes > 0 && seriesName(run, c) == s) v = m.value(c);
          data += '\t';
          data += v ? formatNumber(*v, 1) : "-";
          any = any || v.has_value();
        }
      data += "\n";
    }
    if (!any) continue;  // e.g. no CPU figures for an external target without --server-pid
    const std::string base = dir + "/" + chart.file;
    std::ofstream(base + ".dat", std::ios::trunc) << data;
    const std::size_t columns = series.size() * chart.metrics.size();
    std::string script =
        "set terminal svg size 960,520 dynamic noenhanced font 'sans,11' background rgb 'white'\n"
        "set output " +
        quoted(base + ".svg") +
        "\n"
        "set title " +
        quoted(chart.title) +
        "\n"
        "set ylabel " +
        quoted(chart.ylabel) +
        "\n"
        "set datafile separator '\\t'\nset datafile missing '-'\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\nset boxwidth 0.9 relative\n"
        "set grid ytics\nset yrange [0:*]\nset xtics nomirror rotate by -25\nset key outside right top\n"
        "plot for [i=2:" +
        std::to_string(columns + 1) + "] " + quoted(base + ".dat") + " using i:xtic(1) title columnheader(i)\n";
    std::ofstream(base + ".gp", std::ios::trunc) << script;
    SpawnSpec spec;
    spec.argv = {gnuplot, base + ".gp"};
    spec.log_path = base + ".gnuplot.log";
    ChildProcess p = ChildProcess::spawn(spec);
    const std::optional<int> status = p.wait(kGnuplotTimeout);
    struct stat st {};
    if (status == 0 && ::stat((base + ".svg").c_str(), &st) == 0 && st.st_size > 0) {
      ::unlink(spec.log_path.c_str());
      out.files.push_back({chart.title, chart.file + ".svg"});
    } else {
      out.missing_reason = "gnuplot failed on " + chart.file + ".gp: " + p.logTail(300);
    }
  }
  return out;
}

}  // namespace tlsresume::tools::bench
