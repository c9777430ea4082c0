/* The skyfence bits of the packet/conntrack mark. They hold a flow's
 * verdict, its application id, the media types it was decided for and the
 * DSCP the kernel writes into its packets, under a configurable contiguous
 * mask so that other tools keep their bits:
 *
 *   mask 0xfffffe00 (default, 23 bits):
 *       bits  9-14 DSCP value, bit 15 DSCP on (the kernel rewrites the
 *                  DS field of both directions' packets: skyfence-rules)
 *       bits 16-18 verdict, bit 19 queued, bits 20-28 app id,
 *       bits 29-31 media types (policy.h MEDIA_*)
 *   a mask of 16 to 22 bits (0xffff0000: the layout before DSCP): the
 *       same fields from its lowest bit up, without the DSCP ones (a
 *       policy that marks DSCP is refused)
 *
 * So the verdict, queued, app and media bits sit where a 16-bit mask at
 * the same top puts them: 0xffff0000 and 0xfffffe00 read each other's
 * verdicts and apps. nDPI 4.2's ids are below 512 (NDPI_NUM_BITS), so 9
 * bits hold every app.
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

#define MARK_DEFAULT_MASK 0xfffffe00u
#define MARK_VERDICT_BITS 3
#define MARK_APP_BITS 9
#define MARK_MEDIA_BITS 3
#define MARK_MIN_BITS 16 /* verdict, queued, app, media */
#define MARK_DSCP_BITS 7 /* 6 bits of DSCP and its "on" bit */
#define MARK_DSCP_MIN_BITS (MARK_MIN_BITS + MARK_DSCP_BITS)

enum mark_verdict {
	MARK_NONE = 0,	   /* undecided: the flow is still inspected */
	MARK_ACCEPT = 1,   /* the kernel forwards the rest of the flow */
	MARK_DROP = 2,	   /* the kernel drops the rest of the flow */
	MARK_REJECT = 3,   /* the kernel rejects (TCP RST / ICMP) */
	MARK_THROTTLE = 4, /* the flow stays queued, shaped by skyfenced */
	MARK_VERDICT_MAX,  /* skyfenced gives the verdicts below this */
	/* the kernel forwards the rest of the flow; skyfenced never saw it
	 * (a host of an allow-only department opened it: skyfence-rules.sh's
	 * SKYFENCE-ALLOW chain sets it, skyfenced never gives it). Not a
	 * decision of skyfenced: what reads the verdicts it gave stops at
	 * MARK_VERDICT_MAX */
	MARK_UNINSPECTED = MARK_VERDICT_MAX,
	MARK_VALUES, /* the values the verdict field holds that mean one */
};

struct mark_layout {
	uint32_t mask;	       /* all skyfence bits */
	uint32_t verdict_mask; /* the verdict field */
	unsigned shift;	       /* lowest bit of the verdict field */
	uint32_t queued;       /* the queued bit */
	unsigned app_bits;     /* MARK_APP_BITS */
	uint32_t app_mask, media_mask;
	unsigned media_shift;
	/* DSCP: 0 (all three) when the mask has fewer than
	 * MARK_DSCP_MIN_BITS bits */
	uint32_t dscp_on;   /* the "on" bit */
	uint32_t dscp_mask; /* the 6-bit value field */
	unsigned dscp_shift;
};

/* Returns 0, or -EINVAL if @mask is not contiguous or has fewer than
 * MARK_MIN_BITS bits. */
int mark_layout_init(struct mark_layout *l, uint32_t mask);

/* @old with its skyfence bits replaced by @v and @app (an app id that does
 * not fit is stored as 0); the queued bit is clear; no media, no DSCP. */
uint32_t mark_encode(const struct mark_layout *l, uint32_t old,
		     enum mark_verdict v, uint16_t app);
/* The same with the media types @media (MEDIA_* bits) and @dscp (1 + the
 * DSCP value, 0: none; ignored, as none, by a layout without DSCP). */
uint32_t mark_encode_flow(const struct mark_layout *l, uint32_t old,
			  enum mark_verdict v, uint16_t app, uint8_t media,
			  uint8_t dscp);
/* MEDIA_* bits of @mark. */
uint8_t mark_media_of(const struct mark_layout *l, uint32_t mark);
/* 1 + the DSCP value @mark carries, 0 if none. */
uint8_t mark_dscp_of(const struct mark_layout *l, uint32_t mark);
/* Whether the layout holds a DSCP (a mask of MARK_DSCP_MIN_BITS bits or
 * more). */
int mark_has_dscp(const struct mark_layout *l);
/* The verdict of @mark (MARK_UNINSPECTED included); MARK_NONE for a
 * value the field holds that means none. */
enum mark_verdict mark_verdict_of(const struct mark_layout *l, uint32_t mark);
uint16_t mark_app_of(const struct mark_layout *l, uint32_t mark);
/* The mark value of verdict @v alone (app 0), for rules matching
 * value/verdict_mask. */
uint32_t mark_verdict_value(const struct mark_layout *l, enum mark_verdict v);
/* @mark as skyfenced hands it back with any verdict: queued bit clear. */
uint32_t mark_seen(const struct mark_layout *l, uint32_t mark);

#endif
