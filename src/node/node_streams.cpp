// Stream operations behind the C API: open, close, send (with the explicit retry helpers),
// receive, stats.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "wire/frames.h"

namespace nm::node {

namespace {
using Clock = std::chrono::steady_clock;
constexpr size_t kPacketsPerLock = 32;  // bounds the buffers one send holds between socket writes

std::string stream_name(const stream::Stream& st) {
  return "stream " + std::to_string(st.id()) + " to peer " + std::to_string(st.peer_node_id());
}
}  // namespace

nm_status Node::open_stream(uint64_t peer_id, uint64_t stream_id, const stream::StreamConfig& config,
                            StreamPtr& out) {
  MutexLock lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  session::Session* s = session_for(peer_id);
  if (!s) return fail(NM_ERR_NOT_CONNECTED, "no session with peer " + std::to_string(peer_id));
  auto it = s->streams.find(stream_id);
  if (it == s->streams.end()) {
    out = create_stream(*s, stream_id, config, true);
    if (!out)
      return fail(NM_ERR_BACKPRESSURE, "max_streams streams with peer " + std::to_string(peer_id) +
                                           " hold unread or unacknowledged events: read or close one first");
  } else {
    out = it->second;
    if (!out->opened_by_app()) out->adopt(config);  // first explicit open decides the config
  }
  return NM_OK;
}

nm_status Node::close_stream(const StreamPtr& st) {
  std::vector<Outgoing> out;
  MutexLock lk(mu_);
  if (st->state() != stream::StreamState::kOpen)
    return fail(NM_ERR_NOT_CONNECTED, stream_name(*st) + " is already closed");
  bool drop = st->config().close == stream::CloseBehaviour::kDropAndClose;
  nm_status result = NM_OK;
  // No new sends from here on (kDraining). DrainThenClose lets what was sent be
  // acknowledged, and a large event finish, before the stream goes away.
  st->set_state(stream::StreamState::kDraining);
  if (session::Session* s = session_for(st->peer_node_id())) emit_open_packet(*s, st, out);
  if (!out.empty()) {  // events still in an open packet leave first (when paced: queued,
                       // and DROP_AND_CLOSE drops them with the rest, as documented)
    flush(lk, out, 100);
    lk.lock();
  }
  if (!drop && !st->tx_idle()) {
    // Drained, or never will be: the node stops, or the stream left its session (the
    // session ended, or the stream was evicted: what it held is abandoned).
    auto settled = [&]() REQUIRES(mu_) { return stopping_ || st->tx_idle() || !session_of(st); };
    bool in_time = st->changed.wait_for(lk.native(), std::chrono::milliseconds(config_.drain_timeout_ms), settled);
    if (stopping_ && !(st->tx_idle() && session_of(st))) {
      result = fail(NM_ERR_SHUTDOWN, stream_name(*st) + ": the node stopped before everything sent was acknowledged");
    } else if (!session_of(st)) {
      result = fail(NM_ERR_NOT_CONNECTED,
                    stream_name(*st) + ": the session ended before everything sent was acknowledged");
    } else if (!in_time) {
      result = fail(NM_ERR_TIMEOUT, stream_name(*st) + ": unacknowledged data after " +
                                        std::to_string(config_.drain_timeout_ms) + " ms; closed anyway");
    }
  }
  session::Session* s = session_for(st->peer_node_id());
  if (session::Session* owner = session_of(st)) {
    remove_stream(*owner, st, drop);
  } else {
    close_stream_locked(st, drop);
  }
  // Dropped events still count as consumed: the sender gets its credit back.
  if (s) grant_if_due(*s, st, out, true);
  flush(lk, out, 100);
  return result;
}

nm_status Node::check_sendable(const StreamPtr& st) {
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  if (st->state() != stream::StreamState::kOpen || !session_for(st->peer_node_id()))
    return fail(NM_ERR_NOT_CONNECTED, stream_name(*st) + " is closed (stale handle)");
  return NM_OK;
}

nm_status Node::send(const StreamPtr& st, std::span<const nm_event_t> events, size_t* sent) {
  *sent = 0;
  // Per calling thread, reused: a send allocates nothing once these have grown.
  thread_local std::vector<std::span<const uint8_t>> views;
  thread_local std::vector<Outgoing> out;
  thread_local std::vector<size_t> accepted_after;  // events accepted once each built packet is out
  views.clear();
  out.clear();
  accepted_after.clear();
  for (const nm_event_t& e : events) {
    if (e.len > 0 && !e.data) return fail(NM_ERR_INVALID_ARGUMENT, "event with NULL data");
    if (e.len > config_.max_event_bytes)
      return fail(NM_ERR_EVENT_TOO_LARGE, "event of " + std::to_string(e.len) +
                                              " bytes exceeds max_event_bytes " +
                                              std::to_string(config_.max_event_bytes));
    views.emplace_back(static_cast<const uint8_t*>(e.data), e.len);
  }

  MutexLock lk(mu_);
  if (nm_status s = check_sendable(st); s != NM_OK) return s;
  if (!session_for(st->peer_node_id())->has(wire::capability::kFragments)) {
    for (const auto& v : views)
      if (v.size() > wire::kMaxEventSize)
        return fail(NM_ERR_EVENT_TOO_LARGE,
                    "event of " + std::to_string(v.size()) + " bytes: the peer is a net-mesh 0.23 "
                    "node, which cannot take events above " + std::to_string(wire::kMaxEventSize));
  }
  size_t next = 0;
  for (;;) {
    if (nm_status s = check_sendable(st); s != NM_OK) return s;
    session::Session& s = *session_for(st->peer_node_id());
    s.ticking.insert(st->id());  // a large event may wait for credit
    bool recovering = recovery(s, *st);
    nm_status status = NM_OK;
    while (out.size() < kPacketsPerLock) {
      if (st->fragmenting()) {
        // A large event in progress goes first; the caller's events wait behind it.
        if (!pump_fragments(s, st, kPacketsPerLock - out.size(), out) && out.size() < kPacketsPerLock)
          status = NM_ERR_BACKPRESSURE;
        accepted_after.resize(out.size(), next);
        if (status != NM_OK || st->fragmenting()) break;
        continue;
      }
      if (next == views.size()) break;
      if (views[next].size() > max_unfragmented_event(s, *st, s.data_payload_room(*st))) {
        emit_open_packet(s, st, out);  // events accepted before it go first
        accepted_after.resize(out.size(), next);
        // Accepted now; its fragments follow as credit allows (also from the loop thread).
        stream::Payload copy = stream::Payload::pooled(views[next].size());
        copy.assign(views[next]);
        st->tx_fragmenting() = stream::TxFragmenting{std::move(copy), 0, st->next_frag_id(), 0};
        ++next;
        *sent = next;
        continue;
      }
      Coalesce c = add_to_open_packet(s, st, views, next, out);
      if (c != Coalesce::kNotBurst) {
        // Events in the open packet are accepted: the loop thread sends it shortly.
        accepted_after.resize(out.size(), next);
        *sent = std::max(*sent, next);
        if (c == Coalesce::kBackpressure) {
          status = NM_ERR_BACKPRESSURE;
          break;
        }
        continue;
      }
      if (!build_event_packet(s, st, views[next], out)) {
        status = NM_ERR_BACKPRESSURE;
        break;
      }
      accepted_after.push_back(++next);
    }
    // Paced: what the stream queued counts as sent (its credit is charged), and `out` holds
    // whatever the pacer released, of any stream; unpaced: `out` is this call's packets.
    bool paced = s.sender.paced();
    if (paced) *sent = next;
    size_t built = out.size();
    int err = 0;
    size_t sent_packets = flush(lk, out, 1000, &err);
    if (!paced) {
      if (sent_packets > 0) *sent = std::max(*sent, accepted_after[sent_packets - 1]);
      if (sent_packets < built && !recovering) {
        // The socket refused a packet: report it (a reliable stream retransmits instead).
        return fail(NM_ERR_TRANSPORT, std::string("sendto: ") + std::strerror(err));
      }
      if (sent_packets < built) *sent = std::max(*sent, accepted_after[built - 1]);
    }
    accepted_after.clear();
    bool all_accepted = next == views.size();
    if (status == NM_ERR_BACKPRESSURE) {
      lk.lock();
      if (session::Session* sp = session_for(st->peer_node_id())) {
        probe_credit(*sp, *st, out);
        flush(lk, out, 0);
      } else {
        lk.unlock();
      }
      // Fragments of an accepted event continue as grants arrive; anything else is refused.
      if (all_accepted) return NM_OK;
      return fail(NM_ERR_BACKPRESSURE, stream_name(*st) + ": credit window exhausted (" +
                                           std::to_string(*sent) + " of " +
                                           std::to_string(views.size()) + " events sent)");
    }
    lk.lock();
    if (all_accepted && !st->fragmenting()) return NM_OK;
  }
}

namespace {
bool is_set(const std::atomic<bool>* flag) { return flag && flag->load(); }
nm_status released_while_waiting() { return fail(NM_ERR_INVALID_HANDLE, "stream handle freed while waiting"); }
}  // namespace

void Node::wake_waiters(const StreamPtr& st) {
  MutexLock lk(mu_);
  st->changed.notify_all();
}

nm_status Node::send_waiting(const StreamPtr& st, std::span<const nm_event_t> events,
                             uint64_t max_retries, int timeout_ms, size_t* sent,
                             const std::atomic<bool>* released) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  auto backoff = std::chrono::milliseconds(5);
  *sent = 0;
  for (uint64_t retry = 0;; ++retry) {
    size_t n = 0;
    nm_status s = send(st, events.subspan(*sent), &n);
    *sent += n;
    if (s != NM_ERR_BACKPRESSURE) return s;
    if (retry >= max_retries) return s;
    if (timeout_ms >= 0 && Clock::now() >= deadline)
      return fail(NM_ERR_TIMEOUT, "credit did not return within " + std::to_string(timeout_ms) + " ms");
    // Wait for a grant, but never longer than the backoff step.
    MutexLock lk(mu_);
    auto until = Clock::now() + backoff;
    if (timeout_ms >= 0) until = std::min(until, deadline);
    st->changed.wait_until(lk.native(), until, [&]() REQUIRES(mu_) {
      return stopping_ || st->send_would_not_wait() || is_set(released);
    });
    if (is_set(released)) return released_while_waiting();
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
}

nm_status Node::recv(const StreamPtr& st, std::span<uint8_t> buf, std::span<size_t> lens,
                     size_t* out_count, int timeout_ms, const std::atomic<bool>* released) {
  *out_count = 0;
  thread_local std::vector<Outgoing> out;  // reused: reading allocates nothing
  out.clear();
  MutexLock lk(mu_);
  auto readable = [&]() REQUIRES(mu_) {
    return stopping_ || st->inbound_pending() > 0 || st->state() == stream::StreamState::kClosed ||
           is_set(released);
  };
  if (timeout_ms < 0) {
    st->changed.wait(lk.native(), readable);
  } else if (timeout_ms > 0) {
    st->changed.wait_for(lk.native(), std::chrono::milliseconds(timeout_ms), readable);
  }
  if (is_set(released)) return released_while_waiting();  // its events stay for other handles
  if (st->inbound_pending() == 0) {
    if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
    if (st->state() != stream::StreamState::kOpen)
      return fail(NM_ERR_NOT_CONNECTED, stream_name(*st) + " is closed");
    return fail(NM_ERR_TIMEOUT, "no event within " + std::to_string(timeout_ms) + " ms");
  }
  size_t used = 0, count = 0;
  {
    // What the events read pinned leaves the budget (while the stream is its session's).
    std::optional<session::HeldChange<stream::Stream>> charge;
    if (session::Session* owner = session_of(st)) charge.emplace(budget_, owner->rx, *st);
    while (count < lens.size() && st->inbound_pending() > 0) {
      size_t size = st->front_size();
      if (size > buf.size() - used) {
        if (count > 0) break;  // the batch ends before an event that does not fit
        lens[0] = size;
        return fail(NM_ERR_BUFFER_TOO_SMALL, "event of " + std::to_string(size) +
                                                 " bytes does not fit a buffer of " +
                                                 std::to_string(buf.size()));
      }
      st->pop_into(buf.data() + used);
      lens[count++] = size;
      used += size;
    }
  }
  *out_count = count;
  events_.add(-static_cast<int64_t>(count));
  if (st->state() == stream::StreamState::kDraining && st->inbound_pending() == 0)
    st->set_state(stream::StreamState::kClosed);
  // Credit goes back as the application reads (a stalled reader stalls the sender). A
  // closed stream still returns what it drains unless the peer already started anew.
  session::Session* s = session_for(st->peer_node_id());
  // (A closed stream is no longer visited by the recovery tick: it grants at once.)
  if (s) {
    auto current = s->streams.find(st->id());
    if (current == s->streams.end() || current->second == st)
      grant_if_due(*s, st, out, st->state() != stream::StreamState::kOpen);
    s->ticking.insert(st->id());  // what is left of the drained credit goes on the tick
  }
  flush(lk, out, 100);
  return NM_OK;
}

void Node::fill_stats(const stream::Stream& st, nm_stream_stats_t& o) const {
  o = {};
  o.peer_node_id = st.peer_node_id();
  o.stream_id = st.id();
  o.tx_seq = st.tx_seq();
  o.rx_seq = st.rx_seq();
  o.inbound_pending = st.inbound_pending();
  o.last_activity_ns = to_unix_ns(st.last_activity_ns());
  o.active = st.state() == stream::StreamState::kOpen;
  const auto& c = st.counters();
  o.backpressure_events = c.backpressure_events;
  o.tx_credit_remaining = st.tx_credit().remaining();
  o.tx_window = st.tx_credit().window();
  o.credit_grants_received = c.credit_grants_received;
  o.credit_grants_sent = c.credit_grants_sent;
  o.tx_events = c.tx_events;
  o.rx_events = c.rx_events;
  o.rx_duplicates_dropped = c.rx_duplicates_dropped;
  o.rx_gaps = st.rx_gaps();
  o.reliable = st.config().reliable;
  auto it = sessions_.find(st.peer_node_id());
  o.recovering = it != sessions_.end() && recovery(*it->second, st);
  o.retransmits = c.retransmits;
  o.nacks_sent = c.nacks_sent;
  o.nacks_received = c.nacks_received;
  o.tx_unacked_packets = st.retransmit_size();
  o.srtt_ns = static_cast<uint64_t>(st.srtt_ns());
  o.rx_buffered_bytes = st.inbound_bytes();
  o.rx_reorder_packets = st.reorder().buffered();
  o.rx_incomplete_dropped = c.rx_incomplete_dropped;
  o.rx_oversize_dropped = c.rx_oversize_dropped;
  o.rx_restarts = c.rx_restarts;
}

nm_status Node::stream_stats(const StreamPtr& st, nm_stream_stats_t& out) {
  MutexLock lk(mu_);
  fill_stats(*st, out);
  return NM_OK;
}

nm_status Node::stream_event_fd(const StreamPtr& st, stream::Stream::Direction d, int& fd) {
  MutexLock lk(mu_);
  fd = st->readiness_fd(d);
  if (fd < 0) return fail(NM_ERR_INTERNAL, std::string("eventfd: ") + std::strerror(errno));
  if (stopping_) st->raise_readiness_forever();
  return NM_OK;
}

std::vector<nm_stream_stats_t> Node::all_stream_stats() {
  MutexLock lk(mu_);
  std::vector<nm_stream_stats_t> all;
  for (auto& [peer, s] : sessions_)
    for (auto& [id, st] : s->streams) fill_stats(*st, all.emplace_back());
  return all;
}

}  // namespace nm::node
