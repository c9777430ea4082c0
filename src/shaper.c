#include "skyfence/shaper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct held {
	uint32_t id, len, next;
	uint64_t arrival_us;
};

struct bucket {
	struct shaper_cfg cfg;
	int64_t tokens;	     /* bytes; negative: debt */
	uint64_t last_us;    /* last refill */
	uint32_t head, tail; /* FIFO of held packets */
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
	uint32_t i;

	if (!s || max_buckets == 0 || max_held == 0)
		goto err;
	s->b = calloc(max_buckets, sizeof(*s->b));
	s->h = calloc(max_held, sizeof(*s->h));
	if (!s->b || !s->h)
		goto err;
	s->n_buckets = max_buckets;
	s->max_held = max_held;
	for (i = 0; i < max_buckets; i++)
		s->b[i].head = s->b[i].tail = NIL;
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
	uint64_t dt;

	if (now_us <= k->last_us)
		return;
	dt = now_us - k->last_us;
	/* whole bytes only: keep the remainder of time for the next refill */
	{
		uint64_t add = dt * bytes_per_s(k) / 1000000;

		if (add == 0)
			return;
		k->tokens += (int64_t)add;
		k->last_us += add * 1000000 / bytes_per_s(k);
	}
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
	if (k->in_use)
		refill(k, now_us);
	else {
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

static uint32_t pop(struct shaper *s, struct bucket *k)
{
	uint32_t i = k->head;

	k->head = s->h[i].next;
	if (k->head == NIL)
		k->tail = NIL;
	s->h[i].next = s->free_head;
	s->free_head = i;
	s->n_held--;
	k->st.backlog--;
	k->st.backlog_bytes -= s->h[i].len;
	return i;
}

void shaper_clear(struct shaper *s, uint32_t b,
		  void (*fn)(void *ctx, uint32_t id, int pass), void *ctx)
{
	struct bucket *k;

	if (b >= s->n_buckets)
		return;
	k = &s->b[b];
	while (k->head != NIL) {
		uint32_t i = pop(s, k);

		fn(ctx, s->h[i].id, 1);
	}
	k->in_use = 0;
}

enum shaper_result shaper_submit(struct shaper *s, uint32_t b, uint32_t id,
				 uint32_t len, uint64_t now_us)
{
	struct bucket *k;
	uint64_t wait_us;
	int64_t deficit;
	uint32_t i;

	if (b >= s->n_buckets || !s->b[b].in_use)
		return SHAPER_PASS;
	k = &s->b[b];
	refill(k, now_us);
	if (k->head == NIL && k->tokens > 0) {
		k->tokens -= len;
		k->st.passed++;
		k->st.passed_bytes += len;
		return SHAPER_PASS;
	}
	/* Its turn comes when the tokens have paid for everything ahead:
	 * tokens + rate * t - backlog > 0. */
	deficit = (int64_t)k->st.backlog_bytes - k->tokens + 1;
	wait_us =
		deficit > 0 ? (uint64_t)deficit * 1000000 / bytes_per_s(k) : 0;
	if (wait_us > (uint64_t)k->cfg.latency_ms * 1000 ||
	    s->free_head == NIL) {
		k->st.dropped++;
		k->st.dropped_bytes += len;
		return SHAPER_DROP;
	}
	i = s->free_head;
	s->free_head = s->h[i].next;
	s->h[i].id = id;
	s->h[i].len = len;
	s->h[i].arrival_us = now_us;
	s->h[i].next = NIL;
	if (k->tail == NIL)
		k->head = i;
	else
		s->h[k->tail].next = i;
	k->tail = i;
	s->n_held++;
	k->st.backlog++;
	k->st.backlog_bytes += len;
	return SHAPER_HOLD;
}

void shaper_run(struct shaper *s, uint64_t now_us,
		void (*fn)(void *ctx, uint32_t id, int pass), void *ctx)
{
	uint32_t b;

	if (s->n_held == 0)
		return;
	for (b = 0; b < s->n_buckets; b++) {
		struct bucket *k = &s->b[b];

		if (k->head == NIL)
			continue;
		refill(k, now_us);
		while (k->head != NIL && k->tokens > 0) {
			uint32_t i = pop(s, k);
			uint64_t d = now_us - s->h[i].arrival_us;

			k->tokens -= s->h[i].len;
			k->st.delayed++;
			k->st.passed_bytes += s->h[i].len;
			k->st.delay_us_sum += d;
			if (d > k->st.delay_us_max)
				k->st.delay_us_max = d;
			fn(ctx, s->h[i].id, 1);
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

		if (k->head == NIL)
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
