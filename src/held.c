/* held.c - hold records: for each packet the shaper holds, the queue it
 * came by and the mark its verdict gives back (held.h). */
#include "held.h"

/* A held packet's tag for the shaper: its hold record (queue and the mark
 * to give back) and its id in that queue. The shaper holds at most
 * max_held packets; one record more covers a submit that holds a packet
 * while it drops another. Returns 0 and the tag, or -1 with no record. */
int held_take(struct daemon *d, uint32_t id, uint32_t mark, uint64_t *tag)
{
	int32_t i = d->held_free;

	if (i < 0)
		return -1;
	d->held_free = d->held[i].next_free;
	d->held[i].mark = mark;
	d->held[i].queue = (uint8_t)d->cur;
	*tag = (uint64_t)(uint32_t)i << 32 | id;
	return 0;
}

void held_release(void *ctx, uint64_t tag, int pass)
{
	struct daemon *d = ctx;
	int32_t i = (int32_t)(tag >> 32);

	queue_verdict(d->q[d->held[i].queue], (uint32_t)tag,
		      pass ? QUEUE_ACCEPT : QUEUE_DROP, 1, d->held[i].mark);
	d->held[i].next_free = d->held_free;
	d->held_free = i;
}

void held_drop(void *ctx, uint64_t tag)
{
	held_release(ctx, tag, 0);
}

void held_put(struct daemon *d, uint64_t tag)
{
	int32_t i = (int32_t)(tag >> 32);

	d->held[i].next_free = d->held_free;
	d->held_free = i;
}
