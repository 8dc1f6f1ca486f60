// The node's one UDP socket. Receives are batched with recvmmsg on the loop thread;
// sends come from any thread (sendto on a datagram socket is atomic per call).
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

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
  // Sends datagrams in order with sendmmsg (one syscall per kBatch). Returns how many went
  // out; on an error stops there and sets *err (a full buffer is waited on like send()).
  size_t send_many(const Datagram* datagrams, size_t n, int wait_ms, int* err);

  struct Received {
    uint8_t* data;
    size_t len;
    sockaddr_storage from;
  };
  static constexpr size_t kBatch = 32;
  static constexpr size_t kBufferSize = 65536;  // any UDP datagram fits, so none is truncated
  // Reads up to kBatch datagrams without blocking into internal buffers (valid until the
  // next call). Returns how many.
  size_t receive_batch(Received* out);

 private:
  int fd_ = -1;
  sockaddr_storage local_{};
  uint8_t* buffers_ = nullptr;
};

}  // namespace nm::node
