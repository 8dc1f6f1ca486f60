#include "crypto/blake2s.h"

#include <blake2.h>

#include <algorithm>
#include <initializer_list>
#include <stdexcept>

namespace nm::crypto {
namespace {

constexpr size_t kBlockLen = 64;

Digest hash_parts(std::initializer_list<Bytes> parts) {
  blake2s_state st;
  blake2s_init(&st, BLAKE2S_OUTBYTES);
  for (Bytes p : parts) blake2s_update(&st, p.data(), p.size());
  Digest out;
  blake2s_final(&st, out.data(), out.size());
  return out;
}

// HMAC(key, m1 || m2 ...) per RFC 2104 with BLAKE2s's 64-byte block.
Digest hmac_parts(Bytes key, std::initializer_list<Bytes> parts) {
  uint8_t block[kBlockLen] = {};
  if (key.size() > kBlockLen) {
    const Digest hk = blake2s(key);
    std::copy(hk.begin(), hk.end(), block);
  } else {
    std::copy(key.begin(), key.end(), block);
  }

  uint8_t ipad[kBlockLen], opad[kBlockLen];
  for (size_t i = 0; i < kBlockLen; ++i) {
    ipad[i] = block[i] ^ 0x36;
    opad[i] = block[i] ^ 0x5c;
  }

  blake2s_state st;
  blake2s_init(&st, BLAKE2S_OUTBYTES);
  blake2s_update(&st, ipad, kBlockLen);
  for (Bytes p : parts) blake2s_update(&st, p.data(), p.size());
  Digest inner;
  blake2s_final(&st, inner.data(), inner.size());
  return hash_parts({Bytes(opad, kBlockLen), inner});
}

// Noise HKDF: temp = HMAC(ck, ikm); out_i = HMAC(temp, out_{i-1} || byte(i)).
void hkdf_expand(const Digest& ck, Bytes ikm, std::span<Digest* const> outs) {
  const Digest temp = hmac_parts(ck, {ikm});
  Bytes prev;
  for (size_t i = 0; i < outs.size(); ++i) {
    const auto index = static_cast<uint8_t>(i + 1);
    *outs[i] = hmac_parts(temp, {prev, Bytes(&index, 1)});
    prev = *outs[i];
  }
}

}  // namespace

Digest blake2s(Bytes msg) { return hash_parts({msg}); }

Digest blake2s2(Bytes a, Bytes b) { return hash_parts({a, b}); }

Digest blake2s_keyed(Bytes key, Bytes msg) {
  if (key.size() > BLAKE2S_KEYBYTES) {
    throw std::invalid_argument("blake2s key longer than 32 bytes");
  }
  Digest out;
  ::blake2s(out.data(), msg.data(), key.data(), out.size(), msg.size(), key.size());
  return out;
}

Digest hmac_blake2s(Bytes key, Bytes msg) { return hmac_parts(key, {msg}); }

void hkdf(const Digest& ck, Bytes ikm, Digest& out1, Digest& out2) {
  Digest* outs[] = {&out1, &out2};
  hkdf_expand(ck, ikm, outs);
}

void hkdf(const Digest& ck, Bytes ikm, Digest& out1, Digest& out2, Digest& out3) {
  Digest* outs[] = {&out1, &out2, &out3};
  hkdf_expand(ck, ikm, outs);
}

}  // namespace nm::crypto
