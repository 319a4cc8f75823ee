/* SPDX-License-Identifier: MIT */
/*
 * Userspace half of the datapath: the agent's messages (INSTALL_EXPR, UPDATE_FIELDS,
 * CHANGE_PROG) decoded with libccp's semantics (datapath-machine.md §7, wire-protocol.md §11)
 * into the program table and the flows' staging areas. The loader runs it on the BPF maps
 * (mmapped); the differential-test driver on plain arrays.
 */
#ifndef PORTUS_PROGRAM_H
#define PORTUS_PROGRAM_H
#include <stddef.h>
#include <stdint.h>

struct pm_env;
#include "machine.h"



/* Where pm_receive applies messages. */
struct pm_view {
	struct pm_program *progs; /* max_programs slots */
	struct pm_flow *flows;    /* max_flows slots */
	struct pm_global *g;
	int locking;              /* 1: take flows' staging locks (BPF shares the memory) */
	void (*log)(int level, const char *msg);
};

#define PM_LOG_DEBUG 1
#define PM_LOG_INFO 2
#define PM_LOG_WARN 3
#define PM_LOG_ERROR 4

/* libccp codes used by message handling */
#define PM_BUFSIZE_TOO_SMALL (-22)
#define PM_MSG_TOO_LONG (-23)
#define PM_READ_INVALID_HEADER_TYPE (-32)
#define PM_READ_INVALID_OP (-33)
#define PM_READ_REG_NOT_ALLOWED (-34)
#define PM_READ_INVALID_RETURN_REG (-35)
#define PM_READ_INVALID_LEFT_REG (-36)
#define PM_READ_INVALID_RIGHT_REG (-37)
#define PM_INSTALL_TOO_MANY_EXPR (-42)
#define PM_INSTALL_TOO_MANY_INSTR (-43)
#define PM_UPDATE_TOO_MANY (-52)
#define PM_UPDATE_INVALID_REG_TYPE (-53)
#define PM_CHANGE_TOO_MANY (-62)
#define PM_UNKNOWN_CONNECTION (-71)
#define PM_PROG_TABLE_FULL (-81)
#define PM_CHANGE_PROG_UNKNOWN_UID 8

/* ccp_read_msg: handle the first message in buf. Returns libccp's code. */
int pm_receive(struct pm_view *v, const uint8_t *buf, size_t len);

/* Reset a flow's state for a new connection (private state zero-allocated, nothing staged). */
void pm_flow_start(struct pm_flow *f, uint64_t time_zero);

#endif
