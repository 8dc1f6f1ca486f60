#include "node/punch_schedule.h"

#include <algorithm>
#include <climits>

#include "wire/address.h"

namespace nm::node {
namespace {
constexpr int kKeepAlives = sizeof PunchSchedule::kKeepAliveOffsetsMs / sizeof PunchSchedule::kKeepAliveOffsetsMs[0];
}

int64_t PunchSchedule::firing_moment(uint64_t fire_at_unix_ms, int64_t unix_now_ms, int64_t now) {
  if (unix_now_ms < 0 || fire_at_unix_ms <= static_cast<uint64_t>(unix_now_ms)) return now;
  uint64_t ahead_ms = std::min<uint64_t>(fire_at_unix_ms - static_cast<uint64_t>(unix_now_ms), kWatchNs / 1'000'000);
  return now + static_cast<int64_t>(ahead_ms) * 1'000'000;
}

void PunchSchedule::schedule(uint64_t peer, uint64_t coordinator, const sockaddr_storage& addr, int64_t fire_at_ns,
                             int64_t now) {
  std::erase_if(punches_, [&](const Punch& p) { return p.peer == peer; });
  if (punches_.size() >= kMaxPunches) punches_.erase(punches_.begin());
  punches_.push_back({peer, coordinator, addr, std::max(fire_at_ns, now), now + kWatchNs, 0});
}

const PunchSchedule::Punch* PunchSchedule::find(uint64_t peer) const {
  auto it = std::find_if(punches_.begin(), punches_.end(), [&](const Punch& p) { return p.peer == peer; });
  return it == punches_.end() ? nullptr : &*it;
}

std::vector<sockaddr_storage> PunchSchedule::due(int64_t now) {
  std::vector<sockaddr_storage> out;
  for (Punch& p : punches_) {
    while (p.sent < kKeepAlives && now >= p.fire_at_ns + kKeepAliveOffsetsMs[p.sent] * 1'000'000) {
      out.push_back(p.addr);
      ++p.sent;
    }
  }
  return out;
}

std::optional<PunchSchedule::Punch> PunchSchedule::on_keepalive(const sockaddr_storage& from, int64_t now) {
  auto it = std::find_if(punches_.begin(), punches_.end(), [&](const Punch& p) {
    return now < p.watch_until_ns && wire::same_address(p.addr, from);
  });
  if (it == punches_.end()) return std::nullopt;
  Punch p = *it;
  punches_.erase(it);
  return p;
}

int PunchSchedule::expire(int64_t now) {
  size_t before = punches_.size();
  std::erase_if(punches_, [&](const Punch& p) { return now >= p.watch_until_ns; });
  return static_cast<int>(before - punches_.size());
}

int64_t PunchSchedule::next_deadline() const {
  int64_t next = INT64_MAX;
  for (const Punch& p : punches_) {
    if (p.sent < kKeepAlives) next = std::min(next, p.fire_at_ns + kKeepAliveOffsetsMs[p.sent] * 1'000'000);
    next = std::min(next, p.watch_until_ns);
  }
  return next;
}

}  // namespace nm::node
