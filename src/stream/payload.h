// Plaintext payloads come from a process-wide pool of buffers that keep their capacity,
// so a packet on the hot path allocates nothing: the sender's frames (kept until
// acknowledged) and a received packet's payload, decrypted into it (shared by its events).
// Pooled buffers have exactly their size class's capacity, so what a payload pins is known
// from its size (the receive budget charges capacity, not size).
#pragma once
#include <atomic>
#include <memory>
#include <utility>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace nm::stream {

// An allocator whose resize() leaves new bytes uninitialised: a payload is sized first,
// then written whole (decrypted, framed), so zeroing it would be a wasted pass.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      ::new (static_cast<void*>(p)) U;
    } else {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  }
};

// One packet's bytes. Move-only; its storage goes back to the pool when destroyed.
class Payload {
 public:
  using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

  // The size class of a full packet's payload (8108 bytes) or an 8 KiB event.
  static constexpr size_t kPacketClass = 8320;

  Payload() = default;  // empty, no buffer yet
  // Empty, with a pooled buffer of at least `min_capacity` bytes (size classes up to one
  // packet, so a small packet does not pin a packet-sized buffer).
  static Payload pooled(size_t min_capacity);
  // Empty, with a capacity of exactly `capacity` bytes (from the pool if that is a size
  // class): a buffer that must not pin more than it holds.
  static Payload exact(size_t capacity);
  ~Payload();
  Payload(Payload&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  Payload& operator=(Payload&& o) noexcept;
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  size_t capacity() const { return bytes_.capacity(); }
  void resize(size_t n) { bytes_.resize(n); }
  void reserve(size_t n) { bytes_.reserve(n); }  // exactly n (libstdc++), if above capacity()
  // (Sized, then copied with memcpy: the vector's own copy would go byte by byte through
  // the allocator's construct.)
  void assign(std::span<const uint8_t> b) {
    bytes_.clear();
    append(b);
  }
  void append(std::span<const uint8_t> b) {
    size_t at = bytes_.size();
    bytes_.resize(at + b.size());
    if (!b.empty()) std::memcpy(bytes_.data() + at, b.data(), b.size());
  }
  operator std::span<const uint8_t>() const { return {bytes_.data(), bytes_.size()}; }

 private:
  Bytes bytes_;
};

// A payload shared by whoever reads it (the packet queued for the application, the packet
// kept for retransmission and the datagram being sealed from it): a reference-counted
// Payload in a pooled block.
class SharedPayload {
 public:
  SharedPayload() = default;
  static SharedPayload copy_of(std::span<const uint8_t> bytes);  // a packet decrypted elsewhere
  static SharedPayload adopt(Payload&& bytes);  // a reassembled large event
  // A packet to send: the frames (u32le length + bytes) of `events`, in a pooled buffer.
  static SharedPayload frames_of(std::span<const std::span<const uint8_t>> events);
  SharedPayload(const SharedPayload& o) noexcept : block_(o.block_) { retain(); }
  SharedPayload(SharedPayload&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
  SharedPayload& operator=(SharedPayload o) noexcept {
    std::swap(block_, o.block_);
    return *this;
  }
  ~SharedPayload() { release(); }

  explicit operator bool() const { return block_ != nullptr; }
  const uint8_t* data() const { return block_->payload.data(); }
  size_t size() const { return block_ ? block_->payload.size() : 0; }
  size_t capacity() const { return block_ ? block_->payload.capacity() : 0; }

  struct Block {
    std::atomic<uint32_t> refs{1};
    Payload payload;
  };

 private:
  explicit SharedPayload(Block* b) : block_(b) {}
  void retain() {
    if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release();
  Block* block_ = nullptr;
};

}  // namespace nm::stream
