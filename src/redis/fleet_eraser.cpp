#include "redis/fleet_eraser.hpp"

#include <memory>

#include "tlsresume/stored_session.hpp"

namespace tlsresume::redis {
namespace {

constexpr std::chrono::milliseconds kCommandTimeout{2000};
constexpr const char* kScanCount = "1000";
constexpr std::size_t kHostPrefixBytes = 8;

}  // namespace

struct FleetSessionEraser::Pass {
  RedisCommands* node = nullptr;  // SCAN walks one node's keyspace: one pass per data node
  std::vector<Rule> rules;
  std::string cursor = "0";
  bool failed = false;
};

FleetSessionEraser::FleetSessionEraser(RedisCommands& link, FleetLayout layout) : link_(link), layout_(std::move(layout)) {}

bool FleetSessionEraser::running() const {
  std::lock_guard lock(mutex_);
  return running_ != 0;
}

void FleetSessionEraser::erase(Rule rule) {
  std::vector<std::shared_ptr<Pass>> passes;
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(rule));
    if (running_ == 0) passes = startPassesLocked();
  }
  // Outside the lock: a link that is down answers at once, on this thread.
  for (auto& pass : passes) scan(std::move(pass));
}

std::vector<std::shared_ptr<FleetSessionEraser::Pass>> FleetSessionEraser::startPassesLocked() {
  std::vector<std::shared_ptr<Pass>> passes;
  std::vector<Rule> rules;
  rules.swap(waiting_);
  link_.forEachDataNode([&](RedisCommands& node) {
    auto pass = std::make_shared<Pass>();
    pass->node = &node;
    pass->rules = rules;
    passes.push_back(std::move(pass));
  });
  running_ = passes.size();
  return passes;
}

void FleetSessionEraser::scan(std::shared_ptr<Pass> pass) {
  pass->node->command({"SCAN", pass->cursor, "MATCH", layout_.session("*"), "COUNT", kScanCount}, kCommandTimeout,
                [this, pass](Outcome outcome, Reply&& reply) {
                  if (outcome != Outcome::ok || reply.type != Reply::Type::array || reply.elements.size() != 2) {
                    pass->failed = true;
                    finish(pass);
                    return;
                  }
                  pass->cursor = reply.elements[0].str;
                  std::vector<std::string> keys;
                  for (auto& k : reply.elements[1].elements) keys.push_back(std::move(k.str));
                  judge(pass, std::move(keys));
                });
}

void FleetSessionEraser::judge(std::shared_ptr<Pass> pass, std::vector<std::string> keys) {
  if (keys.empty()) {
    finish(pass);
    return;
  }
  // One GETRANGE per key, pipelined; the last answer deletes what the rules cover and
  // goes on with the scan.
  struct Batch {
    std::vector<std::string> keys;
    std::vector<bool> doomed;
    std::size_t answered = 0;
  };
  auto batch = std::make_shared<Batch>();
  batch->keys = std::move(keys);
  batch->doomed.assign(batch->keys.size(), false);
  const std::size_t prefix = layout_.session("").size();
  for (std::size_t i = 0; i < batch->keys.size(); ++i) {
    pass->node->command({"GETRANGE", batch->keys[i], "0", "9"}, kCommandTimeout,
                  [this, pass, batch, i, prefix](Outcome outcome, Reply&& reply) {
                    if (outcome == Outcome::ok && reply.type == Reply::Type::string && reply.str.size() == 10 &&
                        static_cast<unsigned char>(reply.str[0]) == kStoredSessionVersion) {
                      std::uint64_t start = 0;
                      for (std::size_t b = 2; b < 10; ++b) start = (start << 8) | static_cast<unsigned char>(reply.str[b]);
                      const TimePoint t{std::chrono::seconds{static_cast<std::int64_t>(start)}};
                      const std::string_view host = std::string_view(batch->keys[i]).substr(prefix, kHostPrefixBytes);
                      for (const Rule& r : pass->rules)
                        if (t <= r.before && (r.host_prefix.empty() || host == r.host_prefix)) batch->doomed[i] = true;
                    } else if (outcome != Outcome::ok) {
                      pass->failed = true;
                    }
                    if (++batch->answered != batch->keys.size()) return;
                    std::vector<std::string> del{"DEL"};
                    for (std::size_t j = 0; j < batch->keys.size(); ++j)
                      if (batch->doomed[j]) del.push_back(batch->keys[j]);
                    if (del.size() > 1) {
                      pass->node->command(std::move(del), kCommandTimeout, [this](Outcome o, Reply&& r) {
                        if (o == Outcome::ok && r.type == Reply::Type::integer)
                          erased_.fetch_add(static_cast<std::uint64_t>(r.integer), std::memory_order_relaxed);
                      });
                    }
                    finish(pass);
                  });
  }
}

void FleetSessionEraser::finish(std::shared_ptr<Pass> pass) {
  if (!pass->failed && pass->cursor != "0") {
    scan(std::move(pass));
    return;
  }
  std::vector<std::shared_ptr<Pass>> next;
  {
    std::lock_guard lock(mutex_);
    if (--running_ == 0 && !waiting_.empty()) next = startPassesLocked();
  }
  for (auto& p : next) scan(std::move(p));
}

}  // namespace tlsresume::redis
