// The receive budget (session/rx_budget.h): per-session and node-wide totals, the room a
// session has left, and the guard that carries a stream's change to them.
#include <gtest/gtest.h>

#include "session/rx_budget.h"

namespace nm::session {
namespace {

struct Holder {
  uint64_t bytes = 0;
  uint64_t held_bytes() const { return bytes; }
};

TEST(RxBudget, RoomIsWhatBothTheSessionAndTheNodeHaveLeft) {
  RxBudget b(1000, 2500);
  RxAccount s1, s2, s3;
  EXPECT_EQ(b.room(s1), 1000u);
  b.update(s1, 0, 900);
  EXPECT_EQ(b.room(s1), 100u);
  EXPECT_EQ(b.room(s2), 1000u);
  b.update(s2, 0, 1000);
  EXPECT_EQ(b.room(s2), 0u);
  EXPECT_EQ(b.room(s3), 600u);  // the node has 600 left
  b.update(s3, 0, 600);
  EXPECT_EQ(b.held(), 2500u);
  EXPECT_EQ(b.room(s3), 0u);
  b.update(s1, 900, 100);  // released
  EXPECT_EQ(b.room(s3), 400u);
  EXPECT_EQ(b.room(s1), 800u);
}

TEST(RxBudget, OverTheLimitLeavesNoRoom) {
  // A covered operation (an event completing into its reservation) may end up past the
  // limit by construction of the caller; room saturates at zero instead of wrapping.
  RxBudget b(100, 100);
  RxAccount s;
  b.update(s, 0, 150);
  EXPECT_EQ(b.room(s), 0u);
}

TEST(RxBudget, ReleasingASessionTakesEverythingItHeld) {
  RxBudget b(1000, 5000);
  RxAccount s1, s2;
  b.update(s1, 0, 700);
  b.update(s2, 0, 300);
  b.release(s1);
  EXPECT_EQ(s1.held, 0u);
  EXPECT_EQ(b.held(), 300u);
  EXPECT_EQ(b.room(s2), 700u);
}

TEST(RxBudget, HeldChangeCarriesWhatHappenedInItsScope) {
  RxBudget b(1000, 1000);
  RxAccount s;
  Holder h;
  {
    HeldChange c(b, s, h);
    h.bytes = 400;
  }
  EXPECT_EQ(s.held, 400u);
  {
    HeldChange c(b, s, h);
    h.bytes = 150;
  }
  EXPECT_EQ(s.held, 150u);
  EXPECT_EQ(b.held(), 150u);
  { HeldChange c(b, s, h); }  // nothing changed
  EXPECT_EQ(b.held(), 150u);
}

}  // namespace
}  // namespace nm::session
