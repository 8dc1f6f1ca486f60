/*
 * nm_flow: one netmesh flow through the WAN bed (tests/wan/README.md).
 *
 *   nm_flow recv --bind IP:PORT --seed N --peer-seed M --t0 NS --time S [--grace S]
 *                [--window B] [--faf]
 *   nm_flow send --connect IP:PORT --seed M --peer-seed N --t0 NS --time S [--grace S]
 *                [--window B] [--event-bytes B] [--rate-mbit R] [--batch K] [--count N] [--faf]
 *                [--cc cubic|newreno|bbr] [--trace-ms MS]
 *
 * Identities come from small integers (--seed): both ends derive each other's node id and
 * public key from the peer's seed, so nothing has to be exchanged. The sender sends
 * sequence-numbered, timestamped events (flow_common.h) on one stream (reliable, or
 * fire-and-forget with --faf) until t0 + time (or until --count events are sent: a transfer
 * of a fixed size, where time is its deadline), with blocking sends (as fast as the window
 * lets it, or paced at --rate-mbit), then an end marker carrying the count, then waits (at
 * most --grace s) until the receiver has read everything (all credit back).
 * The receiver checks every event (exactly once and in order on a reliable stream; only
 * increasing on fire-and-forget), and stops at the end marker or at t0 + time + grace.
 * Each prints one line "RESULT {json}" (goodput series per second since t0, latency
 * percentiles, the stream's and node's counters). --trace-ms: the sender also prints its
 * session's congestion state every MS ms to stderr ("TRACE t_s cwnd in_flight srtt_ms
 * pacing_mbit lost congestion_events datagram_bytes probes_sent/probes_lost"), to see a
 * flow's ramp and its path MTU search.
 */
#define _GNU_SOURCE
#include <netmesh.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include "flow_common.h"
#include "seeded_identity.h"

#define PSK_BYTE 0x77
#define STREAM_ID 7

typedef struct {
  int send;
  const char* addr;
  uint64_t seed, peer_seed, t0, time_s, grace_s, window, event_bytes, batch, count;
  double rate_mbit;
  int faf;
  uint32_t cc; /* the sender's congestion controller (NM_CC_*) */
  uint64_t trace_ms;
} opts_t;

static void check(nm_status s, const char* what) {
  if (s == NM_OK) return;
  fprintf(stderr, "nm_flow: %s: %s (%s)\n", what, nm_strerror(s), nm_last_error_message());
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: nm_flow recv --bind IP:PORT --seed N --peer-seed M --t0 NS --time S [--grace S]"
          " [--window B] [--faf]\n"
          "       nm_flow send --connect IP:PORT --seed M --peer-seed N --t0 NS --time S"
          " [--grace S] [--window B] [--event-bytes B] [--rate-mbit R] [--batch K] [--count N] [--faf]\n"
          "                [--cc cubic|newreno|bbr] [--trace-ms MS]\n"
          "       nm_flow now      (prints CLOCK_MONOTONIC in ns)\n");
  exit(2);
}

static void node_config(nm_node_config_t* cfg, uint64_t seed, const char* bind, uint64_t window) {
  check(nm_node_config_init(cfg, sizeof *cfg), "nm_node_config_init");
  memset(cfg->psk, PSK_BYTE, NM_KEY_SIZE);
  seed_keys(cfg, seed);
  cfg->bind_addr = bind;
  /* streams the peer opens before we do get our window, not the 64 KiB default */
  cfg->default_window_bytes = (uint32_t)window;
}

static void stream_config(nm_stream_config_t* sc, const opts_t* o) {
  check(nm_stream_config_init(sc, sizeof *sc), "nm_stream_config_init");
  sc->reliability = o->faf ? NM_FIRE_AND_FORGET : NM_RELIABLE;
  sc->window_bytes = (uint32_t)o->window;
}

static void print_node_stats(nm_node_t* node) {
  nm_node_stats_t ns;
  check(nm_node_stats(node, &ns, sizeof ns), "nm_node_stats");
  printf(",\"node\":{\"datagrams_sent\":%" PRIu64 ",\"datagrams_received\":%" PRIu64
         ",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"drop_over_window\":%" PRIu64
         ",\"drop_over_budget\":%" PRIu64 ",\"drop_bad_fragment\":%" PRIu64
         ",\"responses_deferred\":%" PRIu64 ",\"handshakes_completed\":%" PRIu64 "}",
         ns.datagrams_sent, ns.datagrams_received, ns.bytes_sent, ns.bytes_received,
         ns.drop_over_window, ns.drop_over_budget, ns.drop_bad_fragment, ns.responses_deferred,
         ns.handshakes_completed);
}

static void print_stream_stats(nm_stream_t* s) {
  nm_stream_stats_t st;
  check(nm_stream_stats(s, &st, sizeof st), "nm_stream_stats");
  printf(",\"stream\":{\"tx_seq\":%" PRIu64 ",\"tx_events\":%" PRIu64 ",\"retransmits\":%" PRIu64
         ",\"nacks_sent\":%" PRIu64 ",\"nacks_received\":%" PRIu64 ",\"srtt_ms\":%.3f"
         ",\"backpressure_events\":%" PRIu64 ",\"rx_events\":%" PRIu64 ",\"rx_gaps\":%" PRIu64
         ",\"rx_duplicates_dropped\":%" PRIu64 ",\"rx_incomplete_dropped\":%" PRIu64
         ",\"tx_unacked_packets\":%" PRIu64 ",\"tx_credit_remaining\":%" PRIu64 ",\"tx_window\":%" PRIu64
         ",\"credit_grants_sent\":%" PRIu64 "}",
         st.tx_seq, st.tx_events, st.retransmits, st.nacks_sent, st.nacks_received, st.srtt_ns / 1e6,
         st.backpressure_events, st.rx_events, st.rx_gaps, st.rx_duplicates_dropped,
         st.rx_incomplete_dropped, st.tx_unacked_packets, st.tx_credit_remaining, st.tx_window,
         st.credit_grants_sent);
}

/* Each side's view of the path: congestion window, RTT, losses, moves of the peer's address
 * (nm_node_session_stats). */
static void print_session_stats(nm_node_t* node, uint64_t peer) {
  nm_session_stats_t ss;
  if (nm_node_session_stats(node, peer, &ss, sizeof ss) != NM_OK) return;
  printf(",\"session\":{\"srtt_ms\":%.3f,\"min_rtt_ms\":%.3f,\"cwnd_bytes\":%" PRIu64
         ",\"pacing_mbit\":%.3f,\"datagrams_acked\":%" PRIu64 ",\"datagrams_lost\":%" PRIu64
         ",\"probe_timeouts\":%" PRIu64 ",\"acks_sent\":%" PRIu64 ",\"spurious_retransmissions\":%" PRIu64
         ",\"congestion_events\":%" PRIu64 ",\"congestion_events_undone\":%" PRIu64
         ",\"loss_threshold_datagrams\":%" PRIu64 ",\"loss_threshold_rtt_eighths\":%" PRIu64
         ",\"max_datagram_bytes\":%" PRIu64 ",\"pmtu_black_holes\":%" PRIu64
         ",\"path_migrations\":%" PRIu64 ",\"path_validations\":%" PRIu64 ",\"path_reverts\":%" PRIu64 "}",
         ss.srtt_ns / 1e6, ss.min_rtt_ns / 1e6, ss.cwnd_bytes, ss.pacing_rate_bytes_per_sec * 8 / 1e6,
         ss.datagrams_acked, ss.datagrams_lost, ss.probe_timeouts, ss.acks_sent, ss.spurious_retransmissions,
         ss.congestion_events, ss.congestion_events_undone, ss.loss_threshold_datagrams,
         ss.loss_threshold_rtt_eighths, ss.max_datagram_bytes, ss.pmtu_black_holes, ss.path_migrations, ss.path_validations,
         ss.path_reverts);
}

static int run_recv(const opts_t* o) {
  nm_node_config_t cfg;
  uint64_t peer_id;
  uint8_t peer_key[NM_KEY_SIZE];
  check(seeded_identity(o->peer_seed, &peer_id, peer_key), "seeded_identity");
  node_config(&cfg, o->seed, o->addr, o->window);
  nm_node_t* node = NULL;
  check(nm_node_new(&cfg, &node), "nm_node_new");
  nm_status s = nm_node_accept(node, peer_id, 0); /* allow before anyone can dial */
  if (s != NM_ERR_TIMEOUT) check(s, "nm_node_accept (allow)");
  printf("READY\n");
  fflush(stdout);

  uint64_t deadline = o->t0 + (o->time_s + o->grace_s) * 1000000000ull;
  int64_t accept_ms = (int64_t)((deadline - mono_ns()) / 1000000);
  if (accept_ms < 1000) accept_ms = 1000;
  check(nm_node_accept(node, peer_id, (int)accept_ms), "nm_node_accept");
  nm_stream_config_t sc;
  stream_config(&sc, o);
  nm_stream_t* st = NULL;
  check(nm_node_open_stream(node, peer_id, STREAM_ID, &sc, &st), "nm_node_open_stream");

  static flow_rx_t rx;
  flow_rx_init(&rx, o->t0);
  size_t cap = 1 << 20;
  uint8_t* buf = malloc(cap);
  size_t lens[1024];
  while (!rx.end_seen && mono_ns() < deadline) {
    size_t n = 0;
    s = nm_stream_recv_batch(st, buf, cap, lens, 1024, &n, 100);
    if (s == NM_ERR_TIMEOUT) continue;
    check(s, "nm_stream_recv_batch");
    size_t off = 0;
    for (size_t i = 0; i < n; ++i) {
      flow_rx_event(&rx, buf + off, lens[i], !o->faf);
      off += lens[i];
    }
  }
  printf("RESULT {\"tool\":\"nm\",\"role\":\"recv\",\"faf\":%d,", o->faf);
  flow_rx_print(&rx);
  print_stream_stats(st);
  print_node_stats(node);
  print_session_stats(node, peer_id);
  printf("}\n");
  fflush(stdout);
  /* Closing hands the sender its last credit back, so it sees that everything was read. */
  nm_node_close_stream(node, st);
  nm_stream_free(st);
  struct timespec pause = {0, 300000000};
  nanosleep(&pause, NULL);
  nm_node_free(node);
  free(buf);
  return 0;
}

typedef struct {
  nm_node_t* node;
  uint64_t peer, t0, every_ns;
  volatile int stop;
} tracer_t;

static void* trace_session(void* arg) {
  tracer_t* t = arg;
  for (uint64_t next = mono_ns(); !t->stop; next += t->every_ns) {
    sleep_until_ns(next);
    nm_session_stats_t ss;
    if (nm_node_session_stats(t->node, t->peer, &ss, sizeof ss) != NM_OK) continue;
    fprintf(stderr,
            "TRACE %.3f %" PRIu64 " %" PRIu64 " %.1f %.2f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            "/%" PRIu64 " pto %" PRIu64 "\n",
            rel_s(mono_ns(), t->t0), ss.cwnd_bytes, ss.bytes_in_flight, ss.srtt_ns / 1e6,
            ss.pacing_rate_bytes_per_sec * 8 / 1e6, ss.datagrams_lost, ss.congestion_events,
            ss.max_datagram_bytes, ss.pmtu_probes_sent, ss.pmtu_probes_lost, ss.probe_timeouts);
  }
  return NULL;
}

static int run_send(const opts_t* o) {
  nm_node_config_t cfg;
  uint64_t peer_id;
  uint8_t peer_key[NM_KEY_SIZE];
  check(seeded_identity(o->peer_seed, &peer_id, peer_key), "seeded_identity");
  node_config(&cfg, o->seed, o->addr[0] == '[' ? "[::]:0" : "0.0.0.0:0", o->window);
  cfg.congestion_control = o->cc;
  nm_node_t* node = NULL;
  check(nm_node_new(&cfg, &node), "nm_node_new");
  uint64_t t_connect = mono_ns();
  check(nm_node_connect(node, o->addr, peer_key, peer_id), "nm_node_connect");
  uint64_t t_connected = mono_ns();
  nm_stream_config_t sc;
  stream_config(&sc, o);
  nm_stream_t* st = NULL;
  check(nm_node_open_stream(node, peer_id, STREAM_ID, &sc, &st), "nm_node_open_stream");
  tracer_t tracer = {node, peer_id, o->t0, o->trace_ms * 1000000ull, 0};
  pthread_t trace_thread;
  if (o->trace_ms && pthread_create(&trace_thread, NULL, trace_session, &tracer)) {
    fprintf(stderr, "pthread_create failed\n");
    exit(1);
  }

  uint64_t end = o->t0 + o->time_s * 1000000000ull;
  uint64_t batch = o->rate_mbit > 0 ? 1 : o->batch;
  uint8_t* bufs = malloc(batch * o->event_bytes);
  nm_event_t* ev = malloc(batch * sizeof *ev);
  uint64_t seq = 0, timeouts = 0;
  double interval_ns = o->rate_mbit > 0 ? o->event_bytes * 8.0 * 1000.0 / o->rate_mbit : 0;
  uint64_t t_start = mono_ns();
  while (mono_ns() < end && (!o->count || seq < o->count)) {
    if (interval_ns > 0) {
      uint64_t due = t_start + (uint64_t)(seq * interval_ns);
      if (due >= end) break;
      sleep_until_ns(due);
    }
    uint64_t now = mono_ns();
    if (o->count && o->count - seq < batch) batch = o->count - seq;
    for (uint64_t i = 0; i < batch; ++i) {
      flow_fill(bufs + i * o->event_bytes, o->event_bytes, seq + i, now);
      ev[i].data = bufs + i * o->event_bytes;
      ev[i].len = o->event_bytes;
    }
    size_t done = 0;
    while (done < batch) {
      size_t sent = 0;
      nm_status s = nm_stream_send_blocking(st, ev + done, batch - done, 100, &sent);
      done += sent;
      if (s == NM_OK) break;
      if (s != NM_ERR_TIMEOUT && s != NM_ERR_BACKPRESSURE) check(s, "nm_stream_send_blocking");
      timeouts++;
      if (mono_ns() >= end + o->grace_s * 1000000000ull) break; /* stalled for good */
    }
    seq += done;
    if (done < batch) break;
  }
  uint64_t t_stop = mono_ns();
  /* The end marker (with the count), then wait until the receiver has read everything. */
  uint8_t endbuf[FLOW_HDR];
  flow_fill(endbuf, FLOW_HDR, FLOW_END, seq);
  nm_event_t endev = {endbuf, FLOW_HDR};
  uint64_t grace_end = t_stop + o->grace_s * 1000000000ull;
  size_t sent = 0;
  int64_t left_ms = (int64_t)(grace_end - mono_ns()) / 1000000;
  nm_status es = nm_stream_send_blocking(st, &endev, 1, left_ms > 0 ? (int)left_ms : 0, &sent);
  int drained = 0;
  while (mono_ns() < grace_end) {
    nm_stream_stats_t ss;
    check(nm_stream_stats(st, &ss, sizeof ss), "nm_stream_stats");
    if (ss.tx_credit_remaining == ss.tx_window && ss.tx_unacked_packets == 0) {
      drained = 1;
      break;
    }
    struct timespec p = {0, 10000000};
    nanosleep(&p, NULL);
  }
  uint64_t t_drained = mono_ns();
  printf("RESULT {\"tool\":\"nm\",\"role\":\"send\",\"faf\":%d,\"events_sent\":%" PRIu64
         ",\"event_bytes\":%" PRIu64 ",\"window\":%" PRIu64 ",\"rate_mbit\":%.3f"
         ",\"end_marker_sent\":%d,\"drained\":%d,\"send_timeouts\":%" PRIu64
         ",\"connect_s\":%.6f,\"connected_s\":%.6f,\"start_s\":%.6f,\"stop_s\":%.6f,\"drained_s\":%.6f",
         o->faf, seq, o->event_bytes, o->window, o->rate_mbit, es == NM_OK && sent == 1, drained,
         timeouts, rel_s(t_connect, o->t0), rel_s(t_connected, o->t0), rel_s(t_start, o->t0),
         rel_s(t_stop, o->t0), rel_s(t_drained, o->t0));
  print_stream_stats(st);
  print_node_stats(node);
  print_session_stats(node, peer_id);
  printf("}\n");
  fflush(stdout);
  if (o->trace_ms) {
    tracer.stop = 1;
    pthread_join(trace_thread, NULL);
  }
  nm_stream_free(st);
  nm_node_free(node);
  free(bufs);
  free(ev);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && !strcmp(argv[1], "now")) {
    printf("%" PRIu64 "\n", mono_ns());
    return 0;
  }
  if (argc < 2) usage();
  opts_t o = {0};
  o.window = 1 << 20;
  o.event_bytes = 1024;
  o.batch = 8;
  o.grace_s = 10;
  o.time_s = 10;
  if (!strcmp(argv[1], "send")) o.send = 1;
  else if (strcmp(argv[1], "recv")) usage();
  int have_t0 = 0;
  for (int i = 2; i < argc; ++i) {
    const char* k = argv[i];
    if (!strcmp(k, "--faf")) {
      o.faf = 1;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (!strcmp(k, "--bind") || !strcmp(k, "--connect")) o.addr = v;
    else if (!strcmp(k, "--seed")) o.seed = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--peer-seed")) o.peer_seed = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--t0")) o.t0 = parse_u64_or_die(k, v), have_t0 = 1;
    else if (!strcmp(k, "--time")) o.time_s = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--grace")) o.grace_s = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--window")) o.window = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--event-bytes")) o.event_bytes = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--batch")) o.batch = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--count")) o.count = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--rate-mbit")) o.rate_mbit = atof(v);
    else if (!strcmp(k, "--cc") && !strcmp(v, "cubic")) o.cc = NM_CC_CUBIC;
    else if (!strcmp(k, "--cc") && !strcmp(v, "newreno")) o.cc = NM_CC_NEW_RENO;
    else if (!strcmp(k, "--cc") && !strcmp(v, "bbr")) o.cc = NM_CC_BBR;
    else if (!strcmp(k, "--trace-ms")) o.trace_ms = parse_u64_or_die(k, v);
    else usage();
  }
  if (!o.addr || !o.seed || !o.peer_seed || o.seed == o.peer_seed) usage();
  if (o.event_bytes < FLOW_HDR || o.event_bytes > (1u << 20) || o.batch == 0 || o.batch > 1024) usage();
  if (!have_t0) o.t0 = mono_ns();
  signal(SIGPIPE, SIG_IGN);
  return o.send ? run_send(&o) : run_recv(&o);
}
