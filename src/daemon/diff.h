/* policy diff (diff.c): which of the flows running now a candidate policy
 * (change.h's change_candidate: a policy file, a runtime edit, the kill
 * switch) would give another verdict, without applying anything.
 *
 * It reads a snapshot of the conntrack table on its own netlink socket
 * (ct.h, its callback never rewrites) and decides each entry with a
 * decided mark again with runtime_redecide(), the conntrack walk's own
 * function, against a second engine of the candidate's on the control
 * thread's classifier: the workers, their engines and their queues are
 * never touched, and no lock of theirs is taken. The verdicts stay the
 * workers': they never wait for the control thread (workers_call goes
 * the other way), so a diff delays control requests and the conntrack
 * walk of a change for its duration (50 to 150 ms per 10,000 entries on
 * the lab's 2 CPUs), never a packet; the dump runs in a thread at a lower
 * CPU priority, so that on busy CPUs a woken worker comes first
 * (tests/netns/test_diff.sh measures new connections meanwhile).
 *
 * Listed: one line per flow whose verdict changes, at most @limit (and
 * @max_bytes of lines: the control socket's reply is bounded), then the
 * totals by department, always complete, and a count of the flows whose
 * verdict stays but whose mark the walk would rewrite all the same
 * (another DSCP, or the app a new address signature names). */
#ifndef SKYFENCE_DIFF_H
#define SKYFENCE_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/change.h"

#define DIFF_LIMIT_DEFAULT 1000u
#define DIFF_LIMIT_MAX 100000u

struct diff_opts {
	uint32_t limit;	  /* flows listed at most */
	size_t max_bytes; /* bytes of listed lines at most */
	int json;	  /* one JSON document (the lines concatenated) */
	/* where the lines go: each a text line, or a piece of the JSON */
	void (*emit)(void *ctx, const char *line);
	void *ctx;
};

/* Lists the flows @cc changes, then the totals. Returns 0, or -1 with why
 * in @err (conntrack unreadable, memory short) and nothing emitted. */
int diff_run(struct daemon *d, const struct change_candidate *cc,
	     const struct diff_opts *o, char *err, size_t errlen);

#endif
