// One stream of a session: sequence numbers, credit in both directions, reliable recovery
// state, fragmentation, the inbound queue and statistics. Not thread-safe by itself: the
// node serialises access.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "stream/loss_ledger.h"
#include "stream/reorder_buffer.h"
#include "stream/retransmit_buffer.h"
#include "stream/ring_queue.h"
#include "stream/rtt_estimator.h"
#include "stream/rx_packet.h"
#include "stream/rx_sequence.h"
#include "stream/stream_config.h"
#include "stream/tx_credit.h"

namespace nm::stream {

enum class StreamState { kOpen, kDraining, kClosed };

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
  uint64_t rx_lost_credit = 0;         // bytes of lost fire-and-forget packets credited back
};

// A large event still being cut into fragments as credit allows.
struct TxFragmenting {
  std::vector<uint8_t> event;
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
  void set_state(StreamState s) { state_ = s; }
  bool opened_by_app() const { return opened_by_app_; }
  int64_t last_activity_ns() const { return last_activity_ns_; }
  const StreamCounters& counters() const { return counters_; }
  StreamCounters& counters() { return counters_; }
  const TxCredit& tx_credit() const { return tx_credit_; }
  uint64_t tx_seq() const { return tx_seq_; }
  uint32_t tx_epoch() const { return tx_epoch_; }
  uint64_t tx_charged() const { return tx_charged_; }
  uint64_t rx_seq() const { return rx_.next_seq() == 0 ? 0 : rx_.next_seq() - 1; }
  uint64_t rx_gaps() const { return rx_.gaps(); }
  size_t inbound_pending() const { return inbound_.size(); }
  size_t inbound_bytes() const { return inbound_bytes_; }

  // The application opened a stream the peer had already started: its config now applies.
  void adopt(const StreamConfig& config);

  // --- sending ---
  // Reserves credit and a sequence number for one packet of `payload_len` plaintext bytes
  // holding `events` events. false = backpressure (counted).
  bool begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns);
  void refund_packet(size_t payload_len);
  TxCredit::Grant apply_grant(uint64_t total_consumed);
  RetransmitBuffer& retransmit() { return retransmit_; }
  RttEstimator& rtt() { return rtt_; }
  size_t retransmit_size() const { return retransmit_.size(); }
  int64_t srtt_ns() const { return rtt_.srtt(); }
  std::optional<TxFragmenting>& tx_fragmenting() { return tx_fragmenting_; }
  uint16_t next_frag_id() { return next_frag_id_++; }
  // Nothing of ours is waiting to be sent or acknowledged.
  bool tx_idle() const { return retransmit_.empty() && !tx_fragmenting_; }
  // The stream is going away: nothing more is sent or retransmitted.
  void abandon_transmit() {
    retransmit_ = RetransmitBuffer();
    tx_fragmenting_.reset();
  }

  // --- receiving ---
  // Takes one decrypted data packet. `ordered`: reliable recovery with a netmesh peer —
  // release strictly in sequence, gaps are NACKed. Otherwise arrival order, duplicates
  // suppressed when `dedup`. Returns the number of events queued for the app.
  size_t on_packet(RxPacket&& p, bool ordered, bool dedup, size_t max_event_bytes, int64_t now_ns);
  // Received but not yet credited back: what a sender honouring our window can have
  // outstanding. More than the window plus a packet means the peer ignores credit.
  bool over_window(uint32_t cost) const {
    return config_.window_bytes != 0 &&
           uncredited_ + reorder_.bytes() + deferred_credit_ + cost > config_.window_bytes + kWindowSlack;
  }
  static constexpr uint64_t kWindowSlack = 8192 + 84;
  // Fragments that matched no event in progress (counted per node as hostile or lost).
  uint64_t stray_fragments() const { return stray_fragments_; }
  // Credits back fire-and-forget packets now known to be lost; true if it freed credit.
  bool settle_losses(int64_t now_ns);
  const ReorderBuffer& reorder() const { return reorder_; }
  // An ACK/NACK should go to the sender (new reliable data or a duplicate arrived).
  bool take_ack_due() { return std::exchange(ack_due_, false); }
  void request_ack() { ack_due_ = true; }
  int64_t last_nack_ns = 0;

  size_t front_size() const { return inbound_.front().bytes.size(); }
  // pop() straight into the caller's buffer (front_size() bytes).
  void pop_into(uint8_t* out);
  // Drops the inbound queue, releasing its credit so the peer is not stalled by it.
  void discard_inbound();
  // The peer restarted the stream (reset frame): receive state starts over.
  void reset_receive();
  // If a grant should be sent now, returns true and its cumulative total.
  // `eager`: also grant whenever the queue runs empty (for peers that cannot probe).
  bool grant_due(uint64_t* total_consumed, bool eager);
  // Answer to a stalled sender's probe: everything consumed so far, even below the usual
  // batching threshold (false if this side never grants).
  bool current_grant(uint64_t* total_consumed) {
    granted_total_ = consumed_total_;
    *total_consumed = consumed_total_;
    return config_.window_bytes != 0;
  }
  // Rate limit for our own credit probes while stalled.
  bool probe_due(int64_t now_ns) {
    if (now_ns - last_probe_ns_ < kProbeIntervalNs) return false;
    last_probe_ns_ = now_ns;
    return true;
  }

  std::condition_variable changed;  // signalled on new events, credit, close

 private:
  struct Inbound {
    std::vector<uint8_t> bytes;
    uint32_t credit;  // this event's share of its packet's wire cost
  };
  size_t deliver(RxPacket&& p, size_t max_event_bytes);
  size_t deliver_fragment(RxPacket&& p, size_t max_event_bytes);
  void abandon_reassembly();
  void consume(uint64_t credit) { consumed_total_ += credit; }
  void consume_or_defer(uint64_t credit);

  uint64_t peer_node_id_;
  uint64_t id_;
  StreamConfig config_;
  bool opened_by_app_;
  StreamState state_ = StreamState::kOpen;
  int64_t last_activity_ns_;

  TxCredit tx_credit_;
  uint64_t tx_seq_ = 0;
  uint32_t tx_epoch_;
  uint64_t tx_charged_ = 0;  // cumulative credit charged, never refunded (wire accounting)
  static constexpr int64_t kProbeIntervalNs = 10'000'000;
  int64_t last_probe_ns_ = 0;
  RetransmitBuffer retransmit_;
  RttEstimator rtt_;
  std::optional<TxFragmenting> tx_fragmenting_;
  uint16_t next_frag_id_ = 0;

  RxSequence rx_;
  uint32_t rx_epoch_ = 0;
  ReorderBuffer reorder_;
  LossLedger ledger_;
  bool ack_due_ = false;
  // Reassembly of a fragmented event: fragments must follow each other in sequence.
  bool reassembling_ = false;
  bool reassembly_oversize_ = false;
  uint64_t reassembly_next_seq_ = 0;
  uint16_t reassembly_next_index_ = 0;
  std::vector<uint8_t> reassembly_;

  RingQueue<Inbound> inbound_;
  size_t inbound_bytes_ = 0;
  uint64_t consumed_total_ = 0;  // wire bytes of packets the application has drained
  uint64_t granted_total_ = 0;   // the last total sent in a grant
  uint64_t deferred_credit_ = 0; // fragment credit held back while the app lags behind
  uint64_t uncredited_ = 0;      // credit of events in the queue
  uint64_t stray_fragments_ = 0;
  StreamCounters counters_;
};

}  // namespace nm::stream
