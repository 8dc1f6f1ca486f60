// The node's own small files (the identity, the replay cache): read only if they are
// regular files of a bounded size (a FIFO or /dev/zero at that path must not hang or flood
// nm_node_new), written through a fresh temporary that nobody could have planted (no fixed
// name to pre-create or symlink: mode 0600 from the start), then published atomically and
// made durable (the file and its directory synced).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nm::node {

// Reads `path` into `out` if it is a regular file of at most `max_bytes`. Returns 0, or an
// errno: ENOENT (no such file), EFBIG (larger), EINVAL (not a regular file), or another.
int read_private_file(const std::string& path, size_t max_bytes, std::vector<uint8_t>& out);

// Writes `bytes` to `path` through a new temporary. With `replace`, an existing file is
// replaced; without, an existing file stays and EEXIST is returned. Returns 0 or an errno.
int write_private_file(const std::string& path, std::span<const uint8_t> bytes, bool replace);

}  // namespace nm::node
