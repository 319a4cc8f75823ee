/* SPDX-License-Identifier: MIT */
/*
 * The text script both differential-test drivers read (native/bpf/driver.c on machine.h,
 * test/bpf/libccp-driver.c on the real libccp): see driver.c for the commands.
 */
#ifndef PORTUS_SCRIPT_H
#define PORTUS_SCRIPT_H
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

/* "ack <sid> <16 numbers>" after the command word: the ccp_primitives fields in struct order
 * (bytes_acked packets_acked bytes_misordered packets_misordered ecn_bytes ecn_packets
 * lost_pkts_sample bytes_in_flight packets_in_flight snd_cwnd bytes_pending rtt_sample_us
 * rate_outgoing rate_incoming snd_rate was_timeout). Returns the number of values read. */
static inline int script_ack(const char *args, unsigned *sid, uint64_t a[16])
{
	return sscanf(args,
		      "%u %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		      " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		      " %" SCNu64 " %" SCNu64,
		      sid, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10], &a[11],
		      &a[12], &a[13], &a[14], &a[15]);
}

/* The hex bytes after "recv ": returns how many were decoded into buf (at most cap). */
static inline size_t script_hex(const char *p, unsigned char *buf, size_t cap)
{
	size_t n = 0;
#define SCRIPT_NIBBLE(c) ((c) <= '9' ? (c) - '0' : ((c) | 32) - 'a' + 10)
	for (; p[0] && p[1] && p[0] != '\n' && n < cap; p += 2)
		buf[n++] = (unsigned char)(SCRIPT_NIBBLE(p[0]) << 4 | SCRIPT_NIBBLE(p[1]));
#undef SCRIPT_NIBBLE
	return n;
}

#endif
