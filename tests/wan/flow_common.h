/*
 * What nm_flow.c and tcp_flow.c share: the event format, clocks, the per-second series,
 * latency percentiles and the RESULT line. Both ends of a flow run on this machine (in two
 * network namespaces, which share CLOCK_MONOTONIC), so an event's send timestamp and its
 * arrival time are on one clock.
 *
 * An event is `event_bytes` bytes: a 24-byte header {seq, sent_ns, len, magic} then a
 * filler whose last byte is (uint8_t)seq. The end marker has seq = UINT64_MAX and carries
 * the number of events sent in sent_ns.
 */
#ifndef NMWAN_FLOW_COMMON_H
#define NMWAN_FLOW_COMMON_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOW_MAGIC 0x4e4d57414eu /* truncated to 32 bits below */
#define FLOW_HDR 24
#define FLOW_END UINT64_MAX
#define FLOW_MAX_BINS 4096

typedef struct {
  uint64_t seq;
  uint64_t sent_ns;
  uint32_t len;
  uint32_t magic;
} flow_hdr_t;

static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_until_ns(uint64_t t) {
  struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

/* Fills an event of `len` bytes (len >= FLOW_HDR). */
static inline void flow_fill(uint8_t* buf, size_t len, uint64_t seq, uint64_t sent_ns) {
  flow_hdr_t h = {seq, sent_ns, (uint32_t)len, (uint32_t)FLOW_MAGIC};
  memcpy(buf, &h, sizeof h);
  if (len > FLOW_HDR) {
    memset(buf + FLOW_HDR, 0x5a, len - FLOW_HDR - 1);
    buf[len - 1] = (uint8_t)seq;
  }
}

/* Checks an event; returns 0 and its header if it is well formed. */
static inline int flow_parse(const uint8_t* buf, size_t len, flow_hdr_t* h) {
  if (len < FLOW_HDR) return -1;
  memcpy(h, buf, sizeof *h);
  if (h->magic != (uint32_t)FLOW_MAGIC || h->len != len) return -1;
  if (h->seq != FLOW_END && len > FLOW_HDR && buf[len - 1] != (uint8_t)h->seq) return -1;
  return 0;
}

/* What a receiver measures. */
typedef struct {
  uint64_t t0;          /* CLOCK_MONOTONIC origin of the series (given by the runner) */
  uint64_t bins[FLOW_MAX_BINS];
  uint64_t bin_ns;
  uint32_t nbins_used;
  uint32_t* lat_us;
  size_t lat_n, lat_cap;
  uint64_t events, bytes, first_ns, last_ns;
  uint64_t expected_seq; /* next in-order sequence */
  uint64_t order_errors, dups, corrupt, gaps, late_or_dup;
  int end_seen;
  uint64_t sent_events; /* from the end marker */
} flow_rx_t;

static inline void flow_rx_init(flow_rx_t* rx, uint64_t t0) {
  memset(rx, 0, sizeof *rx);
  rx->t0 = t0;
  rx->bin_ns = 1000000000ull;
  rx->lat_cap = 1 << 16;
  rx->lat_us = malloc(rx->lat_cap * sizeof *rx->lat_us);
  if (!rx->lat_us) abort();
}

/* Accounts one received event. ordered: the stream promises order (reliable or TCP); else
 * sequences must only increase (fire-and-forget: losses are gaps, nothing is repeated). */
static inline void flow_rx_event(flow_rx_t* rx, const uint8_t* buf, size_t len, int ordered) {
  uint64_t now = mono_ns();
  flow_hdr_t h;
  if (flow_parse(buf, len, &h) != 0) {
    rx->corrupt++;
    return;
  }
  if (h.seq == FLOW_END) {
    rx->end_seen = 1;
    rx->sent_events = h.sent_ns;
    return;
  }
  if (h.seq != rx->expected_seq) {
    if (h.seq < rx->expected_seq) {
      rx->late_or_dup++;
      if (ordered) rx->order_errors++;
      return; /* never counted twice */
    }
    if (ordered) rx->order_errors++;
    else rx->gaps += h.seq - rx->expected_seq;
  }
  rx->expected_seq = h.seq + 1;
  rx->events++;
  rx->bytes += len;
  if (!rx->first_ns) rx->first_ns = now;
  rx->last_ns = now;
  if (now >= rx->t0) {
    uint64_t b = (now - rx->t0) / rx->bin_ns;
    if (b < FLOW_MAX_BINS) {
      rx->bins[b] += len;
      if (b + 1 > rx->nbins_used) rx->nbins_used = (uint32_t)b + 1;
    }
  }
  if (rx->lat_n == rx->lat_cap) {
    rx->lat_cap *= 2;
    rx->lat_us = realloc(rx->lat_us, rx->lat_cap * sizeof *rx->lat_us);
    if (!rx->lat_us) abort();
  }
  uint64_t lat = now > h.sent_ns ? (now - h.sent_ns) / 1000 : 0;
  rx->lat_us[rx->lat_n++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
}

static int cmp_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

static inline double pct_ms(const uint32_t* v, size_t n, double p) {
  if (n == 0) return -1;
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i] / 1000.0;
}

static inline double rel_s(uint64_t t, uint64_t t0) {
  return t == 0 ? -1 : ((double)t - (double)t0) / 1e9;
}

/* Prints the receiver's part of the RESULT json (without braces). */
static inline void flow_rx_print(flow_rx_t* rx) {
  qsort(rx->lat_us, rx->lat_n, sizeof *rx->lat_us, cmp_u32);
  printf("\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"end_seen\":%d,\"sent_events\":%" PRIu64
         ",\"order_errors\":%" PRIu64 ",\"late_or_dup\":%" PRIu64 ",\"corrupt\":%" PRIu64
         ",\"gaps\":%" PRIu64 ",\"first_s\":%.6f,\"last_s\":%.6f",
         rx->events, rx->bytes, rx->end_seen, rx->sent_events, rx->order_errors, rx->late_or_dup,
         rx->corrupt, rx->gaps, rel_s(rx->first_ns, rx->t0), rel_s(rx->last_ns, rx->t0));
  printf(",\"lat_ms\":{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", rx->lat_n,
         pct_ms(rx->lat_us, rx->lat_n, 0.50), pct_ms(rx->lat_us, rx->lat_n, 0.90),
         pct_ms(rx->lat_us, rx->lat_n, 0.99), pct_ms(rx->lat_us, rx->lat_n, 1.0));
  printf(",\"bin_s\":%.3f,\"series_bytes\":[", rx->bin_ns / 1e9);
  for (uint32_t i = 0; i < rx->nbins_used; ++i) printf("%s%" PRIu64, i ? "," : "", rx->bins[i]);
  printf("]");
}

static inline uint64_t parse_u64_or_die(const char* what, const char* v) {
  char* end = NULL;
  unsigned long long x = strtoull(v, &end, 10);
  if (!v[0] || *end) {
    fprintf(stderr, "bad %s: %s\n", what, v);
    exit(2);
  }
  return (uint64_t)x;
}

#endif
