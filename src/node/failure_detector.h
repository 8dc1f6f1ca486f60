// Per-peer liveness from verified heartbeats (wire spec §10; 0.23 failure.rs). Pure
// logic: no clock reads (callers pass now_ns), not thread-safe.
//
// A peer's state is a function of the time since its last heartbeat (or add):
//   elapsed <  suspect_after_ns                 Healthy
//   suspect_after_ns <= elapsed < fail_after_ns Suspected
//   elapsed >= fail_after_ns                    Failed
// 0.23: timeout = session_timeout (30 s), missed = elapsed / timeout, >= 2 Suspected,
// >= 3 Failed, i.e. the 60 s / 90 s defaults below. Feed it only heartbeats that passed
// AEAD and the replay window; data packets do not count.
//
// Degradation is detected by check(); a heartbeat recovers a Suspected or Failed peer
// immediately (state() is Healthy at once). check() reports the net change per peer since
// the previous check() as one Transition: a peer that went Healthy -> Failed between two
// checks is reported once as Healthy -> Failed (no Suspected step), and a peer that
// recovered and failed again between two checks is not reported at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace nm::node {

struct FailureDetectorConfig {
  int64_t suspect_after_ns = 60'000'000'000;  // 0.23: 2 x 30 s session timeout
  int64_t fail_after_ns = 90'000'000'000;     // 0.23: 3 x 30 s
};

class FailureDetector {
 public:
  enum class State : uint8_t { kHealthy, kSuspected, kFailed, kUnknown /* not tracked */ };

  struct Transition {
    uint64_t peer = 0;
    State from = State::kHealthy;
    State to = State::kHealthy;
    friend bool operator==(const Transition&, const Transition&) = default;
  };

  // suspect_after_ns is clamped to >= 1 and fail_after_ns to >= suspect_after_ns.
  explicit FailureDetector(FailureDetectorConfig config = {});

  // Starts tracking `peer` as Healthy (no transition reported). For a tracked peer this
  // is a heartbeat.
  void add(uint64_t peer, int64_t now_ns);
  // Stops tracking; no transition is reported.
  void remove(uint64_t peer);
  // A verified heartbeat: refreshes the peer and makes it Healthy. Ignored for a peer not
  // tracked (a late heartbeat must not resurrect a removed peer). A now_ns older than the
  // last heartbeat does not move it back.
  void heartbeat(uint64_t peer, int64_t now_ns);

  // Re-evaluates every peer at now_ns; returns the state changes since the previous
  // check(), sorted by peer id, each reported exactly once.
  std::vector<Transition> check(int64_t now_ns);

  // State as of the last check() or heartbeat()/add(); kUnknown if not tracked.
  State state(uint64_t peer) const;
  size_t size() const { return peers_.size(); }
  const FailureDetectorConfig& config() const { return config_; }

 private:
  struct Peer {
    int64_t last_heartbeat_ns = 0;
    State state = State::kHealthy;     // current
    State reported = State::kHealthy;  // as of the previous check()
  };
  State evaluate(const Peer& p, int64_t now_ns) const;

  FailureDetectorConfig config_;
  std::unordered_map<uint64_t, Peer> peers_;
};

const char* failure_state_name(FailureDetector::State s);

}  // namespace nm::node
