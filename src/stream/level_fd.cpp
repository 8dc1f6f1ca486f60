#include "stream/level_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace nm::stream {

LevelFd::~LevelFd() {
  if (fd_ >= 0) close(fd_);
}

bool LevelFd::open() {
  if (fd_ >= 0) return true;
  fd_ = eventfd(level_ ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK);  // starts at the level set so far
  return fd_ >= 0;
}

void LevelFd::set(bool level) {
  if (level == level_) return;
  level_ = level;
  if (fd_ < 0) return;
  uint64_t v = 1;
  if (level) {
    (void)!write(fd_, &v, sizeof v);
  } else {
    (void)!read(fd_, &v, sizeof v);  // the counter back to 0: not readable
  }
}

}  // namespace nm::stream
