/* SPDX-License-Identifier: MIT */
/*
 * Userspace build of the BPF datapath's per-flow logic (machine.h + program.c), driven by a
 * text script on stdin, for the differential test (test/bpf/differential.test.ts). The same
 * script format is read by test/bpf/libccp-driver.c, linked against the real libccp.
 *
 * Input, one command per line:
 *   init <fto_us> <max_flows> <max_programs>     (first line)
 *   time <us>                                     the clock, µs
 *   sendres <n>                                   result of later sends (0 = success)
 *   start <init_cwnd> <mss>                       new flow (congAlg "reno", 1.2.3.4 style ids)
 *   recv <hex>                                    an agent message
 *   ack <sid> <16 numbers>                        fill ccp_primitives (struct order) and invoke
 *   regs <sid>                                    dump the register file
 *   free <sid>                                    end the flow
 * Output: "ready", "start <sid>", "send <hex>", "cwnd <sid> <v>", "rate <sid> <v>",
 *   "recv <code>", "invoke <sid> <code>", "regs <sid> <242 values>".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
struct pm_env;
struct pm_flow;
struct pm_program;
static void drv_set_cwnd(struct pm_env *e, uint32_t v);
static void drv_set_rate(struct pm_env *e, uint32_t v);
static int drv_report(struct pm_env *e, struct pm_flow *f, uint32_t uid, uint32_t n);
static int drv_send_create(struct pm_env *e);
static const struct pm_program *drv_program(struct pm_env *e, int32_t idx);
#define PM_SET_CWND(env, v) drv_set_cwnd(env, v)
#define PM_SET_RATE(env, v) drv_set_rate(env, v)
#define PM_REPORT(env, f, uid, n) drv_report(env, f, uid, n)
#define PM_SEND_CREATE(env) drv_send_create(env)
#define PM_PROGRAM(env, idx) drv_program(env, idx)
#define PM_TRYLOCK(f) 1
#define PM_UNLOCK(f) ((void)0)

#include "program.h"
#include "script.h"

static struct pm_program progs[PM_MAX_PROGRAMS];
static struct pm_flow flows[PM_MAX_FLOWS];
static struct pm_global g;
static uint64_t now_us;
static int send_result;

struct pm_env {
	uint32_t sid;
	uint32_t init_cwnd, mss;
};
static struct pm_env envs[PM_MAX_FLOWS];

static void put_hex(const uint8_t *b, size_t n)
{
	printf("send ");
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static void drv_set_cwnd(struct pm_env *e, uint32_t v)
{
	printf("cwnd %u %u\n", e->sid, v);
}

static void drv_set_rate(struct pm_env *e, uint32_t v)
{
	printf("rate %u %u\n", e->sid, v);
}

static int drv_report(struct pm_env *e, struct pm_flow *f, uint32_t uid, uint32_t n)
{
	uint8_t b[16 + 8 * PM_MAX_REPORT];
	uint32_t len = 16 + 8 * n;
	put32(b, 1 | (len << 16));
	put32(b + 4, e->sid);
	put32(b + 8, uid);
	put32(b + 12, n);
	for (uint32_t i = 0; i < n && i < PM_MAX_REPORT; i++) {
		put32(b + 16 + 8 * i, (uint32_t)f->x[i]);
		put32(b + 20 + 8 * i, (uint32_t)(f->x[i] >> 32));
	}
	put_hex(b, len);
	return send_result;
}

static int drv_send_create(struct pm_env *e)
{
	uint8_t b[96] = {0};
	put32(b, 0 | (96u << 16));
	put32(b + 4, e->sid);
	put32(b + 8, e->init_cwnd);
	put32(b + 12, e->mss);
	put32(b + 16, 1);
	put32(b + 20, 2);
	put32(b + 24, 3);
	put32(b + 28, 4);
	memcpy(b + 32, "reno", 4);
	put_hex(b, 96);
	return send_result;
}

static const struct pm_program *drv_program(struct pm_env *e, int32_t idx)
{
	(void)e;
	if (idx < 1 || idx > (int32_t)g.max_programs || progs[idx - 1].index != (uint32_t)idx)
		return NULL;
	return &progs[idx - 1];
}

int main(void)
{
	static char line[140000];
	static uint8_t buf[70000];
	struct pm_view v = {progs, flows, &g, 0, NULL};
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while (fgets(line, sizeof(line), stdin)) {
		char cmd[16];
		if (sscanf(line, "%15s", cmd) != 1)
			continue;
		if (!strcmp(cmd, "init")) {
			unsigned fto, mf, mp;
			sscanf(line + 5, "%u %u %u", &fto, &mf, &mp);
			memset(&g, 0, sizeof(g));
			g.fto_us = fto;
			g.max_flows = mf < PM_MAX_FLOWS ? mf : PM_MAX_FLOWS;
			g.max_programs = mp < PM_MAX_PROGRAMS ? mp : PM_MAX_PROGRAMS;
			g.time_zero = now_us;
			printf("ready\n");
		} else if (!strcmp(cmd, "time")) {
			sscanf(line + 5, "%" SCNu64, &now_us);
		} else if (!strcmp(cmd, "sendres")) {
			sscanf(line + 8, "%d", &send_result);
		} else if (!strcmp(cmd, "start")) {
			unsigned ic, mss, k;
			sscanf(line + 6, "%u %u", &ic, &mss);
			for (k = 0; k < g.max_flows; k++)
				if (g.slot_index[k] == 0)
					break;
			if (k == g.max_flows) {
				printf("start 0\n");
				continue;
			}
			g.slot_index[k] = k + 1;
			pm_flow_start(&flows[k], g.time_zero);
			envs[k] = (struct pm_env){k + 1, ic, mss};
			printf("start %u\n", k + 1);
			if (pm_send_create(&envs[k], &g, k + 1, now_us) >= 0)
				flows[k].sent_create = 1;
		} else if (!strcmp(cmd, "recv")) {
			size_t n = script_hex(line + 5, buf, sizeof(buf));
			printf("recv %d\n", pm_receive(&v, buf, n));
		} else if (!strcmp(cmd, "ack")) {
			unsigned sid;
			uint64_t a[16];
			struct pm_run r;
			struct pm_flow *f;
			int ret;
			script_ack(line + 4, &sid, a);
			if (sid < 1 || sid > g.max_flows || g.slot_index[sid - 1] != sid)
				continue;
			f = &flows[sid - 1];
			/* struct order: bytes_acked packets_acked bytes_misordered packets_misordered
			 * ecn_bytes ecn_packets lost_pkts_sample bytes_in_flight packets_in_flight
			 * snd_cwnd bytes_pending rtt_sample_us rate_outgoing rate_incoming snd_rate
			 * was_timeout */
			f->x[PM_PRIM + PM_P_BYTES_ACKED] = (uint32_t)a[0];
			f->x[PM_PRIM + PM_P_PACKETS_ACKED] = (uint32_t)a[1];
			f->x[PM_PRIM + PM_P_BYTES_MISORDERED] = (uint32_t)a[2];
			f->x[PM_PRIM + PM_P_PACKETS_MISORDERED] = (uint32_t)a[3];
			f->x[PM_PRIM + PM_P_ECN_BYTES] = (uint32_t)a[4];
			f->x[PM_PRIM + PM_P_ECN_PACKETS] = (uint32_t)a[5];
			f->x[PM_PRIM + PM_P_LOST_PKTS_SAMPLE] = (uint32_t)a[6];
			f->x[PM_PRIM + PM_P_BYTES_IN_FLIGHT] = (uint32_t)a[7];
			f->x[PM_PRIM + PM_P_PACKETS_IN_FLIGHT] = (uint32_t)a[8];
			f->x[PM_PRIM + PM_P_BYTES_PENDING] = (uint32_t)a[10];
			f->x[PM_PRIM + PM_P_RTT_SAMPLE_US] = a[11] == 0 ? 0xffffffffu : a[11];
			f->x[PM_PRIM + PM_P_RATE_OUTGOING] = a[12];
			f->x[PM_PRIM + PM_P_RATE_INCOMING] = a[13];
			f->x[PM_PRIM + PM_P_WAS_TIMEOUT] = a[15] != 0;
			f->x[PM_PRIM + PM_P_NOW] = now_us - g.time_zero;
			ret = pm_invoke(&envs[sid - 1], &g, sid, f, &r, now_us, (uint32_t)a[9], a[14]);
			printf("invoke %u %d\n", sid, ret);
		} else if (!strcmp(cmd, "regs")) {
			unsigned sid;
			sscanf(line + 5, "%u", &sid);
			if (sid < 1 || sid > g.max_flows || g.slot_index[sid - 1] != sid)
				continue;
			printf("regs %u", sid);
			for (int i = 0; i < PM_FILE; i++)
				printf(" %" PRIu64, flows[sid - 1].x[i]);
			printf("\n");
		} else if (!strcmp(cmd, "free")) {
			unsigned sid;
			uint8_t b[16] = {0};
			sscanf(line + 5, "%u", &sid);
			if (sid < 1 || sid > g.max_flows || g.slot_index[sid - 1] != sid)
				continue;
			put32(b, 1 | (16u << 16));
			put32(b + 4, sid);
			put_hex(b, 16);
			g.slot_index[sid - 1] = 0;
		}
	}
	return 0;
}
