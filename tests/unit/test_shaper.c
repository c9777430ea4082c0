/* The shaper with simulated time: rates, the latency bound, debt for
 * super-packets, the hold pool, reconfiguration, independent buckets. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_run.h"
#include "core/shaper.h"

struct released {
	uint64_t n, bytes;
	uint64_t last_id;
};

static uint32_t lens[1 << 16];

static void no_drop(void *ctx, uint64_t id)
{
	(void)ctx;
	(void)id;
	ck_abort_msg("a held packet was dropped");
}

static unsigned evicted[2];
static uint64_t held_dropped, last_held_dropped;

/* A held packet given up (the oldest of its flow, to make room). */
static void count_held_drop(void *ctx, uint64_t id)
{
	(void)ctx;
	held_dropped++;
	last_held_dropped = id;
}

static void count_drop(void *ctx, uint64_t id)
{
	(void)ctx;
	evicted[id % 2]++;
}

static void on_release(void *ctx, uint64_t id, int pass)
{
	struct released *r = ctx;

	ck_assert(pass);
	r->n++;
	r->bytes += lens[id % (1 << 16)];
	r->last_id = id;
}

/* Offers @pps packets of @len bytes per second for @seconds, running the
 * shaper every millisecond. Returns bytes passed or released. */
static uint64_t offer(struct shaper *s, uint32_t b, uint32_t len, unsigned pps,
		      unsigned seconds, uint64_t *dropped)
{
	struct released r = { 0, 0, 0 };
	uint64_t t, passed = 0, next = 0, step = 1000000 / pps;
	uint32_t id = 0;

	*dropped = 0;
	held_dropped = 0;
	for (t = 1000; t <= (uint64_t)seconds * 1000000; t += 1000) {
		while (next <= t && next < (uint64_t)seconds * 1000000) {
			enum shaper_result res;

			lens[id % (1 << 16)] = len;
			res = shaper_submit(s, b, id++, len, 0, next,
					    count_held_drop, NULL);
			if (res == SHAPER_PASS)
				passed += len;
			else if (res == SHAPER_DROP)
				(*dropped)++;
			next += step;
		}
		shaper_run(s, t, on_release, &r);
	}
	*dropped += held_dropped;
	return passed + r.bytes;
}

START_TEST(test_rate_holds_under_tenfold_load)
{
	struct shaper *s = shaper_create(4, 1024);
	struct shaper_cfg c = { 1000000, 12500, 50 };
	struct shaper_stats st;
	uint64_t dropped, bytes;

	ck_assert_int_eq(shaper_set(s, 0, &c, 0), 0);
	/* 10 Mbit/s offered: 833 packets/s of 1500 bytes */
	bytes = offer(s, 0, 1500, 833, 10, &dropped);
	/* 10 s at 125000 B/s plus the initial burst, within one packet */
	ck_assert_uint_ge(bytes, 1250000);
	ck_assert_uint_le(bytes, 1250000 + 12500 + 3000);
	ck_assert_uint_gt(dropped, 7000);
	shaper_get_stats(s, 0, &st);
	ck_assert_uint_eq(st.dropped, dropped);
	ck_assert_uint_gt(st.delayed, 0);
	/* no packet waited much past the bound */
	ck_assert_uint_le(st.delay_us_max, 50000 + 2000);
	shaper_destroy(s);
}
END_TEST

START_TEST(test_rate_256k_and_under_rate_untouched)
{
	struct shaper *s = shaper_create(4, 1024);
	struct shaper_cfg c = { 256000, 3200, 50 };
	struct shaper_stats st;
	uint64_t dropped, bytes;

	shaper_set(s, 1, &c, 0);
	bytes = offer(s, 1, 1000, 320, 10, &dropped); /* 2.56 Mbit/s */
	ck_assert_uint_ge(bytes, 320000);
	ck_assert_uint_le(bytes, 320000 + 3200 + 2000);
	/* below the rate nothing waits or drops */
	shaper_set(s, 2, &c, 0);
	bytes = offer(s, 2, 500, 50, 10, &dropped); /* 200 kbit/s */
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(bytes, 500 * 50 * 10);
	shaper_get_stats(s, 2, &st);
	ck_assert_uint_eq(st.delayed, 0);
	shaper_destroy(s);
}
END_TEST

START_TEST(test_super_packet_leaves_a_debt)
{
	struct shaper *s = shaper_create(2, 16);
	struct shaper_cfg c = { 800000, 2000, 200 }; /* 100000 B/s */
	struct released r = { 0, 0, 0 };

	shaper_set(s, 0, &c, 0);
	lens[1] = 64000;
	lens[2] = 1000;
	/* larger than the burst, passed while the bucket is positive */
	ck_assert_int_eq(shaper_submit(s, 0, 1, 64000, 0, 0, no_drop, NULL),
			 SHAPER_PASS);
	/* the debt (62000 bytes, 620 ms) outlasts the 200 ms bound */
	ck_assert_int_eq(shaper_submit(s, 0, 2, 1000, 0, 1000, no_drop, NULL),
			 SHAPER_DROP);
	/* 500 ms later the debt is 12000 bytes: 120 ms to wait, held */
	ck_assert_int_eq(shaper_submit(s, 0, 2, 1000, 0, 500000, no_drop, NULL),
			 SHAPER_HOLD);
	ck_assert_uint_ge(shaper_next_us(s), 620000);
	shaper_run(s, 619000, on_release, &r);
	ck_assert_uint_eq(r.n, 0);
	shaper_run(s, shaper_next_us(s), on_release, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.last_id, 2);
	ck_assert_uint_eq(shaper_next_us(s), 0);
	shaper_destroy(s);
}
END_TEST

START_TEST(test_hold_pool_bounds_what_is_held)
{
	struct shaper *s = shaper_create(2, 4);
	struct shaper_cfg c = { 8000, 1500, 10000 }; /* 1000 B/s, 10 s */
	int i, held = 0, dropped = 0;

	shaper_set(s, 0, &c, 0);
	ck_assert_int_eq(shaper_submit(s, 0, 0, 1500, 0, 0, no_drop, NULL),
			 SHAPER_PASS);
	held_dropped = 0;
	for (i = 1; i <= 6; i++) {
		enum shaper_result r = shaper_submit(s, 0, (uint32_t)i, 100, 0,
						     0, count_held_drop, NULL);

		held += r == SHAPER_HOLD;
		dropped += r == SHAPER_DROP;
	}
	/* the pool holds 4: the flow's oldest go to make room for its
	 * newest (a loss TCP notices by the packets after it) */
	ck_assert_int_eq(held, 6);
	ck_assert_int_eq(dropped, 0);
	ck_assert_uint_eq(held_dropped, 2);
	ck_assert_uint_eq(last_held_dropped, 2);
	ck_assert_uint_eq(shaper_held(s), 4);
	shaper_destroy(s);
}
END_TEST

START_TEST(test_reconfigure_keeps_and_clear_releases)
{
	struct shaper *s = shaper_create(2, 16);
	struct shaper_cfg slow = { 8000, 1500, 5000 },
			  fast = { 8000000, 15000, 50 };
	struct released r = { 0, 0, 0 };
	struct shaper_stats st;

	shaper_set(s, 0, &slow, 0);
	shaper_submit(s, 0, 1, 1500, 0, 0, no_drop, NULL);
	ck_assert_int_eq(shaper_submit(s, 0, 2, 1500, 0, 0, no_drop, NULL),
			 SHAPER_HOLD);
	ck_assert_int_eq(shaper_submit(s, 0, 3, 1500, 0, 0, no_drop, NULL),
			 SHAPER_HOLD);
	/* a new rate applies to what is held */
	ck_assert_int_eq(shaper_set(s, 0, &fast, 1000), 0);
	shaper_run(s, 5000, on_release, &r);
	ck_assert_uint_eq(r.n, 2);
	shaper_get_stats(s, 0, &st);
	ck_assert_uint_eq(st.backlog, 0);
	/* taking a bucket out of use releases its packets */
	shaper_set(s, 1, &slow, 0);
	shaper_submit(s, 1, 4, 1500, 0, 0, no_drop, NULL);
	ck_assert_int_eq(shaper_submit(s, 1, 5, 1500, 0, 0, no_drop, NULL),
			 SHAPER_HOLD);
	shaper_clear(s, 1, on_release, &r);
	ck_assert_uint_eq(r.last_id, 5);
	ck_assert(!shaper_in_use(s, 1));
	ck_assert_int_eq(shaper_submit(s, 1, 6, 1500, 0, 0, no_drop, NULL),
			 SHAPER_PASS);
	ck_assert_int_eq(shaper_set(s, 9, &slow, 0), -EINVAL);
	shaper_destroy(s);
}
END_TEST

static void on_release_by_flow(void *ctx, uint64_t id, int pass)
{
	uint64_t *bytes = ctx;

	ck_assert(pass);
	bytes[id % 2] += lens[id % (1 << 16)];
}

/* Two greedy flows in one bucket share it; neither locks the other out.
 * Packet ids: even for flow 0 (8x the rate), odd for flow 1 (4x). Loop 1:
 * flow hashes that fall on the same subqueue by plain hashing. */
static const uint32_t fair_hashes[][2] = {
	{ 0x1234, 0x9e37 },
	{ 0x1234, 0x1234 + 7 * SHAPER_SUBQUEUES },
};

START_TEST(test_flows_in_a_bucket_share_fairly)
{
	struct shaper *s = shaper_create(1, 256);
	struct shaper_cfg c = { 1000000, 3000, 50 };
	uint64_t t, got[2] = { 0, 0 };
	uint32_t n = 0;

	shaper_set(s, 0, &c, 0);
	for (t = 0; t < 10000000; t += 500, n++) {
		uint32_t f = n % 3 == 2, pid = 2 * n + f;

		lens[pid % (1 << 16)] = 1500;
		if (shaper_submit(s, 0, pid, 1500, fair_hashes[_i][f], t,
				  count_drop, NULL) == SHAPER_PASS)
			got[f] += 1500;
		shaper_run(s, t, on_release_by_flow, got);
	}
	/* 1.25 MB in 10 s, split evenly: each flow within 10 % of half */
	ck_assert_uint_ge(got[0] + got[1], 1250000);
	ck_assert_uint_ge(got[0], 1250000 / 2 * 9 / 10);
	ck_assert_uint_ge(got[1], 1250000 / 2 * 9 / 10);
	{
		struct shaper_stats st;

		shaper_get_stats(s, 0, &st);
		ck_assert_uint_gt(st.dropped, 0);
	}
	shaper_destroy(s);
}
END_TEST

START_TEST(test_buckets_are_independent)
{
	struct shaper *s = shaper_create(2, 64);
	struct shaper_cfg c = { 80000, 1500, 1000 };
	uint64_t d0, d1, b0, b1;

	shaper_set(s, 0, &c, 0);
	shaper_set(s, 1, &c, 0);
	b0 = offer(s, 0, 1000, 100, 5, &d0); /* 8x the rate */
	b1 = offer(s, 1, 100, 10, 5, &d1);   /* under the rate */
	ck_assert_uint_le(b0, 50000 + 1500 + 1000);
	ck_assert_uint_eq(b1, 100 * 10 * 5);
	ck_assert_uint_eq(d1, 0);
	shaper_destroy(s);
}
END_TEST

START_TEST(test_one_bucket_cannot_take_the_pool_from_another)
{
	struct shaper *s = shaper_create(2, 8);
	struct shaper_cfg c = { 8000, 1500, 10000 }; /* 1000 B/s, 10 s */
	int i;

	shaper_set(s, 0, &c, 0);
	shaper_set(s, 1, &c, 0);
	/* bucket 0 empties its tokens, then holds the whole pool of 8 */
	ck_assert_int_eq(shaper_submit(s, 0, 0, 1500, 0, 0, no_drop, NULL),
			 SHAPER_PASS);
	for (i = 1; i <= 8; i++)
		ck_assert_int_eq(shaper_submit(s, 0, (uint32_t)i, 100, 0, 0,
					       no_drop, NULL),
				 SHAPER_HOLD);
	ck_assert_uint_eq(shaper_held(s), 8);
	/* bucket 1 at once over its rate: it gets its packets held, each
	 * taken from bucket 0, until they hold half the pool each */
	ck_assert_int_eq(shaper_submit(s, 1, 100, 1500, 0, 0, no_drop, NULL),
			 SHAPER_PASS);
	held_dropped = 0;
	for (i = 1; i <= 4; i++)
		ck_assert_int_eq(shaper_submit(s, 1, 100 + (uint32_t)i, 100, 0,
					       0, count_held_drop, NULL),
				 SHAPER_HOLD);
	ck_assert_uint_eq(held_dropped, 4);
	/* bucket 0's oldest went first */
	ck_assert_uint_eq(last_held_dropped, 4);
	ck_assert_uint_eq(shaper_held(s), 8);
	{
		struct shaper_stats a, b;

		shaper_get_stats(s, 0, &a);
		shaper_get_stats(s, 1, &b);
		ck_assert_uint_eq(a.backlog, 4);
		ck_assert_uint_eq(b.backlog, 4);
		ck_assert_uint_eq(a.dropped, 4);
		ck_assert_uint_eq(b.dropped, 0);
	}
	shaper_destroy(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shaper");
	TCase *c = tcase_create("buckets");

	tcase_set_timeout(c, 30);
	tcase_add_test(c, test_rate_holds_under_tenfold_load);
	tcase_add_test(c, test_rate_256k_and_under_rate_untouched);
	tcase_add_test(c, test_super_packet_leaves_a_debt);
	tcase_add_test(c, test_hold_pool_bounds_what_is_held);
	tcase_add_test(c, test_reconfigure_keeps_and_clear_releases);
	tcase_add_loop_test(c, test_flows_in_a_bucket_share_fairly, 0, 2);
	tcase_add_test(c, test_buckets_are_independent);
	tcase_add_test(c, test_one_bucket_cannot_take_the_pool_from_another);
	suite_add_tcase(s, c);
	return check_run(s);
}
