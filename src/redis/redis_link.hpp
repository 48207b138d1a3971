#pragma once
// The fleet's link to Redis: one connection (TCP, Unix socket or TLS) owned by one I/O thread,
// commands pipelined in order, each with its own deadline. Callers never block: command()
// takes a mutex for a queue push and nothing else; every callback runs on the link's thread.
// Secrets: the password is sent only inside AUTH, never appears in an error or a reason, and
// is wiped when the link is destroyed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_commands.hpp"
#include "redis/redis_reply.hpp"

namespace tlsresume::redis {

struct Endpoint {
  enum class Kind { tcp, tls, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;  // tcp/tls; a name (every resolved address is tried in turn) or an IP literal
  std::uint16_t port = 6379;
  std::string path;  // unix_socket
  // "redis://127.0.0.1:6379", "rediss://[::1]:6380", "unix:/run/redis.sock"; never credentials.
  std::string describe() const;
};

// "redis://host[:port]", "rediss://host[:port]", "unix:/path" (an optional trailing "/" or "/0"
// is accepted). A URL with user:password@ is refused: credentials belong in user/password_file.
// nullopt + *error = a one-line reason that never repeats the refused URL's userinfo.
std::optional<Endpoint> parseRedisUrl(std::string_view url, std::string* error);

struct LinkOptions {
  Endpoint endpoint;
  std::string user;             // Redis ACL user; empty: AUTH with password only (or no AUTH if no password)
  std::string password;         // wiped (OPENSSL_cleanse) when the link is destroyed
  std::string tls_ca_file;      // rediss: CA to verify Redis's certificate; empty: the system's default paths
  std::string tls_server_name;  // rediss: name to verify and send as SNI; default endpoint.host
  std::chrono::milliseconds connect_timeout{1000};  // also: silence with commands in flight = dead link
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::size_t max_pending = 100000;  // commands queued or in flight; beyond that command() fails at once
  std::string name;                  // CLIENT SETNAME value after connecting (e.g. "tlsresume:<node>"), optional
};

class LinkObserver {  // called on the link's thread; must not block
 public:
  virtual void onLinkUp() noexcept {}
  // Once per transition (first failure after start(), or up -> down), with the cause:
  // "connection refused", "WRONGPASS …", "timed out …". Never contains the password.
  virtual void onLinkDown(std::string_view /*reason*/) noexcept {}

 protected:
  ~LinkObserver() = default;
};

class RedisLink final : public RedisCommands {
 public:
  // Must not throw; runs on the link's thread. It may call command(), every() and stop(), but
  // must not destroy the link.
  using Callback = std::function<void(Outcome, Reply&&)>;

  // Throws std::runtime_error when the TLS context cannot be built (bad CA file) or the
  // process is out of descriptors.
  explicit RedisLink(LinkOptions options, LinkObserver* observer = nullptr);
  ~RedisLink() override;  // stops the thread; pending callbacks run with Outcome::error
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start() override;  // starts the I/O thread; connects in the background (never blocks the caller)
  void stop() noexcept override;

  // Thread-safe. `done` runs exactly once, on the link's I/O thread: with the reply (ok; or error
  // with reply.type == error when Redis answered -ERR), on timeout once `timeout` passed since the
  // call (the command may still execute in Redis; its late reply is discarded), or at once with
  // error when the link is down or max_pending is reached. Commands are pipelined on one
  // connection, in order. After stop(), `done` runs with error on the destroying thread.
  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) override;
  // As command(), with `first` sent just before `args` on the same connection and nothing
  // between them (Redis Cluster's ASKING applies to the next command only). `first`'s reply
  // is dropped; `done` gets the reply to `args`.
  void commandAfter(std::vector<std::string> first, std::vector<std::string> args, std::chrono::milliseconds timeout,
                    Callback done);

  // Runs fn on the I/O thread every `period` (first run one period after this call), while the
  // link runs, up or down.
  void every(std::chrono::milliseconds period, std::function<void()> fn) override;

  bool up() const noexcept override;       // connected and authenticated
  std::string lastError() const override;  // why it is down, "" when up
  // One Redis holds all the data.
  void forEachDataNode(const std::function<void(RedisCommands& node)>& fn) override { fn(*this); }

  struct Stats {
    std::uint64_t commands = 0;    // command() calls
    std::uint64_t timeouts = 0;    // callbacks run with Outcome::timeout
    std::uint64_t errors = 0;      // callbacks run with Outcome::error (refused ones included)
    std::uint64_t reconnects = 0;  // connection attempts after the first
    std::uint64_t refused = 0;     // commands failed at once: link down or queue full
  };
  Stats stats() const noexcept;

  struct Impl;  // the I/O thread's state (redis_link.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsresume::redis
