/* Shared by the IPC benchmark's C programs: addresses and time. */
#ifndef PORTUS_BENCH_COMMON_H
#define PORTUS_BENCH_COMMON_H
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

/* Fill `sa` from `s` ('@name' = abstract); returns the address length or -1. */
static inline int set_addr(struct sockaddr_un *sa, const char *s) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  size_t n = strlen(s);
  if (n >= sizeof(sa->sun_path)) return -1;
  memcpy(sa->sun_path, s, n);
  if (s[0] == '@') {
    sa->sun_path[0] = 0;
    return (int)(offsetof(struct sockaddr_un, sun_path) + n);
  }
  return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* Monotonic time in microseconds. */
static inline double mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* qsort comparator for doubles. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
#endif
