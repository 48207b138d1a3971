#pragma once
// The access log (access_log): one line per connection, written when it closes, in the
// log's format (log_format). Never a secret: addresses, names, versions, counts and times.
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/log.hpp"

namespace tlsresume::server {

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the connection closed
  std::string client;                          // numeric address, without the port
  std::uint16_t client_port = 0;
  std::string sni;      // as the client sent it; empty: none
  std::string vhost;    // the virtual host that served it
  std::string version;  // "TLSv1.3"; empty: no handshake finished
  std::string cipher;
  std::string alpn;      // the protocol chosen by ALPN; empty: none
  std::string resumed;   // no | session-id | ticket | stateful-ticket; empty: no handshake
  std::optional<std::chrono::nanoseconds> handshake;  // time to finish the handshake
  std::uint64_t bytes_in = 0;   // bytes received from the client (TLS records, as on the wire)
  std::uint64_t bytes_out = 0;  // bytes sent to the client
  std::chrono::nanoseconds duration{};  // accept to close
  std::string reason;  // done, client reset, idle timeout, handshake failed, backend failed, ...
};

// Fills client and client_port from a socket address (numeric, no DNS).
void setClient(AccessRecord& record, const sockaddr* addr, socklen_t len);

// One line, newline included. text: `TIME CLIENT:PORT key=value ...` with "-" for an empty
// value and the reason quoted; json: one object whose members are the record's fields.
std::string formatAccessLine(const AccessRecord& record, LogFormat format);

// Where the lines go: stderr, or a file opened with O_APPEND.
//
// Workers never wait for each other or for a lock here: each worker thread gathers its
// lines in a buffer of its own (thread-local) and writes the whole buffer with one
// write(2) after each batch of events, or at once when it passes kFlushBytes. With
// O_APPEND every write(2) lands whole at the end of the file, so lines of different
// workers never interleave, and a line costs no syscall of its own under load. A write to
// a regular file returns once the page cache holds it; a slow disk stalls one worker's
// batch, never the others. The queue alternative (one writer thread) would cost a lock or
// a wake-up per line and lose lines at a crash all the same.
class AccessLog {
 public:
  // "stderr" or a file path. Throws ConfigError naming access_log when it cannot be opened.
  explicit AccessLog(const std::string& target);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Adds a line to the calling thread's buffer; written by flushThread() or when it is full.
  void append(std::string_view line) noexcept;
  // Writes what the calling thread has gathered (one write(2)).
  void flushThread() noexcept;
  // SIGUSR1 (logrotate renamed the file): opens the path again and puts the new file in
  // place of the old one under the same descriptor (dup2), so a worker writing at that
  // moment writes whole lines to one file or the other, never to a closed descriptor.
  // Returns false (errno set) when the path cannot be opened: the old file stays in use.
  bool reopen() noexcept;
  bool toFile() const noexcept { return !path_.empty(); }
  const std::string& path() const noexcept { return path_; }

  static constexpr std::size_t kFlushBytes = 16 * 1024;

 private:
  std::string path_;  // empty: stderr
  int fd_ = 2;
};

}  // namespace tlsresume::server
