#pragma once
#include <chrono>
#include <cstdint>

namespace nm::node {

// CLOCK_MONOTONIC nanoseconds: what last_activity_ns reports.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace nm::node
