// Optional per-session pacing with weighted fair sharing between local streams: with a
// session rate set, data packets wait in their stream's queue and a 1 ms tick releases them
// by deficit round robin, each backlogged stream getting fairness_weight quanta per round.
// Packets are sealed when released, so the TX counter (and the peer's replay window) sees
// them in wire order.
#include <algorithm>

#include "node/clock.h"
#include "node/node.h"

namespace nm::node {

namespace {
constexpr int64_t kQuantum = wire::kMaxPacketSize;     // bytes per weight unit per round
constexpr size_t kMaxPacedBytes = 1 << 20;             // per stream, then backpressure
constexpr int64_t kBurstNs = 2'000'000;                // token bucket depth: 2 ms of rate
}  // namespace

bool Node::pacing_full(const stream::Stream& st) const {
  return pacing() && st.paced_bytes() >= kMaxPacedBytes;
}

void Node::transmit(session::Session& s, stream::Stream& st, stream::SentPacket&& p,
                    std::vector<Outgoing>& out) {
  seal_data_packet(s, st, p, out.emplace_back());
  if (recovery(s, st)) st.retransmit().add(std::move(p));
  s.ticking.insert(st.id());
}

void Node::emit_data_packet(session::Session& s, const StreamPtr& st, stream::SentPacket&& p,
                            std::vector<Outgoing>& out) {
  if (!pacing()) {
    transmit(s, *st, std::move(p), out);
    return;
  }
  stream::Paced& q = st->paced();
  q.bytes += p.payload.size() + wire::kPacketOverhead;
  q.queue.push_back(std::move(p));
  if (!q.active) {
    q.active = true;
    s.pace_active.push_back(st->id());
  }
}

void Node::on_pace_tick(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  std::unique_lock lk(self->mu_);
  self->pace(now_ns(), out);
  self->flush(lk, out, 0);
}

void Node::pace(int64_t now, std::vector<Outgoing>& out) {
  double rate = static_cast<double>(config_.session_rate_bytes_per_sec);
  double burst = std::max<double>(2 * kQuantum, rate * kBurstNs / 1e9);
  for (auto& [peer, s] : sessions_) {
    if (s->pace_active.empty()) {
      s->pace_refill_ns = now;
      s->pace_tokens = burst;  // an idle session starts a backlog with a full bucket
      continue;
    }
    s->pace_tokens = std::min(burst, s->pace_tokens + rate * (now - s->pace_refill_ns) / 1e9);
    s->pace_refill_ns = now;
    while (!s->pace_active.empty()) {
      auto it = s->streams.find(s->pace_active.front());
      stream::Stream* st = it == s->streams.end() ? nullptr : it->second.get();
      if (!st || st->paced_bytes() == 0) {  // closed or drained meanwhile
        if (st) st->paced().active = false;
        s->pace_active.pop_front();
        continue;
      }
      stream::Paced& q = st->paced();
      if (!q.quantum_given) {
        q.deficit += kQuantum * st->config().fairness_weight;
        q.quantum_given = true;
      }
      bool out_of_tokens = false;
      while (!q.queue.empty()) {
        int64_t cost = static_cast<int64_t>(q.queue.front().payload.size() + wire::kPacketOverhead);
        if (cost > q.deficit) break;
        if (cost > s->pace_tokens) {
          out_of_tokens = true;
          break;
        }
        stream::SentPacket p = std::move(q.queue.front());
        q.queue.pop_front();
        q.bytes -= cost;
        q.deficit -= cost;
        s->pace_tokens -= cost;
        p.first_sent_ns = p.last_sent_ns = now;
        transmit(*s, *st, std::move(p), out);
      }
      if (out_of_tokens) break;  // this stream keeps its turn (and its quantum) for the next tick
      s->pace_active.pop_front();
      q.quantum_given = false;
      if (q.queue.empty()) {
        q.deficit = 0;
        q.active = false;
        st->changed.notify_all();  // a draining close may be waiting
      } else {
        s->pace_active.push_back(st->id());
      }
    }
  }
}

}  // namespace nm::node
