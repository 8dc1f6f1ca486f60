/*
 * Helpers shared by the netmesh C examples (netmesh_sender, netmesh_receiver): hex keys, the
 * demo PSK, the demo stream layout and event text, stats printing, and check() for errors.
 */
#ifndef NETMESH_EXAMPLE_COMMON_H
#define NETMESH_EXAMPLE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <netmesh.h>

#define KEY_HEX_LEN (2 * NM_KEY_SIZE) /* hex characters of a 32-byte key, without the NUL */
#define EVENT_TEXT_MAX 64             /* room for "stream <id> event <i>" */

/* Exits with status 1 after printing `what`, nm_strerror(status) and the library's detail
 * message, unless status is NM_OK. */
void check(nm_status status, const char* what);

/* Lower-case hex of a 32-byte key into out (KEY_HEX_LEN + 1 bytes, NUL-terminated). */
void hex_encode_key(const uint8_t key[NM_KEY_SIZE], char out[KEY_HEX_LEN + 1]);
/* Parses exactly KEY_HEX_LEN hex characters. Returns 0 on success, -1 on bad input. */
int hex_decode_key(const char* hex, uint8_t out[NM_KEY_SIZE]);

/* DEMO ONLY: a fixed, publicly known pre-shared key (every byte 0x42). It authenticates
 * nothing; a real mesh must generate a secret PSK and distribute it out of band. */
void demo_psk(uint8_t out[NM_KEY_SIZE]);

/* The demo's stream layout, identical on both ends: stream 1 is fire-and-forget, every
 * other stream reliable; all other settings are the library defaults. */
void demo_stream_config(uint64_t stream_id, nm_stream_config_t* config);

/* The text of event i on stream stream_id: "stream <id> event <i>". Returns its length. */
size_t demo_event_text(char out[EVENT_TEXT_MAX], uint64_t stream_id, uint64_t i);

/* Parses a decimal unsigned integer (the whole string). Returns 0 on success, -1 otherwise. */
int parse_u64(const char* text, uint64_t* out);

/* Prints one labelled line with every field of a stream's stats. */
void print_stream_stats(const nm_stream_stats_t* st);
/* Prints every field of a node's stats, labelled (traffic on one line, drops on another). */
void print_node_stats(const nm_node_stats_t* st);

#endif /* NETMESH_EXAMPLE_COMMON_H */
