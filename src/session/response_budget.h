// What one peer's packets may make a node send beyond new application data: retransmissions
// (on NACK, timer or a loss the session declared), ACK/NACK packets, credit grants, answers
// to credit probes, our own credit probes.
// Without a bound an authenticated peer holds an amplifier: one NACK frame of 45 bytes
// names 64 packets of 8 KiB to resend (SECURITY.md, "Amplification").
//
// The budget is earned by
//  * twice the bytes of every authenticated datagram the peer sends (what it "paid"), and
//  * the bytes of our data the peer acknowledges for the first time (a receiver that gets
//    data may see its losses repaired up to as much again: legitimate loss recovery,
//    whatever the loss rate up to 50%, never waits on it),
// starts at kInitialBytes (losses before the first ACK), and is capped at kCapBytes (what a
// peer that behaved can cash in later). So over any period a peer's packets make the
// session send at most 2 x (bytes received) + (bytes acknowledged) + kCapBytes of it.
// Pure logic, not thread-safe.
#pragma once
#include <algorithm>
#include <cstdint>

namespace nm::session {

class ResponseBudget {
 public:
  static constexpr uint64_t kInitialBytes = 64 * 1024;
  static constexpr uint64_t kCapBytes = 4 * 1024 * 1024;

  void on_received(uint64_t datagram_bytes) { add(2 * datagram_bytes); }
  void on_acknowledged(uint64_t bytes) { add(bytes); }
  // Takes `bytes` if available; false = not now (the caller retries later or drops).
  bool spend(uint64_t bytes) {
    if (bytes > available_) {
      ++refused_;
      return false;
    }
    available_ -= bytes;
    return true;
  }
  uint64_t available() const { return available_; }
  uint64_t refused() const { return refused_; }

 private:
  void add(uint64_t bytes) { available_ = std::min(kCapBytes, available_ + bytes); }
  uint64_t available_ = kInitialBytes;
  uint64_t refused_ = 0;
};

}  // namespace nm::session
