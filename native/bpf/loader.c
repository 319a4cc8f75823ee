// SPDX-License-Identifier: MIT
/*
 * portus-bpf-loader: loads and registers the BPF datapath (portus.bpf.o or, on kernels before
 * 6.10, portus-pre610.bpf.o) with libbpf, then relays between the BPF maps and the agent over
 * its stdin/stdout (src/ipc/bpf.ts spawns it):
 *   ring buffer (CREATE, MEASURE, close) → stdout;  stdin (INSTALL_EXPR, UPDATE_FIELDS,
 *   CHANGE_PROG) → program.c → the mmapped `progs` / `flows` maps.
 *
 * Frames, both directions: kind (1 byte) | length (u32 LE) | payload.
 *   loader → agent: 'M' one CCP message; 'L' log line (level byte, text); 'I' JSON after the
 *                   algorithm is registered; 'S' JSON statistics (answer to 'S'); 'E' fatal error.
 *   agent → loader: 'M' one CCP message; 'S' statistics request.
 * The loader sends READY (as libccp's ccp_init does) once registered. When stdin closes (agent
 * gone), sends start failing in the kernel — flows fall back to the datapath's own window after
 * the fallback timeout — and the loader exits, which unregisters the algorithm; sockets already
 * using it keep it until they close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "program.h"

static struct pm_global *g;
static struct pm_program *progs;
static struct pm_flow *flows;
static volatile sig_atomic_t stop;
static int verbose;

/* ------------------------------------------------------------------ output frames */

static unsigned char obuf[1 << 20];
static size_t olen;

static void flush_out(void)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t n = write(1, obuf + off, olen - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				usleep(100);
				continue;
			}
			stop = 1; /* the agent is gone */
			__atomic_store_n(&g->agent_gone, 1, __ATOMIC_RELEASE);
			break;
		}
		off += (size_t)n;
	}
	olen = 0;
}

static void frame(char kind, const void *data, size_t len)
{
	if (olen + 5 + len > sizeof(obuf))
		flush_out();
	obuf[olen] = (unsigned char)kind;
	obuf[olen + 1] = (unsigned char)len;
	obuf[olen + 2] = (unsigned char)(len >> 8);
	obuf[olen + 3] = (unsigned char)(len >> 16);
	obuf[olen + 4] = (unsigned char)(len >> 24);
	memcpy(obuf + olen + 5, data, len);
	olen += 5 + len;
}

static void log_line(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;
	msg[0] = (char)level;
	va_start(ap, fmt);
	n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	frame('L', msg, (size_t)n + 1);
}

static void view_log(int level, const char *msg)
{
	if (level >= PM_LOG_WARN || verbose)
		log_line(level, "%s", msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void fatal(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "portus-bpf-loader: %s\n", msg);
	frame('E', msg, strlen(msg));
	flush_out();
	exit(1);
}

/* ------------------------------------------------------------------ setup */

/* 4 parameters: Linux >= 6.10 (sk, ack, flag, rs); 2: before. -1 if unknown. */
static int cong_control_arity(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	int id, arity = -1;
	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, "tcp_congestion_ops", BTF_KIND_STRUCT);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		m = btf_members(t);
		for (int i = 0; i < btf_vlen(t); i++, m++) {
			if (strcmp(btf__name_by_offset(btf, m->name_off), "cong_control"))
				continue;
			t = btf__type_by_id(btf, m->type);
			while (t && btf_is_mod(t))
				t = btf__type_by_id(btf, t->type);
			if (t && btf_is_ptr(t))
				t = btf__type_by_id(btf, t->type);
			if (t && btf_is_func_proto(t))
				arity = btf_vlen(t);
		}
	}
	btf__free(btf);
	return arity;
}

static void *map_mmap(struct bpf_object *obj, const char *name, size_t value_size, size_t entries)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	long page = sysconf(_SC_PAGESIZE);
	size_t size = (value_size * entries + (size_t)page - 1) / (size_t)page * (size_t)page;
	void *p;
	if (!map)
		fatal("map %s not found in the BPF object", name);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (p == MAP_FAILED)
		fatal("mmap of map %s failed: %s", name, strerror(errno));
	return p;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------ relay */

static int on_record(void *ctx, void *data, size_t size)
{
	const unsigned char *b = data;
	size_t len;
	(void)ctx;
	if (size < 8)
		return 0;
	len = (size_t)(b[2] | (b[3] << 8)); /* relay the header's Len bytes */
	if (len > size || len < 8)
		return 0;
	frame('M', b, len);
	return 0;
}

static void stats(struct bpf_object *obj)
{
	char js[1024];
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "portus_cong_control");
	unsigned long long run_ns = 0, run_cnt = 0;
	memset(&info, 0, sizeof(info));
	if (prog && bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &ilen) == 0) {
		run_ns = info.run_time_ns;
		run_cnt = info.run_cnt;
	}
	snprintf(js, sizeof(js),
		 "{\"invocations\":%llu,\"reports\":%llu,\"creates\":%llu,\"closes\":%llu,"
		 "\"sendFailures\":%llu,\"fallbackAcks\":%llu,\"errors\":%llu,\"noSlot\":%llu,\"noProgram\":%llu,"
		 "\"inFallback\":%u,\"lastError\":%d,\"runTimeNs\":%llu,\"runCount\":%llu}",
		 (unsigned long long)g->invocations, (unsigned long long)g->reports,
		 (unsigned long long)g->creates, (unsigned long long)g->closes,
		 (unsigned long long)g->send_failures, (unsigned long long)g->fallback_acks,
		 (unsigned long long)g->errors, (unsigned long long)g->no_slot, (unsigned long long)g->no_program, g->in_fallback, g->last_error, run_ns, run_cnt);
	frame('S', js, strlen(js));
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *variant = "auto";
	unsigned long fto_us = 1000;
	char path[4096], info[512];
	struct bpf_object *obj;
	struct bpf_map *ops;
	struct bpf_link *link;
	struct ring_buffer *rb;
	struct pm_view view;
	static unsigned char ibuf[1 << 17];
	size_t ilen = 0;
	int arity, ep, old;
	struct epoll_event ev;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--obj-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--fto-us") && i + 1 < argc)
			fto_us = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--variant") && i + 1 < argc)
			variant = argv[++i];
		else if (!strcmp(argv[i], "--verbose"))
			verbose = 1;
		else {
			fprintf(stderr,
				"usage: %s --obj-dir DIR [--fto-us N] [--variant auto|new|old] [--verbose]\n",
				argv[0]);
			return 2;
		}
	}
	if (!dir)
		fatal("--obj-dir is required");
	if (fto_us == 0)
		fto_us = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(libbpf_print);

	arity = cong_control_arity();
	if (!strcmp(variant, "auto")) {
		if (arity < 0)
			fatal("cannot read tcp_congestion_ops from the kernel's BTF (/sys/kernel/btf/vmlinux): "
			      "the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		old = arity == 2;
	} else {
		old = !strcmp(variant, "old");
	}
	snprintf(path, sizeof(path), "%s/%s", dir, old ? "portus-pre610.bpf.o" : "portus.bpf.o");
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		fatal("cannot open %s: %s", path, strerror(errno));
	if (bpf_object__load(obj)) {
		int e = errno;
		fatal("loading %s failed (%s)%s", path, strerror(e),
		      geteuid() != 0 && (e == EPERM || e == EACCES)
			      ? ": needs root, or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON; see docs/bpf.md"
			      : ": the verifier rejected the program or the kernel lacks BPF struct_ops support; "
				"the verifier log is on stderr, see docs/bpf.md (Troubleshooting)");
	}
	g = map_mmap(obj, "gstate", sizeof(struct pm_global), 1);
	progs = map_mmap(obj, "progs", sizeof(struct pm_program), PM_MAX_PROGRAMS);
	flows = map_mmap(obj, "flows", sizeof(struct pm_flow), PM_MAX_FLOWS);
	g->time_zero = mono_us();
	g->fto_us = fto_us;
	g->max_flows = PM_MAX_FLOWS;
	g->max_programs = PM_MAX_PROGRAMS;

	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "ring"), on_record, NULL, NULL);
	if (!rb)
		fatal("ring buffer setup failed: %s", strerror(errno));
	ops = bpf_object__find_map_by_name(obj, "portus");
	if (!ops)
		fatal("struct_ops map portus not found");
	link = bpf_map__attach_struct_ops(ops);
	if (!link) {
		int e = errno;
		fatal("registering the congestion control failed: %s%s", strerror(e),
		      e == EEXIST ? " (an algorithm named portus is already registered: is another agent running?)" : "");
	}

	view = (struct pm_view){progs, flows, g, 1, view_log};
	snprintf(info, sizeof(info), "{\"name\":\"portus\",\"variant\":\"%s\",\"ftoUs\":%lu,\"maxFlows\":%d}",
		 old ? "pre-6.10" : "6.10+", fto_us, PM_MAX_FLOWS);
	frame('I', info, strlen(info));
	{
		unsigned char ready[12] = {5, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0};
		frame('M', ready, sizeof(ready));
	}
	flush_out();

	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	ev.data.fd = ring_buffer__epoll_fd(rb);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	while (!stop) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, 100);
		if (n < 0 && errno != EINTR)
			break;
		ring_buffer__consume(rb);
		for (int i = 0; i < n; i++) {
			ssize_t r;
			if (evs[i].data.fd != 0)
				continue;
			r = read(0, ibuf + ilen, sizeof(ibuf) - ilen);
			if (r <= 0) {
				if (r < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				/* the agent is gone: sends fail from now on, flows fall back */
				__atomic_store_n(&g->agent_gone, 1, __ATOMIC_RELEASE);
				stop = 1;
				break;
			}
			ilen += (size_t)r;
			for (;;) {
				size_t len;
				if (ilen < 5)
					break;
				len = (size_t)ibuf[1] | ((size_t)ibuf[2] << 8) | ((size_t)ibuf[3] << 16) |
				      ((size_t)ibuf[4] << 24);
				if (len > sizeof(ibuf) - 5) {
					fatal("frame of %zu bytes from the agent exceeds %zu", len, sizeof(ibuf) - 5);
				}
				if (ilen < 5 + len)
					break;
				if (ibuf[0] == 'M') {
					int ret = pm_receive(&view, ibuf + 5, len);
					if (ret != 0 && ret != PM_CHANGE_PROG_UNKNOWN_UID && verbose)
						log_line(PM_LOG_DEBUG, "message type %u: libccp code %d", ibuf[5], ret);
				} else if (ibuf[0] == 'S') {
					stats(obj);
				}
				memmove(ibuf, ibuf + 5 + len, ilen - 5 - len);
				ilen -= 5 + len;
			}
		}
		flush_out();
	}
	__atomic_store_n(&g->agent_gone, 1, __ATOMIC_RELEASE);
	bpf_link__destroy(link);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
