#include "node/udp_socket.h"

#include <linux/udp.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "wire/address.h"

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
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&bind_addr), wire::address_length(bind_addr)) != 0) {
    error = "bind " + wire::format_address(bind_addr) + ": " + std::strerror(errno);
    return false;
  }
  socklen_t len = sizeof local_;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local_), &len);
  if (local_.ss_family == AF_INET6) {
    int v6only = 1;
    socklen_t optlen = sizeof v6only;
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6&>(local_).sin6_addr;
    dual_stack_ = getsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) == 0 && !v6only &&
                  (IN6_IS_ADDR_UNSPECIFIED(&ip) || IN6_IS_ADDR_V4MAPPED(&ip));
  }
  buffers_ = static_cast<uint8_t*>(std::malloc(kBatch * kBufferSize));
  if (!buffers_) {
    error = "out of memory";
    return false;
  }
  received_.resize(kBatch * kMaxSegments);
  // Offloads are optional: without them every datagram crosses the stack on its own.
  // NETMESH_DISABLE_UDP_OFFLOAD=1 turns them off (to measure what they bring).
  const char* off = std::getenv("NETMESH_DISABLE_UDP_OFFLOAD");
  if (!off || std::strcmp(off, "1") != 0) {
    int gso_size = 0;
    socklen_t optlen = sizeof gso_size;
    gso_ = getsockopt(fd_, IPPROTO_UDP, UDP_SEGMENT, &gso_size, &optlen) == 0;
    int on = 1;
    gro_ = setsockopt(fd_, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
  }
  return true;
}

void UdpSocket::set_dont_fragment(bool on) {
  if (on == dont_fragment_) return;
  // PROBE: DF set, and the kernel's own path MTU ignored (netmesh searches it itself);
  // WANT: the default, under which IP fragments what is too large.
  int v4 = on ? IP_PMTUDISC_PROBE : IP_PMTUDISC_WANT;
  setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
  if (local_.ss_family == AF_INET6) {
    int v6 = on ? IPV6_PMTUDISC_PROBE : IPV6_PMTUDISC_WANT;
    setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6);
  }
  dont_fragment_ = on;
}

const char* UdpSocket::unreachable_reason(const sockaddr_storage& to) const {
  if (!wire::is_unicast_destination(to))
    return "it is not a unicast destination (port 0, multicast or broadcast)";
  bool v4 = to.ss_family == AF_INET || wire::is_v4_mapped(to);
  if (local_.ss_family == AF_INET && !v4)
    return "it is IPv6 and the node's socket is IPv4 (bind to [::]:0 to reach both)";
  if (local_.ss_family == AF_INET6 && v4 && !dual_stack_)
    return "it is IPv4 and the node's socket is IPv6 only (bind to [::]:0 to reach both)";
  // The kernel refuses (or sends with a source no one can answer) anything else from there.
  if (wire::is_loopback(local_) && !wire::is_loopback(to, true))
    return "the node's socket is bound to loopback, which reaches this host only (bind to 0.0.0.0:0 or [::]:0)";
  return nullptr;
}

const sockaddr_storage& UdpSocket::for_socket(const sockaddr_storage& to, sockaddr_storage& scratch) const {
  if (local_.ss_family == AF_INET6 && to.ss_family == AF_INET) return scratch = wire::v4_mapped(to);
  if (local_.ss_family == AF_INET && wire::is_v4_mapped(to)) return scratch = wire::unmapped(to);
  return to;
}

bool UdpSocket::destination_error(int e) {
  switch (e) {
    case EAFNOSUPPORT:   // a family this socket cannot send to
    case EINVAL:         // port 0, a link-local address without its interface
    case EACCES:         // broadcast
    case EPERM:          // a firewall rule
    case ENETUNREACH:    // no route
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EDESTADDRREQ:
      return true;
    default:
      return false;
  }
}

uint32_t UdpSocket::route_payload_limit(const sockaddr_storage& to) {
  int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint32_t limit = 0;
  bool v6 = to.ss_family == AF_INET6;
  int mtu = 0;
  socklen_t len = sizeof mtu;
  // connect() on a datagram socket only picks the route: nothing is sent.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), wire::address_length(to)) == 0 &&
      getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) == 0) {
    int headers = v6 ? 40 + 8 : 20 + 8;
    if (mtu > headers) limit = static_cast<uint32_t>(mtu - headers);
  }
  ::close(fd);
  return limit;
}

int UdpSocket::send(const uint8_t* data, size_t len, const sockaddr_storage& to, int wait_ms,
                    bool dont_fragment) {
  set_dont_fragment(dont_fragment);
  sockaddr_storage scratch;
  const sockaddr_storage& dest = for_socket(to, scratch);
  for (;;) {
    ssize_t n = ::sendto(fd_, data, len, 0, reinterpret_cast<const sockaddr*>(&dest), wire::address_length(dest));
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    if (destination_error(errno)) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return errno;
    }
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_ms <= 0) return errno;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return EAGAIN;
    wait_ms = 0;  // one wait only: a socket that stays full is a transport failure
  }
}

size_t UdpSocket::gso_run(const Datagram* d, size_t n) const {
  // Every datagram of a run but the last has the run's segment size; the last may be
  // shorter. Together they must fit one UDP datagram's 16-bit length.
  constexpr size_t kMaxRunBytes = 65000;
  if (!gso()) return 1;
  size_t seg = d[0].len, total = seg, k = 1;
  while (k < n && k < kMaxSegments && d[k].len <= seg && total + d[k].len <= kMaxRunBytes &&
         d[k].dont_fragment == d[0].dont_fragment &&
         (d[k].to == d[0].to || wire::same_address(*d[k].to, *d[0].to))) {
    total += d[k].len;
    if (d[k++].len < seg) break;
  }
  return k;
}

size_t UdpSocket::send_many(Datagram* d, size_t n, int wait_ms, int* err) {
  constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(uint16_t));
  size_t done = 0;
  bool refusal_seen = false;
  while (done < n) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch * kMaxSegments];
    sockaddr_storage names[kBatch];
    alignas(cmsghdr) uint8_t control[kBatch][kCmsgSpace];
    size_t runs[kBatch];
    size_t k = 0, next = done, used_iov = 0;
    set_dont_fragment(d[done].dont_fragment);
    while (k < kBatch && next < n && d[next].dont_fragment == d[done].dont_fragment) {
      size_t run = gso_run(d + next, n - next);
      mmsghdr& m = msgs[k];
      std::memset(&m, 0, sizeof m);
      for (size_t i = 0; i < run; ++i)
        iov[used_iov + i] = {const_cast<uint8_t*>(d[next + i].data), d[next + i].len};
      m.msg_hdr.msg_iov = &iov[used_iov];
      m.msg_hdr.msg_iovlen = run;
      const sockaddr_storage& dest = for_socket(*d[next].to, names[k]);
      m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&dest);
      m.msg_hdr.msg_namelen = wire::address_length(dest);
      if (run > 1) {
        m.msg_hdr.msg_control = control[k];
        m.msg_hdr.msg_controllen = kCmsgSpace;
        cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = static_cast<uint16_t>(d[next].len);
        std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      used_iov += run;
      runs[k++] = run;
      next += run;
    }
    int sent = ::sendmmsg(fd_, msgs, static_cast<unsigned>(k), 0);
    if (sent > 0) {
      for (int i = 0; i < sent; ++i) done += runs[i];
      continue;
    }
    // Nothing went: let send() apply the EINTR / full-buffer rules to the first one.
    bool gso_refused = runs[0] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP);
    int e = send(d[done].data, d[done].len, *d[done].to, wait_ms, d[done].dont_fragment);
    // A run refused while its first datagram alone goes: the device cannot segment (no
    // checksum offload), so send plainly from now on. Else its destination refused it.
    if (gso_refused && e == 0) gso_ = false;
    if (e == EMSGSIZE && d[done].dont_fragment) {
      ++too_big_;  // what follows it still goes
      ++done;
      continue;
    }
    if (destination_error(e)) {  // this one's destination: the others may still be reached
      d[done++].refused = true;
      if (err && !refusal_seen) *err = e;
      refusal_seen = true;
      continue;
    }
    if (e != 0) {
      if (err) *err = e;
      break;
    }
    ++done;
  }
  return done;
}

std::span<const UdpSocket::Received> UdpSocket::receive_batch() {
  constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(int));
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  alignas(cmsghdr) uint8_t control[kBatch][kCmsgSpace];
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {buffers_ + i * kBufferSize, kBufferSize};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from_[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from_[i];
    if (gro_) {
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = kCmsgSpace;
    }
  }
  int n = ::recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return {};
  size_t count = 0;
  for (int i = 0; i < n; ++i) {
    if (wire::is_v4_mapped(from_[i])) from_[i] = wire::unmapped(from_[i]);  // IPv4 peers as AF_INET
    uint8_t* data = buffers_ + i * kBufferSize;
    size_t len = msgs[i].msg_len;
    size_t seg = len;  // one datagram unless the kernel coalesced a run
    for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        if (size > 0) seg = static_cast<size_t>(size);
      }
    }
    if (len == 0) {
      received_[count++] = {data, 0, &from_[i]};  // empty datagram: dropped as malformed later
      continue;
    }
    for (size_t off = 0; off < len && count < received_.size(); off += seg)
      received_[count++] = {data + off, std::min(seg, len - off), &from_[i]};
  }
  return {received_.data(), count};
}

}  // namespace nm::node
