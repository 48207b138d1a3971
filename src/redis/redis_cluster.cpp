#include <algorithm>

#include "redis/cluster_impl.hpp"

namespace tlsresume::redis {

using namespace cluster_detail;
using std::chrono::milliseconds;

// ---- node links --------------------------------------------------------------------------------

std::shared_ptr<RedisCluster::Impl::Node> RedisCluster::Impl::ensureNodeLocked(const Endpoint& endpoint) {
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

std::shared_ptr<RedisCluster::Impl::Node> RedisCluster::Impl::ensureNodeLocked(const std::string& host,
                                                                               std::uint16_t port) {
  Endpoint e;
  e.kind = node_kind;
  e.host = host;
  e.port = port;
  return ensureNodeLocked(e);
}

// On the node link's thread. What waited for its first connection goes now, or fails.
void RedisCluster::Impl::nodeChanged(Node& changed, bool now_up, std::string_view reason) {
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

// ---- commands --------------------------------------------------------------------------------

void RedisCluster::Impl::route(std::shared_ptr<Attempt> a) {
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

void RedisCluster::Impl::send(std::shared_ptr<Attempt> a, Node& node, bool asking) {
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

void RedisCluster::Impl::onReply(const std::shared_ptr<Attempt>& a, const std::string& answered_by, Outcome outcome,
                                 Reply&& reply) {
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

void RedisCluster::Impl::sendToNode(const std::string& address, std::vector<std::string> args, milliseconds timeout,
                                    Callback done) {
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

// ---- public face -----------------------------------------------------------------------------

RedisCluster::RedisCluster(ClusterOptions options, LinkObserver* observer)
    : impl_(std::make_unique<Impl>(std::move(options), observer)) {
  // What a link refuses to be built with (a CA file it cannot read) is refused here, at
  // configuration time, as RedisLink's constructor does; nodes' links are built later.
  for (const auto& seed : impl_->options.seeds) {
    LinkOptions o = impl_->options.link;
    o.endpoint = seed;
    RedisLink check(std::move(o));
  }
}

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
