// The events received and not yet read, kept as the packets they came in: one entry per
// packet (its shared payload, the offset of its next unread frame, the events left), each
// event's length read from its frame header when the application takes it. Nothing is kept
// per event beyond what the sender paid for: 2,027 empty events cost their packet, not
// 2,027 entries. An event cut at a packet boundary is kept as its two packets' slices (the
// start in one, the rest in the next): it is put together only in the reader's buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include "stream/payload.h"
#include "stream/ring_queue.h"

namespace nm::stream {

class InboundQueue {
 public:
  // Queues a packet of `events` (> 0) frames, valid as wire::frames_exact checks them.
  // `credit`: its wire cost, released as it is read (0 = nothing to release; with more
  // than one event, at least their bytes).
  void push(SharedPayload data, uint16_t events, uint32_t credit) {
    uint32_t size = static_cast<uint32_t>(data.size());
    push(std::move(data), 0, size, events, credit);
  }
  // The same for the `events` frames from byte `begin` to `end` of a packet whose other
  // bytes are pieces of events cut at its boundaries.
  void push(SharedPayload data, uint32_t begin, uint32_t end, uint16_t events, uint32_t credit);
  // Queues one event cut at a packet boundary: its first `start_len` bytes at `start_offset`
  // of `start`, the rest the first frame of `rest`. `credit` is released when it is read.
  void push_cut(SharedPayload start, uint32_t start_offset, uint32_t start_len, SharedPayload rest,
                uint32_t credit);

  bool empty() const { return packets_.empty(); }
  size_t events() const { return events_; }    // unread events
  size_t bytes() const { return bytes_; }      // their bytes, frame headers excluded
  uint64_t credit() const { return credit_; }  // not yet released
  uint64_t held() const { return held_; }      // memory pinned: buffers + bookkeeping

  size_t front_size() const;
  // Copies the next event (front_size() bytes) to `out` and returns the credit its reading
  // releases: the packet's own overhead (header, tag, frame headers) with its first event,
  // each event's length with the event, so the credit follows what the application drained.
  uint32_t pop_into(uint8_t* out);
  // Drops everything; returns the credit not yet released.
  uint64_t clear();
  // The events stay readable but release no credit any more (their sender's stream is gone).
  void forget_credit();

 private:
  struct Packet {
    SharedPayload data;
    uint32_t next = 0;         // offset of the next unread frame
    uint32_t end = 0;          // where the packet's events end
    uint32_t credit = 0;       // not yet released
    uint16_t events = 0;       // not yet read
    // A cut event's start (the packet before; its only event is the rest): nothing else.
    SharedPayload start;
    uint32_t start_offset = 0;
    uint32_t start_len = 0;
  };
  void push(Packet&& p, size_t event_bytes);
  static size_t held(const Packet& p);

  RingQueue<Packet> packets_;
  size_t events_ = 0;
  size_t bytes_ = 0;
  uint64_t credit_ = 0;
  uint64_t held_ = 0;
};

}  // namespace nm::stream
