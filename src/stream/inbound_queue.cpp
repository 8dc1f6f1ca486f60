#include "stream/inbound_queue.h"

#include <cassert>
#include <cstring>

#include "stream/rx_packet.h"
#include "wire/frames.h"
#include "wire/little_endian.h"

namespace nm::stream {

size_t InboundQueue::held(const Packet& p) {
  return p.data.capacity() + p.start.capacity() + kPacketBookkeeping;
}

void InboundQueue::push(SharedPayload data, uint32_t begin, uint32_t end, uint16_t events, uint32_t credit) {
  size_t event_bytes = end - begin - wire::kFrameOverhead * events;
  // (A lone event may carry any credit: it is released whole when the event is read.)
  assert(events > 0 && begin <= end && end <= data.size() && (credit == 0 || events == 1 || credit >= event_bytes));
  Packet p;
  p.data = std::move(data);
  p.next = begin;
  p.end = end;
  p.credit = credit;
  p.events = events;
  push(std::move(p), event_bytes);
}

void InboundQueue::push_cut(SharedPayload start, uint32_t start_offset, uint32_t start_len, SharedPayload rest,
                            uint32_t credit) {
  uint32_t rest_len = wire::get_le<uint32_t>(rest.data());
  assert(start_offset + size_t{start_len} <= start.size() && wire::kFrameOverhead + size_t{rest_len} <= rest.size());
  Packet p;
  p.data = std::move(rest);
  p.end = static_cast<uint32_t>(wire::kFrameOverhead + rest_len);
  p.credit = credit;
  p.events = 1;
  p.start = std::move(start);
  p.start_offset = start_offset;
  p.start_len = start_len;
  push(std::move(p), size_t{start_len} + rest_len);
}

void InboundQueue::push(Packet&& p, size_t event_bytes) {
  events_ += p.events;
  bytes_ += event_bytes;
  credit_ += p.credit;
  held_ += held(p);
  packets_.push_back(std::move(p));
}

size_t InboundQueue::front_size() const {
  const Packet& p = packets_.front();
  return p.start_len + wire::get_le<uint32_t>(p.data.data() + p.next);
}

uint32_t InboundQueue::pop_into(uint8_t* out) {
  Packet& p = packets_.front();
  if (p.start_len > 0) {  // a cut event: its start first (the packet's only event)
    std::memcpy(out, p.start.data() + p.start_offset, p.start_len);
    out += p.start_len;
    bytes_ -= p.start_len;
  }
  const uint8_t* frame = p.data.data() + p.next;
  uint32_t len = wire::get_le<uint32_t>(frame);
  if (len > 0) std::memcpy(out, frame + wire::kFrameOverhead, len);
  p.next += static_cast<uint32_t>(wire::kFrameOverhead + len);
  --p.events;
  // What stays uncredited is exactly the bytes of the events still unread: the first event
  // releases the packet's overhead with its own length, the last one whatever is left.
  uint32_t credit = 0;
  if (p.credit > 0) {
    size_t unread = p.end - p.next - wire::kFrameOverhead * p.events;
    credit = p.credit - static_cast<uint32_t>(unread);
    p.credit -= credit;
  }
  --events_;
  bytes_ -= len;
  credit_ -= credit;
  if (p.events == 0) {
    held_ -= held(p);
    packets_.pop_front();
  }
  return credit;
}

uint64_t InboundQueue::clear() {
  uint64_t credit = credit_;
  packets_.clear();
  events_ = bytes_ = 0;
  credit_ = held_ = 0;
  return credit;
}

void InboundQueue::forget_credit() {
  packets_.for_each([](Packet& p) { p.credit = 0; });
  credit_ = 0;
}

}  // namespace nm::stream
