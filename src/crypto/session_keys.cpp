#include "crypto/session_keys.h"

#include <algorithm>
#include <string_view>

#include "crypto/sodium_init.h"
#include "wire/little_endian.h"

namespace nm::crypto {
namespace {

Bytes ascii(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// 0.23's derive_key: keyed-BLAKE2s extract/expand over h (not RFC 5869 HKDF).
Key32 kdf(const Digest& prk, std::string_view info) { return blake2s_keyed(prk, ascii(info)); }

uint64_t identity_hash(std::string_view label, const Key32& ed25519_public) {
  // The label is the BLAKE2s key and the public key the message.
  return wire::get_le<uint64_t>(blake2s_keyed(ascii(label), ed25519_public).data());
}

}  // namespace

std::array<uint8_t, 32> handshake_prologue(uint64_t initiator_node_id, uint64_t responder_node_id) {
  constexpr std::string_view kLabel = "net-handshake-v1";
  std::array<uint8_t, 32> p{};
  std::copy(kLabel.begin(), kLabel.end(), p.begin());
  wire::put_le<uint64_t>(p.data() + 16, initiator_node_id & 0xFFFFFFFF);
  wire::put_le<uint64_t>(p.data() + 24, responder_node_id & 0xFFFFFFFF);
  return p;
}

SessionKeys derive_session_keys(const Digest& handshake_hash, bool is_initiator) {
  const Digest prk = blake2s_keyed(handshake_hash, ascii("net-kdf-v1"));
  const Key32 initiator_tx = kdf(prk, "initiator-tx");
  const Key32 initiator_rx = kdf(prk, "initiator-rx");

  SessionKeys keys;
  keys.session_id = wire::get_le<uint64_t>(handshake_hash.data());
  keys.tx = is_initiator ? initiator_tx : initiator_rx;
  keys.rx = is_initiator ? initiator_rx : initiator_tx;
  keys.nonce_prefix = static_cast<uint32_t>(keys.session_id ^ (keys.session_id >> 32));
  return keys;
}

uint64_t node_id_from_identity(const Key32& ed25519_public) {
  return identity_hash("net-node-id-v1", ed25519_public);
}

uint64_t origin_hash_from_identity(const Key32& ed25519_public) {
  return identity_hash("net-origin-v1", ed25519_public);
}

Key32 x25519_public(const Key32& private_key) {
  ensure_sodium();
  Key32 pub;
  crypto_scalarmult_base(pub.data(), private_key.data());
  return pub;
}

}  // namespace nm::crypto
