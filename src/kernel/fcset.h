/* The departments' hosts as the kernel's rules see them, two pairs of
 * ipsets (hash:net, IPv4 and IPv6) that skyfenced rewrites whenever its
 * policy or kill switch changes, atomically: a new set is filled and
 * swapped in. Prefixes of the other departments go in as "nomatch", so
 * the set's answer for an address is its longest prefix's, as
 * policy_dept_of's (longest-prefix match). The sets keep their members
 * while no daemon runs. The only libipset user.
 *
 * skyfence-fc4/6, the fail-closed departments: the SKYFENCE chain sends
 * a packet with either endpoint in them to the fail-closed queues (no
 * fail-open, no --queue-bypass).
 *
 * skyfence-allow4/6, the allow-only departments (policy_dept_allow_only):
 * a new flow whose initiator is in them is never queued; the chain marks
 * it MARK_UNINSPECTED (mark.h) and the kernel forwards it. Empty when the
 * kill switch is on or no department is allow-only. A set that passes
 * flows uninspected is the most dangerous thing skyfenced writes: it is
 * emptied whenever it cannot be written as the policy says.
 *
 * skyfence-insp4/6, the inside hosts whose flows skyfenced inspects: the
 * policy's internal networks, allow-only departments' prefixes as
 * "nomatch" (written when some department is allow-only). An allow-only
 * host's new flow passes uninspected only to an address outside them (the
 * outside, or another allow-only host): to an inside host of another
 * department it is queued, or an allow-only host could open, towards a
 * host whose flow to it skyfenced dropped, the flow that host's replies
 * then ride in. Swapped in before the allow-only sets.
 */
#ifndef SKYFENCE_FCSET_H
#define SKYFENCE_FCSET_H

#include <stddef.h>

#define FCSET_V4 "skyfence-fc4"
#define FCSET_V6 "skyfence-fc6"
#define ALLOWSET_V4 "skyfence-allow4"
#define ALLOWSET_V6 "skyfence-allow6"
#define INSPSET_V4 "skyfence-insp4"
#define INSPSET_V6 "skyfence-insp6"

struct policy;

/* Makes the sets hold the fail-closed and the allow-only departments of
 * @p (created if missing). The sets being filled are named after @tag
 * (the daemon's queue number), so daemons of a --queue-balance range,
 * which write the same sets, never fill one another's. Every new set is
 * filled before any is swapped in. Returns the number of fail-closed
 * prefixes written, or, with a message in @err: -1, the fail-closed sets
 * the kernel had stay in place (or the new ones, if a swap failed) and
 * the allow-only sets are empty; -2, the same but the allow-only sets
 * could not be emptied either (they hold what they held). */
int fcset_apply(const struct policy *p, unsigned tag, char *err, size_t errlen);

#endif
