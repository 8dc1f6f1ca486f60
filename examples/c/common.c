/*
 * Helpers shared by the netmesh C examples; see common.h.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void check(nm_status status, const char* what) {
  if (status == NM_OK) return;
  fprintf(stderr, "error: %s: %s (%s)\n", what, nm_strerror(status), nm_last_error_message());
  exit(1);
}

void hex_encode_key(const uint8_t key[NM_KEY_SIZE], char out[KEY_HEX_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < NM_KEY_SIZE; ++i) {
    out[2 * i] = digits[key[i] >> 4];
    out[2 * i + 1] = digits[key[i] & 0x0f];
  }
  out[KEY_HEX_LEN] = '\0';
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hex_decode_key(const char* hex, uint8_t out[NM_KEY_SIZE]) {
  if (!hex || strlen(hex) != KEY_HEX_LEN) return -1;
  for (size_t i = 0; i < NM_KEY_SIZE; ++i) {
    int hi = hex_digit(hex[2 * i]);
    int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

void demo_psk(uint8_t out[NM_KEY_SIZE]) {
  memset(out, 0x42, NM_KEY_SIZE); /* DEMO ONLY: never use a fixed PSK in production */
}

void demo_stream_config(uint64_t stream_id, nm_stream_config_t* config) {
  check(nm_stream_config_init(config, sizeof *config), "nm_stream_config_init");
  config->reliability = stream_id == 1 ? NM_FIRE_AND_FORGET : NM_RELIABLE;
}

size_t demo_event_text(char out[EVENT_TEXT_MAX], uint64_t stream_id, uint64_t i) {
  int n = snprintf(out, EVENT_TEXT_MAX, "stream %" PRIu64 " event %" PRIu64, stream_id, i);
  return n < 0 ? 0 : (size_t)n;
}

int parse_u64(const char* text, uint64_t* out) {
  if (!text || *text < '0' || *text > '9') return -1; /* no sign, no blanks */
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = (uint64_t)v;
  return 0;
}

void print_stream_stats(const nm_stream_stats_t* st) {
  printf("  stream %" PRIu64 ": peer_node_id=%" PRIu64 " reliable=%u active=%u"
         " tx_seq=%" PRIu64 " rx_seq=%" PRIu64 " tx_events=%" PRIu64 " rx_events=%" PRIu64
         " inbound_pending=%" PRIu64 " rx_gaps=%" PRIu64 " rx_duplicates_dropped=%" PRIu64
         " backpressure_events=%" PRIu64 " tx_credit_remaining=%" PRIu64 " tx_window=%" PRIu64
         " credit_grants_received=%" PRIu64 " credit_grants_sent=%" PRIu64
         " last_activity_ns=%" PRIu64 "\n",
         st->stream_id, st->peer_node_id, (unsigned)st->reliable, (unsigned)st->active, st->tx_seq,
         st->rx_seq, st->tx_events, st->rx_events, st->inbound_pending, st->rx_gaps,
         st->rx_duplicates_dropped, st->backpressure_events, st->tx_credit_remaining,
         st->tx_window, st->credit_grants_received, st->credit_grants_sent, st->last_activity_ns);
}

void print_node_stats(const nm_node_stats_t* st) {
  printf("  node traffic: sessions=%" PRIu64 " handshakes_completed=%" PRIu64
         " datagrams_sent=%" PRIu64 " datagrams_received=%" PRIu64 " heartbeats_sent=%" PRIu64
         " heartbeats_received=%" PRIu64 "\n",
         st->sessions, st->handshakes_completed, st->datagrams_sent, st->datagrams_received,
         st->heartbeats_sent, st->heartbeats_received);
  printf("  node drops: malformed=%" PRIu64 " unknown_session=%" PRIu64 " auth_failed=%" PRIu64
         " replay=%" PRIu64 " handshake_rejected=%" PRIu64 " unexpected_handshake=%" PRIu64
         " unknown_subprotocol=%" PRIu64 " bad_grant=%" PRIu64 "\n",
         st->drop_malformed, st->drop_unknown_session, st->drop_auth_failed, st->drop_replay,
         st->drop_handshake_rejected, st->drop_unexpected_handshake, st->drop_unknown_subprotocol,
         st->drop_bad_grant);
}
