/* Token buckets and the hold queue for throttled flows. Packets of a
 * throttled flow are passed while their bucket has tokens, held (their
 * NFQUEUE verdict deferred) while it has none, and dropped when they would
 * wait longer than the bucket's latency bound, so TCP backs off instead of
 * the queue filling. Tokens may go negative: a GSO super-packet larger than
 * the burst passes when the bucket is positive and leaves a debt, so the
 * long-run rate holds. Pure: time comes in as an argument, the only
 * allocation is at create. A bucket serves its flows fairly: each active
 * flow has one of SHAPER_SUBQUEUES queues served by deficit round robin,
 * and the bound is kept by dropping the oldest packet of the flow served
 * most lately (or of the packet's own flow). */
#ifndef SKYFENCE_SHAPER_H
#define SKYFENCE_SHAPER_H

#include <stdint.h>

#define SHAPER_SUBQUEUES 16

struct shaper_cfg {
	uint64_t rate_bps;
	uint32_t burst_bytes;
	uint32_t latency_ms;
};

struct shaper_stats {
	uint64_t passed, delayed, dropped;    /* packets */
	uint64_t passed_bytes, dropped_bytes; /* passed_bytes: delayed too */
	uint32_t backlog;		      /* packets held now */
	uint64_t backlog_bytes;
	uint64_t delay_us_sum, delay_us_max; /* over delayed packets */
};

enum shaper_result { SHAPER_PASS = 0, SHAPER_HOLD, SHAPER_DROP };

struct shaper;

/* @max_held bounds the packets held at once over all buckets: size it
 * below the kernel queue's length. NULL if memory is short. */
struct shaper *shaper_create(uint32_t max_buckets, uint32_t max_held);
void shaper_destroy(struct shaper *s);

/* (Re)configures bucket @b; a bucket keeps its held packets and its tokens
 * (cut to the new burst). Returns 0 or -EINVAL. */
int shaper_set(struct shaper *s, uint32_t b, const struct shaper_cfg *c,
	       uint64_t now_us);
/* Takes bucket @b out of use: its held packets are released (@fn is called
 * with pass = 1 for each). */
void shaper_clear(struct shaper *s, uint32_t b,
		  void (*fn)(void *ctx, uint64_t id, int pass), void *ctx);
int shaper_in_use(const struct shaper *s, uint32_t b);

/* A packet of @len bytes for bucket @b (@id: the caller's tag for it), of the flow @flow_hash: passed
 * now, held (released later by shaper_run), or dropped. To stay within the
 * latency bound the shaper may drop packets it held, the oldest of a flow
 * served more lately or of the same flow; @drop(ctx, id) is called for
 * each such packet. */
enum shaper_result shaper_submit(struct shaper *s, uint32_t b, uint64_t id,
				 uint32_t len, uint32_t flow_hash,
				 uint64_t now_us,
				 void (*drop)(void *ctx, uint64_t id),
				 void *ctx);

/* Releases every held packet whose turn has come, in arrival order per
 * flow and round robin between flows, calling @fn(ctx, id, 1). */
void shaper_run(struct shaper *s, uint64_t now_us,
		void (*fn)(void *ctx, uint64_t id, int pass), void *ctx);

/* When shaper_run has work next: 0 if nothing is held. */
uint64_t shaper_next_us(const struct shaper *s);

void shaper_get_stats(const struct shaper *s, uint32_t b,
		      struct shaper_stats *st);
uint32_t shaper_held(const struct shaper *s);

#endif
