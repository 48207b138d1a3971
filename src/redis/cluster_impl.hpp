#pragma once
// The state of a RedisCluster, shared by redis_cluster.cpp (the public face, routing and
// redirections, node links coming up and going down) and cluster_control.cpp (the control
// thread: slot table refreshes, node links made and dropped, every() timers, up/down reports).
//
// Threads: callers (command(), every()), each node link's I/O thread (replies, link up/down)
// and the control thread. `mutex` guards the table and the nodes; it is never held while a
// link is stopped, a callback runs, or the last reference to a node may go (a link must not
// be destroyed on its own thread: only the control thread stops links, before it lets go).
#include "redis/redis_cluster.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "redis/cluster_slots.hpp"

namespace tlsresume::redis {
namespace cluster_detail {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

inline constexpr std::chrono::milliseconds kRefreshTimeout{2000};
// On-demand refreshes (a MOVED, a dead master) at most ten a second, however many commands ask.
inline constexpr std::chrono::milliseconds kMinRefreshGap{100};

inline std::string addressOf(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::unix_socket) return e.path;
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

inline Reply failure(std::string why) {
  Reply r;
  r.str = std::move(why);
  return r;
}

}  // namespace cluster_detail

struct RedisCluster::Impl {
  using Clock = cluster_detail::Clock;
  using TimePoint = cluster_detail::TimePoint;
  using milliseconds = std::chrono::milliseconds;

  struct Node;
  class NodeObserver final : public LinkObserver {
   public:
    NodeObserver(Impl& impl, Node& node) : impl_(impl), node_(node) {}
    void onLinkUp() noexcept override { impl_.nodeChanged(node_, true, {}); }
    void onLinkDown(std::string_view reason) noexcept override { impl_.nodeChanged(node_, false, reason); }

   private:
    Impl& impl_;
    Node& node_;
  };

  struct Attempt;
  struct Parked {
    std::shared_ptr<Attempt> attempt;
    bool asking = false;
  };
  struct Node {
    Node(Impl& impl, std::string addr, std::string h)
        : address(std::move(addr)), host(std::move(h)), observer(impl, *this) {}
    std::string address;
    std::string host;  // for a redirection that names no host: the node that answered
    NodeObserver observer;
    std::unique_ptr<RedisLink> link;  // after the observer: destroyed first
    bool seed = false;
    // Guarded by the cluster's mutex. A link that has not connected yet is not a dead one:
    // commands for it wait (within their deadline) for its first connection, not for a retry.
    bool ever_up = false;
    bool failed = false;
    std::vector<Parked> parked;
  };

  // One master as forEachDataNode hands it out: its commands go to that node, never redirected.
  class NodeCommands final : public RedisCommands {
   public:
    NodeCommands(Impl& impl, std::string address) : impl_(impl), address_(std::move(address)) {}
    void start() override {}
    void stop() noexcept override {}
    void command(std::vector<std::string> args, milliseconds timeout, Callback done) override {
      impl_.sendToNode(address_, std::move(args), timeout, std::move(done));
    }
    void every(milliseconds period, std::function<void()> fn) override { impl_.addTimer(period, std::move(fn)); }
    bool up() const noexcept override { return impl_.nodeUp(address_); }
    std::string lastError() const override { return up() ? std::string() : "node " + address_ + " is down"; }
    void forEachDataNode(const std::function<void(RedisCommands&)>& fn) override { fn(*this); }

   private:
    Impl& impl_;
    std::string address_;
  };

  struct Attempt {  // one command(), through its redirections
    std::vector<std::string> args;
    TimePoint deadline;
    Callback done;
    int redirects = 0;
  };
  struct Timer {
    milliseconds period;
    TimePoint next;
    std::function<void()> fn;
  };
  struct Fetched {
    std::vector<SlotRange> ranges;
    std::string host;
  };
  enum class Reported { nothing, up, down };

  Impl(ClusterOptions o, LinkObserver* obs) : options(std::move(o)), observer(obs) {
    for (const auto& s : options.seeds)
      if (s.kind == Endpoint::Kind::tls) node_kind = Endpoint::Kind::tls;
    if (options.max_redirects < 0) options.max_redirects = 0;
    if (options.refresh_period < cluster_detail::kMinRefreshGap)
      options.refresh_period = cluster_detail::kMinRefreshGap;
  }
  ~Impl() { OPENSSL_cleanse(options.link.password.data(), options.link.password.size()); }

  ClusterOptions options;
  LinkObserver* observer;
  Endpoint::Kind node_kind = Endpoint::Kind::tcp;

  mutable std::mutex mutex;
  std::condition_variable cv;
  // ---- guarded by mutex ----------------------------------------------------------------------
  std::map<std::string, std::shared_ptr<Node>> nodes;  // every link, by address
  SlotTable table;
  std::vector<std::shared_ptr<Node>> owners;  // table.masters' nodes, same order (null: no link)
  bool known = false;
  std::map<std::string, std::unique_ptr<NodeCommands>> handles;  // never erased: callers keep them
  std::vector<Timer> new_timers;
  std::vector<std::pair<Callback, Reply>> deferred;  // answered on the control thread
  std::optional<Fetched> fetched;
  bool poke = false;
  bool refresh_wanted = true;
  bool refresh_in_flight = false;
  bool saw_failure = false;
  std::string last_node_error;
  std::size_t rotor = 0;
  TimePoint last_refresh{};
  TimePoint next_periodic{};
  // ---- shared ---------------------------------------------------------------------------------
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  std::atomic<bool> is_up{false};
  struct {
    std::atomic<std::uint64_t> commands{0}, moved{0}, asked{0}, refreshes{0}, no_owner{0};
  } counters;
  std::thread thread;
  // ---- the control thread's own ---------------------------------------------------------------
  std::vector<Timer> timers;
  Reported reported = Reported::nothing;

  void wakeLocked() {
    poke = true;
    cv.notify_one();
  }

  // The node's link, created (and started, once the cluster is) on first mention. Null when
  // the link cannot be built (a bad CA file).
  std::shared_ptr<Node> ensureNodeLocked(const Endpoint& endpoint);
  std::shared_ptr<Node> ensureNodeLocked(const std::string& host, std::uint16_t port);

  std::vector<std::shared_ptr<Node>> mastersLocked() const {  // masters owning at least one slot
    std::vector<bool> owns(owners.size(), false);
    for (const auto o : table.owner)
      if (o != SlotTable::kNoOwner) owns[o] = true;
    std::vector<std::shared_ptr<Node>> out;
    for (std::size_t i = 0; i < owners.size(); ++i)
      if (owns[i] && owners[i] && std::find(out.begin(), out.end(), owners[i]) == out.end()) out.push_back(owners[i]);
    return out;
  }

  void recomputeUpLocked() {
    const bool now_up =
        known && std::any_of(owners.begin(), owners.end(), [](const auto& n) { return n && n->link->up(); });
    if (now_up != is_up.exchange(now_up)) wakeLocked();
  }

  std::string lastErrorLocked() const {
    const std::string detail = last_node_error.empty() ? std::string() : " (" + last_node_error + ")";
    return (known ? "no master reachable" : "no slot table yet") + detail;
  }

  // On the node link's thread. What waited for its first connection goes now, or fails.
  void nodeChanged(Node& changed, bool now_up, std::string_view reason);

  // Under the lock: true when `a` waits for `node`'s first connection instead of going now.
  bool parkLocked(Node& node, const std::shared_ptr<Attempt>& a, bool asking) {
    if (node.link->up() || node.ever_up || node.failed) return false;
    node.parked.push_back({a, asking});
    wakeLocked();  // its deadline is the control thread's to keep
    return true;
  }

  bool nodeUp(const std::string& address) const noexcept {
    std::lock_guard lock(mutex);
    const auto it = nodes.find(address);
    return it != nodes.end() && it->second->link->up();
  }

  void addTimer(milliseconds period, std::function<void()> fn) {
    if (period.count() < 1) period = milliseconds(1);
    std::lock_guard lock(mutex);
    new_timers.push_back({period, Clock::now() + period, std::move(fn)});
    wakeLocked();
  }

  void failLater(Callback done, std::string why) {
    std::lock_guard lock(mutex);
    deferred.emplace_back(std::move(done), cluster_detail::failure(std::move(why)));
    wakeLocked();
  }

  static void deliver(Attempt& a, Outcome outcome, Reply&& reply) noexcept {
    auto done = std::move(a.done);
    if (done) done(outcome, std::move(reply));
  }

  // ---- commands ------------------------------------------------------------------------------

  void route(std::shared_ptr<Attempt> a);
  void send(std::shared_ptr<Attempt> a, Node& node, bool asking);
  // A redirection is followed here; anything else goes to the caller.
  void onReply(const std::shared_ptr<Attempt>& a, const std::string& answered_by, Outcome outcome, Reply&& reply);
  void sendToNode(const std::string& address, std::vector<std::string> args, milliseconds timeout, Callback done);

  void requestRefresh() {
    std::lock_guard lock(mutex);
    refresh_wanted = true;
    wakeLocked();
  }

  // ---- the control thread --------------------------------------------------------------------

  void run() noexcept;
  void startRefresh();
  void apply(Fetched fetched);
  void fireTimers(TimePoint now);
  void report();
  TimePoint nextWakeLocked(TimePoint now) const;
};

}  // namespace tlsresume::redis
