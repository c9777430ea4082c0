/* Hold records (held.c): the shaper holds a packet by a tag, the record
 * index in its high half and the queue's packet id in its low half. The
 * records and the shaper are shared by the workers: every function here
 * runs under the daemon's sh_mu. The verdicts of held packets are the
 * workers' (worker.h: worker_held_release). */
#ifndef SKYFENCE_HELD_H
#define SKYFENCE_HELD_H

#include "daemon/daemon_int.h"

/* A record for packet @id of worker @worker's queue slot @slot, whose
 * verdict gives back @mark. Returns 0 and the tag, or -1 with no record
 * free. */
int held_take(struct daemon *d, unsigned worker, unsigned slot, uint32_t id,
	      uint32_t mark, uint64_t *tag);
/* Gives a record back unused (the shaper did not hold the packet, or its
 * posted verdict was sent). */
void held_put(struct daemon *d, uint64_t tag);
void held_put_record(struct daemon *d, int32_t record);
/* The record of @tag. */
const struct held *held_of(const struct daemon *d, uint64_t tag);

#endif
