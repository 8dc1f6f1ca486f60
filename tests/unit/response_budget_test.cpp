// ResponseBudget: what a peer's packets may make a session send beyond new data.
#include "session/response_budget.h"

#include <gtest/gtest.h>

namespace nm::session {
namespace {

TEST(ResponseBudget, StartsWithTheInitialAllowanceAndEarnsTwiceWhatArrives) {
  ResponseBudget b;
  EXPECT_EQ(b.available(), ResponseBudget::kInitialBytes);
  EXPECT_TRUE(b.spend(ResponseBudget::kInitialBytes));
  EXPECT_FALSE(b.spend(1));
  EXPECT_EQ(b.refused(), 1u);
  b.on_received(100);
  EXPECT_TRUE(b.spend(200));
  EXPECT_FALSE(b.spend(1));
  b.on_acknowledged(8192);
  EXPECT_TRUE(b.spend(8192));
}

TEST(ResponseBudget, IsCapped) {
  ResponseBudget b;
  for (int i = 0; i < 10000; ++i) b.on_acknowledged(1 << 20);
  EXPECT_EQ(b.available(), ResponseBudget::kCapBytes);
}

// A NACK flood: whatever the attacker sends, the session sends at most twice that plus the
// initial allowance.
TEST(ResponseBudget, AFloodOfSmallRequestsBuysAtMostTwiceItsBytes) {
  ResponseBudget b;
  uint64_t in = 0, out = 0;
  for (int i = 0; i < 100000; ++i) {
    b.on_received(129);  // one NACK packet
    in += 129;
    while (b.spend(8276)) out += 8276;  // each one would resend full packets
  }
  EXPECT_LE(out, 2 * in + ResponseBudget::kInitialBytes);
}

}  // namespace
}  // namespace nm::session
