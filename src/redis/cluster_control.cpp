#include <algorithm>
#include <iterator>

#include "redis/cluster_impl.hpp"

namespace tlsresume::redis {

using namespace cluster_detail;
using std::chrono::milliseconds;

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
        const auto late =
            std::stable_partition(p.begin(), p.end(), [&](const Parked& w) { return w.attempt->deadline > now; });
        std::move(late, p.end(), std::back_inserter(expired));
        p.erase(late, p.end());
      }
      refresh =
          !refresh_in_flight && (now >= next_periodic || (refresh_wanted && now >= last_refresh + kMinRefreshGap));
    }
    for (auto& [done, reply] : due)
      if (done) done(Outcome::error, std::move(reply));
    for (auto& p : expired)
      deliver(*p.attempt, Outcome::timeout, failure("timed out waiting for the node's connection"));
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

}  // namespace tlsresume::redis
