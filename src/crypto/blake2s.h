// BLAKE2s-256 (libb2) and the HMAC / HKDF built on it for Noise (Noise spec §4.3).
#pragma once
#include <array>
#include <cstdint>
#include <span>

namespace nm::crypto {

using Digest = std::array<uint8_t, 32>;
using Bytes = std::span<const uint8_t>;

Digest blake2s(Bytes msg);
Digest blake2s2(Bytes a, Bytes b);               // BLAKE2s(a || b) without a copy
Digest blake2s_keyed(Bytes key, Bytes msg);      // RFC 7693 keyed mode, key <= 32 bytes
Digest hmac_blake2s(Bytes key, Bytes msg);       // HMAC with a 64-byte block
// Noise HKDF(chaining_key, ikm) -> 2 or 3 outputs.
void hkdf(const Digest& ck, Bytes ikm, Digest& out1, Digest& out2);
void hkdf(const Digest& ck, Bytes ikm, Digest& out1, Digest& out2, Digest& out3);

}  // namespace nm::crypto
