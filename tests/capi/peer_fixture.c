#include "peer_fixture.h"

#include <string.h>

void peer_fixture_new(peer_fixture* f, const nm_node_config_t* cfg) {
  memset(f, 0, sizeof *f);
  nm_node_config_t def;
  test_config(&def, 0x42);
  if (!cfg) cfg = &def;
  memcpy(f->psk, cfg->psk, sizeof f->psk);
  NM_OK_OR_FAIL(nm_node_new(cfg, &f->node));
  NM_OK_OR_FAIL(nm_node_id(f->node, &f->node_id));
  NM_OK_OR_FAIL(nm_node_public_key(f->node, f->key));
  NM_OK_OR_FAIL(nm_node_local_addr(f->node, f->addr, sizeof f->addr));
  f->peer = nmt_peer_new();
  assert_non_null(f->peer);
  f->peer_id = nmt_peer_id(f->peer);
  assert_int_equal(nmt_peer_target(f->peer, f->addr, f->key, f->node_id), 0);
  NM_OK_OR_FAIL(nm_node_allow_peer(f->node, f->peer_id));
}

void peer_fixture_connect(peer_fixture* f) {
  assert_int_equal(nmt_peer_handshake(f->peer, f->psk, NMT_CAP_ALL, 2000), 0);
  NM_OK_OR_FAIL(nm_node_accept(f->node, f->peer_id, 2000));
}

void peer_fixture_free(peer_fixture* f) {
  NM_OK_OR_FAIL(nm_node_free(f->node));
  nmt_peer_free(f->peer);
}
