/* Heap allocations per packet in steady state, through the public C API: a pair of nodes
 * on loopback, one stream, events sent in batches and read with nm_stream_recv_batch.
 * malloc/calloc/realloc are counted by this executable's own definitions (which every
 * library in the process resolves to) around glibc's. Printed as CSV by bench/run.sh.
 * Usage: netmesh_allocs [event_size ...] */
#include <netmesh.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair.h"

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
static atomic_ulong allocations;
void* malloc(size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}

typedef struct {
  nm_stream_t* rx;
  size_t size;
  unsigned long want;
  unsigned long got;
} reader;

static void* read_all(void* arg) {
  reader* r = arg;
  static uint8_t buf[1 << 16];
  size_t lens[1024];
  while (r->got < r->want) {
    size_t n = 0;
    if (nm_stream_recv_batch(r->rx, buf, sizeof buf, lens, 1024, &n, 1000) == NM_OK) r->got += n;
  }
  return NULL;
}

/* Sends `events` events of `size` bytes; returns the packets the stream sent. */
static uint64_t run(nm_stream_t* tx, nm_stream_t* rx, size_t size, unsigned long events) {
  static uint8_t payload[1 << 16];
  size_t per_call = size >= 65536 ? 1 : 65536 / size;
  nm_event_t batch[1024];
  for (size_t i = 0; i < per_call; ++i) batch[i] = (nm_event_t){payload, size};
  reader r = {rx, size, events, 0};
  pthread_t t;
  pthread_create(&t, NULL, read_all, &r);
  nm_stream_stats_t before, after;
  check(nm_stream_stats(tx, &before, sizeof before), "stats");
  for (unsigned long sent = 0; sent < events;) {
    size_t n = 0, want = events - sent < per_call ? events - sent : per_call;
    check(nm_stream_send_blocking(tx, batch, want, 10000, &n), "send");
    sent += n;
  }
  pthread_join(t, NULL);
  check(nm_stream_stats(tx, &after, sizeof after), "stats");
  return after.tx_seq - before.tx_seq;
}

int main(int argc, char** argv) {
  nm_node_t *a, *b;
  uint64_t ida, idb;
  connect_pair(&a, &b, &ida, &idb);
  printf("mode,size,packets,allocations,allocations_per_packet\n");
  static const size_t kDefault[] = {64, 1024, 8192};
  size_t nsizes = argc > 1 ? (size_t)(argc - 1) : 3;
  for (int mode = 0; mode < 2; ++mode) {
    for (size_t i = 0; i < nsizes; ++i) {
      size_t size = argc > 1 ? strtoul(argv[i + 1], NULL, 10) : kDefault[i];
      nm_stream_config_t sc;
      nm_stream_config_init(&sc, sizeof sc);
      sc.reliability = mode ? NM_RELIABLE : NM_FIRE_AND_FORGET;
      sc.window_bytes = 1 << 20;
      uint64_t id = 100 + mode * 10 + i;
      nm_stream_t *tx, *rx;
      check(nm_node_open_stream(b, ida, id, &sc, &rx), "open");
      check(nm_node_open_stream(a, idb, id, &sc, &tx), "open");
      unsigned long events = (unsigned long)((64u << 20) / size);
      run(tx, rx, size, events);  /* warm-up: pools and containers reach their size */
      unsigned long before = atomic_load(&allocations);
      uint64_t packets = run(tx, rx, size, events);
      unsigned long n = atomic_load(&allocations) - before;
      printf("%s,%zu,%llu,%lu,%.4f\n", mode ? "rel" : "ff", size, (unsigned long long)packets, n,
             packets ? (double)n / (double)packets : 0.0);
      nm_stream_free(tx);
      nm_stream_free(rx);
    }
  }
  nm_node_free(a);
  nm_node_free(b);
  return 0;
}
