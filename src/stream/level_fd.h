// An eventfd used as a level: readable exactly while set, for applications that poll or
// epoll instead of blocking in a receive. Opened on demand: most streams are never polled.
#pragma once

namespace nm::stream {

class LevelFd {
 public:
  LevelFd() = default;
  ~LevelFd();
  LevelFd(const LevelFd&) = delete;
  LevelFd& operator=(const LevelFd&) = delete;

  // Opens the eventfd if not yet open (non-blocking, close-on-exec); false if that fails.
  bool open();
  int fd() const { return fd_; }
  // A syscall only when the level changes. Caller serialises.
  void set(bool level);

 private:
  int fd_ = -1;
  bool level_ = false;
};

}  // namespace nm::stream
