#include "node/identity_file.h"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "node/private_file.h"
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
  // Twice at most: if another process creates the file between our look and our write,
  // its identity is the one (the file is never replaced once there).
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<uint8_t> buf;
    int err = read_private_file(path, kFileSize, buf);
    if (err == 0) {
      if (buf.size() != kFileSize || std::memcmp(buf.data(), kMagic, 4) != 0 || buf[4] != 1)
        return fail(NM_ERR_INVALID_ARGUMENT, "identity file " + path + " is not a netmesh identity");
      std::memcpy(seed.data(), buf.data() + 5, 32);
      std::memcpy(static_private.data(), buf.data() + 37, 32);
      return NM_OK;
    }
    if (err != ENOENT) {
      errno = err == EFBIG || err == EINVAL ? EINVAL : err;
      return fail(NM_ERR_INVALID_ARGUMENT,
                  err == EFBIG || err == EINVAL ? "identity file " + path + " is not a netmesh identity (not a "
                                                      "regular file of " + std::to_string(kFileSize) + " bytes)"
                                                : why("cannot read identity file", path));
    }
    uint8_t out[kFileSize];
    std::memcpy(out, kMagic, 4);
    out[4] = 1;
    std::memcpy(out + 5, seed.data(), 32);
    std::memcpy(out + 37, static_private.data(), 32);
    err = write_private_file(path, out, /*replace=*/false);
    sodium_memzero(out, sizeof out);
    if (err == 0) return NM_OK;
    if (err != EEXIST) {
      errno = err;
      return fail(NM_ERR_INVALID_ARGUMENT, why("cannot write identity file", path));
    }
  }
  return fail(NM_ERR_INVALID_ARGUMENT, "identity file " + path + " keeps changing");
}

}  // namespace nm::node
