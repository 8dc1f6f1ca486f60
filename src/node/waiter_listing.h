// A blocking call's waiter (on the caller's stack) listed in one of the node's lists while
// the call waits, so the I/O thread can find and wake it. The guard takes it out of the list
// however the call ends, an exception included (an allocation failing while the call's lock
// was released to send): a list never keeps a pointer into a frame that is gone.
#pragma once
#include <algorithm>
#include <span>
#include <vector>

#include "node/mutex.h"

namespace nm::node {

template <class Waiter>
class WaiterListing {
 public:
  // Lists `waiters` in `list`; `lk` holds the list's mutex now and when the guard ends.
  WaiterListing(MutexLock& lk, std::vector<Waiter*>& list, std::span<Waiter* const> waiters)
      : lk_(lk), list_(list), waiters_(waiters) {
    list_.reserve(list_.size() + waiters_.size());  // all or none: nothing below throws
    list_.insert(list_.end(), waiters_.begin(), waiters_.end());
  }
  WaiterListing(MutexLock& lk, std::vector<Waiter*>& list, Waiter* waiter)
      : lk_(lk), list_(list), one_(waiter), waiters_(&one_, 1) {
    list_.push_back(waiter);
  }
  WaiterListing(const WaiterListing&) = delete;
  WaiterListing& operator=(const WaiterListing&) = delete;

  // Takes the waiters out now (`lk` held); the guard then has nothing left to do.
  void end() {
    for (Waiter* w : waiters_) std::erase(list_, w);
    waiters_ = {};
  }

  // Not analysed: an exception may leave the call while `lk` is released, so the lock is
  // taken again here if needed (the MutexLock then releases it as usual).
  ~WaiterListing() NO_THREAD_SAFETY_ANALYSIS {
    if (waiters_.empty()) return;
    if (!lk_.native().owns_lock()) lk_.native().lock();
    end();
  }

 private:
  MutexLock& lk_;
  std::vector<Waiter*>& list_;
  Waiter* one_ = nullptr;  // the waiter, when there is one (waiters_ views it)
  std::span<Waiter* const> waiters_;
};

}  // namespace nm::node
