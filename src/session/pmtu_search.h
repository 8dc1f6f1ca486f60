// Path MTU discovery for one session (RFC 8899, DPLPMTUD): the largest datagram its path
// carries, learned from padded probes the peer acknowledges, so that events are cut by
// netmesh and never by IP. Datagrams leave with DF set, starting at the base; probes search
// upward to the ceiling (what the local route allows); a black hole (datagrams above the base
// lost, none of them acknowledged for longer than the minimum RTT) falls back to the base and
// searches again below the size that vanished; a small ping when large datagrams' answers
// are overdue finds the hole sooner. Pure logic: time in nanoseconds passed in, no sockets.
#pragma once
#include <climits>
#include <cstdint>

namespace nm::session {

class PmtuSearch {
 public:
  // BASE_PLPMTU: what any path carries. IPv6 promises every path a 1280-byte packet (RFC
  // 8200 §5), 1232 bytes of UDP payload; IPv4 promises less, and 1200 is QUIC's assumption.
  static constexpr uint32_t kBaseIpv4 = 1200;
  static constexpr uint32_t kBaseIpv6 = 1280 - 40 - 8;
  static constexpr int kMaxProbes = 3;         // MAX_PROBES: losses before a size is too big
  static constexpr uint32_t kResolution = 16;  // the search ends when the gap is smaller
  static constexpr int64_t kRaiseIntervalNs = 600'000'000'000;  // PMTU_RAISE_TIMER: search again
  static constexpr int kBlackHoleLosses = 3;   // large datagrams lost since one was acknowledged
  static constexpr int kMaxHoleCheckBackoff = 6;  // unanswered checks wait up to 64 round trips

  // `base`: kBaseIpv4 or kBaseIpv6, by the peer's address. `ceiling`: the largest UDP
  // payload to try (the local route's MTU less the IP and UDP headers, at most the largest
  // packet either side takes); the base or less: no search.
  PmtuSearch(uint32_t base, uint32_t ceiling, int64_t now_ns);

  uint32_t base() const { return base_; }
  uint32_t current() const { return current_; }  // PLPMTU: no datagram is larger
  uint32_t ceiling() const { return ceiling_; }
  bool searching() const { return searching_; }

  // The size of the probe to send now, 0 for none: one outstanding at a time, while a
  // search runs (or is due again).
  uint32_t probe_due(int64_t now_ns);
  void on_probe_sent(uint32_t size) { outstanding_ = size; ++probes_sent_; }
  // Returns true when current() changed.
  bool on_probe_acked(uint32_t size, int64_t now_ns);
  void on_probe_lost(uint32_t size, int64_t now_ns);

  // Datagrams other than probes, acknowledged (those without data too) or lost, for
  // black-hole detection; then, once what an acknowledgement (or the loss timer) told is
  // all in, whether they show a black hole: if so the search falls back to the base and it
  // returns true. `min_rtt_ns`: the session's minimum RTT.
  void on_acked(uint32_t size, int64_t sent_ns, int64_t now_ns);
  void on_lost(uint32_t size, int64_t sent_ns);
  bool black_hole_shown(int64_t now_ns, int64_t min_rtt_ns);
  // Whether to send a small ping now to tell a black hole from a stall, while datagrams are
  // above the base: the oldest one in flight (sent at `oldest_sent_ns`) has waited an
  // eighth of a round trip (as the loss detector's time threshold) more than its
  // acknowledgement should take (`ack_delay_ns`: what the peer may hold it, waiting for the
  // next datagrams of its flight), or large ones were lost and a ping sent now would be the
  // small datagram that shows a hole (a minimum RTT after the last large one that arrived).
  // At most one per round trip and `max_ack_delay_ns` (what the peer may hold a lone
  // ping's). Its acknowledgement lets the large ones be declared lost about a probe timeout
  // sooner than the probe timeout's own ping would. Checks nothing answers wait twice as
  // long each (a path that stalls, or a peer gone): else they would keep the probe timeout,
  // which backs off, from ever firing.
  bool hole_check_due(int64_t oldest_sent_ns, int64_t now_ns, int64_t srtt_ns, int64_t min_rtt_ns,
                      int64_t ack_delay_ns, int64_t max_ack_delay_ns) const;
  void on_hole_check_sent(int64_t now_ns) {
    last_hole_check_ns_ = now_ns;
    ++unanswered_hole_checks_;
  }
  // Any acknowledgement from the peer.
  void on_path_answered() { unanswered_hole_checks_ = 0; }

  uint64_t probes_sent() const { return probes_sent_; }
  uint64_t probes_lost() const { return probes_lost_; }
  uint64_t black_holes() const { return black_holes_; }

 private:
  void start_search(uint32_t high, bool try_high_first);
  void finish_search(int64_t now_ns);
  bool narrowed() const;  // the gap left is below kResolution: the search is done
  uint32_t candidate() const;
  // Whether a small datagram sent at `sent_ns` and acknowledged would show a hole: enough
  // large ones lost, and it left a minimum RTT after the last large one that arrived.
  bool small_one_would_show(int64_t sent_ns, int64_t min_rtt_ns) const {
    return large_losses_ >= kBlackHoleLosses && sent_ns - last_large_acked_sent_ns_ > min_rtt_ns;
  }

  uint32_t base_;
  uint32_t ceiling_;
  uint32_t current_;
  bool searching_ = false;
  // The search: current_ works; sizes above high_ do not (high_ itself is untried, except
  // at the start, when high_ = ceiling_ is tried first: the usual answer, in one round trip).
  uint32_t high_ = 0;
  bool try_high_ = true;
  uint32_t outstanding_ = 0;  // the probe in flight (0: none)
  int failures_ = 0;          // of the size being probed
  int64_t next_search_ns_ = 0;
  // Black-hole detection.
  int64_t last_large_acked_sent_ns_;  // the latest send time of one acknowledged
  int64_t last_large_ack_ns_;         // when one was last acknowledged
  int64_t last_small_acked_sent_ns_ = INT64_MIN / 2;
  int64_t last_small_lost_sent_ns_ = INT64_MIN / 2;
  int large_losses_ = 0;  // since a large datagram was last acknowledged
  int64_t last_hole_check_ns_ = INT64_MIN / 2;
  int unanswered_hole_checks_ = 0;
  uint64_t probes_sent_ = 0, probes_lost_ = 0, black_holes_ = 0;
};

}  // namespace nm::session
