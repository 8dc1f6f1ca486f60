// One stream of a session: sequence numbers, credit in both directions, reliable recovery
// state, fragmentation, the inbound queue and statistics. Not thread-safe by itself: the
// node serialises access.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "stream/inbound_queue.h"
#include "stream/level_fd.h"
#include "stream/ack_policy.h"
#include "stream/loss_ledger.h"
#include "stream/lru_list.h"
#include "stream/reorder_buffer.h"
#include "stream/retransmit_buffer.h"
#include "stream/rtt_estimator.h"
#include "stream/rx_packet.h"
#include "stream/rx_sequence.h"
#include "stream/stream_config.h"
#include "stream/tx_credit.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {

enum class StreamState : uint8_t { kOpen, kDraining, kClosed };

struct StreamCounters {
  uint64_t backpressure_events = 0;
  uint64_t credit_grants_received = 0;
  uint64_t credit_grants_sent = 0;
  uint64_t tx_events = 0;
  uint64_t rx_events = 0;
  uint64_t rx_duplicates_dropped = 0;
  uint64_t retransmits = 0;
  uint64_t nacks_sent = 0;
  uint64_t nacks_received = 0;
  uint64_t rx_incomplete_dropped = 0;  // fragmented events that could not be completed
  uint64_t rx_oversize_dropped = 0;    // fragmented events above the node's max_event_bytes
  uint64_t rx_stale_dropped = 0;       // packets of an earlier incarnation of the stream
  uint64_t rx_restarts = 0;            // a 0.23 sender reopened the stream (sequence from 0)
  uint64_t rx_lost_credit = 0;         // bytes of lost fire-and-forget packets credited back
};

// Packets waiting for the session's sender to release them (session/sender.h).
struct Paced {
  RingQueue<SentPacket> queue;
  size_t bytes = 0;      // wire bytes queued
  // The queue reached its limit and has not yet drained to the low-water mark: a waiting
  // sender is woken for a good part of the queue, not for each packet the pacer takes.
  bool pushing_back = false;
  // Packets to send again (their seqs, in the retransmit buffer), ahead of new ones: the
  // session declared their datagrams lost.
  RingQueue<uint64_t> resends;
};

// The stream's last packet, still open for more events: during a burst of sends, small
// events accumulate here (charged as they join) and go out when the packet fills or the
// node's loop thread flushes it (adaptive flush).
struct OpenPacket {
  Payload payload;               // frames so far
  uint16_t events = 0;
  uint8_t frag_flags = 0;        // wire::frag::kSpanHead: it starts with the rest of an event
  // Left to fill behind packets waiting for the pacer, which takes it when they have left.
  bool behind_pacer = false;
  uint64_t charged_before = 0;   // cumulative charge before this packet
};

// What the node lets one receive operation add: the largest event, and the room its
// session's and the node's receive budgets have left (bytes the stream may come to hold
// beyond what it holds now).
struct RxLimits {
  size_t max_event_bytes = 16 << 20;
  uint64_t room = UINT64_MAX;
};

struct RxResult {
  size_t events = 0;         // queued for the application
  bool over_budget = false;  // the packet was dropped: it did not fit the room
  bool refused = false;      // not kept (too far ahead): not acknowledged, so it comes again
};

// A large event still being cut into fragments as credit allows.
struct TxFragmenting {
  Payload event;
  size_t offset = 0;
  uint16_t frag_id = 0;
  uint16_t next_index = 0;
};

class Stream {
 public:
  Stream(uint64_t peer_node_id, uint64_t stream_id, const StreamConfig& config, bool opened_by_app,
         uint32_t tx_epoch, int64_t now_ns);

  uint64_t peer_node_id() const { return peer_node_id_; }
  uint64_t id() const { return id_; }
  const StreamConfig& config() const { return config_; }
  StreamState state() const { return state_; }
  void set_state(StreamState s) {
    state_ = s;
    refresh_readiness();
  }
  bool opened_by_app() const { return opened_by_app_; }
  int64_t last_activity_ns() const { return last_activity_ns_; }
  // The stream's place in its session's least-recently-used order: every activity moves it
  // to the back, so the session finds the stream to evict without a scan.
  LruHook<Stream>& lru() { return lru_; }
  // Allocated on the first count: an idle stream carries none.
  const StreamCounters& counters() const {
    static const StreamCounters kZero;
    return counters_ ? *counters_ : kZero;
  }
  StreamCounters& counters() {
    if (!counters_) counters_ = std::make_unique<StreamCounters>();
    return *counters_;
  }
  const TxCredit& tx_credit() const { return tx_credit_; }
  // Credit for a full packet (or the whole window, if smaller): what a blocked send waits for.
  bool has_packet_credit() const {
    return tx_credit_.remaining() >= std::min<uint64_t>(tx_credit_.window(), wire::kMaxPacketCredit);
  }
  uint64_t tx_seq() const { return tx_seq_; }
  uint32_t tx_epoch() const { return tx_epoch_; }
  // Nothing sent, charged or received yet: the stream can move to another session of its
  // peer (crossing dials settled after the application opened it) as if opened there.
  bool unused() const { return !tx_ && !rx_ && tx_charged_ == 0 && inbound_.events() == 0; }
  void move_to_epoch(uint32_t tx_epoch) { tx_epoch_ = tx_epoch; }
  uint64_t tx_charged() const { return tx_charged_; }
  uint64_t rx_seq() const { return rx_ && rx_->seq.next_seq() > 0 ? rx_->seq.next_seq() - 1 : 0; }
  uint64_t rx_gaps() const { return rx_ ? rx_->seq.gaps() : 0; }
  size_t inbound_pending() const { return inbound_.events(); }
  size_t inbound_bytes() const { return inbound_.bytes(); }

  // The application opened a stream the peer had already started: its config now applies.
  void adopt(const StreamConfig& config);

  // --- sending ---
  // Reserves credit and a sequence number for one packet of `payload_len` plaintext bytes
  // holding `events` events. false = backpressure (counted).
  bool begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns);
  // Adds `event` to the open packet (opening one) and charges it. `capacity`: the payload a
  // packet holds on this session's path. Given
  // `filled` (the stream may cut events at packet boundaries, wire::frag::kSpanTail), an
  // event that does not fit is cut: its start fills the open packet (opened for it if none
  // is), which is closed into *filled, and its rest opens the next one (kSpanned). So an
  // event of up to max_spanned_event(capacity) crosses one boundary and needs no fragments.
  enum class Join { kAdded, kSpanned, kFull, kNoCredit };  // kNoCredit is counted as backpressure
  static constexpr size_t max_spanned_event(size_t capacity) { return 2 * (capacity - wire::kFrameOverhead); }
  Join join_open_packet(std::span<const uint8_t> event, int64_t now_ns,
                        size_t capacity = wire::kMaxPayloadSize, SentPacket* filled = nullptr);
  bool has_open_packet() const { return tx_ && tx_->open; }
  size_t open_packet_bytes() const { return has_open_packet() ? tx_->open->payload.size() : 0; }
  void leave_open_packet_to_pacer() {
    if (has_open_packet()) tx_->open->behind_pacer = true;
  }
  bool open_packet_behind_pacer() const { return has_open_packet() && tx_->open->behind_pacer; }
  // Takes the open packet as a packet to send (sequence number assigned); false if none.
  bool close_open_packet(SentPacket& out, int64_t now_ns);
  // When the stream last emitted a data packet (bursts are told apart from lone sends).
  int64_t last_emit_ns() const { return tx_ ? tx_->last_emit_ns : 0; }
  // The node's loop thread is due to send the open packet (it was asked once already).
  bool flush_requested() const { return tx_ && tx_->flush_requested; }
  void set_flush_requested(bool v) { tx().flush_requested = v; }
  TxCredit::Grant apply_grant(uint64_t total_consumed);
  RetransmitBuffer& retransmit() { return tx().retransmit; }
  RttEstimator& rtt() { return tx().rtt; }
  bool has_unacked() const { return tx_ && !tx_->retransmit.empty(); }
  size_t retransmit_size() const { return tx_ ? tx_->retransmit.size() : 0; }
  int64_t srtt_ns() const { return tx_ ? tx_->rtt.srtt() : 0; }
  std::optional<TxFragmenting>& tx_fragmenting() { return tx().fragmenting; }
  bool fragmenting() const { return tx_ && tx_->fragmenting; }  // a large event in progress
  uint16_t next_frag_id() { return tx().next_frag_id++; }
  // Nothing of ours is waiting to be sent or acknowledged.
  bool tx_idle() const {
    return !has_unacked() && !fragmenting() && paced_bytes() == 0 && !has_open_packet();
  }
  // Packets built but held for the session's pacer (weighted fair sharing of its rate).
  // Beyond kMaxPacedBytes a send gets backpressure, as without credit. Once full, the
  // writable fd and blocking sends wait until a quarter of it has gone (kPacedLowWater; a
  // TCP socket likewise waits for a third of its buffer): a send in between is still taken.
  static constexpr size_t kMaxPacedBytes = 1 << 20;
  static constexpr size_t kPacedLowWater = kMaxPacedBytes / 4 * 3;
  Paced& paced() { return tx().paced; }
  size_t paced_bytes() const { return tx_ ? tx_->paced.bytes : 0; }
  bool pacer_full() const { return paced_bytes() >= kMaxPacedBytes; }
  bool pacer_pushing_back() const { return tx_ && tx_->paced.pushing_back; }
  void push_paced(SentPacket&& p);
  SentPacket pop_paced();
  // A send would not wait: what a blocking send and the writable fd wait for.
  bool send_would_not_wait() const {
    return state_ != StreamState::kOpen || (has_packet_credit() && !pacer_pushing_back());
  }
  bool resends_waiting() const { return tx_ && !tx_->paced.resends.empty(); }
  // The stream is going away: nothing more is sent or retransmitted.
  void abandon_transmit() {
    tx_.reset();
  }

  // --- receiving (stream_receive.cpp) ---
  // Takes one decrypted data packet. `ordered`: reliable recovery with a netmesh peer —
  // release strictly in sequence, gaps are NACKed. Otherwise arrival order, duplicates
  // suppressed when `dedup`. A packet that would make the stream hold more than
  // limits.room allows is dropped (over_budget).
  RxResult on_packet(RxPacket&& p, bool ordered, bool dedup, const RxLimits& limits, int64_t now_ns);
  // Delivery stopped at an event start whose reservation did not fit the room: it waits
  // in the reorder buffer (acknowledged) until resume() finds room.
  bool stalled() const { return rx_ && rx_->stalled; }
  RxResult resume(const RxLimits& limits);
  // The memory the stream holds for its peer, as charged to the receive budget: its queued
  // packets, its early packets, and the reservation of an event in reassembly (which
  // covers the reassembly buffer). Maintained, O(1).
  uint64_t held_bytes() const {
    return inbound_.held() + (rx_ ? rx_->reorder.held() + rx_->reserved : 0);
  }
  // What an event cut at a packet boundary reserves: its two packets, kept whole until the
  // event is read (the start's while it waits, then both as the queued event's slices).
  static constexpr uint64_t kSpanReservation = 2 * Payload::kPacketClass + kPacketBookkeeping;
  // What a large event reserves when it starts: its largest frame and the bookkeeping of
  // the packet it becomes, so it can always complete within it.
  static uint64_t event_reservation(size_t max_event_bytes) {
    return max_event_bytes + wire::kFrameOverhead + kPacketBookkeeping;
  }
  // Received but not yet credited back: what a sender honouring our window can have
  // outstanding. More than the window plus a packet means the peer ignores credit.
  bool over_window(uint32_t cost) const {
    return config_.window_bytes != 0 &&
           inbound_.credit() + reorder().bytes() + deferred_credit_ + cost > config_.window_bytes + kWindowSlack;
  }
  static constexpr uint64_t kWindowSlack = wire::kMaxPacketCredit;
  // Fragments that matched no event in progress (counted per node as hostile or lost).
  uint64_t stray_fragments() const { return stray_fragments_; }
  // Credits back fire-and-forget packets now known to be lost; true if it freed credit.
  bool settle_losses(int64_t now_ns);
  const ReorderBuffer& reorder() const {
    static const ReorderBuffer kEmpty;
    return rx_ ? rx_->reorder : kEmpty;
  }
  // When and what this (reliable) receiver reports to the sender.
  AckPolicy& ack() { return ack_; }
  const AckPolicy& ack() const { return ack_; }

  size_t front_size() const { return inbound_.front_size(); }
  // pop() straight into the caller's buffer (front_size() bytes).
  void pop_into(uint8_t* out);
  // Drops the inbound queue, releasing its credit so the peer is not stalled by it.
  void discard_inbound();
  // The peer restarted the stream (reset frame): receive state starts over.
  void reset_receive();
  // Nothing more will arrive (the stream was closed): early packets and a partial event go;
  // what was queued stays readable.
  void abandon_receive();
  // If a grant should be sent now, returns true and its cumulative total.
  // `eager`: also grant whenever the queue runs empty (for peers that cannot probe). With
  // `eager_gap_ns`, such a grant of less than a sixteenth of the window waits until that
  // long after the last grant: on the way back grants are packets of their own, and a
  // sender short of so little credit is not held up by it (it probes if it stalls).
  bool grant_due(uint64_t* total_consumed, bool eager, int64_t now_ns = 0, int64_t eager_gap_ns = 0);
  // Answer to a stalled sender's probe: everything consumed so far, even below the usual
  // batching threshold (false if this side never grants).
  bool current_grant(uint64_t* total_consumed) {
    granted_total_ = consumed_total_;
    *total_consumed = consumed_total_;
    return config_.window_bytes != 0;
  }
  // A stalled sender's probe is answered at most once per probe interval (a sender probes
  // no faster; more would only amplify a flood of probes).
  bool probe_answer_due(int64_t now_ns) {
    if (now_ns - last_probe_answer_ns_ < kProbeIntervalNs) return false;
    last_probe_answer_ns_ = now_ns;
    return true;
  }
  // Whether the recovery tick has anything to do here: retransmission timers, fragments to
  // pump, gaps to NACK again, losses to settle, drained credit to grant, delivery stalled
  // for want of room.
  bool needs_tick() const {
    // (Credit drained but not granted with events still queued waits for the next read.)
    return has_unacked() || fragmenting() || reorder().has_gaps() || stalled() ||
           (rx_ && rx_->ledger.pending()) ||
           (config_.window_bytes != 0 && consumed_total_ != granted_total_ && inbound_.empty());
  }
  // Rate limit for our own credit probes while stalled.
  bool probe_due(int64_t now_ns) {
    if (now_ns - tx().last_probe_ns < kProbeIntervalNs) return false;
    tx().last_probe_ns = now_ns;
    return true;
  }

  std::condition_variable changed;  // signalled on new events, credit, close

  // --- readiness fds (nm_stream_event_fd): what `changed` is to blocked callers, for pollers ---
  enum class Direction { kReceive, kSend };
  // Readable while a receive (kReceive) or a send (kSend) would not wait: the predicates the
  // node's blocking receive and send wait for. Opened on the first request; -1 if no eventfd
  // could be made.
  int readiness_fd(Direction d);
  // The node is shutting down: every call fails at once from now on.
  void raise_readiness_forever();

 private:
  struct Readiness {
    LevelFd receive, send;
    bool forever = false;
  };
  void refresh_readiness();

  // The most one receive operation may bring held_bytes() to.
  struct Allowance {
    uint64_t limit;
    size_t max_event_bytes;
  };
  Allowance allowance(const RxLimits& limits) const;
  bool fits(uint64_t more, const Allowance& a) const { return held_bytes() + more <= a.limit; }
  // What delivering `p` adds to held_bytes() (not counting its leaving the reorder buffer).
  uint64_t delivery_cost(const RxPacket& p, size_t max_event_bytes) const;
  // Delivers the packets now in sequence from the reorder buffer, up to a start that does
  // not fit (stalled).
  size_t deliver_ready(const Allowance& a);
  size_t deliver(RxPacket&& p, size_t max_event_bytes);
  size_t deliver_fragment(RxPacket&& p, size_t max_event_bytes);
  size_t deliver_spanning(RxPacket&& p, size_t max_event_bytes);
  Join span_open_packet(std::span<const uint8_t> event, int64_t now_ns, size_t capacity, SentPacket& filled);
  // Queues a reassembled event frame (its length written here) for the application.
  size_t finish_event(Payload&& frame);  // a reassembled event's frame: queued
  size_t event_queued();                  // a large event was queued in place of its reservation
  void abandon_reassembly();
  void consume(uint64_t credit) { consumed_total_ += credit; }
  void restart_credit();
  // Charges `cost` bytes of credit for `events` accepted events; false = backpressure
  // (counted).
  bool charge(uint64_t cost, size_t events, int64_t now_ns);
  void consume_or_defer(uint64_t credit);
  void set_active(int64_t now_ns) {
    last_activity_ns_ = now_ns;
    lru_.touch();
  }

  // Small fields first, packed: thousands of idle streams are mostly this object.
  uint64_t peer_node_id_;
  uint64_t id_;
  StreamConfig config_;
  uint32_t tx_epoch_;
  uint32_t rx_epoch_ = 0;
  StreamState state_ = StreamState::kOpen;
  std::unique_ptr<Readiness> readiness_;  // only for streams the application polls
  bool opened_by_app_;
  int64_t last_activity_ns_;
  AckPolicy ack_;
  LruHook<Stream> lru_{this};

  TxCredit tx_credit_;
  uint64_t tx_seq_ = 0;
  uint64_t tx_charged_ = 0;  // cumulative credit charged, never refunded (wire accounting)
  static constexpr int64_t kProbeIntervalNs = 10'000'000;
  int64_t last_probe_answer_ns_ = INT64_MIN / 2;

  // Recovery state exists from the first packet sent / received on: an idle stream (a node
  // may hold thousands) carries none of it.
  struct TxState {
    RetransmitBuffer retransmit;
    RttEstimator rtt;
    std::optional<TxFragmenting> fragmenting;
    uint16_t next_frag_id = 0;
    int64_t last_probe_ns = 0;
    int64_t last_emit_ns = 0;
    bool flush_requested = false;
    Paced paced;
    std::optional<OpenPacket> open;
  };
  struct RxState {
    RxSequence seq;
    ReorderBuffer reorder;
    LossLedger ledger;
    // Reassembly of a fragmented event: fragments must follow each other in sequence.
    bool reassembling = false;
    bool reassembly_oversize = false;
    uint64_t reassembly_next_seq = 0;
    uint16_t reassembly_next_index = 0;
    Payload reassembly;  // the event's frame: u32le length (written last), then its bytes
    uint64_t reserved = 0;  // event_reservation() while an event is being reassembled
    // An event cut at a packet boundary (wire::frag::kSpanTail): its start, the last frame
    // of the packet kept here, waits for the next packet's first frame.
    SharedPayload span_start;
    uint32_t span_offset = 0;  // the start's bytes in span_start (after its frame header)
    uint32_t span_len = 0;
    uint32_t span_credit = 0;  // of the start's packet, when it had no whole event to carry it
    bool stalled = false;   // see stalled()
  };
  TxState& tx() {
    if (!tx_) tx_ = std::make_unique<TxState>();
    return *tx_;
  }
  RxState& rx() {
    if (!rx_) rx_ = std::make_unique<RxState>();
    return *rx_;
  }
  std::unique_ptr<TxState> tx_;
  std::unique_ptr<RxState> rx_;

  InboundQueue inbound_;
  uint64_t consumed_total_ = 0;  // wire bytes of packets the application has drained
  uint64_t granted_total_ = 0;   // the last total sent in a grant
  int64_t last_grant_ns_ = INT64_MIN / 2;
  uint64_t deferred_credit_ = 0; // fragment credit held back while the app lags behind
  uint64_t stray_fragments_ = 0;
  std::unique_ptr<StreamCounters> counters_;
};

}  // namespace nm::stream
