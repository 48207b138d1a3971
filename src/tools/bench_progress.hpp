#pragma once
// Progress of a bench run on stderr: one line per cell as it starts and as it finishes;
// on a terminal the line updates in place while the cell runs.
#include <cstddef>
#include <cstdint>
#include <string>

namespace tlsresume::tools::bench {

class Progress {
 public:
  explicit Progress(std::size_t total_cells);
  void start(const std::string& cell, const std::string& plan);
  void tick(std::uint64_t handshakes, double seconds);
  void finish(const std::string& summary);
  void skip(const std::string& cell, const std::string& reason);
  void note(const std::string& text);

 private:
  std::string prefix() const;
  std::size_t total_;
  std::size_t index_ = 0;
  bool tty_;
  std::string cell_;
};

}  // namespace tlsresume::tools::bench
