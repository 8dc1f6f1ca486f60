// What a node does with a pingwave it received (wire spec §10) beyond the routing table:
// whether the origin is admitted at all, and whether this copy is re-broadcast. Pure
// logic: no sockets, no clock reads (callers pass now_ns), not thread-safe.
//
// Pingwaves are cheap to forge (72 unauthenticated bytes) and each re-broadcast goes to
// every other neighbour, so the rules bound what forged ones can make a node do:
//  * An origin not heard of recently is admitted (route installed, copy relayed) only
//    while the neighbour that delivered it has new-origin tokens left: kNewOriginBurst,
//    refilled at kNewOriginBurst per interval. A flood of invented origins costs the
//    forger nearly everything and installs at most that many routes per neighbour.
//  * Each admitted origin is re-broadcast at most once per half interval, and only for a
//    sequence newer than the last one relayed (any sequence after two quiet intervals: the
//    origin restarted): however many copies arrive, a known origin costs its neighbours
//    what the real one would.
//  * Relays of unauthenticated (raw) pingwaves also spend a byte budget that only raw
//    pingwaves received refill: whatever an off-path forger sends, the node re-broadcasts
//    at most as many bytes as it received (plus the bucket, kRawBudgetCap).
//  * One neighbour holds at most kMaxOriginsPerNeighbour of the kMaxOrigins tracked origins
//    (those it brought in): one that keeps refreshing the origins it invented cannot take the
//    whole table and lock every other neighbour's new origins out. Its tokens outlive a
//    re-handshake (a re-dial refilled them).
// Origins not heard for kForgetIntervals intervals are forgotten (routes from them
// expire sooner), so the state is bounded by neighbours x kNewOriginBurst x that.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace nm::node {

class PingwaveRelay {
 public:
  static constexpr uint32_t kNewOriginBurst = 32;
  static constexpr int64_t kForgetIntervals = 8;
  static constexpr size_t kMaxOrigins = 65536;
  static constexpr uint32_t kMaxOriginsPerNeighbour = kMaxOrigins / 8;
  static constexpr uint64_t kRawBudgetCap = 8192;

  // interval_ns: the node's heartbeat interval (how often an origin sends a new wave).
  explicit PingwaveRelay(int64_t interval_ns);

  // A pingwave (origin, seq) arrived from neighbour `via`. false: refused (a new origin
  // over the neighbour's allowance); otherwise the route may be offered.
  bool admit(uint64_t origin, uint64_t via, int64_t now_ns);
  // After admit: whether to re-broadcast this copy (see above). Records the relay.
  bool should_relay(uint64_t origin, uint64_t seq, int64_t now_ns);

  // Unauthenticated pingwaves: `received` bytes arrived; spend(n) takes n bytes of relay
  // if the budget has them.
  void earn_raw(uint64_t received);
  bool spend_raw(uint64_t bytes);

  // Drops origins silent for kForgetIntervals, and the allowance of neighbours that hold no
  // origin and have a full bucket (nothing left to remember).
  void expire(int64_t now_ns);
  size_t origins() const { return origins_.size(); }

 private:
  struct Origin {
    uint64_t via = 0;  // the neighbour that brought it in
    uint64_t relayed_seq = 0;
    int64_t relayed_ns = INT64_MIN / 2;
    int64_t heard_ns = 0;
  };
  struct Tokens {
    double tokens = kNewOriginBurst;
    int64_t refilled_ns = 0;
    uint32_t held = 0;  // origins it brought in, still tracked
  };
  void refill(Tokens& t, int64_t now_ns) const;
  int64_t interval_ns_;
  std::unordered_map<uint64_t, Origin> origins_;
  std::unordered_map<uint64_t, Tokens> tokens_;  // per delivering neighbour
  uint64_t raw_budget_ = 0;
};

}  // namespace nm::node
