#include "node/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace nm::node {

namespace {
std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return true;
}
}  // namespace

int read_private_file(const std::string& path, size_t max_bytes, std::vector<uint8_t>& out) {
  // Non-blocking: opening a FIFO with no writer must not wait.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno;
  struct stat st;
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (!S_ISREG(st.st_mode)) {
    err = EINVAL;
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    err = EFBIG;
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // shorter than it was a moment ago: what is there
      got += static_cast<size_t>(n);
    }
    out.resize(got);
  }
  ::close(fd);
  return err;
}

int write_private_file(const std::string& path, std::span<const uint8_t> bytes, bool replace) {
  std::string tmp = path + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // O_EXCL, mode 0600: a new file of ours
  if (fd < 0) return errno;
  int err = 0;
  if (!write_all(fd, bytes) || ::fsync(fd) != 0) err = errno ? errno : EIO;
  ::close(fd);
  if (err == 0) {
    // link() never replaces what is there (another process may have just made it).
    if (replace ? ::rename(tmp.c_str(), path.c_str()) != 0 : ::link(tmp.c_str(), path.c_str()) != 0)
      err = errno;
  }
  ::unlink(tmp.c_str());  // after a rename: nothing there any more
  if (err != 0) return err;
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {  // the new name survives a crash
    ::fsync(dir);
    ::close(dir);
  }
  return 0;
}

}  // namespace nm::node
