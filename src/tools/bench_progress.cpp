#include "tools/bench_progress.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace tlsresume::tools::bench {

Progress::Progress(std::size_t total_cells) : total_(total_cells), tty_(isatty(STDERR_FILENO) == 1) {}

std::string Progress::prefix() const {
  std::string out = "[";
  out += std::to_string(index_);
  out += '/';
  out += std::to_string(total_);
  out += "] ";
  return out + cell_;
}

void Progress::start(const std::string& cell, const std::string& plan) {
  ++index_;
  cell_ = cell;
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s: %s", prefix().c_str(), plan.c_str());
  else
    std::fprintf(stderr, "%s: %s\n", prefix().c_str(), plan.c_str());
  std::fflush(stderr);
}

void Progress::tick(std::uint64_t handshakes, double seconds) {
  if (!tty_) return;  // a log file gets the start and finish lines only
  std::fprintf(stderr, "\r\033[K%s: %llu handshakes in %.1f s", prefix().c_str(),
               static_cast<unsigned long long>(handshakes), seconds);
  std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s: %s\n", prefix().c_str(), summary.c_str());
  else
    std::fprintf(stderr, "%s: %s\n", prefix().c_str(), summary.c_str());
  std::fflush(stderr);
}

void Progress::skip(const std::string& cell, const std::string& reason) {
  ++index_;
  cell_ = cell;
  std::fprintf(stderr, "%s%s: skipped: %s\n", tty_ ? "\r\033[K" : "", prefix().c_str(), reason.c_str());
  std::fflush(stderr);
}

void Progress::note(const std::string& text) {
  std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", text.c_str());
  std::fflush(stderr);
}

}  // namespace tlsresume::tools::bench
