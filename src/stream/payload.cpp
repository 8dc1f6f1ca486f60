#include "stream/payload.h"

#include "stream/free_list.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {

namespace {
// Buffer sizes: small events, mid-sized, a full packet's payload or an 8 KiB event, a
// large event in pieces. Each class keeps enough for the packets in flight on a busy node
// (a few MiB in all); beyond it buffers go back to malloc.
constexpr size_t kClasses[] = {256, 2048, Payload::kPacketClass, 64 * 1024};
static_assert(kClasses[2] >= wire::kMaxPayloadSize);
constexpr size_t kMaxPooled[] = {512, 512, 512, 32};
constexpr size_t kNumClasses = sizeof kClasses / sizeof kClasses[0];

FreeList<Payload::Bytes>& buffers(size_t size_class) {
  static auto* lists = new FreeList<Payload::Bytes>[kNumClasses]{
      FreeList<Payload::Bytes>(kMaxPooled[0]), FreeList<Payload::Bytes>(kMaxPooled[1]),
      FreeList<Payload::Bytes>(kMaxPooled[2]), FreeList<Payload::Bytes>(kMaxPooled[3])};
  return lists[size_class];
}

FreeList<SharedPayload::Block*>& blocks() {
  static auto* list = new FreeList<SharedPayload::Block*>(kMaxPooled[2]);
  return *list;
}
}  // namespace

Payload Payload::pooled(size_t min_capacity) {
  Payload p;
  size_t c = 0;
  while (c + 1 < kNumClasses && kClasses[c] < min_capacity) ++c;
  if (kClasses[c] < min_capacity) {  // larger than a packet: not pooled
    p.bytes_.reserve(min_capacity);
  } else if (!buffers(c).take(p.bytes_)) {
    p.bytes_.reserve(kClasses[c]);
  }
  return p;
}

Payload Payload::exact(size_t capacity) {
  for (size_t c : kClasses)
    if (c == capacity) return pooled(capacity);
  Payload p;
  p.bytes_.reserve(capacity);
  return p;
}

Payload::~Payload() {
  // Only buffers of exactly a class's capacity are kept: a pooled buffer never pins more
  // than its class (a grown or exact one is freed).
  size_t cap = bytes_.capacity();
  for (size_t c = 0; c < kNumClasses; ++c) {
    if (kClasses[c] != cap) continue;
    bytes_.clear();
    buffers(c).give(std::move(bytes_));
    return;
  }
}

Payload& Payload::operator=(Payload&& o) noexcept {
  if (this != &o) {
    Payload old(std::move(*this));  // our buffer goes back to the pool
    bytes_ = std::move(o.bytes_);
  }
  return *this;
}

namespace {
SharedPayload::Block* new_block() {
  SharedPayload::Block* b = nullptr;
  if (blocks().take(b)) {
    b->refs.store(1, std::memory_order_relaxed);
    return b;
  }
  return new SharedPayload::Block;
}
}  // namespace

SharedPayload SharedPayload::copy_of(std::span<const uint8_t> bytes) {
  Block* b = new_block();
  if (b->payload.capacity() < bytes.size()) b->payload = Payload::pooled(bytes.size());
  b->payload.assign(bytes);
  return SharedPayload(b);
}

SharedPayload SharedPayload::frames_of(std::span<const std::span<const uint8_t>> events) {
  size_t len = 0;
  for (auto e : events) len += wire::kFrameOverhead + e.size();
  Payload frames = Payload::pooled(len);
  frames.resize(len);
  uint8_t* w = frames.data();
  for (auto e : events) w = wire::write_frame(w, e);
  return adopt(std::move(frames));
}

SharedPayload SharedPayload::adopt(Payload&& bytes) {
  Block* b = new_block();
  b->payload = std::move(bytes);
  return SharedPayload(b);
}

void SharedPayload::release() {
  if (!block_ || block_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Block* b = block_;
  block_ = nullptr;
  // Its buffer goes back to the pool by size (a block kept its buffer, a small payload
  // would pin a large one).
  b->payload = Payload();
  if (!blocks().give(std::move(b))) delete b;
}

}  // namespace nm::stream
