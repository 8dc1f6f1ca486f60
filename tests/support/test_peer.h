/* A scriptable hostile peer for tests and fuzzers (test-only; links netmesh_core).
 *
 * It performs a real direct handshake with a netmesh node over UDP, keeps the session
 * keys, and can then seal datagrams with ANY header fields (payload_len / event_count
 * lies, absurd sequences, chosen nonce counters, extension and grant frames) or send raw
 * bytes, from its own socket or from fresh source ports. It also decrypts what the node
 * sends back, so tests can check the session still works after hostile input. */
#ifndef NM_TEST_PEER_H
#define NM_TEST_PEER_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmt_peer nmt_peer;

/* Header fields of a packet to seal (zero-initialise, then set what matters). */
typedef struct nmt_packet {
  uint8_t flags;
  uint8_t frag_flags;
  uint16_t subprotocol_id;
  uint64_t stream_id;
  uint64_t sequence;
  uint64_t origin_hash;
  uint32_t subnet_id;
  uint16_t fragment_id;
  uint16_t fragment_offset;
  uint16_t event_count;
  int use_counter; /* 1: use `counter` as the nonce counter instead of the next one */
  uint64_t counter;
  int compact; /* 1: in the compact header of netmesh peers (wire/compact_header.h) */
} nmt_packet;

/* A packet from the node, decrypted. */
typedef struct nmt_received {
  uint8_t flags;
  uint16_t subprotocol_id;
  uint64_t stream_id;
  uint64_t sequence;
  uint16_t event_count;
  uint8_t plaintext[8192];
  size_t plaintext_len;
  size_t header_bytes; /* 68, or a compact header's length */
  uint64_t packet_number; /* its nonce counter: what a session acknowledgement names */
} nmt_received;

#define NMT_CAP_ALL 7u /* recovery | fragments | epochs */
#define NMT_CAP_SESSION_ACK 16u /* acknowledges datagrams by packet number */
#define NMT_CAP_COMPACT 2048u /* reads compact headers */

/* A peer on 127.0.0.1 with a random (non-zero) node id. */
nmt_peer* nmt_peer_new(void);
void nmt_peer_free(nmt_peer* p);
uint64_t nmt_peer_id(const nmt_peer* p);
/* The UDP port of the peer's socket (on 127.0.0.1). */
int nmt_peer_port(const nmt_peer* p);
/* Sets the node this peer talks to ("ip:port", its X25519 key and node id). */
int nmt_peer_target(nmt_peer* p, const char* node_addr, const uint8_t node_public_key[32],
                    uint64_t node_id);
/* Direct handshake as initiator with `psk`; then (caps != 0) sends a capability hello with
 * `caps` so the node treats the peer as netmesh. 0 on success, -1 without a valid msg2. */
int nmt_peer_handshake(nmt_peer* p, const uint8_t psk[32], uint64_t caps, int timeout_ms);
/* The peer's X25519 public key (what the node dials it with). */
void nmt_peer_public_key(const nmt_peer* p, uint8_t out[32]);
/* Answers one direct msg1 from the target as responder (as a 0.23 node: no hello); the
 * session keys become that session's. 0 on success, -1 without a valid msg1. */
int nmt_peer_answer(nmt_peer* p, const uint8_t psk[32], int timeout_ms);
/* Builds a handshake datagram (header + msg1) for the target with the given psk and
 * responder key (not sent). Returns its length. */
size_t nmt_peer_build_msg1(nmt_peer* p, const uint8_t psk[32], const uint8_t responder_key[32],
                           uint8_t* out, size_t cap);
/* The same with `padding` zero bytes of Noise payload, as a netmesh initiator pads its
 * direct msg1 (104: what buys the responder's hello with msg2). */
size_t nmt_peer_build_padded_msg1(nmt_peer* p, const uint8_t psk[32], const uint8_t responder_key[32],
                                  size_t padding, uint8_t* out, size_t cap);
/* The last handshake datagram nmt_peer_build_msg1 built (nmt_peer_handshake included), as it
 * went out: what an on-path attacker captures to replay. Returns its length (0: none). */
size_t nmt_peer_last_msg1(const nmt_peer* p, uint8_t* out, size_t cap);
/* A routed msg1 (wire spec 3.5) from a PSK holder claiming node id `initiator_id`: the
 * 18-byte routing header (TTL 16, `hop_count`, src_id = low 32 bits of initiator_id, dest =
 * responder_id), the 68-byte handshake header and the Noise msg1 whose payload is
 * u64le(initiator_id), as nm_node_connect_via sends it. Nothing is kept (the handshake can
 * never complete). Returns its length (0 on error). */
size_t nmt_routed_msg1(const uint8_t psk[32], const uint8_t responder_key[32], uint64_t responder_id,
                       uint64_t initiator_id, uint8_t hop_count, uint8_t* out, size_t cap);

/* Seals `plaintext` with the session keys; returns the datagram length (0 on error).
 * payload_len is the true length (patch the bytes to lie). */
size_t nmt_peer_seal(nmt_peer* p, const nmt_packet* spec, const void* plaintext, size_t len,
                     uint8_t* out, size_t cap);
uint64_t nmt_peer_next_counter(const nmt_peer* p);
void nmt_peer_set_next_counter(nmt_peer* p, uint64_t counter);
uint64_t nmt_peer_session_id(const nmt_peer* p);
/* Sends bytes to the node from the peer's socket / from a brand-new source port. */
int nmt_peer_send_raw(nmt_peer* p, const void* data, size_t len);
int nmt_send_from_new_port(const char* node_addr, const void* data, size_t len);
/* Seal + send a data packet with `count` frames (events[i], lens[i]). */
int nmt_peer_send_events(nmt_peer* p, const nmt_packet* spec, const void* const* events,
                         const size_t* lens, size_t count);
/* Appends one u32le-length frame at out; returns bytes written. */
size_t nmt_frame(uint8_t* out, const void* data, uint32_t len);
size_t nmt_grant_frame(uint8_t* out, uint64_t stream_id, uint64_t total_consumed);
/* ACK = 1, NACK = 2, credit probe = 3 (25-byte body inside a frame). */
size_t nmt_ext_frame(uint8_t* out, uint8_t type, uint64_t stream_id, uint64_t next_expected,
                     uint64_t missing);
/* The same with every field: `highest` received seq, and the 64-seq block at `base` whose
 * set bits in `missing` are missing (a NACK). */
size_t nmt_ext_frame_full(uint8_t* out, uint8_t type, uint64_t stream_id, uint64_t next_expected,
                          uint64_t highest, uint64_t base, uint64_t missing);

/* Sends a session acknowledgement (capability kSessionAck, wire/ack_frame.h) of the node's
 * datagrams first..last (packet numbers, inclusive). 0 ok. */
int nmt_peer_send_session_ack(nmt_peer* p, uint64_t first, uint64_t last);

/* Receives and decrypts the next packet from the node (skips handshakes/heartbeats when
 * skip_control). 0 ok, -1 timeout, -2 undecryptable. */
int nmt_peer_recv(nmt_peer* p, nmt_received* out, int timeout_ms, int skip_control);
/* Drains and decrypts packets for up to timeout_ms looking for a data event on stream_id
 * whose bytes equal data; 0 if seen. */
int nmt_peer_expect_event(nmt_peer* p, uint64_t stream_id, const void* data, size_t len,
                          int timeout_ms);
/* The same; on success *header_bytes is the length of the header it came in (68 or compact). */
int nmt_peer_expect_event_in(nmt_peer* p, uint64_t stream_id, const void* data, size_t len,
                             int timeout_ms, size_t* header_bytes);

/* Decrypts a datagram the peer received from the node (read with nmt_peer_recv_datagram).
 * 0 ok, -2 not a packet of this peer's session or undecryptable (handshakes included). */
int nmt_peer_open(nmt_peer* p, const void* datagram, size_t len, nmt_received* out);
/* Next datagram the node sent to the peer's socket, raw (nothing decrypted or skipped):
 * its length, or -1 if none arrived within timeout_ms (0 = only what is queued). */
int nmt_peer_recv_datagram(nmt_peer* p, void* buf, size_t cap, int timeout_ms);

/* ---- datagrams for mesh attacks (nothing authenticated: anyone can build these) ---- */

/* The 72-byte raw pingwave of 0.23 (health Healthy, other fields 0). Returns 72. */
size_t nmt_pingwave(uint8_t out[72], uint64_t origin, uint64_t seq, uint8_t ttl, uint8_t hop_count);
/* An 18-byte routing header ("RT", ttl, hop_count, flags 0, src_id, dest_id) followed by
 * `inner`; returns the datagram length (0 if cap is too small). */
size_t nmt_routed(uint8_t* out, size_t cap, uint8_t ttl, uint8_t hop_count, uint32_t src_id,
                  uint64_t dest_id, const void* inner, size_t inner_len);
/* Sends `data` from a UDP source address that is not ours ("ip:port", IPv4: a raw socket
 * writes the IP and UDP headers, so the node cannot tell it from a datagram its peer at
 * `from_addr` sent). 0 ok, -2 not permitted (needs CAP_NET_RAW), -1 other errors. */
int nmt_send_spoofed(const char* from_addr, const char* to_addr, const void* data, size_t len);

/* Resident set size of this process in bytes (from /proc/self/statm). */
size_t nmt_rss_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
