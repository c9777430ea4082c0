/* held.c - hold records: for each packet the shaper holds, the worker and
 * queue it came by and the mark its verdict gives back (held.h). */
#include "daemon/held.h"

/* A held packet's tag for the shaper: its hold record (worker, queue and
 * the mark to give back) and its id in that queue. The shaper holds at
 * most max_held packets; one record more covers a submit that holds a
 * packet while it drops another. A record posted to another worker stays
 * taken until that worker has sent the verdict, so a worker never has
 * more posted verdicts than there are records. */
int held_take(struct daemon *d, unsigned worker, unsigned slot, uint32_t id,
	      uint32_t mark, uint64_t *tag)
{
	int32_t i = d->held_free;

	if (i < 0)
		return -1;
	d->held_free = d->held[i].next_free;
	d->held[i].mark = mark;
	d->held[i].worker = (uint16_t)worker;
	d->held[i].queue = (uint16_t)slot;
	*tag = (uint64_t)(uint32_t)i << 32 | id;
	return 0;
}

void held_put_record(struct daemon *d, int32_t i)
{
	d->held[i].next_free = d->held_free;
	d->held_free = i;
}

void held_put(struct daemon *d, uint64_t tag)
{
	held_put_record(d, (int32_t)(tag >> 32));
}

const struct held *held_of(const struct daemon *d, uint64_t tag)
{
	return &d->held[(int32_t)(tag >> 32)];
}
