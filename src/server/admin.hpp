#pragma once
// The admin endpoint (loopback by default): /healthz, /metrics, revocation, keys.
// Serves one request per connection on a few threads of its own: it is an operator's
// tool, kept off the workers' event loops so a slow scrape never delays a handshake.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/admin_auth.hpp"
#include "server/http_request.hpp"
#include "tlsresume/clock.hpp"

namespace tlsresume {
class RevocationList;
class SessionStore;
namespace tls {
class TlsFrontend;
}
}  // namespace tlsresume

namespace tlsresume::server {

class Metrics;
class TlsHolder;

struct AdminContext {
  // admin_token_file: every request must carry "Authorization: Bearer <token>" (401 otherwise).
  std::optional<AdminToken> token;
  Metrics* metrics = nullptr;
  SessionStore* store = nullptr;
  RevocationList* revocations = nullptr;
  TlsHolder* tls = nullptr;  // the current TLS setup (hosts, policies, the store's keys)
  const Clock* clock = nullptr;
  // Appends more metric families (store, keyring) to the scrape.
  std::vector<std::function<void(std::string&)>> extra_metrics;
  // Key listing (JSON) and forced rotation; empty when tickets are not keyed by us.
  std::function<std::string()> keys_json;
  std::function<struct AdminResponse()> rotate;
  // POST /reload: read the configuration and certificates again (as SIGHUP does).
  std::function<struct AdminResponse()> reload;
  // Fleet mode: GET /fleet, and every revocation made here goes to the other servers too
  // (kind "id" with the id's bytes, "host" with its name, "before" with an empty subject).
  std::function<std::string()> fleet_json;
  std::function<std::string()> fleet_text;  // the same for people: aligned tables
  std::function<void(std::string_view kind, std::string_view subject, TimePoint t)> on_revoke;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

AdminResponse handleAdminRequest(const HttpRequest& request, const std::string& body, AdminContext& ctx);

class AdminServer {
 public:
  AdminServer(AdminContext ctx, int listen_fd);
  ~AdminServer();
  void start();
  void stop();

 private:
  void run();
  void serveOne(int fd);
  AdminContext ctx_;
  int listen_fd_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace tlsresume::server
