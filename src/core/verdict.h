/* What the kernel is told for one queued packet, as a pure function of
 * the packet's mark and what the engine made of it: accept, drop, a
 * repeat carrying the flow's decision in the mark (the rules save it into
 * the conntrack entry and act on it), or a hold by the shaper. Every
 * verdict hands the mark back with the queued bit clear (mark.h), so the
 * bypass counter never counts a packet skyfenced saw.
 *
 * Pure: no I/O. daemon.c calls it for every packet; tests/unit/test_verdict
 * covers every branch.
 */
#ifndef SKYFENCE_VERDICT_H
#define SKYFENCE_VERDICT_H

#include <stdint.h>

#include "core/mark.h"

enum verdict_kind {
	VERDICT_ACCEPT, /* NF_ACCEPT with .mark */
	VERDICT_DROP,	/* NF_DROP with .mark */
	VERDICT_REPEAT, /* NF_REPEAT with .mark: the decision for the rules */
	VERDICT_SHAPE,	/* to the shaper; .mark goes back with its verdict */
};

struct verdict_step {
	enum verdict_kind kind;
	uint32_t mark;
};

/* The mark verdict a policy action (enum policy_action) becomes. */
enum mark_verdict verdict_mark_of_action(uint8_t action);
/* The action a mark verdict stands for, as records and listings name it
 * ("allow", "drop", ...); "uninspected" for MARK_UNINSPECTED (the kernel
 * passed the flow without skyfenced); "-" for none (a flow still
 * inspected). */
const char *verdict_mark_name(enum mark_verdict v);

/* Before the engine: a packet whose mark already says accept, drop or
 * reject reaches skyfenced only when the kernel rules do not act on it
 * (missing or changed): it gets that verdict, never a repeat, so no packet
 * can loop. Returns 1 with *out set, or 0: the engine must see it. */
int verdict_from_mark(const struct mark_layout *ml, uint32_t mark,
		      struct verdict_step *out);

/* After the engine, for a packet of mark @mark whose flow is @final
 * (decided) with @action, app @app, media types @media (MEDIA_* bits) and
 * DSCP @dscp (1 + value, 0 none): a flow still inspected is accepted; a
 * throttled flow whose packet came by the throttle queue (its mark says
 * throttle) and is still throttled goes to the shaper; any other decision
 * goes back as a repeat with the decision, the app, the media types and
 * the DSCP in the mark (the rules save it in the conntrack entry before
 * POSTROUTING, so the repeated packet goes out with its DSCP already). */
void verdict_after_engine(const struct mark_layout *ml, uint32_t mark,
			  int final, uint8_t action, uint16_t app,
			  uint8_t media, uint8_t dscp,
			  struct verdict_step *out);

/* Bytes a packet takes on the wire. A GSO super-packet from NFQUEUE
 * (@gso) has one IP and TCP header (@hdr_len bytes) for what leaves as
 * several segments, each with its own; the shaper's rate is a wire rate.
 * The segment size is not in the message: a 1448-byte MSS is assumed.
 * @tcp_payload is the TCP payload length, 0 for other protocols. */
uint32_t verdict_wire_len(uint32_t len, int gso, uint32_t hdr_len,
			  uint32_t tcp_payload);

#endif
