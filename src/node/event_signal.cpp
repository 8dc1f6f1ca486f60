#include "node/event_signal.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace nm::node {

EventSignal::EventSignal() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

EventSignal::~EventSignal() {
  if (fd_ >= 0) close(fd_);
}

void EventSignal::add(int64_t delta) {
  bool was = pending_ > 0;
  pending_ += delta;
  bool now = pending_ > 0;
  if (fd_ < 0 || was == now || forever_) return;
  uint64_t v = 1;
  if (now) {
    (void)!write(fd_, &v, sizeof v);
  } else {
    (void)!read(fd_, &v, sizeof v);
  }
}

void EventSignal::raise_forever() {
  if (forever_ || fd_ < 0) return;
  forever_ = true;
  uint64_t v = 1;
  (void)!write(fd_, &v, sizeof v);
}

}  // namespace nm::node
