/*
 * The floor: two processes bouncing one 64-byte datagram over unix datagram sockets (blocking
 * send/recv), N round trips. Prints {"p50us","p99us","perSec"} as one JSON line.
 *
 * usage: pingpong DIR N
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static int bound(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
  unlink(path);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    perror("pingpong: bind");
    exit(1);
  }
  return s;
}

static void to(int s, const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    perror("pingpong: connect");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  char a[256], b[256];
  snprintf(a, sizeof(a), "%s/ping", argv[1]);
  snprintf(b, sizeof(b), "%s/pong", argv[1]);
  long n = atol(argv[2]);
  int sa = bound(a), sb = bound(b);
  char buf[64] = {0};
  pid_t child = fork();
  if (child == 0) {
    close(sa);
    to(sb, a);
    for (;;) {
      ssize_t r = recv(sb, buf, sizeof(buf), 0);
      if (r <= 0 || send(sb, buf, (size_t)r, 0) < 0) _exit(0);
    }
  }
  close(sb);
  to(sa, b);
  double *lat = malloc(sizeof(double) * (size_t)n);
  double start = mono_us();
  for (long i = 0; i < n + 1000; i++) {
    double t = mono_us();
    send(sa, buf, sizeof(buf), 0);
    recv(sa, buf, sizeof(buf), 0);
    if (i >= 1000) lat[i - 1000] = mono_us() - t;
    if (i == 999) start = mono_us();
  }
  double secs = (mono_us() - start) / 1e6;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  unlink(a);
  unlink(b);
  qsort(lat, (size_t)n, sizeof(double), cmp_double);
  printf("{\"p50us\":%.1f,\"p99us\":%.1f,\"perSec\":%.0f}\n", lat[n / 2], lat[(long)(n * 0.99)], n / secs);
  return 0;
}
