/* Shared set-up for the C API suites: nodes on 127.0.0.1 with short timers. */
#ifndef NM_TEST_SUPPORT_H
#define NM_TEST_SUPPORT_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "netmesh.h"

/* Fails the test with the library's detail message unless `expr` is NM_OK. */
#define NM_OK_OR_FAIL(expr)                                                                  \
  do {                                                                                       \
    nm_status s_ = (expr);                                                                   \
    if (s_ != NM_OK) fail_msg("%s -> %s (%s)", #expr, nm_strerror(s_), nm_last_error_message()); \
  } while (0)

typedef struct test_pair {
  nm_node_t* a;
  nm_node_t* b;
  uint64_t a_id;
  uint64_t b_id;
} test_pair;

void test_config(nm_node_config_t* c, uint8_t psk_byte);
nm_node_t* test_node(uint8_t psk_byte);
/* a connects to b while b accepts on another thread. */
void test_pair_connect(test_pair* p);
/* The same with given configs (NULL = test_config with PSK 0x42). */
void test_pair_connect_with(test_pair* p, const nm_node_config_t* ca, const nm_node_config_t* cb);
void test_pair_free(test_pair* p);
/* Opens stream `id` on both sides with the same config; returns a's and b's handles. */
void test_open_both(test_pair* p, uint64_t id, const nm_stream_config_t* cfg, nm_stream_t** on_a,
                    nm_stream_t** on_b);
nm_event_t test_event(const char* text);
#endif
