// An established session with one peer: traffic keys, the shared TX counter, the replay
// window and the peer's streams (wire spec §3.6, §5, §7).
#pragma once
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "crypto/replay_window.h"
#include "crypto/session_keys.h"
#include "session/ack_tracker.h"
#include "session/compact_ids.h"
#include "session/congestion.h"
#include "session/congestion_undo.h"
#include "session/loss_detector.h"
#include "session/packet_buffer.h"
#include "session/peer_address.h"
#include "session/piece_reassembly.h"
#include "session/pmtu_search.h"
#include "session/rx_budget.h"
#include "session/response_budget.h"
#include "session/rtt_stats.h"
#include "session/sender.h"
#include "stream/stream.h"
#include "wire/compact_header.h"
#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::session {

enum class OpenError { kOk, kLengthMismatch, kReplay, kAuthFailed };

// The AEAD half of Session::open, with copies of the keys: verifies and decrypts the
// payload of `datagram` in place, or to `out` (h.payload_len bytes) if not null. Needs no
// session state, so it can run without locks.
bool decrypt_payload(const crypto::SessionKeys& keys, const wire::Header& h, std::span<uint8_t> datagram,
                     uint8_t* out = nullptr);

class Session {
 public:
  Session(uint64_t peer_node_id, const sockaddr_storage& peer_addr, const crypto::SessionKeys& keys,
          int64_t now_ns);

  // Reached through relays: packets go behind a routing header to the next hop (the
  // address the handshake came from when no route is known).
  bool routed = false;
  // Which side sent msg1 (crossing dials keep the handshake of the lower node id).
  bool we_initiated = false;
  // A responder's session is unconfirmed until an authenticated packet arrives on it: a
  // replayed msg1 makes one that never is. Unconfirmed sessions send no heartbeats, hellos
  // or pingwaves, are not neighbours, never replace a confirmed session, and expire.
  bool confirmed = false;
  int64_t established_ns() const { return established_ns_; }
  int64_t last_heartbeat_tx_ns = 0;
  // What this peer's packets may make us send beyond new data (see response_budget.h).
  ResponseBudget budget;

  uint64_t peer_node_id() const { return peer_node_id_; }
  uint64_t session_id() const { return keys_.session_id; }
  // Where its packets go (direct sessions follow the peer to a new address: peer_address.h).
  PeerAddress address;
  const sockaddr_storage& peer_addr() const { return address.current(); }
  int64_t last_rx_ns() const { return last_rx_ns_; }
  bool heard() const { return heard_; }  // an authenticated packet arrived on it
  int64_t last_heartbeat_rx_ns() const { return last_heartbeat_rx_ns_; }

  // Fills in session id, nonce (next TX counter) and payload_len, encodes the header and
  // arms `buf` to encrypt the `payload_len` plaintext bytes already at buf.payload() (or
  // at `plaintext`, see PacketBuffer::arm) when buf.seal() is called. `h` supplies
  // everything else. Returns the datagram's packet number (its nonce counter). `compact`:
  // in a compact header if h is a stream data packet it can state and the plaintext is at
  // `plaintext` (not at payload(), which moves with the header's length).
  uint64_t stamp(wire::Header& h, size_t payload_len, PacketBuffer& buf, const uint8_t* plaintext = nullptr,
                 bool compact = false);

  // Verifies and decrypts a received datagram (header already parsed into `h`) in place.
  // On success `plaintext` views the decrypted payload inside `datagram`. `decrypted`:
  // decrypt_payload already verified and decrypted it (outside the node lock); only the
  // replay window is left to update.
  OpenError open(const wire::Header& h, std::span<uint8_t> datagram, std::span<uint8_t>& plaintext,
                 int64_t now_ns, bool decrypted = false);
  // Whether open() could accept the datagram: its length matches and the replay window
  // admits its counter. (Checked before spending an AEAD on it.)
  bool admissible(const wire::Header& h, std::span<const uint8_t> datagram) const;
  const crypto::SessionKeys& keys() const { return keys_; }
  // The packet number after the highest one received (a datagram at or above it is the newest).
  uint64_t rx_next_counter() const { return replay_.next_expected(); }
  // A compact header states its counter's low bits: the whole one is the nearest our next.
  void complete_counter(wire::Header& h) const { wire::complete_counter(h, replay_.next_expected()); }
  void note_heartbeat(int64_t now_ns) { last_heartbeat_rx_ns_ = now_ns; }

  // The header of a packet on the control stream (grants, acknowledgements, pings, pieces),
  // each with the next control sequence number.
  wire::Header control_header(uint16_t subprotocol, uint16_t event_count) {
    wire::Header h;
    h.subprotocol_id = subprotocol;
    h.stream_id = wire::kControlStreamId;
    h.sequence = control_seq_++;
    h.event_count = event_count;
    return h;
  }

  // What the peer told us in its capability hello (0 = a plain 0.23 node, so far), and
  // whether one came (a hello may name no capability we know: it still counts, once).
  uint64_t peer_capabilities = 0;
  bool peer_hello_seen = false;
  bool peer_has_our_hello = false;
  int hellos_sent = 0;
  int64_t last_hello_ns = 0;
  bool has(uint64_t capability) const { return (peer_capabilities & capability) != 0; }
  bool has_all(uint64_t capabilities) const { return (peer_capabilities & capabilities) == capabilities; }
  // The peer's data packets say it is netmesh (flags::kNetmeshData), hello or not: it
  // recovers and reads our acknowledgements and NACKs (capability::kDataFields).
  bool netmesh_data_seen = false;
  bool answers_as_netmesh(uint64_t capability) const { return has(capability) || netmesh_data_seen; }

  // When data packets leave and which stream goes next (pacing, weighted fair sharing).
  Sender sender;

  // Session acknowledgements (wire/ack_frame.h), with peers that have kSessionAck: what
  // arrived from the peer (acks), what became of the data datagrams we sent (loss), and
  // the round-trip estimate they give (seeded by the handshake when we dialled).
  AckTracker acks;
  bool ack_queued = false;  // the node holds this peer in its list of acknowledgements due
  LossDetector loss{AckTracker::kMaxAckDelayNs};
  RttStats rtt;
  // How much may be in flight, over all streams, retransmissions included; set once the
  // peer's hello shows it acknowledges datagrams (none towards 0.23: its wire stays 0.23's).
  std::unique_ptr<CongestionController> cc;
  DeliveryRate delivery;  // what the acknowledgements say the path delivers (for BBR)
  int probe_allowance = 0;  // datagrams a probe timeout lets out beyond the window
  // Path MTU discovery (pmtu_search.h), towards netmesh peers reached directly that have
  // kPmtud (and kSessionAck, which confirms probes): data datagrams are then at most its
  // size, with DF set. Otherwise packets are 0.23's, up to 8192 bytes, and IP fragments them.
  std::optional<PmtuSearch> pmtu;
  // The controller as it was before the first datagram above the base size was lost since
  // one was last acknowledged: if those losses turn out to be a black hole, they were not
  // congestion and the window goes back (node_pmtu.cpp).
  std::unique_ptr<CongestionController> cc_before_large_losses;
  // The controller before its latest congestion event, until that event's losses prove
  // real or spurious (congestion_undo.h).
  CongestionUndo cc_undo;
  // Goes back to `earlier`, a copy of the controller from before losses that were not
  // congestion (a black hole's, or spurious ones), at the path's datagram size now.
  void restore_controller(std::unique_ptr<CongestionController> earlier);
  bool sized_by_pmtu() const { return pmtu && !routed; }
  // Data packets go in compact headers: the peer reads them and it is reached directly
  // (routed packets keep 0.23's header).
  bool compact_data() const { return has(wire::capability::kCompactHeader) && !routed; }
  // The low bits of the session id that name it in compact headers (compact_ids.h); a
  // session without them announces no compact headers.
  CompactIds::Lease compact_bits;
  // The largest datagram a data packet may be, and what its payload and one event hold.
  size_t max_packet() const { return sized_by_pmtu() ? pmtu->current() : wire::kMaxPacketSize; }
  size_t payload_capacity() const { return max_packet() - wire::kPacketOverhead; }
  size_t max_event_in_packet() const { return payload_capacity() - wire::kFrameOverhead; }
  // The header a stream data packet with these fields takes: a compact one is shorter than
  // the 84 bytes of overhead credit counts, so the path carries more payload than that says.
  size_t data_header_bytes(const stream::Stream& st, uint64_t seq, uint64_t charged_before, uint16_t events,
                           bool fragment) const {
    if (!compact_data()) return wire::kHeaderSize;
    std::optional<uint64_t> charge;  // (stated on fire-and-forget packets only)
    if (!st.config().reliable) charge = charged_before;
    return wire::compact_header_size(st.id(), seq, st.tx_epoch(), charge, events, fragment);
  }
  size_t data_datagram_bytes(const stream::Stream& st, const stream::SentPacket& p) const {
    return data_header_bytes(st, p.seq, p.charged_before, p.event_count, wire::has_fragment_fields(p.frag_flags)) +
           p.payload.size() + wire::kTagSize;
  }
  // The payload the next data packet of a stream may carry so that its datagram fits the
  // path (its fields so far; the largest event count assumed). Such a packet holds whole
  // events and events cut at its boundaries, never a fragment (fragments are sized by
  // max_event_in_packet, which leaves room for 0.23's header).
  size_t data_payload_room(const stream::Stream& st) const {
    size_t header = data_header_bytes(st, st.tx_seq(), st.tx_charged(), wire::kMaxEventsPerPacket, false);
    return std::min(wire::kMaxPayloadSize, max_packet() - wire::kTagSize - header);
  }
  // Packets larger than that (kept for retransmission from before the size fell) travel
  // as pieces (wire/piece.h): ours are numbered here, the peer's put back together here.
  uint32_t next_piece_id = 0;
  PieceReassembly pieces;
  // Data packets leave through `sender` at 1.25 x cwnd / srtt (and no faster than the
  // node's session_rate_bytes_per_sec, if set).
  void update_pacing_rate(double configured_rate);
  // The peer is reached over another path now (direct instead of relayed, or at a new IP):
  // what the old one taught says nothing about it (RFC 9000 §9.4). The round-trip estimate,
  // the loss thresholds and the congestion controller start again, the controller at
  // max_packet() and with the datagrams still in flight counted in its flight; the
  // estimate from `path_rtt_ns` (the path challenge's round trip, as the handshake seeds a
  // new session's) if not 0. (A new port on the same IP, a NAT rebinding, is the same
  // path: nothing is reset then.)
  void restart_path_estimates(double configured_rate, int64_t path_rtt_ns);
  struct PathCounters {
    uint64_t rtt_samples = 0;
    uint64_t datagrams_acked = 0;
    uint64_t datagrams_lost = 0;
    uint64_t spurious_losses = 0;
    uint64_t congestion_undone = 0;  // congestion events whose losses all proved spurious
    uint64_t probe_timeouts = 0;
    uint64_t acks_sent = 0;
    uint64_t acks_received = 0;
    uint64_t restarts = 0;  // restart_path_estimates calls
  } path;
  // Packet numbers this session has used so far (an acknowledgement of more is a lie).
  uint64_t packets_sent() const { return tx_counter_; }

  // A direct address for this routed session that a hole punch opened, being proven by a
  // path challenge; once answered, the session goes direct (Node::promote_to_direct).
  struct DirectProbe {
    sockaddr_storage addr;
    PathChallenge challenge;
    bool prepaid = false;  // a punch's: its coordinator paid for the challenges
  };
  std::optional<DirectProbe> direct_probe;
  // With the node's auto_direct_ms: when this relayed session next asks for a direct path
  // (0: not yet asked).
  int64_t next_direct_try_ns = 0;
  // How long a path challenge waits for its answer: a few round trips, never less than
  // 100 ms (333 ms before the first sample, as RFC 9002's initial RTT).
  int64_t challenge_interval_ns() const {
    return std::max<int64_t>(3 * rtt.smoothed(), 100'000'000);
  }

  // The sequence of our NAT traversal events (0.23 numbers them per subprotocol stream; no
  // receiver reads it).
  uint64_t traversal_seq = 0;

  // Each (re)open of a stream is a new incarnation; its packets carry the epoch. One
  // counter per session keeps epochs increasing per stream id without per-id state.
  uint32_t next_epoch() { return ++epoch_counter_; }

  // Streams the recovery tick visits (by id): every stream something happened on, until it
  // has nothing left to do. An idle stream costs the tick nothing.
  std::unordered_set<uint64_t> ticking;

  // Streams by id. The node owns the policy (creation, eviction); the session the storage.
  std::unordered_map<uint64_t, std::shared_ptr<stream::Stream>> streams;
  // The same streams, least recently active first (beyond max_streams the oldest goes).
  stream::LruList<stream::Stream> stream_lru;
  // What the streams hold for the peer: the sum of their held_bytes().
  RxAccount rx;

 private:
  uint64_t peer_node_id_;
  crypto::SessionKeys keys_;
  uint64_t tx_counter_ = 0;  // one counter for every encrypted packet of this direction
  uint64_t control_seq_ = 0;
  crypto::ReplayWindow replay_;
  int64_t established_ns_;
  int64_t last_rx_ns_;
  int64_t last_heartbeat_rx_ns_;
  bool heard_ = false;
  uint32_t epoch_counter_ = 0;
};

}  // namespace nm::session
