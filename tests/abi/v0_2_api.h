/*
 * FROZEN: the rest of the netmesh 0.2.0 API an old program compiled in: constants and the
 * function prototypes of version node NETMESH_0.2 (a function's signature never changes
 * within its version node). Never edit; see tests/abi/README.md.
 */
#ifndef NETMESH_ABI_V0_2_API_H
#define NETMESH_ABI_V0_2_API_H

#include "v0_2_structs.h"

#define NM_VERSION_MAJOR 0
#define NM_VERSION_MINOR 2
#define NM_VERSION_PATCH 0
#define NM_KEY_SIZE 32
#define NM_MAX_EVENT_SIZE 8104
#define NM_ADDR_MAX 64
#define NM_MIN_WINDOW_BYTES 8276

typedef enum nm_status {
  NM_OK = 0, NM_ERR_INVALID_ARGUMENT = -1, NM_ERR_INVALID_HANDLE = -2, NM_ERR_WRONG_NODE = -3,
  NM_ERR_NOT_CONNECTED = -4, NM_ERR_BACKPRESSURE = -5, NM_ERR_TRANSPORT = -6, NM_ERR_TIMEOUT = -7,
  NM_ERR_HANDSHAKE = -8, NM_ERR_EVENT_TOO_LARGE = -9, NM_ERR_BUFFER_TOO_SMALL = -10,
  NM_ERR_SHUTDOWN = -11, NM_ERR_ADDRESS = -12, NM_ERR_CRYPTO = -13, NM_ERR_INTERNAL = -14
} nm_status;
typedef struct nm_node nm_node_t;
typedef struct nm_stream nm_stream_t;
typedef enum nm_reliability { NM_FIRE_AND_FORGET = 0, NM_RELIABLE = 1 } nm_reliability;
typedef enum nm_close_behaviour { NM_DRAIN_THEN_CLOSE = 0, NM_DROP_AND_CLOSE = 1 } nm_close_behaviour;
typedef enum nm_peer_event_kind {
  NM_PEER_CONNECTED = 1, NM_PEER_SUSPECTED = 2, NM_PEER_FAILED = 3, NM_PEER_RECOVERED = 4
} nm_peer_event_kind;
typedef enum nm_direction { NM_OUTBOUND = 1, NM_INBOUND = 2, NM_BOTH_DIRECTIONS = 3 } nm_direction;

const char* nm_version(void);
const char* nm_strerror(int32_t status);
const char* nm_last_error_message(void);
nm_status nm_node_config_init(nm_node_config_t* config, size_t config_size);
nm_status nm_node_new(const nm_node_config_t* config, nm_node_t** out_node);
nm_status nm_node_free(nm_node_t* node);
nm_status nm_node_public_key(nm_node_t* node, uint8_t out_key[NM_KEY_SIZE]);
nm_status nm_node_id(nm_node_t* node, uint64_t* out_node_id);
nm_status nm_node_local_addr(nm_node_t* node, char* buf, size_t buf_len);
nm_status nm_node_stats(nm_node_t* node, nm_node_stats_t* out, size_t out_size);
nm_status nm_node_event_fd(nm_node_t* node, int* out_fd);
nm_status nm_node_connect(nm_node_t* node, const char* addr, const uint8_t peer_public_key[NM_KEY_SIZE],
                          uint64_t peer_node_id);
nm_status nm_node_connect_via(nm_node_t* node, const char* relay_addr,
                              const uint8_t peer_public_key[NM_KEY_SIZE], uint64_t peer_node_id);
nm_status nm_node_routes(nm_node_t* node, nm_route_t* out, size_t capacity, size_t elem_size,
                         size_t* out_count);
nm_status nm_node_next_peer_event(nm_node_t* node, nm_peer_event_t* out, size_t out_size, int timeout_ms);
nm_status nm_node_peer_event_fd(nm_node_t* node, int* out_fd);
nm_status nm_node_allow_peer(nm_node_t* node, uint64_t peer_node_id);
nm_status nm_node_accept(nm_node_t* node, uint64_t peer_node_id, int timeout_ms);
nm_status nm_stream_config_init(nm_stream_config_t* config, size_t config_size);
nm_status nm_node_open_stream(nm_node_t* node, uint64_t peer_node_id, uint64_t stream_id,
                              const nm_stream_config_t* config, nm_stream_t** out_stream);
nm_status nm_node_close_stream(nm_node_t* node, nm_stream_t* stream);
nm_status nm_stream_free(nm_stream_t* stream);
nm_status nm_stream_send(nm_stream_t* stream, const nm_event_t* events, size_t count, size_t* out_sent);
nm_status nm_stream_send_with_retry(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                    uint32_t max_retries, size_t* out_sent);
nm_status nm_stream_send_blocking(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                  int timeout_ms, size_t* out_sent);
nm_status nm_stream_recv(nm_stream_t* stream, void* buf, size_t buf_len, size_t* out_len, int timeout_ms);
nm_status nm_stream_recv_batch(nm_stream_t* stream, void* buf, size_t buf_len, size_t* lens,
                               size_t max_events, size_t* out_count, int timeout_ms);
nm_status nm_stream_stats(nm_stream_t* stream, nm_stream_stats_t* out, size_t out_size);
nm_status nm_node_all_stream_stats(nm_node_t* node, nm_stream_stats_t* out, size_t capacity,
                                   size_t elem_size, size_t* out_count);
nm_status nm_stream_id_from_key(const void* key, size_t len, uint64_t* out_stream_id);
nm_status nm_impairment_init(nm_impairment_t* impairment, size_t impairment_size);
nm_status nm_node_set_impairment(nm_node_t* node, uint64_t peer_node_id, uint32_t directions,
                                 const nm_impairment_t* impairment);
nm_status nm_node_impairment_stats(nm_node_t* node, nm_impairment_stats_t* out, size_t out_size);

#endif /* NETMESH_ABI_V0_2_API_H */
