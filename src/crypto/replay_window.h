// 1024-entry anti-replay window over the per-session RX counter, with 0.23's rules (§5).
#pragma once
#include <array>
#include <cstdint>

namespace nm::crypto {

class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 1024;
  // Would `counter` be admitted? (No state change: checked before the AEAD.)
  bool check(uint64_t counter) const;
  // Admit after the AEAD verified; returns false for a replay / too-old counter.
  bool commit(uint64_t counter);
  uint64_t next_expected() const { return next_; }

 private:
  bool seen(uint64_t counter) const;
  uint64_t next_ = 0;  // highest accepted + 1
  std::array<uint64_t, kSize / 64> bits_{};
};

}  // namespace nm::crypto
