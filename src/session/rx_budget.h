// Receive budgets: how much memory a node holds for its peers, per session and in all.
//
// Everything a peer can make the node keep is charged to its session and to the node:
// packets queued unread (their payload buffer's capacity plus kPacketBookkeeping each),
// early packets waiting in reorder buffers (the same), and large events in reassembly
// (Stream::event_reservation each: max_event_bytes + 196, covering the reassembly buffer,
// which never grows past max_event_bytes + 4, and the event it completes into). A data
// packet that would take a session past max_session_buffer_bytes or the node past
// max_buffer_bytes is dropped (drop_over_budget); stream/stream_receive.cpp has the rules
// that keep this from wedging a stream. Streams report what they hold
// (Stream::held_bytes); the node carries each change to the budget (HeldChange).
//
// Worst case, memory held for one session (S streams = max_streams, E = max_event_bytes):
//
//   max_session_buffer_bytes            charged: queued + early packets + reservations
//                                       + kStreamCharge (1.5 KiB) per stream, which covers
//                                       the Stream (352 B), its counters (120 B), receive
//                                       state (352 B: sequence bitmap, reorder map, ledger),
//                                       map node and bucket (56 B) and up to 16 kept queue
//                                       slots (0.4 KiB)
//   + up to 31 loss-ledger entries      2.5 KiB per stream that has them, each for at most
//     per stream                        20 ms (gaps older or 32 sequences behind settle):
//                                       bounded by the peer's packet rate, not its count
//   + ~2 KiB                            the session: keys, replay window, maps
//   + 64 KiB                            packets in pieces (8 x 8,176 B, wire/piece.h):
//                                       not charged, capped per session
//   + one packet in flight              the datagram being decrypted and its copy
//
// and for the node: max_buffer_bytes (it covers every session's charges, streams
// included) + max_sessions x 66 KiB + streams the local application opened beyond the
// budget (charged, never refused) + process-wide caches that do not grow with peers: the
// payload pools (at most 512 x 256 + 512 x 2048 + 512 x 8320 + 32 x 64 KiB = 7.2 MiB),
// the replay cache (16,384 entries, ~1 MiB), the socket's batch buffers (2 MiB), and the
// mesh tables (65,536 routes and 65,536 pingwave origins at most, ~10 MiB). With the
// defaults: 256 + 66 + 7.2 + 3 + 10 MiB = about 340 MiB. Streams the application
// closed with DRAIN_THEN_CLOSE keep what was already queued readable outside the budget
// (the application decides when it goes), and the sending side is bounded by the
// application's own windows, not by these budgets.
//
// Every event that started can finish: its reservation covers it. With the defaults
// (32 MiB per session, E = 16 MiB) one large event at a time is in reassembly per session
// (two would need 2E + 392 bytes), the others wait (reliable) or are dropped
// (fire-and-forget), as they would be past the window.
#pragma once
#include <algorithm>
#include <cstdint>

namespace nm::session {

// What every stream of a session costs the budget besides what it holds: the Stream, its
// counters and receive state, its map entry and the queue slots it keeps (~1.3 KiB; see
// above). Charged from creation to removal, so a peer that starts streams by the thousand
// runs into its budget like one that sends data, and the node's total covers streams too.
inline constexpr uint64_t kStreamCharge = 1536;

// What one session holds, as the budget sees it.
struct RxAccount {
  uint64_t held = 0;
};

class RxBudget {
 public:
  RxBudget(uint64_t session_limit, uint64_t node_limit)
      : session_limit_(session_limit), node_limit_(node_limit) {}

  // Bytes a session may still take: what both its own and the node's budget have left.
  uint64_t room(const RxAccount& a) const {
    return std::min(left(session_limit_, a.held), left(node_limit_, held_));
  }
  // Something of session `a` went from holding `before` to `after` bytes.
  void update(RxAccount& a, uint64_t before, uint64_t after);
  // The session is gone: everything it held leaves the node's total.
  void release(RxAccount& a);

  uint64_t held() const { return held_; }
  uint64_t session_limit() const { return session_limit_; }
  uint64_t node_limit() const { return node_limit_; }

 private:
  static uint64_t left(uint64_t limit, uint64_t used) { return used < limit ? limit - used : 0; }
  uint64_t session_limit_;
  uint64_t node_limit_;
  uint64_t held_ = 0;
};

// Carries what a holder (a stream) gained or released, between its construction and its
// end, to its session's account and the node's budget: wrap each operation that changes
// what a stream holds in one.
template <typename Holder>
class HeldChange {
 public:
  HeldChange(RxBudget& budget, RxAccount& account, const Holder& holder)
      : budget_(budget), account_(account), holder_(holder), before_(holder.held_bytes()) {}
  ~HeldChange() { budget_.update(account_, before_, holder_.held_bytes()); }
  HeldChange(const HeldChange&) = delete;
  HeldChange& operator=(const HeldChange&) = delete;

 private:
  RxBudget& budget_;
  RxAccount& account_;
  const Holder& holder_;
  uint64_t before_;
};

}  // namespace nm::session
