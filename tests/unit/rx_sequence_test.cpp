// RxSequence: duplicates, gaps, and a 0.23 sender's stream restart.
#include "stream/rx_sequence.h"

#include <gtest/gtest.h>

namespace nm::stream {
namespace {

using V = RxSequence::Verdict;

TEST(RxSequence, DuplicatesAreDroppedWithDedupAndGapsCounted) {
  RxSequence r;
  EXPECT_EQ(r.record(0, true), V::kNew);
  EXPECT_EQ(r.record(2, true), V::kNew);
  EXPECT_EQ(r.gaps(), 1u);
  EXPECT_EQ(r.record(1, true), V::kNew);  // late: fills the gap
  EXPECT_EQ(r.gaps(), 0u);
  EXPECT_EQ(r.record(2, true), V::kDuplicate);
  EXPECT_EQ(r.record(2, false), V::kNew);  // fire-and-forget from 0.23 delivers them
  EXPECT_EQ(r.next_seq(), 3u);
}

// A 0.23 sender closes and reopens a reliable stream: 30 packets, then 40 from 0 again.
TEST(RxSequence, A023ReopenStartsAgainInsteadOfDroppingTheOverlap) {
  RxSequence r;
  for (uint64_t s = 0; s < 30; ++s) ASSERT_EQ(r.record(s, true, true), V::kNew);
  EXPECT_EQ(r.record(0, true, true), V::kRestart);
  for (uint64_t s = 1; s < 40; ++s) ASSERT_EQ(r.record(s, true, true), V::kNew) << s;
  EXPECT_EQ(r.next_seq(), 40u);
  EXPECT_EQ(r.record(39, true, true), V::kDuplicate);  // a real duplicate still is one
}

TEST(RxSequence, ARestartIsFoundEvenIfItsFirstPacketsAreLost) {
  RxSequence r;
  for (uint64_t s = 0; s < 5; ++s) r.record(s, true, true);
  EXPECT_EQ(r.record(3, true, true), V::kRestart);  // 0..2 of the new incarnation lost
  EXPECT_EQ(r.record(4, true, true), V::kNew);
}

TEST(RxSequence, NoRestartWithEpochsOrBeyondTheFirstSequences) {
  RxSequence netmesh;
  for (uint64_t s = 0; s < 30; ++s) netmesh.record(s, true, false);
  EXPECT_EQ(netmesh.record(0, true, false), V::kDuplicate);  // netmesh says so with epochs
  RxSequence r;
  for (uint64_t s = 0; s < 30; ++s) r.record(s, true, true);
  EXPECT_EQ(r.record(RxSequence::kRestartSeqs, true, true), V::kDuplicate);
  EXPECT_EQ(r.record(29, true, true), V::kDuplicate);  // the highest is not "after later ones"
}

TEST(RxSequence, FarBehindMeansTheSenderStartedOver) {
  RxSequence r;
  r.record(5000, true);
  EXPECT_EQ(r.record(3, true), V::kNew);
  EXPECT_EQ(r.next_seq(), 4u);
}

}  // namespace
}  // namespace nm::stream
