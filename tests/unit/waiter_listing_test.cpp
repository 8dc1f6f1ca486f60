#include "node/waiter_listing.h"

#include <gtest/gtest.h>

#include <new>
#include <vector>

namespace nm::node {
namespace {

struct Waiter {
  int id;
};

TEST(WaiterListing, ListsTheWaiterWhileInScopeAndTakesItOutAtTheEnd) {
  Mutex mu;
  MutexLock lk(mu);
  Waiter other{1}, mine{2};
  std::vector<Waiter*> list{&other};
  {
    WaiterListing listed(lk, list, &mine);
    EXPECT_EQ(list, (std::vector<Waiter*>{&other, &mine}));
  }
  EXPECT_EQ(list, std::vector<Waiter*>{&other});
  EXPECT_TRUE(lk.native().owns_lock());
}

TEST(WaiterListing, EndTakesThemOutAtOnceAndOnlyOnce) {
  Mutex mu;
  MutexLock lk(mu);
  Waiter a{1}, b{2}, c{3};
  Waiter* mine[] = {&a, &b};
  std::vector<Waiter*> list{&c};
  {
    WaiterListing listed(lk, list, std::span<Waiter* const>(mine));
    EXPECT_EQ(list.size(), 3u);
    listed.end();
    EXPECT_EQ(list, std::vector<Waiter*>{&c});
    list.push_back(&a);  // listed again by someone else: the guard's end does not touch it
  }
  EXPECT_EQ(list, (std::vector<Waiter*>{&c, &a}));
}

// The case the guard exists for: a call that released its lock to send fails there with an
// exception. The waiter leaves the list under the lock, which the MutexLock then releases.
TEST(WaiterListing, AnExceptionWhileTheLockIsReleasedStillTakesTheWaiterOut) {
  Mutex mu;
  std::vector<Waiter*> list;
  Waiter mine{1};
  EXPECT_THROW(
      {
        MutexLock lk(mu);
        WaiterListing listed(lk, list, &mine);
        lk.unlock();
        throw std::bad_alloc();
      },
      std::bad_alloc);
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(mu.native().try_lock());  // released again
  mu.native().unlock();
}

}  // namespace
}  // namespace nm::node
