// Net's session derivation on top of the Noise handshake hash (wire spec §1, §3.1, §3.6, §5).
#pragma once
#include <array>
#include <cstdint>

#include "crypto/blake2s.h"
#include "crypto/noise.h"

namespace nm::crypto {

struct SessionKeys {
  uint64_t session_id = 0;     // u64le(h[0..8])
  Key32 tx{};                  // initiator: KDF("initiator-tx"); responder: KDF("initiator-rx")
  Key32 rx{};
  uint32_t nonce_prefix = 0;   // lo32(session_id) ^ (session_id >> 32)
};

// "net-handshake-v1" || u64le(lo32(initiator)) || u64le(lo32(responder)).
std::array<uint8_t, 32> handshake_prologue(uint64_t initiator_node_id, uint64_t responder_node_id);

SessionKeys derive_session_keys(const Digest& handshake_hash, bool is_initiator);

// node_id / origin_hash: u64le of the first 8 bytes of keyed BLAKE2s over the ed25519 key.
uint64_t node_id_from_identity(const Key32& ed25519_public);
uint64_t origin_hash_from_identity(const Key32& ed25519_public);

// X25519 public key for a private key.
Key32 x25519_public(const Key32& private_key);

}  // namespace nm::crypto
