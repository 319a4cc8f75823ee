/*
 * Unix-domain datagram sockets for Node (Node-API + libuv), the native half of src/ipc/unix.ts.
 *
 * One socket = one uv_poll_t. On each readiness event the socket is drained with recvmmsg() into
 * a fixed arena of SLOTS slots (allocated once, shared with JavaScript as ArrayBuffers), and
 * JavaScript is called once per batch with the datagram count; per-datagram metadata (length,
 * flags, sender uid/gid/pid, interned sender address id) is written into a shared Int32Array.
 *
 * - Sender addresses are interned here: each distinct sun_path gets a small integer id, and its
 *   bytes are copied to JavaScript only the first time (flag NEWADDR). The table is bounded
 *   (INTERN_CAP); when full it is cleared (flag RESET on the datagram that starts over).
 * - SO_PASSCRED: every datagram carries SCM_CREDENTIALS; senders whose uid is not our euid, 0 or
 *   an allowed uid (and whose gid is not an allowed gid) are flagged REJECTED and their payload is
 *   not delivered.
 * - Abstract addresses: a leading NUL byte in an address string means the abstract namespace.
 * - Replies: while JavaScript handles a batch it may stage replies to the senders of that batch's
 *   datagrams in a second arena (OUT_SLOTS slots) and returns how many it staged; they then leave
 *   together with one sendmmsg(), so a batch costs one crossing into JavaScript and one system call
 *   each way (flush() sends staged replies early, when JavaScript must send something else
 *   first). A destination whose send fails keeps its order: its later replies in the batch are not attempted, and JavaScript
 *   gets every unsent one back (status) to queue behind it.
 * - Writability: the socket's poll can also wait for POLLOUT (our own send buffer drained), and a
 *   "probe" (a socket connect()ed to one destination) waits for that destination's receive queue
 *   to have room: Linux reports POLLOUT on a connected datagram socket only when the peer's queue
 *   is not full (unix_dgram_poll), which an unconnected sender cannot observe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#define SLOTS 64
#define SLOT_SIZE 8192
#define META_FIELDS 8 /* len, flags, uid, gid, pid, addrId, addrLen, unused */
#define ADDR_MAX 108  /* sizeof(sun_path) */
#define MAX_ROUNDS 16 /* batches per readiness event (1024 datagrams) before yielding */
#define INTERN_CAP 4096
#define INTERN_SLOTS 8192 /* open addressing, load factor <= 0.5 */
#define MAX_ALLOWED 64
#define OUT_SLOTS 64
#define OUT_SLOT_SIZE 2048 /* an UPDATE_FIELDS of 127 records is 1663 bytes */
#define OUT_FIELDS 3      /* len, receive slot whose sender is the destination, status */

#define F_REJECTED 1
#define F_NEWADDR 2
#define F_RESET 4
#define F_TRUNC 8
#define F_UNNAMED 16

typedef struct {
  uint8_t len;
  uint8_t bytes[ADDR_MAX];
  int32_t id; /* -1 = empty */
} intern_entry;

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int sndbuf; /* granted send buffer (bytes) */
  int events;
  int closing;
  napi_ref on_batch;
  napi_ref on_writable;
  napi_ref on_unsent;
  napi_ref arena_ref, meta_ref, addrs_ref, out_ref, out_meta_ref;
  napi_async_context actx;
  uint8_t *arena;
  int32_t *meta;
  uint8_t *addrs;
  uint8_t *out;
  int32_t *out_meta;
  int check_creds;
  uid_t euid;
  int n_uids, n_gids;
  uint32_t uids[MAX_ALLOWED];
  uint32_t gids[MAX_ALLOWED];
  int32_t next_id;
  intern_entry *table;
  struct mmsghdr msgs[SLOTS];
  struct iovec iov[SLOTS];
  struct sockaddr_un from[SLOTS];
  char ctrl[SLOTS][CMSG_SPACE(sizeof(struct ucred))];
  struct mmsghdr out_msgs[OUT_SLOTS];
  struct iovec out_iov[OUT_SLOTS];
} dsock;

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  napi_ref cb;
  napi_async_context actx;
} probe;

/* Every failure path: throw `unix_dgram: WHAT` into JavaScript and return NULL (undefined). */
static napi_value fail(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof(msg), "unix_dgram: %s", what);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return fail(env, #call " failed");                                      \
  } while (0)

/* The arguments of a JS call into argv (missing ones are undefined). */
#define ARGS(n)                                                                                    \
  size_t argc = (n);                                                                               \
  napi_value argv[(n)];                                                                            \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* Close `fd` (if open) and return -err as a JS number: the failure result of socket calls. */
static napi_value close_errno(napi_env env, int fd, int err) {
  if (fd >= 0) close(fd);
  return num(env, -err);
}

static void *get_ptr(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* Fill a sockaddr_un from a JS string ('\0'-prefixed = abstract). Returns the address length or
 * -errno. */
static int to_addr(napi_env env, napi_value v, struct sockaddr_un *sa) {
  char tmp[ADDR_MAX + 2];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, tmp, sizeof(tmp), &n) != napi_ok) return -EINVAL;
  if (n == 0) return -EINVAL;
  int abstract = tmp[0] == 0;
  if (n > (abstract ? ADDR_MAX : ADDR_MAX - 1)) return -ENAMETOOLONG;
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, tmp, n);
  return (int)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 0 : 1));
}

/* Call fn_ref(argc numbers) from a libuv callback, in its own handle scope; returns what it
 * returned as an int32 (0 if it returned no number or threw). */
static int32_t call_js(napi_env env, napi_async_context actx, napi_ref fn_ref, int argc,
                       const double *args) {
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2];
  for (int i = 0; i < argc && i < 2; i++) argv[i] = num(env, args[i]);
  napi_value fn, recv, result;
  napi_get_reference_value(env, fn_ref, &fn);
  napi_get_global(env, &recv);
  int32_t ret = 0;
  napi_status st = napi_make_callback(env, actx, recv, fn, argc, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  } else if (st == napi_ok && napi_get_value_int32(env, result, &ret) != napi_ok) {
    ret = 0;
  }
  napi_close_handle_scope(env, scope);
  return ret;
}

/* Start polling `fd` for `events` on Node's loop, with an async context named `name` for the
 * callbacks into JavaScript (what a socket and a probe both need). */
static napi_status watch(napi_env env, uv_poll_t *poll, int fd, const char *name,
                         napi_async_context *actx, int events, uv_poll_cb cb) {
  napi_value res_name;
  uv_loop_t *loop;
  napi_status st = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &res_name);
  if (st == napi_ok) st = napi_async_init(env, NULL, res_name, actx);
  if (st == napi_ok) st = napi_get_uv_event_loop(env, &loop);
  if (st != napi_ok) return st;
  if (uv_poll_init(loop, poll, fd) != 0 || uv_poll_start(poll, events, cb) != 0)
    return napi_generic_failure;
  return napi_ok;
}

static uint32_t hash_bytes(const uint8_t *b, int n) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}

/* Intern the address of slot i; writes addrId/flags into meta. */
static void intern(dsock *s, int i, int namelen, int32_t *m) {
  int n = namelen - (int)offsetof(struct sockaddr_un, sun_path);
  const uint8_t *p = (const uint8_t *)s->from[i].sun_path;
  if (n <= 0) {
    m[1] |= F_UNNAMED;
    m[5] = -1;
    m[6] = 0;
    return;
  }
  if (p[0] != 0) { /* pathname: up to the first NUL */
    int k = 0;
    while (k < n && p[k] != 0) k++;
    n = k;
  }
  uint32_t h = hash_bytes(p, n) & (INTERN_SLOTS - 1);
  for (;;) {
    intern_entry *e = &s->table[h];
    if (e->id < 0) break;
    if (e->len == n && memcmp(e->bytes, p, n) == 0) {
      m[5] = e->id;
      m[6] = n;
      return;
    }
    h = (h + 1) & (INTERN_SLOTS - 1);
  }
  if (s->next_id >= INTERN_CAP) { /* bounded: start over */
    for (int k = 0; k < INTERN_SLOTS; k++) s->table[k].id = -1;
    s->next_id = 0;
    m[1] |= F_RESET;
    h = hash_bytes(p, n) & (INTERN_SLOTS - 1);
  }
  intern_entry *e = &s->table[h];
  e->len = (uint8_t)n;
  memcpy(e->bytes, p, n);
  e->id = s->next_id++;
  m[1] |= F_NEWADDR;
  m[5] = e->id;
  m[6] = n;
  memcpy(s->addrs + (size_t)i * ADDR_MAX, p, n);
}

static int allowed(dsock *s, const struct ucred *c) {
  if (!s->check_creds) return 1;
  if (c->uid == 0 || c->uid == s->euid) return 1;
  for (int k = 0; k < s->n_uids; k++)
    if (s->uids[k] == c->uid) return 1;
  for (int k = 0; k < s->n_gids; k++)
    if (s->gids[k] == c->gid) return 1;
  return 0;
}

static int flush_out(dsock *s, int count);

/* Send the replies JavaScript staged while handling a batch (`count`, what onBatch returned);
 * hand the ones not sent back to JavaScript (onUnsent(count), statuses in out meta). */
static void flush_staged(dsock *s, int32_t count) {
  if (count <= 0 || s->closing) return;
  int unsent = flush_out(s, count);
  if (unsent == 0) return;
  double arg = unsent < 0 ? unsent : count;
  call_js(s->env, s->actx, s->on_unsent, 1, &arg);
}

static void drain(dsock *s) {
  napi_env env = s->env;
  (void)env;
  for (int round = 0; round < MAX_ROUNDS && !s->closing; round++) {
    for (int i = 0; i < SLOTS; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_un);
      s->msgs[i].msg_hdr.msg_controllen = sizeof(s->ctrl[i]);
      s->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, SLOTS, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      double arg = -errno;
      call_js(env, s->actx, s->on_batch, 1, &arg);
      return;
    }
    for (int i = 0; i < n; i++) {
      int32_t *m = s->meta + i * META_FIELDS;
      struct msghdr *h = &s->msgs[i].msg_hdr;
      m[0] = (int32_t)s->msgs[i].msg_len;
      m[1] = (h->msg_flags & MSG_TRUNC) ? F_TRUNC : 0;
      m[2] = m[3] = m[4] = -1;
      struct ucred *c = NULL;
      for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL; cm = CMSG_NXTHDR(h, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
          c = (struct ucred *)CMSG_DATA(cm);
        } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
          /* never keep passed descriptors */
          int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
          for (int k = 0; k < nfd; k++) close(((int *)CMSG_DATA(cm))[k]);
        }
      }
      if (c != NULL) {
        m[2] = (int32_t)c->uid;
        m[3] = (int32_t)c->gid;
        m[4] = (int32_t)c->pid;
      }
      if (s->check_creds && (c == NULL || !allowed(s, c))) m[1] |= F_REJECTED;
      intern(s, i, (int)h->msg_namelen, m);
    }
    double arg = n;
    int32_t staged = call_js(env, s->actx, s->on_batch, 1, &arg);
    flush_staged(s, staged);
    if (n < SLOTS) return; /* the queue is empty (one more recvmmsg would rarely find more) */
  }
}

static int32_t out_dest(dsock *s, int k) {
  return s->meta[s->out_meta[k * OUT_FIELDS + 1] * META_FIELDS + 5];
}

/* Send the `count` staged replies (out meta: length, receive slot whose sender is the
 * destination) with sendmmsg(), and set each one's status: 0 sent, -errno failed, 1 not attempted
 * because an earlier reply to the same destination failed (so that its order is kept). Returns the
 * number not sent, or -EINVAL if the staged metadata is out of range. */
static int flush_out(dsock *s, int count) {
  if (count > OUT_SLOTS) return -EINVAL;
  for (int k = 0; k < count; k++) {
    int32_t *m = s->out_meta + k * OUT_FIELDS;
    if (m[0] < 0 || m[0] > OUT_SLOT_SIZE || m[1] < 0 || m[1] >= SLOTS) return -EINVAL;
    struct msghdr *h = &s->out_msgs[k].msg_hdr;
    s->out_iov[k].iov_len = (size_t)m[0];
    h->msg_name = &s->from[m[1]];
    h->msg_namelen = s->msgs[m[1]].msg_hdr.msg_namelen;
    m[2] = 0;
  }
  int k = 0, unsent = 0, nblocked = 0;
  int32_t blocked[OUT_SLOTS];
  while (k < count) {
    int e;
    if (nblocked == 0) {
      int r = sendmmsg(s->fd, s->out_msgs + k, (unsigned)(count - k), MSG_DONTWAIT);
      if (r > 0) {
        k += r;
        continue;
      }
      e = r < 0 ? errno : EAGAIN;
    } else { /* after a failure: one by one, skipping the destinations that failed */
      int32_t id = out_dest(s, k), skip = 0;
      for (int b = 0; b < nblocked; b++) skip |= blocked[b] == id;
      if (skip) {
        s->out_meta[k * OUT_FIELDS + 2] = 1;
        unsent++;
        k++;
        continue;
      }
      if (sendmsg(s->fd, &s->out_msgs[k].msg_hdr, MSG_DONTWAIT) >= 0) {
        k++;
        continue;
      }
      e = errno;
    }
    if (e == EINTR) continue;
    s->out_meta[k * OUT_FIELDS + 2] = -e;
    blocked[nblocked++] = out_dest(s, k);
    unsent++;
    k++;
  }
  return unsent;
}

/* flush(handle, count) → replies not sent (their statuses in out meta) | -errno. */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  ARGS(2);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL || s->closing) return num(env, -EBADF);
  int32_t count = 0;
  napi_get_value_int32(env, argv[1], &count);
  return num(env, flush_out(s, count));
}

static void on_close(uv_handle_t *handle) {
  dsock *s = (dsock *)handle;
  napi_env env = s->env;
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->on_writable);
  napi_delete_reference(env, s->on_unsent);
  napi_delete_reference(env, s->arena_ref);
  napi_delete_reference(env, s->meta_ref);
  napi_delete_reference(env, s->addrs_ref);
  napi_delete_reference(env, s->out_ref);
  napi_delete_reference(env, s->out_meta_ref);
  napi_async_destroy(env, s->actx);
  free(s->table);
  free(s);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  dsock *s = (dsock *)handle;
  if (s->closing) return;
  if (status < 0) events = UV_READABLE; /* let recvmmsg report the error */
  if (events & UV_WRITABLE) {
    s->events &= ~UV_WRITABLE;
    uv_poll_start(&s->poll, s->events, on_poll);
    call_js(s->env, s->actx, s->on_writable, 0, NULL);
  }
  if ((events & UV_READABLE) && !s->closing) drain(s);
}

static napi_value make_buffer(napi_env env, size_t size, void **data, napi_ref *ref) {
  napi_value ab;
  if (napi_create_arraybuffer(env, size, data, &ab) != napi_ok) return NULL;
  memset(*data, 0, size);
  napi_create_reference(env, ab, 1, ref);
  return ab;
}

/* create(onBatch, onWritable, passcred, sndbuf, rcvbuf, onUnsent) →
 *   { handle, fd, arena, meta, addrs, slots, slotSize, addrMax, metaFields, sndbuf } */
static napi_value js_create(napi_env env, napi_callback_info info) {
  ARGS(6);
  bool passcred = false;
  int32_t sndbuf = 0, rcvbuf = 0;
  napi_get_value_bool(env, argv[2], &passcred);
  napi_get_value_int32(env, argv[3], &sndbuf);
  napi_get_value_int32(env, argv[4], &rcvbuf);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  if (passcred) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
  }
  if (sndbuf > 0) { /* root may exceed net.core.wmem_max */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  }
  if (rcvbuf > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  dsock *s = calloc(1, sizeof(dsock));
  if (s != NULL) s->table = malloc(sizeof(intern_entry) * INTERN_SLOTS);
  if (s == NULL || s->table == NULL) {
    close(fd);
    if (s != NULL) free(s);
    return fail(env, "out of memory");
  }
  for (int k = 0; k < INTERN_SLOTS; k++) s->table[k].id = -1;
  s->env = env;
  s->fd = fd;
  s->euid = geteuid();
  s->check_creds = passcred;
  napi_value arena = make_buffer(env, (size_t)SLOTS * SLOT_SIZE, (void **)&s->arena, &s->arena_ref);
  napi_value meta =
      make_buffer(env, (size_t)SLOTS * META_FIELDS * 4, (void **)&s->meta, &s->meta_ref);
  napi_value addrs = make_buffer(env, (size_t)SLOTS * ADDR_MAX, (void **)&s->addrs, &s->addrs_ref);
  napi_value out =
      make_buffer(env, (size_t)OUT_SLOTS * OUT_SLOT_SIZE, (void **)&s->out, &s->out_ref);
  napi_value out_meta =
      make_buffer(env, (size_t)OUT_SLOTS * OUT_FIELDS * 4, (void **)&s->out_meta, &s->out_meta_ref);
  if (arena == NULL || meta == NULL || addrs == NULL || out == NULL || out_meta == NULL)
    return fail(env, "out of memory");
  for (int k = 0; k < OUT_SLOTS; k++) {
    s->out_iov[k].iov_base = s->out + (size_t)k * OUT_SLOT_SIZE;
    s->out_msgs[k].msg_hdr.msg_iov = &s->out_iov[k];
    s->out_msgs[k].msg_hdr.msg_iovlen = 1;
  }
  for (int i = 0; i < SLOTS; i++) {
    s->iov[i].iov_base = s->arena + (size_t)i * SLOT_SIZE;
    s->iov[i].iov_len = SLOT_SIZE;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->from[i];
    s->msgs[i].msg_hdr.msg_control = s->ctrl[i];
  }
  CHECK(napi_create_reference(env, argv[0], 1, &s->on_batch));
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_writable));
  CHECK(napi_create_reference(env, argv[5], 1, &s->on_unsent));
  s->events = UV_READABLE;
  CHECK(watch(env, &s->poll, fd, "portus:unix-dgram", &s->actx, s->events, on_poll));

  int eff = 0;
  socklen_t sl = sizeof(eff);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &eff, &sl);
  s->sndbuf = eff;
  napi_value obj, handle;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_external(env, s, NULL, NULL, &handle));
  napi_set_named_property(env, obj, "handle", handle);
  napi_set_named_property(env, obj, "fd", num(env, fd));
  napi_set_named_property(env, obj, "arena", arena);
  napi_set_named_property(env, obj, "meta", meta);
  napi_set_named_property(env, obj, "addrs", addrs);
  napi_set_named_property(env, obj, "slots", num(env, SLOTS));
  napi_set_named_property(env, obj, "slotSize", num(env, SLOT_SIZE));
  napi_set_named_property(env, obj, "addrMax", num(env, ADDR_MAX));
  napi_set_named_property(env, obj, "metaFields", num(env, META_FIELDS));
  napi_set_named_property(env, obj, "out", out);
  napi_set_named_property(env, obj, "outMeta", out_meta);
  napi_set_named_property(env, obj, "outSlots", num(env, OUT_SLOTS));
  napi_set_named_property(env, obj, "outSlotSize", num(env, OUT_SLOT_SIZE));
  napi_set_named_property(env, obj, "outFields", num(env, OUT_FIELDS));
  napi_set_named_property(env, obj, "sndbuf", num(env, eff));
  return obj;
}

/* bind(handle, addr) → 0 | -errno. Pathname sockets are created with mode 0600 (umask 077 for
 * the duration of bind()); the caller then sets the mode it wants. */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  ARGS(2);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL) return num(env, -EBADF);
  struct sockaddr_un sa;
  int len = to_addr(env, argv[1], &sa);
  if (len < 0) return num(env, len);
  mode_t old = umask(077);
  int r = bind(s->fd, (struct sockaddr *)&sa, (socklen_t)len);
  int e = errno;
  umask(old);
  return num(env, r == 0 ? 0 : -e);
}

/* connect(handle, addr) → 0 | -errno (used to probe whether a path has a live socket). */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(2);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL) return num(env, -EBADF);
  struct sockaddr_un sa;
  int len = to_addr(env, argv[1], &sa);
  if (len < 0) return num(env, len);
  return num(env, connect(s->fd, (struct sockaddr *)&sa, (socklen_t)len) == 0 ? 0 : -errno);
}

/* sendto(handle, buf, offset, length, addr) → 0 | -errno. EAGAIN means the destination's receive
 * queue is full; ENOBUFS means our own send buffer is (wait for onWritable). */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  ARGS(5);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL || s->closing) return num(env, -EBADF);
  void *data;
  size_t total;
  if (napi_get_typedarray_info(env, argv[1], NULL, &total, &data, NULL, NULL) != napi_ok)
    return num(env, -EINVAL);
  int32_t off = 0, len = 0;
  napi_get_value_int32(env, argv[2], &off);
  napi_get_value_int32(env, argv[3], &len);
  if (off < 0 || len < 0 || (size_t)off + (size_t)len > total) return num(env, -EINVAL);
  struct sockaddr_un sa;
  int alen = to_addr(env, argv[4], &sa);
  if (alen < 0) return num(env, alen);
  ssize_t r =
      sendto(s->fd, (char *)data + off, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&sa, alen);
  if (r >= 0) return num(env, 0);
  int e = errno;
  if (e == EAGAIN || e == EWOULDBLOCK) {
    int outq = 0;
    ioctl(s->fd, SIOCOUTQ, &outq);
    /* sock_alloc_send_pskb refuses once the charged memory reaches sk_sndbuf */
    if (outq + len + 4096 >= s->sndbuf) return num(env, -ENOBUFS);
    return num(env, -EAGAIN);
  }
  return num(env, -e);
}

/* setWritable(handle, bool): also wait for POLLOUT (one-shot: cleared when reported). */
static napi_value js_set_writable(napi_env env, napi_callback_info info) {
  ARGS(2);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL || s->closing) return NULL;
  bool on = false;
  napi_get_value_bool(env, argv[1], &on);
  int ev = on ? (s->events | UV_WRITABLE) : (s->events & ~UV_WRITABLE);
  if (ev != s->events) {
    s->events = ev;
    uv_poll_start(&s->poll, ev, on_poll);
  }
  return NULL;
}

/* allow(handle, uids: Int32Array, gids: Int32Array): extra uids/gids whose datagrams pass. */
static napi_value js_allow(napi_env env, napi_callback_info info) {
  ARGS(3);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL) return NULL;
  for (int w = 0; w < 2; w++) {
    void *data;
    size_t n;
    if (napi_get_typedarray_info(env, argv[1 + w], NULL, &n, &data, NULL, NULL) != napi_ok) {
      return fail(env, "allow: expected Int32Arrays");
    }
    if (n > MAX_ALLOWED) n = MAX_ALLOWED;
    uint32_t *dst = w == 0 ? s->uids : s->gids;
    for (size_t k = 0; k < n; k++) dst[k] = ((uint32_t *)data)[k];
    if (w == 0)
      s->n_uids = (int)n;
    else
      s->n_gids = (int)n;
  }
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  dsock *s = get_ptr(env, argv[0]);
  if (s == NULL || s->closing) return NULL;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_close); /* removes the fd from epoll now */
  close(s->fd);                                 /* so that the address is free at once */
  s->fd = -1;
  return NULL;
}

/* ---- probes: wait until one destination's receive queue has room ---- */

static void probe_closed(uv_handle_t *handle) {
  probe *p = (probe *)handle;
  napi_delete_reference(p->env, p->cb);
  napi_async_destroy(p->env, p->actx);
  free(p);
}

static void on_probe(uv_poll_t *handle, int status, int events) {
  (void)events;
  probe *p = (probe *)handle;
  uv_poll_stop(&p->poll);
  double arg = status;
  call_js(p->env, p->actx, p->cb, 1, &arg);
}

/* probe(addr, cb) → handle | -errno: cb(status) once the destination can take a datagram (or is
 * gone: the next send then fails with ECONNREFUSED). Armed at creation; re-arm with probeArm. */
static napi_value js_probe(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct sockaddr_un sa;
  int len = to_addr(env, argv[0], &sa);
  if (len < 0) return num(env, len);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  if (connect(fd, (struct sockaddr *)&sa, (socklen_t)len) != 0) return close_errno(env, fd, errno);
  probe *p = calloc(1, sizeof(probe));
  if (p == NULL) return close_errno(env, fd, ENOMEM);
  p->env = env;
  p->fd = fd;
  CHECK(napi_create_reference(env, argv[1], 1, &p->cb));
  CHECK(watch(env, &p->poll, fd, "portus:unix-dgram-probe", &p->actx, UV_WRITABLE, on_probe));
  napi_value handle;
  CHECK(napi_create_external(env, p, NULL, NULL, &handle));
  return handle;
}

static napi_value js_probe_arm(napi_env env, napi_callback_info info) {
  ARGS(1);
  probe *p = get_ptr(env, argv[0]);
  if (p != NULL) uv_poll_start(&p->poll, UV_WRITABLE, on_probe);
  return NULL;
}

static napi_value js_probe_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  probe *p = get_ptr(env, argv[0]);
  if (p == NULL) return NULL;
  uv_close((uv_handle_t *)&p->poll, probe_closed);
  close(p->fd);
  p->fd = -1;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"sendto", NULL, js_sendto, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"setWritable", NULL, js_set_writable, NULL, NULL, NULL, napi_default, NULL},
      {"allow", NULL, js_allow, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"probe", NULL, js_probe, NULL, NULL, NULL, napi_default, NULL},
      {"probeArm", NULL, js_probe_arm, NULL, NULL, NULL, napi_default, NULL},
      {"probeClose", NULL, js_probe_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
