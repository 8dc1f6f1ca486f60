/* Two connected nodes on loopback for the C benchmark programs (allocs.c, bindings/flow.c):
 * the same PSK, b allows a, a dials b. Exits with a message on any failure. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmesh.h"

static void check(nm_status s, const char* what) {
  if (s != NM_OK) {
    fprintf(stderr, "%s: %s (%s)\n", what, nm_strerror(s), nm_last_error_message());
    exit(1);
  }
}

static void connect_pair(nm_node_t** a, nm_node_t** b, uint64_t* a_id, uint64_t* b_id) {
  nm_node_config_t c;
  check(nm_node_config_init(&c, sizeof c), "nm_node_config_init");
  memset(c.psk, 0x5c, sizeof c.psk);
  check(nm_node_new(&c, a), "nm_node_new");
  check(nm_node_new(&c, b), "nm_node_new");
  uint8_t key[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  check(nm_node_id(*a, a_id), "nm_node_id");
  check(nm_node_id(*b, b_id), "nm_node_id");
  check(nm_node_public_key(*b, key), "nm_node_public_key");
  check(nm_node_local_addr(*b, addr, sizeof addr), "nm_node_local_addr");
  check(nm_node_allow_peer(*b, *a_id), "nm_node_allow_peer");
  check(nm_node_connect(*a, addr, key, *b_id), "nm_node_connect");
  check(nm_node_accept(*b, *a_id, 10000), "nm_node_accept");
}
