/* A user-space NAT on 127.0.0.1 for the C API suites (migration_test, traversal_test).
 *
 * Node a sends to its inside socket; it forwards to b from its outside socket, so b sees a
 * at the outside port, and b's answers to that port go back to a. Rebinding replaces the
 * outside socket with one on a new port, or a new IP (b's packets to the old one vanish, as
 * behind a NAT whose mapping expired, or a device that moved to another network); a thief can take one datagram and send it from its own socket.
 * One forwarding thread per NAT. */
#ifndef NM_USER_NAT_H
#define NM_USER_NAT_H
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "netmesh.h"

enum { kMuteMs = 300 };

typedef struct user_nat {
  int inside;              /* a sends here */
  _Atomic int outside;     /* forwards to b from here */
  int attacker;            /* a stranger's socket: sends what it steals, counts what it gets */
  struct sockaddr_in a;    /* where a is (learned from its datagrams) */
  struct sockaddr_in b;
  atomic_int rebind;       /* N: replace the outside socket with one on 127.0.0.N (a new
                              port; a new IP unless N is 1) before the next datagram */
  atomic_int steal;        /* 1: send the next datagram of a from the attacker socket instead,
                              then drop a's datagrams for kMuteMs (b hears only the thief) */
  atomic_int steal_subprotocol; /* not 0: steal only a Net packet with this subprotocol id
                                   in its full (68-byte) header */
  double mute_until_ms;
  atomic_ullong stolen_bytes, attacker_received_bytes;
  atomic_int stop;
  pthread_t thread;
} user_nat;

/* Starts forwarding to node b. */
void user_nat_start(user_nat* n, nm_node_t* b);
void user_nat_stop(user_nat* n);
/* The UDP port of a socket on 127.0.0.1 (the inside one: what a dials). */
int user_nat_port_of(int fd);
#endif
