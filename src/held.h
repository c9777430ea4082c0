/* Hold records (held.c): the shaper holds a packet by a tag, the record
 * index in its high half and the queue's packet id in its low half. The
 * records and the shaper are shared by the workers: every function here
 * runs under the daemon's sh_mu. */
#ifndef SKYFENCE_HELD_H
#define SKYFENCE_HELD_H

#include "daemon_int.h"

struct worker;

/* Who calls the shaper: a held packet of this worker gets its verdict at
 * once, another worker's is posted to it (worker_post). @self is NULL in
 * the control and shaper threads. */
struct held_ctx {
	struct daemon *d;
	struct worker *self;
};

/* A record for packet @id of @w's queue slot @w->cur, whose verdict gives
 * back @mark. Returns 0 and the tag, or -1 with no record free. */
int held_take(struct daemon *d, const struct worker *w, uint32_t id,
	      uint32_t mark, uint64_t *tag);
/* Gives a record back unused (the shaper did not hold the packet, or its
 * posted verdict was sent). */
void held_put(struct daemon *d, uint64_t tag);
void held_put_record(struct daemon *d, int32_t record);
/* The verdict of a held packet (shaper release callback): accept if
 * @pass, else drop. @ctx is a struct held_ctx. */
void held_release(void *ctx, uint64_t tag, int pass);
/* held_release(ctx, tag, 0): the shaper's drop callback. */
void held_drop(void *ctx, uint64_t tag);

#endif
