/* SPDX-License-Identifier: MIT */
/*
 * The real libccp (shared/third_party/libccp, built by test/bpf/differential.test.ts in a temp
 * dir) driven by the script format of native/bpf/driver.c: the reference side of the
 * differential test. Time is in µs (now() = since_usecs base).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccp.h"
#include "ccp_priv.h"
#include "script.h"

static uint64_t now_us;
static int send_result;
static struct ccp_datapath dp;
static struct ccp_connection conns[1024];

static u64 d_now(void) { return now_us; }
static u64 d_since(u64 then) { return now_us - then; }
static u64 d_after(u64 us) { return now_us + us; }

static void d_set_cwnd(struct ccp_connection *c, u32 v) { printf("cwnd %u %u\n", c->index, v); }
static void d_set_rate(struct ccp_connection *c, u32 v) { printf("rate %u %u\n", c->index, v); }

static int d_send(struct ccp_datapath *d, char *msg, int n)
{
	(void)d;
	/* READY is printed as "ready" (the BPF datapath's loader sends its own) */
	if (n >= 2 && msg[0] == 5 && msg[1] == 0) {
		printf("ready\n");
		return send_result;
	}
	printf("send ");
	for (int i = 0; i < n; i++)
		printf("%02x", (unsigned char)msg[i]);
	printf("\n");
	return send_result;
}

static void d_log(struct ccp_datapath *d, enum ccp_log_level l, const char *m, int n)
{
	(void)d; (void)l; (void)m; (void)n;
}

int main(void)
{
	static char line[140000];
	static char buf[70000];
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while (fgets(line, sizeof(line), stdin)) {
		char cmd[16];
		if (sscanf(line, "%15s", cmd) != 1)
			continue;
		if (!strcmp(cmd, "init")) {
			unsigned fto, mf, mp;
			sscanf(line + 5, "%u %u %u", &fto, &mf, &mp);
			memset(&dp, 0, sizeof(dp));
			memset(conns, 0, sizeof(conns));
			dp.set_cwnd = d_set_cwnd;
			dp.set_rate_abs = d_set_rate;
			dp.send_msg = d_send;
			dp.log = d_log;
			dp.now = d_now;
			dp.since_usecs = d_since;
			dp.after_usecs = d_after;
			dp.max_connections = mf;
			dp.ccp_active_connections = conns;
			dp.max_programs = mp;
			dp.fto_us = fto;
			if (ccp_init(&dp, 0) != 0)
				return 2;
		} else if (!strcmp(cmd, "time")) {
			sscanf(line + 5, "%" SCNu64, &now_us);
		} else if (!strcmp(cmd, "sendres")) {
			sscanf(line + 8, "%d", &send_result);
		} else if (!strcmp(cmd, "start")) {
			unsigned ic, mss;
			struct ccp_datapath_info info = {0};
			struct ccp_connection *c;
			sscanf(line + 6, "%u %u", &ic, &mss);
			info.init_cwnd = ic;
			info.mss = mss;
			info.src_ip = 1;
			info.src_port = 2;
			info.dst_ip = 3;
			info.dst_port = 4;
			strcpy(info.congAlg, "reno");
			/* "start <sid>" must precede the CREATE: find the slot libccp will claim */
			{
				unsigned k;
				for (k = 0; k < dp.max_connections; k++)
					if (conns[k].index == 0)
						break;
				printf("start %u\n", k < dp.max_connections ? k + 1 : 0);
			}
			c = ccp_connection_start(&dp, NULL, &info);
			(void)c;
		} else if (!strcmp(cmd, "recv")) {
			int n = (int)script_hex(line + 5, (unsigned char *)buf, sizeof(buf));
			printf("recv %d\n", ccp_read_msg(&dp, buf, n));
		} else if (!strcmp(cmd, "ack")) {
			unsigned sid;
			uint64_t a[16];
			struct ccp_connection *c;
			script_ack(line + 4, &sid, a);
			c = ccp_connection_lookup(&dp, (u16)sid);
			if (!c)
				continue;
			c->prims.bytes_acked = (u32)a[0];
			c->prims.packets_acked = (u32)a[1];
			c->prims.bytes_misordered = (u32)a[2];
			c->prims.packets_misordered = (u32)a[3];
			c->prims.ecn_bytes = (u32)a[4];
			c->prims.ecn_packets = (u32)a[5];
			c->prims.lost_pkts_sample = (u32)a[6];
			c->prims.bytes_in_flight = (u32)a[7];
			c->prims.packets_in_flight = (u32)a[8];
			c->prims.snd_cwnd = (u32)a[9];
			c->prims.bytes_pending = (u32)a[10];
			c->prims.rtt_sample_us = a[11];
			c->prims.rate_outgoing = a[12];
			c->prims.rate_incoming = a[13];
			c->prims.snd_rate = a[14];
			c->prims.was_timeout = a[15] != 0;
			printf("invoke %u %d\n", sid, ccp_invoke(c));
		} else if (!strcmp(cmd, "regs")) {
			unsigned sid;
			struct ccp_connection *c;
			struct ccp_priv_state *s;
			sscanf(line + 5, "%u", &sid);
			c = ccp_connection_lookup(&dp, (u16)sid);
			if (!c)
				continue;
			s = get_ccp_priv_state(c);
			printf("regs %u", sid);
			for (int i = 0; i < 110; i++) printf(" %" PRIu64, (uint64_t)s->registers.report_registers[i]);
			for (int i = 0; i < 110; i++) printf(" %" PRIu64, (uint64_t)s->registers.control_registers[i]);
			for (int i = 0; i < 6; i++) printf(" %" PRIu64, (uint64_t)s->registers.impl_registers[i]);
			for (int i = 0; i < 8; i++) printf(" %" PRIu64, (uint64_t)s->registers.tmp_registers[i]);
			for (int i = 0; i < 8; i++) printf(" %" PRIu64, (uint64_t)s->registers.local_registers[i]);
			printf("\n");
		} else if (!strcmp(cmd, "free")) {
			unsigned sid;
			sscanf(line + 5, "%u", &sid);
			if (!ccp_connection_lookup(&dp, (u16)sid))
				continue;
			ccp_connection_free(&dp, (u16)sid);
		}
	}
	return 0;
}
