#include "tlsresume/revocation_list.hpp"

#include <algorithm>

#include "tlsresume/hex.hpp"

namespace tlsresume {
RevocationList::RevocationList(const Clock& clock, std::size_t max_ids) : clock_(clock), max_ids_(max_ids) {
  current_.store(std::make_shared<const Snapshot>());
}

void RevocationList::publish(std::shared_ptr<const Snapshot> next) { current_.store(std::move(next)); }

// Writers copy the snapshot: revocations are rare, resumptions are not.
bool RevocationList::revokeId(std::string_view resumption_id, TimePoint until) {
  std::lock_guard lock(writer_);
  auto next = std::make_shared<Snapshot>(*current_.load());
  // Entries whose time has passed make room before anything is refused.
  const TimePoint now = clock_.now();
  std::erase_if(next->ids, [&](const auto& entry) { return entry.second <= now; });
  if (next->ids.size() >= max_ids_ && !next->ids.contains(resumption_id)) return false;
  auto& slot = next->ids[std::string(resumption_id)];
  slot = std::max(slot, until);
  publish(std::move(next));
  return true;
}

void RevocationList::revokeHost(std::string_view host, TimePoint issued_before) {
  std::lock_guard lock(writer_);
  auto next = std::make_shared<Snapshot>(*current_.load());
  auto& slot = next->hosts[std::string(host)];
  slot = std::max(slot, issued_before);
  publish(std::move(next));
}

void RevocationList::revokeAllBefore(TimePoint issued_before) {
  std::lock_guard lock(writer_);
  auto next = std::make_shared<Snapshot>(*current_.load());
  next->all_before = std::max(next->all_before, issued_before);
  publish(std::move(next));
}

std::size_t RevocationList::merge(const Batch& batch) {
  std::lock_guard lock(writer_);
  const auto cur = current_.load();
  auto next = std::make_shared<Snapshot>(*cur);
  const TimePoint now = clock_.now();
  std::size_t changed = 0;
  std::erase_if(next->ids, [&](const auto& entry) { return entry.second <= now; });
  for (const auto& [id, until] : batch.ids) {
    if (until <= now || id.empty()) continue;
    auto it = next->ids.find(id);
    if (it == next->ids.end()) {
      if (next->ids.size() >= max_ids_) continue;
      next->ids.emplace(id, until);
      ++changed;
    } else if (it->second < until) {
      it->second = until;
      ++changed;
    }
  }
  for (const auto& [host, before] : batch.hosts) {
    auto& slot = next->hosts[host];
    if (slot < before) {
      slot = before;
      ++changed;
    }
  }
  if (next->all_before < batch.all_before) {
    next->all_before = batch.all_before;
    ++changed;
  }
  if (changed != 0 || next->ids.size() != cur->ids.size()) publish(std::move(next));
  return changed;
}

bool RevocationList::isRevoked(std::string_view host, std::string_view resumption_id,
                               TimePoint issued_at) const noexcept {
  const auto snap = current_.load();
  // Strictly before: a session issued in the same instant as the revocation is the one
  // the revocation was aimed at, so "<=" is used (revocation time is taken after issue).
  if (issued_at <= snap->all_before) return true;
  if (!snap->hosts.empty()) {
    if (auto it = snap->hosts.find(host); it != snap->hosts.end() && issued_at <= it->second) return true;
  }
  if (!snap->ids.empty() && !resumption_id.empty()) {
    if (snap->ids.contains(resumption_id)) return true;
  }
  return false;
}

void RevocationList::expire() {
  const auto now = clock_.now();
  std::lock_guard lock(writer_);
  const auto cur = current_.load();
  if (std::none_of(cur->ids.begin(), cur->ids.end(), [&](const auto& e) { return e.second <= now; })) return;
  auto next = std::make_shared<Snapshot>(*cur);
  std::erase_if(next->ids, [&](const auto& e) { return e.second <= now; });
  publish(std::move(next));
}

std::vector<RevocationEntryView> RevocationList::entries() const {
  const auto snap = current_.load();
  std::vector<RevocationEntryView> out;
  if (snap->all_before != TimePoint{}) out.push_back({"before", "", snap->all_before});
  for (const auto& [h, t] : snap->hosts) out.push_back({"host", h, t});
  for (const auto& [id, t] : snap->ids) out.push_back({"id", toHex(id), t});
  return out;
}

std::size_t RevocationList::size() const noexcept {
  const auto snap = current_.load();
  return snap->ids.size() + snap->hosts.size() + (snap->all_before != TimePoint{} ? 1 : 0);
}

}  // namespace tlsresume
