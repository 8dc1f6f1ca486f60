#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "crypto/noise.h"
#include "session/congestion.h"
#include "stream/stream_config.h"

namespace nm::node {

struct NodeConfig {
  sockaddr_storage bind_addr{};
  crypto::Key32 psk{};
  crypto::Key32 identity_seed{};       // all-zero = random
  crypto::Key32 static_private_key{};  // all-zero = random
  std::string identity_file;           // if set: the keys are loaded from / saved to it
  uint32_t heartbeat_interval_ms = 5000;
  uint32_t handshake_timeout_ms = 5000;
  uint32_t handshake_retries = 3;
  uint32_t session_timeout_ms = 30000;
  uint32_t stream_idle_timeout_ms = 300000;
  uint32_t max_streams = 4096;
  uint32_t max_event_bytes = 16 << 20;  // largest (fragmented) event sent or accepted
  uint32_t drain_timeout_ms = 5000;     // DrainThenClose waits this long for acknowledgements
  bool compat_0_23 = false;             // offer/accept no netmesh extensions
  uint32_t suspect_after_ms = 60000;    // a neighbour silent this long is Suspected
  uint32_t fail_after_ms = 90000;       // ... and this long Failed: routes avoid it
  uint8_t pingwave_ttl = 8;             // how far our pingwaves travel
  uint64_t session_rate_bytes_per_sec = 0;  // 0 = unpaced; else weighted fair pacing
  uint32_t max_sessions = 1024;          // sessions and pending handshakes together
  uint32_t handshake_rate_per_sec = 500;  // msg1s examined per second (0 = unlimited)
  uint64_t max_session_buffer_bytes = 32 << 20;  // held for one peer (session/rx_budget.h)
  uint64_t max_buffer_bytes = 256 << 20;         // held for all peers together
  session::CongestionAlgorithm congestion_control = session::CongestionAlgorithm::kCubic;
  uint32_t auto_direct_ms = 0;  // 0: off; else relayed sessions try for a direct path this often
  stream::StreamConfig inbound_stream;  // config of streams the peer starts
};

}  // namespace nm::node
