/* verdict.c - the verdict for one queued packet (verdict.h). */
#include "core/verdict.h"

#include "core/action.h"

#define ASSUMED_MSS 1448

enum mark_verdict verdict_mark_of_action(uint8_t action)
{
	switch (action) {
	case ACT_DROP:
		return MARK_DROP;
	case ACT_REJECT:
		return MARK_REJECT;
	case ACT_THROTTLE:
		return MARK_THROTTLE;
	default:
		return MARK_ACCEPT;
	}
}

const char *verdict_mark_name(enum mark_verdict v)
{
	switch (v) {
	case MARK_ACCEPT:
		return action_name(ACT_ALLOW);
	case MARK_DROP:
		return action_name(ACT_DROP);
	case MARK_REJECT:
		return action_name(ACT_REJECT);
	case MARK_THROTTLE:
		return action_name(ACT_THROTTLE);
	case MARK_UNINSPECTED:
		return "uninspected";
	default:
		return "-";
	}
}

int verdict_from_mark(const struct mark_layout *ml, uint32_t mark,
		      struct verdict_step *out)
{
	enum mark_verdict mv = mark_verdict_of(ml, mark);

	if (mv != MARK_ACCEPT && mv != MARK_DROP && mv != MARK_REJECT)
		return 0;
	out->kind = mv == MARK_ACCEPT ? VERDICT_ACCEPT : VERDICT_DROP;
	out->mark = mark_seen(ml, mark);
	return 1;
}

void verdict_after_engine(const struct mark_layout *ml, uint32_t mark,
			  int final, uint8_t action, uint16_t app,
			  uint8_t media, uint8_t dscp, struct verdict_step *out)
{
	if (mark_verdict_of(ml, mark) == MARK_THROTTLE &&
	    action == ACT_THROTTLE) {
		/* decided and marked: the flow stays in the queue path */
		out->kind = VERDICT_SHAPE;
		out->mark = mark_seen(ml, mark);
	} else if (!final) {
		out->kind = VERDICT_ACCEPT;
		out->mark = mark_seen(ml, mark);
	} else {
		out->kind = VERDICT_REPEAT;
		out->mark = mark_encode_flow(ml, mark,
					     verdict_mark_of_action(action),
					     app, media, dscp);
	}
}

uint32_t verdict_wire_len(uint32_t len, int gso, uint32_t hdr_len,
			  uint32_t tcp_payload)
{
	uint32_t segs;

	if (!gso || tcp_payload <= ASSUMED_MSS)
		return len;
	segs = (tcp_payload + ASSUMED_MSS - 1) / ASSUMED_MSS;
	return len + (segs - 1) * hdr_len;
}
