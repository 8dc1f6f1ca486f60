// A session's sender: when its data packets leave, at what rate, and which stream goes next.
// Pure logic: time passed in, no sockets; the node owns the packets (each stream's queue)
// and does the sending.
//
// With a rate set, packets wait in their stream's queue and release() lets them go within
// a token bucket (rate, kBurstNs of depth, at least two packets) and the congestion
// window (the node's `queues` say whether it has room), taking backlogged
// streams by deficit round robin: each turn a stream may send kQuantum x its fairness
// weight bytes, so backlogged streams share the rate in proportion to their weights.
// Without a rate (0) the node sends at once and nothing waits here.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace nm::session {

class Sender {
 public:
  static constexpr int64_t kQuantum = 8192;    // bytes per weight unit per round (a packet)
  static constexpr int64_t kBurstNs = 2'000'000;  // bucket depth: 2 ms of the rate

  // release() takes any `queues` with these members (a template, so the hot path has no
  // virtual calls):
  //   int64_t head_cost(uint64_t stream)  wire bytes of its next waiting packet, 0 if none
  //   bool window_allows(int64_t bytes)   the congestion window has room for them
  //   uint32_t weight(uint64_t stream)    its fairness weight
  //   void send_head(uint64_t stream)     sends its next waiting packet
  //   void drained(uint64_t stream)       its queue ran empty

  void set_rate(double bytes_per_sec) { rate_ = bytes_per_sec; }
  double rate() const { return rate_; }
  bool paced() const { return rate_ > 0; }

  // The stream has packets waiting (idempotent).
  void backlogged(uint64_t stream);
  // Sends what the rate allows at now_ns, round robin by weight; returns bytes released.
  template <typename Queues>
  int64_t release(int64_t now_ns, Queues& queues);
  bool idle() const { return active_.empty(); }

 private:
  struct Turn {
    int64_t deficit = 0;
    bool quantum_given = false;
  };
  double burst() const;
  // Refills the bucket; false if nothing is waiting (the bucket is then full for later).
  bool refill(int64_t now_ns);

  double rate_ = 0;
  double tokens_ = 0;
  int64_t refilled_ns_ = 0;
  bool was_idle_ = true;  // no backlog at the last release
  std::deque<uint64_t> active_;                // backlogged streams in round-robin order
  std::unordered_map<uint64_t, Turn> turns_;   // their deficit state
};

template <typename Queues>
int64_t Sender::release(int64_t now_ns, Queues& queues) {
  if (!refill(now_ns)) return 0;
  int64_t released = 0;
  while (!active_.empty()) {
    uint64_t id = active_.front();
    Turn& turn = turns_[id];
    if (queues.head_cost(id) == 0) {  // closed or drained meanwhile
      turns_.erase(id);
      active_.pop_front();
      continue;
    }
    if (!turn.quantum_given) {
      turn.deficit += kQuantum * std::max<uint32_t>(1, queues.weight(id));
      turn.quantum_given = true;
    }
    bool out_of_tokens = false;
    for (int64_t cost; (cost = queues.head_cost(id)) > 0;) {
      if (cost > turn.deficit) break;
      if (cost > tokens_ || !queues.window_allows(cost)) {
        out_of_tokens = true;
        break;
      }
      turn.deficit -= cost;
      tokens_ -= cost;
      released += cost;
      queues.send_head(id);
    }
    if (out_of_tokens) break;  // this stream keeps its turn (and its quantum) for later
    active_.pop_front();
    turn.quantum_given = false;
    if (queues.head_cost(id) == 0) {
      turns_.erase(id);
      queues.drained(id);
    } else {
      active_.push_back(id);
    }
  }
  return released;
}

}  // namespace nm::session
