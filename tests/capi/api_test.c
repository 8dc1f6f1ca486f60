/* The C API's face: defaults, error names, argument checks and handle safety. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

static void version_and_error_names(void** state) {
  (void)state;
  assert_non_null(nm_version());
  assert_true(strlen(nm_version()) > 0);
  assert_string_equal(nm_strerror(NM_OK), "ok");
  for (int s = NM_ERR_INVALID_ARGUMENT; s >= NM_ERR_INTERNAL; --s)
    assert_string_not_equal(nm_strerror((nm_status)s), "unknown status");
  assert_string_equal(nm_strerror((nm_status)-999), "unknown status");
}

static void config_defaults(void** state) {
  (void)state;
  nm_node_config_t c;
  NM_OK_OR_FAIL(nm_node_config_init(&c, sizeof c));
  assert_string_equal(c.bind_addr, "127.0.0.1:0");
  assert_int_equal(c.heartbeat_interval_ms, 5000);
  assert_int_equal(c.handshake_timeout_ms, 5000);
  assert_int_equal(c.handshake_retries, 3);
  assert_int_equal(c.stream_idle_timeout_ms, 300000);
  assert_int_equal(c.max_streams, 4096);
  assert_int_equal(c.default_window_bytes, 65536);
  nm_stream_config_t s;
  NM_OK_OR_FAIL(nm_stream_config_init(&s, sizeof s));
  assert_int_equal(s.reliability, NM_FIRE_AND_FORGET);
  assert_int_equal(s.window_bytes, 65536);
  assert_int_equal(s.fairness_weight, 1);
  assert_int_equal(s.close_behaviour, NM_DROP_AND_CLOSE); /* net-mesh's defaults */
}

/* A fairness weight of 0 is taken as 1, as net-mesh does (not an error). */
static void zero_fairness_weight_is_one(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_config_t c;
  nm_stream_config_init(&c, sizeof c);
  c.fairness_weight = 0;
  nm_stream_t* s;
  NM_OK_OR_FAIL(nm_node_open_stream(p.a, p.b_id, 5, &c, &s));
  nm_event_t e = test_event("w0");
  NM_OK_OR_FAIL(nm_stream_send(s, &e, 1, NULL));
  nm_stream_free(s);
  test_pair_free(&p);
}

static void null_arguments_are_errors(void** state) {
  (void)state;
  nm_node_t* n = test_node(1);
  uint64_t u = 0;
  size_t z = 0;
  char buf[8];
  nm_stream_t* st = NULL;
  assert_int_equal(nm_node_config_init(NULL, sizeof(nm_node_config_t)), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_config_init(NULL, sizeof(nm_stream_config_t)), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_new(NULL, &n), NM_ERR_INVALID_ARGUMENT);
  assert_true(strstr(nm_last_error_message(), "config") != NULL);
  nm_node_config_t c;
  test_config(&c, 1);
  assert_int_equal(nm_node_new(&c, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_free(NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_id(NULL, &u), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_id(n, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_public_key(n, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_local_addr(n, NULL, 8), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_local_addr(n, buf, 4), NM_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(nm_node_stats(n, NULL, sizeof(nm_node_stats_t)), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_event_fd(n, NULL), NM_ERR_INVALID_ARGUMENT);
  {
    uint8_t k[NM_KEY_SIZE] = {0};
    assert_int_equal(nm_node_connect(n, NULL, k, 1), NM_ERR_INVALID_ARGUMENT);
  }
  assert_int_equal(nm_node_connect(n, "127.0.0.1:1", NULL, 1), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_open_stream(n, 1, 1, NULL, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_send(NULL, NULL, 0, &z), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_recv(NULL, buf, sizeof buf, &z, 0), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_stats(NULL, NULL, sizeof(nm_stream_stats_t)), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_free(NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_all_stream_stats(n, NULL, 0, sizeof(nm_stream_stats_t), NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_all_stream_stats(n, NULL, 3, sizeof(nm_stream_stats_t), &z), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_id_from_key(NULL, 3, &u), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_id_from_key("x", 1, NULL), NM_ERR_INVALID_ARGUMENT);
  /* no session yet: opening a stream is "not connected", not a crash */
  assert_int_equal(nm_node_open_stream(n, 12345, 1, NULL, &st), NM_ERR_NOT_CONNECTED);
  assert_null(st);
  NM_OK_OR_FAIL(nm_node_free(n));
}

static void bad_config_and_addresses(void** state) {
  (void)state;
  nm_node_config_t c;
  nm_node_t* n = NULL;
  test_config(&c, 0);
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT); /* all-zero PSK */
  assert_null(n);
  const char* bad[] = {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "300.1.1.1:5", "[::1:5",
                       "host.invalid:80", "127.0.0.1:12x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    test_config(&c, 1);
    c.bind_addr = bad[i];
    assert_int_equal(nm_node_new(&c, &n), NM_ERR_ADDRESS);
  }
  test_config(&c, 1);
  c.bind_addr = "[::1]:0";
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  char addr[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_local_addr(n, addr, sizeof addr));
  assert_true(strncmp(addr, "[::1]:", 6) == 0);
  uint8_t key[NM_KEY_SIZE] = {0};
  assert_int_equal(nm_node_connect(n, "not an address", key, 1), NM_ERR_ADDRESS);
  assert_true(strstr(nm_last_error_message(), "not an address") != NULL);
  NM_OK_OR_FAIL(nm_node_free(n));

  test_config(&c, 1);
  c.heartbeat_interval_ms = 0;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  /* A node that prunes every session at once, and one that refuses every event: refused. */
  test_config(&c, 1);
  c.session_timeout_ms = 0;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  test_config(&c, 1);
  c.max_event_bytes = 0;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
}

static void identity_is_derived_from_the_seed(void** state) {
  (void)state;
  /* RFC 8032 test 1 secret key; its node id is the wire spec's Appendix A.2 value. */
  static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                   0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                   0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
  nm_node_config_t c;
  test_config(&c, 1);
  memcpy(c.identity_seed, seed, 32);
  memset(c.static_private_key, 0x11, 32);
  nm_node_t* n = NULL;
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  uint64_t id = 0;
  NM_OK_OR_FAIL(nm_node_id(n, &id));
  assert_true(id == 0x652f03ba688dde03ULL);
  uint8_t pub[32];
  NM_OK_OR_FAIL(nm_node_public_key(n, pub));
  static const uint8_t expected_pub[32] = {  /* X25519(32 x 0x11), Appendix A.2 */
      0x7b, 0x4e, 0x90, 0x9b, 0xbe, 0x7f, 0xfe, 0x44, 0xc4, 0x65, 0xa2, 0x20, 0x03, 0x7d, 0x60, 0x8e,
      0xe3, 0x58, 0x97, 0xd3, 0x1e, 0xf9, 0x72, 0xf0, 0x7f, 0x74, 0x89, 0x2c, 0xb0, 0xf7, 0x3f, 0x13};
  assert_memory_equal(pub, expected_pub, 32);
  NM_OK_OR_FAIL(nm_node_free(n));
}

static void identity_file_survives_restarts(void** state) {
  (void)state;
  char path[] = "/tmp/nm_identity_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  unlink(path); /* the node creates it */
  nm_node_config_t c;
  test_config(&c, 1);
  c.identity_file = path;
  nm_node_t* n;
  uint64_t id1, id2;
  uint8_t k1[32], k2[32];
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  nm_node_id(n, &id1);
  nm_node_public_key(n, k1);
  nm_node_free(n);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  NM_OK_OR_FAIL(nm_node_new(&c, &n)); /* a restart: same id, same key */
  nm_node_id(n, &id2);
  nm_node_public_key(n, k2);
  nm_node_free(n);
  assert_true(id1 == id2);
  assert_memory_equal(k1, k2, 32);
  /* a file that is not an identity is refused, not overwritten */
  FILE* f = fopen(path, "w");
  fputs("garbage", f);
  fclose(f);
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_true(strstr(nm_last_error_message(), "identity") != NULL);
  unlink(path);
}

/* The identity file is written through a fresh temporary: a file or symlink planted at the
 * old fixed name "<identity_file>.tmp" is neither written through (the victim stays as it
 * was) nor used (the identity is 0600, its keys in no planted file); and a FIFO at the
 * identity's path is refused at once, not waited on (an audit found both). */
static void identity_file_is_written_through_no_planted_file(void** state) {
  (void)state;
  char dir[] = "/tmp/nm_identity_dir_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], tmp[300], victim[256];
  snprintf(path, sizeof path, "%s/identity", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  FILE* f = fopen(victim, "w");
  fputs("the user's data\n", f);
  fclose(f);
  assert_int_equal(symlink(victim, tmp), 0);
  nm_node_config_t c;
  test_config(&c, 1);
  c.identity_file = path;
  nm_node_t* n;
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  NM_OK_OR_FAIL(nm_node_free(n));
  char back[64] = {0};
  f = fopen(victim, "r");
  assert_non_null(fgets(back, sizeof back, f));
  fclose(f);
  assert_string_equal(back, "the user's data\n");
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  /* A FIFO where the identity should be: refused, promptly. */
  char fifo[256];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  c.identity_file = fifo;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(nm_last_error_message(), "regular file"));
  unlink(fifo);
  unlink(tmp);
  unlink(victim);
  unlink(path);
  char replay[300];
  snprintf(replay, sizeof replay, "%s.replay", path);
  unlink(replay);
  assert_int_equal(rmdir(dir), 0);
}

static void freed_and_forged_handles_are_errors(void** state) {
  (void)state;
  nm_node_t* n = test_node(1);
  uint64_t id;
  NM_OK_OR_FAIL(nm_node_free(n));
  assert_int_equal(nm_node_free(n), NM_ERR_INVALID_HANDLE); /* double free */
  assert_int_equal(nm_node_id(n, &id), NM_ERR_INVALID_HANDLE); /* use after free */
  nm_node_t* forged = (nm_node_t*)(uintptr_t)0xdeadbeef;
  assert_int_equal(nm_node_id(forged, &id), NM_ERR_INVALID_HANDLE);
  nm_stream_t* forged_stream = (nm_stream_t*)(uintptr_t)0x1234;
  nm_stream_stats_t st;
  assert_int_equal(nm_stream_stats(forged_stream, &st, sizeof st), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_stream_free(forged_stream), NM_ERR_INVALID_HANDLE);
  /* a node handle used as a stream handle (and the reverse) is rejected by kind */
  nm_node_t* live = test_node(1);
  assert_int_equal(nm_stream_stats((nm_stream_t*)live, &st, sizeof st), NM_ERR_INVALID_HANDLE);
  NM_OK_OR_FAIL(nm_node_free(live));
}

static void stream_id_from_key_is_xxh3(void** state) {
  (void)state;
  uint64_t id = 0;
  NM_OK_OR_FAIL(nm_stream_id_from_key("hello", 5, &id));
  assert_true(id == 0x9555e8555c62dcfdULL); /* xxh3_64("hello") */
  NM_OK_OR_FAIL(nm_stream_id_from_key(NULL, 0, &id));
  assert_true(id == 0x2d06800538d394c2ULL);
}

/* The receiver of last_error_detail_outlives_calls_that_succeed: reads once the sender has
 * met backpressure, so the sender's blocking send fails inside before it succeeds. */
typedef struct late_reader {
  nm_stream_t *tx, *rx;
  nm_status result;
} late_reader;

static void* read_after_backpressure(void* arg) {
  late_reader* r = arg;
  static uint8_t buf[16384];
  size_t n = 0;
  nm_stream_stats_t st;
  double deadline = test_now_ms() + 10000; /* (no cmocka assertions off the main thread) */
  do {
    usleep(1000);
    r->result = nm_stream_stats(r->tx, &st, sizeof st);
  } while (r->result == NM_OK && st.backpressure_events == 0 && test_now_ms() < deadline);
  if (r->result == NM_OK) r->result = nm_stream_recv(r->rx, buf, sizeof buf, &n, 10000);
  return NULL;
}

/* The detail of a failed call stays, at the same address, until another call fails: a call
 * that meets a failure inside and still succeeds (a blocking send retrying after
 * backpressure) does not replace it (an audit found it replaced, the old string freed). */
static void last_error_detail_outlives_calls_that_succeed(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  cfg.window_bytes = NM_MIN_WINDOW_BYTES;
  nm_stream_t *tx, *rx;
  test_open_both(&p, 7, &cfg, &tx, &rx);
  static uint8_t big[8000];
  nm_event_t e = {big, sizeof big};
  NM_OK_OR_FAIL(nm_stream_send(tx, &e, 1, NULL)); /* the window is used up */
  assert_int_equal(nm_node_id(NULL, NULL), NM_ERR_INVALID_ARGUMENT);
  const char* shown = nm_last_error_message();
  char copy[256];
  snprintf(copy, sizeof copy, "%s", shown);
  late_reader r = {tx, rx, NM_ERR_INTERNAL};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, read_after_backpressure, &r), 0);
  NM_OK_OR_FAIL(nm_stream_send_blocking(tx, &e, 1, 10000, NULL));
  pthread_join(t, NULL);
  NM_OK_OR_FAIL(r.result);
  assert_true(test_stream_stats(tx).backpressure_events > 0);
  assert_ptr_equal(nm_last_error_message(), shown);
  assert_string_equal(shown, copy);
  /* The next failure replaces it. */
  assert_int_equal(nm_stream_recv(rx, big, sizeof big, NULL, 0), NM_ERR_INVALID_ARGUMENT);
  assert_string_not_equal(nm_last_error_message(), copy);
  nm_stream_free(tx);
  nm_stream_free(rx);
  test_pair_free(&p);
}

/* A blocking call's timeout is -1 (for ever) or >= 0; other negative values are refused
 * (they were taken as "for ever"), before anything waits. */
static void negative_timeouts_other_than_forever_are_errors(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *a, *b;
  test_open_both(&p, 7, NULL, &a, &b);
  uint8_t buf[16];
  size_t n = 0, lens[1];
  nm_event_t e = test_event("x");
  nm_peer_event_t ev;
  assert_int_equal(nm_stream_recv(b, buf, sizeof buf, &n, -2), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_recv_batch(b, buf, sizeof buf, lens, 1, &n, INT32_MIN), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_send_blocking(a, &e, 1, -2, &n), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_int_equal(nm_node_accept(p.b, p.a_id, -2), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_next_peer_event(p.a, &ev, sizeof ev, -2), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_connect_direct(p.a, p.b_id, 0, -2), NM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(nm_last_error_message(), "timeout_ms"));
  NM_OK_OR_FAIL(nm_stream_send_blocking(a, &e, 1, -1, &n)); /* -1 and 0 are fine */
  NM_OK_OR_FAIL(nm_stream_recv(b, buf, sizeof buf, &n, -1));
  assert_int_equal(nm_stream_recv(b, buf, sizeof buf, &n, 0), NM_ERR_TIMEOUT);
  nm_stream_free(a);
  nm_stream_free(b);
  test_pair_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_and_error_names),
      cmocka_unit_test(config_defaults),
      cmocka_unit_test(last_error_detail_outlives_calls_that_succeed),
      cmocka_unit_test(negative_timeouts_other_than_forever_are_errors),
      cmocka_unit_test(zero_fairness_weight_is_one),
      cmocka_unit_test(null_arguments_are_errors),
      cmocka_unit_test(bad_config_and_addresses),
      cmocka_unit_test(identity_is_derived_from_the_seed),
      cmocka_unit_test(identity_file_survives_restarts),
      cmocka_unit_test(identity_file_is_written_through_no_planted_file),
      cmocka_unit_test(freed_and_forged_handles_are_errors),
      cmocka_unit_test(stream_id_from_key_is_xxh3),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
