#include "redis/redis_cluster.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "redis/cluster_slots.hpp"

namespace tlsresume::redis {
namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::milliseconds;

constexpr milliseconds kRefreshTimeout{2000};
// On-demand refreshes (a MOVED, a dead master) at most ten a second, however many commands ask.
constexpr milliseconds kMinRefreshGap{100};

std::string addressOf(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::unix_socket) return e.path;
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

Reply failure(std::string why) {
  Reply r;
  r.str = std::move(why);
  return r;
}

}  // namespace

struct RedisCluster::Impl {
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
    Node(Impl& impl, std::string addr, std::string h) : address(std::move(addr)), host(std::move(h)), observer(impl, *this) {}
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
    if (options.refresh_period < kMinRefreshGap) options.refresh_period = kMinRefreshGap;
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
  std::shared_ptr<Node> ensureNodeLocked(const Endpoint& endpoint) {
    const std::string address = addressOf(endpoint);
    if (auto it = nodes.find(address); it != nodes.end()) return it->second;
    auto node = std::make_shared<Node>(*this, address, endpoint.host);
    LinkOptions o = options.link;
    o.endpoint = endpoint;
    try {
      node->link = std::make_unique<RedisLink>(std::move(o), &node->observer);
    } catch (const std::exception& e) {
      last_node_error = address + ": " + e.what();
      return nullptr;
    }
    if (started && !stopping) node->link->start();
    nodes.emplace(address, node);
    return node;
  }
  std::shared_ptr<Node> ensureNodeLocked(const std::string& host, std::uint16_t port) {
    Endpoint e;
    e.kind = node_kind;
    e.host = host;
    e.port = port;
    return ensureNodeLocked(e);
  }

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
  void nodeChanged(Node& changed, bool now_up, std::string_view reason) {
    std::vector<Parked> waiting;
    std::shared_ptr<Node> node;  // null when the node has left the table (its link is stopping)
    {
      std::lock_guard lock(mutex);
      if (const auto it = nodes.find(changed.address); it != nodes.end() && it->second.get() == &changed) {
        node = it->second;
        (now_up ? node->ever_up : node->failed) = true;
        waiting.swap(node->parked);
      }
      if (!now_up) {
        last_node_error = changed.address + ": " + std::string(reason);
        saw_failure = true;
        refresh_wanted = true;
      }
      recomputeUpLocked();
      wakeLocked();  // a link that came up can answer a refresh that is waiting for one
    }
    for (auto& p : waiting) {
      if (now_up) {
        send(std::move(p.attempt), *node, p.asking);
      } else {
        deliver(*p.attempt, Outcome::error, failure("link down: " + std::string(reason)));
      }
    }
  }

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
    deferred.emplace_back(std::move(done), failure(std::move(why)));
    wakeLocked();
  }

  static void deliver(Attempt& a, Outcome outcome, Reply&& reply) noexcept {
    auto done = std::move(a.done);
    if (done) done(outcome, std::move(reply));
  }

  // ---- commands ------------------------------------------------------------------------------

  void route(std::shared_ptr<Attempt> a) {
    std::shared_ptr<Node> node;  // released outside the lock: it may be the last reference
    {
      std::lock_guard lock(mutex);
      std::string why;
      if (stopping) {
        why = "cluster stopped";
      } else if (!known) {
        why = lastErrorLocked();
        refresh_wanted = true;
      } else if (const auto key = routingKey(a->args)) {
        const auto slot = keySlot(*key);
        const auto o = table.owner[slot];
        if (o != SlotTable::kNoOwner) node = owners[o];
        if (!node) why = "no master owns slot " + std::to_string(slot);
      } else {  // no key: any master that is up
        const auto masters = mastersLocked();
        for (const auto& m : masters)
          if (!node || (!node->link->up() && m->link->up())) node = m;
        if (!node) why = "no master in the slot table";
      }
      if (node && !node->link->up()) {
        refresh_wanted = true;  // a link that was up and is down answers at once with error
        if (parkLocked(*node, a, false)) node.reset();
      }
      if (!why.empty()) {
        counters.no_owner.fetch_add(1, std::memory_order_relaxed);
        refresh_wanted = true;
        deferred.emplace_back(std::move(a->done), failure(std::move(why)));
      }
      if (refresh_wanted) wakeLocked();
    }
    if (node) send(std::move(a), *node, false);
  }

  void send(std::shared_ptr<Attempt> a, Node& node, bool asking) {
    const auto left = std::chrono::ceil<milliseconds>(a->deadline - Clock::now());
    const auto timeout = std::max(left, milliseconds(0));  // spent: the link answers with a time-out
    auto args = a->args;
    auto done = [this, a, host = node.host](Outcome outcome, Reply&& reply) {
      onReply(a, host, outcome, std::move(reply));
    };
    if (asking)
      node.link->commandAfter({"ASKING"}, std::move(args), timeout, std::move(done));
    else
      node.link->command(std::move(args), timeout, std::move(done));
  }

  void onReply(const std::shared_ptr<Attempt>& a, const std::string& answered_by, Outcome outcome, Reply&& reply) {
    if (outcome != Outcome::error || reply.type != Reply::Type::error || stopping) {
      deliver(*a, outcome, std::move(reply));
      return;
    }
    const auto redirect = parseRedirect(reply.str);
    if (!redirect) {
      if (reply.str.starts_with("CLUSTERDOWN")) requestRefresh();
      deliver(*a, outcome, std::move(reply));
      return;
    }
    if (++a->redirects > options.max_redirects) {
      reply.str = "too many cluster redirections, the last: " + reply.str;
      deliver(*a, Outcome::error, std::move(reply));
      return;
    }
    (redirect->kind == Redirect::Kind::moved ? counters.moved : counters.asked).fetch_add(1, std::memory_order_relaxed);
    const std::string& host = redirect->host.empty() ? answered_by : redirect->host;
    std::shared_ptr<Node> node;
    {
      std::lock_guard lock(mutex);
      node = ensureNodeLocked(host, redirect->port);
      if (node && redirect->kind == Redirect::Kind::moved) {
        // The new owner at once; the refresh brings whatever else moved with it.
        auto it = std::find(owners.begin(), owners.end(), node);
        if (it == owners.end()) {
          table.masters.push_back({host, redirect->port, {}});
          it = owners.insert(owners.end(), node);
        }
        table.owner[redirect->slot] = static_cast<std::uint16_t>(it - owners.begin());
        refresh_wanted = true;
        wakeLocked();
      }
      if (node && parkLocked(*node, a, redirect->kind == Redirect::Kind::ask)) return;
    }
    if (!node) {
      deliver(*a, Outcome::error, failure("redirected to a node the cluster cannot reach"));
      return;
    }
    send(a, *node, redirect->kind == Redirect::Kind::ask);
  }

  void sendToNode(const std::string& address, std::vector<std::string> args, milliseconds timeout, Callback done) {
    std::shared_ptr<Node> node;
    {
      std::lock_guard lock(mutex);
      const auto masters = mastersLocked();
      for (const auto& m : masters)
        if (m->address == address) node = m;
    }
    if (!node || stopping) {
      failLater(std::move(done), "node " + address + " is no longer a master of the cluster");
      return;
    }
    node->link->command(std::move(args), timeout, std::move(done));
  }

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

void RedisCluster::Impl::run() noexcept {
  while (true) {
    std::vector<std::pair<Callback, Reply>> due;
    std::optional<Fetched> got;
    std::vector<Parked> expired;
    bool refresh = false;
    {
      std::unique_lock lock(mutex);
      cv.wait_until(lock, nextWakeLocked(Clock::now()), [&] { return poke || stopping.load(); });
      poke = false;
      if (stopping) break;
      due.swap(deferred);
      got.swap(fetched);
      for (auto& t : new_timers) timers.push_back(std::move(t));
      new_timers.clear();
      const auto now = Clock::now();
      for (auto& [address, node] : nodes) {
        auto& p = node->parked;
        const auto late = std::stable_partition(p.begin(), p.end(), [&](const Parked& w) { return w.attempt->deadline > now; });
        std::move(late, p.end(), std::back_inserter(expired));
        p.erase(late, p.end());
      }
      refresh = !refresh_in_flight && (now >= next_periodic || (refresh_wanted && now >= last_refresh + kMinRefreshGap));
    }
    for (auto& [done, reply] : due)
      if (done) done(Outcome::error, std::move(reply));
    for (auto& p : expired) deliver(*p.attempt, Outcome::timeout, failure("timed out waiting for the node's connection"));
    if (got) apply(std::move(*got));
    if (refresh) startRefresh();
    fireTimers(Clock::now());
    report();
  }
}

TimePoint RedisCluster::Impl::nextWakeLocked(TimePoint now) const {
  TimePoint next = now + milliseconds(1000);
  if (!refresh_in_flight) {
    next = std::min(next, next_periodic);
    if (refresh_wanted) next = std::min(next, last_refresh + kMinRefreshGap);
  }
  for (const auto& t : timers) next = std::min(next, t.next);
  for (const auto& [address, node] : nodes)
    for (const auto& p : node->parked) next = std::min(next, p.attempt->deadline);
  return next;
}

// Asks a master that is up (in turn), else any node that is up, for CLUSTER SLOTS. With no
// link up, the seeds' links are (re)made and the refresh waits for one to come up.
void RedisCluster::Impl::startRefresh() {
  std::shared_ptr<Node> ask;
  {
    std::lock_guard lock(mutex);
    const auto now = Clock::now();
    last_refresh = now;
    for (std::size_t i = 0; i < owners.size() && !ask; ++i) {
      const auto& n = owners[(rotor + i) % owners.size()];
      if (n && n->link->up()) ask = n;
    }
    ++rotor;
    for (auto it = nodes.begin(); it != nodes.end() && !ask; ++it)
      if (it->second->link->up()) ask = it->second;
    if (!ask) {
      for (const auto& seed : options.seeds)
        if (auto n = ensureNodeLocked(seed)) n->seed = true;
      refresh_wanted = true;
      next_periodic = now + kMinRefreshGap;
      return;
    }
    refresh_in_flight = true;
    refresh_wanted = false;
    next_periodic = now + options.refresh_period;
  }
  ask->link->command({"CLUSTER", "SLOTS"}, kRefreshTimeout, [this, host = ask->host](Outcome outcome, Reply&& reply) {
    auto ranges = outcome == Outcome::ok ? parseClusterSlots(reply) : std::nullopt;
    std::lock_guard lock(mutex);
    refresh_in_flight = false;
    if (ranges) {
      fetched = Fetched{std::move(*ranges), host};
    } else {
      refresh_wanted = true;
      if (outcome == Outcome::ok) last_node_error = host + ": CLUSTER SLOTS answered with something else";
    }
    wakeLocked();
  });
}

// Installs a table: a link for each master, and the links of nodes that are no master any
// more stopped (seeds are kept while no master is up: they are the way back in).
void RedisCluster::Impl::apply(Fetched f) {
  SlotTable fresh = buildSlotTable(f.ranges, f.host);
  std::vector<std::shared_ptr<Node>> retired, old_owners;  // released after the lock
  {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<Node>> fresh_owners;
    for (const auto& m : fresh.masters) fresh_owners.push_back(ensureNodeLocked(m.host, m.port));
    const bool master_up =
        std::any_of(fresh_owners.begin(), fresh_owners.end(), [](const auto& n) { return n && n->link->up(); });
    for (auto it = nodes.begin(); it != nodes.end();) {
      const bool is_master = std::find(fresh_owners.begin(), fresh_owners.end(), it->second) != fresh_owners.end();
      if (is_master || (it->second->seed && !master_up)) {
        ++it;
        continue;
      }
      retired.push_back(std::move(it->second));
      it = nodes.erase(it);
    }
    old_owners.swap(owners);
    owners = std::move(fresh_owners);
    table = std::move(fresh);
    known = true;
    recomputeUpLocked();
  }
  counters.refreshes.fetch_add(1, std::memory_order_relaxed);
  for (const auto& n : retired) {
    std::vector<Parked> waiting;
    {
      std::lock_guard lock(mutex);
      waiting.swap(n->parked);
    }
    for (auto& p : waiting) route(std::move(p.attempt));
  }
  // Joins each link's thread; commands sent to it meanwhile are answered with error when the
  // last reference goes.
  for (const auto& n : retired) n->link->stop();
}

void RedisCluster::Impl::fireTimers(TimePoint now) {
  for (auto& t : timers) {
    if (now < t.next) continue;
    t.next += t.period;
    if (t.next <= now) t.next = now + t.period;  // fell behind (a slow callback): no burst
    t.fn();
  }
}

void RedisCluster::Impl::report() {
  std::string reason;
  bool down_due = false;
  const bool now_up = is_up.load();
  {
    std::lock_guard lock(mutex);
    down_due = !now_up && (reported == Reported::up || (reported == Reported::nothing && saw_failure));
    if (down_due) reason = lastErrorLocked();
  }
  if (now_up && reported != Reported::up) {
    reported = Reported::up;
    if (observer) observer->onLinkUp();
  } else if (down_due) {
    reported = Reported::down;
    if (observer) observer->onLinkDown(reason);
  }
}

// ---- public face -----------------------------------------------------------------------------

RedisCluster::RedisCluster(ClusterOptions options, LinkObserver* observer)
    : impl_(std::make_unique<Impl>(std::move(options), observer)) {}

RedisCluster::~RedisCluster() {
  stop();
  std::map<std::string, std::shared_ptr<Impl::Node>> nodes;
  std::vector<std::shared_ptr<Impl::Node>> owners;
  std::vector<std::pair<Callback, Reply>> deferred;
  {
    std::lock_guard lock(impl_->mutex);
    nodes.swap(impl_->nodes);
    owners.swap(impl_->owners);
    deferred.swap(impl_->deferred);
  }
  owners.clear();
  for (auto& [address, node] : nodes)
    for (auto& p : node->parked) Impl::deliver(*p.attempt, Outcome::error, failure("cluster stopped"));
  nodes.clear();  // each link's destructor answers what it still holds
  for (auto& [done, reply] : deferred)
    if (done) done(Outcome::error, std::move(reply));
}

void RedisCluster::start() {
  if (impl_->started.exchange(true) || impl_->stopping) return;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& seed : impl_->options.seeds)
      if (auto n = impl_->ensureNodeLocked(seed)) n->seed = true;
    for (auto& [address, node] : impl_->nodes) node->link->start();
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void RedisCluster::stop() noexcept {
  impl_->stopping = true;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->wakeLocked();
  }
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) impl_->thread.join();
  std::vector<std::shared_ptr<Impl::Node>> all;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& [address, node] : impl_->nodes) all.push_back(node);
  }
  for (auto& n : all) n->link->stop();  // from a node's own callback: that loop just ends
}

void RedisCluster::command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) {
  impl_->counters.commands.fetch_add(1, std::memory_order_relaxed);
  auto a = std::make_shared<Impl::Attempt>();
  a->args = std::move(args);
  a->deadline = Clock::now() + timeout;
  a->done = std::move(done);
  impl_->route(std::move(a));
}

void RedisCluster::every(std::chrono::milliseconds period, std::function<void()> fn) {
  impl_->addTimer(period, std::move(fn));
}

bool RedisCluster::up() const noexcept { return impl_->is_up.load(); }

std::string RedisCluster::lastError() const {
  if (impl_->is_up) return {};
  std::lock_guard lock(impl_->mutex);
  return impl_->lastErrorLocked();
}

void RedisCluster::forEachDataNode(const std::function<void(RedisCommands& node)>& fn) {
  std::vector<RedisCommands*> visit;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& m : impl_->mastersLocked()) {
      auto& h = impl_->handles[m->address];
      if (!h) h = std::make_unique<Impl::NodeCommands>(*impl_, m->address);
      visit.push_back(h.get());
    }
  }
  for (auto* node : visit) fn(*node);
}

RedisCluster::Stats RedisCluster::stats() const noexcept {
  const auto& c = impl_->counters;
  return {c.commands.load(), c.moved.load(), c.asked.load(), c.refreshes.load(), c.no_owner.load()};
}

std::size_t RedisCluster::masters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->mastersLocked().size();
}


}  // namespace tlsresume::redis
