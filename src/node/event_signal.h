// The node's event fd: readable while any of its streams has unread events, so applications
// can poll/epoll/select it instead of receiving callbacks.
#pragma once
#include <cstdint>

#include "stream/level_fd.h"

namespace nm::node {

class EventSignal {
 public:
  EventSignal() { level_.open(); }
  int fd() const { return level_.fd(); }
  // Caller serialises (the node mutex). Crossing 0 raises or clears the fd.
  void add(int64_t delta) {
    pending_ += delta;
    if (!forever_) level_.set(pending_ > 0);
  }
  void raise_forever() {  // on shutdown: stay readable so pollers wake up
    forever_ = true;
    level_.set(true);
  }

 private:
  stream::LevelFd level_;
  int64_t pending_ = 0;
  bool forever_ = false;
};

}  // namespace nm::node
