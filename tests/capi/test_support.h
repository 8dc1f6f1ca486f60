/* Shared set-up for the C API suites: nodes on 127.0.0.1 with short timers. */
#ifndef NM_TEST_SUPPORT_H
#define NM_TEST_SUPPORT_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>
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
/* test_pair_connect_with in two steps, for what must be set before the handshake (an
 * impairment from the first packet on): the nodes, then the connection. */
void test_pair_new(test_pair* p, const nm_node_config_t* ca, const nm_node_config_t* cb);
void test_pair_connect_nodes(test_pair* p);
/* The same, a dialling b at `b_addr` (something in between that forwards to b). */
void test_pair_connect_at(test_pair* p, const char* b_addr);
/* `dialer` connects to `listener` at `addr` while a thread accepts it there. */
void test_dial(nm_node_t* dialer, uint64_t dialer_id, nm_node_t* listener, uint64_t listener_id,
               const uint8_t listener_key[NM_KEY_SIZE], const char* addr);
/* A routed session from a to dest (nm_node_connect_via), handed to `relay` first. */
void test_connect_through(nm_node_t* a, nm_node_t* relay, nm_node_t* dest);
void test_pair_free(test_pair* p);
/* Opens stream `id` on both sides with the same config; returns a's and b's handles. */
void test_open_both(test_pair* p, uint64_t id, const nm_stream_config_t* cfg, nm_stream_t** on_a,
                    nm_stream_t** on_b);
nm_event_t test_event(const char* text);

/* Milliseconds on CLOCK_MONOTONIC. */
double test_now_ms(void);
/* Tests never sleep and then assert: they wait for the condition, with a deadline that
 * only a broken library misses (a busy 2-core machine must never fail them). */
#define ASSERT_EVENTUALLY(cond, timeout_ms)                                                   \
  do {                                                                                       \
    double deadline_ = test_now_ms() + (timeout_ms);                                         \
    while (!(cond)) {                                                                        \
      if (test_now_ms() > deadline_)                                                         \
        fail_msg("%s:%d: not within %d ms: %s", __FILE__, __LINE__, (int)(timeout_ms), #cond); \
      usleep(1000);                                                                          \
    }                                                                                        \
  } while (0)
/* A stream's stats (failing the test if the call fails), for use in conditions. */
nm_stream_stats_t test_stream_stats(nm_stream_t* s);
/* Every datagram between n and peer in `directions` (NM_OUTBOUND, NM_INBOUND) is lost, or,
 * with lost 0, none is (fault injection, netmesh_testing.h). */
void test_lose_all(nm_node_t* n, uint64_t peer, uint32_t directions, int lost);
nm_node_stats_t test_node_stats(nm_node_t* n);
nm_session_stats_t test_session_stats(nm_node_t* n, uint64_t peer);

/* Numbered events of kNumberedWords 32-bit words (each word is the event's number), sent
 * on a thread (pthread_create(&t, NULL, test_send_numbered, &job)) with blocking sends, and
 * read back: each once and in order, `at(i)` (if set) run after event i. */
enum { kNumberedWords = 64 };
typedef struct test_sender {
  nm_stream_t* s;
  uint32_t count;
  nm_status result;
} test_sender;
void* test_send_numbered(void* job);
void test_expect_numbered(nm_stream_t* s, uint32_t count, void (*at)(uint32_t, void*), void* arg);
/* Both at once: `count` numbered events sent on tx (a thread) and read back on rx. */
void test_transfer_numbered(nm_stream_t* tx, nm_stream_t* rx, uint32_t count);
uint64_t test_node_id(nm_node_t* n);
/* Prints both ends of a transfer from a to b (node, session and stream stats) to stderr:
 * what a failed transfer test shows of where it stopped. */
void test_print_transfer_state(const test_pair* p, nm_stream_t* tx, nm_stream_t* rx);
#endif
