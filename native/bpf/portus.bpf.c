// SPDX-License-Identifier: GPL-2.0
/*
 * Portus' libccp-compatible datapath as a BPF TCP congestion control (struct_ops
 * tcp_congestion_ops "portus"). Per flow: a connection slot (sid), libccp's private state and
 * registers in the `flows` map, the datapath programs in `progs`, the datapath-wide fallback
 * timer in `gstate`. CREATE, MEASURE and the close MEASURE go to userspace in the CCP wire
 * format through the `ring` ring buffer; the loader (loader.c) relays them to the agent and
 * writes the agent's INSTALL_EXPR / UPDATE_FIELDS / CHANGE_PROG into the maps (mmapped).
 *
 * Built twice by scripts/build-bpf.sh: with the cong_control signature of Linux >= 6.10
 * (sk, ack, flag, rs) and, with -DPORTUS_CONG_CONTROL_OLD, the one before (sk, rs).
 * GPL because the kfuncs and helpers TCP congestion controls use are GPL-only.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct pm_env {
	struct sock *sk;
	__u32 sid;
};

struct pm_flow;
struct pm_program;
static __always_inline void dp_set_cwnd(struct pm_env *env, __u32 bytes);
static __always_inline void dp_set_rate(struct pm_env *env, __u32 bytes_per_s);
static __always_inline int dp_report(struct pm_env *env, struct pm_flow *f, __u32 uid, __u32 n);
static __always_inline int dp_send_create(struct pm_env *env);
static __always_inline const struct pm_program *dp_program(struct pm_env *env, __s32 idx);

#define PM_SET_CWND(env, v) dp_set_cwnd(env, v)
#define PM_SET_RATE(env, v) dp_set_rate(env, v)
#define PM_REPORT(env, f, uid, n) dp_report(env, f, uid, n)
#define PM_SEND_CREATE(env) dp_send_create(env)
#define PM_PROGRAM(env, idx) dp_program(env, idx)
#define PM_TRYLOCK(f) (__sync_val_compare_and_swap(&(f)->st.lock, 0, 1) == 0)
#define PM_UNLOCK(f) __sync_fetch_and_and(&(f)->st.lock, 0)

#include "machine.h"

char LICENSE[] SEC("license") = "GPL";

#define TCP_CONG_NON_RESTRICTED 0x1
#define MTU 1500
#define RING_BYTES (1 << 21)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PM_MAX_FLOWS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pm_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PM_MAX_PROGRAMS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pm_program);
} progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pm_global);
} gstate SEC(".maps");

/* Per-CPU scratch where a MEASURE is assembled before it is copied into the ring at its size. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[16 + 8 * PM_MAX_REPORT]);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_BYTES);
} ring SEC(".maps");

/* Per-socket state in icsk_ca_priv (at most 104 bytes). */
struct ca {
	__u64 last_bytes_acked;
	__u32 sid; /* 0: no slot (the datapath's own fallback window applies) */
	__u32 last_sacked_out;
	__u32 last_snd_una;
	__u32 was_timeout;
	__u32 ca_state;
	__u32 rate_set; /* CCP set a pacing rate: the kernel-like pacing update stops */
};

extern __u32 tcp_slow_start(struct tcp_sock *tp, __u32 acked) __ksym;
extern void tcp_cong_avoid_ai(struct tcp_sock *tp, __u32 w, __u32 acked) __ksym;

static __always_inline struct ca *ca_of(struct sock *sk)
{
	return (struct ca *)((struct inet_connection_sock *)sk)->icsk_ca_priv;
}

static __always_inline struct pm_global *global(void)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&gstate, &k);
}

/* The flow state of a socket that holds a connection slot, or NULL. */
static __always_inline struct pm_flow *flow_of(const struct ca *ca)
{
	__u32 k;
	if (ca->sid == 0 || ca->sid > PM_MAX_FLOWS)
		return NULL;
	k = ca->sid - 1;
	return bpf_map_lookup_elem(&flows, &k);
}

static __always_inline __u64 now_us(void)
{
	return bpf_ktime_get_ns() / 1000;
}

static __always_inline __u32 packets_in_flight(const struct tcp_sock *tp)
{
	return tp->packets_out - (tp->sacked_out + tp->lost_out) + tp->retrans_out;
}

/* The kernel's own pacing update (tcp_update_pacing_rate) for flows CCP gives no rate. */
static __always_inline void kernel_pacing(struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u64 rate, cw = tp->snd_cwnd;
	__u32 srtt = tp->srtt_us;
	if (cw < tp->packets_out)
		cw = tp->packets_out;
	if (srtt == 0)
		return;
	rate = (__u64)tp->mss_cache * 8000000ULL * cw;
	rate = rate * (tp->snd_cwnd < tp->snd_ssthresh / 2 ? 200 : 120) / 100;
	sk->sk_pacing_rate = rate / srtt;
}

/* Safe window while CCP does not control the flow (agent silent, no slot): Reno. */
static __always_inline void fallback_window(struct sock *sk, const struct rate_sample *rs)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ca *ca = ca_of(sk);
	__u32 acked = rs->acked_sacked;
	if (ca->ca_state == TCP_CA_Recovery || ca->ca_state == TCP_CA_CWR) {
		if (tp->snd_cwnd > tp->snd_ssthresh)
			tp->snd_cwnd = tp->snd_ssthresh > 2 ? tp->snd_ssthresh : 2;
	} else if (acked > 0) {
		if (tp->snd_cwnd < tp->snd_ssthresh)
			acked = tcp_slow_start(tp, acked);
		if (acked)
			tcp_cong_avoid_ai(tp, tp->snd_cwnd, acked);
	}
	if (tp->snd_cwnd > tp->snd_cwnd_clamp)
		tp->snd_cwnd = tp->snd_cwnd_clamp;
	ca->rate_set = 0;
	kernel_pacing(sk);
}

static __always_inline void dp_set_cwnd(struct pm_env *env, __u32 bytes)
{
	struct tcp_sock *tp = (struct tcp_sock *)env->sk;
	__u32 mss = tp->mss_cache ? tp->mss_cache : 1;
	__u32 pkts = bytes / mss;
	/* ccp-kernel writes bytes / mss even when it is 0, which stalls the flow: keep one packet */
	if (pkts < 1)
		pkts = 1;
	if (pkts > tp->snd_cwnd_clamp)
		pkts = tp->snd_cwnd_clamp;
	tp->snd_cwnd = pkts;
}

static __always_inline void dp_set_rate(struct pm_env *env, __u32 rate)
{
	struct sock *sk = env->sk;
	sk->sk_pacing_rate = rate;
	if (sk->sk_pacing_status == SK_PACING_NONE)
		sk->sk_pacing_status = SK_PACING_NEEDED;
	ca_of(sk)->rate_set = 1;
}

static __always_inline void put_hdr(__u8 *b, __u16 type, __u16 len, __u32 sid)
{
	*(__u16 *)b = type;
	*(__u16 *)(b + 2) = len;
	*(__u32 *)(b + 4) = sid;
}

/* MEASURE: assembled in the per-CPU scratch, then copied into the ring at its wire size. */
static __always_inline int dp_report(struct pm_env *env, struct pm_flow *f, __u32 uid, __u32 n)
{
	struct pm_global *g = global();
	__u32 k = 0, len;
	__u8 *b;
	if (!g)
		return -1;
	b = bpf_map_lookup_elem(&scratch, &k);
	if (!b || g->agent_gone) {
		__sync_fetch_and_add(&g->send_failures, 1);
		return -1;
	}
	if (n > PM_MAX_REPORT)
		n = PM_MAX_REPORT;
	len = 16 + 8 * n;
	put_hdr(b, 1, len, env->sid);
	*(__u32 *)(b + 8) = uid;
	*(__u32 *)(b + 12) = n;
#pragma unroll
	for (int i = 0; i < PM_MAX_REPORT; i++)
		*(__u64 *)(b + 16 + 8 * i) = f->x[i];
	if (len > 16 + 8 * PM_MAX_REPORT)
		return -1;
	if (bpf_ringbuf_output(&ring, b, len, 0) != 0) {
		__sync_fetch_and_add(&g->send_failures, 1);
		return -1;
	}
	__sync_fetch_and_add(&g->reports, 1);
	return 0;
}

static __always_inline int dp_send_create(struct pm_env *env)
{
	struct tcp_sock *tp = (struct tcp_sock *)env->sk;
	struct pm_global *g = global();
	__u8 *b;
	if (!g)
		return -1;
	if (g->agent_gone) {
		__sync_fetch_and_add(&g->send_failures, 1);
		return -1;
	}
	b = bpf_ringbuf_reserve(&ring, 96, 0);
	if (!b) {
		__sync_fetch_and_add(&g->send_failures, 1);
		return -1;
	}
	__builtin_memset(b, 0, 96);
	put_hdr(b, 0, 96, env->sid);
	*(__u32 *)(b + 8) = tp->snd_cwnd * tp->mss_cache;
	*(__u32 *)(b + 12) = tp->mss_cache;
	/* addresses and ports in network byte order, as ccp-kernel sends them */
	*(__u32 *)(b + 16) = tp->inet_conn.icsk_inet.inet_saddr;
	*(__u32 *)(b + 20) = tp->inet_conn.icsk_inet.inet_sport;
	*(__u32 *)(b + 24) = tp->inet_conn.icsk_inet.sk.__sk_common.skc_daddr;
	*(__u32 *)(b + 28) = tp->inet_conn.icsk_inet.sk.__sk_common.skc_dport;
	/* congAlg empty: the agent's default algorithm */
	bpf_ringbuf_submit(b, 0);
	__sync_fetch_and_add(&g->creates, 1);
	return 0;
}

static __always_inline const struct pm_program *dp_program(struct pm_env *env, __s32 idx)
{
	__u32 k = (__u32)idx - 1;
	const struct pm_program *p;
	if (idx < 1 || idx > PM_MAX_PROGRAMS)
		return NULL;
	p = bpf_map_lookup_elem(&progs, &k);
	if (!p || p->index != (__u32)idx)
		return NULL;
	return p;
}

struct claim {
	struct pm_global *g;
	__u32 sid;
};

static long claim_cb(__u64 i, void *ctx)
{
	struct claim *c = ctx;
	__u32 k = (__u32)i;
	if (k >= c->g->max_flows || k >= PM_MAX_FLOWS)
		return 1;
	k &= PM_MAX_FLOWS - 1; /* the verifier tracks the masked copy */
	if (__sync_val_compare_and_swap(&c->g->slot_index[k], 0, k + 1) == 0) {
		c->sid = k + 1;
		return 1;
	}
	return 0;
}

struct zero {
	struct pm_flow *f;
};

static long zero_cb(__u64 i, void *ctx)
{
	struct zero *z = ctx;
	if (i >= PM_NX)
		return 1;
	z->f->x[i] = 0;
	return 0;
}

SEC("struct_ops/portus_init")
void BPF_PROG(portus_init, struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ca *ca = ca_of(sk);
	struct pm_global *g = global();
	struct claim c = {};
	struct zero z;
	struct pm_env env;
	struct pm_flow *f;
	__u32 k;

	ca->sid = 0;
	ca->last_bytes_acked = tp->bytes_acked;
	ca->last_sacked_out = tp->sacked_out;
	ca->last_snd_una = tp->snd_una;
	ca->was_timeout = 0;
	ca->ca_state = 0;
	ca->rate_set = 0;
	if (!g)
		return;
	c.g = g;
	bpf_loop(PM_MAX_FLOWS, claim_cb, &c, 0);
	if (c.sid == 0) {
		__sync_fetch_and_add(&g->no_slot, 1);
		return;
	}
	k = c.sid - 1;
	f = bpf_map_lookup_elem(&flows, &k);
	if (!f)
		return;
	/* libccp: private state zero-allocated; nothing staged */
	z.f = f;
	bpf_loop(PM_NX, zero_cb, &z, 0);
	f->tz = g->time_zero;
	f->program_index = 0;
	f->sent_create = 0;
	f->st.any = 0;
	f->st.program = -1;
	__builtin_memset(f->st.pending, 0, sizeof(f->st.pending));
	ca->sid = c.sid;
	env.sk = sk;
	env.sid = c.sid;
	if (pm_send_create(&env, g, c.sid, now_us()) >= 0)
		f->sent_create = 1;
}

/* One ACK: ccp-kernel's load_primitives + ccp_invoke, or the fallback window. */
static __always_inline void on_ack(struct sock *sk, const struct rate_sample *rs)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ca *ca = ca_of(sk);
	struct pm_global *g = global();
	struct pm_flow *f;
	struct pm_env env;
	struct pm_run r;
	__u32 sacked, mss = tp->mss_cache;
	__u64 now;
	int ret;

	if (!g)
		return;
	f = flow_of(ca);
	if (!f) {
		fallback_window(sk, rs); /* no connection slot */
		return;
	}
	now = now_us();
	if (rs->delivered <= 0 || rs->interval_us <= 0 || rs->rtt_us <= 0) {
		/* no valid rate sample: ccp-kernel does not invoke */
		if (g->in_fallback)
			fallback_window(sk, rs);
		return;
	}
	if (rs->rcv_interval_us != 0 && rs->snd_interval_us != 0) {
		__u64 d = (__u64)rs->delivered * MTU * 1000000ULL;
		__u64 rin = d / rs->snd_interval_us, rout = d / rs->rcv_interval_us;
		if (rin)
			f->x[PM_PRIM + PM_P_RATE_OUTGOING] = rin;
		if (rout)
			f->x[PM_PRIM + PM_P_RATE_INCOMING] = rout;
	}
	f->x[PM_PRIM + PM_P_BYTES_ACKED] = (__u32)(tp->bytes_acked - ca->last_bytes_acked);
	ca->last_bytes_acked = tp->bytes_acked;
	sacked = tp->sacked_out < ca->last_sacked_out ? 0 : tp->sacked_out - ca->last_sacked_out;
	ca->last_sacked_out = tp->sacked_out;
	f->x[PM_PRIM + PM_P_PACKETS_MISORDERED] = sacked;
	f->x[PM_PRIM + PM_P_PACKETS_ACKED] = (__u32)(rs->acked_sacked - sacked);
	f->x[PM_PRIM + PM_P_BYTES_MISORDERED] = (__u32)(sacked * mss);
	f->x[PM_PRIM + PM_P_LOST_PKTS_SAMPLE] = (__u32)rs->losses;
	f->x[PM_PRIM + PM_P_RTT_SAMPLE_US] = (__u64)rs->rtt_us;
	f->x[PM_PRIM + PM_P_BYTES_IN_FLIGHT] = (__u32)(packets_in_flight(tp) * mss);
	f->x[PM_PRIM + PM_P_PACKETS_IN_FLIGHT] = packets_in_flight(tp);
	f->x[PM_PRIM + PM_P_BYTES_PENDING] = (__u32)(tp->write_seq - tp->snd_una);
	f->x[PM_PRIM + PM_P_WAS_TIMEOUT] = ca->was_timeout;
	f->x[PM_PRIM + PM_P_NOW] = now - g->time_zero;
	if (tp->snd_cwnd == 0)
		return;
	env.sk = sk;
	env.sid = ca->sid;
	__sync_fetch_and_add(&g->invocations, 1);
	ret = pm_invoke(&env, g, ca->sid, f, &r, now, tp->snd_cwnd * mss, 0);
	ca->was_timeout = 0;
	if (ret == PM_FALLBACK_TIMED_OUT) {
		__sync_fetch_and_add(&g->fallback_acks, 1);
		fallback_window(sk, rs);
		return;
	}
	if (ret == PM_PROG_IS_NULL)
		__sync_fetch_and_add(&g->no_program, 1);
	else if (ret < 0) {
		__sync_fetch_and_add(&g->errors, 1);
		g->last_error = ret;
	}
	if (!ca->rate_set)
		kernel_pacing(sk);
}

#ifdef PORTUS_CONG_CONTROL_OLD
SEC("struct_ops/portus_cong_control")
void BPF_PROG(portus_cong_control, struct sock *sk, const struct rate_sample *rs)
{
	on_ack(sk, rs);
}
#else
SEC("struct_ops/portus_cong_control")
void BPF_PROG(portus_cong_control, struct sock *sk, __u32 ack, int flag, const struct rate_sample *rs)
{
	on_ack(sk, rs);
}
#endif

SEC("struct_ops/portus_set_state")
void BPF_PROG(portus_set_state, struct sock *sk, __u8 new_state)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ca *ca = ca_of(sk);
	struct pm_global *g;
	struct pm_flow *f;
	struct pm_env env;
	struct pm_run r;
	__u64 now;

	ca->ca_state = new_state;
	if (new_state != TCP_CA_Loss) {
		ca->was_timeout = 0;
		return;
	}
	/* ccp-kernel: entering TCP_CA_Loss invokes the program with was_timeout set */
	ca->was_timeout = 1;
	g = global();
	f = flow_of(ca);
	if (!g || !f)
		return;
	now = now_us();
	f->x[PM_PRIM + PM_P_WAS_TIMEOUT] = 1;
	f->x[PM_PRIM + PM_P_NOW] = now - g->time_zero;
	env.sk = sk;
	env.sid = ca->sid;
	pm_invoke(&env, g, ca->sid, f, &r, now, tp->snd_cwnd * tp->mss_cache, 0);
}

SEC("struct_ops/portus_in_ack_event")
void BPF_PROG(portus_in_ack_event, struct sock *sk, __u32 flags)
{
	/* ECN bytes, as ccp-kernel's tcp_ccp_in_ack_event */
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct ca *ca = ca_of(sk);
	struct pm_flow *f;
	__u32 acked = tp->snd_una - ca->last_snd_una;
	ca->last_snd_una = tp->snd_una;
	f = flow_of(ca);
	if (!acked || !f)
		return;
	if (flags & CA_ACK_ECE) {
		f->x[PM_PRIM + PM_P_ECN_BYTES] = acked;
		f->x[PM_PRIM + PM_P_ECN_PACKETS] = acked / (tp->mss_cache ? tp->mss_cache : 1);
	} else {
		f->x[PM_PRIM + PM_P_ECN_BYTES] = 0;
		f->x[PM_PRIM + PM_P_ECN_PACKETS] = 0;
	}
}

SEC("struct_ops/portus_release")
void BPF_PROG(portus_release, struct sock *sk)
{
	struct ca *ca = ca_of(sk);
	struct pm_global *g = global();
	__u32 sid = ca->sid;
	__u8 *b;
	if (!g || sid == 0 || sid > PM_MAX_FLOWS)
		return;
	ca->sid = 0;
	/* the close MEASURE: failures are not retried and do not arm the fallback timer */
	if (!g->agent_gone) {
		b = bpf_ringbuf_reserve(&ring, 16, 0);
		if (b) {
			put_hdr(b, 1, 16, sid);
			*(__u32 *)(b + 8) = 0;
			*(__u32 *)(b + 12) = 0;
			bpf_ringbuf_submit(b, 0);
			__sync_fetch_and_add(&g->closes, 1);
		}
	}
	__sync_lock_test_and_set(&g->slot_index[(sid - 1) & (PM_MAX_FLOWS - 1)], 0);
}

SEC("struct_ops/portus_ssthresh")
__u32 BPF_PROG(portus_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (struct tcp_sock *)sk;
	return tp->snd_cwnd >> 1 > 2 ? tp->snd_cwnd >> 1 : 2;
}

SEC("struct_ops/portus_undo_cwnd")
__u32 BPF_PROG(portus_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (struct tcp_sock *)sk;
	return tp->snd_cwnd > tp->snd_ssthresh << 1 ? tp->snd_cwnd : tp->snd_ssthresh << 1;
}

SEC(".struct_ops")
struct tcp_congestion_ops portus = {
	.init = (void *)portus_init,
	.release = (void *)portus_release,
	.ssthresh = (void *)portus_ssthresh,
	.undo_cwnd = (void *)portus_undo_cwnd,
	.set_state = (void *)portus_set_state,
	.in_ack_event = (void *)portus_in_ack_event,
	.cong_control = (void *)portus_cong_control,
	.flags = TCP_CONG_NON_RESTRICTED,
	.name = "portus",
};
