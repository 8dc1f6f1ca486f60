// Hole punching as net-mesh 0.23 times it (wire/traversal.h): after a coordinator's
// introduction, three keep-alives to the peer's public address at the agreed moment, +100 ms
// and +250 ms, and for 5 s a watch for the peer's keep-alive from exactly that address (its
// arrival means the peer's NAT lets the peer's datagrams out towards us and ours in).
// Pure logic (time passed in, monotonic ns); not thread-safe.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace nm::node {

class PunchSchedule {
 public:
  static constexpr int64_t kKeepAliveOffsetsMs[] = {0, 100, 250};
  static constexpr int64_t kWatchNs = 5'000'000'000;  // from the introduction

  struct Punch {
    uint64_t peer = 0;
    uint64_t coordinator = 0;  // who introduced us (acknowledgements go through it)
    sockaddr_storage addr{};   // the peer's public address
    int64_t fire_at_ns = 0;
    int64_t watch_until_ns = 0;
    int sent = 0;  // keep-alives sent so far
  };

  // The monotonic moment (ns) of a firing time on the coordinator's Unix clock (ms), which
  // the wire gives as any u64: now if it has passed, and at the latest when the watch would
  // end (a later one could never be kept).
  static int64_t firing_moment(uint64_t fire_at_unix_ms, int64_t unix_now_ms, int64_t now);
  // An introduction to `peer` at `addr`, to fire at `fire_at_ns` (now if in the past);
  // replaces an earlier punch towards the same peer.
  void schedule(uint64_t peer, uint64_t coordinator, const sockaddr_storage& addr, int64_t fire_at_ns, int64_t now);
  // The punch scheduled towards `peer`, if any.
  const Punch* find(uint64_t peer) const;
  // Addresses a keep-alive is due to now (each counted as sent).
  std::vector<sockaddr_storage> due(int64_t now);
  // A keep-alive arrived from `from`: the punch it completes (taken off the schedule), if any.
  std::optional<Punch> on_keepalive(const sockaddr_storage& from, int64_t now);
  // Drops punches whose watch ended; returns how many (failed punches).
  int expire(int64_t now);
  // When the next keep-alive is due or a watch ends (INT64_MAX: nothing scheduled).
  int64_t next_deadline() const;
  bool empty() const { return punches_.empty(); }
  // Bounds the state a stream of introductions can make (the oldest punch gives way).
  static constexpr size_t kMaxPunches = 64;

 private:
  std::vector<Punch> punches_;
};

}  // namespace nm::node
