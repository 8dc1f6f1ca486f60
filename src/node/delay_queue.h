// Datagrams held back by fault injection until their delivery time. Filled from any
// thread, drained by the loop thread.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "node/mutex.h"

namespace nm::node {

struct DelayedDatagram {
  int64_t due_ns = 0;
  uint64_t order = 0;    // FIFO among equal due times
  bool inbound = false;  // true: deliver to ourselves; false: send to `addr`
  std::vector<uint8_t> bytes;
  sockaddr_storage addr{};
};

class DelayQueue {
 public:
  // What the queue holds at most: a long delay on a fast stream of datagrams (inbound ones
  // are anyone's) must not hold memory without bound.
  static constexpr size_t kMaxBytes = 64u << 20;
  enum class Pushed { kEarliest, kQueued, kFull };  // kEarliest: re-arm the timer
  Pushed push(DelayedDatagram&& d);
  std::optional<DelayedDatagram> pop_due(int64_t now_ns);
  std::optional<int64_t> next_due();

 private:
  struct Later {
    bool operator()(const DelayedDatagram& a, const DelayedDatagram& b) const {
      return a.due_ns != b.due_ns ? a.due_ns > b.due_ns : a.order > b.order;
    }
  };
  Mutex mu_;
  uint64_t next_order_ GUARDED_BY(mu_) = 0;
  size_t bytes_ GUARDED_BY(mu_) = 0;
  std::priority_queue<DelayedDatagram, std::vector<DelayedDatagram>, Later> q_ GUARDED_BY(mu_);
};

}  // namespace nm::node
