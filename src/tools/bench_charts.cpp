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

// One chart: a cluster of bars per scenario, one bar per series (server, or server and
// certificate); full handshakes hatched, resumed ones solid, each bar with its value.
struct Chart {
  std::string file;  // without extension
  std::string title;
  std::string ylabel;
  std::function<std::optional<double>(const CellResult&)> bar;
  std::function<std::optional<double>(const CellResult&)> dot;  // drawn as a point over the bar (p99)
  std::string dot_name;
  int decimals = 0;
};

// Series colours, told apart in print too (dark / light alternate).
constexpr const char* kColours[] = {"#1f4e79", "#e07b39", "#3a8a3a", "#8e44ad", "#b03a2e", "#5d6d7e"};

}  // namespace

Charts drawCharts(const RunResult& run, const std::string& dir) {
  Charts out;
  const std::string gnuplot = findExecutable("gnuplot");
  if (gnuplot.empty()) {
    out.missing_reason = "gnuplot not found (apt-get install gnuplot-nox)";
    return out;
  }
  std::vector<std::string> series;
  // The TCP floor is a component of the others, not a server to compare: in the split table.
  const auto charted = [&](const CellResult& c) {
    return c.measured() && c.handshakes > 0 && kindOf(run, c.target) != TargetKind::tcp_floor;
  };
  for (const auto& c : run.cells)
    if (charted(c) && std::find(series.begin(), series.end(), seriesName(run, c)) == series.end())
      series.push_back(seriesName(run, c));
  if (series.empty()) {
    out.missing_reason = "no measured cells to draw";
    return out;
  }
  // CPU per handshake first: it is the figure that compares servers on a shared machine.
  const std::vector<Chart> charts = {
      {"cpu", "Server CPU per handshake (lower is better; the figure to compare)",
       "server CPU per handshake, µs", [](const CellResult& c) { return c.server_cpu_us_per_handshake; }, nullptr, "",
       0},
      {"throughput", "Handshakes per second (bounded by the load generator on the same machine)", "handshakes/s",
       [](const CellResult& c) -> std::optional<double> { return c.handshakes_per_sec; }, nullptr, "", 0},
      {"latency", "Handshake latency, connect to handshake done: p50 bars, p99 dots", "ms",
       [](const CellResult& c) -> std::optional<double> {
         if (!c.latency_us) return std::nullopt;
         return c.latency_us->p50 / 1000;
       },
       [](const CellResult& c) -> std::optional<double> {
         if (!c.latency_us) return std::nullopt;
         return c.latency_us->p99 / 1000;
       },
       "p99", 1},
  };
  const std::size_t n = series.size();
  const double slot = 0.8 / static_cast<double>(n);  // width of one bar in a scenario's cluster
  for (const auto& chart : charts) {
    // One data block per series and kind (full, resumed): x, value, label; gnuplot's
    // `index` picks a block. A scenario without a figure is left out of its block.
    std::string data;
    bool any = false;
    std::vector<std::string> blocks;  // "series|kind" per block, in order
    for (std::size_t j = 0; j < n; ++j)
      for (const bool full : {true, false}) {
        std::string block = "# " + series[j] + (full ? " full" : " resumed") + "\n";
        bool rows = false;
        for (std::size_t i = 0; i < run.options.scenarios.size(); ++i) {
          const Scenario sc = run.options.scenarios[i];
          if (resumes(sc) == full) continue;
          for (const auto& c : run.cells) {
            if (c.scenario != sc || !c.measured() || c.handshakes == 0 || seriesName(run, c) != series[j]) continue;
            const auto v = chart.bar(c);
            if (!v) continue;
            const auto d = chart.dot ? chart.dot(c) : std::nullopt;
            const double x = static_cast<double>(i) + (static_cast<double>(j) - (static_cast<double>(n) - 1) / 2) * slot;
            block += formatNumber(x, 3) + "\t" + formatNumber(*v, 3) + "\t" + formatNumber(*v, chart.decimals) + "\t" +
                     (d ? formatNumber(*d, 3) : std::string("-")) + "\n";
            rows = true;
          }
        }
        if (!rows) continue;
        any = true;
        data += block + "\n\n";
        blocks.push_back(std::to_string(j) + (full ? "|full" : "|resumed"));
      }
    if (!any) continue;  // e.g. no CPU figures for an external target without --server-pid
    const std::string base = dir + "/" + chart.file;
    std::ofstream(base + ".dat", std::ios::trunc) << data;
    std::string xtics;
    for (std::size_t i = 0; i < run.options.scenarios.size(); ++i)
      xtics += std::string(i ? ", " : "") + quoted(toString(run.options.scenarios[i])) + " " + std::to_string(i);
    std::string script =
        "set terminal svg size 960,540 dynamic noenhanced font 'sans,11' background rgb 'white'\n"
        "set output " + quoted(base + ".svg") + "\n"
        "set title " + quoted(chart.title) + "\n"
        "set ylabel " + quoted(chart.ylabel) + "\n"
        "set datafile separator '\\t'\nset datafile missing '-'\n"
        "set grid ytics\nset yrange [0:*]\nset offsets 0, 0, graph 0.12, 0\n"
        "set xrange [-0.6:" + formatNumber(static_cast<double>(run.options.scenarios.size()) - 0.4, 1) + "]\n"
        "set xtics (" + xtics + ") nomirror rotate by -20\nset ytics nomirror\n"
        "set boxwidth " + formatNumber(slot * 0.92, 3) + " absolute\n"
        "set key outside right top\n";
    // The legend names what cannot be read off the axis: the series (only when there are
    // several), what hatched and solid mean (only when both kinds are drawn), the dots.
    const bool both_kinds = std::any_of(blocks.begin(), blocks.end(), [](const std::string& b) {
      return b.ends_with("|full");
    }) && std::any_of(blocks.begin(), blocks.end(), [](const std::string& b) { return b.ends_with("|resumed"); });
    std::vector<std::string> keys;
    if (n > 1)
      for (std::size_t j = 0; j < n; ++j)
        keys.push_back("keyentry with boxes fs solid 0.9 border lc rgb " + quoted(kColours[j % std::size(kColours)]) +
                       " lc rgb " + quoted(kColours[j % std::size(kColours)]) + " title " + quoted(series[j]));
    if (both_kinds) {
      keys.push_back("keyentry with boxes fs pattern 4 border lc rgb '#444444' lc rgb '#444444' title 'full handshake'");
      keys.push_back("keyentry with boxes fs solid 0.9 border lc rgb '#444444' lc rgb '#444444' title 'resumed'");
    }
    if (chart.dot) keys.push_back("keyentry with points pt 7 ps 0.7 lc rgb '#000000' title " + quoted(chart.dot_name));
    if (keys.size() < 2) script += "unset key\n";  // a one-entry legend says nothing
    const bool crowded = n > 2;
    std::vector<std::string> plots;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const std::size_t j = std::stoul(blocks[b]);
      const bool full = blocks[b].ends_with("|full");
      const std::string colour = quoted(kColours[j % std::size(kColours)]);
      const std::string file = quoted(base + ".dat") + " index " + std::to_string(b);
      plots.push_back(file + " using 1:2 with boxes fs " + (full ? "pattern 4" : "solid 0.9") + " border lc rgb " +
                      colour + " lc rgb " + colour + " notitle");
      plots.push_back(file + " using 1:2:3 with labels " +
                      (crowded ? "rotate by 90 left offset 0,0.4 font ',8'" : "offset 0,0.7 font ',9'") + " notitle");
      if (chart.dot) plots.push_back(file + " using 1:4 with points pt 7 ps 0.7 lc rgb '#000000' notitle");
    }
    if (keys.size() >= 2) plots.insert(plots.end(), keys.begin(), keys.end());
    script += "plot ";
    for (std::size_t i = 0; i < plots.size(); ++i) script += (i ? ", \\\n     " : "") + plots[i];
    script += "\n";
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
