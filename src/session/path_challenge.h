// One path challenge (RFC 9000 §8.2): a random token sent to an address up to kMaxSends
// times, each waiting an interval for its answer. Shared by a session following its peer to
// a new address (peer_address.h) and a relayed session proving a punched path
// (Node::start_direct_probe). Pure logic (time passed in).
#pragma once
#include <cstdint>

namespace nm::session {

class PathChallenge {
 public:
  static constexpr int kMaxSends = 3;

  explicit PathChallenge(uint64_t token = 0) : token_(token) {}

  uint64_t token() const { return token_; }
  // Whether a send (first or repeat) is due now; if so, counts it as sent at `now`.
  // `interval_ns`: how long one waits for an answer.
  bool send_due(int64_t now, int64_t interval_ns) {
    if (sent_ >= kMaxSends || (sent_ > 0 && now - last_ns_ < interval_ns)) return false;
    ++sent_;
    last_ns_ = now;
    return true;
  }
  // Every send went unanswered for an interval.
  bool exhausted(int64_t now, int64_t interval_ns) const {
    return sent_ >= kMaxSends && now - last_ns_ >= interval_ns;
  }
  // `token` answers this challenge (one was sent).
  bool answered_by(uint64_t token) const { return sent_ > 0 && token == token_; }
  // The path's round trip, from an answer arriving now: only while one send was made (a
  // repeat carries the same token, so which one was answered is unknown); else 0.
  int64_t round_trip(int64_t now) const { return sent_ == 1 ? now - last_ns_ : 0; }

 private:
  uint64_t token_;
  int sent_ = 0;
  int64_t last_ns_ = 0;
};

}  // namespace nm::session
