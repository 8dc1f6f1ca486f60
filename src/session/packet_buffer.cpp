#include "session/packet_buffer.h"

#include <sodium.h>

#include "crypto/aead.h"
#include "wire/compact_header.h"
#include "stream/free_list.h"

namespace nm::session {

void PacketBuffer::arm(const crypto::Key32& key, const uint8_t nonce[12], const uint8_t* plaintext) {
  key_ = key;
  std::memcpy(nonce_, nonce, sizeof nonce_);
  plaintext_ = plaintext;
  armed_ = true;
}

void PacketBuffer::seal() {
  if (!armed_) return;
  size_t payload_len = len - header_len - wire::kTagSize;
  uint8_t scratch[wire::kAadSize];
  std::span<const uint8_t> aad = wire::packet_aad(bytes(), header_len, scratch);
  crypto::aead_seal_to(key_, nonce_, aad.data(), aad.size(), plaintext_ ? plaintext_ : payload(), payload_len,
                       payload(), payload() + payload_len);
  sodium_memzero(key_.data(), key_.size());
  armed_ = false;
  plaintext_ = nullptr;
}

void PacketBuffer::reset() {
  if (armed_) sodium_memzero(key_.data(), key_.size());
  armed_ = false;
  plaintext_ = nullptr;
  len = 0;
  header_len = wire::kHeaderSize;
  head = kHeadroom;
}

namespace {
// Enough for a few threads' worth of in-flight batches; beyond it buffers go back to malloc.
stream::FreeList<PacketBuffer*>& free_list() {
  static auto* list = new stream::FreeList<PacketBuffer*>(256);  // never destroyed
  return *list;
}
}  // namespace

void PacketRelease::operator()(PacketBuffer* p) const noexcept {
  p->reset();
  if (!free_list().give(std::move(p))) delete p;
}

PacketPtr acquire_packet() {
  PacketBuffer* p = nullptr;
  if (free_list().take(p)) return PacketPtr(p);
  return PacketPtr(new PacketBuffer);  // default-initialised: the storage is not cleared
}

}  // namespace nm::session
