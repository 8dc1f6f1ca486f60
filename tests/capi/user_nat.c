#include "user_nat.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_support.h"

/* A UDP socket on 127.0.0.<host> (Linux routes all of 127/8 to the loopback). */
static int udp_socket(int host) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)host)};
  assert_int_equal(bind(fd, (struct sockaddr*)&any, sizeof any), 0);
  return fd;
}

int user_nat_port_of(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr*)&sa, &len);
  return ntohs(sa.sin_port);
}

/* Whether the thief wants this datagram: any, or a Net packet of its subprotocol. */
static int steals(user_nat* n, const unsigned char* d, ssize_t len) {
  int want = atomic_load(&n->steal_subprotocol);
  return !want || (len >= 68 && d[0] == 0x45 && d[1] == 0x4E && (d[8] | d[9] << 8) == want);
}

static void* nat_main(void* arg) {
  user_nat* n = arg;
  unsigned char buf[65536];
  while (!atomic_load(&n->stop)) {
    struct pollfd fds[3] = {{n->inside, POLLIN, 0}, {atomic_load(&n->outside), POLLIN, 0}, {n->attacker, POLLIN, 0}};
    if (poll(fds, 3, 20) <= 0) continue;
    if (fds[0].revents & POLLIN) { /* a -> b */
      struct sockaddr_in from;
      socklen_t len = sizeof from;
      ssize_t got = recvfrom(n->inside, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
      if (got > 0) {
        n->a = from;
        int host = atomic_exchange(&n->rebind, 0);
        if (host) {
          int old = atomic_exchange(&n->outside, udp_socket(host));
          close(old);
        }
        int via = atomic_load(&n->outside);
        if (atomic_load(&n->steal) && steals(n, buf, got) && atomic_exchange(&n->steal, 0)) {
          via = n->attacker; /* b hears this one first from the attacker; the original never */
          atomic_fetch_add(&n->stolen_bytes, (unsigned long long)got);
          n->mute_until_ms = test_now_ms() + kMuteMs;
        } else if (test_now_ms() < n->mute_until_ms) {
          continue;
        }
        sendto(via, buf, (size_t)got, 0, (struct sockaddr*)&n->b, sizeof n->b);
      }
    }
    if (fds[1].revents & POLLIN) { /* b -> a */
      ssize_t got = recv(fds[1].fd, buf, sizeof buf, 0);
      if (got > 0 && n->a.sin_port) sendto(n->inside, buf, (size_t)got, 0, (struct sockaddr*)&n->a, sizeof n->a);
    }
    if (fds[2].revents & POLLIN) { /* to the attacker: counted, never answered */
      ssize_t got = recv(n->attacker, buf, sizeof buf, 0);
      if (got > 0) atomic_fetch_add(&n->attacker_received_bytes, (unsigned long long)got);
    }
  }
  return NULL;
}

void user_nat_start(user_nat* n, nm_node_t* b) {
  memset(n, 0, sizeof *n);
  n->inside = udp_socket(1);
  atomic_store(&n->outside, udp_socket(1));
  n->attacker = udp_socket(1);
  char addr[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_local_addr(b, addr, sizeof addr));
  n->b.sin_family = AF_INET;
  n->b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  n->b.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
  assert_int_equal(pthread_create(&n->thread, NULL, nat_main, n), 0);
}

void user_nat_stop(user_nat* n) {
  atomic_store(&n->stop, 1);
  pthread_join(n->thread, NULL);
  close(n->inside);
  close(atomic_load(&n->outside));
  close(n->attacker);
}
