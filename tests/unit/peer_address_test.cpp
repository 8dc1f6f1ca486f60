// PeerAddress: a direct session follows its peer to a new address on authenticated packets,
// sends there under the anti-amplification limit until a challenge is answered, and goes
// back to the validated address when none is.
#include "session/peer_address.h"

#include <gtest/gtest.h>

#include "wire/address.h"

namespace nm::session {
namespace {

sockaddr_storage at(const char* text) {
  sockaddr_storage a{};
  EXPECT_TRUE(wire::parse_address(text, a));
  return a;
}

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kInterval = 100 * kMs;

TEST(PathChallenge, SendsUpToThreeTimesAnIntervalApartThenIsExhausted) {
  PathChallenge c(99);
  EXPECT_FALSE(c.answered_by(99));  // nothing sent yet
  ASSERT_TRUE(c.send_due(0, kInterval));
  EXPECT_FALSE(c.send_due(kInterval - 1, kInterval));
  EXPECT_TRUE(c.answered_by(99));
  EXPECT_FALSE(c.answered_by(98));
  ASSERT_TRUE(c.send_due(kInterval, kInterval));
  ASSERT_TRUE(c.send_due(2 * kInterval, kInterval));
  EXPECT_FALSE(c.send_due(10 * kInterval, kInterval));
  EXPECT_FALSE(c.exhausted(3 * kInterval - 1, kInterval));
  EXPECT_TRUE(c.exhausted(3 * kInterval, kInterval));
}

TEST(PathChallenge, AnAnswerGivesTheRoundTripOnlyWhileOneWasSent) {
  PathChallenge c(7);
  EXPECT_EQ(c.round_trip(5 * kMs), 0);  // nothing sent
  ASSERT_TRUE(c.send_due(10 * kMs, kInterval));
  EXPECT_EQ(c.round_trip(14 * kMs), 4 * kMs);
  ASSERT_TRUE(c.send_due(10 * kMs + kInterval, kInterval));
  EXPECT_EQ(c.round_trip(12 * kMs + kInterval), 0);  // the first send's answer, or the repeat's?
}

TEST(PeerAddress, StaysOnPacketsFromTheKnownAddress) {
  PeerAddress p(at("10.0.0.1:4000"));
  EXPECT_FALSE(p.on_authenticated(at("10.0.0.1:4000"), 1000, true));
  EXPECT_TRUE(p.validated());
  EXPECT_TRUE(p.may_send(1 << 30));  // a validated address has no limit
  EXPECT_EQ(p.counters().migrations, 0u);
}

TEST(PeerAddress, ALatePacketFromAnotherAddressDoesNotMoveIt) {
  PeerAddress p(at("10.0.0.1:4000"));
  EXPECT_FALSE(p.on_authenticated(at("10.0.0.9:5000"), 1000, false));
  EXPECT_TRUE(wire::same_address(p.current(), at("10.0.0.1:4000")));
}

TEST(PeerAddress, TheNewestPacketMovesItAndTheLimitHoldsUntilAnAnswer) {
  PeerAddress p(at("10.0.0.1:4000"));
  ASSERT_TRUE(p.on_authenticated(at("198.51.100.7:6000"), 100, true));
  EXPECT_TRUE(wire::same_address(p.current(), at("198.51.100.7:6000")));
  EXPECT_FALSE(p.validated());
  EXPECT_EQ(p.counters().migrations, 1u);
  // 3 x 100 bytes may go there, no more.
  EXPECT_TRUE(p.may_send(300));
  p.on_sent(250);
  EXPECT_FALSE(p.may_send(51));
  EXPECT_TRUE(p.may_send(50));
  // More arriving from there earns more.
  EXPECT_FALSE(p.on_authenticated(at("198.51.100.7:6000"), 100, true));
  EXPECT_TRUE(p.may_send(350));
  EXPECT_FALSE(p.may_send(351));
  // Packets from elsewhere do not.
  EXPECT_FALSE(p.on_authenticated(at("10.0.0.1:4000"), 5000, false));
  EXPECT_FALSE(p.may_send(351));

  p.begin_challenge(0xC0FFEE);
  ASSERT_TRUE(p.challenge_due(0, kInterval));
  EXPECT_FALSE(p.on_response(0xBAD, at("198.51.100.7:6000")));       // wrong token
  EXPECT_FALSE(p.on_response(0xC0FFEE, at("10.0.0.1:4000")));        // from elsewhere
  EXPECT_TRUE(p.on_response(0xC0FFEE, at("198.51.100.7:6000")));
  EXPECT_TRUE(p.validated());
  EXPECT_TRUE(p.may_send(1 << 30));
  EXPECT_EQ(p.counters().validations, 1u);
  EXPECT_FALSE(p.on_response(0xC0FFEE, at("198.51.100.7:6000")));  // only once
}

TEST(PeerAddress, ChallengesRepeatAfterTheIntervalThenItGoesBack) {
  PeerAddress p(at("10.0.0.1:4000"));
  ASSERT_TRUE(p.on_authenticated(at("203.0.113.5:7000"), 100, true));
  p.begin_challenge(42);
  int64_t now = 0;
  ASSERT_TRUE(p.challenge_due(now, kInterval));
  EXPECT_FALSE(p.challenge_due(now + kInterval - 1, kInterval));
  for (int i = 1; i < PeerAddress::kMaxChallenges; ++i) {
    now += kInterval;
    EXPECT_FALSE(p.give_up_if_unanswered(now, kInterval));
    ASSERT_TRUE(p.challenge_due(now, kInterval));
  }
  EXPECT_FALSE(p.challenge_due(now + 10 * kInterval, kInterval));  // no more than kMaxChallenges
  EXPECT_FALSE(p.give_up_if_unanswered(now + kInterval - 1, kInterval));
  ASSERT_TRUE(p.give_up_if_unanswered(now + kInterval, kInterval));
  EXPECT_TRUE(wire::same_address(p.current(), at("10.0.0.1:4000")));
  EXPECT_TRUE(p.validated());
  EXPECT_EQ(p.counters().reverts, 1u);
  EXPECT_EQ(p.counters().challenges_sent, static_cast<uint64_t>(PeerAddress::kMaxChallenges));
  EXPECT_FALSE(p.on_response(42, at("203.0.113.5:7000")));  // too late
}

TEST(PeerAddress, BackToTheValidatedAddressNeedsNoChallenge) {
  PeerAddress p(at("10.0.0.1:4000"));
  ASSERT_TRUE(p.on_authenticated(at("203.0.113.5:7000"), 100, true));
  ASSERT_TRUE(p.on_authenticated(at("10.0.0.1:4000"), 100, true));
  EXPECT_TRUE(p.validated());
  EXPECT_FALSE(p.challenge_due(0, kInterval));
  EXPECT_EQ(p.counters().migrations, 1u);
}

TEST(PeerAddress, AMoveToAThirdAddressStartsOver) {
  PeerAddress p(at("10.0.0.1:4000"));
  ASSERT_TRUE(p.on_authenticated(at("203.0.113.5:7000"), 1000, true));
  p.on_sent(2000);
  ASSERT_TRUE(p.on_authenticated(at("203.0.113.5:7001"), 100, true));
  EXPECT_TRUE(p.may_send(300));  // its own allowance, from its own bytes
  EXPECT_FALSE(p.may_send(301));
  p.begin_challenge(7);
  EXPECT_TRUE(p.challenge_due(0, kInterval));
  EXPECT_FALSE(p.on_response(7, at("203.0.113.5:7000")));  // the previous candidate
  EXPECT_TRUE(p.on_response(7, at("203.0.113.5:7001")));
  EXPECT_EQ(p.counters().migrations, 2u);
}

}  // namespace
}  // namespace nm::session
