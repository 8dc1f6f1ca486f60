// Path MTU discovery towards netmesh peers (capability kPmtud; session/pmtu_search.h).
// Probes are pings padded to the size being tried: the peer acknowledges them like any
// ping, and ignores the padding. They count in the congestion window like data, but their
// loss is the path's answer about a size, not congestion.
#include <algorithm>
#include <cstring>

#include "node/node.h"

namespace nm::node {

void Node::start_path_mtu(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  using namespace wire::capability;
  // Fragments: an event above the (smaller) packet size must be cut, which 0.23 cannot take.
  constexpr uint64_t kNeeded = kPmtud | kSessionAck | kFragments;
  if (s.pmtu || s.routed || (s.peer_capabilities & kNeeded) != kNeeded) return;
  uint32_t limit = UdpSocket::route_payload_limit(s.peer_addr());
  uint32_t ceiling = limit == 0 ? wire::kMaxPacketSize : std::min<uint32_t>(limit, wire::kMaxPacketSize);
  s.pmtu.emplace(ceiling, now);
  if (s.cc) s.cc->set_max_datagram(s.max_packet());
  probe_path_mtu(s, now, out);
}

void Node::probe_path_mtu(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  if (!s.sized_by_pmtu()) return;
  uint32_t size = s.pmtu->probe_due(now);
  if (size == 0 || (s.cc && !s.cc->can_send(size))) return;
  s.pmtu->on_probe_sent(size);
  Outgoing& o = out.emplace_back();
  wire::Header h;
  h.subprotocol_id = wire::kSubprotocolAck;
  h.stream_id = wire::kControlStreamId;
  h.sequence = s.next_control_seq();
  h.event_count = 0;
  size_t padding = size - wire::kPacketOverhead;
  std::memset(o.packet->payload(), 0, padding);
  uint64_t pn = s.stamp(h, padding, *o.packet);
  address_to(s, o);
  session::SentDatagram d{pn, now, size, wire::kControlStreamId, 0};
  d.pmtu_probe = true;
  track(s, d);
}

void Node::pmtu_on_acked(session::Session& s, const session::SentDatagram& d, int64_t now) {
  if (!s.pmtu) return;
  if (!d.pmtu_probe) {
    s.pmtu->on_acked(d.bytes, now);
  } else if (s.pmtu->on_probe_acked(d.bytes, now) && s.cc) {
    s.cc->set_max_datagram(s.max_packet());
  }
}

bool Node::pmtu_on_lost(session::Session& s, const session::SentDatagram& d, int64_t now) {
  if (d.pmtu_probe) {
    if (s.cc) s.cc->on_discarded(d.bytes);
    if (s.pmtu) s.pmtu->on_probe_lost(d.bytes, now);
    return true;
  }
  if (s.pmtu && s.pmtu->on_lost(d.bytes, now, s.rtt.pto(session::AckTracker::kMaxAckDelayNs)) && s.cc)
    s.cc->set_max_datagram(s.max_packet());
  return false;
}

}  // namespace nm::node
