// A netmesh node: one UDP socket driven by a libuv loop thread, the sessions with its
// peers, and the thread-safe operations behind the C API.
//
// Concurrency: one mutex guards all session and stream state (annotated below; the
// clang-tsa preset checks the rules, node/mutex.h). The loop thread receives,
// answers handshakes and sends heartbeats; API threads build their packets under the
// mutex, then encrypt them and write them to the socket after releasing it. The loop
// thread likewise decrypts a received batch before taking the mutex to process it.
#pragma once
#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "crypto/noise.h"
#include "netmesh.h"
#include "wire/address.h"
#include "node/allowed_peers.h"
#include "node/delay_queue.h"
#include "node/event_signal.h"
#include "node/failure_detector.h"
#include "node/handshake_guard.h"
#include "node/impairment.h"
#include "node/mutex.h"
#include "node/nat_type.h"
#include "node/pingwave_relay.h"
#include "node/punch_schedule.h"
#include "node/routing_table.h"
#include "node/node_config.h"
#include "node/udp_socket.h"
#include "session/compact_ids.h"
#include "session/session.h"
#include "stream/stream.h"
#include "wire/extension.h"
#include "wire/pingwave.h"
#include "wire/routing_header.h"
#include "wire/stream_window.h"
#include "wire/traversal.h"

namespace nm::node {

using StreamPtr = std::shared_ptr<stream::Stream>;

inline constexpr int64_t kMaxHandshakeRttNs = 1'000'000'000;  // longer: not taken as an RTT sample
inline constexpr uint64_t kRecoveryTickMs = 5;  // retransmission timers and NACK repeats
inline constexpr int kProbeDatagrams = 2;  // sent beyond the congestion window on a probe timeout
inline constexpr size_t kMaxHandshakeMessage = 256;  // Noise msg1/msg2 are 48 or 56 bytes
inline constexpr int64_t kHelloGraceNs = 1'000'000'000;  // a peer without a hello by then is 0.23

class Node {
 public:
  static nm_status create(const NodeConfig& config, std::shared_ptr<Node>& out);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Stops the loop and wakes every blocked call with NM_ERR_SHUTDOWN. Idempotent.
  void shutdown() EXCLUDES(mu_);

  uint64_t id() const { return node_id_; }
  const crypto::Key32& public_key() const { return static_public_; }
  std::string local_address() const;
  int event_fd() const { return events_.fd(); }
  nm_node_stats_t stats() EXCLUDES(mu_);

  // Handshakes.
  // Direct handshake with the peer at addr, or (via_relay) the routed form sent to a relay
  // (which may be the peer itself: how a started 0.23 node accepts new peers).
  nm_status connect(const std::string& addr, const crypto::Key32& peer_public_key, uint64_t peer_id,
                    bool via_relay = false) EXCLUDES(mu_);
  nm_status allow_peer(uint64_t peer_id) EXCLUDES(mu_);
  nm_status accept(uint64_t peer_id, int timeout_ms) EXCLUDES(mu_);

  // Streams.
  nm_status open_stream(uint64_t peer_id, uint64_t stream_id, const stream::StreamConfig& config,
                        StreamPtr& out) EXCLUDES(mu_);
  nm_status close_stream(const StreamPtr& stream) EXCLUDES(mu_);
  nm_status send(const StreamPtr& stream, std::span<const nm_event_t> events, size_t* sent) EXCLUDES(mu_);
  // Retries on backpressure, waiting for credit with 5 ms -> 200 ms backoff, until
  // max_retries retries (UINT64_MAX = no limit) or the deadline (timeout_ms, -1 = none).
  // `released`, if given, is the caller's handle: once set (and wake_waiters called), the
  // wait ends with NM_ERR_INVALID_HANDLE; so for recv.
  nm_status send_waiting(const StreamPtr& stream, std::span<const nm_event_t> events,
                         uint64_t max_retries, int timeout_ms, size_t* sent,
                         const std::atomic<bool>* released = nullptr) EXCLUDES(mu_);
  // Up to lens.size() events, back to back in buf (their sizes in lens). If the first
  // event does not fit, NM_ERR_BUFFER_TOO_SMALL with its size in lens[0].
  nm_status recv(const StreamPtr& stream, std::span<uint8_t> buf, std::span<size_t> lens,
                 size_t* out_count, int timeout_ms, const std::atomic<bool>* released = nullptr) EXCLUDES(mu_);
  // Wakes the calls waiting on `stream` (a handle to it was released).
  void wake_waiters(const StreamPtr& stream) EXCLUDES(mu_);
  nm_status stream_stats(const StreamPtr& stream, nm_stream_stats_t& out) EXCLUDES(mu_);
  // nm_stream_event_fd.
  nm_status stream_event_fd(const StreamPtr& stream, stream::Stream::Direction d, int& fd) EXCLUDES(mu_);
  // The path to a peer as its session sees it (round trip, flight, losses).
  nm_status session_stats(uint64_t peer_id, nm_session_stats_t& out) EXCLUDES(mu_);
  std::vector<nm_stream_stats_t> all_stream_stats() EXCLUDES(mu_);

  // Mesh: routes, and peer liveness events (a queue the application polls).
  std::vector<nm_route_t> routes() EXCLUDES(mu_);
  nm_status next_peer_event(nm_peer_event_t& out, int timeout_ms) EXCLUDES(mu_);
  int peer_event_fd() const { return peer_events_signal_.fd(); }

  // Feeds one datagram through the receive path as if it came from `from` (fuzzing and
  // hostile-input tests; the loop thread does the same for the socket). Returns what the
  // node sent in answer to it alone, without the acknowledgements then due (of it or of
  // earlier datagrams) and what the loop thread's timers send meanwhile: a stats delta
  // cannot tell those apart.
  struct Answer {
    uint64_t datagrams = 0, bytes = 0;
  };
  Answer receive_datagram(std::span<const uint8_t> datagram, const sockaddr_storage& from) EXCLUDES(mu_);

  // NAT traversal (node_traversal.cpp): the address `peer_id` sees our datagrams come from
  // (a reflex probe, wire/traversal.h); and the NAT type two direct peers' answers show,
  // kept as the node's verdict (nat_state).
  nm_status probe_reflex(uint64_t peer_id, int timeout_ms, sockaddr_storage& out) EXCLUDES(mu_);
  nm_status classify_nat(int timeout_ms, NatType& type, std::optional<sockaddr_storage>& reflex) EXCLUDES(mu_);
  void nat_state(NatType& type, std::optional<sockaddr_storage>& reflex) EXCLUDES(mu_);
  // Moves the relayed session with peer_id to a direct path: a hole punch that `coordinator`
  // (reached directly; 0 = the session's next hop) times, then a challenge on the punched
  // path. NM_OK once direct.
  nm_status connect_direct(uint64_t peer_id, uint64_t coordinator, int timeout_ms) EXCLUDES(mu_);

  // Fault injection for one peer (0 = every peer without its own setting) in the given
  // directions (bit 1 outbound, bit 2 inbound); nullptr removes it.
  void set_impairment(uint64_t peer_id, int directions, const ImpairmentConfig* config) EXCLUDES(mu_);
  // Every setting's counters, current and replaced.
  ImpairmentCounters impairment_counters() EXCLUDES(mu_, send_mu_);

 private:
  struct Outgoing {
    session::PacketPtr packet = session::acquire_packet();
    stream::SharedPayload plaintext;  // a data packet's frames, until it is sealed
    sockaddr_storage to;
    uint64_t peer = 0;  // 0 while the peer is not known (handshake replies)
    // The neighbour whose address `to` is, when not `peer`'s: a routed session's next hop.
    uint64_t hop = 0;
    // Non-empty: sent behind this routing header (a peer reached through relays).
    std::optional<wire::RoutingHeader> route;
    bool dont_fragment = false;  // sized by the session's path MTU discovery
    // Built for the peer's new address before it answered a challenge: limited when it
    // leaves (limit_unproven), whatever the path did meanwhile.
    bool unproven = false;
  };
  struct PendingConnect {
    sockaddr_storage addr;
    uint64_t peer_id;
    std::optional<crypto::NoiseHandshake> handshake;
    bool routed = false;  // the routed form (wire spec §3.5): msg2 comes back behind "RT"
    bool done = false;
    uint32_t reads = 0;   // msg2 candidates tried this attempt (each costs an X25519)
    int64_t msg1_sent_ns = 0;  // this attempt's: msg2's arrival is the first RTT sample
    std::condition_variable cv;
  };
  struct ReflexProbe {
    uint64_t peer;
    std::optional<sockaddr_storage> answer;
  };
  struct PendingDirect {
    uint64_t peer;
    uint64_t coordinator;
  };
  struct PendingAccept {
    uint64_t peer_id;
    std::condition_variable cv;
  };

  explicit Node(const NodeConfig& config);
  nm_status start();

  // Loop thread.
  static void on_readable(uv_poll_t* handle, int status, int events);
  static void on_tick(uv_timer_t* handle);
  static void on_stop(uv_async_t* handle);
  void receive_datagrams() EXCLUDES(mu_);
  // What decrypt_batch did to a datagram before the lock was taken: verified and decrypted
  // it (no impairment applies to it then); a data packet's payload into a pooled buffer,
  // which its events are queued from (not copied), any other's in place.
  struct Decrypted {
    bool done = false;
    stream::Payload plaintext;  // a data packet's
    stream::Payload* buffer() { return done && plaintext.capacity() > 0 ? &plaintext : nullptr; }
  };
  // Decrypts the direct packets of known sessions among (at most kBatch) datagrams
  // without holding mu_ (keys and replay checks are read under it first), into `decrypted`.
  void decrypt_batch(std::span<const UdpSocket::Received> batch, Decrypted* decrypted) EXCLUDES(mu_);
  // Fault injection hooks (node_impairment.cpp).
  Impairment* impairment_for(std::unordered_map<uint64_t, std::unique_ptr<Impairment>>& table,
                             uint64_t peer_id);
  // `decrypted`: what decrypt_batch did to it, if it saw it.
  void impair_inbound(std::span<uint8_t> datagram, const sockaddr_storage& from,
                      std::vector<Outgoing>& out, Decrypted* decrypted = nullptr) REQUIRES(mu_);
  // true: handled (dropped or delayed).
  bool impair_outbound(const Outgoing& o) REQUIRES(send_mu_);
  static void on_delay_kick(uv_async_t* handle) REQUIRES(send_mu_);
  static void on_delay_timer(uv_timer_t* handle);
  void arm_delay_timer();
  void kick_delay_timer();
  // Queues a datagram `imp` delayed (counted as its drop if the queue is full).
  void hold(Impairment& imp, DelayedDatagram&& d);
  void handle_datagram(std::span<uint8_t> datagram, const sockaddr_storage& from,
                       std::vector<Outgoing>& out, Decrypted* decrypted = nullptr) REQUIRES(mu_);
  // The session id a header names: a compact header's bits made whole (0: no session holds
  // them), 0.23's as it is.
  uint64_t session_id_named(const wire::Header& h) const REQUIRES(mu_);
  // The same read from a datagram's first bytes, before anything is decoded (0: none).
  uint64_t session_id_of(std::span<const uint8_t> datagram) const REQUIRES(mu_);
  // A Net packet (direct, or unwrapped from a routed one: `routed` is its routing header)
  // after the dispatch checks; its header is 0.23's or compact.
  void handle_net_packet(std::span<uint8_t> d, const sockaddr_storage& from,
                         const wire::RoutingHeader* routed, std::vector<Outgoing>& out,
                         Decrypted* decrypted = nullptr) REQUIRES(mu_);
  void handle_handshake(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                        std::vector<Outgoing>& out) REQUIRES(mu_);
  using Frames = std::span<const std::span<const uint8_t>>;  // a packet's event frames
  // direct_from: the datagram's source, if it came without a routing header.
  void handle_extension(session::Session& s, Frames frames, const sockaddr_storage* direct_from,
                        std::vector<Outgoing>& out) REQUIRES(mu_);
  // Path migration (node_migration.cpp): an authenticated datagram of `bytes` from `from`
  // (`newest`: the highest packet number so far) may move a direct session to the peer's new
  // address; a challenge there proves it, and until then limit_unproven holds what flush
  // sends there to 3x what arrived from there.
  void follow_peer(session::Session& s, const sockaddr_storage& from, size_t bytes, bool newest, int64_t now,
                   std::vector<Outgoing>& out) REQUIRES(mu_);
  void reindex_neighbour(uint64_t peer, const sockaddr_storage& before, const sockaddr_storage& after) REQUIRES(mu_);
  // Repeats the challenge, or gives the new address up (recovery tick).
  void path_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  void send_path_frame(session::Session& s, wire::ExtType type, uint64_t token, const sockaddr_storage& to,
                       std::vector<Outgoing>& out) REQUIRES(mu_);
  // A path challenge or response of an extension packet (`answered`: the packet's one
  // answer to a challenge went already).
  void handle_path_frame(session::Session& s, const wire::ExtFrame& f, const sockaddr_storage* direct_from,
                         bool& answered, std::vector<Outgoing>& out) REQUIRES(mu_);
  void limit_unproven(std::vector<Outgoing>& out) REQUIRES(mu_);
  static void note_unproven(const session::Session& s, Outgoing& o);
  // NAT traversal (node_traversal.cpp): one event of a 0.23 traversal subprotocol, on that
  // subprotocol's stream; reflex requests and answers; asking peers until each answered.
  void send_traversal_event(session::Session& s, uint16_t subprotocol, std::span<const uint8_t> body,
                            std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_reflex(session::Session& s, Frames frames, const sockaddr_storage& from, bool routed,
                     std::vector<Outgoing>& out) REQUIRES(mu_);
  // false: the node is shutting down.
  bool run_reflex_probes(std::span<ReflexProbe* const> probes, int timeout_ms) EXCLUDES(mu_);
  // Rendezvous (0x0D01): coordinating an introduction, punching when introduced,
  // acknowledging and forwarding acknowledgements; keep-alives from a punched peer start a
  // challenge on the routed session straight to its address, whose answer moves the
  // session to the direct path (same keys, same streams).
  void send_rendezvous(session::Session& s, const wire::RendezvousMessage& m, std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_rendezvous(session::Session& s, Frames frames, std::vector<Outgoing>& out) REQUIRES(mu_);
  void coordinate(session::Session& a, const wire::PunchRequest& req, std::vector<Outgoing>& out) REQUIRES(mu_);
  void on_introduce(session::Session& coordinator, const wire::PunchIntroduce& in, int64_t now,
                    std::vector<Outgoing>& out) REQUIRES(mu_);
  void on_punch_ack(session::Session& s, const wire::PunchAck& ack, std::span<const uint8_t> body,
                    std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_keepalive(std::span<const uint8_t> d, const sockaddr_storage& from, std::vector<Outgoing>& out) REQUIRES(mu_);
  void punch_tick(int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  void start_direct_probe(session::Session& s, const sockaddr_storage& addr, int64_t now,
                          std::vector<Outgoing>& out, bool prepaid = false) REQUIRES(mu_);
  // What a punch makes us send: its keep-alives, and the direct probe's challenges.
  static constexpr uint64_t kPunchBytes =
      3 * wire::kKeepAliveSize + session::PathChallenge::kMaxSends * (wire::kPacketOverhead + wire::kFrameOverhead + wire::kExtFrameSize);
  void direct_probe_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // The relay a routed session goes through (its next hop, else the neighbour its handshake
  // came through), if reached directly: it reaches both peers, so it can introduce them.
  session::Session* relay_of(const session::Session& s) REQUIRES(mu_);
  // Asks `coordinator` to introduce us and `peer` for a punch (wire/traversal.h).
  void request_punch(session::Session& coordinator, uint64_t peer, std::vector<Outgoing>& out) REQUIRES(mu_);
  // config_.auto_direct_ms: a relayed session with a netmesh peer asks its relay for a
  // punch when the peer's hello arrives and again every auto_direct_ms while still relayed.
  void auto_direct(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // `path_rtt_ns`: the probe's round trip (0 if unknown).
  void promote_to_direct(session::Session& s, const sockaddr_storage& addr, int64_t path_rtt_ns) REQUIRES(mu_);
  // The session reaches its peer over another path: congestion control, RTT estimate (from
  // `path_rtt_ns`, the challenge's round trip, if not 0) and path MTU discovery start again
  // (Session::restart_path_estimates).
  void start_new_path(session::Session& s, int64_t now, int64_t path_rtt_ns) REQUIRES(mu_);
  // Mesh (node_mesh.cpp).
  void handle_routed(std::span<uint8_t> d, const sockaddr_storage& from, std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_routed_handshake(const wire::RoutingHeader& rh, std::span<const uint8_t> noise_msg,
                               const sockaddr_storage& from, std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_pingwave(std::span<const uint8_t> d, const sockaddr_storage& from,
                       std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_sealed_pingwaves(session::Session& s, Frames frames, std::vector<Outgoing>& out) REQUIRES(mu_);
  // A pingwave from direct neighbour `via` (raw: unauthenticated): route, maybe re-broadcast.
  void on_pingwave(wire::Pingwave pw, uint64_t via, bool raw, std::vector<Outgoing>& out) REQUIRES(mu_);
  void send_pingwave(session::Session& s, const wire::Pingwave& pw, std::vector<Outgoing>& out) REQUIRES(mu_);
  static size_t pingwave_datagram_size(const session::Session& s);
  std::array<uint8_t, 32> prologue_as_responder(uint64_t initiator) const;
  void mesh_tick(int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  void emit_peer_event(uint64_t peer, nm_peer_event_kind kind) REQUIRES(mu_);
  uint64_t neighbour_at(const sockaddr_storage& addr) const REQUIRES(mu_);
  // Where packets for session `s` go: its address, or the next hop towards it.
  void address_to(const session::Session& s, Outgoing& out) REQUIRES(mu_);
  // Responder to a direct msg1 from an allowed peer (node_handshake.cpp).
  void respond_direct(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                      std::vector<Outgoing>& out) REQUIRES(mu_);
  // Rate limit and replay cache, before any public-key work; counts what it refuses.
  bool admit_msg1(std::span<const uint8_t> noise_msg) REQUIRES(mu_);
  // The answer to a msg1 that authenticated: remembers its ephemeral (a replay is not
  // answered again) and makes room for the session (counted if there is none) first.
  bool write_msg2(crypto::NoiseResponder::Accepted& accepted, std::vector<uint8_t>& msg2) REQUIRES(mu_);
  // Whether our pending connect may spend an X25519 on one more msg2 candidate.
  static bool may_read_msg2(PendingConnect& pc);
  // msg2 for one of our dials that `mine` accepts (direct: from the address we dialled;
  // routed: naming the responder we dialled): completes the session. false if none.
  bool finish_dial(std::span<const uint8_t> noise_msg, const sockaddr_storage& from, bool routed,
                   std::vector<Outgoing>& out, const std::function<bool(const PendingConnect&)>& mine) REQUIRES(mu_);
  // A data packet whose frames wire::frames_exact accepted. false: dropped for lack of
  // credit or memory (not acknowledged, so the sender learns it was lost). `buffer`: the
  // plaintext's own (taken), else the plaintext is copied.
  bool handle_data(session::Session& s, const wire::Header& h, std::span<uint8_t> plaintext,
                   stream::Payload* buffer, std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_grants(session::Session& s, Frames frames, std::vector<Outgoing>& out) REQUIRES(mu_);
  // True for the session's first hello.
  bool handle_hello(session::Session& s, uint64_t capabilities, std::vector<Outgoing>& out) REQUIRES(mu_);
  void tick(std::vector<Outgoing>& out) REQUIRES(mu_);
  static void on_recovery_tick(uv_timer_t* handle);
  void recovery_tick(std::vector<Outgoing>& out) REQUIRES(mu_);
  // One ACK/NACK packet per peer for the streams in ack_due_. `delay_few`: a stream with
  // only a few new in-order packets waits for the recovery tick (delayed ACK).
  void send_acks(std::vector<Outgoing>& out, bool delay_few) REQUIRES(mu_);
  // Session acknowledgements (node_acks.cpp), with peers that have kSessionAck. An
  // authenticated datagram arrived (`eliciting`: data the peer waits to hear about).
  void note_arrival(session::Session& s, uint64_t pn, bool eliciting, int64_t now) REQUIRES(mu_);
  // A data datagram left with packet number pn (`piece`: one piece of p).
  void note_sent(session::Session& s, const stream::Stream& st, const stream::SentPacket& p, uint64_t pn,
                 size_t bytes, bool piece = false) REQUIRES(mu_);
  // The peer's stream kept the packet that datagram carried (capability kSessionRelease).
  void release_delivered(session::Session& s, const session::SentDatagram& d) REQUIRES(mu_);
  // Acknowledgements that are due now, one packet per session (`all`: also those that
  // could still wait).
  void send_session_acks(std::vector<Outgoing>& out, bool all = false) REQUIRES(mu_);
  void handle_session_ack(session::Session& s, Frames frames, std::vector<Outgoing>& out) REQUIRES(mu_);
  // The loss timer and the probe timeout of each session (recovery tick).
  void session_loss_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // A datagram the peer will acknowledge (data, or a ping).
  void track(session::Session& s, session::SentDatagram d) REQUIRES(mu_);
  // Session::stamp for a datagram without data (an acknowledgement, grant, heartbeat...):
  // its send time is remembered, as the peer's acknowledgement may name it as its largest.
  uint64_t stamp_untracked(session::Session& s, wire::Header& h, size_t payload_len, session::PacketBuffer& buf)
      REQUIRES(mu_);
  // A session acknowledgement packet without frames, which the peer acknowledges: after a
  // probe timeout, or padded to `probe_size` as a path MTU probe.
  void send_ping(session::Session& s, int64_t now, std::vector<Outgoing>& out, uint32_t probe_size = 0)
      REQUIRES(mu_);
  // Returns true when the loss counted as congestion (not a probe's, nor lost to its size).
  bool on_lost(session::Session& s, const session::SentDatagram& d) REQUIRES(mu_);
  // The reliable packet that datagram carried goes to its stream's paced resend queue.
  void queue_resend(session::Session& s, const session::SentDatagram& d) REQUIRES(mu_);
  void queue_resend(session::Session& s, stream::Stream& st, stream::SentPacket& p) REQUIRES(mu_);
  // Path MTU discovery (node_pmtu.cpp): starts with the peer's hello (kPmtud); sends the
  // probe the search wants, if the congestion window has room for it.
  void start_path_mtu(session::Session& s, int64_t now) REQUIRES(mu_);
  void probe_path_mtu(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // A small ping when large datagrams' acknowledgements are overdue (PmtuSearch::hole_check_due).
  void check_for_black_hole(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // What acknowledgements and losses tell the search (the datagram size changes with it).
  // pmtu_on_lost returns true when the datagram was lost to its size (above what the path
  // carries, found now or before): not congestion.
  void pmtu_on_acked(session::Session& s, const session::SentDatagram& d, int64_t now) REQUIRES(mu_);
  void pmtu_on_probe_lost(session::Session& s, const session::SentDatagram& d, int64_t now) REQUIRES(mu_);
  bool pmtu_on_lost(session::Session& s, const session::SentDatagram& d) REQUIRES(mu_);
  // Once an acknowledgement's (or the loss timer's) news is all in: a black hole?
  void pmtu_judge(session::Session& s, int64_t now) REQUIRES(mu_);
  // The search fell back to the base: the window as before the hole's losses, and what is
  // in flight above the base lost to its size.
  void after_black_hole(session::Session& s) REQUIRES(mu_);
  // A data packet larger than the path now carries, as pieces (wire/piece.h); and the
  // peer's pieces, put back together and taken as the data packet they were.
  void send_in_pieces(session::Session& s, const stream::Stream& st, const stream::SentPacket& p,
                      wire::Header& h, std::vector<Outgoing>& out) REQUIRES(mu_);
  void handle_piece(session::Session& s, Frames frames, uint64_t pn, int64_t now,
                    std::vector<Outgoing>& out) REQUIRES(mu_);

  // Writes `out` to the socket in order and clears it. Called with mu_ held through `lk`;
  // returns with it released. The send lock is taken before mu_ is dropped, so datagrams
  // leave in the order their TX counters were assigned under mu_ (the peer's replay window
  // only tolerates 1024 of reordering). Returns how many were sent before an error (*err).
  size_t flush(MutexLock& lk, std::vector<Outgoing>& out, int wait_ms,
               int* err = nullptr) RELEASE(mu_);
  // The socket/batch layer under flush: seals `out` and writes it (through the outbound
  // fault injection, if any), counts what went, clears `out`.
  size_t write_out(std::vector<Outgoing>& out, int wait_ms, int* err) REQUIRES(send_mu_);

  // Under mu_. Session lifecycle (node_sessions.cpp): msg2 read as initiator makes a
  // confirmed session; msg1 answered as responder an unconfirmed one, which becomes the
  // peer's session only while the peer has no confirmed one, and otherwise waits (pending)
  // until an authenticated packet confirms it.
  void complete_initiator(uint64_t peer_id, const sockaddr_storage& addr, const crypto::SessionKeys& keys,
                          bool routed, int64_t handshake_rtt_ns, std::vector<Outgoing>& out) REQUIRES(mu_);
  // (Returns the responder's session if it became the peer's, nullptr if it waits.)
  session::Session* complete_responder(uint64_t peer_id, const sockaddr_storage& addr,
                                       const crypto::SessionKeys& keys, bool routed,
                                       std::vector<Outgoing>& out) REQUIRES(mu_);
  std::unique_ptr<session::Session> new_session(uint64_t peer_id, const sockaddr_storage& addr,
                                                const crypto::SessionKeys& keys, bool routed) REQUIRES(mu_);
  // Makes `s` the peer's session: a confirmed predecessor is retired, an unconfirmed one
  // kept pending (it may be the peer's crossing dial).
  session::Session& activate(std::unique_ptr<session::Session> s, std::vector<Outgoing>& out) REQUIRES(mu_);
  // An authenticated packet arrived on an unconfirmed or parked session (`hello`: it is a
  // capability hello); returns the session to go on with, or nullptr when that session
  // loses to the peer's other handshake (crossing dials) and stays parked.
  session::Session* confirm(session::Session& s, bool hello, std::vector<Outgoing>& out) REQUIRES(mu_);
  static bool is_hello(const wire::Header& h, std::span<const uint8_t> plaintext);
  // Crossing dials (node_sessions.cpp): two confirmed handshakes of one peer, one of each
  // side's, made within a dial's lifetime; which one both sides keep.
  bool crossing(const session::Session& a, const session::Session& b) const REQUIRES(mu_);
  void carry_unused_streams(session::Session& from, session::Session& to) REQUIRES(mu_);
  bool keeps_first(const session::Session& a, const session::Session& b, bool netmesh) const REQUIRES(mu_);
  // What looks like a crossing to us may be a peer that restarted and dialled us again (to
  // it there is no crossing, only its new session): the session we keep has then heard
  // nothing since `other` was made, for longer than a live peer takes to say something.
  static bool gone_silent_since(const session::Session& kept, const session::Session& other, int64_t now);
  static constexpr int64_t kCrossingGraceNs = 1'000'000'000;
  // A hello from a peer with a parked crossing handshake may change the verdict.
  void settle_crossing(uint64_t peer_id, std::vector<Outgoing>& out) REQUIRES(mu_);
  // End of our connect() to a peer that sent no hello (0.23) while it also dialled us:
  // switch to its dial (node_sessions.cpp).
  void prefer_peers_dial(uint64_t peer_id, int64_t since, std::vector<Outgoing>& out) REQUIRES(mu_);
  // The application's connect() for this peer is satisfied by the session `s` just made.
  void notify_connects(const session::Session& s) REQUIRES(mu_);
  void on_confirmed(session::Session& s, std::vector<Outgoing>& out) REQUIRES(mu_);
  std::unique_ptr<session::Session> take_active(uint64_t peer_id) REQUIRES(mu_);
  void park(std::unique_ptr<session::Session> s) REQUIRES(mu_);
  void retire(std::unique_ptr<session::Session> s) REQUIRES(mu_);
  void retire_streams(session::Session& s) REQUIRES(mu_);
  // Room for one more session under max_sessions (evicting the oldest unconfirmed one).
  bool make_room_for_session() REQUIRES(mu_);
  // Expires unconfirmed and pending sessions, prunes long-silent ones (tick).
  void prune_sessions(int64_t now) REQUIRES(mu_);
  bool heartbeat_due(const session::Session& s, int64_t now) const REQUIRES(mu_);
  void send_hello(session::Session& s, std::vector<Outgoing>& out) REQUIRES(mu_);
  // Hellos a session sends at most when unanswered (a 0.23 peer never answers).
  static constexpr int kMaxHellos = 5;  // the first two and three repeats
  // A datagram of one grant (a hello is one): what a grant or an answering hello costs.
  static constexpr uint64_t kGrantBytes = wire::kPacketOverhead + wire::kFrameOverhead + wire::kGrantSize;
  // A path challenge's or response's datagram (one extension frame).
  static constexpr uint64_t kPathFrameBytes = wire::kPacketOverhead + wire::kFrameOverhead + wire::kExtFrameSize;
  // Waits (briefly) for the peer's capability hello; a 0.23 peer never sends one.
  void wait_for_hello(MutexLock& lk, uint64_t peer_id) REQUIRES(mu_);
  static bool recovery(const session::Session& s, const stream::Stream& st);
  // Seals one data packet into `out` (as pieces if the path's size fell below it).
  void seal_data_packet(session::Session& s, const stream::Stream& st, const stream::SentPacket& p,
                        std::vector<Outgoing>& out) REQUIRES(mu_);
  // A packet of one event (a lone call's; a call's others share packets: node_coalesce).
  bool build_event_packet(session::Session& s, const StreamPtr& st, std::span<const uint8_t> event,
                          std::vector<Outgoing>& out) REQUIRES(mu_);
  // Adaptive flush (node_coalesce.cpp). In a burst of sends (the stream emitted a packet
  // less than kBurstGapNs ago), or behind its packets waiting for the pacer, a partly
  // filled last packet stays open for the next events; the loop thread sends it as soon as
  // it runs (the pacer, once the packets before it have left). A lone send goes out at once.
  enum class Coalesce { kNotBurst, kContinue, kBackpressure };
  Coalesce add_to_open_packet(session::Session& s, const StreamPtr& st,
                              std::span<const std::span<const uint8_t>> events, size_t& next,
                              std::vector<Outgoing>& out) REQUIRES(mu_);
  void emit_open_packet(session::Session& s, const StreamPtr& st, std::vector<Outgoing>& out) REQUIRES(mu_);
  void request_flush(const StreamPtr& st) REQUIRES(mu_);
  static bool fills_packets(const session::Session& s, const stream::Stream& st);
  static size_t max_unfragmented_event(const session::Session& s, const stream::Stream& st, size_t room);
  static void on_flush_open(uv_async_t* handle);
  // Sends fragments of the stream's pending large event while credit lasts; true when done.
  bool pump_fragments(session::Session& s, const StreamPtr& st, size_t max_packets,
                      std::vector<Outgoing>& out) REQUIRES(mu_);
  void resend(session::Session& s, stream::Stream& st, std::vector<stream::SentPacket*>& packets,
              std::vector<Outgoing>& out) REQUIRES(mu_);
  // Sends one kept packet again (same seq, fresh nonce) if the peer's response budget
  // allows it; false (counted in responses_deferred) if not.
  bool resend_one(session::Session& s, stream::Stream& st, stream::SentPacket& p,
                  std::vector<Outgoing>& out) REQUIRES(mu_);
  // A new data packet: sealed into `out` now, or queued for the session pacer.
  void emit_data_packet(session::Session& s, const StreamPtr& st, stream::SentPacket&& p,
                        std::vector<Outgoing>& out) REQUIRES(mu_);
  void transmit(session::Session& s, stream::Stream& st, stream::SentPacket&& p,
                std::vector<Outgoing>& out) REQUIRES(mu_);
  static void on_pace_tick(uv_timer_t* handle);
  static void on_pace_kick(uv_async_t* handle);
  // Releases what the session's pacer and congestion window allow now; if packets are
  // left waiting, makes sure the pace timer runs (it stops once nothing waits).
  void pace_session(session::Session& s, int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  // Makes sure the pace timer runs while the session has packets waiting.
  void wake_pacer(const session::Session& s) REQUIRES(mu_);
  // The peer's hello shows it acknowledges datagrams: congestion control and pacing start.
  void start_congestion_control(session::Session& s) REQUIRES(mu_);
  void pace(int64_t now, std::vector<Outgoing>& out) REQUIRES(mu_);
  void build_ext_packet(session::Session& s, std::span<const wire::ExtFrame> frames, Outgoing& out) REQUIRES(mu_);
  // The same, not yet addressed (path frames go straight to the address they test).
  void stamp_ext_packet(session::Session& s, std::span<const wire::ExtFrame> frames, Outgoing& out) REQUIRES(mu_);
  // Asks the peer to repeat its grant (rate limited); we are stalled on credit.
  void probe_credit(session::Session& s, stream::Stream& st, std::vector<Outgoing>& out) REQUIRES(mu_);
  session::Session* session_for(uint64_t peer_id) REQUIRES(mu_);
  // The session `st` belongs to and is charged to; nullptr once it left it (closed,
  // evicted, or its session replaced).
  session::Session* session_of(const StreamPtr& st) REQUIRES(mu_);
  // A new stream in `s`; at max_streams the least recently active stream that holds nothing
  // makes room, and if none of the oldest kEvictionScan does, nullptr (nothing is created).
  StreamPtr create_stream(session::Session& s, uint64_t stream_id, const stream::StreamConfig& cfg,
                          bool by_app) REQUIRES(mu_);
  static constexpr int kEvictionScan = 64;  // bounds the work a new stream costs at the cap
  // Holds no unread events and nothing unacknowledged or waiting to go: evicting it loses
  // nothing anyone was promised.
  static bool holds_nothing(const stream::Stream& st) { return st.inbound_pending() == 0 && st.tx_idle(); }
  // Takes `st` out of its session (the stream map and the LRU order), then closes it. (By
  // value: callers pass the map's own pointer, which the erase destroys.)
  void remove_stream(session::Session& s, StreamPtr st, bool drop_inbound) REQUIRES(mu_);
  // A stream in or out of its session's map, LRU order and receive budget.
  void attach_stream(session::Session& s, const StreamPtr& st) REQUIRES(mu_);
  void detach_stream(session::Session& s, const StreamPtr& st) REQUIRES(mu_);
  void close_stream_locked(const StreamPtr& st, bool drop_inbound) REQUIRES(mu_);
  // Debug builds: every session's account is the sum of what its streams hold, and the
  // node's total the sum of the accounts.
  void check_budget() const REQUIRES(mu_);
  void check_budget(const session::Session& s) const REQUIRES(mu_);
  void evict_idle_streams(session::Session& s, int64_t now) REQUIRES(mu_);
  void build_grant(session::Session& s, uint64_t stream_id, uint64_t total, Outgoing& out) REQUIRES(mu_);
  // Several grants in one StreamWindow packet (at most wire::kMaxGrantsPerPacket).
  void build_grants(session::Session& s, std::span<const wire::Grant> grants, Outgoing& out) REQUIRES(mu_);
  void grant_if_due(session::Session& s, const StreamPtr& st, std::vector<Outgoing>& out,
                    bool eager = false, int64_t eager_gap_ns = 0) REQUIRES(mu_);
  void build_handshake_packet(std::span<const uint8_t> noise_msg, const sockaddr_storage& to,
                              Outgoing& out) REQUIRES(mu_);
  nm_status check_sendable(const StreamPtr& st) REQUIRES(mu_);
  void fill_stats(const stream::Stream& st, nm_stream_stats_t& out) const REQUIRES(mu_);

  NodeConfig config_;
  uint64_t node_id_ = 0;
  crypto::Key32 static_private_{}, static_public_{};
  UdpSocket socket_;
  EventSignal events_;

  uv_loop_t loop_{};
  uv_poll_t poll_{};
  uv_timer_t tick_timer_{};
  uv_timer_t recovery_timer_{};
  uv_timer_t pace_timer_{};
  uv_async_t stop_async_{};
  uv_async_t delay_kick_{};
  uv_async_t flush_open_{};  // wakes the loop thread to send open packets
  uv_async_t pace_kick_{};   // wakes the loop thread to start the pace timer
  uv_timer_t delay_timer_{};
  std::thread loop_thread_;

  Mutex mu_;                           // the node's state: sessions, streams, mesh
  Mutex send_mu_ ACQUIRED_AFTER(mu_);  // the socket's send order (see flush)
  std::atomic<uint64_t> datagrams_sent_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<bool> loop_alive_{true};
  bool stopping_ GUARDED_BY(mu_) = false;
  // The session id bits compact headers name sessions by, leased by the sessions (so it is
  // declared before them, and outlives them).
  session::CompactIds compact_ids_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::unique_ptr<session::Session>> sessions_ GUARDED_BY(mu_);  // by peer id
  std::unordered_map<uint64_t, uint64_t> peer_by_session_id_ GUARDED_BY(mu_);
  // Direct sessions by peer address: who a datagram's source claims to be.
  std::unordered_map<wire::AddressKey, uint64_t, wire::AddressKeyHash> neighbour_by_addr_ GUARDED_BY(mu_);
  // Peers whose direct msg1 we answer: allowed by the application, or confirmed peers.
  AllowedPeers allowed_ GUARDED_BY(mu_);
  std::set<uint64_t> app_allowed_ GUARDED_BY(mu_);
  std::unique_ptr<crypto::NoiseResponder> responder_;
  std::unique_ptr<HandshakeGuard> handshake_guard_ PT_GUARDED_BY(mu_);
  // Unconfirmed sessions that wait for an authenticated packet, by session id.
  std::unordered_map<uint64_t, std::unique_ptr<session::Session>> pending_ GUARDED_BY(mu_);
  std::vector<PendingConnect*> connects_ GUARDED_BY(mu_);
  std::vector<PendingAccept*> accepts_ GUARDED_BY(mu_);
  std::vector<StreamPtr> ack_due_ GUARDED_BY(mu_);  // reliable streams to report for, each once
  void report_soon(const StreamPtr& st) REQUIRES(mu_) {
    if (st->ack().enlist()) ack_due_.push_back(st);
  }
  std::vector<uint64_t> session_acks_due_ GUARDED_BY(mu_);  // peers owed a session acknowledgement
  bool pace_timer_running_ GUARDED_BY(mu_) = false;  // or asked to start (pace_kick_ sent)
  session::LossDetector::AckResult ack_result_ GUARDED_BY(mu_);  // handle_session_ack scratch
  std::vector<StreamPtr> open_packets_ GUARDED_BY(mu_);  // streams with an open packet for the loop to send
  // Reused buffers (capacity kept): a packet's frames on receive (under mu_), a flush's
  // datagram list (under send_mu_).
  std::vector<std::span<const uint8_t>> frames_scratch_ GUARDED_BY(mu_);
  std::vector<UdpSocket::Datagram> datagrams_scratch_ GUARDED_BY(send_mu_);
  std::vector<Outgoing> loop_out_;  // the loop thread's packets to send (receive, flush)
  std::vector<Decrypted> loop_decrypted_;  // the loop thread's, per datagram of a receive batch
  std::vector<StreamPtr> acks_delayed_ GUARDED_BY(mu_);  // send_acks scratch (under mu_)
  std::vector<std::pair<uint64_t, wire::ExtFrame>> ack_frames_ GUARDED_BY(mu_);
  std::vector<wire::Grant> grant_scratch_ GUARDED_BY(mu_);  // probe answers (under mu_)
  std::vector<uint64_t> tick_scratch_ GUARDED_BY(mu_);       // recovery tick (under mu_)
  std::condition_variable hello_cv_;
  std::vector<ReflexProbe*> reflex_probes_ GUARDED_BY(mu_);  // probes waiting for an answer
  std::condition_variable reflex_cv_;
  NatType nat_type_ GUARDED_BY(mu_) = NatType::kUnknown;  // the last classification
  std::optional<sockaddr_storage> reflex_addr_ GUARDED_BY(mu_);
  std::vector<PendingDirect*> directs_ GUARDED_BY(mu_);  // connect_direct calls waiting
  std::condition_variable direct_cv_;
  PunchSchedule punches_ GUARDED_BY(mu_);
  // Fault injection: inbound under mu_, outbound under send_mu_ (it acts in flush).
  std::unordered_map<uint64_t, std::unique_ptr<Impairment>> inbound_impairments_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::unique_ptr<Impairment>> outbound_impairments_ GUARDED_BY(send_mu_);
  ImpairmentCounters retired_impairment_counters_ GUARDED_BY(send_mu_);  // of replaced settings; under send_mu_
  DelayQueue delayed_;
  // Mesh: routes learned from neighbours and pingwaves, neighbour liveness, peer events.
  std::unique_ptr<RoutingTable> routes_ PT_GUARDED_BY(mu_);
  std::unique_ptr<FailureDetector> failures_ PT_GUARDED_BY(mu_);
  uint64_t pingwave_seq_ GUARDED_BY(mu_) = 0;
  std::unique_ptr<PingwaveRelay> pingwave_relay_ PT_GUARDED_BY(mu_);
  std::deque<nm_peer_event_t> peer_events_ GUARDED_BY(mu_);
  EventSignal peer_events_signal_;
  std::condition_variable peer_events_cv_;
  nm_node_stats_t stats_ GUARDED_BY(mu_){};
  session::RxBudget budget_ GUARDED_BY(mu_);  // memory held for peers (session/rx_budget.h)
};

}  // namespace nm::node
