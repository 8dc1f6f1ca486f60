/* Node identities from small integers (--seed) for the bed tools (nm_flow, tests/nat's
 * nat_node): each end derives its peer's node id and public key from the peer's seed, so
 * nothing has to be exchanged between the namespaces. */
#ifndef NMWAN_SEEDED_IDENTITY_H
#define NMWAN_SEEDED_IDENTITY_H
#include <netmesh.h>
#include <stdint.h>
#include <string.h>

/* The identity seed and the X25519 key that `seed` stands for. */
static inline void seed_keys(nm_node_config_t* cfg, uint64_t seed) {
  for (int i = 0; i < NM_KEY_SIZE; ++i) {
    cfg->identity_seed[i] = (uint8_t)(seed * 131 + (uint64_t)i + 1);
    cfg->static_private_key[i] = (uint8_t)(seed * 71 + (uint64_t)i * 3 + 7);
  }
}

/* The node id and public key that `seed` yields (from a throwaway node on loopback). */
static inline nm_status seeded_identity(uint64_t seed, uint64_t* id, uint8_t key[NM_KEY_SIZE]) {
  nm_node_config_t cfg;
  nm_status s = nm_node_config_init(&cfg, sizeof cfg);
  if (s != NM_OK) return s;
  seed_keys(&cfg, seed);
  memset(cfg.psk, 1, NM_KEY_SIZE); /* any: only the keys matter here */
  cfg.bind_addr = "127.0.0.1:0";
  nm_node_t* n = NULL;
  if ((s = nm_node_new(&cfg, &n)) != NM_OK) return s;
  s = nm_node_id(n, id);
  if (s == NM_OK) s = nm_node_public_key(n, key);
  nm_node_free(n);
  return s;
}
#endif
