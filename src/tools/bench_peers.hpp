#pragma once
// The servers under test: our own `tlsresume serve` ("self"), nginx and haproxy started
// from their Debian packages with configurations equivalent to ours, or an external
// HOST:PORT. All bind 127.0.0.1 on a free port and stop when their handle is dropped.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/certificate.hpp"
#include "server/config.hpp"
#include "tools/bench_process.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// One certificate and key per type, shared by every server of the run so that they all
// send the same bytes and sign with the same key.
struct CertMaterial {
  CertType type = CertType::ecdsa;
  tls::CertifiedKey key;
  std::string cert_pem;
  std::string key_pem;  // a throw-away test key; written to disk only for peers
};
CertMaterial makeCertMaterial(CertType type);

// A server to measure, running while this object lives.
struct RunningServer {
  server::Endpoint endpoint;
  std::optional<ChildProcess> process;  // set when the bench started it
  pid_t pid = 0;                        // whose CPU is measured; 0: unknown
  std::optional<server::Endpoint> admin;  // its admin endpoint (/metrics, /fleet), if any
  // The fleet target: its Redis and its servers (stopped first: declared last). `endpoint`
  // and `pid` are then the first server's; CPU is measured on each.
  std::unique_ptr<RunningServer> redis;
  std::vector<std::unique_ptr<RunningServer>> nodes;
};

class ServerLauncher {
 public:
  ServerLauncher(const BenchOptions& options, const TempDir& dir);

  // Why `target` cannot run here ("nginx not installed (apt-get install nginx-light)"),
  // or empty when it can.
  std::string unavailableReason(const Target& target);
  // Why `scenario` does not apply to `target`, or empty.
  static std::string scenarioSkipReason(const Target& target, Scenario scenario);
  // Starts the server (or, for an external target, just describes it). `stateful` asks
  // for stateful TLS 1.3 tickets: tls13_tickets = "stateful" for ours, session tickets
  // off for nginx (ssl_session_tickets off) and HAProxy (no-tls-tickets), which then issue
  // OpenSSL's stateful tickets from their session caches. Throws BenchError with the server's own
  // words when it does not come up.
  std::unique_ptr<RunningServer> start(const Target& target, const CertMaterial& cert, bool stateful);
  // The security posture of the configuration we give `target` (for nginx, of the
  // version --nginx names: 1.23.2 and later rotate their own ticket keys).
  Posture posture(const Target& target);
  // What the target is and which TLS library it runs (ours: the library it was built with;
  // nginx from `nginx -V`, HAProxy from `haproxy -vv`, the other build from its --version).
  // The label is left to the caller, which knows every target of the run.
  ServerInfo describe(const Target& target);
  // The binary of an other_build target: --other-build, else the build folder for its
  // library beside this binary's (build-boringssl/tlsresume next to build/tlsresume).
  std::string otherBuildPath(const Target& target) const;
  // The library the other build names in its --version; empty when it cannot run.
  std::string otherBuildLibrary(const Target& target);

 private:
  std::unique_ptr<RunningServer> startSelf(const std::string& exe, const std::string& name, const CertMaterial& cert,
                                           bool stateful);
  std::unique_ptr<RunningServer> startTcpFloor();
  std::unique_ptr<RunningServer> startNginx(const CertMaterial& cert, bool stateful);
  std::unique_ptr<RunningServer> startHaproxy(const CertMaterial& cert, bool stateful);
  // A redis-server on a free port (no persistence), then `--fleet-size` servers of ours
  // sharing it, once every one of them encrypts tickets with the fleet's key.
  std::unique_ptr<RunningServer> startFleet(const CertMaterial& cert, bool stateful);
  std::unique_ptr<RunningServer> startRedis();
  std::unique_ptr<RunningServer> startFleetNode(const CertMaterial& cert, bool stateful, const server::Endpoint& redis,
                                                unsigned fleet, unsigned node);
  // Spawns `make(port)` until it listens; retries on another port if one was taken.
  std::unique_ptr<RunningServer> launch(const std::string& what,
                                        const std::function<SpawnSpec(std::uint16_t port)>& make);
  std::string peerFiles(const CertMaterial& cert, bool combined);
  // "1.22.1" from `nginx -v`, "2.6.12-1+deb12u4" from `haproxy -v`, or empty when it
  // cannot say.
  std::string peerVersion(TargetKind kind);
  // Standard output and error of `argv`, run to its end (at most 5 s); empty if it fails.
  std::string outputOf(const std::vector<std::string>& argv, const std::string& log_name);

  const BenchOptions& options_;
  const TempDir& dir_;
  std::string self_exe_;
  unsigned launches_ = 0;
  std::map<std::string, std::string> other_library_;  // other build's binary -> its library ("" : cannot run)
};

const char* peerInstallHint(TargetKind kind);

// Where Debian's packages install them.
inline constexpr const char* kRedisServerBin = "/usr/bin/redis-server";
inline constexpr const char* kNginxBin = "/usr/sbin/nginx";
inline constexpr const char* kHaproxyBin = "/usr/sbin/haproxy";

}  // namespace tlsresume::tools::bench
