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
// Worst case, memory held for one session (S streams = max_streams, W = window_bytes,
// E = max_event_bytes):
//
//   max_session_buffer_bytes            charged: queued + early packets + reservations
//   + S x 4 KiB at most                 fixed per stream with receive state: the Stream
//                                       (352 B), its counters (120 B) and receive state
//                                       (352 B: sequence bitmap, reorder map, ledger), map
//                                       node and bucket (56 B); up to 31 loss-ledger
//                                       entries (2.5 KiB, for 20 ms) and 16 empty queue
//                                       slots (0.4 KiB) on top. Typically ~0.9 KiB.
//   + ~2 KiB                            the session: keys, replay window, maps
//   + one packet in flight              the datagram being decrypted and its copy
//
// and for the node: min(sessions x the above, max_buffer_bytes + sessions x the fixed
// part), plus process-wide caches that do not grow with peers: the payload pools (at most
// 512 x 256 + 512 x 2048 + 512 x 8320 + 32 x 64 KiB = 7.2 MiB) and the socket's batch
// buffers. Streams the application closed with DRAIN_THEN_CLOSE keep what was already
// queued readable outside the budget (the application decides when it goes), and the
// sending side is bounded by the application's own windows, not by these budgets.
//
// Every event that started can finish: its reservation covers it. With the defaults
// (32 MiB per session, E = 16 MiB) one large event at a time is in reassembly per session
// (two would need 2E + 392 bytes), the others wait (reliable) or are dropped
// (fire-and-forget), as they would be past the window.
#pragma once
#include <algorithm>
#include <cstdint>

namespace nm::session {

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
