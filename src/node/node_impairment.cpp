// Fault injection at the socket boundary: inbound datagrams before the receive path,
// outbound datagrams in flush. Delayed ones wait in the delay queue for the loop thread.
#include <cstring>

#include "node/clock.h"
#include "node/node.h"
#include "wire/little_endian.h"

namespace nm::node {

namespace {
void add(ImpairmentCounters& into, const ImpairmentCounters& c) {
  into.seen += c.seen;
  into.dropped_loss += c.dropped_loss;
  into.dropped_burst += c.dropped_burst;
  into.dropped_rate += c.dropped_rate;
  into.dropped_oversize += c.dropped_oversize;
  into.duplicated += c.duplicated;
  into.reordered += c.reordered;
  into.delayed += c.delayed;
  into.corrupted += c.corrupted;
  into.dropped_undersize += c.dropped_undersize;
}
}  // namespace

void Node::set_impairment(uint64_t peer_id, int directions, const ImpairmentConfig* config) {
  MutexLock lk(mu_);
  MutexLock send_lock(send_mu_);
  auto apply = [&](std::unordered_map<uint64_t, std::unique_ptr<Impairment>>& table) REQUIRES(send_mu_) {
    if (auto it = table.find(peer_id); it != table.end()) {
      add(retired_impairment_counters_, it->second->counters());
      table.erase(it);
    }
    if (config && config->enabled()) table[peer_id] = std::make_unique<Impairment>(*config);
  };
  if (directions & 1) apply(outbound_impairments_);
  if (directions & 2) apply(inbound_impairments_);
}

Impairment* Node::impairment_for(std::unordered_map<uint64_t, std::unique_ptr<Impairment>>& table,
                                 uint64_t peer_id) {
  if (table.empty()) return nullptr;
  auto it = table.find(peer_id);
  if (it == table.end()) it = table.find(0);
  return it == table.end() ? nullptr : it->second.get();
}

void Node::impair_inbound(std::span<uint8_t> d, const sockaddr_storage& from, std::vector<Outgoing>& out,
                          Decrypted* decrypted) {
  uint64_t peer = 0;
  if (decrypted && decrypted->done) {  // admitted before an impairment was set
    handle_datagram(d, from, out, decrypted);
    return;
  }
  if (!inbound_impairments_.empty()) {
    auto it = peer_by_session_id_.find(session_id_of(d));
    if (it != peer_by_session_id_.end()) peer = it->second;
  }
  Impairment* imp = impairment_for(inbound_impairments_, peer);
  if (!imp) {
    handle_datagram(d, from, out);
    return;
  }
  int64_t now = now_ns();
  Delivery fate[2];
  size_t n = imp->decide(d.size(), now, fate);
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint8_t> copy(d.begin(), d.end());
    if (fate[i].corrupt) copy[fate[i].corrupt_offset] ^= fate[i].corrupt_xor;
    if (fate[i].at_ns <= now) {
      handle_datagram(copy, from, out);
    } else {
      hold(*imp, {fate[i].at_ns, 0, true, std::move(copy), from});
    }
  }
}

bool Node::impair_outbound(const Outgoing& o) {
  Impairment* imp = impairment_for(outbound_impairments_, o.peer);
  if (!imp) return false;
  int64_t now = now_ns();
  Delivery fate[2];
  size_t n = imp->decide(o.packet->datagram_len(), now, fate);
  for (size_t i = 0; i < n; ++i) {
    if (fate[i].at_ns <= now && !fate[i].corrupt) {
      socket_.send(o.packet->datagram(), o.packet->datagram_len(), o.to, 0, o.dont_fragment);
      continue;
    }
    std::vector<uint8_t> copy(o.packet->datagram(), o.packet->datagram() + o.packet->datagram_len());
    if (fate[i].corrupt) copy[fate[i].corrupt_offset] ^= fate[i].corrupt_xor;
    if (fate[i].at_ns <= now) {
      socket_.send(copy.data(), copy.size(), o.to, 0, o.dont_fragment);
    } else {
      hold(*imp, {fate[i].at_ns, 0, false, std::move(copy), o.to});
    }
  }
  return true;
}

void Node::hold(Impairment& imp, DelayedDatagram&& d) {
  switch (delayed_.push(std::move(d))) {
    case DelayQueue::Pushed::kEarliest: kick_delay_timer(); break;
    case DelayQueue::Pushed::kQueued: break;
    case DelayQueue::Pushed::kFull: imp.count_dropped_rate(); break;  // as a full rate queue
  }
}

void Node::kick_delay_timer() {
  if (loop_alive_) uv_async_send(&delay_kick_);  // never on a closed handle
}

void Node::on_delay_kick(uv_async_t* handle) { static_cast<Node*>(handle->data)->arm_delay_timer(); }

void Node::arm_delay_timer() {
  auto due = delayed_.next_due();
  if (!due) return;
  int64_t wait_ns = *due - now_ns();
  // libuv timers have millisecond resolution: round up so nothing fires early.
  uint64_t wait_ms = wait_ns <= 0 ? 0 : static_cast<uint64_t>((wait_ns + 999'999) / 1'000'000);
  uv_timer_start(&delay_timer_, &Node::on_delay_timer, wait_ms, 0);
}

void Node::on_delay_timer(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  MutexLock lk(self->mu_);
  while (auto d = self->delayed_.pop_due(now_ns())) {
    if (d->inbound) {
      self->handle_datagram(d->bytes, d->addr, out);
    } else {
      // The socket's sends are serialised by send_mu_ (flush releases mu_ while writing).
      MutexLock send_lock(self->send_mu_);
      self->socket_.send(d->bytes.data(), d->bytes.size(), d->addr, 0);
    }
  }
  self->send_acks(out, true);
  self->flush(lk, out, 0);
  self->arm_delay_timer();
}

ImpairmentCounters Node::impairment_counters() {
  MutexLock lk(mu_);  // inbound_impairments_
  MutexLock send_lock(send_mu_);
  ImpairmentCounters c = retired_impairment_counters_;
  for (auto& [peer, imp] : outbound_impairments_) add(c, imp->counters());
  for (auto& [peer, imp] : inbound_impairments_) add(c, imp->counters());
  return c;
}

}  // namespace nm::node
