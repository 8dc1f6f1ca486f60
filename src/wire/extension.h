// netmesh's extensions to the 0.23 wire, used only between netmesh nodes (README,
// "Protocol"). A 0.23 node never receives anything it does not understand:
//  - The capability hello rides in a StreamWindow grant (0x0B00) for a stream id nobody
//    opens; 0.23 ignores grants for unknown streams, a netmesh node reads the capabilities.
//  - ACK/NACK frames use subprotocol 0x4E4D, sent only to peers whose hello arrived.
//  - Pingwaves to a neighbour that announced kAuthPingwaves travel sealed (0x4E50).
//  - Fragments are ordinary data packets marked in frag_flags (header byte 7) with the
//    fragment's index in fragment_offset; so are events cut at a packet boundary (frag::kSpanHead).
//  - Data packets carry the stream's epoch (incremented on every reopen) in subnet_id and
//    the sender's cumulative credit charge before the packet in origin_hash, so a receiver
//    can tell a reopened stream from a late packet and credit back exactly what was lost.
//  - Data packets to a peer with kCompactHeader go in the compact header (compact_header.h).
// Every one of these header fields is covered by the AAD.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nm::wire {

inline constexpr uint64_t kHelloStreamId = 0x014853454D54454EULL;  // "NETMESH\x01" LE
inline constexpr uint16_t kSubprotocolNetmesh = 0x4E4D;
// Pingwaves between netmesh neighbours: the 72-byte pingwave as the one frame of a session
// packet, so an off-path forger cannot inject routes (raw pingwaves are unauthenticated).
inline constexpr uint16_t kSubprotocolPingwave = 0x4E50;

namespace capability {
inline constexpr uint64_t kRecovery = 1 << 0;   // ACK/NACK + retransmission
inline constexpr uint64_t kFragments = 1 << 1;  // events above 8104 bytes
inline constexpr uint64_t kEpochs = 1 << 2;     // stream epoch + cumulative charge in headers
inline constexpr uint64_t kAuthPingwaves = 1 << 3;  // pingwaves inside the session, not raw
inline constexpr uint64_t kSessionAck = 1 << 4;  // session acknowledgements by packet number
inline constexpr uint64_t kPmtud = 1 << 5;       // datagrams sized by path MTU discovery (padded pings)
// (Bit 6 was the first compact header, 2 bytes longer and 4 more on an event cut at a
// packet boundary; no longer announced, so builds from before it send 0.23's header to
// builds after it and get it back.)
inline constexpr uint64_t kPathMigration = 1 << 7;  // answers path challenges: may be followed to a new address
inline constexpr uint64_t kSpanning = 1 << 8;  // reads events cut at a packet boundary (frag::kSpanHead/kSpanTail)
// A session acknowledgement of a data datagram means the peer's stream kept its packet (one
// too far ahead is refused, not acknowledged): a sender with it releases the packet then, so
// a receiver reports by stream ACK only about once a round trip (an asymmetric path's way
// back carried a stream ACK or NACK for every third datagram).
inline constexpr uint64_t kSessionRelease = 1 << 9;
// (Bit 10 was the compact header with the whole session id, and the charge on reliable
// packets too: retired as bit 6 was.)
inline constexpr uint64_t kCompactHeader = 1 << 11;  // stream data in compact headers (wire/compact_header.h)
inline constexpr uint64_t kAll = kRecovery | kFragments | kEpochs | kAuthPingwaves | kSessionAck | kPmtud |
                                 kCompactHeader | kPathMigration | kSpanning | kSessionRelease;
inline constexpr uint64_t kSeenYours = uint64_t{1} << 63;  // the sender has our hello
// What a data packet's flags::kNetmeshData stands for: the sender reads the data fields and
// answers to acknowledgements and NACKs as these capabilities say.
inline constexpr uint64_t kDataFields = kRecovery | kFragments | kEpochs | kSessionAck;
}  // namespace capability

namespace frag {
inline constexpr uint8_t kFragment = 0x01;
inline constexpr uint8_t kLast = 0x02;
// Events cut at a packet boundary, so a reliable stream's packets leave full (capability
// kSpanning): the last frame of a kSpanTail packet is the start of an event whose rest is
// the first frame of the next packet (sequence + 1), marked kSpanHead. Such an event fits
// a packet (larger ones are fragments), so it spans two packets at most, and a packet may
// carry both marks (a head, whole events, a tail).
inline constexpr uint8_t kSpanHead = 0x04;
inline constexpr uint8_t kSpanTail = 0x08;
inline constexpr uint8_t kSpanMarks = kSpanHead | kSpanTail;
}  // namespace frag

enum class ExtType : uint8_t { kAck = 1, kNack = 2, kCreditProbe = 3, kPathChallenge = 4, kPathResponse = 5 };

// ACK / NACK (41 bytes): every seq < next_expected arrived (cumulative), `highest` is the
// highest seq received. A NACK also says which seqs in [base, base+64) are missing: bit i
// set = base+i missing (0.23's NackPayload bitmap, generalised to any base); a clear bit
// at or below `highest` = received, so the sender neither times it out nor resends it.
// A receiver sends one NACK per 64-seq block between next_expected and highest.
// A credit probe (other fields 0) comes from a sender stalled on credit: grants are
// cumulative but not retransmitted, so a lost last grant would stall it for good; the
// receiver answers with its current grant.
// A path challenge (stream_id 0, a random token in next_expected, other fields 0) goes to a
// peer's new address; the peer echoes the token in a path response from where the challenge
// arrived (session/peer_address.h).
struct ExtFrame {
  ExtType type = ExtType::kAck;
  uint64_t stream_id = 0;
  uint64_t next_expected = 0;
  uint64_t highest = 0;
  uint64_t base = 0;
  uint64_t missing = 0;
};

inline constexpr size_t kExtFrameSize = 41;
// Writes the frame body (without the u32 frame length) and returns its size.
size_t encode_ext_frame(const ExtFrame& f, uint8_t* out);
std::optional<ExtFrame> decode_ext_frame(std::span<const uint8_t> body);

}  // namespace nm::wire
