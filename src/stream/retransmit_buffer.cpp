#include "stream/retransmit_buffer.h"

#include <algorithm>

namespace nm::stream {

void RetransmitBuffer::on_ack(uint64_t next_expected, uint64_t highest, int64_t now,
                              RttEstimator& rtt) {
  // Karn: a packet sent more than once gives no sample (which copy arrived is unknown).
  if (SentPacket* p = find(highest); p && p->transmissions == 1 && !p->sampled) {
    p->sampled = true;
    rtt.sample(now - p->last_sent_ns);
  }
  while (!unacked_.empty() && unacked_.front().seq < next_expected) {
    if (!unacked_.front().sacked) acknowledged_bytes_ += unacked_.front().wire_bytes();
    unacked_.pop_front();
  }
}

void RetransmitBuffer::on_nack_block(uint64_t base, uint64_t missing, uint64_t highest, int64_t now,
                                     const RttEstimator& rtt, bool resend_missing,
                                     std::vector<SentPacket*>& resend) {
  int64_t guard = rtt.resend_guard();
  for (uint64_t i = 0; i < 64 && base + i <= highest; ++i) {
    SentPacket* p = find(base + i);
    if (!p) continue;
    if (!(missing & (uint64_t{1} << i))) {
      if (!p->sacked) acknowledged_bytes_ += p->wire_bytes();
      p->sacked = true;
    } else if (resend_missing && !p->resend_queued && now - p->last_sent_ns >= guard &&
               std::find(resend.begin(), resend.end(), p) == resend.end()) {
      resend.push_back(p);
    }
  }
}

void RetransmitBuffer::timed_out(int64_t now, const RttEstimator& rtt, int64_t min_timeout, size_t max,
                                 std::vector<SentPacket*>& resend) {
  for (size_t i = 0; i < unacked_.size(); ++i) {
    SentPacket& p = unacked_[i];
    if (resend.size() >= max) return;
    if (!p.sacked && !p.resend_queued && expired(p, now, rtt, min_timeout)) resend.push_back(&p);
  }
}

void RetransmitBuffer::on_delivered(uint64_t seq, int64_t sent_ns) {
  SentPacket* p = find(seq);
  if (!p || p->sacked || sent_ns < p->first_sent_ns || sent_ns > p->last_sent_ns) return;
  p->sacked = true;
  acknowledged_bytes_ += p->wire_bytes();
  while (!unacked_.empty() && unacked_.front().sacked) unacked_.pop_front();
}

SentPacket* RetransmitBuffer::oldest_timed_out(int64_t now, const RttEstimator& rtt, int64_t min_timeout) {
  for (size_t i = 0; i < unacked_.size(); ++i) {
    SentPacket& p = unacked_[i];
    if (p.sacked) continue;
    return !p.resend_queued && expired(p, now, rtt, min_timeout) ? &p : nullptr;
  }
  return nullptr;
}

bool RetransmitBuffer::expired(const SentPacket& p, int64_t now, const RttEstimator& rtt, int64_t min_timeout) {
  int shift = static_cast<int>(std::min<uint32_t>(p.transmissions - 1, 5));
  int64_t timeout = std::min(std::max(rtt.rto(), min_timeout) << shift, RttEstimator::kMaxRto);
  return now - p.last_sent_ns >= timeout;
}

SentPacket* RetransmitBuffer::lost(uint64_t seq, int64_t sent_ns) {
  SentPacket* p = unacked(seq);
  return p && !p->resend_queued && p->last_sent_ns == sent_ns ? p : nullptr;
}

SentPacket* RetransmitBuffer::unacked(uint64_t seq) {
  SentPacket* p = find(seq);
  return p && !p->sacked ? p : nullptr;
}

size_t RetransmitBuffer::bytes() const {
  size_t total = 0;
  unacked_.for_each([&](const SentPacket& p) { total += p.payload.size(); });
  return total;
}

SentPacket* RetransmitBuffer::find(uint64_t seq) {
  if (unacked_.empty() || seq < unacked_.front().seq) return nullptr;
  uint64_t index = seq - unacked_.front().seq;  // seqs are contiguous from the front
  if (index >= unacked_.size()) return nullptr;
  return &unacked_[index];
}

}  // namespace nm::stream
