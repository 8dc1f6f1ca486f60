#include "node/handshake_guard.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace nm::node {

size_t HandshakeGuard::KeyHash::operator()(const Key& k) const noexcept {
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const uint8_t*>(&k), sizeof k, secret);
  size_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

HandshakeGuard::HandshakeGuard(uint32_t rate_per_sec, std::string replay_file)
    : rate_(rate_per_sec), tokens_(rate_per_sec), file_(std::move(replay_file)),
      seen_(0, KeyHash{hash_secret_}) {
  if (sodium_init() < 0) std::abort();
  randombytes_buf(hash_secret_, sizeof hash_secret_);
  if (!file_.empty()) load();
}

bool HandshakeGuard::admit(int64_t now_ns) {
  if (rate_ == 0) return true;
  if (refilled_ns_ != INT64_MIN)
    tokens_ = std::min(rate_, tokens_ + static_cast<double>(now_ns - refilled_ns_) * 1e-9 * rate_);
  refilled_ns_ = now_ns;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

HandshakeGuard::Key HandshakeGuard::key(const crypto::Key32& ephemeral) {
  Key k;
  std::memcpy(&k, ephemeral.data(), sizeof k);
  return k;
}

void HandshakeGuard::insert(const Key& k) {
  if (!seen_.insert(k).second) return;
  order_.push_back(k);
  if (order_.size() > kCapacity) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
}

void HandshakeGuard::remember(const crypto::Key32& ephemeral) {
  Key k = key(ephemeral);
  insert(k);
  if (file_.empty()) return;
  // Appended as it happens (handshakes are rate limited); compacted at twice the capacity.
  if (++records_in_file_ > 2 * kCapacity) {
    rewrite();
    return;
  }
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;  // best effort: the in-memory cache still protects this run
  [[maybe_unused]] ssize_t n = ::write(fd, &k, sizeof k);
  ::close(fd);
}

void HandshakeGuard::load() {
  FILE* f = std::fopen(file_.c_str(), "rb");
  if (!f) return;
  Key k;
  while (std::fread(&k, sizeof k, 1, f) == 1) {
    insert(k);
    ++records_in_file_;
  }
  std::fclose(f);
}

void HandshakeGuard::rewrite() {
  std::string tmp = file_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::vector<Key> all(order_.begin(), order_.end());
  bool ok = ::write(fd, all.data(), all.size() * sizeof(Key)) == static_cast<ssize_t>(all.size() * sizeof(Key));
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (ok && std::rename(tmp.c_str(), file_.c_str()) == 0) records_in_file_ = all.size();
}

}  // namespace nm::node
