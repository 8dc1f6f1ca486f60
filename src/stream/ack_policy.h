// A reliable receiver's acknowledgement policy: when it reports to the sender and what the
// report says (README, "Reliable"; the frames are wire/extension.h's ACK and NACK). Pure
// logic beside the ReorderBuffer it reads: time passed in, no sockets.
//
//  * A packet that opens a gap or fills one is reported at once (RFC 9000 13.2.1's
//    immediate acknowledgement of out-of-order packets); other packets, in order or past
//    a gap already reported, are acknowledged kAckEvery at a time, fewer at the recovery
//    tick (delayed ACK: in request/response traffic an immediate ACK is a second datagram
//    per message that competes with the reply; while a repair is on its way, a report per
//    arrival would repeat the same NACK for a whole round trip).
//  * A duplicate also asks for a report: the sender may have missed our last one.
//  * A gap that persists is NACKed again every kNackRepeatNs, or every smoothed RTT when
//    that is longer (the NACK may be lost; sooner, the resend cannot have arrived yet).
//  * The report: one ACK frame (cumulative next_expected and the highest received), or
//    one NACK frame per 64-sequence block from the first gap up to the highest received,
//    at most kMaxNackBlocks (1024 sequences of selective acknowledgement): the sender
//    learns both what to resend and what not to time out.
//  * Towards a sender that releases packets on session acknowledgements (capability
//    kSessionRelease, set_released_by_session): one ACK frame at most once per interval
//    (a round trip), at once only for a duplicate (the sender's timer asking); gaps are
//    the session's to find, and no NACK goes.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "stream/reorder_buffer.h"
#include "wire/extension.h"

namespace nm::stream {

class AckPolicy {
 public:
  static constexpr uint32_t kAckEvery = 8;
  static constexpr uint64_t kMaxNackBlocks = 16;
  static constexpr int64_t kNackRepeatNs = 20'000'000;

  // A reliable packet `seq` arrived (new or duplicate: the sender may have missed our last
  // report), `place` being where `r` will put it (called before it does).
  void on_packet(const ReorderBuffer& r, ReorderBuffer::Place place, uint64_t seq) {
    ++unreported_;
    duplicate_ = duplicate_ || place == ReorderBuffer::Place::kDuplicate;
    bool fills_first_gap = place == ReorderBuffer::Place::kNext && r.has_gaps();
    bool opens_or_fills = place == ReorderBuffer::Place::kAhead && seq != r.highest() + 1;
    urgent_ = urgent_ || fills_first_gap || opens_or_fills;
  }
  void request() { unreported_ = std::max<uint32_t>(unreported_, 1); }
  // Whether the node has the stream on its list of streams to report for: once at most
  // (a report the response budget defers stays listed; listing it again every tick grew
  // the list without bound). enlist() is true if it was not listed yet.
  bool enlist() { return !std::exchange(listed_, true); }
  void delist() { listed_ = false; }
  uint32_t unreported() const { return unreported_; }
  void set_released_by_session(bool released) { released_by_session_ = released; }

  enum class When { kNothing, kLater, kNow };
  // `delay_few`: a batch of arrivals (a few in-order packets may wait for the tick);
  // otherwise the recovery tick, which reports whatever is pending. `interval`: the least
  // time between reports to a sender that releases on session acknowledgements.
  When when(bool delay_few, int64_t now_ns = 0, int64_t interval_ns = 0) const {
    if (unreported_ == 0) return When::kNothing;
    if (released_by_session_)
      return duplicate_ || now_ns - last_report_ns_ >= interval_ns ? When::kNow : When::kLater;
    if (delay_few && unreported_ < kAckEvery && !urgent_) return When::kLater;
    return When::kNow;
  }
  // Frames the report takes (0: nothing received yet, nothing to report).
  size_t frames_needed(const ReorderBuffer& r) const {
    if (!r.has_gaps()) return r.next_expected() == 0 ? 0 : 1;
    if (released_by_session_) return 1;
    return std::min(kMaxNackBlocks, (r.highest() - r.next_expected() + 63) / 64);
  }
  // Writes the report into `out` (room for frames_needed) and clears what was pending;
  // returns the frame count. A NACK starts the repeat timer.
  size_t report(const ReorderBuffer& r, uint64_t stream_id, int64_t now_ns, wire::ExtFrame* out) {
    unreported_ = 0;
    urgent_ = duplicate_ = false;
    last_report_ns_ = now_ns;
    size_t n = frames_needed(r);
    wire::ExtFrame f;
    f.stream_id = stream_id;
    f.next_expected = r.next_expected();
    f.highest = r.highest();
    if (n == 0 || !r.has_gaps() || released_by_session_) {
      if (n) out[0] = f;
      return n;
    }
    f.type = wire::ExtType::kNack;
    for (size_t i = 0; i < n; ++i) {
      f.base = f.next_expected + 64 * i;
      f.missing = r.missing_bitmap(f.base);
      out[i] = f;
    }
    last_nack_ns_ = now_ns;
    return n;
  }
  // A gap still open since the last NACK, long enough ago to say it again (`srtt_ns`: the
  // session's smoothed RTT, 0 if unknown).
  bool repeat_due(const ReorderBuffer& r, int64_t now_ns, int64_t srtt_ns = 0) const {
    return !released_by_session_ && r.has_gaps() && now_ns - last_nack_ns_ >= std::max(kNackRepeatNs, srtt_ns);
  }

 private:
  uint32_t unreported_ = 0;
  bool urgent_ = false;  // a packet since the last report opened or filled a gap
  bool duplicate_ = false;  // a packet since the last report arrived twice
  bool released_by_session_ = false;
  bool listed_ = false;
  int64_t last_nack_ns_ = 0;
  int64_t last_report_ns_ = INT64_MIN / 2;
};

}  // namespace nm::stream
