// One best route per destination node id, fed by direct neighbours and pingwaves
// (wire spec §10, §12). Pure logic: no sockets, no clock reads (callers pass now_ns),
// not thread-safe (the owner serialises access).
//
// Invariants
//  * Every route's next hop is a current direct neighbour (add_neighbour). Removing a
//    neighbour removes every route through it.
//  * A direct neighbour N has the pinned route {dest N, next_hop N, metric 1}; offers for
//    dest N are refused while N is a neighbour, and the route neither expires nor is
//    evicted (its lifetime is add_neighbour .. remove_neighbour / remove_next_hop).
//  * No route to self_id or to node id 0; no next hop self_id or 0; metric >= 1.
//  * At most max_routes entries. A new destination arriving at a full table evicts the
//    least recently updated non-neighbour route (so a flood of forged origins costs the
//    oldest learned routes, never memory); if only neighbour routes remain it is refused.
//
// Acceptance and tie-breaking (offer), given an existing route R to dest:
//  1. same next hop as R: always accepted; metric and seq are overwritten and the route
//     is refreshed. (The current path re-advertising itself is authoritative, including a
//     worse metric or a lower seq after the origin restarted.)
//  2. different next hop: accepted if metric < R.metric (strictly better), or if
//     seq >= R.seq + kSeqSwitchGap (2): the current next hop has missed a whole wave of
//     the origin that another neighbour delivered, so its path is presumed broken. A
//     wave only one newer does not switch, so a slightly faster but longer path does not
//     flap the route every tick.
//  3. otherwise refused: equal metrics keep the installed route (stability; the first
//     path learned wins), and a refused offer does not refresh R (unlike 0.23, whose
//     refresh-on-any-offer keeps a dead path alive while any other path exists).
//  Before rules 2 and 3: a route learned from authenticated pingwaves (sealed in a
//  session, or a neighbour's own) is never replaced by an offer from an unauthenticated
//  (raw, 0.23) one, and always replaces a raw-learned route. Anyone can forge a raw
//  pingwave from a 0.23 neighbour's address; it must not steer traffic between netmesh
//  nodes (a forged hop count 0 and seq 2^64-1 would win rule 2 and then hold the route).
// Routes are refreshed only through rule 1, so expire() drops a path whose next hop
// stopped re-advertising it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace nm::node {

struct Route {
  uint64_t dest = 0;
  uint64_t next_hop = 0;  // peer node id of the directly connected neighbour
  uint32_t metric = 0;    // 1 = direct neighbour; pingwave routes hop_count + 2
  int64_t updated_ns = 0;
  uint64_t seq = 0;  // origin's pingwave seq that last installed/refreshed it (0: none)
  bool raw = false;  // learned from unauthenticated pingwaves

  friend bool operator==(const Route&, const Route&) = default;
};

class RoutingTable {
 public:
  static constexpr size_t kDefaultMaxRoutes = 65536;
  static constexpr uint64_t kSeqSwitchGap = 2;

  explicit RoutingTable(uint64_t self_id, size_t max_routes = kDefaultMaxRoutes);

  // Installs/refreshes per the rules above; true if the table changed.
  bool offer(uint64_t dest, uint64_t next_hop, uint32_t metric, uint64_t seq, int64_t now_ns, bool raw = false);

  // A pingwave from `origin` received from direct neighbour `via` with `hop_count`:
  // offer(origin, via, hop_count + 2, seq, now_ns) (0.23's metric), refused when
  // hop_count >= kMaxHops (16) or origin == self. `via` must be a neighbour (0.23 also
  // ignores pingwaves whose source address is not a directly connected peer).
  bool offer_pingwave(uint64_t origin, uint64_t via, uint8_t hop_count, uint64_t seq,
                      int64_t now_ns, bool raw = false);

  // Split horizon for re-broadcasting a pingwave from `origin` that arrived via `via`:
  // never back to the neighbour it came from, nor to its origin.
  static bool should_forward_pingwave_to(uint64_t neighbour, uint64_t origin, uint64_t via);

  // Direct neighbour: pinned metric-1 route (replaces any learned route to it). False
  // for self / 0, or when the table is full of neighbour routes. Re-adding refreshes.
  bool add_neighbour(uint64_t peer, int64_t now_ns);
  // Same as remove_next_hop(peer).
  size_t remove_neighbour(uint64_t peer);
  // A neighbour failed or went away: it stops being a neighbour and every route through
  // it (its own direct route included) is dropped. Returns the number of routes removed.
  size_t remove_next_hop(uint64_t next_hop);

  std::optional<Route> lookup(uint64_t dest) const;
  bool is_neighbour(uint64_t peer) const { return neighbours_.contains(peer); }

  // Drops learned routes with now_ns - updated_ns > max_age_ns (0.23: 3 x session
  // timeout = 90 s). Neighbour routes never expire. Returns the number removed.
  size_t expire(int64_t now_ns, int64_t max_age_ns);

  size_t size() const { return routes_.size(); }
  size_t max_routes() const { return max_routes_; }
  uint64_t self_id() const { return self_id_; }
  std::vector<Route> snapshot() const;  // every route, sorted by dest

 private:
  void install(const Route& r);  // insert or overwrite, keeping by_age_ in step
  void erase(uint64_t dest);
  void unlink_next_hop(const Route& r);  // r leaves by_next_hop_
  bool make_room();  // evicts the oldest learned route; false if none is evictable

  uint64_t self_id_;
  size_t max_routes_;
  std::unordered_map<uint64_t, Route> routes_;
  std::unordered_set<uint64_t> neighbours_;
  std::set<std::pair<int64_t, uint64_t>> by_age_;  // (updated_ns, dest), learned routes only
  // The routes through each next hop: a neighbour that goes costs its routes, not a scan of
  // the table (a re-dialling peer could else make every re-handshake scan 65,536 routes).
  std::unordered_map<uint64_t, std::unordered_set<uint64_t>> by_next_hop_;
};

}  // namespace nm::node
