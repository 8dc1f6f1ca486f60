/* A node under test plus a scripted peer (tests/support/test_peer.h) that the node allows:
 * the fixture of the hostile-input and resource-limit suites. */
#ifndef NM_PEER_FIXTURE_H
#define NM_PEER_FIXTURE_H
#include "test_peer.h"
#include "test_support.h"

typedef struct peer_fixture {
  nm_node_t* node;
  uint64_t node_id;
  char addr[NM_ADDR_MAX];
  uint8_t key[NM_KEY_SIZE];
  uint8_t psk[NM_KEY_SIZE];
  nmt_peer* peer;
  uint64_t peer_id;
} peer_fixture;

/* Creates the node (cfg NULL = test_config with PSK 0x42) and a peer aimed at it. */
void peer_fixture_new(peer_fixture* f, const nm_node_config_t* cfg);
/* The peer handshakes (announcing every netmesh capability); the node accepts it. */
void peer_fixture_connect(peer_fixture* f);
void peer_fixture_free(peer_fixture* f);
#endif
