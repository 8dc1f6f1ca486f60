// BLAKE2s / HMAC / HKDF, AEAD, session derivation and the replay window (wire spec §1, §3.6, §5).
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/replay_window.h"
#include "crypto/session_keys.h"
#include "hex.h"

namespace nm::crypto {
namespace {

using test::from_hex;
using test::to_hex;
using test::key_from_hex;

Bytes ascii(const char* s) { return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)}; }

std::vector<uint8_t> iota_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}

// ---- BLAKE2s, HMAC, HKDF ----

TEST(Blake2s, Rfc7693AbcVector) {
  EXPECT_EQ(to_hex(blake2s(ascii("abc"))),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  EXPECT_EQ(to_hex(blake2s({})), "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
}

TEST(Blake2s, KeyedKnownAnswers) {
  // blake2s-kat.txt (reference BLAKE2 package): key = 00..1f, input = 00..(n-1).
  const auto key = iota_bytes(32);
  EXPECT_EQ(to_hex(blake2s_keyed(key, {})),
            "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
  EXPECT_EQ(to_hex(blake2s_keyed(key, iota_bytes(3))),
            "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b");
  // Keyed mode is not the hash of key || message.
  EXPECT_NE(blake2s_keyed(key, ascii("abc")), blake2s2(key, ascii("abc")));
  EXPECT_THROW(blake2s_keyed(iota_bytes(33), {}), std::invalid_argument);
}

TEST(Blake2s, TwoPartEqualsConcatenation) {
  const auto a = iota_bytes(70), b = iota_bytes(5);
  std::vector<uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(blake2s2(a, b), blake2s(ab));
  EXPECT_EQ(blake2s2(a, {}), blake2s(a));
}

TEST(HmacBlake2s, MatchesPythonHmacModule) {
  // Expected values from Python's hmac.new(key, msg, hashlib.blake2s).
  EXPECT_EQ(to_hex(hmac_blake2s(ascii("key"), ascii("The quick brown fox jumps over the lazy dog"))),
            "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0");
  // A key of exactly one block is used as is; longer keys are hashed first.
  EXPECT_EQ(to_hex(hmac_blake2s(iota_bytes(64), ascii("msg"))),
            "a5dc3951538c6666a6b803261613e59a75dace58b6614a5f9d019f080ac34a21");
  EXPECT_EQ(to_hex(hmac_blake2s(iota_bytes(65), ascii("msg"))),
            "04baa328d2828e3450c93cc9475355b1bf0696e958388203df730a1f9ffc3111");
  EXPECT_EQ(to_hex(hmac_blake2s(iota_bytes(100), ascii("msg"))),
            "d262c404e86fa6bc5be7b1aabcdc6737627e135c5b98de4a3b85ebc08ac01d54");
}

TEST(HmacBlake2s, IsNotKeyedBlake2s) {
  const auto key = iota_bytes(32);
  EXPECT_NE(hmac_blake2s(key, ascii("abc")), blake2s_keyed(key, ascii("abc")));
}

TEST(Hkdf, NoiseConstruction) {
  Digest ck;
  std::copy_n(iota_bytes(32).begin(), 32, ck.begin());
  Digest o1, o2, o3;
  hkdf(ck, ascii("input key material"), o1, o2, o3);
  EXPECT_EQ(to_hex(o1), "93e2a65883e34ac95485f5d0aa4b09163a4e944dab8cf9406d3a138e362851c6");
  EXPECT_EQ(to_hex(o2), "dd6fae42afdb2a41170f44dc5b885ec4cfd17c8dd324d38b390c548630dd0a83");
  EXPECT_EQ(to_hex(o3), "4125e0adfa9b7e736615e99dde6f3f0b64b949d8b480e82cab2e685dc286e45d");

  // Spelled out: temp = HMAC(ck, ikm); out1 = HMAC(temp, 01); out2 = HMAC(temp, out1 || 02).
  const Digest temp = hmac_blake2s(ck, ascii("input key material"));
  const uint8_t one[] = {1};
  EXPECT_EQ(o1, hmac_blake2s(temp, one));
  std::vector<uint8_t> m2(o1.begin(), o1.end());
  m2.push_back(2);
  EXPECT_EQ(o2, hmac_blake2s(temp, m2));

  Digest p1, p2;
  hkdf(ck, ascii("input key material"), p1, p2);
  EXPECT_EQ(p1, o1);
  EXPECT_EQ(p2, o2);
}

TEST(Hkdf, OutputsMayAliasTheChainingKey) {
  // Noise's MixKey does ck, k = HKDF(ck, ikm).
  Digest ck = blake2s(ascii("ck"));
  Digest expected1, expected2;
  hkdf(ck, ascii("ikm"), expected1, expected2);
  Digest k;
  hkdf(ck, ascii("ikm"), ck, k);
  EXPECT_EQ(ck, expected1);
  EXPECT_EQ(k, expected2);
}

// ---- AEAD ----

TEST(Aead, NonceLayout) {
  uint8_t nonce[12];
  make_nonce(0x66DC9AE9, 2, nonce);
  EXPECT_EQ(to_hex(std::span<const uint8_t>(nonce, 12)), "e99adc660200000000000000");
}

TEST(Aead, SealOpenAndTamperDetection) {
  const Key32 key = key_from_hex("9457be78de21d84cdf49157fc26fee956d392fa50c20938dd5cb70e2f88760c4");
  uint8_t nonce[12];
  make_nonce(1, 7, nonce);
  const auto aad = iota_bytes(56);
  const auto plain = iota_bytes(40);

  std::vector<uint8_t> data = plain;
  uint8_t tag[16];
  aead_seal(key, nonce, aad.data(), aad.size(), data.data(), data.size(), tag);
  EXPECT_NE(data, plain);

  auto opens = [&](const Key32& k, const uint8_t* n, std::vector<uint8_t> a, std::vector<uint8_t> c,
                   const uint8_t* t) {
    const bool ok = aead_open(k, n, a.data(), a.size(), c.data(), c.size(), t);
    if (ok) {
      EXPECT_EQ(c, plain);
    }
    return ok;
  };
  EXPECT_TRUE(opens(key, nonce, aad, data, tag));

  auto bad_data = data;
  bad_data[3] ^= 1;
  EXPECT_FALSE(opens(key, nonce, aad, bad_data, tag));
  auto bad_aad = aad;
  bad_aad[6] ^= 1;
  EXPECT_FALSE(opens(key, nonce, bad_aad, data, tag));
  uint8_t bad_tag[16];
  std::copy_n(tag, 16, bad_tag);
  bad_tag[15] ^= 0x80;
  EXPECT_FALSE(opens(key, nonce, aad, data, bad_tag));
  uint8_t other_nonce[12];
  make_nonce(1, 8, other_nonce);
  EXPECT_FALSE(opens(key, other_nonce, aad, data, tag));
  Key32 other_key = key;
  other_key[0] ^= 1;
  EXPECT_FALSE(opens(other_key, nonce, aad, data, tag));
}

TEST(Aead, EmptyPlaintextStillAuthenticates) {
  const Key32 key{};
  uint8_t nonce[12];
  make_nonce(0, 0, nonce);
  const auto aad = iota_bytes(56);
  uint8_t tag[16];
  aead_seal(key, nonce, aad.data(), aad.size(), nullptr, 0, tag);
  EXPECT_TRUE(aead_open(key, nonce, aad.data(), aad.size(), nullptr, 0, tag));
  tag[0] ^= 1;
  EXPECT_FALSE(aead_open(key, nonce, aad.data(), aad.size(), nullptr, 0, tag));
}

// ---- Session derivation and identities ----

// aead_seal/aead_open switch implementation by size: both must compute the same function,
// byte for byte, at every size (around the switch point, full packets, odd lengths).
TEST(Aead, LibsodiumAndOpenSslAgreeAtEverySize) {
  std::mt19937 rng(7);
  Key32 key;
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  uint8_t nonce[12], aad[56];
  for (auto& b : nonce) b = static_cast<uint8_t>(rng());
  for (auto& b : aad) b = static_cast<uint8_t>(rng());
  uint8_t probe_tag[16];
  uint8_t probe_data[1] = {0};
  if (!aead_seal_with(AeadImpl::kOpenSsl, key, nonce, aad, sizeof aad, probe_data, 0, probe_tag))
    GTEST_SKIP() << "this OpenSSL has no ChaCha20-Poly1305: libsodium is used throughout";
  for (size_t len : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{700}, size_t{1023},
                     size_t{1024}, size_t{1025}, size_t{1399}, size_t{1400}, size_t{4096}, size_t{8103}, size_t{8108}}) {
    std::vector<uint8_t> plain(len);
    for (auto& b : plain) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> a = plain, b = plain, c = plain;
    uint8_t ta[16], tb[16], tc[16];
    ASSERT_TRUE(aead_seal_with(AeadImpl::kSodium, key, nonce, aad, sizeof aad, a.data(), len, ta));
    ASSERT_TRUE(aead_seal_with(AeadImpl::kOpenSsl, key, nonce, aad, sizeof aad, b.data(), len, tb));
    aead_seal(key, nonce, aad, sizeof aad, c.data(), len, tc);
    EXPECT_EQ(a, b) << len;
    EXPECT_EQ(a, c) << len;
    EXPECT_EQ(0, std::memcmp(ta, tb, 16)) << len;
    EXPECT_EQ(0, std::memcmp(ta, tc, 16)) << len;
    // Each opens what the other sealed, and both refuse a flipped tag bit.
    std::vector<uint8_t> x = a, y = a;
    EXPECT_TRUE(aead_open_with(AeadImpl::kOpenSsl, key, nonce, aad, sizeof aad, x.data(), len, ta)) << len;
    EXPECT_TRUE(aead_open_with(AeadImpl::kSodium, key, nonce, aad, sizeof aad, y.data(), len, tb)) << len;
    EXPECT_EQ(x, plain) << len;
    EXPECT_EQ(y, plain) << len;
    ta[len % 16] ^= 1;
    for (AeadImpl impl : {AeadImpl::kSodium, AeadImpl::kOpenSsl}) {
      std::vector<uint8_t> z = a;
      EXPECT_FALSE(aead_open_with(impl, key, nonce, aad, sizeof aad, z.data(), len, ta)) << len;
    }
    std::vector<uint8_t> w = a;
    EXPECT_FALSE(aead_open(key, nonce, aad, sizeof aad, w.data(), len, ta)) << len;
  }
}

TEST(SessionKeys, PrologueLayout) {
  EXPECT_EQ(to_hex(handshake_prologue(0x1111222233334444, 0x5555666677778888)),
            "6e65742d68616e647368616b652d763144443333000000008888777700000000");
}

TEST(SessionKeys, DirectionsAreMirroredAndIdsAgree) {
  const Digest h = blake2s(ascii("some handshake hash"));
  const SessionKeys i = derive_session_keys(h, true);
  const SessionKeys r = derive_session_keys(h, false);
  EXPECT_EQ(i.tx, r.rx);
  EXPECT_EQ(i.rx, r.tx);
  EXPECT_NE(i.tx, i.rx);
  EXPECT_EQ(i.session_id, r.session_id);
  EXPECT_EQ(i.nonce_prefix, r.nonce_prefix);
  EXPECT_EQ(i.nonce_prefix,
            static_cast<uint32_t>(i.session_id) ^ static_cast<uint32_t>(i.session_id >> 32));
}

TEST(SessionKeys, X25519Rfc7748Vector) {
  EXPECT_EQ(to_hex(x25519_public(key_from_hex(
                "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
}

TEST(Identity, NodeIdAndOriginHashOfRfc8032Test1Key) {
  // RFC 8032 §7.1 test 1: derive the public key from the secret seed, then hash it.
  const auto seed = from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  ASSERT_EQ(sodium_init() >= 0, true);
  Key32 pub;
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pub.data(), sk, seed.data());
  EXPECT_EQ(to_hex(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(node_id_from_identity(pub), 0x652f03ba688dde03u);
  EXPECT_EQ(origin_hash_from_identity(pub), 0x96dd720507478b63u);
}

// ---- Replay window ----

TEST(ReplayWindow, AcceptsFromZeroInOrderAndRejectsDuplicates) {
  ReplayWindow w;
  EXPECT_EQ(w.next_expected(), 0u);
  for (uint64_t c = 0; c < 3000; ++c) ASSERT_TRUE(w.commit(c)) << c;
  EXPECT_EQ(w.next_expected(), 3000u);
  EXPECT_FALSE(w.commit(2999));
  EXPECT_FALSE(w.commit(2000));
  EXPECT_FALSE(w.commit(0));
}

TEST(ReplayWindow, OutOfOrderWithinWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.commit(5));
  EXPECT_EQ(w.next_expected(), 6u);
  EXPECT_TRUE(w.commit(3));
  EXPECT_TRUE(w.commit(0));
  EXPECT_TRUE(w.commit(4));
  EXPECT_FALSE(w.commit(3));
  EXPECT_FALSE(w.commit(5));
  EXPECT_TRUE(w.commit(1));
  EXPECT_TRUE(w.commit(2));
  EXPECT_EQ(w.next_expected(), 6u);  // commits below next never move it
  EXPECT_TRUE(w.commit(6));
}

TEST(ReplayWindow, ExactlyWindowSizeOldIsRejected) {
  ReplayWindow w;
  ASSERT_TRUE(w.commit(2000));  // next = 2001
  EXPECT_FALSE(w.check(2001 - 1 - 1024));  // 976: rx_counter - 1 - c == 1024
  EXPECT_FALSE(w.commit(976));
  EXPECT_FALSE(w.commit(0));
  EXPECT_TRUE(w.commit(977));  // 1023 old: last admissible
  EXPECT_FALSE(w.commit(977));
}

TEST(ReplayWindow, BigJumpClearsTheBitmap) {
  ReplayWindow w;
  ASSERT_TRUE(w.commit(10));
  ASSERT_TRUE(w.commit(2000));  // jump of 1990 >= 1024
  // 1034 shares a bitmap slot with 10; it must not look "already seen".
  EXPECT_TRUE(w.check(1034));
  EXPECT_TRUE(w.commit(1034));
  EXPECT_FALSE(w.commit(1034));
}

TEST(ReplayWindow, SmallSlideForgetsOnlyExpiredCounters) {
  ReplayWindow w;
  ASSERT_TRUE(w.commit(10));
  ASSERT_TRUE(w.commit(500));
  ASSERT_TRUE(w.commit(1040));  // slides by 540: counter 10 expires, 500 stays
  EXPECT_FALSE(w.check(10));
  EXPECT_FALSE(w.check(500));
  EXPECT_TRUE(w.check(1034));   // reuses 10's slot
  EXPECT_TRUE(w.check(501));
}

TEST(ReplayWindow, JumpOfExactlyWindowSize) {
  ReplayWindow w;
  ASSERT_TRUE(w.commit(0));
  ASSERT_TRUE(w.commit(1 + 1024));  // next was 1: jump of 1024
  EXPECT_TRUE(w.check(1024));
  EXPECT_TRUE(w.check(2));
  EXPECT_FALSE(w.check(1));  // 1025 - 1 == 1024 old
}

TEST(ReplayWindow, MaxCounterIsRejected) {
  ReplayWindow w;
  EXPECT_FALSE(w.check(UINT64_MAX));
  EXPECT_FALSE(w.commit(UINT64_MAX));
  EXPECT_EQ(w.next_expected(), 0u);
  EXPECT_TRUE(w.commit(UINT64_MAX - 1));
  EXPECT_EQ(w.next_expected(), UINT64_MAX);
  EXPECT_FALSE(w.commit(UINT64_MAX));
  EXPECT_FALSE(w.commit(UINT64_MAX - 1));
  EXPECT_TRUE(w.commit(UINT64_MAX - 2));
  EXPECT_FALSE(w.commit(UINT64_MAX - 1025));
}

TEST(ReplayWindow, CheckDoesNotMutate) {
  ReplayWindow w;
  EXPECT_TRUE(w.check(5));
  EXPECT_TRUE(w.check(5));
  EXPECT_EQ(w.next_expected(), 0u);
  EXPECT_TRUE(w.commit(0));  // still admissible: check(5) moved nothing
  EXPECT_TRUE(w.check(5000));
  EXPECT_EQ(w.next_expected(), 1u);
  EXPECT_TRUE(w.commit(1));
  EXPECT_TRUE(w.commit(5));
  EXPECT_FALSE(w.check(5));
  EXPECT_FALSE(w.check(5));
  EXPECT_EQ(w.next_expected(), 6u);
}

TEST(ReplayWindow, RejectedCommitChangesNothing) {
  ReplayWindow w;
  ASSERT_TRUE(w.commit(3000));
  EXPECT_FALSE(w.commit(10));
  EXPECT_FALSE(w.commit(UINT64_MAX));
  EXPECT_EQ(w.next_expected(), 3001u);
  EXPECT_TRUE(w.commit(2999));
}

TEST(ReplayWindow, MatchesTheSpecModelOnRandomTraffic) {
  // Model straight from §5, with a set instead of a bitmap.
  std::mt19937_64 rng(12345);
  ReplayWindow w;
  uint64_t next = 0;
  std::set<uint64_t> accepted;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t r = rng() % 100;
    uint64_t c;
    if (r < 60) {
      c = next + rng() % 8;  // forward, small gaps
    } else if (r < 95) {
      c = next > 0 ? next - 1 - rng() % std::min<uint64_t>(next, 1100) : 0;  // around the edge
    } else {
      c = next + 900 + rng() % 300;  // jumps near the window size
    }
    const bool expected =
        c != UINT64_MAX && (c >= next || (next - 1 - c < 1024 && !accepted.contains(c)));
    ASSERT_EQ(w.check(c), expected) << "counter " << c << " next " << next;
    ASSERT_EQ(w.commit(c), expected) << "counter " << c << " next " << next;
    if (expected) {
      accepted.insert(c);
      next = std::max(next, c + 1);
    }
    ASSERT_EQ(w.next_expected(), next);
  }
}

}  // namespace
}  // namespace nm::crypto
