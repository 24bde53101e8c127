/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Explain one flow (docs/xdp.md, "Explain"): the entry point lbdsr_explain runs lbdsr_decide, the
 * same code as lbdsr_xdp, compiled with the constant `explain` set, so that it records nothing (no
 * counter, no session, no fragment entry, no redirect) and writes what it found into the one entry
 * of lbdsr_explain_trace. User space writes the port the frame arrives on into that entry, runs the
 * program on the frame with BPF_PROG_TEST_RUN, and reads the entry back (src/dataplane/xdp/explain.ts).
 * The map is not pinned: every load of the object has its own.
 */
#ifndef LBDSR_EXPLAIN_H
#define LBDSR_EXPLAIN_H

#include "maps.h"

#define LBDSR_EXPLAIN_NONE 0xffffffffu
#define LBDSR_PORT_BACKEND_ 1

/* One decision, as src/pipeline/explain.ts ExplainTrace holds it. LBDSR_EXPLAIN_NONE: not reached. */
struct lbdsr_explain {
	__u32 port;         /* in: 0 FRONTEND, 1 BACKEND */
	__u32 reason;       /* the drop reason, 0 for none; with XDP_PASS the rule host_pass passed by */
	__u32 action;       /* the XDP action */
	__u32 service;      /* the matched service's index */
	__u32 session;      /* LBDSR_CNT_SESSION_*: HIT, EXPIRED, STALE (entry found), MISS, UNRECORDED */
	__u32 entry;        /* 1: a session entry was found */
	__u32 session_id;   /* the entry's backend id and slot */
	__u32 session_slot;
	__u32 hash;         /* Maglev: the hash and the entry of the service's table */
	__u32 index;
	__u32 slot;         /* the slot chosen (LBDSR_SLOT_NONE: the Maglev entry is empty) */
	__u32 backend_id;   /* the id that slot holds */
	__u64 age_ns;       /* since the session's last packet */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbdsr_explain);
} lbdsr_explain_trace SEC(".maps");

/* Every output field "not reached"; the port stays. */
static __always_inline void explain_reset(struct lbdsr_explain *tr)
{
	tr->reason = 0;
	tr->action = LBDSR_EXPLAIN_NONE;
	tr->service = LBDSR_EXPLAIN_NONE;
	tr->session = LBDSR_EXPLAIN_NONE;
	tr->entry = LBDSR_EXPLAIN_NONE;
	tr->session_id = LBDSR_EXPLAIN_NONE;
	tr->session_slot = LBDSR_EXPLAIN_NONE;
	tr->hash = LBDSR_EXPLAIN_NONE;
	tr->index = LBDSR_EXPLAIN_NONE;
	tr->slot = LBDSR_EXPLAIN_NONE;
	tr->backend_id = LBDSR_EXPLAIN_NONE;
	tr->age_ns = 0;
}

#endif
