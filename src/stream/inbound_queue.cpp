#include "stream/inbound_queue.h"

#include <cassert>
#include <cstring>

#include "stream/rx_packet.h"
#include "wire/frames.h"
#include "wire/little_endian.h"

namespace nm::stream {

size_t InboundQueue::held(const Packet& p) { return p.data.capacity() + kPacketBookkeeping; }

void InboundQueue::push(SharedPayload data, uint32_t begin, uint32_t end, uint16_t events, uint32_t credit) {
  size_t event_bytes = end - begin - wire::kFrameOverhead * events;
  // (A lone event may carry any credit: it is released whole when the event is read.)
  assert(events > 0 && begin <= end && end <= data.size() && (credit == 0 || events == 1 || credit >= event_bytes));
  events_ += events;
  bytes_ += event_bytes;
  credit_ += credit;
  Packet p{std::move(data), begin, end, credit, events};
  held_ += held(p);
  packets_.push_back(std::move(p));
}

size_t InboundQueue::front_size() const {
  const Packet& p = packets_.front();
  return wire::get_le<uint32_t>(p.data.data() + p.next);
}

uint32_t InboundQueue::pop_into(uint8_t* out) {
  Packet& p = packets_.front();
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
