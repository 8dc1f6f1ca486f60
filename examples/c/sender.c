/*
 * netmesh_sender: the connecting end of the netmesh C demo.
 *
 *   netmesh_sender --seed <64 hex> --print-id
 *       prints the node id (decimal) this identity seed yields, and exits.
 *   netmesh_sender --seed <64 hex> --connect <addr> --key <64 hex> --id <node id>
 *                  [--bind 127.0.0.1:0] [--streams K] [--events N]
 *       connects to the receiver (its address, public key and node id come from its READY
 *       line), opens streams 1..K configured like the receiver's, sends N events
 *       "stream <id> event <i>" per stream round-robin, a few events per call, waits until
 *       the receiver has read everything (all credit is back) or 1 s, prints stats, exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define BATCH 8                /* events per nm_stream_send_blocking call */
#define SEND_TIMEOUT_MS 10000  /* longest wait for credit in one call */
#define DRAIN_WAIT_MS 1000     /* longest wait for the receiver to read everything */

static void usage(void) {
  fprintf(stderr,
          "usage: netmesh_sender --seed <hex> --print-id\n"
          "       netmesh_sender --seed <hex> --connect <addr> --key <hex> --id <node id>"
          " [--bind addr] [--streams K] [--events N]\n"
          "       (--bind 0.0.0.0:0 or [::]:0 to reach another host)\n");
  exit(1);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Sends events [from, to) of stream `id` in one call, waiting for credit if needed. */
static void send_batch(nm_stream_t* stream, uint64_t id, uint64_t from, uint64_t to) {
  char text[BATCH][EVENT_TEXT_MAX];
  nm_event_t ev[BATCH];
  size_t n = 0;
  for (uint64_t i = from; i < to; ++i, ++n) {
    ev[n].data = text[n];
    ev[n].len = demo_event_text(text[n], id, i);
  }
  size_t sent = 0;
  check(nm_stream_send_blocking(stream, ev, n, SEND_TIMEOUT_MS, &sent), "nm_stream_send_blocking");
}

/* True once the receiver has read everything: every stream has its whole window back. */
static int all_credit_back(nm_stream_t** streams, uint64_t count) {
  for (uint64_t k = 0; k < count; ++k) {
    nm_stream_stats_t st;
    check(nm_stream_stats(streams[k], &st, sizeof st), "nm_stream_stats");
    if (st.tx_credit_remaining != st.tx_window) return 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  const char *seed_hex = NULL, *addr = NULL, *key_hex = NULL, *bind = "127.0.0.1:0";
  uint64_t peer_id = 0, count = 3, events = 1000;
  int print_id = 0, have_id = 0;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (strcmp(arg, "--print-id") == 0) {
      print_id = 1;
      continue;
    }
    const char* val = i + 1 < argc ? argv[++i] : NULL;
    if (!val) usage();
    if (strcmp(arg, "--seed") == 0) {
      seed_hex = val;
    } else if (strcmp(arg, "--connect") == 0) {
      addr = val;
    } else if (strcmp(arg, "--bind") == 0) {
      bind = val;
    } else if (strcmp(arg, "--key") == 0) {
      key_hex = val;
    } else if (strcmp(arg, "--id") == 0) {
      if (parse_u64(val, &peer_id) != 0) usage();
      have_id = 1;
    } else if (strcmp(arg, "--streams") == 0) {
      if (parse_u64(val, &count) != 0 || count == 0 || count > 1000) usage();
    } else if (strcmp(arg, "--events") == 0) {
      if (parse_u64(val, &events) != 0) usage();
    } else {
      usage();
    }
  }
  if (!seed_hex || (!print_id && (!addr || !key_hex || !have_id))) usage();

  nm_node_config_t cfg;
  check(nm_node_config_init(&cfg, sizeof cfg), "nm_node_config_init");
  demo_psk(cfg.psk);
  cfg.bind_addr = bind;
  if (hex_decode_key(seed_hex, cfg.identity_seed) != 0) {
    fprintf(stderr, "error: --seed needs %d hex characters\n", KEY_HEX_LEN);
    return 1;
  }
  nm_node_t* node = NULL;
  check(nm_node_new(&cfg, &node), "nm_node_new");
  uint64_t my_id;
  check(nm_node_id(node, &my_id), "nm_node_id");
  if (print_id) {
    printf("%" PRIu64 "\n", my_id);
    check(nm_node_free(node), "nm_node_free");
    return 0;
  }

  uint8_t peer_key[NM_KEY_SIZE];
  if (hex_decode_key(key_hex, peer_key) != 0) {
    fprintf(stderr, "error: --key needs %d hex characters\n", KEY_HEX_LEN);
    return 1;
  }
  check(nm_node_connect(node, addr, peer_key, peer_id), "nm_node_connect");

  nm_stream_t** streams = calloc(count, sizeof *streams);
  if (!streams) return 1;
  for (uint64_t k = 0; k < count; ++k) {
    nm_stream_config_t sc;
    demo_stream_config(k + 1, &sc);
    check(nm_node_open_stream(node, peer_id, k + 1, &sc, &streams[k]), "nm_node_open_stream");
  }

  for (uint64_t from = 0; from < events; from += BATCH) {
    uint64_t to = from + BATCH < events ? from + BATCH : events;
    for (uint64_t k = 0; k < count; ++k) send_batch(streams[k], k + 1, from, to);
  }

  int waited = 0;
  while (!all_credit_back(streams, count) && waited < DRAIN_WAIT_MS) {
    sleep_ms(10);
    waited += 10;
  }

  printf("sender: OK: node %" PRIu64 " sent %" PRIu64 " stream(s) x %" PRIu64
         " event(s) to peer %" PRIu64 " (receiver drained: %s)\n",
         my_id, count, events, peer_id, all_credit_back(streams, count) ? "yes" : "not within 1 s");
  for (uint64_t k = 0; k < count; ++k) {
    nm_stream_stats_t st;
    check(nm_stream_stats(streams[k], &st, sizeof st), "nm_stream_stats");
    print_stream_stats(&st);
    check(nm_stream_free(streams[k]), "nm_stream_free");
  }
  nm_node_stats_t ns;
  check(nm_node_stats(node, &ns, sizeof ns), "nm_node_stats");
  print_node_stats(&ns);
  check(nm_node_free(node), "nm_node_free");
  free(streams);
  return 0;
}
