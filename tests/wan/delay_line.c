/*
 * delay_line: a user-space L2 delay line for the WAN test bed (tests/wan/README.md).
 *
 *   delay_line --if-a r0 --if-b r1 --delay-us 20000 [--delay-ba-us N] [--drop-above N]
 *              [--armed 0|1] [--reorder-pct P --reorder-us N] [--stall-us N [--stall-drops 1]]
 *              [--slots N] [--rt PRIO]
 *
 * Runs inside the path namespace (nmwan-r). Two AF_PACKET sockets, bound to the two veths,
 * forward every frame that arrives on one to the other after a fixed one-way delay, in order
 * (a FIFO per direction: the delay is fixed, so the queue is always sorted by due time).
 * Frames this process sent itself (PACKET_OUTGOING) are ignored. The arrival time is the
 * kernel's receive timestamp (SO_TIMESTAMPNS), so the delay does not grow when this process
 * is scheduled late; a frame is sent when its due time has come.
 *
 * --delay-us sets both directions (a->b and b->a); --delay-ba-us overrides b->a.
 * --drop-above N: frames whose IP packet (frame minus the 14-byte Ethernet header) is longer
 *   than N bytes are dropped in both directions, without any ICMP: a PMTU black hole.
 *   With --armed 0 it starts disarmed; SIGUSR1 arms it, SIGUSR2 disarms it (the runner
 *   uses this for "a black hole appears mid-transfer").
 * --reorder-pct P --reorder-us N: P percent of the frames a->b (chosen by a fixed-seed
 *   generator, so runs repeat) are held N us longer than the rest, in a second FIFO: the
 *   frames behind them overtake them, as on a path whose packets take two routes (links
 *   bonded or balanced per packet, a radio link's retransmissions). Nothing is lost.
 * --stall-us N: SIGUSR1 (instead of arming a black hole) stalls the path for N us: nothing
 *   leaves in either direction, and what arrives meanwhile waits in the FIFOs and leaves when
 *   the stall ends, into the bottleneck's queue at once: a radio link's outage with
 *   link-layer buffering (a cellular handover, a Wi-Fi scan), a route change.
 *   With --stall-drops 1 the frames due during the stall are dropped instead: a link that
 *   is down (a Wi-Fi roam without buffering, a cable pulled and plugged back).
 * --rt PRIO: SCHED_FIFO with that priority (falls back to nice -10, then to nothing).
 *
 * Prints "READY" on stdout once both sockets are bound, and on SIGTERM/SIGINT one line
 * "DELAYLINE {json}" of counters: per direction frames/bytes forwarded, drops by reason
 * (black hole, queue full, truncated, the bottleneck's queue, kernel socket drops), send
 * errors, the largest frame,
 * and how late frames left relative to their due time (histogram and maximum).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define SLOT_BYTES 9232 /* a 9216-byte jumbo frame + Ethernet header fits */
#define BATCH 64
#define ETH_HDR 14

typedef struct {
  uint64_t due_ns;
  uint32_t len;
  uint8_t data[SLOT_BYTES];
} slot_t;

/* A FIFO of frames in due-time order (every frame in it got the same delay). */
typedef struct {
  slot_t* slots;
  uint32_t cap, head, count;
} ring_t;

typedef struct {
  ring_t ring;  /* every frame */
  ring_t slow;  /* the frames held longer (--reorder-pct) */
  uint32_t reorder_per_million;
  uint64_t reorder_ns, reordered;
  /* counters */
  uint64_t rx_frames, rx_bytes, fwd_frames, fwd_bytes;
  uint64_t drop_blackhole, drop_stall, drop_queue_full, drop_truncated, drop_bottleneck, send_errors, send_retries;
  uint64_t ts_fallback; /* frames without a kernel timestamp (arrival = now) */
  uint32_t max_frame;
  uint64_t late_hist[8]; /* < 50, 100, 200, 500, 1000, 2000, 5000 us, and beyond */
  uint64_t late_max_ns;
  uint64_t delay_ns;
} dir_t;

static volatile sig_atomic_t g_stop = 0, g_arm = -1;
static uint64_t g_stall_from_ns = 0, g_stall_until_ns = 0; /* CLOCK_REALTIME: no frame leaves */
static int g_stall_drops = 0; /* frames due in the stall are dropped, not held */
static void on_stop(int sig) { (void)sig; g_stop = 1; }
static void on_usr(int sig) { g_arm = sig == SIGUSR1 ? 1 : 0; }

static uint64_t now_real(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "delay_line: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_socket(const char* ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) die(ifname);
  int one = 1, big = 16 << 20;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one); /* also checked below */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) die("SO_TIMESTAMPNS");
  struct sockaddr_ll sll = {0};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr*)&sll, sizeof sll) != 0) die("bind");
  /* Frames queued between socket() and bind() may come from any interface: discard them. */
  char junk[64];
  while (recv(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  return fd;
}

static void record_late(dir_t* d, uint64_t late_ns) {
  static const uint64_t edges_us[7] = {50, 100, 200, 500, 1000, 2000, 5000};
  int b = 7;
  for (int i = 0; i < 7; ++i)
    if (late_ns < edges_us[i] * 1000) {
      b = i;
      break;
    }
  d->late_hist[b]++;
  if (late_ns > d->late_max_ns) d->late_max_ns = late_ns;
}

/* The ring whose first frame is due first, or NULL if both are empty. */
static ring_t* earliest(dir_t* d) {
  ring_t* best = NULL;
  ring_t* rings[2] = {&d->ring, &d->slow};
  for (int i = 0; i < 2; ++i) {
    ring_t* r = rings[i];
    if (r->count > 0 && (!best || r->slots[r->head].due_ns < best->slots[best->head].due_ns)) best = r;
  }
  return best;
}

/* The same, if its first frame is due by now. */
static ring_t* next_due(dir_t* d, uint64_t now) {
  ring_t* r = earliest(d);
  return r && r->slots[r->head].due_ns <= now ? r : NULL;
}

static void ring_pop(ring_t* r) {
  r->head = (r->head + 1) % r->cap;
  r->count--;
}

/* Sends every frame of d whose due time has come, out of fd, one by one: the interface
 * behind fd may carry the bed's bottleneck (a tbf queue), and a frame it drops is refused
 * with ENOBUFS (NET_XMIT_DROP), which sendmmsg would hide after the first frame of a batch.
 * A dropped frame is gone, as at a router's full queue (drop_bottleneck); EAGAIN (our
 * socket buffer) keeps it for a retry. Returns 1 if frames are due but must wait. */
static int flush_due(dir_t* d, int fd, uint64_t now) {
  if (now < g_stall_until_ns && !g_stall_drops) return 0;
  for (ring_t* r; (r = next_due(d, now)) != NULL;) {
    slot_t* s = &r->slots[r->head];
    if (g_stall_drops && s->due_ns >= g_stall_from_ns && s->due_ns < g_stall_until_ns) {
      d->drop_stall++;
      ring_pop(r);
      continue;
    }
    if (send(fd, s->data, s->len, MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        d->send_retries++;
        return 1;
      }
      if (errno == ENOBUFS) {
        d->drop_bottleneck++;
      } else {
        d->send_errors++; /* e.g. EMSGSIZE: a frame the other side cannot take */
      }
    } else {
      d->fwd_frames++;
      d->fwd_bytes += s->len;
      uint64_t t = now_real();
      record_late(d, t > s->due_ns ? t - s->due_ns : 0);
    }
    ring_pop(r);
  }
  return 0;
}

/* Whether the next frame goes to the slow ring: a fixed-seed xorshift, so runs repeat. */
static int held_longer(dir_t* d) {
  static uint64_t x = 0x9E3779B97F4A7C15ull;
  if (d->reorder_per_million == 0 || d->slow.count == d->slow.cap) return 0;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x % 1000000u < d->reorder_per_million;
}

/* Takes every frame queued on fd (bounded rounds) into d's FIFO. */
static void receive(dir_t* d, int fd, int armed, uint32_t drop_above) {
  static slot_t scratch[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_ll from[BATCH];
  char ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
  for (int round = 0; round < 16; ++round) {
    ring_t* ring = &d->ring;
    uint32_t free_slots = ring->cap - ring->count;
    uint32_t tail = (ring->head + ring->count) % ring->cap;
    uint32_t contiguous = ring->cap - tail;
    unsigned n = BATCH;
    int into_ring = free_slots > 0;
    if (into_ring) {
      if (n > free_slots) n = free_slots;
      if (n > contiguous) n = contiguous;
    }
    for (unsigned k = 0; k < n; ++k) {
      slot_t* s = into_ring ? &ring->slots[tail + k] : &scratch[k];
      iov[k].iov_base = s->data;
      iov[k].iov_len = SLOT_BYTES;
      memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = &from[k];
      msgs[k].msg_hdr.msg_namelen = sizeof from[k];
      msgs[k].msg_hdr.msg_control = ctrl[k];
      msgs[k].msg_hdr.msg_controllen = sizeof ctrl[k];
    }
    int got = recvmmsg(fd, msgs, n, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (got <= 0) return;
    uint64_t now = now_real();
    uint32_t kept = 0;
    for (int k = 0; k < got; ++k) {
      if (from[k].sll_pkttype == PACKET_OUTGOING) continue; /* our own send on this side */
      uint32_t len = msgs[k].msg_len;
      d->rx_frames++;
      d->rx_bytes += len;
      if (len > d->max_frame) d->max_frame = len;
      if (!into_ring) {
        d->drop_queue_full++;
        continue;
      }
      if (len > SLOT_BYTES || (msgs[k].msg_hdr.msg_flags & MSG_TRUNC)) {
        d->drop_truncated++;
        continue;
      }
      if (armed && drop_above && len > drop_above + ETH_HDR) {
        d->drop_blackhole++;
        continue;
      }
      uint64_t arrival = 0;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[k].msg_hdr); c; c = CMSG_NXTHDR(&msgs[k].msg_hdr, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          arrival = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        }
      if (arrival == 0 || arrival > now) {
        arrival = now;
        d->ts_fallback++;
      }
      slot_t* src = &ring->slots[tail + (uint32_t)k];
      if (held_longer(d)) {
        slot_t* dst = &d->slow.slots[(d->slow.head + d->slow.count++) % d->slow.cap];
        memcpy(dst->data, src->data, len);
        dst->len = len;
        dst->due_ns = arrival + d->delay_ns + d->reorder_ns;
        d->reordered++;
        continue;
      }
      slot_t* dst = &ring->slots[tail + kept];
      if (dst != src) memcpy(dst->data, src->data, len);
      dst->len = len;
      dst->due_ns = arrival + d->delay_ns;
      ++kept;
    }
    ring->count += kept;
    if ((unsigned)got < n) return;
  }
}

static void print_dir(const char* name, const dir_t* d, int last) {
  printf("\"%s\":{\"rx_frames\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"fwd_frames\":%" PRIu64
         ",\"fwd_bytes\":%" PRIu64 ",\"drop_blackhole\":%" PRIu64 ",\"drop_stall\":%" PRIu64
         ",\"drop_queue_full\":%" PRIu64
         ",\"drop_truncated\":%" PRIu64 ",\"drop_bottleneck\":%" PRIu64 ",\"send_errors\":%" PRIu64
         ",\"send_retries\":%" PRIu64 ",\"reordered\":%" PRIu64
         ",\"ts_fallback\":%" PRIu64 ",\"max_frame\":%u,\"late_max_us\":%.1f,\"late_hist_us\":{",
         name, d->rx_frames, d->rx_bytes, d->fwd_frames, d->fwd_bytes, d->drop_blackhole,
         d->drop_stall, d->drop_queue_full, d->drop_truncated, d->drop_bottleneck, d->send_errors, d->send_retries, d->reordered,
         d->ts_fallback,
         d->max_frame, d->late_max_ns / 1000.0);
  static const char* labels[8] = {"<50", "<100", "<200", "<500", "<1000", "<2000", "<5000", ">=5000"};
  for (int i = 0; i < 8; ++i) printf("%s\"%s\":%" PRIu64, i ? "," : "", labels[i], d->late_hist[i]);
  printf("}}%s", last ? "" : ",");
}

static void usage(void) {
  fprintf(stderr,
          "usage: delay_line --if-a IF --if-b IF --delay-us N [--delay-ba-us N] [--drop-above N]"
          " [--armed 0|1] [--reorder-pct P --reorder-us N] [--stall-us N [--stall-drops 1]] [--slots N] [--rt PRIO]\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char *if_a = NULL, *if_b = NULL;
  long long delay_ab = -1, delay_ba = -1, drop_above = 0, slots = 16384, rt = 0, reorder_us = 0, stall_us = 0;
  double reorder_pct = 0;
  int armed = 1;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) usage();
    const char *k = argv[i], *v = argv[++i];
    if (!strcmp(k, "--if-a")) if_a = v;
    else if (!strcmp(k, "--if-b")) if_b = v;
    else if (!strcmp(k, "--delay-us")) delay_ab = atoll(v);
    else if (!strcmp(k, "--delay-ba-us")) delay_ba = atoll(v);
    else if (!strcmp(k, "--drop-above")) drop_above = atoll(v);
    else if (!strcmp(k, "--armed")) armed = atoi(v) != 0;
    else if (!strcmp(k, "--reorder-pct")) reorder_pct = atof(v);
    else if (!strcmp(k, "--reorder-us")) reorder_us = atoll(v);
    else if (!strcmp(k, "--stall-us")) stall_us = atoll(v);
    else if (!strcmp(k, "--stall-drops")) g_stall_drops = atoi(v) != 0;
    else if (!strcmp(k, "--slots")) slots = atoll(v);
    else if (!strcmp(k, "--rt")) rt = atoll(v);
    else usage();
  }
  if (!if_a || !if_b || delay_ab < 0 || slots < 64 || slots > (1 << 20) || stall_us < 0) usage();
  if (stall_us > 0 && drop_above > 0) usage(); /* SIGUSR1 does one or the other */
  if (reorder_pct < 0 || reorder_pct > 100 || reorder_us < 0 || (reorder_pct > 0) != (reorder_us > 0)) usage();
  if (delay_ba < 0) delay_ba = delay_ab;

  dir_t dir[2];
  memset(dir, 0, sizeof dir);
  dir[0].delay_ns = (uint64_t)delay_ab * 1000u; /* a -> b: arrives on if_a, leaves on if_b */
  dir[1].delay_ns = (uint64_t)delay_ba * 1000u;
  dir[0].reorder_per_million = (uint32_t)(reorder_pct * 10000 + 0.5);
  dir[0].reorder_ns = (uint64_t)reorder_us * 1000u;
  for (int d = 0; d < 2; ++d) {
    dir[d].ring.cap = (uint32_t)slots;
    dir[d].ring.slots = calloc((size_t)slots, sizeof(slot_t));
    dir[d].slow.cap = dir[d].reorder_per_million ? (uint32_t)slots / 4 : 1;
    dir[d].slow.slots = calloc(dir[d].slow.cap, sizeof(slot_t));
    if (!dir[d].ring.slots || !dir[d].slow.slots) die("calloc");
  }

  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (rt > 0) {
    struct sched_param sp = {.sched_priority = (int)rt};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0 && setpriority(PRIO_PROCESS, 0, -10) != 0)
      fprintf(stderr, "delay_line: no real-time or raised priority: %s\n", strerror(errno));
  }

  int fd[2] = {open_socket(if_a), open_socket(if_b)};

  /* Signals are blocked except inside ppoll, so none is lost between checks. */
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGUSR1);
  sigdelset(&wait_mask, SIGUSR2);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_usr;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);

  printf("READY\n");
  fflush(stdout);

  uint64_t armed_at = armed && drop_above ? now_mono() : 0, stalled = 0;
  int retry = 0;
  while (!g_stop) {
    if (g_arm >= 0 && stall_us > 0) {
      if (g_arm) {
        g_stall_from_ns = now_real();
        g_stall_until_ns = g_stall_from_ns + (uint64_t)stall_us * 1000u;
        armed_at = now_mono();
        stalled++;
        fprintf(stderr, "delay_line: the path stalls for %lld us%s\n", stall_us,
                g_stall_drops ? ", dropping what is due" : "");
      }
      g_arm = -1;
    } else if (g_arm >= 0) {
      armed = g_arm;
      g_arm = -1;
      if (armed) armed_at = now_mono();
      fprintf(stderr, "delay_line: black hole above %lld bytes %s\n", drop_above,
              armed ? "armed" : "disarmed");
    }
    uint64_t now = now_real();
    retry = flush_due(&dir[0], fd[1], now) | flush_due(&dir[1], fd[0], now);
    uint64_t next = UINT64_MAX;
    for (int d = 0; d < 2; ++d) {
      ring_t* r = earliest(&dir[d]);
      if (r && r->slots[r->head].due_ns < next) next = r->slots[r->head].due_ns;
    }
    if (next != UINT64_MAX && next < g_stall_until_ns && !g_stall_drops) next = g_stall_until_ns;
    uint64_t wait_ns = 100000000ull; /* at most 100 ms between checks */
    if (retry) wait_ns = 50000;      /* the socket refused frames: try again in 50 us */
    else if (next != UINT64_MAX) {
      now = now_real();
      wait_ns = next > now ? next - now : 0;
      if (wait_ns > 100000000ull) wait_ns = 100000000ull;
    }
    struct pollfd p[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
    struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
    int r = ppoll(p, 2, &ts, &wait_mask);
    if (r < 0 && errno != EINTR) die("ppoll");
    if (r > 0) {
      if (p[0].revents & POLLIN) receive(&dir[0], fd[0], armed, (uint32_t)drop_above);
      if (p[1].revents & POLLIN) receive(&dir[1], fd[1], armed, (uint32_t)drop_above);
    }
  }

  struct tpacket_stats st[2];
  for (int d = 0; d < 2; ++d) {
    socklen_t len = sizeof st[d];
    memset(&st[d], 0, sizeof st[d]);
    getsockopt(fd[d], SOL_PACKET, PACKET_STATISTICS, &st[d], &len);
  }
  printf("DELAYLINE {\"delay_ab_us\":%lld,\"delay_ba_us\":%lld,\"drop_above\":%lld,"
         "\"armed_at_mono_ns\":%" PRIu64 ",\"stall_us\":%lld,\"stalls\":%" PRIu64 ",\"queued_at_exit\":%u,"
         "\"kernel_drops_a\":%u,\"kernel_drops_b\":%u,",
         delay_ab, delay_ba, drop_above, armed_at, stall_us, stalled, dir[0].ring.count + dir[0].slow.count + dir[1].ring.count + dir[1].slow.count, st[0].tp_drops,
         st[1].tp_drops);
  print_dir("ab", &dir[0], 0);
  print_dir("ba", &dir[1], 1);
  printf("}\n");
  fflush(stdout);
  for (int d = 0; d < 2; ++d) {
    close(fd[d]);
    free(dir[d].ring.slots); /* (a sanitizer build reports what is left at exit) */
    free(dir[d].slow.slots);
  }
  return 0;
}
