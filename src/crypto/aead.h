// ChaCha20-Poly1305 IETF for Net packets: nonce = prefix(4) || u64le(counter) (wire spec §5).
//
// Two implementations of the same RFC 8439 function: libsodium's, and OpenSSL's, which
// is about twice as fast on full packets here (its AVX-512 code; `bench/micro`
// BM_AeadSeal*), while libsodium is faster on small ones. aead_seal/aead_open pick by
// size; the output is identical either way (tests/unit/crypto_test.cpp checks it).
#pragma once
#include <cstddef>
#include <cstdint>

#include "crypto/noise.h"

namespace nm::crypto {

void make_nonce(uint32_t prefix, uint64_t counter, uint8_t out[12]);
// Encrypts `len` bytes in place and writes the 16-byte tag to `tag_out`.
void aead_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, uint8_t* tag_out);
// The same from `in` to `out` (the encryption is the copy; `in` may equal `out`).
void aead_seal_to(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                  const uint8_t* in, size_t len, uint8_t* out, uint8_t* tag_out);
// Verifies and decrypts `len` bytes in place; returns false (and leaves data undefined)
// on a bad tag.
bool aead_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, const uint8_t* tag);
// The same from `in` to `out` (`in` may equal `out`; `tag` must not be in `out`).
bool aead_open_to(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                  const uint8_t* in, size_t len, const uint8_t* tag, uint8_t* out);

// The two implementations, for tests and benchmarks. The OpenSSL ones return false if
// OpenSSL has no ChaCha20-Poly1305 (then aead_seal/aead_open use libsodium throughout).
enum class AeadImpl { kSodium, kOpenSsl };
bool aead_seal_with(AeadImpl impl, const Key32& key, const uint8_t nonce[12], const uint8_t* aad,
                    size_t aad_len, uint8_t* data, size_t len, uint8_t* tag_out);
bool aead_open_with(AeadImpl impl, const Key32& key, const uint8_t nonce[12], const uint8_t* aad,
                    size_t aad_len, uint8_t* data, size_t len, const uint8_t* tag);

}  // namespace nm::crypto
