// The peers whose direct msg1 a node answers, each with its precomputed Noise hash (the
// part of the responder's state that depends on the initiator's id): trying them all
// costs one X25519 per msg1 plus a hash per peer (crypto::NoiseResponder).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "crypto/noise.h"

namespace nm::node {

class AllowedPeers {
 public:
  bool contains(uint64_t peer) const { return index_.contains(peer); }
  bool empty() const { return ids_.empty(); }
  // false if already allowed.
  bool add(uint64_t peer, const crypto::Digest& candidate) {
    if (!index_.try_emplace(peer, ids_.size()).second) return false;
    ids_.push_back(peer);
    hashes_.push_back(candidate);
    return true;
  }
  void remove(uint64_t peer) {
    auto it = index_.find(peer);
    if (it == index_.end()) return;
    size_t i = it->second, last = ids_.size() - 1;
    ids_[i] = ids_[last];
    hashes_[i] = hashes_[last];
    index_[ids_[i]] = i;
    ids_.pop_back();
    hashes_.pop_back();
    index_.erase(peer);
  }
  std::optional<size_t> index_of(uint64_t peer) const {
    auto it = index_.find(peer);
    return it == index_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  uint64_t id(size_t i) const { return ids_[i]; }
  std::span<const crypto::Digest> hashes() const { return hashes_; }

 private:
  std::unordered_map<uint64_t, size_t> index_;
  std::vector<uint64_t> ids_;
  std::vector<crypto::Digest> hashes_;
};

}  // namespace nm::node
