/*
 * The reference: a minimal compiled CCP agent in C serving one datapath over a unix datagram
 * socket, answering every MEASURE with one UPDATE_FIELDS — what a compiled agent such as portus
 * approaches. Its messages are templates captured from our agent for the same algorithm (aimd),
 * with the flow's sid patched in:
 *
 * usage: agent MY_ADDR READY_HEX,... FIRST_CREATE_HEX,... CREATE_HEX,... MEASURE_HEX
 *   what to send for READY, the first CREATE, later CREATEs, and each report ('-' for nothing).
 *   Addresses starting with '@' are abstract.
 *
 * Like portus (and our agent), it replies with sendto() to the address each datagram came from,
 * on its one bound socket. Replies that find the datapath's queue full wait in order; a second
 * socket connect()ed to the datapath is polled for POLLOUT, which Linux reports when that queue
 * has room (the same design as our transport). A READY starts over with the datapath that sent it
 * (a new load generator may bind the same address). Prints `ready`; runs until killed.
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
#include <unistd.h>

#include "common.h"

#define BATCH 64
#define MSG_MAX 2048
#define QCAP 65536

struct tmpl {
  int n;
  int len[4];
  uint8_t bytes[4][MSG_MAX];
};

static int sock, probe = -1;
static struct sockaddr_un peer;
static socklen_t peerlen;
static uint8_t (*q)[MSG_MAX];
static int qlen[QCAP];
static long qhead, qtail;

static int unhex(const char *s, uint8_t *out) {
  int n = 0;
  while (s[0] && s[1] && s[0] != ',') {
    unsigned v;
    sscanf(s, "%2x", &v);
    out[n++] = (uint8_t)v;
    s += 2;
  }
  return n;
}

static void parse(const char *arg, struct tmpl *t) {
  t->n = 0;
  if (strcmp(arg, "-") == 0) return;
  while (*arg && t->n < 4) {
    t->len[t->n] = unhex(arg, t->bytes[t->n]);
    t->n++;
    const char *c = strchr(arg, ',');
    if (!c) break;
    arg = c + 1;
  }
}

static void flush(void) {
  while (qhead != qtail) {
    int i = (int)(qhead % QCAP);
    if (sendto(sock, q[i], qlen[i], MSG_DONTWAIT, (struct sockaddr *)&peer, peerlen) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    qhead++;
  }
}

static void emit(const struct tmpl *t, uint32_t sid) {
  for (int k = 0; k < t->n; k++) {
    if (qtail - qhead >= QCAP) return; /* full: drop (never happens with one report per flow) */
    int i = (int)(qtail % QCAP);
    memcpy(q[i], t->bytes[k], t->len[k]);
    memcpy(q[i] + 4, &sid, 4);
    qlen[i] = t->len[k];
    qtail++;
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: agent MY_ADDR READY_HEX FIRST_CREATE_HEX CREATE_HEX MEASURE_HEX\n");
    return 2;
  }
  static struct tmpl ready, first, create, measure;
  parse(argv[2], &ready);
  parse(argv[3], &first);
  parse(argv[4], &create);
  parse(argv[5], &measure);
  q = malloc((size_t)QCAP * MSG_MAX);
  struct sockaddr_un me;
  int melen = set_addr(&me, argv[1]);
  if (argv[1][0] != '@') unlink(argv[1]); /* a stale file of an earlier run */
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0 || melen < 0 || bind(sock, (struct sockaddr *)&me, melen) != 0) {
    fprintf(stderr, "agent: socket/bind: %s\n", strerror(errno));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static uint8_t bufs[BATCH][MSG_MAX];
  static struct sockaddr_un from[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int connected = 0, created = 0;
  for (;;) {
    struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
                            {.fd = probe, .events = qhead != qtail ? POLLOUT : 0}};
    if (poll(pfd, probe >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) return 1;
    if (probe >= 0 && (pfd[1].revents & POLLOUT)) flush();
    if (!(pfd[0].revents & POLLIN)) continue;
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = MSG_MAX;
      memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    int n = recvmmsg(sock, msgs, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len < 8) continue;
      uint16_t type;
      uint32_t sid;
      memcpy(&type, bufs[i], 2);
      memcpy(&sid, bufs[i] + 4, 4);
      if (type == 5 && connected) { /* READY: a new datapath (perhaps at the same address) */
        if (probe >= 0) close(probe);
        probe = -1;
        connected = 0;
        created = 0;
        qhead = qtail; /* what waited for the old one is not for the new one */
      }
      if (!connected) { /* the one datapath this agent serves */
        peer = from[i];
        peerlen = msgs[i].msg_hdr.msg_namelen;
        probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        /* EPERM: the datapath is connect()ed to us; then its queue never refuses us (Linux skips
         * the queue limit between connected peers) and only our send buffer can fill */
        if (probe >= 0 && connect(probe, (struct sockaddr *)&peer, peerlen) != 0) {
          close(probe);
          probe = dup(sock);
        }
        connected = 1;
      }
      if (type == 5) emit(&ready, sid);
      else if (type == 0) emit(created++ == 0 ? &first : &create, sid);
      else if (type == 1 && msgs[i].msg_len > 16) emit(&measure, sid); /* a report, not a close */
    }
    flush();
  }
}
