// Where a direct session sends: the peer's address, which may change under it (a NAT
// rebinding gives the peer a new public port; a device moves to another network).
//
// The path follows the peer on authenticated packets only, and only on the newest one (the
// highest packet number so far: a late packet from the old address must not pull the path
// back). A new address is unproven: an attacker who replays or forwards a captured packet
// from a victim's address (the replay window admits the first copy to arrive) would
// otherwise aim all our traffic at the victim. So, as in RFC 9000 §8-9:
//  - until the peer answers a challenge at the new address, we send there at most
//    kAmplification x the bytes that arrived from there;
//  - a challenge is repeated kMaxChallenges times; unanswered, the path goes back to the last
//    address that answered (if the peer really moved, its next packet moves it again).
// Pure logic (time passed in); not thread-safe.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "session/path_challenge.h"

namespace nm::session {

class PeerAddress {
 public:
  static constexpr uint64_t kAmplification = 3;
  static constexpr int kMaxChallenges = PathChallenge::kMaxSends;

  // The handshake proved the peer receives at `validated`.
  explicit PeerAddress(const sockaddr_storage& validated) : current_(validated), validated_(validated) {}

  const sockaddr_storage& current() const { return current_; }
  const sockaddr_storage& last_validated() const { return validated_; }
  bool validated() const { return !pending_; }

  // An authenticated datagram of `bytes` arrived from `from`; `newest`: its packet number is
  // the highest so far. true when this moves the path to `from`: the caller then starts a
  // challenge there (begin_challenge) and re-indexes the peer by address.
  bool on_authenticated(const sockaddr_storage& from, size_t bytes, bool newest);

  // A fresh random token for the challenge of the address just moved to.
  void begin_challenge(uint64_t token) { challenge_ = PathChallenge(token); }
  uint64_t token() const { return challenge_.token(); }
  // Whether a challenge (first or repeat) is due now; if so, counts it as sent at `now`.
  // `interval_ns`: how long one waits for an answer (the caller's estimate of a round trip
  // and then some).
  bool challenge_due(int64_t now, int64_t interval_ns);
  // The peer answered `token` from `from`; true if that validated the current address.
  bool on_response(uint64_t token, const sockaddr_storage& from);
  // The current challenge's round trip if answered now (PathChallenge::round_trip).
  int64_t challenge_round_trip(int64_t now) const { return challenge_.round_trip(now); }
  // Every challenge went unanswered for `interval_ns`: back to the last validated address.
  // true if it went back (the caller re-indexes the peer by address).
  bool give_up_if_unanswered(int64_t now, int64_t interval_ns);

  // The anti-amplification limit: whether `bytes` more may go to current() now. on_sent
  // records what went (only counted while the address is unproven).
  bool may_send(size_t bytes) const;
  void on_sent(size_t bytes);

  struct Counters {
    uint64_t migrations = 0;   // moves to a new address
    uint64_t validations = 0;  // new addresses that answered a challenge
    uint64_t reverts = 0;      // challenges unanswered: back to the validated address
    uint64_t challenges_sent = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  void move_to(const sockaddr_storage& addr);

  sockaddr_storage current_;
  sockaddr_storage validated_;  // the last address that proved it reaches the peer
  bool pending_ = false;        // current_ has not answered a challenge yet
  PathChallenge challenge_;     // of current_
  uint64_t received_ = 0, sent_ = 0;  // bytes from and to current_ while pending
  Counters counters_;
};

}  // namespace nm::session
