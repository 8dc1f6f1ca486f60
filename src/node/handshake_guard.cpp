#include "node/handshake_guard.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "node/private_file.h"

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
  // A compaction that fails (no room for its temporary) is tried again kCapacity records
  // later; appending goes on meanwhile.
  if (++records_in_file_ > 2 * kCapacity) {
    if (rewrite()) return;
    records_in_file_ = kCapacity;
  }
  // (Non-blocking: a FIFO at that path must not stall the node.)
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) return;  // best effort: the in-memory cache still protects this run
  [[maybe_unused]] ssize_t n = ::write(fd, &k, sizeof k);
  ::close(fd);
}

void HandshakeGuard::load() {
  // A healthy file holds at most 2 x kCapacity records (and the one that triggers the
  // compaction). Anything else at that path (a FIFO, /dev/zero, a huge file) is not ours
  // to read; a torn last record (a crash mid-append) is cut off, or every record appended
  // after it would be misaligned and never found again.
  std::vector<uint8_t> bytes;
  int err = read_private_file(file_, (2 * kCapacity + 1) * sizeof(Key), bytes);
  if (err == EFBIG) rewrite();  // not what we wrote: start it again
  if (err != 0) return;
  for (size_t at = 0; at + sizeof(Key) <= bytes.size(); at += sizeof(Key)) {
    Key k;
    std::memcpy(&k, bytes.data() + at, sizeof k);
    insert(k);
    ++records_in_file_;
  }
  if (bytes.size() % sizeof(Key) != 0) rewrite();
}

bool HandshakeGuard::rewrite() {
  std::vector<Key> all(order_.begin(), order_.end());
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(all.data()), all.size() * sizeof(Key));
  if (write_private_file(file_, bytes, /*replace=*/true) != 0) return false;
  records_in_file_ = all.size();
  return true;
}

}  // namespace nm::node
