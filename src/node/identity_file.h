// A node's long-term keys on disk, so its node id and Noise static key (which peers pin)
// survive restarts. net-mesh 0.23 regenerates the static key on every start; we don't.
#pragma once
#include <string>

#include "crypto/noise.h"
#include "netmesh.h"

namespace nm::node {

// Loads the ed25519 seed and the X25519 static private key from `path`. If the file does
// not exist it is created (mode 0600, written atomically) from the values passed in, which
// callers fill with the configured or random keys.
nm_status load_or_create_identity(const std::string& path, crypto::Key32& identity_seed,
                                  crypto::Key32& static_private);

}  // namespace nm::node
