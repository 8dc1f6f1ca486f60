// Per-stream settings, fixed by the first explicit open (wire spec §7).
#pragma once
#include <cstdint>

namespace nm::stream {

enum class CloseBehaviour { kDrainThenClose, kDropAndClose };

struct StreamConfig {
  bool reliable = false;
  uint32_t window_bytes = 65536;  // 0 = unbounded: no credit is checked or granted
  uint8_t fairness_weight = 1;
  CloseBehaviour close = CloseBehaviour::kDropAndClose;  // net-mesh's default
};

}  // namespace nm::stream
