#include "redis/fleet_revocations.hpp"

#include <charconv>
#include <optional>

#include "tlsresume/hex.hpp"

namespace tlsresume::redis {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kCommandTimeout{1000};

// Moves an entry's time later (never earlier) and bumps the list's version.
constexpr const char* kPublishScript =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if (not cur) or tonumber(cur) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end\n"
    "return redis.call('INCR', KEYS[2])\n";

long long unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::optional<TimePoint> parseSeconds(const std::string& s) {
  long long v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0 || v > 9'000'000'000LL) return std::nullopt;
  return TimePoint{std::chrono::seconds{v}};
}

}  // namespace

FleetRevocations::FleetRevocations(RedisCommands& link, FleetLayout layout, RevocationList& list, const Clock& clock)
    : link_(link), layout_(std::move(layout)), list_(list), clock_(clock) {}

void FleetRevocations::publishId(std::string_view resumption_id, TimePoint until) {
  publish("id:" + toHex(resumption_id), until);
}
void FleetRevocations::publishHost(std::string_view host, TimePoint issued_before) {
  publish("host:" + std::string(host), issued_before);
}
void FleetRevocations::publishAllBefore(TimePoint issued_before) { publish("before", issued_before); }

void FleetRevocations::publish(std::string field, TimePoint t) {
  {
    std::lock_guard lock(mutex_);
    pending_.emplace_back(std::move(field), t);
  }
  flushPending();
}

std::size_t FleetRevocations::pending() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

void FleetRevocations::flushPending() {
  if (!link_.up()) return;  // written when the link is back (poll)
  std::vector<std::pair<std::string, TimePoint>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
  }
  for (auto& [field, t] : batch) {
    link_.command({"EVAL", kPublishScript, "2", layout_.revocations(), layout_.revocationsVersion(), field,
                   std::to_string(unixSeconds(t))},
                  kCommandTimeout, [this, field = field, t = t](Outcome outcome, Reply&& reply) {
                    if (outcome == Outcome::ok && reply.type == Reply::Type::integer) return;
                    // Not written (the link went down meanwhile): kept for the next try.
                    std::lock_guard lock(mutex_);
                    pending_.emplace_back(field, t);
                  });
  }
}

void FleetRevocations::poll() {
  const bool up = link_.up();
  if (up && !was_up_.exchange(up)) version_.store(-1);  // back from an outage: load the whole list first
  was_up_.store(up);
  if (!up || polling_.exchange(true)) return;
  flushPending();
  link_.command({"GET", layout_.revocationsVersion()}, kCommandTimeout, [this](Outcome outcome, Reply&& reply) {
    long long version = 0;  // no counter yet: nothing was ever revoked
    if (outcome != Outcome::ok) {
      polling_.store(false);
      return;
    }
    if (reply.type == Reply::Type::string) std::from_chars(reply.str.data(), reply.str.data() + reply.str.size(), version);
    if (version == version_.load()) {
      polling_.store(false);
      return;
    }
    link_.command({"HGETALL", layout_.revocations()}, kCommandTimeout,
                  [this, version](Outcome o, Reply&& all) {
                    if (o == Outcome::ok && all.type == Reply::Type::array) {
                      apply(std::move(all));
                      version_.store(version);
                    }
                    polling_.store(false);
                  });
  });
}

void FleetRevocations::apply(Reply&& all) {
  const TimePoint now = clock_.now();
  RevocationList::Batch batch;
  std::vector<std::string> expired;
  for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    const std::string& field = all.elements[i].str;
    const auto t = parseSeconds(all.elements[i + 1].str);
    if (!t) continue;
    if (field == "before") {
      batch.all_before = std::max(batch.all_before, *t);
    } else if (field.starts_with("host:")) {
      batch.hosts.emplace_back(field.substr(5), *t);
    } else if (field.starts_with("id:")) {
      if (*t <= now) {
        expired.push_back(field);
        continue;
      }
      if (auto id = fromHex(std::string_view(field).substr(3))) batch.ids.emplace_back(std::move(*id), *t);
    }
  }
  const std::size_t changed = list_.merge(batch);
  if (changed != 0) {
    entries_merged_.fetch_add(changed, std::memory_order_relaxed);
    merged_.store(true);
  }
  if (!expired.empty()) {
    std::vector<std::string> args{"HDEL", layout_.revocations()};
    for (auto& f : expired) args.push_back(std::move(f));
    link_.command(std::move(args), kCommandTimeout, [](Outcome, Reply&&) {});
  }
}

}  // namespace tlsresume::redis
