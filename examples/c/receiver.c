/*
 * netmesh_receiver: the accepting end of the netmesh C demo.
 *
 *   netmesh_receiver --peer-id <sender node id> [--bind 127.0.0.1:0] [--streams K] [--events N]
 *
 * Creates a node, prints one machine-readable line and flushes it:
 *   READY <addr> <public-key-hex> <node-id-decimal>
 * then accepts the sender, opens streams 1..K (stream 1 fire-and-forget, the rest reliable),
 * receives N events per stream checking each is "stream <id> event <i>" in order, prints
 * the stream and node stats and exits 0, or 1 on any failure.
 *
 * Streams are read round-robin: draining one stream to the end while ignoring the others
 * would stall the sender, whose credit on those streams only comes back as we read. When
 * no stream has an event, the loop sleeps in poll() on nm_node_event_fd().
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ACCEPT_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 10000 /* give up when no event arrives on any stream this long */

static void usage(void) {
  fprintf(stderr, "usage: netmesh_receiver --peer-id <id> [--bind addr] [--streams K] [--events N]\n");
  exit(1);
}

/* Checks the next event of stream `id` against the expected text; returns 0 if it matches. */
static int verify(uint64_t id, uint64_t index, const char* got, size_t len) {
  char want[EVENT_TEXT_MAX];
  size_t want_len = demo_event_text(want, id, index);
  if (len == want_len && memcmp(got, want, len) == 0) return 0;
  fprintf(stderr, "error: stream %" PRIu64 ": expected \"%s\", got \"%.*s\" (%zu bytes)\n", id,
          want, (int)(len > 80 ? 80 : len), got, len);
  return -1;
}

/* Receives `events` events on every stream. Returns 0 on success, -1 on failure. */
static int receive_all(nm_node_t* node, nm_stream_t** streams, uint64_t count, uint64_t events) {
  static char buf[NM_MAX_EVENT_SIZE];
  uint64_t* received = calloc(count, sizeof *received);
  if (!received) return -1;
  int fd;
  check(nm_node_event_fd(node, &fd), "nm_node_event_fd");
  uint64_t remaining = count * events;
  int result = 0;
  while (remaining > 0 && result == 0) {
    int progress = 0;
    for (uint64_t k = 0; k < count && result == 0; ++k) {
      uint64_t id = k + 1;
      size_t len = 0;
      nm_status s = NM_ERR_TIMEOUT;
      /* timeout 0: take what is queued now, then move on to the next stream */
      while (result == 0 && (s = nm_stream_recv(streams[k], buf, sizeof buf, &len, 0)) == NM_OK) {
        progress = 1;
        if (received[k] == events) {
          fprintf(stderr, "error: stream %" PRIu64 ": unexpected event beyond %" PRIu64 "\n", id, events);
          result = -1;
        } else if (verify(id, received[k], buf, len) != 0) {
          result = -1;
        } else {
          ++received[k];
          --remaining;
        }
      }
      if (result == 0 && s != NM_ERR_TIMEOUT) check(s, "nm_stream_recv");
    }
    if (result != 0 || remaining == 0 || progress) continue;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, IDLE_TIMEOUT_MS) <= 0) {
      fprintf(stderr, "error: no event for %d ms; received per stream:", IDLE_TIMEOUT_MS);
      for (uint64_t k = 0; k < count; ++k) fprintf(stderr, " %" PRIu64, received[k]);
      fprintf(stderr, " of %" PRIu64 "\n", events);
      result = -1;
    }
  }
  free(received);
  return result;
}

int main(int argc, char** argv) {
  const char* bind = "127.0.0.1:0";
  uint64_t peer_id = 0, count = 3, events = 1000;
  int have_peer = 0;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) usage();
    if (strcmp(arg, "--bind") == 0) {
      bind = val;
    } else if (strcmp(arg, "--peer-id") == 0) {
      if (parse_u64(val, &peer_id) != 0) usage();
      have_peer = 1;
    } else if (strcmp(arg, "--streams") == 0) {
      if (parse_u64(val, &count) != 0 || count == 0 || count > 1000) usage();
    } else if (strcmp(arg, "--events") == 0) {
      if (parse_u64(val, &events) != 0) usage();
    } else {
      usage();
    }
    ++i;
  }
  if (!have_peer) usage();

  nm_node_config_t cfg;
  check(nm_node_config_init(&cfg, sizeof cfg), "nm_node_config_init");
  cfg.bind_addr = bind;
  demo_psk(cfg.psk);
  nm_node_t* node = NULL;
  check(nm_node_new(&cfg, &node), "nm_node_new");

  /* Allow the sender before announcing ourselves (timeout 0 only records the permission),
   * so its first handshake attempt cannot arrive too early. */
  nm_status s = nm_node_accept(node, peer_id, 0);
  if (s != NM_ERR_TIMEOUT) check(s, "nm_node_accept (allow)");

  char addr[NM_ADDR_MAX], key_hex[KEY_HEX_LEN + 1];
  uint8_t key[NM_KEY_SIZE];
  uint64_t my_id;
  check(nm_node_local_addr(node, addr, sizeof addr), "nm_node_local_addr");
  check(nm_node_public_key(node, key), "nm_node_public_key");
  check(nm_node_id(node, &my_id), "nm_node_id");
  hex_encode_key(key, key_hex);
  printf("READY %s %s %" PRIu64 "\n", addr, key_hex, my_id);
  fflush(stdout);

  check(nm_node_accept(node, peer_id, ACCEPT_TIMEOUT_MS), "nm_node_accept");

  nm_stream_t** streams = calloc(count, sizeof *streams);
  if (!streams) return 1;
  for (uint64_t k = 0; k < count; ++k) {
    nm_stream_config_t sc;
    demo_stream_config(k + 1, &sc);
    check(nm_node_open_stream(node, peer_id, k + 1, &sc, &streams[k]), "nm_node_open_stream");
  }

  int ok = receive_all(node, streams, count, events) == 0;
  printf("receiver: %s: %" PRIu64 " stream(s) x %" PRIu64 " event(s) from peer %" PRIu64 "\n",
         ok ? "OK" : "FAILED", count, events, peer_id);
  for (uint64_t k = 0; k < count; ++k) {
    nm_stream_stats_t st;
    check(nm_stream_stats(streams[k], &st, sizeof st), "nm_stream_stats");
    print_stream_stats(&st);
    /* closing (not just freeing the handle) hands the sender its last credit back */
    check(nm_node_close_stream(node, streams[k]), "nm_node_close_stream");
    check(nm_stream_free(streams[k]), "nm_stream_free");
  }
  nm_node_stats_t ns;
  check(nm_node_stats(node, &ns, sizeof ns), "nm_node_stats");
  print_node_stats(&ns);
  check(nm_node_free(node), "nm_node_free");
  free(streams);
  return ok ? 0 : 1;
}
