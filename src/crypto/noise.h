// Noise_NKpsk0_25519_ChaChaPoly_BLAKE2s, the handshake of net-mesh 0.23 (wire spec §3).
//   <- s
//   ...
//   -> psk, e, es
//   <- e, ee
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/blake2s.h"

namespace nm::crypto {

using Key32 = std::array<uint8_t, 32>;

inline constexpr char kNoiseProtocolName[] = "Noise_NKpsk0_25519_ChaChaPoly_BLAKE2s";

class NoiseHandshake {
 public:
  // `ephemeral_private` is for test vectors only; normally a fresh random key is made.
  static NoiseHandshake initiator(Bytes prologue, const Key32& psk, const Key32& responder_static_pub,
                                  const std::optional<Key32>& ephemeral_private = std::nullopt);
  static NoiseHandshake responder(Bytes prologue, const Key32& psk, const Key32& static_private,
                                  const std::optional<Key32>& ephemeral_private = std::nullopt);

  // Initiator: writes msg1 (e.pub || AEAD(payload)). Responder: writes msg2.
  // Returns false when called out of turn or when a DH result is all-zero.
  bool write_message(Bytes payload, std::vector<uint8_t>& out);
  // Responder: reads msg1. Initiator: reads msg2. false on short message / bad tag /
  // out of turn; a failed read leaves the state unusable (callers discard it).
  bool read_message(Bytes message, std::vector<uint8_t>& payload_out);

  bool is_finished() const { return step_ == 2; }
  const Digest& handshake_hash() const { return h_; }
  // The initiator's ephemeral public key (first 32 bytes of msg1), for replay checks.
  const Key32& remote_ephemeral() const { return re_; }

 private:
  NoiseHandshake() = default;
  void mix_hash(Bytes data);
  void mix_key(Bytes ikm);
  void mix_key_and_hash(Bytes ikm);
  bool encrypt_and_hash(Bytes plaintext, std::vector<uint8_t>& out);
  bool decrypt_and_hash(Bytes ciphertext, std::vector<uint8_t>& out);

  bool is_initiator_ = false;
  int step_ = 0;  // messages processed so far
  Digest h_{}, ck_{};
  Key32 k_{};
  uint64_t n_ = 0;
  Key32 s_priv_{}, e_priv_{}, e_pub_{}, rs_{}, re_{};
};

}  // namespace nm::crypto
