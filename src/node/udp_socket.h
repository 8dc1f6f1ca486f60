// The node's one UDP socket. Receives are batched with recvmmsg on the loop thread;
// sends come from any thread (sendto on a datagram socket is atomic per call), serialized
// by the caller when they mix datagrams with and without DF.
//
// Where the kernel offers it, runs of equal-sized datagrams to one address leave as one
// UDP GSO message (UDP_SEGMENT) and the receiver takes coalesced runs (UDP_GRO), so the
// network stack is crossed once per run instead of once per datagram. The wire is the
// same either way: the kernel (or the NIC) splits GSO messages into ordinary datagrams.
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nm::node {

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Creates, sizes and binds the socket; `error` gets the reason on failure.
  bool open(const sockaddr_storage& bind_addr, std::string& error);
  int fd() const { return fd_; }
  const sockaddr_storage& local_address() const { return local_; }
  // Whether a datagram to `to` can leave this socket: a unicast destination of its family
  // (an IPv4 one also from an IPv6 socket bound to [::] that is not IPv6-only). Addresses
  // are given and received as AF_INET for IPv4 either way: the socket maps them.
  bool can_send_to(const sockaddr_storage& to) const { return unreachable_reason(to) == nullptr; }
  // Why not, for an error message; nullptr if it can.
  const char* unreachable_reason(const sockaddr_storage& to) const;

  // Sends one datagram. If the socket buffer is full, waits up to `wait_ms` for room
  // (0 = don't wait). Returns 0 or an errno value. `dont_fragment`: with DF set, and never
  // fragmented here either (EMSGSIZE if larger than the interface allows).
  int send(const uint8_t* data, size_t len, const sockaddr_storage& to, int wait_ms,
           bool dont_fragment = false);

  struct Datagram {
    const uint8_t* data;
    size_t len;
    const sockaddr_storage* to;
    bool dont_fragment = false;  // sized by path MTU discovery: IP must not cut it
    bool refused = false;        // out: skipped, its destination refused it (send_many)
  };
  // Sends datagrams in order with sendmmsg (one syscall per kBatch messages, GSO runs
  // counting as one). Returns how many were dealt with. A datagram its destination refuses
  // (no route, a firewall, an address this socket cannot reach) is marked `refused` and
  // skipped: the rest still go, and *err gets the first such errno. A buffer that stays
  // full (waited on like send()) or an error of the socket itself stops there and sets
  // *err. A DF datagram larger than the interface allows counts as gone (too_big() counts
  // it): to its sender it is a lost probe.
  size_t send_many(Datagram* datagrams, size_t n, int wait_ms, int* err);
  uint64_t too_big() const { return too_big_; }
  // Datagrams send() or send_many() gave up on because their destination refused them.
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // An errno of sendto that concerns the datagram's destination, not the socket.
  static bool destination_error(int e);

  // The largest UDP payload the local route to `to` allows (the interface's MTU, or a
  // smaller path MTU the kernel learned, less the IP and UDP headers); 0 if unknown.
  static uint32_t route_payload_limit(const sockaddr_storage& to);

  struct Received {
    uint8_t* data;
    size_t len;
    const sockaddr_storage* from;
  };
  static constexpr size_t kBatch = 32;
  static constexpr size_t kBufferSize = 65536;  // any UDP datagram fits, so none is truncated
  static constexpr size_t kMaxSegments = 64;    // per GSO message / GRO buffer (kernel limit)
  // Reads up to kBatch messages without blocking into internal buffers and returns their
  // datagrams (a GRO run split back into datagrams), valid until the next call.
  std::span<const Received> receive_batch();

  bool gso() const { return gso_.load(std::memory_order_relaxed); }
  bool gro() const { return gro_; }

 private:
  // How many datagrams from d[0] can go as one GSO message (1 = send it alone).
  size_t gso_run(const Datagram* d, size_t n) const;
  // DF is a socket option (Linux has no per-datagram control for IPv4): set when it
  // changes. Callers serialize sends (the node's send_mu_), so it holds for the next send.
  void set_dont_fragment(bool on);
  // `to` as this socket's family wants it (scratch holds a mapped copy when needed).
  const sockaddr_storage& for_socket(const sockaddr_storage& to, sockaddr_storage& scratch) const;

  int fd_ = -1;
  sockaddr_storage local_{};
  uint8_t* buffers_ = nullptr;
  std::atomic<bool> gso_{false};  // UDP_SEGMENT works here (cleared if the device refuses it)
  bool gro_ = false;
  bool dont_fragment_ = false;
  bool dual_stack_ = false;  // IPv6, bound to [::], not IPv6-only: reaches IPv4 too
  uint64_t too_big_ = 0;
  std::atomic<uint64_t> refused_{0};  // written under the caller's send lock, read by stats
  sockaddr_storage from_[kBatch];
  std::vector<Received> received_;
};

}  // namespace nm::node
