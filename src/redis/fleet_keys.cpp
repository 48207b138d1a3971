#include "redis/fleet_keys.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <future>

namespace tlsresume::redis {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{1000};
constexpr milliseconds kForcedRotationWait{1500};

// Takes the lease if nobody holds it, renews it if we do; answers the holder.
constexpr const char* kLeaseScript =
    "local h = redis.call('GET', KEYS[1])\n"
    "if h == false or h == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return ARGV[1]\n"
    "end\n"
    "return h\n";

long long unixMillis(TimePoint t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

bool sameSchedule(const KeySchedule& a, const KeySchedule& b) {
  return a.current_from == b.current_from && a.current_until == b.current_until && a.erase_at == b.erase_at;
}

}  // namespace

struct FleetKeySource::Cached {
  std::string id;  // public id (masterKeyId), the field name in {P}:keys
  FleetKeyRecord record;
};

FleetKeySource::FleetKeySource(RedisCommands& link, FleetKeyOptions options, const Clock& clock)
    : link_(link), options_(std::move(options)), clock_(clock) {}

FleetKeySource::~FleetKeySource() = default;

void FleetKeySource::poll() {
  if (polling_.exchange(true)) return;  // the previous poll's commands are still on their way
  try {
    link_.command({"EVAL", kLeaseScript, "1", options_.layout.lease(), options_.node,
                   std::to_string(options_.lease.count())},
                  kCommandTimeout, [this](Outcome outcome, Reply&& reply) {
                    if (outcome == Outcome::ok && reply.type == Reply::Type::string) {
                      std::lock_guard lock(mutex_);
                      lease_holder_ = reply.str;
                    }
                  });
    link_.command({"HGETALL", options_.layout.keys()}, kCommandTimeout, [this](Outcome outcome, Reply&& reply) {
      if (outcome == Outcome::ok && reply.type == Reply::Type::array) onKeys(std::move(reply));
      for (auto& e : reply.elements) OPENSSL_cleanse(e.str.data(), e.str.size());
      try {
        makeKeysIfLeader();
      } catch (...) {
        // Out of memory: the next poll tries again.
      }
      polling_.store(false);
    });
  } catch (...) {
    polling_.store(false);
  }
}

void FleetKeySource::onKeys(Reply&& reply) {
  const TimePoint now = clock_.now();
  std::vector<std::unique_ptr<Cached>> fresh;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    auto record = decodeFleetKeyRecord(reply.elements[i + 1].str, options_.wrap);
    if (!record) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (record->key.schedule.erasedAt(now)) continue;  // the lease holder deletes it
    const std::string id = masterKeyId(record->key.material.data() + kKeyNameOffset);
    if (id != reply.elements[i].str) {  // a record filed under another key's id
      rejected_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    fresh.push_back(std::make_unique<Cached>(Cached{id, std::move(*record)}));
  }
  std::sort(fresh.begin(), fresh.end(), [](const auto& a, const auto& b) {
    return a->record.key.schedule.current_from < b->record.key.schedule.current_from;
  });
  std::lock_guard lock(mutex_);
  bool same = fresh.size() == keys_.size();
  for (std::size_t i = 0; same && i < fresh.size(); ++i)
    same = fresh[i]->id == keys_[i]->id && sameSchedule(fresh[i]->record.key.schedule, keys_[i]->record.key.schedule);
  last_read_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  if (same) return;
  keys_ = std::move(fresh);  // the old records' material is wiped as they go
  changed_.store(true);
}

void FleetKeySource::makeKeysIfLeader() {
  const TimePoint now = clock_.now();
  KeySchedule next;
  std::vector<std::string> expired_fields;
  TimePoint last_erase{};
  {
    std::lock_guard lock(mutex_);
    if (lease_holder_ != options_.node || !synced()) return;
    TimePoint tail{};
    for (const auto& k : keys_) {
      tail = std::max(tail, k->record.key.schedule.current_until);
      last_erase = std::max(last_erase, k->record.key.schedule.erase_at);
    }
    const auto& o = options_.keyring;
    if (keys_.empty() || tail <= now) {
      // The fleet's first key (or the first after every key ran out): known everywhere
      // `lead` before it encrypts; nodes use their own keys until then.
      const TimePoint from = now + options_.lead;
      next = KeySchedule{now, from, from + o.rotation_period, from + o.rotation_period + o.decrypt_window};
    } else if (tail - now <= 2 * o.introduce_ahead) {
      next = KeySchedule{now, tail, tail + o.rotation_period, tail + o.rotation_period + o.decrypt_window};
    } else {
      return;
    }
  }
  std::vector<MasterKey> made = local_.fetch(KeyRequest{now, next, false});
  if (made.empty()) return;
  MasterKey& key = made.front();
  key.shared = true;
  const std::string id = masterKeyId(key.material.data() + kKeyNameOffset);
  std::string record = encodeFleetKeyRecord(key, options_.node, options_.wrap);
  if (record.empty()) return;
  // HSETNX: a key is never replaced, so a second lease holder (a lease that expired under
  // a paused node) adds a key beside this one at worst; both open tickets everywhere.
  link_.command({"HSETNX", options_.layout.keys(), id, std::move(record)}, kCommandTimeout,
                [this](Outcome outcome, Reply&& reply) {
                  if (outcome == Outcome::ok && reply.type == Reply::Type::integer && reply.integer == 1)
                    created_.fetch_add(1, std::memory_order_relaxed);
                });
  OPENSSL_cleanse(record.data(), record.size());
  // The hash goes with its last key if no node is left to delete records one by one.
  link_.command({"PEXPIREAT", options_.layout.keys(), std::to_string(unixMillis(std::max(last_erase, next.erase_at)))},
                kCommandTimeout, [](Outcome, Reply&&) {});
}

std::vector<MasterKey> FleetKeySource::copyLocked() const {
  std::vector<MasterKey> out;
  out.reserve(keys_.size() + 1);
  for (const auto& k : keys_) {
    MasterKey copy{SecureBuffer(kKeyMaterialBytes), k->record.key.schedule, true};
    std::copy_n(k->record.key.material.data(), kKeyMaterialBytes, copy.material.data());
    out.push_back(std::move(copy));
  }
  return out;
}

bool FleetKeySource::synced() const noexcept {
  const auto read = last_read_.load(std::memory_order_relaxed);
  return read != 0 && clock_.now() - TimePoint{WallClock::duration{read}} < options_.stale_after;
}

std::vector<MasterKey> FleetKeySource::fetch(const KeyRequest& request) {
  if (request.forced) {
    // An operator's rotation, fleet-wide: the fresh key is written to Redis and starts
    // `lead` ahead, so every node knows it before any encrypts with it; the current key
    // stops encrypting then. Without Redis there is no fleet-wide rotation: refused.
    if (!link_.up()) return {};
    const TimePoint now = request.now;
    const TimePoint from = now + options_.lead;
    const auto& o = options_.keyring;
    std::vector<std::string> args{"HSET", options_.layout.keys()};
    std::vector<MasterKey> out;
    {
      std::lock_guard lock(mutex_);
      // It fills the time up to a successor already scheduled (whose record stays), so
      // schedules never overlap.
      TimePoint until = from + o.rotation_period;
      for (const auto& k : keys_)
        if (k->record.key.schedule.current_from > from) until = std::min(until, k->record.key.schedule.current_from);
      std::vector<MasterKey> made = local_.fetch(KeyRequest{now, KeySchedule{now, from, until, until + o.decrypt_window}, true});
      if (made.empty()) return {};
      made.front().shared = true;
      args.push_back(masterKeyId(made.front().material.data() + kKeyNameOffset));
      args.push_back(encodeFleetKeyRecord(made.front(), options_.node, options_.wrap));
      out.push_back(std::move(made.front()));
      for (const auto& k : keys_) {
        const KeySchedule& s = k->record.key.schedule;
        if (s.current_from > now || s.current_until <= from) continue;
        MasterKey shortened{SecureBuffer(kKeyMaterialBytes), s, true};
        std::copy_n(k->record.key.material.data(), kKeyMaterialBytes, shortened.material.data());
        shortened.schedule.current_until = from;
        shortened.schedule.erase_at = std::min(s.erase_at, from + o.decrypt_window);
        args.push_back(k->id);
        args.push_back(encodeFleetKeyRecord(shortened, k->record.creator, options_.wrap));
        out.push_back(std::move(shortened));
      }
    }
    auto answered = std::make_shared<std::promise<bool>>();
    std::future<bool> ok = answered->get_future();
    link_.command(std::move(args), kCommandTimeout, [answered](Outcome outcome, Reply&& reply) {
      answered->set_value(outcome == Outcome::ok && reply.type == Reply::Type::integer);
    });
    if (ok.wait_for(kForcedRotationWait) != std::future_status::ready || !ok.get()) return {};
    created_.fetch_add(1, std::memory_order_relaxed);
    changed_.store(true);  // the next poll reads the new records for the cache
    return out;
  }

  std::lock_guard lock(mutex_);
  std::vector<MasterKey> keys = copyLocked();
  const TimePoint wanted = request.schedule.current_from;
  const bool covered = std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) {
    const KeySchedule& s = k->record.key.schedule;
    return s.current_from <= wanted && wanted < s.current_until;
  });
  // The fleet has no key for that time: while Redis answers and there is time left, the
  // lease holder will make one (the keyring asks again next tick); otherwise this node
  // makes its own, and hands over to the fleet's when it learns one.
  if (request.wants_key && !covered && (!synced() || wanted <= request.now + options_.keyring.introduce_ahead / 2)) {
    std::vector<MasterKey> own = local_.fetch(request);
    if (!own.empty()) local_fallbacks_.fetch_add(1, std::memory_order_relaxed);
    for (auto& k : own) keys.push_back(std::move(k));
  }
  return keys;
}

std::string FleetKeySource::leaseHolder() const {
  std::lock_guard lock(mutex_);
  return lease_holder_;
}

std::vector<FleetKeySource::KeyView> FleetKeySource::view() const {
  std::lock_guard lock(mutex_);
  std::vector<KeyView> out;
  for (const auto& k : keys_) out.push_back(KeyView{k->id, k->record.key.schedule, k->record.creator});
  return out;
}

FleetKeySource::Stats FleetKeySource::stats() const noexcept {
  return Stats{created_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
               local_fallbacks_.load(std::memory_order_relaxed)};
}

}  // namespace tlsresume::redis
