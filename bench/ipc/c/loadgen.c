/*
 * Load generator on the real libccp: one datapath (one unix datagram socket) with N flows, each
 * keeping exactly one report outstanding (closed loop). libccp's own ccp_invoke() runs the
 * installed datapath program and produces each MEASURE; every message from the agent goes
 * through ccp_read_msg(); an UPDATE_FIELDS for a flow answers its report, and the flow is
 * invoked again.
 *
 * usage: loadgen AGENT_ADDR MY_ADDR FLOWS SECONDS [ROUNDS]
 *   addresses starting with '@' are abstract. Runs for SECONDS (or until every flow had ROUNDS
 *   reports answered, when ROUNDS > 0), waits for the outstanding reports, prints one JSON line.
 *
 * Time given to libccp is a counter that advances 1 s per reading, so the program's
 * (> Micros Flow.rtt_sample_us) condition holds at every invoke (one report per invoke) and the
 * fallback timer (fto) never fires.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#include "ccp.h"

#define BATCH 64
#define MSG_MAX 2048

enum { T_CREATE = 0, T_MEASURE = 1, T_INSTALL = 2, T_UPDATE = 3, T_CHANGE_PROG = 4, T_READY = 5 };

struct flow {
  struct ccp_connection *conn;
  int started;  /* got its CHANGE_PROG */
  int outstanding;
  long answered;
  double sent_at;
};

static int sock;
static struct flow *flows;
static int nflows;
/* messages waiting for room in the agent's queue */
static char (*outq)[MSG_MAX];
static int *outlen;
static int outcap, outhead, outtail;
static uint64_t fake_now;
static double *lat;
static long nlat, latcap;
static long errors;

static uint64_t dp_now(void) { return fake_now += 1000000; }
static uint64_t dp_since(uint64_t then) { return dp_now() - then; }
static uint64_t dp_after(uint64_t us) { return dp_now() + us; }
static void dp_set_cwnd(struct ccp_connection *c, uint32_t cwnd) {
  c->prims.snd_cwnd = cwnd;
}
static void dp_set_rate(struct ccp_connection *c, uint32_t rate) { c->prims.snd_rate = rate; }
static void dp_log(struct ccp_datapath *dp, enum ccp_log_level l, const char *m, int n) {
  (void)dp;
  if (l >= WARN) fprintf(stderr, "libccp: %.*s\n", n, m);
}

static void flush(void) {
  while (outhead != outtail) {
    int i = outhead % outcap;
    if (send(sock, outq[i], outlen[i], MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      errors++;
    }
    outhead++;
  }
}

static int dp_send(struct ccp_datapath *dp, char *msg, int n) {
  (void)dp;
  if (n > MSG_MAX || outtail - outhead >= outcap) return -1;
  if (outhead == outtail && send(sock, msg, n, MSG_DONTWAIT) >= 0) return n;
  int i = outtail % outcap;
  memcpy(outq[i], msg, n);
  outlen[i] = n;
  outtail++;
  return n;
}

static void report(struct flow *f) {
  struct ccp_primitives *p = &f->conn->prims;
  p->bytes_acked = 1448;
  p->packets_acked = 1;
  p->rtt_sample_us = 10000;
  p->bytes_in_flight = 14480;
  p->packets_in_flight = 10;
  f->outstanding = 1;
  f->sent_at = mono_us();
  if (ccp_invoke(f->conn) < 0) errors++;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: loadgen AGENT_ADDR MY_ADDR FLOWS SECONDS [ROUNDS]\n");
    return 2;
  }
  nflows = atoi(argv[3]);
  double seconds = atof(argv[4]);
  long rounds = argc > 5 ? atol(argv[5]) : 0;
  struct sockaddr_un me, agent;
  int melen = set_addr(&me, argv[2]), aglen = set_addr(&agent, argv[1]);
  if (argv[2][0] != '@') unlink(argv[2]); /* a stale file of an earlier run */
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || melen < 0 || aglen < 0 || bind(sock, (struct sockaddr *)&me, melen) != 0 ||
      connect(sock, (struct sockaddr *)&agent, aglen) != 0) {
    fprintf(stderr, "loadgen: socket/bind/connect: %s\n", strerror(errno));
    return 1;
  }
  outcap = nflows * 4 + 64;
  outq = malloc((size_t)outcap * MSG_MAX);
  outlen = malloc(sizeof(int) * outcap);
  flows = calloc(nflows + 1, sizeof(struct flow));
  latcap = 4000000;
  lat = malloc(sizeof(double) * latcap);

  struct ccp_datapath dp = {0};
  dp.set_cwnd = dp_set_cwnd;
  dp.set_rate_abs = dp_set_rate;
  dp.send_msg = dp_send;
  dp.log = dp_log;
  dp.now = dp_now;
  dp.since_usecs = dp_since;
  dp.after_usecs = dp_after;
  dp.max_connections = nflows + 1;
  dp.ccp_active_connections = calloc(nflows + 1, sizeof(struct ccp_connection));
  dp.max_programs = 8;
  dp.fto_us = (uint64_t)1 << 62;
  if (ccp_init(&dp, 1) < 0) {
    fprintf(stderr, "loadgen: ccp_init failed\n");
    return 1;
  }
  for (int i = 0; i < nflows; i++) {
    struct ccp_datapath_info info = {.init_cwnd = 14480, .mss = 1448, .src_ip = 0x0100007f,
                                     .src_port = (uint32_t)(10000 + i), .dst_ip = 0x0100007f,
                                     .dst_port = 5201};
    struct ccp_connection *c = ccp_connection_start(&dp, &flows[i], &info);
    if (c == NULL) {
      fprintf(stderr, "loadgen: ccp_connection_start failed\n");
      return 1;
    }
    flows[c->index].conn = c;
  }

  static char bufs[BATCH][MSG_MAX];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = MSG_MAX;
    memset(&msgs[i], 0, sizeof(msgs[i]));
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int started = 0, stopping = 0, outstanding = 0;
  long sent = 0, answered = 0;
  double t0 = 0, tstop = 0, tend = 0, deadline = mono_us() + 30e6; /* set-up must finish in 30 s */
  for (;;) {
    double now = mono_us();
    if (started == nflows && !stopping && now - t0 >= seconds * 1e6 && rounds == 0) {
      stopping = 1;
      tstop = now;
      deadline = now + 10e6;
    }
    if (stopping && outstanding == 0) break;
    if (now > deadline) break;
    struct pollfd pfd = {.fd = sock, .events = POLLIN | (outhead != outtail ? POLLOUT : 0)};
    poll(&pfd, 1, 100);
    if (pfd.revents & POLLOUT) flush();
    if (!(pfd.revents & POLLIN)) continue;
    int n = recvmmsg(sock, msgs, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) {
      char *b = bufs[i];
      int len = (int)msgs[i].msg_len;
      if (len < 8) continue;
      uint16_t type;
      uint32_t sid;
      memcpy(&type, b, 2);
      memcpy(&sid, b + 4, 4);
      if (ccp_read_msg(&dp, b, len) < 0) errors++;
      if (sid == 0 || sid > (uint32_t)nflows) continue;
      struct flow *f = &flows[sid];
      if (type == T_CHANGE_PROG && !f->started) {
        f->started = 1;
        if (++started == nflows) { /* every flow is set up: start them all */
          t0 = mono_us();
          for (int k = 1; k <= nflows; k++) {
            report(&flows[k]);
            outstanding++;
            sent++;
          }
        }
      } else if (type == T_UPDATE && f->outstanding) {
        double t = mono_us();
        f->outstanding = 0;
        f->answered++;
        outstanding--;
        answered++;
        if (nlat < latcap) lat[nlat++] = t - f->sent_at;
        tend = t;
        if (rounds > 0 ? f->answered < rounds : !stopping) {
          report(f);
          outstanding++;
          sent++;
        }
      }
    }
    if (rounds > 0 && answered == rounds * nflows) break;
    flush();
  }
  if (tstop == 0) tstop = tend;
  qsort(lat, nlat, sizeof(double), cmp_double);
  double secs = (tend - t0) / 1e6;
  printf("{\"flows\":%d,\"started\":%d,\"sent\":%ld,\"answered\":%ld,\"unanswered\":%d,\"errors\":%ld,"
         "\"seconds\":%.3f,\"perSec\":%.0f,\"p50us\":%.1f,\"p99us\":%.1f,\"maxus\":%.1f}\n",
         nflows, started, sent, answered, outstanding, errors, secs, secs > 0 ? answered / secs : 0,
         nlat ? lat[nlat / 2] : 0, nlat ? lat[(long)(nlat * 0.99)] : 0, nlat ? lat[nlat - 1] : 0);
  if (argv[2][0] != '@') unlink(argv[2]);
  return outstanding == 0 && started == nflows ? 0 : 1;
}
