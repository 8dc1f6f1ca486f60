#include "stream/retransmit_buffer.h"

#include <algorithm>

namespace nm::stream {

size_t RetransmitBuffer::on_report(uint64_t next_expected, uint64_t missing, bool nack, int64_t now,
                                   RttEstimator& rtt, std::vector<SentPacket*>& resend) {
  size_t released = 0;
  int64_t newest_clean_send = -1;  // Karn: only never-resent packets give RTT samples
  while (!unacked_.empty() && unacked_.front().seq < next_expected) {
    const SentPacket& p = unacked_.front();
    if (p.transmissions == 1) newest_clean_send = std::max(newest_clean_send, p.last_sent_ns);
    unacked_.pop_front();
    ++released;
  }
  if (newest_clean_send >= 0) rtt.sample(now - newest_clean_send);
  if (!nack) return released;

  int64_t guard = std::max<int64_t>(rtt.srtt(), 1'000'000);
  auto consider = [&](uint64_t seq) {
    SentPacket* p = find(seq);
    if (p && now - p->last_sent_ns >= guard) resend.push_back(p);
  };
  consider(next_expected);
  for (int i = 0; i < 64; ++i)
    if (missing & (uint64_t{1} << i)) consider(next_expected + 1 + i);
  return released;
}

void RetransmitBuffer::timed_out(int64_t now, const RttEstimator& rtt, size_t max,
                                 std::vector<SentPacket*>& resend) {
  for (SentPacket& p : unacked_) {
    if (resend.size() >= max) return;
    int shift = static_cast<int>(std::min<uint32_t>(p.transmissions - 1, 5));
    int64_t timeout = std::min(rtt.rto() << shift, RttEstimator::kMaxRto);
    if (now - p.last_sent_ns >= timeout) resend.push_back(&p);
  }
}

size_t RetransmitBuffer::bytes() const {
  size_t total = 0;
  for (const auto& p : unacked_) total += p.payload.size();
  return total;
}

SentPacket* RetransmitBuffer::find(uint64_t seq) {
  if (unacked_.empty() || seq < unacked_.front().seq) return nullptr;
  uint64_t index = seq - unacked_.front().seq;  // seqs are contiguous from the front
  if (index >= unacked_.size()) return nullptr;
  return &unacked_[index];
}

}  // namespace nm::stream
