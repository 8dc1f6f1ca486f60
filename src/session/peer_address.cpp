#include "session/peer_address.h"

#include "wire/address.h"

namespace nm::session {

bool PeerAddress::on_authenticated(const sockaddr_storage& from, size_t bytes, bool newest) {
  if (wire::same_address(from, current_)) {
    if (pending_) received_ += bytes;
    return false;
  }
  if (!newest) return false;
  if (wire::same_address(from, validated_)) {
    current_ = validated_;  // back where the peer was proven: nothing to check
    pending_ = false;
    return true;
  }
  move_to(from);
  received_ = bytes;
  return true;
}

void PeerAddress::move_to(const sockaddr_storage& addr) {
  current_ = addr;
  pending_ = true;
  challenge_ = PathChallenge();
  sent_ = 0;
  ++counters_.migrations;
}

bool PeerAddress::challenge_due(int64_t now, int64_t interval_ns) {
  if (!pending_ || !challenge_.send_due(now, interval_ns)) return false;
  ++counters_.challenges_sent;
  return true;
}

bool PeerAddress::on_response(uint64_t token, const sockaddr_storage& from) {
  if (!pending_ || !challenge_.answered_by(token) || !wire::same_address(from, current_)) return false;
  pending_ = false;
  validated_ = current_;
  ++counters_.validations;
  return true;
}

bool PeerAddress::give_up_if_unanswered(int64_t now, int64_t interval_ns) {
  if (!pending_ || !challenge_.exhausted(now, interval_ns)) return false;
  current_ = validated_;
  pending_ = false;
  ++counters_.reverts;
  return true;
}

bool PeerAddress::may_send(size_t bytes) const {
  return !pending_ || sent_ + bytes <= kAmplification * received_;
}

void PeerAddress::on_sent(size_t bytes) {
  if (pending_) sent_ += bytes;
}

}  // namespace nm::session
