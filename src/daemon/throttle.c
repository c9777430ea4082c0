/* throttle.c - the shaper shared by the workers, its lock, thread, timer,
 * bucket map and hold records (throttle.h). */
#include "daemon/throttle.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>

#include "core/shaper.h"
#include "sys/log.h"

#define THROTTLE_BUCKETS (2 * BUCKET_PAIRS)

struct throttle {
	pthread_mutex_t mu; /* everything below */
	struct shaper *sh;
	struct bucket_map *bm;
	/* hold records, indexed by the tag's high half; one more than the
	 * shaper holds: a submit may hold a packet while it drops another */
	struct throttle_held *held;
	int32_t held_free;
	uint32_t max_held;
	throttle_release_fn *release;
	void *ctx;
	int tfd;	   /* the timer: fires no later than the next release */
	uint64_t armed_us; /* its expiry; 0: disarmed */
	int stopping;	   /* nothing is held any more */
	int quit;	   /* the thread ends */
	int started;
	pthread_t th;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- hold records (under mu) ----
 * A held packet's tag for the shaper: its hold record (worker, queue and
 * the mark to give back) in the high half, its id in that queue in the
 * low half. A record posted to another worker stays taken until that
 * worker has sent the verdict, so a worker never has more posted verdicts
 * than there are records. */

static int held_take(struct throttle *t, uint16_t worker, uint16_t slot,
		     uint32_t id, uint32_t mark, uint64_t *tag)
{
	int32_t i = t->held_free;

	if (i < 0)
		return -1;
	t->held_free = t->held[i].next_free;
	t->held[i].mark = mark;
	t->held[i].worker = worker;
	t->held[i].queue = slot;
	*tag = (uint64_t)(uint32_t)i << 32 | id;
	return 0;
}

static void held_put(struct throttle *t, int32_t i)
{
	t->held[i].next_free = t->held_free;
	t->held_free = i;
}

/* The shaper's callbacks: a held packet's verdict, by the release
 * function, from the thread of @self. */
struct release_ctx {
	struct throttle *t;
	uint32_t self;
};

static void on_release(void *ctx, uint64_t tag, int pass)
{
	struct release_ctx *rc = ctx;
	struct throttle *t = rc->t;
	int32_t i = (int32_t)(tag >> 32);

	if (t->release(t->ctx, rc->self, i, &t->held[i], (uint32_t)tag, pass))
		held_put(t, i);
}

static void on_drop(void *ctx, uint64_t tag)
{
	on_release(ctx, tag, 0);
}

/* The timer fires at @at_us (CLOCK_MONOTONIC; 0 disarms). */
static int arm(struct throttle *t, uint64_t at_us)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at_us / 1000000);
	its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
	if (timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return -1;
	t->armed_us = at_us;
	return 0;
}

/* The thread: held packets released on time, whatever the workers and
 * the control thread do. */
static void *throttle_main(void *arg)
{
	struct throttle *t = arg;
	struct release_ctx rc = { t, THROTTLE_NOBODY };

	for (;;) {
		uint64_t ticks;

		if (read(t->tfd, &ticks, sizeof(ticks)) < 0 && errno != EINTR &&
		    errno != EAGAIN) {
			log_warn("shaper timer");
			break;
		}
		pthread_mutex_lock(&t->mu);
		if (t->quit) {
			pthread_mutex_unlock(&t->mu);
			break;
		}
		shaper_run(t->sh, mono_us(), on_release, &rc);
		if (arm(t, shaper_next_us(t->sh)) != 0)
			log_warn("shaper timer");
		pthread_mutex_unlock(&t->mu);
	}
	return NULL;
}

struct throttle *throttle_create(uint32_t max_held,
				 throttle_release_fn *release, void *ctx)
{
	struct throttle *t = calloc(1, sizeof(*t));
	uint32_t b;

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->tfd = -1;
	t->max_held = max_held;
	t->release = release;
	t->ctx = ctx;
	t->sh = shaper_create(THROTTLE_BUCKETS, max_held);
	t->held = calloc(max_held + 1, sizeof(*t->held));
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (!t->sh || !t->held || t->tfd < 0) {
		throttle_destroy(t);
		return NULL;
	}
	for (b = 0; b <= max_held; b++)
		t->held[b].next_free = b < max_held ? (int32_t)b + 1 : -1;
	t->held_free = 0;
	return t;
}

int throttle_start(struct throttle *t, char *err, size_t errlen)
{
	int k = pthread_create(&t->th, NULL, throttle_main, t);
	if (k != 0) {
		snprintf(err, errlen, "shaper thread: %s", strerror(k));
		return -1;
	}
	t->started = 1;
	return 0;
}

void throttle_stop(struct throttle *t)
{
	struct release_ctx rc = { t, THROTTLE_NOBODY };
	struct itimerspec its;
	uint32_t b;

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	for (b = 0; b < THROTTLE_BUCKETS; b++)
		if (shaper_in_use(t->sh, b))
			shaper_clear(t->sh, b, on_release, &rc);
	pthread_mutex_unlock(&t->mu);
	if (!t->started)
		return;
	/* woken at once, the thread sees quit */
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 1;
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	if (timerfd_settime(t->tfd, 0, &its, NULL) != 0)
		log_warn("shaper timer");
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	t->started = 0;
}

void throttle_destroy(struct throttle *t)
{
	if (!t)
		return;
	if (t->tfd >= 0)
		close(t->tfd);
	shaper_destroy(t->sh);
	if (t->bm) {
		buckets_free(t->bm);
		free(t->bm);
	}
	free(t->held);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

uint32_t throttle_max_held(const struct throttle *t)
{
	return t->max_held;
}

int throttle_map(struct throttle *t, const struct policy *p,
		 struct bucket_map **out)
{
	struct bucket_map *nm = calloc(1, sizeof(*nm));
	uint64_t now = mono_us();
	uint32_t i, j, n = 0;
	int rc;

	if (!nm)
		return -ENOMEM;
	rc = buckets_map(p, t->bm, nm);
	if (rc != 0) {
		free(nm);
		return rc == -ENOMEM ? -ENOMEM : -ENOSPC;
	}
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < p->n_depts; i++) {
		for (j = 0; j < p->depts[i].n_rules; j++, n++) {
			const struct policy_rule *r = &p->depts[i].rules[j];
			struct shaper_cfg c = { r->rate_bps, r->burst_bytes,
						r->latency_ms };

			if (nm->of[n] < 0)
				continue;
			shaper_set(t->sh, 2 * (uint32_t)nm->of[n], &c, now);
			shaper_set(t->sh, 2 * (uint32_t)nm->of[n] + 1, &c, now);
		}
	}
	pthread_mutex_unlock(&t->mu);
	*out = nm;
	return 0;
}

void throttle_swap(struct throttle *t, struct bucket_map *nm)
{
	struct release_ctx rc = { t, THROTTLE_NOBODY };
	struct bucket_map *old;
	uint32_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; t->bm && i < BUCKET_PAIRS; i++) {
		if (t->bm->used[i] && !nm->used[i]) {
			shaper_clear(t->sh, 2 * i, on_release, &rc);
			shaper_clear(t->sh, 2 * i + 1, on_release, &rc);
		}
	}
	old = t->bm;
	t->bm = nm;
	pthread_mutex_unlock(&t->mu);
	if (old) {
		buckets_free(old);
		free(old);
	}
}

const struct bucket_map *throttle_buckets(const struct throttle *t)
{
	return t->bm;
}

enum throttle_result throttle_submit(struct throttle *t, uint32_t bucket,
				     uint32_t len, uint32_t flow_hash,
				     uint16_t worker, uint16_t slot,
				     uint32_t id, uint32_t mark)
{
	struct release_ctx rc = { t, worker };
	enum throttle_result res = THROTTLE_PASS;
	enum shaper_result r;
	uint64_t tag, next;

	pthread_mutex_lock(&t->mu);
	if (t->stopping) {
		res = THROTTLE_PASS;
	} else if (held_take(t, worker, slot, id, mark, &tag) != 0) {
		res = THROTTLE_NO_RECORD;
	} else {
		/* the time under the lock: the shaper's clock never goes
		 * back between the threads that use it */
		r = shaper_submit(t->sh, bucket, tag, len, flow_hash, mono_us(),
				  on_drop, &rc);
		if (r != SHAPER_HOLD) {
			held_put(t, (int32_t)(tag >> 32));
			res = r == SHAPER_PASS ? THROTTLE_PASS : THROTTLE_DROP;
		} else {
			res = THROTTLE_HOLD;
			/* the timer fires no later than the next release */
			next = shaper_next_us(t->sh);
			if (next && (!t->armed_us || next < t->armed_us) &&
			    arm(t, next) != 0)
				log_warn("shaper timer");
		}
	}
	pthread_mutex_unlock(&t->mu);
	return res;
}

void throttle_done(struct throttle *t, int32_t record)
{
	pthread_mutex_lock(&t->mu);
	held_put(t, record);
	pthread_mutex_unlock(&t->mu);
}

void throttle_log_stats(struct throttle *t, const struct policy *p)
{
	static const char *const dir[2] = { "from_inside", "to_inside" };
	uint32_t i, j, n = 0, k;

	pthread_mutex_lock(&t->mu);
	for (i = 0; t->bm && i < p->n_depts; i++) {
		for (j = 0; j < p->depts[i].n_rules; j++, n++) {
			const struct policy_rule *r = &p->depts[i].rules[j];

			if (t->bm->of[n] < 0)
				continue;
			for (k = 0; k < 2; k++) {
				struct shaper_stats st;

				shaper_get_stats(t->sh,
						 2 * (uint32_t)t->bm->of[n] + k,
						 &st);
				log_info("shaper: department=%s rule_line=%u "
					 "direction=%s rate_bps=%" PRIu64
					 " passed=%" PRIu64 " delayed=%" PRIu64
					 " dropped=%" PRIu64 " backlog=%u"
					 " passed_bytes=%" PRIu64
					 " dropped_bytes=%" PRIu64
					 " delay_avg_us=%" PRIu64
					 " delay_max_us=%" PRIu64,
					 p->depts[i].name, r->line, dir[k],
					 r->rate_bps, st.passed, st.delayed,
					 st.dropped, st.backlog,
					 st.passed_bytes, st.dropped_bytes,
					 st.delayed
						 ? st.delay_us_sum / st.delayed
						 : 0,
					 st.delay_us_max);
			}
		}
	}
	pthread_mutex_unlock(&t->mu);
}
