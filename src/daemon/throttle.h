/* The throttle (throttle.c): the shaper every worker's throttled flows
 * share, so that a department's rate holds whatever worker its flows land
 * on. It owns the shaper, its lock, its thread and timer, the bucket map
 * of the running policy's throttle rules, and the hold records of the
 * packets it holds. A held packet's verdict is not the throttle's to send:
 * it calls the release function given at creation (the workers'), which
 * sends it in the calling thread or posts it to the worker that queued
 * the packet. */
#ifndef SKYFENCE_THROTTLE_H
#define SKYFENCE_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/buckets.h"

#define THROTTLE_NOBODY UINT32_MAX /* no worker's thread */

struct policy;
struct throttle;

/* Where a held packet came from, and the mark its verdict gives back. */
struct throttle_held {
	uint32_t mark;
	uint16_t worker;
	uint16_t queue; /* the worker's queue slot */
	int32_t next_free;
};

/* Releases the packet @id held under @record (pass or drop). Called under
 * the throttle's lock by the thread of worker @self (THROTTLE_NOBODY: the
 * throttle's own, or the control thread's): it must not block. Returns 1
 * if the verdict is sent (the record is free again), 0 if it was posted
 * to another worker, which gives the record back with throttle_done()
 * once it has sent it. */
typedef int throttle_release_fn(void *ctx, uint32_t self, int32_t record,
				const struct throttle_held *h, uint32_t id,
				int pass);

/* A throttle holding at most @max_held packets, its timer made. NULL if
 * out of memory or descriptors. */
struct throttle *throttle_create(uint32_t max_held,
				 throttle_release_fn *release, void *ctx);
/* Its thread (until then, nothing is released on time). Returns 0, or -1
 * with a message in @err. */
int throttle_start(struct throttle *t, char *err, size_t errlen);
/* Every packet held is released (passed) and later ones pass unheld;
 * the thread ends. Before the workers stop. */
void throttle_stop(struct throttle *t);
void throttle_destroy(struct throttle *t); /* NULL: nothing */
uint32_t throttle_max_held(const struct throttle *t);

/* A bucket map for @p's throttle rules, their rates set in the shaper
 * (pairs in use keep their tokens and held packets). Returns 0 and the
 * map in *out (in use once throttle_swap makes it so), or -ENOMEM /
 * -ENOSPC with the running map untouched. */
int throttle_map(struct throttle *t, const struct policy *p,
		 struct bucket_map **out);
/* Once no worker uses the running map any more: @nm replaces it, and the
 * packets held in pairs no rule uses now are released. */
void throttle_swap(struct throttle *t, struct bucket_map *nm);
/* The running map (the workers read their own copy of the pointer). */
const struct bucket_map *throttle_buckets(const struct throttle *t);

enum throttle_result {
	THROTTLE_PASS,
	THROTTLE_HOLD, /* the caller defers the verdict: released later */
	THROTTLE_DROP,
	THROTTLE_NO_RECORD, /* every hold record taken: passed, counted */
};

/* A packet of @len bytes of a throttled flow (@flow_hash) for bucket
 * @bucket (2 * pair + direction, buckets.h), queued as @id in worker
 * @worker's queue slot @slot with @mark to give back; by worker @worker's
 * thread. Older packets the shaper drops to keep its latency bound are
 * released as dropped. */
enum throttle_result throttle_submit(struct throttle *t, uint32_t bucket,
				     uint32_t len, uint32_t flow_hash,
				     uint16_t worker, uint16_t slot,
				     uint32_t id, uint32_t mark);
/* Gives back the record of a verdict posted and now sent. */
void throttle_done(struct throttle *t, int32_t record);

/* Every throttle rule's shaper counters, a log line each (SIGUSR1, and
 * at the stop), for @p, the running policy. */
void throttle_log_stats(struct throttle *t, const struct policy *p);

#endif
