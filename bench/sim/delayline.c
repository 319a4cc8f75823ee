// A fixed-delay line between two network namespaces, for the kernel anchor of the simulator's
// fidelity benchmark (bench/sim/kernel-anchor.ts). This kernel has no sch_netem, so the
// propagation delay is made here: one tun device in each namespace; every packet read from one is
// written into the other `delay_us` later (per direction), in order. Packets from A to B are
// dropped at random with probability `loss` (seeded), after the bottleneck qdisc on A's tun
// device: the same place as ns-3's receive error model and portus sim's `lossPlacement:
// after-queue`. The tun devices vanish with the process.
//
//   delayline NETNS_A DEV_A NETNS_B DEV_B DELAY_US LOSS SEED
//
// Prints "ready" once both devices exist; on SIGTERM/SIGINT prints one JSON line of counters.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16384 /* per direction: 25 ms at 1 Gbit/s of 1500-byte packets is ~2100 */
#define MAXPKT 2048

struct slot {
  int64_t due_ns;
  uint32_t len;
  unsigned char data[MAXPKT];
};

struct dir {
  int in, out;
  struct slot *ring;
  uint32_t head, tail; /* head: next to write out; tail: next free */
  uint64_t pkts, bytes, lost, overflow;
};

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rng_state;
static double uniform(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int open_tun(const char *netns, const char *dev) {
  char path[256];
  snprintf(path, sizeof path, "/var/run/netns/%s", netns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "delayline: cannot enter netns %s: %s\n", netns, strerror(errno));
    exit(1);
  }
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
    fprintf(stderr, "delayline: cannot create tun %s in %s: %s\n", dev, netns, strerror(errno));
    exit(1);
  }
  return fd;
}

/* Read every waiting packet of d->in into the ring, stamped with its departure time. */
static void drain(struct dir *d, int64_t delay_ns, double loss) {
  for (;;) {
    struct slot *s = &d->ring[d->tail % SLOTS];
    ssize_t n = read(d->in, s->data, MAXPKT);
    if (n <= 0) return; /* EAGAIN or error: nothing more now */
    if (loss > 0 && uniform() < loss) {
      d->lost++;
      continue;
    }
    if (d->tail - d->head >= SLOTS) {
      d->overflow++;
      continue;
    }
    s->len = (uint32_t)n;
    s->due_ns = now_ns() + delay_ns;
    d->tail++;
  }
}

/* Write every packet whose time has come; return ns until the next one, or -1 if none. */
static int64_t release(struct dir *d, int64_t now) {
  while (d->head != d->tail) {
    struct slot *s = &d->ring[d->head % SLOTS];
    if (s->due_ns > now) return s->due_ns - now;
    if (write(d->out, s->data, s->len) == (ssize_t)s->len) {
      d->pkts++;
      d->bytes += s->len;
    }
    d->head++;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: delayline NETNS_A DEV_A NETNS_B DEV_B DELAY_US LOSS SEED\n");
    return 2;
  }
  int a = open_tun(argv[1], argv[2]);
  int b = open_tun(argv[3], argv[4]);
  int64_t delay_ns = atoll(argv[5]) * 1000LL;
  double loss = atof(argv[6]);
  rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)atoll(argv[7]);
  if (rng_state == 0) rng_state = 1;
  struct dir ab = {a, b, calloc(SLOTS, sizeof(struct slot)), 0, 0, 0, 0, 0, 0};
  struct dir ba = {b, a, calloc(SLOTS, sizeof(struct slot)), 0, 0, 0, 0, 0, 0};
  if (ab.ring == NULL || ba.ring == NULL) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  struct pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (!stop) {
    int64_t now = now_ns();
    int64_t w1 = release(&ab, now), w2 = release(&ba, now);
    int64_t wait = w1 < 0 ? w2 : (w2 < 0 ? w1 : (w1 < w2 ? w1 : w2));
    struct timespec ts = {wait < 0 ? 1 : wait / 1000000000LL, wait < 0 ? 0 : wait % 1000000000LL};
    int r = ppoll(fds, 2, &ts, NULL);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      if (fds[0].revents & POLLIN) drain(&ab, delay_ns, loss);
      if (fds[1].revents & POLLIN) drain(&ba, delay_ns, 0);
    }
  }
  printf("{\"abPkts\":%llu,\"abBytes\":%llu,\"abLost\":%llu,\"abOverflow\":%llu,\"baPkts\":%llu,\"baOverflow\":%llu}\n",
         (unsigned long long)ab.pkts, (unsigned long long)ab.bytes, (unsigned long long)ab.lost,
         (unsigned long long)ab.overflow, (unsigned long long)ba.pkts, (unsigned long long)ba.overflow);
  return 0;
}
