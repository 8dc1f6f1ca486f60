#pragma once
#include <chrono>
#include <cstdint>

namespace nm::node {

// CLOCK_MONOTONIC nanoseconds: every timer and timestamp inside the node.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A now_ns() timestamp as nanoseconds since the Unix epoch (what net-mesh reports, e.g. as
// last_activity_ns): the wall clock minus how long ago it was, so clock steps do not
// disturb the node's own timers.
inline uint64_t to_unix_ns(int64_t monotonic_ns) {
  int64_t wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return static_cast<uint64_t>(wall - (now_ns() - monotonic_ns));
}

}  // namespace nm::node
