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
  friend class NoiseResponder;
  NoiseHandshake() = default;
  // Responder state before msg1 (prologue, pre-message s, psk), with our public key known.
  static NoiseHandshake responder_with(Bytes prologue, const Key32& psk, const Key32& static_private,
                                       const Key32& static_public);
  bool has_e_ = false;  // a responder makes its ephemeral when it writes msg2
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

// The responder's msg1 for a node that answers several possible initiators: a direct msg1
// does not name its sender, so each allowed initiator's prologue is tried (wire spec
// §14.2). Only the handshake hash h depends on the prologue; the chaining key, the cipher
// key and the one X25519 ("es") are the same for every candidate, so they are computed
// once per message and each candidate costs a BLAKE2s and a 16-byte Poly1305 check.
class NoiseResponder {
 public:
  NoiseResponder(const Key32& psk, const Key32& static_private);
  // h before msg1 for this prologue: precompute it per allowed initiator.
  Digest candidate(Bytes prologue) const;
  struct Accepted {
    size_t index;  // into the candidates
    NoiseHandshake handshake;  // ready to write msg2
    std::vector<uint8_t> payload;
  };
  // Reads msg1 against each candidate in order; the first that authenticates, or nullopt.
  std::optional<Accepted> read_msg1(Bytes msg1, std::span<const Digest> candidates,
                                    const std::optional<Key32>& ephemeral_private = std::nullopt) const;

 private:
  Key32 psk_{}, s_priv_{}, s_pub_{};
  NoiseHandshake base_;  // after the psk token; its h is not used
};

}  // namespace nm::crypto
