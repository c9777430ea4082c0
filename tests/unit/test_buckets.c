/* Throttle rules to shaper bucket pairs (buckets.h): a reload keeps a
 * department's pairs whatever else changes, frees the pairs of rules that
 * went, and never gives a new rule a pair the old map still uses. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "policy_text.h"
#include "daemon/buckets.h"

/* the pair of the @nth rule (0-based) of department @name */
static int32_t pair(const struct bucket_map *m, const struct policy *p,
		    const char *name, int16_t nth)
{
	return buckets_pair_of(m, dept_index(p, name), nth);
}

START_TEST(test_a_reload_keeps_each_departments_pairs)
{
	struct policy *a = parse(
		"department sales { hosts 192.0.2.64/26; skype throttle 1Mbit; any throttle 5Mbit; }\n"
		"department eng { hosts 192.0.2.128/26; skype allow; }\n"
		"department ops { hosts 192.0.2.0/26; skype throttle 256kbit; }\n");
	/* new rates, a department added first, ops gone, eng throttled */
	struct policy *b = parse(
		"department lab { hosts 192.0.2.192/27; skype throttle 2Mbit; }\n"
		"department sales { hosts 192.0.2.64/26; skype throttle 512kbit; any throttle 4Mbit; }\n"
		"department eng { hosts 192.0.2.128/26; skype throttle 64kbit; }\n");
	struct bucket_map ma, mb;
	int32_t s0, s1, ops;

	ck_assert_int_eq(buckets_map(a, NULL, &ma), 0);
	s0 = pair(&ma, a, "sales", 0);
	s1 = pair(&ma, a, "sales", 1);
	ops = pair(&ma, a, "ops", 0);
	ck_assert_int_ge(s0, 0);
	ck_assert_int_ge(s1, 0);
	ck_assert_int_ne(s0, s1);
	ck_assert_int_eq(pair(&ma, a, "eng", 0), -1); /* allow: no pair */
	ck_assert_int_eq(buckets_map(b, &ma, &mb), 0);
	/* sales keeps both pairs, by place among its throttle rules */
	ck_assert_int_eq(pair(&mb, b, "sales", 0), s0);
	ck_assert_int_eq(pair(&mb, b, "sales", 1), s1);
	/* the new rules take pairs the old map did not use: not ops' (its
	 * held packets are released first), not sales' */
	ck_assert_int_ne(pair(&mb, b, "lab", 0), ops);
	ck_assert_int_ne(pair(&mb, b, "eng", 0), ops);
	ck_assert_int_ne(pair(&mb, b, "lab", 0), s0);
	ck_assert_int_ne(pair(&mb, b, "lab", 0), pair(&mb, b, "eng", 0));
	ck_assert_uint_eq(mb.used[ops], 0); /* ops' pair is free now */
	ck_assert_uint_eq(mb.used[s0], 1);
	ck_assert_str_eq(mb.keys[s1].dept, "sales");
	ck_assert_uint_eq(mb.keys[s1].ordinal, 1);
	/* out of range asks give no pair */
	ck_assert_int_eq(buckets_pair_of(&mb, 99, 0), -1);
	ck_assert_int_eq(buckets_pair_of(&mb, 0, -1), -1);
	buckets_free(&ma);
	buckets_free(&mb);
	policy_free(a);
	policy_free(b);
}
END_TEST

START_TEST(test_more_throttle_rules_than_pairs_are_refused)
{
	size_t cap = (BUCKET_PAIRS + 2) * 80 + 64, o = 0;
	char *text = malloc(cap);
	struct bucket_map m;
	struct policy *p;
	int i;

	for (i = 0; i <= BUCKET_PAIRS; i++)
		o += (size_t)snprintf(
			text + o, cap - o,
			"department d%d { hosts 2001:db8:%x::/48; "
			"any throttle 1Mbit; }\n",
			i, i);
	p = parse(text);
	ck_assert_int_eq(buckets_map(p, NULL, &m), -ENOSPC);
	ck_assert_ptr_null(m.of);
	policy_free(p);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buckets");
	TCase *c = tcase_create("map");

	tcase_add_test(c, test_a_reload_keeps_each_departments_pairs);
	tcase_add_test(c, test_more_throttle_rules_than_pairs_are_refused);
	suite_add_tcase(s, c);
	return check_run(s);
}
