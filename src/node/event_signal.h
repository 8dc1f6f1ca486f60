// A level-triggered eventfd: readable while the node has unread events, so applications
// can poll/epoll/select it instead of receiving callbacks.
#pragma once
#include <cstdint>

namespace nm::node {

class EventSignal {
 public:
  EventSignal();
  ~EventSignal();
  int fd() const { return fd_; }
  // Caller serialises (the node mutex). Crossing 0 raises or clears the fd.
  void add(int64_t delta);
  void raise_forever();  // on shutdown: stay readable so pollers wake up

 private:
  int fd_;
  int64_t pending_ = 0;
  bool forever_ = false;
};

}  // namespace nm::node
