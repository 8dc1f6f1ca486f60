#include "node/routing_table.h"

#include <algorithm>

#include "wire/routing_header.h"

namespace nm::node {

RoutingTable::RoutingTable(uint64_t self_id, size_t max_routes)
    : self_id_(self_id), max_routes_(std::max<size_t>(max_routes, 1)) {}

bool RoutingTable::offer(uint64_t dest, uint64_t next_hop, uint32_t metric, uint64_t seq,
                         int64_t now_ns, bool raw) {
  if (dest == 0 || dest == self_id_ || metric == 0) return false;
  if (next_hop == 0 || next_hop == self_id_ || !is_neighbour(next_hop)) return false;
  if (is_neighbour(dest)) return false;  // pinned direct route

  const Route offered{dest, next_hop, metric, now_ns, seq, raw};
  auto it = routes_.find(dest);
  if (it == routes_.end()) {
    if (routes_.size() >= max_routes_ && !make_room()) return false;
    install(offered);
    return true;
  }
  const Route& cur = it->second;
  const bool same_path = cur.next_hop == next_hop;
  const bool better = metric < cur.metric;
  const bool current_missed_a_wave = seq >= cur.seq && seq - cur.seq >= kSeqSwitchGap;
  if (!same_path && raw != cur.raw) {
    if (raw) return false;  // authenticated routes are not for forgers to move
  } else if (!same_path && !better && !current_missed_a_wave) {
    return false;
  }
  install(offered);
  return true;
}

bool RoutingTable::offer_pingwave(uint64_t origin, uint64_t via, uint8_t hop_count,
                                  uint64_t seq, int64_t now_ns, bool raw) {
  if (hop_count >= wire::kMaxHops || origin == self_id_) return false;
  return offer(origin, via, static_cast<uint32_t>(hop_count) + 2, seq, now_ns, raw);
}

bool RoutingTable::should_forward_pingwave_to(uint64_t neighbour, uint64_t origin,
                                              uint64_t via) {
  return neighbour != via && neighbour != origin;
}

bool RoutingTable::add_neighbour(uint64_t peer, int64_t now_ns) {
  if (peer == 0 || peer == self_id_) return false;
  if (!routes_.contains(peer) && routes_.size() >= max_routes_ && !make_room()) return false;
  neighbours_.insert(peer);
  install(Route{peer, peer, 1, now_ns, 0});
  return true;
}

size_t RoutingTable::remove_neighbour(uint64_t peer) { return remove_next_hop(peer); }

size_t RoutingTable::remove_next_hop(uint64_t next_hop) {
  neighbours_.erase(next_hop);
  auto hop = by_next_hop_.find(next_hop);
  if (hop == by_next_hop_.end()) return 0;
  std::vector<uint64_t> doomed(hop->second.begin(), hop->second.end());
  for (uint64_t dest : doomed) erase(dest);
  return doomed.size();
}

std::optional<Route> RoutingTable::lookup(uint64_t dest) const {
  auto it = routes_.find(dest);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

size_t RoutingTable::expire(int64_t now_ns, int64_t max_age_ns) {
  size_t removed = 0;
  while (!by_age_.empty()) {
    auto [updated_ns, dest] = *by_age_.begin();
    if (now_ns - updated_ns <= max_age_ns) break;
    erase(dest);
    ++removed;
  }
  return removed;
}

std::vector<Route> RoutingTable::snapshot() const {
  std::vector<Route> out;
  out.reserve(routes_.size());
  for (const auto& [dest, r] : routes_) out.push_back(r);
  std::sort(out.begin(), out.end(), [](const Route& a, const Route& b) { return a.dest < b.dest; });
  return out;
}

void RoutingTable::install(const Route& r) {
  auto it = routes_.find(r.dest);
  if (it != routes_.end()) {
    by_age_.erase({it->second.updated_ns, r.dest});
    unlink_next_hop(it->second);
    it->second = r;
  } else {
    routes_.emplace(r.dest, r);
  }
  if (!is_neighbour(r.dest)) by_age_.insert({r.updated_ns, r.dest});
  by_next_hop_[r.next_hop].insert(r.dest);
}

void RoutingTable::erase(uint64_t dest) {
  auto it = routes_.find(dest);
  if (it == routes_.end()) return;
  by_age_.erase({it->second.updated_ns, dest});
  unlink_next_hop(it->second);
  routes_.erase(it);
}

void RoutingTable::unlink_next_hop(const Route& r) {
  auto hop = by_next_hop_.find(r.next_hop);
  hop->second.erase(r.dest);
  if (hop->second.empty()) by_next_hop_.erase(hop);
}

bool RoutingTable::make_room() {
  if (by_age_.empty()) return false;
  erase(by_age_.begin()->second);
  return true;
}

}  // namespace nm::node
