#include "crypto/aead.h"

#include <openssl/evp.h>

#include "crypto/sodium_init.h"
#include "wire/little_endian.h"

namespace nm::crypto {

namespace {
// Below this many bytes libsodium is the faster of the two: OpenSSL pays ~650 ns per call
// before any byte. bench/micro BM_AeadSeal* on the 2-core bench machine (2026-12-06,
// medians of 3): 1200 B 1235 vs 1392 ns, 1300 B 1259 vs 1431, 1400 B equal, 1440 B 1483 vs
// 1381, 8104 B 5811 vs 3199. So paths with a 1280-byte MTU (1200-1250-byte datagrams)
// stay with libsodium and 1500-byte ones (1472) go to OpenSSL.
constexpr size_t kOpenSslFrom = 1400;

const EVP_CIPHER* openssl_chacha() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return cipher;
}

// One encryption and one decryption context per thread, the cipher set once; a packet
// only sets key and nonce.
struct ThreadContexts {
  EVP_CIPHER_CTX* seal = nullptr;
  EVP_CIPHER_CTX* open = nullptr;
  ~ThreadContexts() {
    EVP_CIPHER_CTX_free(seal);
    EVP_CIPHER_CTX_free(open);
  }
};

EVP_CIPHER_CTX* context(bool seal) {
  thread_local ThreadContexts contexts;
  EVP_CIPHER_CTX*& ctx = seal ? contexts.seal : contexts.open;
  if (!ctx) {
    ctx = EVP_CIPHER_CTX_new();
    int ok = seal ? EVP_EncryptInit_ex2(ctx, openssl_chacha(), nullptr, nullptr, nullptr)
                  : EVP_DecryptInit_ex2(ctx, openssl_chacha(), nullptr, nullptr, nullptr);
    if (ok != 1) {
      EVP_CIPHER_CTX_free(ctx);
      ctx = nullptr;
    }
  }
  return ctx;
}

void sodium_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                 const uint8_t* in, size_t len, uint8_t* out, uint8_t* tag_out) {
  ensure_sodium();
  uint8_t empty = 0;
  if (len == 0) in = out = &empty;  // libsodium declares the buffers nonnull even for 0 bytes
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag_out, nullptr, in, len, aad,
                                                     aad_len, nullptr, nonce, key.data());
}

bool sodium_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                 const uint8_t* in, size_t len, const uint8_t* tag, uint8_t* out) {
  ensure_sodium();
  uint8_t empty = 0;
  if (len == 0) in = out = &empty;
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, in, len, tag, aad,
                                                            aad_len, nonce, key.data()) == 0;
}

// false: OpenSSL cannot do it (no cipher, or a context refused the key): nothing changed.
bool openssl_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                  const uint8_t* in, size_t len, uint8_t* out, uint8_t* tag_out) {
  EVP_CIPHER_CTX* ctx = openssl_chacha() ? context(true) : nullptr;
  if (!ctx || EVP_EncryptInit_ex2(ctx, nullptr, key.data(), nonce, nullptr) != 1) return false;
  int n = 0;
  if (EVP_EncryptUpdate(ctx, nullptr, &n, aad, static_cast<int>(aad_len)) != 1 ||
      EVP_EncryptUpdate(ctx, out, &n, in, static_cast<int>(len)) != 1 ||
      EVP_EncryptFinal_ex(ctx, out + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag_out) != 1)
    std::abort();  // a keyed stream cipher cannot fail here; a half-sealed packet must not leave
  return true;
}

// -1: OpenSSL cannot do it (nothing changed); otherwise 1 = authentic, 0 = bad tag.
int openssl_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                 const uint8_t* in, size_t len, const uint8_t* tag, uint8_t* out) {
  EVP_CIPHER_CTX* ctx = openssl_chacha() ? context(false) : nullptr;
  if (!ctx || EVP_DecryptInit_ex2(ctx, nullptr, key.data(), nonce, nullptr) != 1) return -1;
  int n = 0;
  if (EVP_DecryptUpdate(ctx, nullptr, &n, aad, static_cast<int>(aad_len)) != 1 ||
      EVP_DecryptUpdate(ctx, out, &n, in, static_cast<int>(len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<uint8_t*>(tag)) != 1)
    return 0;
  return EVP_DecryptFinal_ex(ctx, out + n, &n) == 1 ? 1 : 0;
}
}  // namespace

void make_nonce(uint32_t prefix, uint64_t counter, uint8_t out[12]) {
  wire::put_le(out, prefix);
  wire::put_le(out + 4, counter);
}

void aead_seal_to(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                  const uint8_t* in, size_t len, uint8_t* out, uint8_t* tag_out) {
  if (len >= kOpenSslFrom && openssl_seal(key, nonce, aad, aad_len, in, len, out, tag_out)) return;
  sodium_seal(key, nonce, aad, aad_len, in, len, out, tag_out);
}

void aead_seal(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, uint8_t* tag_out) {
  aead_seal_to(key, nonce, aad, aad_len, data, len, data, tag_out);
}

bool aead_open_to(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
                  const uint8_t* in, size_t len, const uint8_t* tag, uint8_t* out) {
  if (len >= kOpenSslFrom) {
    int r = openssl_open(key, nonce, aad, aad_len, in, len, tag, out);
    if (r >= 0) return r == 1;
  }
  return sodium_open(key, nonce, aad, aad_len, in, len, tag, out);
}

bool aead_open(const Key32& key, const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
               uint8_t* data, size_t len, const uint8_t* tag) {
  return aead_open_to(key, nonce, aad, aad_len, data, len, tag, data);
}

bool aead_seal_with(AeadImpl impl, const Key32& key, const uint8_t nonce[12], const uint8_t* aad,
                    size_t aad_len, uint8_t* data, size_t len, uint8_t* tag_out) {
  if (impl == AeadImpl::kOpenSsl) return openssl_seal(key, nonce, aad, aad_len, data, len, data, tag_out);
  sodium_seal(key, nonce, aad, aad_len, data, len, data, tag_out);
  return true;
}

bool aead_open_with(AeadImpl impl, const Key32& key, const uint8_t nonce[12], const uint8_t* aad,
                    size_t aad_len, uint8_t* data, size_t len, const uint8_t* tag) {
  if (impl == AeadImpl::kOpenSsl) return openssl_open(key, nonce, aad, aad_len, data, len, tag, data) == 1;
  return sodium_open(key, nonce, aad, aad_len, data, len, tag, data);
}

}  // namespace nm::crypto
