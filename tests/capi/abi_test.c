/* The size handshake of the ABI (include/netmesh.h, "ABI stability") from the side of a
 * program built against a NEWER header than this library: its structs are larger. The
 * library must accept them while the bytes it does not know are zero, refuse them when not
 * (a setting it would otherwise silently ignore), and zero what it does not know in outputs.
 * Also: reserved bytes, implausible sizes and uninitialised configs. Programs built against
 * OLDER headers are tests/abi/abi_v0_2_test.c. */
#include <stdio.h>
#include <string.h>

#include "netmesh_testing.h"
#include "test_support.h"

#define FUTURE 24 /* bytes a newer header appended */

static int all_bytes(const void* p, size_t n, uint8_t v) {
  const uint8_t* b = p;
  for (size_t i = 0; i < n; ++i)
    if (b[i] != v) return 0;
  return 1;
}

typedef struct {
  nm_node_config_t cfg;
  uint8_t future[FUTURE];
} newer_node_config;

static void newer_config_with_unknown_fields_zero_works(void** state) {
  (void)state;
  newer_node_config c;
  memset(&c, 0xA5, sizeof c);
  NM_OK_OR_FAIL(nm_node_config_init(&c.cfg, sizeof c));
  assert_int_equal(c.cfg.struct_size, sizeof c);
  assert_true(all_bytes(c.future, FUTURE, 0)); /* init zeroes what it does not know */
  assert_int_equal(c.cfg.heartbeat_interval_ms, 5000);
  memset(c.cfg.psk, 1, sizeof c.cfg.psk);
  nm_node_t* n = NULL;
  NM_OK_OR_FAIL(nm_node_new(&c.cfg, &n));
  NM_OK_OR_FAIL(nm_node_free(n));

  /* a field this library does not know was set: refused, not ignored */
  c.future[FUTURE - 1] = 1;
  n = NULL;
  assert_int_equal(nm_node_new(&c.cfg, &n), NM_ERR_INVALID_ARGUMENT);
  assert_null(n);
  assert_non_null(strstr(nm_last_error_message(), "newer netmesh.h"));
}

static void newer_stream_config_and_impairment(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  struct {
    nm_stream_config_t cfg;
    uint8_t future[FUTURE];
  } sc;
  memset(&sc, 0xA5, sizeof sc);
  NM_OK_OR_FAIL(nm_stream_config_init(&sc.cfg, sizeof sc));
  assert_true(all_bytes(sc.future, FUTURE, 0));
  sc.cfg.reliability = NM_RELIABLE;
  nm_stream_t* s = NULL;
  sc.future[0] = 2;
  assert_int_equal(nm_node_open_stream(p.a, p.b_id, 3, &sc.cfg, &s), NM_ERR_INVALID_ARGUMENT);
  assert_null(s);
  sc.future[0] = 0;
  NM_OK_OR_FAIL(nm_node_open_stream(p.a, p.b_id, 3, &sc.cfg, &s));
  assert_int_equal(test_stream_stats(s).reliable, 1);
  nm_stream_free(s);

  struct {
    nm_impairment_t imp;
    uint8_t future[FUTURE];
  } imp;
  memset(&imp, 0xA5, sizeof imp);
  NM_OK_OR_FAIL(nm_impairment_init(&imp.imp, sizeof imp));
  assert_true(all_bytes(imp.future, FUTURE, 0));
  NM_OK_OR_FAIL(nm_node_set_impairment(p.a, p.b_id, NM_OUTBOUND, &imp.imp));
  imp.future[5] = 1;
  assert_int_equal(nm_node_set_impairment(p.a, p.b_id, NM_OUTBOUND, &imp.imp), NM_ERR_INVALID_ARGUMENT);
  test_pair_free(&p);
}

static void newer_outputs_get_their_tail_zeroed(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *a1, *b1, *a2, *b2;
  test_open_both(&p, 1, NULL, &a1, &b1);
  test_open_both(&p, 2, NULL, &a2, &b2);

  struct {
    nm_node_stats_t st;
    uint8_t future[FUTURE];
    uint8_t guard[8];
  } ns;
  memset(&ns, 0xA5, sizeof ns);
  NM_OK_OR_FAIL(nm_node_stats(p.a, &ns.st, sizeof ns.st + FUTURE));
  assert_int_equal(ns.st.sessions, 1);
  assert_true(all_bytes(ns.future, FUTURE, 0) && all_bytes(ns.guard, 8, 0xA5));

  struct {
    nm_stream_stats_t st;
    uint8_t future[FUTURE];
  } ss;
  memset(&ss, 0xA5, sizeof ss);
  NM_OK_OR_FAIL(nm_stream_stats(a1, &ss.st, sizeof ss));
  assert_int_equal(ss.st.stream_id, 1);
  assert_true(all_bytes(ss.future, FUTURE, 0) && all_bytes(ss.st.reserved0, sizeof ss.st.reserved0, 0));

  /* a list with a newer, larger element: each element at the caller's stride */
  struct newer_stats {
    nm_stream_stats_t st;
    uint64_t extra[2];
  } all[3];
  memset(all, 0xA5, sizeof all);
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(p.a, &all[0].st, 3, sizeof all[0], &count));
  assert_int_equal(count, 2);
  assert_true(all[0].st.stream_id + all[1].st.stream_id == 3 && all[0].st.peer_node_id == p.b_id);
  assert_true(all_bytes(all[0].extra, sizeof all[0].extra, 0) && all_bytes(all[1].extra, sizeof all[1].extra, 0));
  assert_true(all_bytes(&all[2], sizeof all[2], 0xA5)); /* beyond the count: untouched */

  struct {
    nm_peer_event_t ev;
    uint8_t future[FUTURE];
  } ev;
  memset(&ev, 0xA5, sizeof ev);
  NM_OK_OR_FAIL(nm_node_next_peer_event(p.a, &ev.ev, sizeof ev, 5000));
  assert_int_equal(ev.ev.kind, NM_PEER_CONNECTED);
  assert_true(all_bytes(ev.future, FUTURE, 0));

  struct {
    nm_impairment_stats_t st;
    uint8_t future[FUTURE];
  } is;
  memset(&is, 0xA5, sizeof is);
  NM_OK_OR_FAIL(nm_node_impairment_stats(p.a, &is.st, sizeof is));
  assert_true(is.st.seen == 0 && all_bytes(is.future, FUTURE, 0));

  nm_stream_free(a1);
  nm_stream_free(b1);
  nm_stream_free(a2);
  nm_stream_free(b2);
  test_pair_free(&p);
}

static void reserved_and_implausible_sizes_are_refused(void** state) {
  (void)state;
  nm_node_config_t c;
  test_config(&c, 1);
  nm_node_t* n = NULL;
  c.reserved0[1] = 1;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(nm_last_error_message(), "reserved"));
  test_config(&c, 1);
  c.reserved1 = 7;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  test_config(&c, 1);
  c.reserved2 = 7;
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  test_config(&c, 1);
  c.congestion_control = NM_CC_BBR + 1; /* no such controller */
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(nm_last_error_message(), "congestion_control"));
  test_config(&c, 1);
  c.struct_size = 0; /* not initialised with nm_node_config_init */
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(nm_last_error_message(), "nm_node_config_init"));
  c.struct_size = 0xA5A5A5A5u; /* garbage: refused before anything reads that far */
  assert_int_equal(nm_node_new(&c, &n), NM_ERR_INVALID_ARGUMENT);
  assert_null(n);

  nm_stream_config_t sc;
  nm_stream_config_init(&sc, sizeof sc);
  sc.reserved0 = 1;
  n = test_node(1);
  nm_stream_t* s = NULL;
  assert_int_equal(nm_node_open_stream(n, 5, 1, &sc, &s), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_config_init(&sc, 1u << 20), NM_ERR_INVALID_ARGUMENT);
  nm_node_stats_t st;
  assert_int_equal(nm_node_stats(n, &st, 1u << 20), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_stats(n, &st, sizeof st - 1), NM_ERR_INVALID_ARGUMENT);
  size_t count;
  assert_int_equal(nm_node_all_stream_stats(n, NULL, 0, 0, &count), NM_ERR_INVALID_ARGUMENT);
  NM_OK_OR_FAIL(nm_node_all_stream_stats(n, NULL, 0, sizeof(nm_stream_stats_t), &count));
  assert_int_equal(count, 0);
  nm_node_free(n);
}

static void version_macros_match_the_library(void** state) {
  (void)state;
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", NM_VERSION_MAJOR, NM_VERSION_MINOR, NM_VERSION_PATCH);
  assert_string_equal(nm_version(), want);
  assert_string_equal(nm_strerror(-1000), "unknown status");
  assert_string_equal(nm_strerror(NM_ERR_TIMEOUT), "timed out");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(newer_config_with_unknown_fields_zero_works),
      cmocka_unit_test(newer_stream_config_and_impairment),
      cmocka_unit_test(newer_outputs_get_their_tail_zeroed),
      cmocka_unit_test(reserved_and_implausible_sizes_are_refused),
      cmocka_unit_test(version_macros_match_the_library),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
