// One stream of a session: sequence numbers, credit in both directions, the inbound
// queue and statistics. Not thread-safe by itself: the node serialises access.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

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
};

class Stream {
 public:
  Stream(uint64_t peer_node_id, uint64_t stream_id, const StreamConfig& config, bool opened_by_app,
         int64_t now_ns);

  uint64_t peer_node_id() const { return peer_node_id_; }
  uint64_t id() const { return id_; }
  const StreamConfig& config() const { return config_; }
  StreamState state() const { return state_; }
  bool opened_by_app() const { return opened_by_app_; }
  int64_t last_activity_ns() const { return last_activity_ns_; }
  const StreamCounters& counters() const { return counters_; }
  const TxCredit& tx_credit() const { return tx_credit_; }
  uint64_t tx_seq() const { return tx_seq_; }
  uint64_t rx_seq() const { return rx_.next_seq(); }
  uint64_t rx_gaps() const { return rx_.gaps(); }
  size_t inbound_pending() const { return inbound_.size(); }

  // The application opened a stream the peer had already started: its config now applies.
  void adopt(const StreamConfig& config);

  // --- sending ---
  // Reserves credit and a sequence number for one packet of `payload_len` plaintext bytes
  // holding `events` events. false = backpressure (counted).
  bool begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns);
  void refund_packet(size_t payload_len);
  bool apply_grant(uint64_t total_consumed);

  // --- receiving ---
  // Accepts one decrypted data packet; returns false if it was a suppressed duplicate.
  bool on_packet(uint64_t seq, std::span<const std::span<const uint8_t>> events,
                 size_t payload_len, int64_t now_ns);
  // Pops the next event into `out` if any. Credit for it is released (see grant_due()).
  bool pop(std::vector<uint8_t>& out);
  size_t front_size() const { return inbound_.front().bytes.size(); }
  // Drops the inbound queue, releasing its credit so the peer is not stalled by it.
  void discard_inbound();
  // If a grant should be sent now, returns true and its cumulative total.
  bool grant_due(uint64_t* total_consumed);

  void set_state(StreamState s) { state_ = s; }

  std::condition_variable changed;  // signalled on new events, credit, close

 private:
  struct Inbound {
    std::vector<uint8_t> bytes;
    uint32_t credit;  // this event's share of its packet's wire cost
  };
  void consume(uint32_t credit);

  uint64_t peer_node_id_;
  uint64_t id_;
  StreamConfig config_;
  bool opened_by_app_;
  StreamState state_ = StreamState::kOpen;
  int64_t last_activity_ns_;

  TxCredit tx_credit_;
  uint64_t tx_seq_ = 0;

  RxSequence rx_;
  std::deque<Inbound> inbound_;
  uint64_t consumed_total_ = 0;  // wire bytes of packets the application has drained
  uint64_t granted_total_ = 0;   // the last total sent in a grant
  StreamCounters counters_;
};

}  // namespace nm::stream
