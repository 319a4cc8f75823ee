/* SPDX-License-Identifier: MIT */
/*
 * Per-flow execution of CCP datapath programs with libccp's semantics
 * (shared/spec/datapath-machine.md §4–§6): staged updates and program switches, the register
 * machine (u64 arithmetic, libccp's error codes), fallthrough, report triggering, Cwnd/Rate
 * application and the two DEF scans.
 *
 * One source for two builds:
 *  - BPF (portus.bpf.c, __BPF__ defined): loops run through bpf_loop so the verifier checks each
 *    loop body once; every register/program index is bounds-masked;
 *  - userspace (driver.c for the differential test, loader.c), plain C loops.
 *
 * For pm_invoke the includer defines, before including this file:
 *   PM_SET_CWND(env, v)       apply a window (u32 bytes), libccp set_cwnd
 *   PM_SET_RATE(env, v)       apply a rate (u32 bytes/s), libccp set_rate_abs
 *   PM_REPORT(env, f, uid, n) send MEASURE with report registers 0..n-1; 0 on success
 *   PM_SEND_CREATE(env)       send CREATE for the flow; 0 on success
 *   PM_PROGRAM(env, idx)      const struct pm_program * for a 1-based slot index, or NULL
 *   PM_TRYLOCK(f), PM_UNLOCK(f) the staging lock (userspace writes f->st concurrently)
 * and `struct pm_env` (opaque here).
 *
 * Programs are pre-decoded by pm_decode_install (program.c, userspace only): every operand is an
 * offset into the extended register file `x` of the flow (layout below) or into the program's
 * constant area, exactly the layout of src/datapath/program.ts.
 */
#ifndef PORTUS_MACHINE_H
#define PORTUS_MACHINE_H

#ifdef __BPF__
typedef __u8 pm_u8;
typedef __u16 pm_u16;
typedef __u32 pm_u32;
typedef __s32 pm_s32;
typedef __u64 pm_u64;
#define PM_INLINE static __always_inline
#else
#include <stdint.h>
#include <string.h>
typedef uint8_t pm_u8;
typedef uint16_t pm_u16;
typedef uint32_t pm_u32;
typedef int32_t pm_s32;
typedef uint64_t pm_u64;
#define PM_INLINE static inline
#endif

/* libccp error codes (wire-protocol.md §11). */
#define PM_OK 0
#define PM_ADD_INT_OVERFLOW (-91)
#define PM_DIV_BY_ZERO (-92)
#define PM_MUL_INT_OVERFLOW (-93)
#define PM_SUB_INT_UNDERFLOW (-94)
#define PM_PROG_IS_NULL (-96)
#define PM_FALLBACK_TIMED_OUT (-101)
/* Not a libccp code: the program needs more steps than one BPF invocation may take. */
#define PM_TOO_MANY_STEPS (-43)

#define PM_MAX_REPORT 110
#define PM_MAX_CONTROL 110
#define PM_MAX_INSTR 256
#define PM_MAX_EXPR 256
/* Constants of one program: at most 3 immediates per instruction. */
#define PM_MAX_CONST 768
/* Steps (instructions + event transitions) one invocation may take; checked at install. */
#define PM_MAX_STEPS 2048
#define PM_MAX_PROGRAMS 10
#define PM_MAX_FLOWS 1024

/* Extended register file (src/datapath/program.ts): */
#define PM_REG_REPORT 0
#define PM_CONTROL 110
#define PM_IMPL 220
#define PM_TMP 226
#define PM_LOCAL 234
#define PM_FILE 242 /* libccp's register file */
#define PM_PRIM 242 /* primitives 0..14, loaded per invocation */
#define PM_ZERO 257 /* reads of unknown primitives */
#define PM_SINK 258 /* dropped writes */
#define PM_NX 259   /* size of x[]; operands >= PM_NX read constants[op - PM_NX] */
#define PM_MICROS_DST 0xffff

#define PM_FLAG (PM_IMPL + 0)
#define PM_FALL (PM_IMPL + 1)
#define PM_SHOULD_REPORT (PM_IMPL + 2)
#define PM_MICROS (PM_IMPL + 3)
#define PM_CWND (PM_IMPL + 4)
#define PM_RATE (PM_IMPL + 5)

/* Pending-update slots: 0..109 control registers, 110 Cwnd, 111 Rate. */
#define PM_P_CWND 110
#define PM_P_RATE 111
#define PM_NPENDING 112

#define PM_OP_ADD 0
#define PM_OP_BIND 1
#define PM_OP_DEF 2
#define PM_OP_DIV 3
#define PM_OP_EQUIV 4
#define PM_OP_EWMA 5
#define PM_OP_GT 6
#define PM_OP_IF 7
#define PM_OP_LT 8
#define PM_OP_MAX 9
#define PM_OP_MAXWRAP 10
#define PM_OP_MIN 11
#define PM_OP_MUL 12
#define PM_OP_NOTIF 13
#define PM_OP_SUB 14

/* A pre-decoded instruction: operands are extended-file offsets (or PM_NX + constant index). */
struct pm_instr {
	pm_u8 op;
	pm_u8 pad;
	pm_u16 dst; /* write offset, PM_SINK, or PM_MICROS_DST */
	pm_u16 l;
	pm_u16 r;
	pm_u16 res; /* EWMA reads its result register */
	pm_u16 pad2[3];
};

/* One event: instruction ranges [cs, ce) and [bs, be), ends <= 255 (checked at install). */
struct pm_expr {
	pm_u8 cs, ce, bs, be;
};

/* One DEF applied by reset_state / init_register_state. */
struct pm_def {
	pm_u16 off;
	pm_u16 pad;
	pm_u32 val;
};

/* One program-table slot. */
struct pm_program {
	pm_u32 index; /* 1-based slot index; 0 = free */
	pm_u32 uid;
	pm_u32 num_expr;
	pm_u32 num_instr;
	pm_u32 num_to_return;
	pm_u32 n_reset; /* volatile DEFs (types 5, 8) */
	pm_u32 n_init;  /* DEFs of types 0, 6 */
	pm_u32 pad;
	struct pm_def reset[PM_MAX_INSTR];
	struct pm_def init[PM_MAX_INSTR];
	struct pm_expr expr[PM_MAX_EXPR];
	struct pm_instr instr[PM_MAX_INSTR];
	pm_u64 consts[PM_MAX_CONST];
};

/* Staged updates (libccp's staged_update + staged program index), guarded by `lock`. */
struct pm_staged {
	pm_u32 lock;     /* 0 free, 1 held (BPF: try-lock; userspace: spin) */
	pm_u32 any;      /* something is staged */
	pm_s32 program;  /* staged program slot index, -1 none */
	pm_u32 pad;
	pm_u8 pending[PM_NPENDING];
	pm_u64 vals[PM_NPENDING];
};

/* Per-flow state (libccp's ccp_priv_state). */
struct pm_flow {
	pm_u64 x[PM_NX];     /* extended register file */
	pm_u64 tz;           /* implicit_time_zero (µs) */
	pm_s32 program_index; /* 0 = none */
	pm_u32 sent_create;
	struct pm_staged st;
};

/* The primitive values of one ACK, in primitive-register order (wire-protocol.md §6.4). */
enum {
	PM_P_BYTES_ACKED,
	PM_P_BYTES_MISORDERED,
	PM_P_ECN_BYTES,
	PM_P_ECN_PACKETS,
	PM_P_LOST_PKTS_SAMPLE,
	PM_P_NOW,
	PM_P_PACKETS_ACKED,
	PM_P_PACKETS_MISORDERED,
	PM_P_BYTES_IN_FLIGHT,
	PM_P_BYTES_PENDING,
	PM_P_PACKETS_IN_FLIGHT,
	PM_P_RATE_INCOMING,
	PM_P_RATE_OUTGOING,
	PM_P_RTT_SAMPLE_US,
	PM_P_WAS_TIMEOUT,
};

/* Datapath-wide state shared by the BPF program and userspace (the `gstate` map). */
struct pm_global {
	pm_u64 time_zero;     /* µs, bpf_ktime_get_ns()/1000 at load */
	pm_u64 last_msg_sent; /* fallback timer: 0 = off, else µs of the first failed send */
	pm_u64 fto_us;        /* fallback timeout */
	pm_u32 in_fallback;
	pm_u32 agent_gone;    /* set by the loader when the agent's pipe closed: sends fail */
	pm_u32 max_flows;
	pm_u32 max_programs;
	/* counters (BPF increments them atomically) */
	pm_u64 invocations;
	pm_u64 reports;
	pm_u64 creates;
	pm_u64 closes;
	pm_u64 send_failures;
	pm_u64 fallback_acks;
	pm_u64 errors;
	pm_u64 no_slot;
	pm_u64 no_program; /* invocations before the agent chose a program (PM_PROG_IS_NULL) */
	pm_s32 last_error; /* the last error an invocation returned (PM_PROG_IS_NULL aside) */
	pm_u32 zero;       /* always 0: see pm_invoke */
	pm_u32 slot_index[PM_MAX_FLOWS]; /* libccp's conn->index: 0 free, else slot + 1 */
	pm_u64 last_create[PM_MAX_FLOWS]; /* µs of the last CREATE attempt (survives slot reuse) */
};

/* One run of a program's events. */
struct pm_run {
	struct pm_flow *f;
	const struct pm_program *p;
	pm_u64 now_us;
	pm_u32 e;     /* current event */
	pm_u32 phase; /* 0 start event, 1 condition, 2 body */
	pm_u32 pc;    /* next instruction */
	pm_u32 end;   /* end of the current range */
	int err;
	int done;
};

PM_INLINE pm_u64 pm_read(struct pm_run *r, pm_u32 off)
{
	if (off < PM_NX)
		return r->f->x[off];
	off -= PM_NX;
	if (off < PM_MAX_CONST)
		return r->p->consts[off];
	return 0;
}

PM_INLINE void pm_write(struct pm_run *r, pm_u32 dst, pm_u64 v)
{
	if (dst == PM_MICROS_DST) {
		r->f->tz = r->now_us - v;
		r->f->x[PM_MICROS] = v;
	} else if (dst < PM_NX) {
		r->f->x[dst] = v;
	}
}

PM_INLINE pm_u32 pm_dif32(pm_u32 left, pm_u32 right)
{
	if (right > left)
		return right - left;
	return (0xffffffffu - left) + right;
}

/* Execute one instruction: 0 or a libccp error (the result is then not written). */
PM_INLINE int pm_exec(struct pm_run *r, const struct pm_instr *in)
{
	pm_u64 a = pm_read(r, in->l);
	pm_u64 b = pm_read(r, in->r);
	pm_u64 v;
	switch (in->op) {
	case PM_OP_ADD:
		v = a + b;
		if (v < a)
			return PM_ADD_INT_OVERFLOW;
		break;
	case PM_OP_BIND:
		v = b;
		break;
	case PM_OP_DIV:
		if (b == 0)
			return PM_DIV_BY_ZERO;
		v = a / b;
		break;
	case PM_OP_EQUIV:
		v = a == b;
		break;
	case PM_OP_EWMA: {
		pm_u64 t = pm_read(r, in->res);
		v = t == 0 ? b : (a * t + (10 - a) * b) / 10;
		break;
	}
	case PM_OP_GT:
		v = a > b;
		break;
	case PM_OP_IF:
		if (a == 0)
			return 0;
		v = b;
		break;
	case PM_OP_LT:
		v = a < b;
		break;
	case PM_OP_MAX:
		v = a > b ? a : b;
		break;
	case PM_OP_MAXWRAP: {
		pm_u32 a32 = (pm_u32)a, b32 = (pm_u32)b;
		if (a == 0)
			v = b;
		else if (b == 0)
			v = a;
		else
			v = pm_dif32(b32, a32) < pm_dif32(a32, b32) ? a32 : b32;
		break;
	}
	case PM_OP_MIN:
		v = a < b ? a : b;
		break;
	case PM_OP_MUL:
		v = a * b;
		if (v < a && b > 0)
			return PM_MUL_INT_OVERFLOW;
		break;
	case PM_OP_NOTIF:
		if (a != 0)
			return 0;
		v = b;
		break;
	case PM_OP_SUB:
		v = a - b;
		if (v > a)
			return PM_SUB_INT_UNDERFLOW;
		break;
	default: /* DEF: no effect when executed */
		return 0;
	}
	pm_write(r, in->dst, v);
	return 0;
}

/*
 * One step of the event loop (libccp state_machine / process_expression): executes one
 * instruction or one transition. Returns 1 when the run is over (r->err holds the result).
 */
PM_INLINE int pm_step(struct pm_run *r)
{
	const struct pm_program *p = r->p;
	struct pm_flow *f = r->f;
	pm_u32 e = r->e;
	const struct pm_expr *x;

	if (e >= p->num_expr || e >= PM_MAX_EXPR) {
		r->done = 1;
		return 1;
	}
	x = &p->expr[e & (PM_MAX_EXPR - 1)];
	if (r->phase == 0) {
		r->phase = 1;
		r->pc = x->cs;
		r->end = x->ce;
		return 0;
	}
	if (r->pc < r->end) {
		int err = pm_exec(r, &p->instr[r->pc & (PM_MAX_INSTR - 1)]);
		r->pc++;
		if (err < 0) {
			r->err = err;
			r->done = 1;
			return 1;
		}
		return 0;
	}
	if (r->phase == 1 && f->x[PM_FLAG]) {
		r->phase = 2;
		r->pc = x->bs;
		r->end = x->be;
		return 0;
	}
	/* event over: stop if it fired without fallthrough */
	if (f->x[PM_FLAG] && !f->x[PM_FALL]) {
		r->done = 1;
		return 1;
	}
	r->e = e + 1;
	r->phase = 0;
	return 0;
}

#ifdef __BPF__
static long pm_step_cb(__u64 i, void *ctx)
{
	return pm_step((struct pm_run *)ctx);
}

static long pm_reset_cb(__u64 i, void *ctx)
{
	struct pm_run *r = ctx;
	const struct pm_def *d;
	if (i >= r->p->n_reset || i >= PM_MAX_INSTR)
		return 1;
	d = &r->p->reset[i & (PM_MAX_INSTR - 1)];
	if (d->off < PM_NX)
		r->f->x[d->off] = d->val;
	return 0;
}

static long pm_init_cb(__u64 i, void *ctx)
{
	struct pm_run *r = ctx;
	const struct pm_def *d;
	if (i >= r->p->n_init || i >= PM_MAX_INSTR)
		return 1;
	d = &r->p->init[i & (PM_MAX_INSTR - 1)];
	if (d->off < PM_NX)
		r->f->x[d->off] = d->val;
	return 0;
}

static long pm_control_cb(__u64 i, void *ctx)
{
	struct pm_run *r = ctx;
	pm_u32 k = (pm_u32)i;
	if (k >= PM_MAX_CONTROL)
		return 1;
	if (r->f->st.pending[k])
		r->f->x[PM_CONTROL + k] = r->f->st.vals[k];
	return 0;
}

#define PM_RESET_STATE(r) bpf_loop(PM_MAX_INSTR, pm_reset_cb, (r), 0)
#define PM_INIT_STATE(r) bpf_loop(PM_MAX_INSTR, pm_init_cb, (r), 0)
#define PM_RUN_STEPS(r) bpf_loop(PM_MAX_STEPS, pm_step_cb, (r), 0)
#define PM_APPLY_CONTROLS(r) bpf_loop(PM_MAX_CONTROL, pm_control_cb, (r), 0)
#else
PM_INLINE void pm_reset_state(struct pm_run *r)
{
	for (pm_u32 i = 0; i < r->p->n_reset && i < PM_MAX_INSTR; i++)
		if (r->p->reset[i].off < PM_NX)
			r->f->x[r->p->reset[i].off] = r->p->reset[i].val;
}

PM_INLINE void pm_init_state(struct pm_run *r)
{
	for (pm_u32 i = 0; i < r->p->n_init && i < PM_MAX_INSTR; i++)
		if (r->p->init[i].off < PM_NX)
			r->f->x[r->p->init[i].off] = r->p->init[i].val;
}

PM_INLINE void pm_run_steps(struct pm_run *r)
{
	for (pm_u32 i = 0; i < PM_MAX_STEPS; i++)
		if (pm_step(r))
			return;
}

PM_INLINE void pm_apply_controls(struct pm_run *r)
{
	for (pm_u32 k = 0; k < PM_MAX_CONTROL; k++)
		if (r->f->st.pending[k])
			r->f->x[PM_CONTROL + k] = r->f->st.vals[k];
}

#define PM_RESET_STATE(r) pm_reset_state(r)
#define PM_INIT_STATE(r) pm_init_state(r)
#define PM_RUN_STEPS(r) pm_run_steps(r)
#define PM_APPLY_CONTROLS(r) pm_apply_controls(r)
#endif

#ifdef PM_PROGRAM
/* Arm the fallback timer after a failed send (libccp _update_fto_timer). */
PM_INLINE void pm_arm_fto(struct pm_global *g, pm_u64 now_us)
{
	if (g->last_msg_sent == 0)
		g->last_msg_sent = now_us;
}

/* libccp send_conn_create: at most one attempt per 100 ms per slot. */
PM_INLINE int pm_send_create(struct pm_env *env, struct pm_global *g, pm_u32 sid, pm_u64 now_us)
{
	pm_u32 k = (sid - 1) & (PM_MAX_FLOWS - 1);
	int ret;
	if (sid < 1)
		return -73;
	if (g->last_create[k] != 0 && now_us - g->last_create[k] < 100000)
		return -72;
	g->last_create[k] = now_us;
	ret = PM_SEND_CREATE(env);
	if (ret != 0)
		pm_arm_fto(g, now_us);
	return ret;
}

/*
 * ccp_invoke (datapath-machine.md §4.1) for the flow in slot sid - 1, with the primitives already
 * in f->x[PM_PRIM..] and the datapath's current window and rate. Returns 0 or a libccp error
 * (PM_FALLBACK_TIMED_OUT: the datapath's own fallback applies).
 * Staged updates are applied only if PM_TRYLOCK succeeds (BPF: userspace is writing them right
 * now; they are then applied at the next invocation).
 */
PM_INLINE int pm_invoke(struct pm_env *env, struct pm_global *g, pm_u32 sid, struct pm_flow *f,
			struct pm_run *r, pm_u64 now_us, pm_u32 snd_cwnd, pm_u64 snd_rate)
{
	const struct pm_program *p;
	if (g->last_msg_sent != 0 && now_us - g->last_msg_sent > g->fto_us) {
		g->in_fallback = 1;
		return PM_FALLBACK_TIMED_OUT;
	}
	g->in_fallback = 0;
	if (!f->sent_create) {
		if (pm_send_create(env, g, sid, now_us) >= 0)
			f->sent_create = 1;
		return 0;
	}
	f->x[PM_CWND] = snd_cwnd;
	f->x[PM_RATE] = snd_rate;
	r->f = f;
	r->now_us = now_us;
	if (f->st.any && PM_TRYLOCK(f)) {
		if (f->st.program >= 0) {
			f->program_index = f->st.program;
			p = PM_PROGRAM(env, f->program_index);
			if (p) {
				r->p = p;
				PM_RESET_STATE(r);
				PM_INIT_STATE(r);
			}
			/* reset_time */
			f->tz = now_us;
			f->x[PM_MICROS] = 0;
			f->st.program = -1;
		}
		PM_APPLY_CONTROLS(r);
		if (f->st.pending[PM_P_CWND]) {
			f->x[PM_CWND] = f->st.vals[PM_P_CWND];
			if (f->x[PM_CWND] != 0)
				PM_SET_CWND(env, (pm_u32)f->x[PM_CWND]);
		}
		if (f->st.pending[PM_P_RATE]) {
			f->x[PM_RATE] = f->st.vals[PM_P_RATE];
			if (f->x[PM_RATE] != 0)
				PM_SET_RATE(env, (pm_u32)f->x[PM_RATE]);
		}
		__builtin_memset(f->st.pending, 0, sizeof(f->st.pending));
		f->st.any = 0;
		PM_UNLOCK(f);
	}
	p = PM_PROGRAM(env, f->program_index);
	if (!p)
		return PM_PROG_IS_NULL;
	r->p = p;
	f->x[PM_FLAG] = 0;
	f->x[PM_FALL] = 0;
	f->x[PM_SHOULD_REPORT] = 0;
	f->x[PM_MICROS] = now_us - f->tz;
	/*
	 * The run state starts at 0, loaded from memory rather than written as constants: verifiers
	 * before Linux 6.7 check a bpf_loop callback once, with the caller's values, and would remove
	 * as dead code every branch of pm_step those constants rule out (and the success path after
	 * the loop), so on 6.1 every run would end in PM_TOO_MANY_STEPS.
	 */
	{
		pm_u32 z = g->zero;
		r->e = z;
		r->phase = z;
		r->pc = z;
		r->end = z;
		r->err = (int)z;
		r->done = (int)z;
	}
	PM_RUN_STEPS(r);
	if (!r->done)
		return PM_TOO_MANY_STEPS;
	if (r->err < 0)
		return r->err;
	if (f->x[PM_CWND] > 0)
		PM_SET_CWND(env, (pm_u32)f->x[PM_CWND]);
	if (f->x[PM_RATE] != 0)
		PM_SET_RATE(env, (pm_u32)f->x[PM_RATE]);
	if (f->x[PM_SHOULD_REPORT]) {
		if (PM_REPORT(env, f, p->uid, p->num_to_return) != 0)
			pm_arm_fto(g, now_us);
		PM_RESET_STATE(r);
	}
	return 0;
}

#endif /* PM_PROGRAM */

#endif
