/* Counters per department and app (stats.c): found by the department's
 * index, and kept with their department by name when a policy change
 * moves, removes and brings it back. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "policy_text.h"
#include "daemon/stats.h"
#include "sys/hostport.h"

#include <netinet/in.h>

/* the one slot of @dept and @app, or NULL; fails on two */
static const struct app_stat *slot_in(const struct app_stat *apps,
				      const char *dept, uint16_t app)
{
	const struct app_stat *found = NULL;
	uint32_t i;

	for (i = 0; i < APP_STATS; i++)
		if (apps[i].dept[0] && !strcmp(apps[i].dept, dept) &&
		    apps[i].app == app) {
			ck_assert_msg(!found, "%s/%u counted twice", dept, app);
			found = &apps[i];
		}
	return found;
}

/* a worker's counters and the policy it runs */
struct counted {
	struct stats_counts sc;
	const struct policy *pol;
};

static const struct app_stat *slot(const struct counted *w, const char *dept,
				   uint16_t app)
{
	return slot_in(w->sc.apps, dept, app);
}

static void count(struct counted *w, const char *dept, uint16_t app,
		  uint32_t bytes)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.dept = (uint16_t)dept_index(w->pol, dept);
	f.cls.master = 91;
	f.cls.app = app;
	stats_count_packet(&w->sc, w->pol, &f, bytes);
}

START_TEST(test_counters_follow_their_department_across_policies)
{
	static const char a[] = "department sales { hosts 192.0.2.64/26; }\n"
				"department eng { hosts 192.0.2.128/26; }\n";
	/* eng moves first, sales goes, lab comes */
	static const char b[] = "department lab { hosts 192.0.2.192/27; }\n"
				"department eng { hosts 192.0.2.128/26; }\n";
	struct counted d;
	struct policy *pa = parse(a), *pb = parse(b), *pc = parse(a);

	memset(&d, 0, sizeof(d));
	d.sc.apps = calloc(APP_STATS, sizeof(*d.sc.apps));
	d.pol = pa;
	count(&d, "sales", 125, 100);
	count(&d, "eng", 125, 1000);
	count(&d, "eng", 125, 1000);
	count(&d, "eng", 7, 10);
	ck_assert_uint_eq(slot(&d, "eng", 125)->pkts, 2);
	ck_assert_uint_eq(slot(&d, "eng", 125)->bytes, 2000);
	stats_remap(d.sc.apps, pb);
	d.pol = pb;
	count(&d, "eng", 125, 1000);
	count(&d, "lab", 125, 5);
	/* one slot each: eng's counters went on, under its new index */
	ck_assert_uint_eq(slot(&d, "eng", 125)->pkts, 3);
	ck_assert_uint_eq(slot(&d, "eng", 125)->dept_idx,
			  dept_index(pb, "eng"));
	ck_assert_uint_eq(slot(&d, "eng", 7)->pkts, 1);
	ck_assert_uint_eq(slot(&d, "lab", 125)->bytes, 5);
	/* sales is gone from the policy: its counters stay, found by no
	 * packet */
	ck_assert_uint_eq(slot(&d, "sales", 125)->pkts, 1);
	ck_assert_uint_eq(slot(&d, "sales", 125)->dept_idx, APP_STAT_GONE);
	/* sales back: the same slot counts on */
	stats_remap(d.sc.apps, pc);
	d.pol = pc;
	count(&d, "sales", 125, 100);
	ck_assert_uint_eq(slot(&d, "sales", 125)->pkts, 2);
	ck_assert_uint_eq(slot(&d, "eng", 125)->pkts, 3);
	ck_assert_uint_eq(slot(&d, "lab", 125)->dept_idx, APP_STAT_GONE);
	free(d.sc.apps);
	policy_free(pa);
	policy_free(pb);
	policy_free(pc);
}
END_TEST

/* Two workers' counters, one set: summed by department name and app,
 * a department gone from the policy included. */
START_TEST(test_workers_counters_merge_by_department)
{
	static const char a[] = "department sales { hosts 192.0.2.64/26; }\n"
				"department eng { hosts 192.0.2.128/26; }\n";
	static const char b[] = "department eng { hosts 192.0.2.128/26; }\n";
	struct policy *pa = parse(a), *pb = parse(b);
	struct counted w0, w1;
	struct app_stat *all = calloc(APP_STATS, sizeof(*all));

	memset(&w0, 0, sizeof(w0));
	memset(&w1, 0, sizeof(w1));
	w0.sc.apps = calloc(APP_STATS, sizeof(*w0.sc.apps));
	w1.sc.apps = calloc(APP_STATS, sizeof(*w1.sc.apps));
	w0.pol = w1.pol = pa;
	count(&w0, "sales", 125, 100);
	count(&w1, "sales", 125, 50);
	count(&w0, "eng", 125, 1000);
	count(&w1, "eng", 7, 10);
	stats_remap(w0.sc.apps, pb);
	stats_remap(w1.sc.apps, pb);
	w0.pol = w1.pol = pb;
	count(&w1, "eng", 125, 1000);
	stats_merge_apps(all, w0.sc.apps);
	stats_merge_apps(all, w1.sc.apps);
	ck_assert_uint_eq(slot_in(all, "sales", 125)->pkts, 2);
	ck_assert_uint_eq(slot_in(all, "sales", 125)->bytes, 150);
	ck_assert_uint_eq(slot_in(all, "eng", 125)->pkts, 2);
	ck_assert_uint_eq(slot_in(all, "eng", 125)->bytes, 2000);
	ck_assert_uint_eq(slot_in(all, "eng", 7)->pkts, 1);
	free(all);
	free(w0.sc.apps);
	free(w1.sc.apps);
	policy_free(pa);
	policy_free(pb);
}
END_TEST

/* The address options (--metrics-listen, --radius-listen): IPv6
 * only in brackets, so an unbracketed one is refused, not split. */
START_TEST(test_address_options_are_parsed_strictly)
{
	static const char *const bad[] = {
		"192.0.2.1",	     "192.0.2.1:",
		"192.0.2.1:0",	     "192.0.2.1:65536",
		"192.0.2.1:80x",     "2001:db8::1:3790",
		"[2001:db8::1]3790", "[192.0.2.1]:80",
		"host.example:80",   ":80"
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned i;

	ck_assert_int_eq(hostport_parse("192.0.2.1:3790", &ss, &sl), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 3790);
	ck_assert_int_eq(hostport_parse("[2001:db8::1]:3790", &ss, &sl), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(sl, sizeof(struct sockaddr_in6));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(hostport_parse(bad[i], &ss, &sl) != 0,
			      "%s accepted", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *c = tcase_create("counters");

	tcase_add_test(c,
		       test_counters_follow_their_department_across_policies);
	tcase_add_test(c, test_workers_counters_merge_by_department);
	tcase_add_test(c, test_address_options_are_parsed_strictly);
	suite_add_tcase(s, c);
	return check_run(s);
}
