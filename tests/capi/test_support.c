#include "test_support.h"

#include "netmesh_testing.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void test_config(nm_node_config_t* c, uint8_t psk_byte) {
  nm_node_config_init(c, sizeof *c);
  memset(c->psk, psk_byte, sizeof c->psk);
  c->handshake_timeout_ms = 1000;
  c->handshake_retries = 2;
  c->heartbeat_interval_ms = 200;
}

nm_node_t* test_node(uint8_t psk_byte) {
  nm_node_config_t c;
  test_config(&c, psk_byte);
  nm_node_t* n = NULL;
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  return n;
}

typedef struct accept_job {
  nm_node_t* node;
  uint64_t peer;
  nm_status result;
} accept_job;

static void* accept_main(void* arg) {
  accept_job* job = arg;
  job->result = nm_node_accept(job->node, job->peer, 5000);
  return NULL;
}

void test_pair_connect(test_pair* p) { test_pair_connect_with(p, NULL, NULL); }

void test_pair_connect_with(test_pair* p, const nm_node_config_t* ca, const nm_node_config_t* cb) {
  test_pair_new(p, ca, cb);
  test_pair_connect_nodes(p);
}

void test_pair_new(test_pair* p, const nm_node_config_t* ca, const nm_node_config_t* cb) {
  nm_node_config_t defaults;
  test_config(&defaults, 0x42);
  NM_OK_OR_FAIL(nm_node_new(ca ? ca : &defaults, &p->a));
  NM_OK_OR_FAIL(nm_node_new(cb ? cb : &defaults, &p->b));
  NM_OK_OR_FAIL(nm_node_id(p->a, &p->a_id));
  NM_OK_OR_FAIL(nm_node_id(p->b, &p->b_id));
}

void test_pair_connect_nodes(test_pair* p) { test_pair_connect_at(p, NULL); }

void test_pair_connect_at(test_pair* p, const char* b_addr) {
  uint8_t key[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_public_key(p->b, key));
  if (b_addr)
    snprintf(addr, sizeof addr, "%s", b_addr);
  else
    NM_OK_OR_FAIL(nm_node_local_addr(p->b, addr, sizeof addr));
  test_dial(p->a, p->a_id, p->b, p->b_id, key, addr);
}

void test_dial(nm_node_t* dialer, uint64_t dialer_id, nm_node_t* listener, uint64_t listener_id,
               const uint8_t listener_key[NM_KEY_SIZE], const char* addr) {
  NM_OK_OR_FAIL(nm_node_allow_peer(listener, dialer_id)); /* no race with the accept thread */
  accept_job job = {listener, dialer_id, NM_ERR_INTERNAL};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, accept_main, &job), 0);
  NM_OK_OR_FAIL(nm_node_connect(dialer, addr, listener_key, listener_id));
  pthread_join(t, NULL);
  assert_int_equal(job.result, NM_OK);
}

void test_pair_free(test_pair* p) {
  NM_OK_OR_FAIL(nm_node_free(p->a));
  NM_OK_OR_FAIL(nm_node_free(p->b));
}

void test_open_both(test_pair* p, uint64_t id, const nm_stream_config_t* cfg, nm_stream_t** on_a,
                    nm_stream_t** on_b) {
  NM_OK_OR_FAIL(nm_node_open_stream(p->a, p->b_id, id, cfg, on_a));
  NM_OK_OR_FAIL(nm_node_open_stream(p->b, p->a_id, id, cfg, on_b));
}

void test_lose_all(nm_node_t* n, uint64_t peer, uint32_t directions, int lost) {
  nm_impairment_t all;
  nm_impairment_init(&all, sizeof all);
  all.loss = 1.0;
  NM_OK_OR_FAIL(nm_node_set_impairment(n, peer, directions, lost ? &all : NULL));
}

nm_event_t test_event(const char* text) {
  nm_event_t e = {text, strlen(text)};
  return e;
}

double test_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

nm_stream_stats_t test_stream_stats(nm_stream_t* s) {
  nm_stream_stats_t st;
  NM_OK_OR_FAIL(nm_stream_stats(s, &st, sizeof st));
  return st;
}

nm_node_stats_t test_node_stats(nm_node_t* n) {
  nm_node_stats_t st;
  NM_OK_OR_FAIL(nm_node_stats(n, &st, sizeof st));
  return st;
}

nm_session_stats_t test_session_stats(nm_node_t* n, uint64_t peer) {
  nm_session_stats_t st;
  NM_OK_OR_FAIL(nm_node_session_stats(n, peer, &st, sizeof st));
  return st;
}

void* test_send_numbered(void* arg) {
  test_sender* j = arg;
  j->result = NM_OK;
  for (uint32_t i = 0; i < j->count && j->result == NM_OK; ++i) {
    uint32_t ev[kNumberedWords];
    for (size_t w = 0; w < kNumberedWords; ++w) ev[w] = i;
    nm_event_t e = {ev, sizeof ev};
    j->result = nm_stream_send_blocking(j->s, &e, 1, 20000, NULL);
  }
  return NULL;
}

void test_expect_numbered(nm_stream_t* s, uint32_t count, void (*at)(uint32_t, void*), void* arg) {
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t buf[kNumberedWords];
    size_t len = 0;
    nm_status st = nm_stream_recv(s, buf, sizeof buf, &len, 30000);
    if (st != NM_OK) fail_msg("event %u: %s", i, nm_strerror(st));
    if (len != sizeof buf || buf[0] != i || buf[kNumberedWords - 1] != i) fail_msg("event %u arrived as %u", i, buf[0]);
    if (at) at(i, arg);
  }
}

void test_transfer_numbered(nm_stream_t* tx, nm_stream_t* rx, uint32_t count) {
  test_sender job = {tx, count, NM_ERR_INTERNAL};
  pthread_t sender;
  assert_int_equal(pthread_create(&sender, NULL, test_send_numbered, &job), 0);
  test_expect_numbered(rx, count, NULL, NULL);
  pthread_join(sender, NULL);
  NM_OK_OR_FAIL(job.result);
}

uint64_t test_node_id(nm_node_t* n) {
  uint64_t id;
  NM_OK_OR_FAIL(nm_node_id(n, &id));
  return id;
}

void test_connect_through(nm_node_t* a, nm_node_t* relay, nm_node_t* dest) {
  uint8_t key[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  uint64_t dest_id;
  NM_OK_OR_FAIL(nm_node_public_key(dest, key));
  NM_OK_OR_FAIL(nm_node_id(dest, &dest_id));
  NM_OK_OR_FAIL(nm_node_local_addr(relay, addr, sizeof addr));
  NM_OK_OR_FAIL(nm_node_connect_via(a, addr, key, dest_id));
}

static void print_side(const char* name, nm_node_t* n, uint64_t peer, nm_stream_t* s) {
  nm_node_stats_t ns;
  nm_session_stats_t ss;
  nm_stream_stats_t st;
  if (nm_node_stats(n, &ns, sizeof ns) == NM_OK)
    fprintf(stderr,
            "  %s node: sent %llu recv %llu malformed %llu over_window %llu over_budget %llu "
            "deferred %llu bad_fragment %llu\n",
            name, (unsigned long long)ns.datagrams_sent, (unsigned long long)ns.datagrams_received,
            (unsigned long long)ns.drop_malformed, (unsigned long long)ns.drop_over_window,
            (unsigned long long)ns.drop_over_budget, (unsigned long long)ns.responses_deferred,
            (unsigned long long)ns.drop_bad_fragment);
  if (nm_node_session_stats(n, peer, &ss, sizeof ss) == NM_OK)
    fprintf(stderr,
            "  %s session: srtt %llu us, in flight %llu B / %llu, cwnd %llu, acked %llu lost %llu, "
            "ptos %llu, acks sent %llu recv %llu, max datagram %llu\n",
            name, (unsigned long long)ss.srtt_ns / 1000, (unsigned long long)ss.bytes_in_flight,
            (unsigned long long)ss.datagrams_in_flight, (unsigned long long)ss.cwnd_bytes,
            (unsigned long long)ss.datagrams_acked, (unsigned long long)ss.datagrams_lost,
            (unsigned long long)ss.probe_timeouts, (unsigned long long)ss.acks_sent,
            (unsigned long long)ss.acks_received, (unsigned long long)ss.max_datagram_bytes);
  if (s && nm_stream_stats(s, &st, sizeof st) == NM_OK)
    fprintf(stderr,
            "  %s stream: tx_seq %llu rx_seq %llu credit %llu unacked %llu retransmits %llu "
            "nacks sent %llu recv %llu grants sent %llu recv %llu pending %llu buffered %llu "
            "reorder %llu gaps %llu dups %llu\n",
            name, (unsigned long long)st.tx_seq, (unsigned long long)st.rx_seq,
            (unsigned long long)st.tx_credit_remaining, (unsigned long long)st.tx_unacked_packets,
            (unsigned long long)st.retransmits, (unsigned long long)st.nacks_sent,
            (unsigned long long)st.nacks_received, (unsigned long long)st.credit_grants_sent,
            (unsigned long long)st.credit_grants_received, (unsigned long long)st.inbound_pending,
            (unsigned long long)st.rx_buffered_bytes, (unsigned long long)st.rx_reorder_packets,
            (unsigned long long)st.rx_gaps, (unsigned long long)st.rx_duplicates_dropped);
}

void test_print_transfer_state(const test_pair* p, nm_stream_t* tx, nm_stream_t* rx) {
  print_side("sender", p->a, p->b_id, tx);
  print_side("receiver", p->b, p->a_id, rx);
}
