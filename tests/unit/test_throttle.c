/* The throttle (throttle.c): the shaper the workers share, behind its own
 * lock, with its thread, timer and hold records. Every packet it holds
 * gets exactly one verdict, from the thread the release function is told,
 * and the hold records always come back. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "policy_text.h"
#include "daemon/throttle.h"

#define MAX_IDS 4096

/* What the release function was told, per packet id. */
static struct {
	pthread_mutex_t mu;
	unsigned released[MAX_IDS], passed[MAX_IDS];
	uint32_t self[MAX_IDS];
	int32_t record[MAX_IDS];
	unsigned n;
	int post; /* 1: answer "posted" for other workers' packets */
} got = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int on_release(void *ctx, uint32_t self, int32_t record,
		      const struct throttle_held *h, uint32_t id, int pass)
{
	(void)ctx;
	ck_assert_uint_lt(id, MAX_IDS);
	pthread_mutex_lock(&got.mu);
	got.released[id]++;
	got.passed[id] += pass != 0;
	got.self[id] = self;
	got.record[id] = record;
	got.n++;
	pthread_mutex_unlock(&got.mu);
	/* the mark given back is the one the packet came with */
	ck_assert_uint_eq(h->mark, 0x100u + id);
	return !(got.post && h->worker != self);
}

static void reset(void)
{
	pthread_mutex_lock(&got.mu);
	memset(got.released, 0, sizeof(got.released));
	memset(got.passed, 0, sizeof(got.passed));
	got.n = 0;
	got.post = 0;
	pthread_mutex_unlock(&got.mu);
}

/* A throttle with the buckets of @text's throttle rules in use. */
static struct throttle *throttle_of(const char *text, uint32_t max_held,
				    struct policy **pol)
{
	struct throttle *t = throttle_create(max_held, on_release, NULL);
	struct bucket_map *bm;

	ck_assert_ptr_nonnull(t);
	*pol = parse(text);
	ck_assert_int_eq(throttle_map(t, *pol, &bm), 0);
	throttle_swap(t, bm);
	ck_assert_ptr_eq(throttle_buckets(t), bm);
	return t;
}

/* bucket of department @dept's first rule, from the inside */
static uint32_t bucket(struct throttle *t, const struct policy *p,
		       const char *dept)
{
	int32_t b =
		buckets_pair_of(throttle_buckets(t), dept_index(p, dept), 0);

	ck_assert_int_ge(b, 0);
	return 2 * (uint32_t)b;
}

static enum throttle_result submit(struct throttle *t, uint32_t b, uint16_t w,
				   uint32_t id)
{
	return throttle_submit(t, b, 1500, 7, w, 0, id, 0x100u + id);
}

/* A slow rate: the burst passes, then packets are held, and the stop
 * passes every one of them, once. */
START_TEST(test_stop_passes_every_held_packet_once)
{
	struct policy *p;
	struct throttle *t = throttle_of(
		"department lab { hosts 192.0.2.0/24; any throttle 80kbit burst 3000 latency 10s; }\n",
		64, &p);
	uint32_t b = bucket(t, p, "lab"), id, held = 0;

	reset();
	for (id = 0; id < 20; id++) {
		enum throttle_result r = submit(t, b, 0, id);

		ck_assert(r == THROTTLE_PASS || r == THROTTLE_HOLD);
		held += r == THROTTLE_HOLD;
	}
	ck_assert_uint_ge(held, 15);
	ck_assert_uint_eq(got.n, 0);
	throttle_stop(t);
	ck_assert_uint_eq(got.n, held);
	for (id = 0; id < 20; id++) {
		ck_assert_uint_le(got.released[id], 1);
		ck_assert_uint_eq(got.passed[id], got.released[id]);
		if (got.released[id])
			ck_assert_uint_eq(got.self[id], THROTTLE_NOBODY);
	}
	/* stopped: nothing is held any more */
	ck_assert_int_eq(submit(t, b, 0, 100), THROTTLE_PASS);
	throttle_destroy(t);
	policy_free(p);
}
END_TEST

/* The hold records are the limit: a verdict posted to another worker
 * keeps its record until throttle_done; with every record out, a packet
 * is passed and said to have found none. */
START_TEST(test_records_come_back_only_when_done)
{
	static const char slow[] =
		"department lab { hosts 192.0.2.0/24; any throttle 8kbit burst 1500 latency 10s; }\n";
	struct policy *p, *q;
	struct throttle *t = throttle_of(slow, 2, &p); /* 3 records */
	struct bucket_map *bm;
	uint32_t b = bucket(t, p, "lab");

	reset();
	got.post = 1;
	ck_assert_int_eq(submit(t, b, 1, 10), THROTTLE_PASS); /* the burst */
	ck_assert_int_eq(submit(t, b, 1, 11), THROTTLE_HOLD);
	ck_assert_int_eq(submit(t, b, 1, 12), THROTTLE_HOLD);
	/* a policy without the rule: both released, from no worker's
	 * thread, so posted to worker 1, their records still out */
	q = parse("department lab { hosts 192.0.2.0/24; any allow; }\n");
	ck_assert_int_eq(throttle_map(t, q, &bm), 0);
	throttle_swap(t, bm);
	ck_assert_uint_eq(got.released[11] + got.released[12], 2);
	ck_assert_uint_eq(got.passed[11] + got.passed[12], 2);
	ck_assert_uint_eq(got.self[11], THROTTLE_NOBODY);
	/* the rule back: one record left */
	ck_assert_int_eq(throttle_map(t, p, &bm), 0);
	throttle_swap(t, bm);
	b = bucket(t, p, "lab");
	ck_assert_int_eq(submit(t, b, 1, 20), THROTTLE_PASS);
	ck_assert_int_eq(submit(t, b, 1, 21), THROTTLE_HOLD);
	ck_assert_int_eq(submit(t, b, 1, 22), THROTTLE_NO_RECORD);
	/* worker 1 sent the posted verdicts: their records come back */
	throttle_done(t, got.record[11]);
	throttle_done(t, got.record[12]);
	ck_assert_int_ne(submit(t, b, 1, 23), THROTTLE_NO_RECORD);
	throttle_stop(t);
	throttle_destroy(t);
	policy_free(p);
	policy_free(q);
}
END_TEST

/* A worker's own packet the shaper drops to keep the latency bound gets
 * its verdict in that worker's thread, as a drop. */
START_TEST(test_a_dropped_packet_is_released_by_its_own_worker)
{
	struct policy *p;
	struct throttle *t = throttle_of(
		"department lab { hosts 192.0.2.0/24; any throttle 8kbit burst 1500 latency 50ms; }\n",
		64, &p);
	uint32_t b = bucket(t, p, "lab"), id, dropped = 0;

	reset();
	for (id = 0; id < 40; id++)
		if (submit(t, b, 3, id) == THROTTLE_DROP)
			dropped++;
	for (id = 0; id < 40; id++)
		if (got.released[id]) {
			ck_assert_uint_eq(got.self[id], 3);
			ck_assert_uint_eq(got.passed[id], 0);
			dropped++;
		}
	/* at 8 kbit/s a 50 ms bound holds one packet at most */
	ck_assert_uint_ge(dropped, 30);
	throttle_stop(t);
	throttle_destroy(t);
	policy_free(p);
}
END_TEST

/* With its thread started, a held packet is released on time by the
 * throttle's own thread (no worker's), without any further submit. */
START_TEST(test_the_thread_releases_held_packets_on_time)
{
	struct policy *p;
	struct throttle *t = throttle_of(
		"department lab { hosts 192.0.2.0/24; any throttle 120kbit burst 1500 latency 10s; }\n",
		64, &p);
	uint32_t b = bucket(t, p, "lab"), id;
	char err[128];
	int i;

	reset();
	ck_assert_int_eq(throttle_start(t, err, sizeof(err)), 0);
	/* the burst passes; the first packet over it is held (however
	 * slowly this runs, the tenth is over 1500 bytes in 100 ms) */
	for (id = 1; id <= 10; id++)
		if (submit(t, b, 0, id) == THROTTLE_HOLD)
			break;
	ck_assert_uint_le(id, 10);
	/* 1500 bytes at 120 kbit/s: 100 ms; allow 10 s */
	for (i = 0; i < 1000; i++) {
		unsigned n;

		pthread_mutex_lock(&got.mu);
		n = got.released[id];
		pthread_mutex_unlock(&got.mu);
		if (n)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(got.released[id], 1);
	ck_assert_uint_eq(got.passed[id], 1);
	ck_assert_uint_eq(got.self[id], THROTTLE_NOBODY);
	throttle_stop(t);
	ck_assert_uint_eq(got.n, 1);
	throttle_destroy(t);
	policy_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("throttle");
	TCase *c = tcase_create("throttle");

	tcase_set_timeout(c, 30);
	tcase_add_test(c, test_stop_passes_every_held_packet_once);
	tcase_add_test(c, test_records_come_back_only_when_done);
	tcase_add_test(c, test_a_dropped_packet_is_released_by_its_own_worker);
	tcase_add_test(c, test_the_thread_releases_held_packets_on_time);
	suite_add_tcase(s, c);
	return check_run(s);
}
