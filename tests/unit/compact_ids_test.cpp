// Which session a compact header's session id bits name (session/compact_ids.h).
#include <gtest/gtest.h>

#include <utility>

#include "session/compact_ids.h"

namespace nm::session {
namespace {

TEST(CompactIds, ASessionHoldsItsLowBitsWhileItLives) {
  CompactIds ids;
  {
    CompactIds::Lease a = ids.claim(0xAAAA'0000'1234'5678);
    ASSERT_TRUE(a);
    EXPECT_EQ(ids.find(0x1234'5678), 0xAAAA'0000'1234'5678u);
    EXPECT_EQ(ids.find(0x1234'5679), 0u);
  }
  EXPECT_EQ(ids.find(0x1234'5678), 0u);  // released with the session
  EXPECT_EQ(ids.size(), 0u);
}

// Two sessions whose ids share the low 32 bits: the first keeps them, the second gets none
// (and announces no compact headers); once the first ends, a later session may hold them.
TEST(CompactIds, SharedLowBitsStayWithTheFirstSession) {
  CompactIds ids;
  CompactIds::Lease first = ids.claim(0x1111'0000'0000'0042);
  CompactIds::Lease second = ids.claim(0x2222'0000'0000'0042);
  ASSERT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(ids.find(0x42), 0x1111'0000'0000'0042u);
  second = CompactIds::Lease();  // an empty lease releases nothing
  EXPECT_EQ(ids.find(0x42), 0x1111'0000'0000'0042u);
  first = CompactIds::Lease();
  EXPECT_EQ(ids.find(0x42), 0u);
  CompactIds::Lease third = ids.claim(0x3333'0000'0000'0042);
  EXPECT_TRUE(third);
  EXPECT_EQ(ids.find(0x42), 0x3333'0000'0000'0042u);
}

TEST(CompactIds, AMovedLeaseIsReleasedOnceByItsLastHolder) {
  CompactIds ids;
  CompactIds::Lease a = ids.claim(7);
  CompactIds::Lease b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  a = CompactIds::Lease();
  EXPECT_EQ(ids.find(7), 7u);
  CompactIds::Lease c = ids.claim(8);
  c = std::move(b);  // c's own bits go, b's stay with c
  EXPECT_EQ(ids.find(8), 0u);
  EXPECT_EQ(ids.find(7), 7u);
  c = CompactIds::Lease();
  EXPECT_EQ(ids.size(), 0u);
}

TEST(CompactIds, IdZeroIsNeverHeld) {  // 0.23's handshake packets carry session id 0
  CompactIds ids;
  EXPECT_FALSE(ids.claim(0));
  EXPECT_EQ(ids.find(0), 0u);
}

}  // namespace
}  // namespace nm::session
