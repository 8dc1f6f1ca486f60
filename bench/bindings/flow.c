/* Per-language throughput, the C reference (bench/bindings/run.sh): two nodes in one process
 * on loopback, one reliable stream (1 MiB window); a sender thread sends `events` events of
 * `size` bytes in batches of `batch` (nm_stream_send_blocking), the main thread receives them
 * in batches (nm_stream_recv_batch) and checks their count. A warm-up of events / 4 goes
 * first, untimed (the clock starts once the receiver has it: Java's JIT has compiled the
 * hot paths by then, and the stream is in its steady state). Prints one line:
 *   RESULT c <size> <batch> <events> <seconds> <events per second>
 * The Go, Java and C# programs beside it do exactly the same through their bindings.
 * An optional 4th argument, pause_ns, busy-waits that long before each send call: what a
 * caller spends per call besides the library (BENCHMARKS.md, "The 64-byte cliff"). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../pair.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void busy_wait_ns(uint64_t ns) {
  double until = now_s() + (double)ns / 1e9;
  while (ns && now_s() < until) {
  }
}

typedef struct {
  nm_stream_t* stream;
  uint64_t events, size, batch, pause_ns;
} sender_args;

static void* send_all(void* p) {
  sender_args* a = p;
  uint8_t* buf = calloc(a->batch, a->size);
  nm_event_t* ev = calloc(a->batch, sizeof *ev);
  for (uint64_t i = 0; i < a->batch; ++i) ev[i] = (nm_event_t){buf + i * a->size, a->size};
  for (uint64_t sent = 0; sent < a->events;) {
    size_t n = a->events - sent < a->batch ? (size_t)(a->events - sent) : (size_t)a->batch, done = 0;
    busy_wait_ns(a->pause_ns);
    check(nm_stream_send_blocking(a->stream, ev, n, 30000, &done), "nm_stream_send_blocking");
    sent += done;
  }
  free(ev);
  free(buf);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: flow <events> <size> <batch> [pause_ns]\n");
    return 2;
  }
  uint64_t events = strtoull(argv[1], NULL, 10), size = strtoull(argv[2], NULL, 10),
           batch = strtoull(argv[3], NULL, 10), pause_ns = argc == 5 ? strtoull(argv[4], NULL, 10) : 0;
  nm_node_t *a, *b;
  uint64_t a_id, b_id;
  connect_pair(&a, &b, &a_id, &b_id);
  nm_stream_config_t sc;
  nm_stream_config_init(&sc, sizeof sc);
  sc.reliability = NM_RELIABLE;
  sc.window_bytes = 1 << 20;
  nm_stream_t *out, *in;
  check(nm_node_open_stream(a, b_id, 7, &sc, &out), "nm_node_open_stream");
  check(nm_node_open_stream(b, a_id, 7, &sc, &in), "nm_node_open_stream");

  size_t cap = batch * (size + 64);
  uint8_t* buf = malloc(cap);
  size_t* lens = malloc(batch * sizeof *lens);
  uint64_t warm = events / 4, total = warm + events, timed_from = 0;
  double t0 = 0;
  pthread_t sender;
  sender_args args = {out, total, size, batch, pause_ns};
  pthread_create(&sender, NULL, send_all, &args);
  for (uint64_t got = 0; got < total;) {
    size_t n = 0;
    check(nm_stream_recv_batch(in, buf, cap, lens, batch, &n, 30000), "nm_stream_recv_batch");
    got += n;
    if (t0 == 0 && got >= warm) {
      t0 = now_s();
      timed_from = got;
    }
  }
  double t = now_s() - t0;
  pthread_join(sender, NULL);
  printf("RESULT c %" PRIu64 " %" PRIu64 " %" PRIu64 " %.6f %.0f\n", size, batch, events, t,
         (double)(total - timed_from) / t);
  nm_stream_free(out);
  nm_stream_free(in);
  nm_node_free(a);
  nm_node_free(b);
  free(buf);
  free(lens);
  return 0;
}
