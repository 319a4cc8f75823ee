/* SPDX-License-Identifier: MIT */
/* Agent messages → program table and staging areas (see program.h). */
#include <stdio.h>
#include <string.h>

#include "program.h"

#define BIGGEST_MSG_SIZE 32678
#define MAX_MUTABLE_REG 222
#define DEF_SENTINEL 0x3fffffffu

static uint32_t u32at(const uint8_t *b, size_t o)
{
	return (uint32_t)b[o] | ((uint32_t)b[o + 1] << 8) | ((uint32_t)b[o + 2] << 16) |
	       ((uint32_t)b[o + 3] << 24);
}

static void logf_(struct pm_view *v, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#include <stdarg.h>
static void logf_(struct pm_view *v, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (!v->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->log(level, msg);
}

/* Offset read by an operand of (type, field); -1 outside libccp's register file (program.ts). */
static int read_offset(uint8_t type, uint32_t field)
{
	int32_t i = (int32_t)field;
	int off;
	switch (type) {
	case 0:
	case 8:
		off = PM_CONTROL + i;
		break;
	case 2:
		off = PM_IMPL + i;
		break;
	case 3:
		off = PM_LOCAL + i;
		break;
	case 4:
		return i >= 0 && i <= 14 ? PM_PRIM + i : PM_ZERO;
	case 5:
	case 6:
		off = PM_REG_REPORT + i;
		break;
	case 7:
		off = PM_TMP + i;
		break;
	default:
		return -1;
	}
	return off >= 0 && off < PM_FILE ? off : -1;
}

static int write_offset(uint8_t type, uint32_t field)
{
	int32_t i = (int32_t)field;
	switch (type) {
	case 0:
	case 8:
		return i >= 0 && i < 110 ? PM_CONTROL + i : PM_SINK;
	case 5:
	case 6:
		return i >= 0 && i < 110 ? PM_REG_REPORT + i : PM_SINK;
	case 7:
		return i >= 0 && i < 8 ? PM_TMP + i : PM_SINK;
	case 3:
		return i >= 0 && i < 8 ? PM_LOCAL + i : PM_SINK;
	case 2:
		if (i == 3)
			return PM_MICROS_DST;
		return i == 0 || i == 1 || i == 2 || i == 4 || i == 5 ? PM_IMPL + i : PM_SINK;
	default:
		return PM_SINK;
	}
}

struct raw_instr {
	uint8_t op, rt, lt, gt;
	uint32_t ri, li, gi;
};

static int const_of(struct pm_program *p, int *nconst, uint32_t v)
{
	for (int k = 0; k < *nconst; k++)
		if (p->consts[k] == v)
			return PM_NX + k;
	p->consts[*nconst] = v;
	return PM_NX + (*nconst)++;
}

static int reachable(const struct pm_program *p, int j)
{
	for (uint32_t k = 0; k < p->num_expr; k++) {
		const struct pm_expr *x = &p->expr[k];
		if ((j >= x->cs && j < x->ce) || (j >= x->bs && j < x->be))
			return 1;
	}
	return 0;
}

/*
 * Decode an INSTALL_EXPR into *p. Returns 1 with *reject set when the input is refused (nothing
 * stored), else 0 with *code the libccp result (a decode error leaves a partial program).
 */
static int decode_install(struct pm_view *v, const uint8_t *buf, size_t len, struct pm_program *p,
			  int *code, int *reject)
{
	static struct raw_instr raw[PM_MAX_INSTR];
	uint32_t uid, ne, ni;
	size_t ib;
	uint32_t steps = 0;
	int nconst = 0;

	*code = 0;
	if (len < 20) {
		*reject = PM_BUFSIZE_TOO_SMALL;
		return 1;
	}
	uid = u32at(buf, 8);
	ne = u32at(buf, 12);
	ni = u32at(buf, 16);
	if (ne > PM_MAX_EXPR) {
		logf_(v, PM_LOG_ERROR, "INSTALL_EXPR rejected: program %u: %u expressions > 256", uid, ne);
		*reject = PM_INSTALL_TOO_MANY_EXPR;
		return 1;
	}
	if (ni > PM_MAX_INSTR) {
		logf_(v, PM_LOG_ERROR, "INSTALL_EXPR rejected: program %u: %u instructions > 256", uid, ni);
		*reject = PM_INSTALL_TOO_MANY_INSTR;
		return 1;
	}
	ib = 20 + 16 * (size_t)ne;
	if (ib > len) {
		*reject = PM_BUFSIZE_TOO_SMALL;
		return 1;
	}
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->num_expr = ne;
	p->num_instr = ni;
	for (uint32_t k = 0; k < ne; k++) {
		size_t o = 20 + 16 * (size_t)k;
		uint32_t cs = u32at(buf, o), cn = u32at(buf, o + 4), bs = u32at(buf, o + 8), bn = u32at(buf, o + 12);
		uint32_t ce = cs + cn, be = bs + bn;
		if (ce > 255 || be > 255 || ce < cs || be < bs) {
			logf_(v, PM_LOG_ERROR,
			      "INSTALL_EXPR rejected: program %u: event %u has a range ending past 255 (libccp would loop forever)",
			      uid, k);
			*reject = PM_INSTALL_TOO_MANY_INSTR;
			return 1;
		}
		p->expr[k].cs = (uint8_t)cs;
		p->expr[k].ce = (uint8_t)ce;
		p->expr[k].bs = (uint8_t)bs;
		p->expr[k].be = (uint8_t)be;
		steps += 2 + (ce > cs ? ce - cs : 0) + (be > bs ? be - bs : 0);
	}
	if (steps > PM_MAX_STEPS) {
		logf_(v, PM_LOG_ERROR,
		      "INSTALL_EXPR rejected: program %u needs up to %u steps per ACK, the BPF datapath allows %u",
		      uid, steps, PM_MAX_STEPS);
		*reject = PM_INSTALL_TOO_MANY_INSTR;
		return 1;
	}
	memset(raw, 0, sizeof(raw));
	for (uint32_t j = 0; j < ni; j++) {
		size_t o = ib + 16 * (size_t)j;
		struct raw_instr *w = &raw[j];
		uint8_t op, rt, lt, gt;
		if (o + 16 > len) {
			*reject = PM_BUFSIZE_TOO_SMALL;
			return 1;
		}
		op = buf[o];
		rt = buf[o + 1];
		lt = buf[o + 6];
		gt = buf[o + 11];
		if (op >= 15) {
			*code = PM_READ_INVALID_OP;
			break;
		}
		w->op = op;
		if (rt == 1 || rt == 4) {
			*code = PM_READ_REG_NOT_ALLOWED;
			break;
		}
		if (rt > 8) {
			*code = PM_READ_INVALID_RETURN_REG;
			break;
		}
		w->rt = rt;
		w->ri = u32at(buf, o + 2);
		if (lt > 8) {
			*code = PM_READ_INVALID_LEFT_REG;
			break;
		}
		w->lt = lt;
		w->li = u32at(buf, o + 7);
		if (gt > 8) {
			*code = PM_READ_INVALID_RIGHT_REG;
			break;
		}
		w->gt = gt;
		w->gi = u32at(buf, o + 12);
	}
	for (int j = 0; j < PM_MAX_INSTR; j++) {
		struct raw_instr *w = &raw[j];
		int l = w->lt == 1 ? const_of(p, &nconst, w->li) : read_offset(w->lt, w->li);
		int r = w->gt == 1 ? const_of(p, &nconst, w->gi) : read_offset(w->gt, w->gi);
		int rr = w->rt == 1 ? const_of(p, &nconst, w->ri) : read_offset(w->rt, w->ri);
		if (reachable(p, j) && w->op != PM_OP_DEF) {
			const char *bad = l < 0 ? "left" : r < 0 ? "right" : (w->op == PM_OP_EWMA && rr < 0) ? "result" : NULL;
			if (bad) {
				logf_(v, PM_LOG_ERROR,
				      "INSTALL_EXPR rejected: program %u: instruction %d reads its %s operand outside libccp's register file",
				      uid, j, bad);
				*reject = l < 0 ? PM_READ_INVALID_LEFT_REG : r < 0 ? PM_READ_INVALID_RIGHT_REG : PM_READ_INVALID_RETURN_REG;
				return 1;
			}
		}
		p->instr[j].op = w->op;
		p->instr[j].dst = (uint16_t)write_offset(w->rt, w->ri);
		p->instr[j].l = (uint16_t)(l < 0 ? PM_ZERO : l);
		p->instr[j].r = (uint16_t)(r < 0 ? PM_ZERO : r);
		p->instr[j].res = (uint16_t)(rr < 0 ? PM_ZERO : rr);
	}
	/* The DEF block scans (reset_state / init_register_state), bounded by num_instructions. */
	{
		uint32_t report_defs = 0;
		int stores = 0;
		for (uint32_t j = 0; j < ni; j++) {
			struct raw_instr *w = &raw[j];
			uint32_t dv;
			if (w->op != PM_OP_DEF) {
				stores = 1;
				break;
			}
			dv = w->gt == 1 ? w->gi : 0;
			if (dv == DEF_SENTINEL)
				dv = 0xffffffffu;
			if (w->lt == 5 || w->lt == 6)
				report_defs++;
			if (w->lt == 5 || w->lt == 8) {
				p->reset[p->n_reset].off = (uint16_t)write_offset(w->lt, w->li);
				p->reset[p->n_reset++].val = dv;
			}
			if (w->lt == 0 || w->lt == 6) {
				p->init[p->n_init].off = (uint16_t)write_offset(w->lt, w->li);
				p->init[p->n_init++].val = dv;
			}
		}
		if (!stores && ni == PM_MAX_INSTR) {
			*reject = PM_INSTALL_TOO_MANY_INSTR;
			return 1;
		}
		if (report_defs > PM_MAX_REPORT) {
			*reject = PM_INSTALL_TOO_MANY_INSTR;
			return 1;
		}
		/* libccp stores num_to_return only once the scan reaches a non-DEF (0 for a fresh slot). */
		p->num_to_return = stores ? report_defs : 0;
	}
	return 0;
}

static void lock(struct pm_view *v, struct pm_flow *f)
{
	if (!v->locking)
		return;
	for (;;) {
		uint32_t z = 0;
		if (__atomic_compare_exchange_n(&f->st.lock, &z, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		__builtin_ia32_pause();
	}
}

static void unlock(struct pm_view *v, struct pm_flow *f)
{
	if (v->locking)
		__atomic_store_n(&f->st.lock, 0, __ATOMIC_RELEASE);
}

/* Store a decoded program in the table (libccp's slot search, with its off-by-one). */
static int install(struct pm_view *v, const uint8_t *buf, size_t len)
{
	static struct pm_program p;
	int code, reject;
	uint32_t pid, n = v->g->max_programs;
	if (decode_install(v, buf, len, &p, &code, &reject))
		return reject;
	if (p.uid == 1) {
		for (uint32_t i = 0; i < n; i++)
			__atomic_store_n(&v->progs[i].index, 0, __ATOMIC_RELEASE);
	}
	for (pid = 0; pid < n; pid++)
		if (__atomic_load_n(&v->progs[pid].index, __ATOMIC_ACQUIRE) == 0)
			break;
	if (pid >= n) {
		logf_(v, PM_LOG_WARN, "could not install datapath program: program table full");
		return PM_PROG_TABLE_FULL;
	}
	if (pid + 1 >= n) {
		memset(&v->progs[pid], 0, sizeof(struct pm_program));
		__atomic_store_n(&v->progs[pid].index, pid + 1, __ATOMIC_RELEASE);
		logf_(v, PM_LOG_WARN, "could not install datapath program: program table full");
		return PM_PROG_TABLE_FULL;
	}
	/* fill the slot, publish its index last */
	p.index = 0;
	memcpy(&v->progs[pid], &p, sizeof(p));
	__atomic_store_n(&v->progs[pid].index, pid + 1, __ATOMIC_RELEASE);
	if (code != 0)
		logf_(v, PM_LOG_WARN, "Could not read instruction in program with uid %u: %d", p.uid, code);
	return code;
}

static int stage(struct pm_view *v, struct pm_flow *f, const uint8_t *buf, size_t len, size_t off, uint32_t count)
{
	for (uint32_t k = 0; k < count; k++) {
		size_t o = off + 13 * (size_t)k;
		uint8_t type;
		uint32_t index, slot;
		uint64_t val;
		if (o + 13 > len) {
			logf_(v, PM_LOG_WARN, "update record %u extends past the received buffer; rejected", k);
			return PM_BUFSIZE_TOO_SMALL;
		}
		type = buf[o];
		index = u32at(buf, o + 1);
		if (type == 0 || type == 8) {
			if (index >= 110) {
				logf_(v, PM_LOG_WARN, "update of control register %u >= 110 rejected", index);
				return PM_UPDATE_INVALID_REG_TYPE;
			}
			slot = index;
		} else if (type == 2) {
			if (index == 4)
				slot = PM_P_CWND;
			else if (index == 5)
				slot = PM_P_RATE;
			else
				continue;
		} else {
			logf_(v, PM_LOG_WARN, "Failed to stage updates: invalid register type %u", type);
			return PM_UPDATE_INVALID_REG_TYPE;
		}
		val = (uint64_t)u32at(buf, o + 5) | ((uint64_t)u32at(buf, o + 9) << 32);
		f->st.vals[slot] = val;
		f->st.pending[slot] = 1;
		f->st.any = 1;
	}
	return 0;
}

int pm_receive(struct pm_view *v, const uint8_t *buf, size_t len)
{
	uint16_t type, mlen, sid;
	struct pm_flow *f;
	int ret;
	if (len < 2)
		return PM_BUFSIZE_TOO_SMALL;
	type = (uint16_t)(buf[0] | (buf[1] << 8));
	if (type != 2 && type != 3 && type != 4) {
		logf_(v, PM_LOG_WARN, "read header failed: invalid type %u", type);
		return PM_READ_INVALID_HEADER_TYPE;
	}
	if (len < 8)
		return PM_BUFSIZE_TOO_SMALL;
	mlen = (uint16_t)(buf[2] | (buf[3] << 8));
	if (mlen > len) {
		logf_(v, PM_LOG_WARN, "message size wrong: %u > %zu", mlen, len);
		return PM_BUFSIZE_TOO_SMALL;
	}
	if (mlen > BIGGEST_MSG_SIZE)
		return PM_MSG_TOO_LONG;
	/* any message that passed the header checks clears the fallback timer */
	__atomic_store_n(&v->g->last_msg_sent, 0, __ATOMIC_RELEASE);
	if (type == 2)
		return install(v, buf, len);
	sid = (uint16_t)(buf[4] | (buf[5] << 8));
	if (sid == 0 || sid > v->g->max_flows ||
	    __atomic_load_n(&v->g->slot_index[sid - 1], __ATOMIC_ACQUIRE) != sid) {
		logf_(v, PM_LOG_DEBUG, "unknown connection: %u", sid);
		return PM_UNKNOWN_CONNECTION;
	}
	f = &v->flows[sid - 1];
	if (type == 3) {
		uint8_t count;
		if (len < 9)
			return PM_BUFSIZE_TOO_SMALL;
		count = buf[8]; /* libccp reads one signed char */
		if (count >= 0x80) {
			logf_(v, PM_LOG_WARN, "Update fields message failed: too many updates");
			return PM_UPDATE_TOO_MANY;
		}
		lock(v, f);
		ret = stage(v, f, buf, len, 12, count);
		unlock(v, f);
		return ret;
	}
	{
		uint32_t uid, count;
		int found = -1;
		if (len < 16)
			return PM_BUFSIZE_TOO_SMALL;
		uid = u32at(buf, 8);
		count = u32at(buf, 12);
		if (count > MAX_MUTABLE_REG)
			return PM_CHANGE_TOO_MANY;
		for (uint32_t i = 0; i < v->g->max_programs; i++) {
			uint32_t idx = __atomic_load_n(&v->progs[i].index, __ATOMIC_ACQUIRE);
			if (idx != 0 && v->progs[i].uid == uid) {
				found = (int)idx;
				break;
			}
		}
		if (found < 0) {
			logf_(v, PM_LOG_INFO, "Could not find datapath program with program uid: %u", uid);
			return PM_CHANGE_PROG_UNKNOWN_UID;
		}
		lock(v, f);
		f->st.program = found;
		memset(f->st.pending, 0, sizeof(f->st.pending));
		f->st.any = 1;
		ret = stage(v, f, buf, len, 16, count);
		unlock(v, f);
		return ret;
	}
}

void pm_flow_start(struct pm_flow *f, uint64_t time_zero)
{
	memset(f->x, 0, sizeof(f->x));
	f->tz = time_zero;
	f->program_index = 0;
	f->sent_create = 0;
	memset(&f->st, 0, sizeof(f->st));
	f->st.program = -1;
}
