// ChaCha20-Poly1305 IETF for Net packets: nonce = prefix(4) || u64le(counter) (wire spec §5).
#pragma once
#include <cstddef>
#include <cstdint>

#include "crypto/noise.h"

namespace nm::crypto {

void make_nonce(uint32_t prefix, uint64_t counter, uint8_t out[12]);

// Encrypts `len` bytes in place and writes the 16-byte tag to `tag_out`.
void aead_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, uint8_t* tag_out);
// Verifies and decrypts `len` bytes in place; returns false (and leaves data undefined)
// on a bad tag.
bool aead_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, const uint8_t* tag);

}  // namespace nm::crypto
