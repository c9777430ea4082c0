/* Hold records (held.c): the shaper holds a packet by a tag, the record
 * index in its high half and the queue's packet id in its low half. */
#ifndef SKYFENCE_HELD_H
#define SKYFENCE_HELD_H

#include "daemon_int.h"

/* A record for packet @id of the queue being handled (d->cur), whose
 * verdict gives back @mark. Returns 0 and the tag, or -1 with no record
 * free. */
int held_take(struct daemon *d, uint32_t id, uint32_t mark, uint64_t *tag);
/* Gives a record back unused (the shaper did not hold the packet). */
void held_put(struct daemon *d, uint64_t tag);
/* The verdict of a held packet (shaper release callback): accept if
 * @pass, else drop; its record goes back. @ctx is the daemon. */
void held_release(void *ctx, uint64_t tag, int pass);
/* held_release(ctx, tag, 0): the shaper's drop callback. */
void held_drop(void *ctx, uint64_t tag);

#endif
