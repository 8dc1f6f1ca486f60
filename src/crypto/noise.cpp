#include "crypto/noise.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"
#include "wire/little_endian.h"

namespace nm::crypto {
namespace {

constexpr size_t kDhLen = 32;
constexpr size_t kTagLen = 16;

Key32 random_private_key() {
  ensure_sodium();
  Key32 k;
  randombytes_buf(k.data(), k.size());
  return k;
}

Key32 public_key(const Key32& priv) {
  ensure_sodium();
  Key32 pub;
  crypto_scalarmult_base(pub.data(), priv.data());
  return pub;
}

// libsodium refuses all-zero results (low-order peer keys); we reject those handshakes.
bool dh(const Key32& priv, const Key32& pub, Key32& out) {
  ensure_sodium();
  return crypto_scalarmult(out.data(), priv.data(), pub.data()) == 0;
}

// The name is longer than HASHLEN, so h0 = HASH(name) (Noise spec §5.2 InitializeSymmetric).
Digest initial_hash() {
  return blake2s(Bytes(reinterpret_cast<const uint8_t*>(kNoiseProtocolName),
                       sizeof(kNoiseProtocolName) - 1));
}

// Noise nonce: 4 zero bytes || u64le(n).
void noise_nonce(uint64_t n, uint8_t out[12]) {
  std::memset(out, 0, 4);
  wire::put_le(out + 4, n);
}

}  // namespace

NoiseHandshake NoiseHandshake::initiator(Bytes prologue, const Key32& psk,
                                         const Key32& responder_static_pub,
                                         const std::optional<Key32>& ephemeral_private) {
  NoiseHandshake hs;
  hs.is_initiator_ = true;
  hs.rs_ = responder_static_pub;
  hs.e_priv_ = ephemeral_private ? *ephemeral_private : random_private_key();
  hs.e_pub_ = public_key(hs.e_priv_);
  hs.has_e_ = true;
  hs.h_ = hs.ck_ = initial_hash();
  hs.mix_hash(prologue);
  hs.mix_hash(hs.rs_);  // pre-message "<- s"
  // The psk token opens msg1 on both sides, so it can be mixed in now and need not be kept.
  hs.mix_key_and_hash(psk);
  return hs;
}

NoiseHandshake NoiseHandshake::responder(Bytes prologue, const Key32& psk,
                                         const Key32& static_private,
                                         const std::optional<Key32>& ephemeral_private) {
  NoiseHandshake hs = responder_with(prologue, psk, static_private, public_key(static_private));
  if (ephemeral_private) {
    hs.e_priv_ = *ephemeral_private;
    hs.e_pub_ = public_key(hs.e_priv_);
    hs.has_e_ = true;
  }
  return hs;
}

NoiseHandshake NoiseHandshake::responder_with(Bytes prologue, const Key32& psk,
                                              const Key32& static_private,
                                              const Key32& static_public) {
  NoiseHandshake hs;
  hs.s_priv_ = static_private;
  hs.h_ = hs.ck_ = initial_hash();
  hs.mix_hash(prologue);
  hs.mix_hash(static_public);  // pre-message "<- s"
  hs.mix_key_and_hash(psk);
  return hs;
}

bool NoiseHandshake::write_message(Bytes payload, std::vector<uint8_t>& out) {
  if (step_ != (is_initiator_ ? 0 : 1)) return false;
  if (!is_initiator_ && !has_e_) {  // made only for a msg1 that authenticated
    e_priv_ = random_private_key();
    e_pub_ = public_key(e_priv_);
    has_e_ = true;
  }
  // Token "e" (psk mode: e.pub also feeds the key), then "es" (msg1) or "ee" (msg2).
  out.assign(e_pub_.begin(), e_pub_.end());
  mix_hash(e_pub_);
  mix_key(e_pub_);
  Key32 shared;
  if (!dh(e_priv_, is_initiator_ ? rs_ : re_, shared)) {
    step_ = -1;
    return false;
  }
  mix_key(shared);
  encrypt_and_hash(payload, out);
  ++step_;
  return true;
}

bool NoiseHandshake::read_message(Bytes message, std::vector<uint8_t>& payload_out) {
  payload_out.clear();
  if (step_ != (is_initiator_ ? 1 : 0) || message.size() < kDhLen + kTagLen) {
    step_ = -1;
    return false;
  }
  std::memcpy(re_.data(), message.data(), kDhLen);
  mix_hash(re_);
  mix_key(re_);
  // msg1: "es" = DH(s, re) on the responder; msg2: "ee" = DH(e, re) on the initiator.
  Key32 shared;
  if (!dh(is_initiator_ ? e_priv_ : s_priv_, re_, shared)) {
    step_ = -1;
    return false;
  }
  mix_key(shared);
  if (!decrypt_and_hash(message.subspan(kDhLen), payload_out)) {
    step_ = -1;
    return false;
  }
  ++step_;
  return true;
}

void NoiseHandshake::mix_hash(Bytes data) { h_ = blake2s2(h_, data); }

void NoiseHandshake::mix_key(Bytes ikm) {
  hkdf(ck_, ikm, ck_, k_);
  n_ = 0;
}

void NoiseHandshake::mix_key_and_hash(Bytes ikm) {
  Digest temp_h;
  hkdf(ck_, ikm, ck_, temp_h, k_);
  mix_hash(temp_h);
  n_ = 0;
}

// In NKpsk0 the psk token keys the cipher before any payload, so both always encrypt.
bool NoiseHandshake::encrypt_and_hash(Bytes plaintext, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + plaintext.size() + kTagLen);
  uint8_t nonce[12];
  noise_nonce(n_++, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + start, nullptr, plaintext.data(),
                                            plaintext.size(), h_.data(), h_.size(), nullptr, nonce,
                                            k_.data());
  mix_hash(Bytes(out).subspan(start));
  return true;
}

bool NoiseHandshake::decrypt_and_hash(Bytes ciphertext, std::vector<uint8_t>& out) {
  if (ciphertext.size() < kTagLen) return false;
  out.resize(ciphertext.size() - kTagLen);
  uint8_t nonce[12];
  noise_nonce(n_++, nonce);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, ciphertext.data(),
                                                ciphertext.size(), h_.data(), h_.size(), nonce,
                                                k_.data()) != 0) {
    out.clear();
    return false;
  }
  mix_hash(ciphertext);
  return true;
}

NoiseResponder::NoiseResponder(const Key32& psk, const Key32& static_private)
    : psk_(psk), s_priv_(static_private), s_pub_(public_key(static_private)) {
  // ck and k after the psk token do not depend on the prologue (it only enters h).
  base_ = NoiseHandshake::responder_with({}, psk_, s_priv_, s_pub_);
}

Digest NoiseResponder::candidate(Bytes prologue) const {
  return NoiseHandshake::responder_with(prologue, psk_, s_priv_, s_pub_).h_;
}

std::optional<NoiseResponder::Accepted> NoiseResponder::read_msg1(
    Bytes msg1, std::span<const Digest> candidates,
    const std::optional<Key32>& ephemeral_private) const {
  if (msg1.size() < kDhLen + kTagLen || candidates.empty()) return std::nullopt;
  // Tokens e (psk mode: also MixKey) and es, once; then each candidate's h.
  NoiseHandshake shared = base_;
  std::memcpy(shared.re_.data(), msg1.data(), kDhLen);
  shared.mix_key(shared.re_);
  Key32 es;
  if (!dh(s_priv_, shared.re_, es)) return std::nullopt;
  shared.mix_key(es);
  sodium_memzero(es.data(), es.size());
  // Per candidate only the Poly1305 tag over (AD = h) is checked, with the one-time key
  // (the same for all: same cipher key and nonce) derived once (RFC 8439 §2.6, §2.8).
  Bytes ciphertext = msg1.subspan(kDhLen, msg1.size() - kDhLen - kTagLen);
  Bytes tag = msg1.subspan(msg1.size() - kTagLen);
  uint8_t one_time_key[32] = {}, nonce[12];
  noise_nonce(shared.n_, nonce);
  crypto_stream_chacha20_ietf_xor(one_time_key, one_time_key, sizeof one_time_key, nonce, shared.k_.data());
  static constexpr uint8_t kZeros[16] = {};
  uint8_t lengths[16];
  wire::put_le<uint64_t>(lengths, 32);  // the AD is h
  wire::put_le<uint64_t>(lengths + 8, ciphertext.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    Digest h = blake2s2(candidates[i], shared.re_);
    crypto_onetimeauth_poly1305_state mac;
    crypto_onetimeauth_poly1305_init(&mac, one_time_key);
    crypto_onetimeauth_poly1305_update(&mac, h.data(), h.size());  // 32 bytes: no padding
    crypto_onetimeauth_poly1305_update(&mac, ciphertext.data(), ciphertext.size());
    crypto_onetimeauth_poly1305_update(&mac, kZeros, (16 - ciphertext.size() % 16) % 16);
    crypto_onetimeauth_poly1305_update(&mac, lengths, sizeof lengths);
    uint8_t expected[kTagLen];
    crypto_onetimeauth_poly1305_final(&mac, expected);
    if (sodium_memcmp(expected, tag.data(), kTagLen) != 0) continue;
    // The match: the full AEAD open (decrypts the payload and checks the tag again).
    NoiseHandshake hs = shared;
    hs.h_ = h;
    std::vector<uint8_t> payload;
    if (!hs.decrypt_and_hash(msg1.subspan(kDhLen), payload)) continue;
    sodium_memzero(one_time_key, sizeof one_time_key);
    hs.step_ = 1;
    if (ephemeral_private) {
      hs.e_priv_ = *ephemeral_private;
      hs.e_pub_ = public_key(hs.e_priv_);
      hs.has_e_ = true;
    }
    return Accepted{i, std::move(hs), std::move(payload)};
  }
  sodium_memzero(one_time_key, sizeof one_time_key);
  return std::nullopt;
}

}  // namespace nm::crypto
