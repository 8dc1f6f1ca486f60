// Sender side of reliable recovery: packets kept until the receiver's cumulative ACK
// passes them, re-sent on a NACK or when their retransmission timer fires.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "stream/payload.h"
#include "stream/ring_queue.h"
#include "stream/rtt_estimator.h"
#include "wire/header.h"

namespace nm::stream {

// Everything needed to rebuild a data packet with a fresh nonce.
struct SentPacket {
  uint64_t seq = 0;
  uint16_t event_count = 0;
  uint8_t frag_flags = 0;
  uint16_t frag_id = 0;
  uint16_t frag_index = 0;
  uint64_t charged_before = 0;   // cumulative credit charge before this packet
  SharedPayload payload;         // plaintext frames (shared with packets being sealed)
  int64_t first_sent_ns = 0;
  int64_t last_sent_ns = 0;
  uint32_t transmissions = 1;
  bool sacked = false;   // the receiver reported it received (beyond a gap)
  bool sampled = false;  // already gave an RTT sample (reports repeat)
  bool resend_queued = false;  // waiting in the stream's paced queue to be sent again

  // What it costs on the wire (credit, pacing, the peer's response budget).
  uint64_t wire_bytes() const { return payload.size() + wire::kPacketOverhead; }
};

class RetransmitBuffer {
 public:
  void add(SentPacket&& p) { unacked_.push_back(std::move(p)); }

  // Receiver report: every seq < next_expected arrived, `highest` is the newest arrival.
  // Releases the acknowledged packets and takes an RTT sample from
  // `highest` only: packets released behind a filled gap were received long before this
  // report, and timing them would inflate the RTT (and the RTO) with every loss.
  void on_ack(uint64_t next_expected, uint64_t highest, int64_t now, RttEstimator& rtt);
  // One NACK block: seqs base+i with bit i set are missing and (with `resend_missing`)
  // queued for resend unless sent less than RttEstimator::resend_guard() ago (smoothed
  // RTT + 4 x its variance, at least 2 ms); clear bits up to `highest` arrived.
  void on_nack_block(uint64_t base, uint64_t missing, uint64_t highest, int64_t now,
                     const RttEstimator& rtt, bool resend_missing, std::vector<SentPacket*>& resend);
  // Packets whose timer expired (oldest first, at most `max`), with exponential backoff
  // from the RTO, or from `min_timeout` if longer.
  void timed_out(int64_t now, const RttEstimator& rtt, int64_t min_timeout, size_t max,
                 std::vector<SentPacket*>& resend);
  // The session acknowledged a datagram that carried `seq`, sent at sent_ns, and the peer's
  // acknowledgements mean its stream kept the packet (capability kSessionRelease): it is
  // acknowledged selectively, and released with those before it. (A datagram sent before
  // the packet's first transmission was an earlier stream's, of the same id.)
  void on_delivered(uint64_t seq, int64_t sent_ns);
  // The oldest packet awaiting acknowledgement (not even selectively), if its timer expired
  // and it is not queued for resend already: with session acknowledgements the session
  // resends what its datagrams lost, and this timer only recovers a lost stream ACK at the
  // tail, which one packet's answer does (the ACK says all that arrived).
  SentPacket* oldest_timed_out(int64_t now, const RttEstimator& rtt, int64_t min_timeout);
  // The session declared lost the datagram that carried `seq` when it was sent at sent_ns:
  // the packet, if that was its latest transmission and it still awaits acknowledgement
  // (and is not queued for resend already); else nullptr.
  SentPacket* lost(uint64_t seq, int64_t sent_ns);
  // The packet `seq` if it still awaits acknowledgement (not even selectively); else nullptr.
  SentPacket* unacked(uint64_t seq);

  // Wire bytes of packets acknowledged (cumulatively or selectively) for the first time
  // since the last call: what a peer proved it received.
  uint64_t take_acknowledged_bytes() { return std::exchange(acknowledged_bytes_, 0); }

  bool empty() const { return unacked_.empty(); }
  size_t size() const { return unacked_.size(); }
  size_t bytes() const;

 private:
  SentPacket* find(uint64_t seq);
  static bool expired(const SentPacket& p, int64_t now, const RttEstimator& rtt, int64_t min_timeout);
  RingQueue<SentPacket> unacked_;  // ascending, contiguous seqs
  uint64_t acknowledged_bytes_ = 0;
};

}  // namespace nm::stream
