// Path MTU discovery towards netmesh peers (capability kPmtud; session/pmtu_search.h).
// Probes are pings padded to the size being tried: the peer acknowledges them like any
// ping, and ignores the padding. They count in the congestion window like data, but their
// loss is the path's answer about a size, not congestion.
#include <algorithm>
#include <cstring>

#include "node/node.h"
#include "wire/frames.h"
#include "wire/piece.h"

namespace nm::node {

void Node::start_path_mtu(session::Session& s, int64_t now) {
  using namespace wire::capability;
  // Fragments: an event above the (smaller) packet size must be cut, which 0.23 cannot take.
  constexpr uint64_t kNeeded = kPmtud | kSessionAck | kFragments;
  if (s.pmtu || s.routed || (s.peer_capabilities & kNeeded) != kNeeded) return;
  uint32_t limit = UdpSocket::route_payload_limit(s.peer_addr());
  uint32_t ceiling = limit == 0 ? wire::kMaxPacketSize : std::min<uint32_t>(limit, wire::kMaxPacketSize);
  bool ipv6 = s.peer_addr().ss_family == AF_INET6;  // (a dual-stack socket keeps IPv4 peers AF_INET)
  s.pmtu.emplace(ipv6 ? session::PmtuSearch::kBaseIpv6 : session::PmtuSearch::kBaseIpv4, ceiling, now);
  if (s.cc) s.cc->set_max_datagram(s.max_packet());
}

void Node::probe_path_mtu(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  if (!s.sized_by_pmtu()) return;
  uint32_t size = s.pmtu->probe_due(now);
  if (size == 0 || (s.cc && !s.cc->can_send(size))) return;
  s.pmtu->on_probe_sent(size);
  send_ping(s, now, out, size);
}

void Node::check_for_black_hole(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  if (!s.sized_by_pmtu()) return;
  // The peer acknowledges every kAckEvery datagrams (every kAckEveryLargeFlight in a large
  // flight) or after kMaxAckDelayNs: in a flight of n a round trip, the oldest's
  // acknowledgement waits for the next of its batch, (every - 1) x srtt / n.
  using session::AckTracker;
  int64_t srtt = s.rtt.smoothed();
  uint64_t flight = std::max<uint64_t>(s.loss.outstanding(), 1);
  uint64_t every = flight >= AckTracker::kLargeFlight ? AckTracker::kAckEveryLargeFlight : AckTracker::kAckEvery;
  int64_t ack_delay = std::min<int64_t>(AckTracker::kMaxAckDelayNs, srtt * static_cast<int64_t>(every - 1) /
                                                                        static_cast<int64_t>(flight));
  if (!s.pmtu->hole_check_due(s.loss.oldest_sent_ns(), now, srtt, s.rtt.min(), ack_delay, AckTracker::kMaxAckDelayNs))
    return;
  s.pmtu->on_hole_check_sent(now);
  send_ping(s, now, out);
}

void Node::pmtu_on_acked(session::Session& s, const session::SentDatagram& d, int64_t now) {
  if (!s.pmtu) return;
  if (!d.pmtu_probe) {
    s.pmtu->on_acked(d.bytes, d.sent_ns, now);
    if (d.bytes > s.pmtu->base()) s.cc_before_large_losses.reset();  // the path carries them
  } else if (s.pmtu->on_probe_acked(d.bytes, now) && s.cc) {
    s.cc->set_max_datagram(s.max_packet());
  }
}

void Node::pmtu_on_probe_lost(session::Session& s, const session::SentDatagram& d, int64_t now) {
  if (s.cc) s.cc->on_discarded(d.bytes);  // the path's answer about a size, not congestion
  if (s.pmtu) s.pmtu->on_probe_lost(d.bytes, now);
}

bool Node::pmtu_on_lost(session::Session& s, const session::SentDatagram& d) {
  if (!s.sized_by_pmtu()) return false;
  if (d.bytes <= s.pmtu->current()) {
    // Congestion, or the start of a black hole: which one, pmtu_judge tells (the
    // reductions until then are undone if it was a hole).
    if (d.bytes > s.pmtu->base() && s.cc && !s.cc_before_large_losses) s.cc_before_large_losses = s.cc->clone();
    s.pmtu->on_lost(d.bytes, d.sent_ns);
    return false;
  }
  // Larger than the path carries (sent before the size fell): lost to its size.
  if (s.cc) s.cc->on_discarded(d.bytes);
  return true;
}

void Node::pmtu_judge(session::Session& s, int64_t now) {
  if (s.sized_by_pmtu() && s.pmtu->black_hole_shown(now, s.rtt.min())) after_black_hole(s);
}

void Node::after_black_hole(session::Session& s) {
  // The reductions since the first of its losses (saved in pmtu_on_lost, at the latest) are
  // undone, and the window goes on at the smaller size.
  if (s.cc) s.restore_controller(std::move(s.cc_before_large_losses));
  s.update_pacing_rate(static_cast<double>(config_.session_rate_bytes_per_sec));
  // The large datagrams still in flight are lost to their size now, not one by one as
  // later datagrams' acknowledgements would find them: their data goes again at once.
  std::vector<session::SentDatagram> lost;
  s.loss.declare_lost_above(s.pmtu->current(), lost);
  for (const session::SentDatagram& d : lost) on_lost(s, d);
}

void Node::send_in_pieces(session::Session& s, const stream::Stream& st, const stream::SentPacket& p,
                          wire::Header& h, std::vector<Outgoing>& out) {
  h.payload_len = static_cast<uint16_t>(p.payload.size());
  uint8_t packet[wire::kMaxPacketSize];
  wire::encode_header(h, packet);
  std::memcpy(packet + wire::kHeaderSize, p.payload.data(), p.payload.size());
  size_t total = wire::kHeaderSize + p.payload.size();
  size_t room = s.payload_capacity() - wire::kFrameOverhead - wire::kPieceHeader;
  size_t count = (total + room - 1) / room;
  size_t each = (total + count - 1) / count;  // equal pieces: no stub of a few bytes
  uint32_t id = s.next_piece_id++;
  for (size_t offset = 0; offset < total; offset += each) {
    wire::Piece piece{id, static_cast<uint16_t>(total), static_cast<uint16_t>(offset),
                      std::span<const uint8_t>(packet + offset, std::min(each, total - offset))};
    uint8_t body[wire::kPieceHeader + wire::kMaxPacketSize];
    size_t n = wire::encode_piece(piece, body);
    Outgoing& o = out.emplace_back();
    wire::Header ph = s.control_header(wire::kSubprotocolPiece, 1);
    uint8_t* end = wire::write_frame(o.packet->payload(), std::span<const uint8_t>(body, n));
    uint64_t pn = s.stamp(ph, static_cast<size_t>(end - o.packet->payload()), *o.packet);
    address_to(s, o);
    note_sent(s, st, p, pn, o.packet->len, true);  // each piece is data the peer acknowledges
  }
}

void Node::handle_piece(session::Session& s, Frames frames, uint64_t pn, int64_t now,
                        std::vector<Outgoing>& out) {
  std::optional<wire::Piece> piece;
  if (frames.size() != 1 || !(piece = wire::decode_piece(frames[0]))) {
    ++stats_.drop_malformed;
    return;
  }
  note_arrival(s, pn, true, now);
  switch (s.pieces.add(*piece)) {
    case session::PieceReassembly::Result::kIncomplete: return;
    case session::PieceReassembly::Result::kRefused: ++stats_.drop_malformed; return;
    case session::PieceReassembly::Result::kComplete: break;
  }
  // What the pieces make must be a data packet, checked as one that arrived whole.
  std::span<uint8_t> packet = s.pieces.whole();
  wire::Header h;
  std::vector<std::span<const uint8_t>> inner_frames;
  bool ok = wire::decode_header(packet, h) == wire::HeaderError::kOk &&
            packet.size() == wire::kHeaderSize + h.payload_len && wire::carries_stream_data(h);
  std::span<uint8_t> plaintext = packet.subspan(std::min(packet.size(), wire::kHeaderSize));
  if (ok) {
    wire::read_frames(plaintext, h.event_count, inner_frames);
    ok = wire::frames_exact(plaintext, inner_frames, h.event_count);
  }
  if (!ok) {
    ++stats_.drop_malformed;
    return;
  }
  handle_data(s, h, plaintext, nullptr, out);
}

}  // namespace nm::node
