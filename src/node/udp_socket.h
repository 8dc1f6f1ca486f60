// The node's one UDP socket. Receives are batched with recvmmsg on the loop thread;
// sends come from any thread (sendto on a datagram socket is atomic per call).
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

  // Sends one datagram. If the socket buffer is full, waits up to `wait_ms` for room
  // (0 = don't wait). Returns 0 or an errno value.
  int send(const uint8_t* data, size_t len, const sockaddr_storage& to, int wait_ms);

  struct Datagram {
    const uint8_t* data;
    size_t len;
    const sockaddr_storage* to;
  };
  // Sends datagrams in order with sendmmsg (one syscall per kBatch messages, GSO runs
  // counting as one). Returns how many went out; on an error stops there and sets *err
  // (a full buffer is waited on like send()).
  size_t send_many(const Datagram* datagrams, size_t n, int wait_ms, int* err);

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

  int fd_ = -1;
  sockaddr_storage local_{};
  uint8_t* buffers_ = nullptr;
  std::atomic<bool> gso_{false};  // UDP_SEGMENT works here (cleared if the device refuses it)
  bool gro_ = false;
  sockaddr_storage from_[kBatch];
  std::vector<Received> received_;
};

}  // namespace nm::node
