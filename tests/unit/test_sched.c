/* The schedule's words (daemon/sched.h): the change record's text of a
 * boundary (which windows, the rules they switch, a step, boundaries
 * passed together, a start after a stop), and what status shows of the
 * next boundary, in the window's zone. The clock itself (win_clock_tick)
 * is test_window's; a boundary on live flows is tests/netns's. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "daemon/daemon_int.h"
#include "daemon/sched.h"
#include "policy/window.h"
#include "policy_text.h"

/* 2026-12-08T17:00:00Z: 18:00 CET */
#define B_BERLIN 1796749200
/* 2026-12-08T23:00:00Z: 18:00 EST */
#define B_NY 1796770800

static const char two_windows[] =
	"options { zone \"Europe/Berlin\"; }\n"
	"window office { time 08:00-18:00; }\n"
	"window lunch { time 12:00-13:00; }\n"
	"window unused { zone \"America/New_York\"; time 08:00-18:00; }\n"
	"department sales {\n"
	"  hosts 192.0.2.0/24;\n"
	"  teams allow during office cut;\n"
	"  any drop outside office finish;\n"
	"}\n"
	"department eng {\n"
	"  hosts 198.51.100.0/24;\n"
	"  teams drop during lunch cut;\n"
	"}\n";

START_TEST(test_a_window_closes)
{
	struct policy *p = parse(two_windows);
	struct win_tick t = { 0, 1, 0, 1 }; /* office closed */
	char out[2048];

	ck_assert_uint_eq(dept_index(p, "sales"), 1);
	sched_describe(p, &t, 0, out, sizeof(out));
	ck_assert_str_eq(out, "schedule: window office closed (sales: teams "
			      "allow during office cut; sales: any drop "
			      "outside office finish)");
	policy_free(p);
}
END_TEST

START_TEST(test_two_windows_and_an_unused_one)
{
	struct policy *p = parse(two_windows);
	/* office opens, lunch opens, unused (no rule) changes too */
	struct win_tick t = { 3, 7, 0, 3 };
	char out[2048];

	sched_describe(p, &t, 0, out, sizeof(out));
	ck_assert_str_eq(out,
			 "schedule: window office opened (sales: teams "
			 "allow during office cut; sales: any drop "
			 "outside office finish), window lunch opened "
			 "(eng: teams drop during lunch cut) (3 boundaries "
			 "passed, applied as one)");
	policy_free(p);
}
END_TEST

START_TEST(test_a_step)
{
	struct policy *p = parse(two_windows);
	struct win_tick f = { 0, 1, 604800, 10 }, b = { 1, 1, -3600, 1 };
	char out[2048];

	sched_describe(p, &f, 0, out, sizeof(out));
	ck_assert_ptr_nonnull(
		strstr(out, "outside office finish) (the clock stepped "
			    "forwards 604800 s; 10 boundaries passed, "
			    "applied as one)"));
	sched_describe(p, &b, 0, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "window office opened"));
	ck_assert_ptr_nonnull(
		strstr(out, "finish) (the clock stepped backwards 3600 s)"));
	policy_free(p);
}
END_TEST

START_TEST(test_missed_at_start)
{
	struct policy *p = parse(two_windows);
	struct win_tick t = { 0, 1, 0, 0 };
	char out[2048];

	sched_describe(p, &t, B_BERLIN - 60, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "finish) (at start: missed while "
					  "skyfenced was down since "
					  "2026-12-08T16:59:00Z)"));
	policy_free(p);
}
END_TEST

START_TEST(test_a_temporary_rule_ends)
{
	struct policy *p =
		parse("department sales {\n"
		      "  hosts 192.0.2.0/24;\n"
		      "  teams allow until 2099-12-08T17:00:00Z finish;\n"
		      "  teams drop;\n"
		      "}\n");
	struct win_tick t = { 0, 1, 0, 1 };
	char out[2048];

	ck_assert_uint_eq(p->n_windows, 1);
	sched_describe(p, &t, 0, out, sizeof(out));
	ck_assert_str_eq(out, "schedule: temporary rule ended at "
			      "2099-12-08T17:00:00Z (sales: teams allow until "
			      "2099-12-08T17:00:00Z finish)");
	policy_free(p);
}
END_TEST

/* A daemon with nothing but its options and the running policy: the
 * schedule's clock is the machine's plus the offset, set so that now is
 * an hour (give or take the second the test takes) before @b. */
static void view_at(struct policy *p, int64_t b, struct sched_view *v)
{
	static struct daemon_opts o;
	struct daemon d;

	memset(&d, 0, sizeof(d));
	o.clock_offset = b - 3600 - (int64_t)time(NULL);
	d.o = &o;
	d.run.pol = p;
	sched_get_view(&d, v);
}

START_TEST(test_status_next_boundary)
{
	struct policy *p = parse(two_windows);
	struct sched_view v;

	view_at(p, B_BERLIN, &v);
	ck_assert(v.on);
	ck_assert_uint_eq(v.n, 3);
	ck_assert_str_eq(v.w[0].name, "office");
	/* no schedule running: nothing applied, every window closed */
	ck_assert_str_eq(v.windows,
			 "office closed, lunch closed, unused closed");
	ck_assert_int_eq(v.next, B_BERLIN);
	ck_assert_str_eq(v.next_local, "2026-12-08 18:00:00 CET");
	ck_assert_msg(!strcmp(v.switches,
			      "in 1h 0m: office opens: sales teams allow "
			      "during office cut (line 7); sales any drop "
			      "outside office finish (line 8)") ||
			      !strncmp(v.switches, "in 59m 59s: office", 18),
		      "%s", v.switches);
	policy_free(p);
}
END_TEST

/* A window no rule uses that changes sixteen times a day does not hide
 * the next boundary of one a rule uses, days away, behind "none". */
START_TEST(test_status_next_boundary_behind_a_busy_unused_window)
{
	struct policy *p =
		parse("window busy { zone UTC; time 00:00-01:00, 02:00-03:00, "
		      "04:00-05:00, 06:00-07:00, 08:00-09:00, 10:00-11:00, "
		      "12:00-13:00, 14:00-15:00; }\n"
		      "window weekend { zone UTC; days sat; time "
		      "10:00-11:00; }\n"
		      "department sales { hosts 192.0.2.0/24; teams drop "
		      "during weekend cut; }\n");
	/* Saturday 2026-12-12T10:00:00Z, viewed from Monday 12:00Z */
	const int64_t sat = 1797069600, now = sat - 4 * 86400 - 22 * 3600;
	static struct daemon_opts o;
	struct sched_view v;
	struct daemon d;

	memset(&d, 0, sizeof(d));
	o.clock_offset = now - (int64_t)time(NULL);
	d.o = &o;
	d.run.pol = p;
	sched_get_view(&d, &v);
	ck_assert_int_eq(v.next, sat);
	ck_assert_msg(!strncmp(v.switches,
			       "in 4d 21h: weekend opens: sales "
			       "teams drop during weekend cut",
			       52) ||
			      !strncmp(v.switches, "in 4d 22h: weekend", 18),
		      "%s", v.switches);
	policy_free(p);
}
END_TEST

START_TEST(test_status_in_new_york)
{
	struct policy *p =
		parse("window office { zone \"America/New_York\"; time "
		      "08:00-18:00; }\n"
		      "department sales { hosts 192.0.2.0/24; teams allow "
		      "during office cut; }\n");
	struct sched_view v;

	view_at(p, B_NY, &v);
	ck_assert_int_eq(v.next, B_NY);
	ck_assert_str_eq(v.next_local, "2026-12-08 18:00:00 EST");
	policy_free(p);
}
END_TEST

START_TEST(test_status_without_windows)
{
	struct policy *p = parse("department sales { hosts 192.0.2.0/24; "
				 "teams drop; }\n");
	struct sched_view v;

	view_at(p, B_BERLIN, &v);
	ck_assert(!v.on);
	ck_assert_int_eq(v.next, WIN_NEVER);
	ck_assert_str_eq(v.windows, "");
	policy_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("words");

	tcase_add_test(tc, test_a_window_closes);
	tcase_add_test(tc, test_two_windows_and_an_unused_one);
	tcase_add_test(tc, test_a_step);
	tcase_add_test(tc, test_missed_at_start);
	tcase_add_test(tc, test_a_temporary_rule_ends);
	tcase_add_test(tc, test_status_next_boundary);
	tcase_add_test(tc, test_status_in_new_york);
	tcase_add_test(tc, test_status_without_windows);
	tcase_add_test(tc,
		       test_status_next_boundary_behind_a_busy_unused_window);
	suite_add_tcase(s, tc);
	return check_run(s);
}
