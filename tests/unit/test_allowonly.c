/* Allow-only departments (issue 29): which departments the kernel may pass
 * without skyfenced (policy_dept_allow_only), and the mark verdict such a
 * flow carries (MARK_UNINSPECTED), which no verdict of skyfenced gives.
 * Names resolve through a fixed fake table, as in test_policy.c. */
#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/action.h"
#include "core/mark.h"
#include "core/verdict.h"
#include "policy/policy.h"

static const struct {
	const char *name;
	int id;
} protos[] = {
	{ "Unknown", 0 },    { "DNS", 5 },	     { "HTTP", 7 },
	{ "SkypeCall", 38 }, { "Skype_Teams", 125 }, { "Teams", 250 },
};

static int fake_proto_id(void *ctx, const char *n)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcasecmp(protos[i].name, n) == 0)
			return protos[i].id;
	return -1;
}

static int fake_cat_id(void *ctx, const char *n)
{
	(void)ctx;
	return strcasecmp(n, "Web") == 0 ? 5 : -1;
}

static const struct policy_names names = {
	fake_proto_id, fake_cat_id, NULL, NULL, 300, NULL, 0, 0
};

static struct policy *parse(const char *text)
{
	struct policy_parser *pp = policy_parser_create("t", &names);
	struct policy *p;
	const char *s = text;
	unsigned i;

	ck_assert_ptr_nonnull(pp);
	while (*s) {
		size_t n = strcspn(s, "\n");
		char *line = strndup(s, n);

		policy_parser_line(pp, line);
		free(line);
		s += n + (s[n] == '\n');
	}
	p = policy_parser_finish(pp);
	for (i = 0; i < policy_parser_error_count(pp); i++)
		fprintf(stderr, "%s\n", policy_parser_error(pp, i));
	policy_parser_destroy(pp);
	ck_assert_msg(p != NULL, "the policy does not parse:\n%s", text);
	return p;
}

static int dept_index(const struct policy *p, const char *name)
{
	uint32_t i;

	for (i = 0; i < p->n_depts; i++)
		if (strcmp(p->depts[i].name, name) == 0)
			return (int)i;
	ck_abort_msg("no department %s", name);
	return -1;
}

/* The lab's finance and a guests department with @guests as its body;
 * @more after both. Whether guests is allow-only. */
static int guests_allow_only(const char *guests, const char *more)
{
	char text[2048];
	struct policy *p;
	int r;

	snprintf(text, sizeof(text),
		 "department finance {\n hosts 192.0.2.0/26;\n skype drop;\n}\n"
		 "department guests {\n hosts 192.0.2.192/27;\n%s\n}\n%s\n",
		 guests, more);
	p = parse(text);
	r = policy_dept_allow_only(p, (uint16_t)dept_index(p, "guests"));
	ck_assert_int_eq(policy_has_allow_only(p), r);
	policy_free(p);
	return r;
}

START_TEST(test_a_department_that_only_allows_and_logs_nothing_is_allow_only)
{
	ck_assert_int_eq(guests_allow_only(" log none;", ""), 1);
	/* the default log (rules), no rule at all */
	ck_assert_int_eq(guests_allow_only("", ""), 1);
	ck_assert_int_eq(guests_allow_only(" log none;\n skype allow;\n"
					   " protocol \"HTTP\" allow;",
					   ""),
			 1);
	/* an allow in a window is an allow whatever the window */
	ck_assert_int_eq(guests_allow_only(" skype allow during w cut;",
					   "window w { zone UTC; time "
					   "08:00-18:00; }"),
			 1);
}
END_TEST

START_TEST(test_anything_but_a_plain_allow_inspects_the_department)
{
	static const char *const bodies[] = {
		" log all;",
		" fail-closed;",
		" skype drop;",
		" skype reject;",
		" skype throttle 1Mbit;",
		" skype allow log;",
		" skype allow mark dscp ef;",
		" protocol \"HTTP\" allow;\n skype drop;",
		" inbound skype drop;",
		" any to 203.0.113.0/24 drop;",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		ck_assert_msg(guests_allow_only(bodies[i], "") == 0,
			      "allow-only with%s", bodies[i]);
	/* a drop only in a window: at its boundary a cut re-decides */
	ck_assert_int_eq(guests_allow_only(" skype drop during w cut;",
					   "window w { zone UTC; time "
					   "08:00-18:00; }"),
			 0);
}
END_TEST

START_TEST(test_identity_or_a_kill_switch_in_the_policy_means_none)
{
	/* a group could move a guest's address into finance */
	ck_assert_int_eq(guests_allow_only(" log none;",
					   "department staff { groups staff; "
					   "}"),
			 0);
	ck_assert_int_eq(guests_allow_only(" log none;\n groups visitors;", ""),
			 0);
	/* a host no identity names would be decided as the default block */
	ck_assert_int_eq(
		guests_allow_only(" log none;\n identity required;", ""), 0);
	ck_assert_int_eq(guests_allow_only(" log none;",
					   "department lab { hosts "
					   "192.0.2.64/26; identity required; "
					   "}"),
			 0);
	ck_assert_int_eq(guests_allow_only(" log none;", "killswitch skype;"),
			 0);
}
END_TEST

START_TEST(test_the_default_block_and_internal_prefixes_are_never_allow_only)
{
	struct policy *p = parse("internal 192.0.2.0/24;\n"
				 "department guests { hosts 192.0.2.192/27; "
				 "log none; }\n"
				 "default { log none; }\n");

	ck_assert_int_eq(policy_dept_allow_only(p, POLICY_DEFAULT_DEPT), 0);
	/* the "internal" pseudo-prefix's owner, and past the end */
	ck_assert_int_eq(policy_dept_allow_only(p, UINT16_MAX), 0);
	ck_assert_int_eq(policy_dept_allow_only(p, (uint16_t)p->n_depts), 0);
	ck_assert_int_eq(
		policy_dept_allow_only(p, (uint16_t)dept_index(p, "guests")),
		1);
	policy_free(p);
	p = parse("default { log none; }\n");
	ck_assert_int_eq(policy_has_allow_only(p), 0);
	policy_free(p);
}
END_TEST

START_TEST(test_uninspected_is_a_mark_value_skyfenced_never_gives)
{
	static const uint32_t masks[] = { MARK_DEFAULT_MASK, 0xffff0000u };
	struct verdict_step vs;
	struct mark_layout l;
	size_t i;

	for (i = 0; i < 2; i++) {
		uint32_t m;

		ck_assert_int_eq(mark_layout_init(&l, masks[i]), 0);
		m = mark_encode(&l, 0x1ff, MARK_UNINSPECTED, 0);
		ck_assert_int_eq(mark_verdict_of(&l, m), MARK_UNINSPECTED);
		ck_assert_uint_eq(m & l.verdict_mask,
				  mark_verdict_value(&l, MARK_UNINSPECTED));
		ck_assert_uint_eq(mark_verdict_value(&l, MARK_UNINSPECTED),
				  5u << l.shift);
		ck_assert_uint_eq(m & ~l.mask, 0x1ffu & ~l.mask);
		/* the kernel's flow: the engine sees a packet of it (no
		 * verdict taken from the mark) */
		ck_assert_int_eq(verdict_from_mark(&l, m | l.queued, &vs), 0);
		/* the field's other values mean none */
		ck_assert_int_eq(mark_verdict_of(&l, 6u << l.shift), MARK_NONE);
		ck_assert_int_eq(mark_verdict_of(&l, 7u << l.shift), MARK_NONE);
	}
	/* not a verdict of skyfenced: what counts those stops before it */
	ck_assert_int_ge(MARK_UNINSPECTED, MARK_VERDICT_MAX);
	for (i = 0; i < ACT_MAX; i++)
		ck_assert_int_ne(verdict_mark_of_action((uint8_t)i),
				 MARK_UNINSPECTED);
	ck_assert_str_eq(verdict_mark_name(MARK_UNINSPECTED), "uninspected");
	ck_assert_str_eq(verdict_mark_name(MARK_NONE), "-");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("allowonly");
	TCase *c = tcase_create("allowonly");

	tcase_add_test(
		c,
		test_a_department_that_only_allows_and_logs_nothing_is_allow_only);
	tcase_add_test(c,
		       test_anything_but_a_plain_allow_inspects_the_department);
	tcase_add_test(c,
		       test_identity_or_a_kill_switch_in_the_policy_means_none);
	tcase_add_test(
		c,
		test_the_default_block_and_internal_prefixes_are_never_allow_only);
	tcase_add_test(c,
		       test_uninspected_is_a_mark_value_skyfenced_never_gives);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return check_run(suite());
}
