#include "crypto/aead.h"

#include "crypto/sodium_init.h"
#include "wire/little_endian.h"

namespace nm::crypto {

void make_nonce(uint32_t prefix, uint64_t counter, uint8_t out[12]) {
  wire::put_le(out, prefix);
  wire::put_le(out + 4, counter);
}

void aead_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, uint8_t* tag_out) {
  ensure_sodium();
  uint8_t empty = 0;
  if (len == 0) data = &empty;  // libsodium declares the buffers nonnull even for 0 bytes
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(data, tag_out, nullptr, data, len, aad,
                                                     aad_len, nullptr, nonce, key.data());
}

bool aead_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, const uint8_t* tag) {
  ensure_sodium();
  uint8_t empty = 0;
  if (len == 0) data = &empty;  // libsodium declares the buffers nonnull even for 0 bytes
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(data, nullptr, data, len, tag, aad,
                                                            aad_len, nonce, key.data()) == 0;
}

}  // namespace nm::crypto
