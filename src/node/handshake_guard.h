// What a node checks before it spends public-key work on a handshake message, and what it
// remembers after. Pure logic plus an optional file; no clock reads (callers pass now_ns),
// not thread-safe.
//
//  * A token bucket: at most rate_per_sec msg1s are examined per second (bursts of one
//    second's worth). Anyone can send msg1s, and each costs an X25519 before it can be
//    told from noise, so a flood beyond the rate is dropped unexamined.
//  * A replay cache of initiator ephemeral keys (the first 32 bytes of msg1): a msg1 is
//    answered once. It holds the last kCapacity authenticated ephemerals and, with a file
//    (the node's identity_file + ".replay"), survives restarts exactly when the static key
//    does — a msg1 captured before a restart of a node with a random key cannot decrypt.
//    An older replay that has left the cache is still harmless: the session it makes
//    stays unconfirmed (no authenticated packet can arrive on it) and never replaces a
//    live one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "crypto/noise.h"

namespace nm::node {

class HandshakeGuard {
 public:
  static constexpr size_t kCapacity = 16384;

  // rate_per_sec 0 = unlimited. replay_file empty = in memory only.
  HandshakeGuard(uint32_t rate_per_sec, std::string replay_file);
  HandshakeGuard(const HandshakeGuard&) = delete;  // the hash refers to our own secret
  HandshakeGuard& operator=(const HandshakeGuard&) = delete;

  // Takes one token if there is one.
  bool admit(int64_t now_ns);
  bool seen(const crypto::Key32& ephemeral) const { return seen_.contains(key(ephemeral)); }
  // Records an ephemeral whose msg1 authenticated (and appends it to the file).
  void remember(const crypto::Key32& ephemeral);
  size_t size() const { return order_.size(); }

 private:
  struct Key {
    uint64_t a, b;  // 128 bits of the ephemeral: collisions are out of reach
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {  // keyed (SipHash): PSK holders choose their ephemerals
    const uint8_t* secret;
    size_t operator()(const Key& k) const noexcept;
  };
  static Key key(const crypto::Key32& ephemeral);
  void insert(const Key& k);
  void load();
  bool rewrite();  // false if the file could not be replaced

  double rate_;
  double tokens_;
  int64_t refilled_ns_ = INT64_MIN;
  std::string file_;
  size_t records_in_file_ = 0;
  uint8_t hash_secret_[16];
  std::unordered_set<Key, KeyHash> seen_;
  std::deque<Key> order_;  // oldest first
};

}  // namespace nm::node
