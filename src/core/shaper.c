/* shaper.c - token buckets with fair hold queues and a latency bound
 * (shaper.h). */
#include "core/shaper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define QUANTUM 1514 /* bytes a subqueue may send per round */

struct held {
	uint64_t id; /* the caller's tag */
	uint32_t len, next, prev;
	uint64_t arrival_us;
};

/* A bucket's flows get SHAPER_SUBQUEUES FIFOs served by deficit round
 * robin, so one flow cannot lock another out. A FIFO belongs to the flow
 * that last took it while that flow is active; a new flow takes its hash's
 * FIFO if that is idle, else any idle one, so up to SHAPER_SUBQUEUES
 * flows never share (plain hashing put two flows together 1 time in 16).
 * Only past that do flows share by hash. */
struct subq {
	uint32_t owner; /* flow hash of the flow it belongs to */
	uint32_t head, tail;
	uint64_t bytes;
	int64_t deficit;
	uint64_t seen_us; /* a packet of its flows last came, plus 1 */
	uint64_t served;  /* bytes sent, halved every second */
};

struct bucket {
	struct shaper_cfg cfg;
	int64_t tokens;	  /* bytes; negative: debt */
	uint64_t last_us; /* last refill */
	struct subq q[SHAPER_SUBQUEUES];
	uint32_t rr;	   /* next subqueue to serve */
	uint64_t decay_us; /* when served counts were last halved */
	int in_use;
	struct shaper_stats st;
};

struct shaper {
	struct bucket *b;
	uint32_t n_buckets;
	struct held *h;
	uint32_t free_head, n_held, max_held;
};

struct shaper *shaper_create(uint32_t max_buckets, uint32_t max_held)
{
	struct shaper *s = calloc(1, sizeof(*s));
	uint32_t i, j;

	if (!s || max_buckets == 0 || max_held == 0)
		goto err;
	s->b = calloc(max_buckets, sizeof(*s->b));
	s->h = calloc(max_held, sizeof(*s->h));
	if (!s->b || !s->h)
		goto err;
	s->n_buckets = max_buckets;
	s->max_held = max_held;
	for (i = 0; i < max_buckets; i++)
		for (j = 0; j < SHAPER_SUBQUEUES; j++)
			s->b[i].q[j].head = s->b[i].q[j].tail = NIL;
	for (i = 0; i < max_held; i++)
		s->h[i].next = i + 1 < max_held ? i + 1 : NIL;
	return s;
err:
	shaper_destroy(s);
	return NULL;
}

void shaper_destroy(struct shaper *s)
{
	if (!s)
		return;
	free(s->b);
	free(s->h);
	free(s);
}

static uint64_t bytes_per_s(const struct bucket *k)
{
	return k->cfg.rate_bps / 8 ? k->cfg.rate_bps / 8 : 1;
}

static void refill(struct bucket *k, uint64_t now_us)
{
	uint64_t add;

	if (now_us <= k->last_us)
		return;
	/* whole bytes only: the remainder of time counts next time */
	add = (now_us - k->last_us) * bytes_per_s(k) / 1000000;
	if (add == 0)
		return;
	k->tokens += (int64_t)add;
	k->last_us += add * 1000000 / bytes_per_s(k);
	if (k->tokens > (int64_t)k->cfg.burst_bytes) {
		k->tokens = (int64_t)k->cfg.burst_bytes;
		k->last_us = now_us;
	}
}

int shaper_set(struct shaper *s, uint32_t b, const struct shaper_cfg *c,
	       uint64_t now_us)
{
	struct bucket *k;

	if (b >= s->n_buckets || c->rate_bps == 0 || c->burst_bytes == 0)
		return -EINVAL;
	k = &s->b[b];
	if (k->in_use) {
		refill(k, now_us);
	} else {
		k->tokens = (int64_t)c->burst_bytes;
		k->last_us = now_us;
		memset(&k->st, 0, sizeof(k->st));
	}
	k->cfg = *c;
	if (k->tokens > (int64_t)c->burst_bytes)
		k->tokens = (int64_t)c->burst_bytes;
	k->in_use = 1;
	return 0;
}

int shaper_in_use(const struct shaper *s, uint32_t b)
{
	return b < s->n_buckets && s->b[b].in_use;
}

/* Unlinks held packet @i from subqueue @q of bucket @k, frees it. */
static void unlink_held(struct shaper *s, struct bucket *k, struct subq *q,
			uint32_t i)
{
	struct held *h = &s->h[i];

	if (h->prev != NIL)
		s->h[h->prev].next = h->next;
	else
		q->head = h->next;
	if (h->next != NIL)
		s->h[h->next].prev = h->prev;
	else
		q->tail = h->prev;
	q->bytes -= h->len;
	k->st.backlog--;
	k->st.backlog_bytes -= h->len;
	h->next = s->free_head;
	s->free_head = i;
	s->n_held--;
}

void shaper_clear(struct shaper *s, uint32_t b,
		  void (*fn)(void *ctx, uint64_t id, int pass), void *ctx)
{
	struct bucket *k;
	uint32_t j;

	if (b >= s->n_buckets)
		return;
	k = &s->b[b];
	for (j = 0; j < SHAPER_SUBQUEUES; j++) {
		while (k->q[j].head != NIL) {
			uint32_t i = k->q[j].head;
			uint64_t id = s->h[i].id;

			unlink_held(s, k, &k->q[j], i);
			fn(ctx, id, 1);
		}
	}
	k->in_use = 0;
}

static uint64_t wait_us_for(const struct bucket *k, uint64_t ahead)
{
	int64_t deficit = (int64_t)ahead - k->tokens + 1;

	return deficit > 0 ? (uint64_t)deficit * 1000000 / bytes_per_s(k) : 0;
}

/* This flow's part of the bound's bytes: the flows holding packets, or
 * that sent one within the bound (a flow the round robin just emptied
 * still counts), share it; never less than one full packet. */
static uint64_t share(struct bucket *k, uint64_t bound, uint64_t now_us)
{
	uint64_t cap = bound * bytes_per_s(k) / 1000000, active = 0;
	uint32_t j;

	for (j = 0; j < SHAPER_SUBQUEUES; j++)
		active += k->q[j].bytes > 0 ||
			  (k->q[j].seen_us &&
			   k->q[j].seen_us - 1 + bound >= now_us);
	cap /= active ? active : 1;
	return cap < QUANTUM ? QUANTUM : cap;
}

/* Drops the oldest held packet of the flow served most lately, if it was
 * served more than @q's. Returns 1 if it did. The oldest, not the newest:
 * the packets behind it tell TCP of the loss (duplicate ACKs, fast
 * retransmit) where a lost tail waits for a time-out. */
static int evict_heavier(struct shaper *s, struct bucket *k, struct subq *q,
			 void (*drop)(void *ctx, uint64_t id), void *ctx)
{
	struct subq *v = NULL;
	uint32_t j, victim;
	uint64_t id;

	for (j = 0; j < SHAPER_SUBQUEUES; j++) {
		struct subq *c = &k->q[j];

		if (c != q && c->tail != NIL && (!v || c->served > v->served))
			v = c;
	}
	if (!v || v->served <= q->served)
		return 0;
	victim = v->head;
	id = s->h[victim].id;
	k->st.dropped++;
	k->st.dropped_bytes += s->h[victim].len;
	unlink_held(s, k, v, victim);
	drop(ctx, id);
	return 1;
}

/* Drops @q's oldest held packet. */
static void drop_oldest(struct shaper *s, struct bucket *k, struct subq *q,
			void (*drop)(void *ctx, uint64_t id), void *ctx)
{
	uint32_t i = q->head;
	uint64_t id = s->h[i].id;

	k->st.dropped++;
	k->st.dropped_bytes += s->h[i].len;
	unlink_held(s, k, q, i);
	drop(ctx, id);
}

/* The pool of held packets is shared by the buckets: a bucket may use all
 * of it while no other needs it, but when the pool is full and @self
 * holds less than its fair part (the pool over the buckets holding
 * packets, @self included), the bucket holding the most gives back its
 * oldest packet of its most-served subqueue. So one department at full
 * throttle cannot make another's packets drop. Returns 1 if it did. */
static int evict_other_bucket(struct shaper *s, struct bucket *self,
			      void (*drop)(void *ctx, uint64_t id), void *ctx)
{
	struct bucket *o = NULL;
	struct subq *v = NULL;
	uint32_t b, active = 1, j;

	for (b = 0; b < s->n_buckets; b++) {
		struct bucket *k = &s->b[b];

		if (k == self || k->st.backlog == 0)
			continue;
		active++;
		if (!o || k->st.backlog > o->st.backlog)
			o = k;
	}
	if (!o || self->st.backlog >= s->max_held / active ||
	    o->st.backlog <= self->st.backlog + 1)
		return 0;
	for (j = 0; j < SHAPER_SUBQUEUES; j++) {
		struct subq *c = &o->q[j];

		if (c->tail != NIL && (!v || c->served > v->served))
			v = c;
	}
	drop_oldest(s, o, v, drop, ctx);
	return 1;
}

/* A subqueue no flow has used for this long may be given to another. */
#define IDLE_US 1000000u

static int subq_idle(const struct subq *q, uint64_t now_us)
{
	return q->tail == NIL &&
	       (q->seen_us == 0 || q->seen_us - 1 + IDLE_US < now_us);
}

static struct subq *subq_of(struct bucket *k, uint32_t flow_hash,
			    uint64_t now_us)
{
	struct subq *q = &k->q[flow_hash % SHAPER_SUBQUEUES];
	uint32_t j;

	for (j = 0; j < SHAPER_SUBQUEUES; j++)
		if (k->q[j].seen_us && k->q[j].owner == flow_hash)
			return &k->q[j];
	for (j = 0; j < SHAPER_SUBQUEUES && !subq_idle(q, now_us); j++)
		q = &k->q[(flow_hash + j + 1) % SHAPER_SUBQUEUES];
	if (!subq_idle(q, now_us))
		return &k->q[flow_hash % SHAPER_SUBQUEUES]; /* shared */
	q->owner = flow_hash;
	q->served = 0;
	q->deficit = 0;
	return q;
}

/* Halves every flow's service count each second: recent service counts. */
static void decay(struct bucket *k, uint64_t now_us)
{
	uint32_t j;

	if (now_us < k->decay_us + 1000000)
		return;
	for (j = 0; j < SHAPER_SUBQUEUES; j++)
		k->q[j].served /= 2;
	k->decay_us = now_us;
}

enum shaper_result shaper_submit(struct shaper *s, uint32_t b, uint64_t id,
				 uint32_t len, uint32_t flow_hash,
				 uint64_t now_us,
				 void (*drop)(void *ctx, uint64_t id),
				 void *ctx)
{
	uint64_t bound;
	struct bucket *k;
	struct subq *q;
	uint32_t i;

	if (b >= s->n_buckets || !s->b[b].in_use)
		return SHAPER_PASS;
	k = &s->b[b];
	q = subq_of(k, flow_hash, now_us);
	q->seen_us = now_us + 1;
	refill(k, now_us);
	decay(k, now_us);
	if (k->st.backlog == 0 && k->tokens > 0) {
		q->served += len;
		k->tokens -= len;
		k->st.passed++;
		k->st.passed_bytes += len;
		return SHAPER_PASS;
	}
	bound = (uint64_t)k->cfg.latency_ms * 1000;
	/* A flow holds at most its share of what the bound allows, so a
	 * burst of one flow cannot fill the buffer and push the others into
	 * timeouts; whenever something must go, it is taken from the flow
	 * served most lately, so flows converge on equal shares instead of
	 * one locking another out. */
	for (;;) {
		int within = q->bytes + len <= share(k, bound, now_us) &&
			     wait_us_for(k, k->st.backlog_bytes) <= bound;

		if (within && s->free_head != NIL)
			break;
		if (within && evict_other_bucket(s, k, drop, ctx))
			continue;
		if (evict_heavier(s, k, q, drop, ctx))
			continue;
		if (q->head == NIL) {
			k->st.dropped++;
			k->st.dropped_bytes += len;
			return SHAPER_DROP;
		}
		drop_oldest(s, k, q, drop, ctx);
	}
	i = s->free_head;
	s->free_head = s->h[i].next;
	s->h[i].id = id;
	s->h[i].len = len;
	s->h[i].arrival_us = now_us;
	s->h[i].next = NIL;
	s->h[i].prev = q->tail;
	if (q->tail == NIL)
		q->head = i;
	else
		s->h[q->tail].next = i;
	q->tail = i;
	q->bytes += len;
	s->n_held++;
	k->st.backlog++;
	k->st.backlog_bytes += len;
	return SHAPER_HOLD;
}

void shaper_run(struct shaper *s, uint64_t now_us,
		void (*fn)(void *ctx, uint64_t id, int pass), void *ctx)
{
	uint32_t b;

	if (s->n_held == 0)
		return;
	for (b = 0; b < s->n_buckets; b++) {
		struct bucket *k = &s->b[b];
		unsigned idle = 0;

		if (k->st.backlog == 0)
			continue;
		refill(k, now_us);
		/* deficit round robin while there are tokens */
		while (k->st.backlog && k->tokens > 0 &&
		       idle < SHAPER_SUBQUEUES) {
			struct subq *q = &k->q[k->rr];

			if (q->head == NIL) {
				q->deficit = 0;
				k->rr = (k->rr + 1) % SHAPER_SUBQUEUES;
				idle++;
				continue;
			}
			idle = 0;
			if (q->deficit <= 0)
				q->deficit += QUANTUM;
			while (q->head != NIL && q->deficit > 0 &&
			       k->tokens > 0) {
				uint32_t i = q->head;
				uint64_t id = s->h[i].id;
				uint64_t d = now_us - s->h[i].arrival_us;

				k->tokens -= s->h[i].len;
				q->deficit -= s->h[i].len;
				q->served += s->h[i].len;
				k->st.delayed++;
				k->st.passed_bytes += s->h[i].len;
				k->st.delay_us_sum += d;
				if (d > k->st.delay_us_max)
					k->st.delay_us_max = d;
				unlink_held(s, k, q, i);
				fn(ctx, id, 1);
			}
			if (q->deficit <= 0 || q->head == NIL)
				k->rr = (k->rr + 1) % SHAPER_SUBQUEUES;
		}
	}
}

uint64_t shaper_next_us(const struct shaper *s)
{
	uint64_t next = 0;
	uint32_t b;

	if (s->n_held == 0)
		return 0;
	for (b = 0; b < s->n_buckets; b++) {
		const struct bucket *k = &s->b[b];
		uint64_t due;

		if (k->st.backlog == 0)
			continue;
		due = k->tokens > 0 ? k->last_us
				    : k->last_us + ((uint64_t)(1 - k->tokens) *
							    1000000 +
						    bytes_per_s(k) - 1) /
							   bytes_per_s(k);
		if (next == 0 || due < next)
			next = due;
	}
	return next ? next : 1;
}

void shaper_get_stats(const struct shaper *s, uint32_t b,
		      struct shaper_stats *st)
{
	if (b < s->n_buckets)
		*st = s->b[b].st;
	else
		memset(st, 0, sizeof(*st));
}

uint32_t shaper_held(const struct shaper *s)
{
	return s->n_held;
}
