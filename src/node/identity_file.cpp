#include "node/identity_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/status.h"

namespace nm::node {

namespace {
// "NMID" || version 1 || ed25519 seed (32) || X25519 private key (32)
constexpr char kMagic[4] = {'N', 'M', 'I', 'D'};
constexpr size_t kFileSize = 4 + 1 + 32 + 32;

std::string why(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

nm_status load_or_create_identity(const std::string& path, crypto::Key32& seed,
                                  crypto::Key32& static_private) {
  uint8_t buf[kFileSize + 1];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n != static_cast<ssize_t>(kFileSize) || std::memcmp(buf, kMagic, 4) != 0 || buf[4] != 1)
      return fail(NM_ERR_INVALID_ARGUMENT, "identity file " + path + " is not a netmesh identity");
    std::memcpy(seed.data(), buf + 5, 32);
    std::memcpy(static_private.data(), buf + 37, 32);
    return NM_OK;
  }
  if (errno != ENOENT) return fail(NM_ERR_INVALID_ARGUMENT, why("cannot read identity file", path));

  std::memcpy(buf, kMagic, 4);
  buf[4] = 1;
  std::memcpy(buf + 5, seed.data(), 32);
  std::memcpy(buf + 37, static_private.data(), 32);
  // Written to a temporary name and renamed, so a crash never leaves half a key behind.
  std::string tmp = path + ".tmp";
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(NM_ERR_INVALID_ARGUMENT, why("cannot create identity file", tmp));
  bool ok = ::write(fd, buf, kFileSize) == static_cast<ssize_t>(kFileSize) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(NM_ERR_INVALID_ARGUMENT, why("cannot write identity file", path));
  }
  return NM_OK;
}

}  // namespace nm::node
