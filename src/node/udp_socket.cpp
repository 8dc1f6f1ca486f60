#include "node/udp_socket.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "node/address.h"

namespace nm::node {

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
  std::free(buffers_);
}

bool UdpSocket::open(const sockaddr_storage& bind_addr, std::string& error) {
  fd_ = ::socket(bind_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  // Large buffers absorb bursts between loop wake-ups (the kernel caps them at rmem_max).
  int size = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&bind_addr), address_length(bind_addr)) != 0) {
    error = "bind " + format_address(bind_addr) + ": " + std::strerror(errno);
    return false;
  }
  socklen_t len = sizeof local_;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local_), &len);
  buffers_ = static_cast<uint8_t*>(std::malloc(kBatch * kBufferSize));
  if (!buffers_) {
    error = "out of memory";
    return false;
  }
  return true;
}

int UdpSocket::send(const uint8_t* data, size_t len, const sockaddr_storage& to, int wait_ms) {
  for (;;) {
    ssize_t n = ::sendto(fd_, data, len, 0, reinterpret_cast<const sockaddr*>(&to), address_length(to));
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_ms <= 0) return errno;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return EAGAIN;
    wait_ms = 0;  // one wait only: a socket that stays full is a transport failure
  }
}

size_t UdpSocket::send_many(const Datagram* d, size_t n, int wait_ms, int* err) {
  size_t done = 0;
  while (done < n) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    size_t k = std::min(kBatch, n - done);
    for (size_t i = 0; i < k; ++i) {
      const Datagram& g = d[done + i];
      iov[i] = {const_cast<uint8_t*>(g.data), g.len};
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(g.to);
      msgs[i].msg_hdr.msg_namelen = address_length(*g.to);
    }
    int sent = ::sendmmsg(fd_, msgs, static_cast<unsigned>(k), 0);
    if (sent > 0) {
      done += static_cast<size_t>(sent);
      continue;
    }
    // Nothing went: let send() apply the EINTR / full-buffer rules to the first one.
    int e = send(d[done].data, d[done].len, *d[done].to, wait_ms);
    if (e != 0) {
      if (err) *err = e;
      return done;
    }
    ++done;
  }
  return done;
}

size_t UdpSocket::receive_batch(Received* out) {
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {buffers_ + i * kBufferSize, kBufferSize};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &out[i].from;
    msgs[i].msg_hdr.msg_namelen = sizeof out[i].from;
  }
  int n = ::recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    out[i].data = buffers_ + i * kBufferSize;
    out[i].len = msgs[i].msg_len;
  }
  return static_cast<size_t>(n);
}

}  // namespace nm::node
