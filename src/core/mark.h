/* The skyfence bits of the packet/conntrack mark. They hold a flow's
 * verdict and its application id, under a configurable contiguous mask so
 * that other tools keep their bits:
 *
 *   mask 0xffff0000 (default):  bits 16-18 verdict, bit 19 queued,
 *                               bits 20-31 app id
 *
 * The queued bit is set by the SKYFENCE chain on every packet it sends to
 * NFQUEUE, and cleared by every verdict skyfenced gives: a packet that
 * leaves the gateway with it still set was passed by the kernel without
 * skyfenced (fail-open on a full queue, --queue-bypass while no daemon is
 * bound), and a rule after the forward hook counts it (nfacct) and clears
 * it, so the conntrack mark never keeps it.
 *
 * Pure. skyfenced --mark-values prints the values for the rule script, so
 * the layout exists in this one place.
 */
#ifndef SKYFENCE_MARK_H
#define SKYFENCE_MARK_H

#include <stdint.h>

#define MARK_DEFAULT_MASK 0xffff0000u
#define MARK_VERDICT_BITS 3
#define MARK_MIN_BITS 16

enum mark_verdict {
	MARK_NONE = 0,	   /* undecided: the flow is still inspected */
	MARK_ACCEPT = 1,   /* the kernel forwards the rest of the flow */
	MARK_DROP = 2,	   /* the kernel drops the rest of the flow */
	MARK_REJECT = 3,   /* the kernel rejects (TCP RST / ICMP) */
	MARK_THROTTLE = 4, /* the flow stays queued, shaped by skyfenced */
	MARK_VERDICT_MAX,
};

struct mark_layout {
	uint32_t mask;	       /* all skyfence bits */
	uint32_t verdict_mask; /* the verdict field */
	unsigned shift;	       /* lowest bit of the mask */
	uint32_t queued;       /* the queued bit */
	unsigned app_bits;
};

/* Returns 0, or -EINVAL if @mask is not contiguous or has fewer than
 * MARK_MIN_BITS bits. */
int mark_layout_init(struct mark_layout *l, uint32_t mask);

/* @old with its skyfence bits replaced by @v and @app (an app id that does
 * not fit is stored as 0); the queued bit is clear. */
uint32_t mark_encode(const struct mark_layout *l, uint32_t old,
		     enum mark_verdict v, uint16_t app);
enum mark_verdict mark_verdict_of(const struct mark_layout *l, uint32_t mark);
uint16_t mark_app_of(const struct mark_layout *l, uint32_t mark);
/* The mark value of verdict @v alone (app 0), for rules matching
 * value/verdict_mask. */
uint32_t mark_verdict_value(const struct mark_layout *l, enum mark_verdict v);
/* @mark as skyfenced hands it back with any verdict: queued bit clear. */
uint32_t mark_seen(const struct mark_layout *l, uint32_t mark);

#endif
