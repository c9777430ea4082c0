/* The report's sums (report.h) over handcrafted audit trails, every line
 * a valid link of a chain made by audit_chain_line (but where a test
 * breaks it), the expected figures worked out by hand from the records:
 * a session counted once with its flow's last decision; bytes through,
 * cut by a change and attempted; the changes with their uid and what they
 * cut; rotated files, one gzipped, given in any order, summed as the one
 * file they were; a gap's losses by cause (a stop's repeated record
 * once); a broken chain named as `audit verify` names it, the sums still
 * made; local days of 23 and 25 hours in Europe/Berlin; --since/--until,
 * --department, the top hosts and users, the evidence; lines that are no
 * record, one longer than any record, strings with JSON escapes. */
#define _GNU_SOURCE /* timegm, mkdtemp */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check_run.h"
#include "audit/chain.h"
#include "policy/tz.h"
#include "report/report.h"

#define DAY 1796601600000LL /* 2026-12-07 00:00 UTC, a Monday */
#define MIN 60000LL

/* ---- records as skyfenced lays them out (audit.c, auditrec.c) ---- */

static char fields[AUDIT_LINE_MAX];

static const char *app_name(unsigned id)
{
	switch (id) {
	case 38:
		return "STUN.SkypeCall";
	case 125:
		return "TLS.Skype_Teams";
	case 250:
		return "TLS.Teams";
	case 5:
		return "DNS";
	default:
		return "TLS";
	}
}

/* ,"user":"U","groups":["G"] or nothing */
static const char *who(const char *user, const char *dept)
{
	static char b[256];

	if (!user)
		return "";
	snprintf(b, sizeof(b), ",\"user\":\"%s\",\"groups\":[\"%s\"]", user,
		 dept);
	return b;
}

/* A flow from @ini:@port to a Microsoft address, outbound. */
static const char *dec(int64_t ts, const char *ini, unsigned port,
		       const char *dept, const char *user, unsigned app_id,
		       const char *evidence, const char *action)
{
	snprintf(
		fields, sizeof(fields),
		"\"ts_ms\":%lld,\"event\":\"decision\","
		"\"flow\":\"TCP|%s|%u|52.112.0.1|443|0\",\"initiator\":\"%s\","
		"\"initiator_port\":%u,\"department\":\"%s\"%s,\"rule\":"
		"\"skype %s\",\"app\":\"%s\",\"app_id\":%u,\"confidence\":"
		"\"DPI\",\"evidence\":\"%s\",\"decided_as\":\"%s\",\"host\":"
		"\"api.skype.com\",\"direction\":\"outbound\",\"action\":"
		"\"%s\",\"decided_at\":\"packet\",\"decided_pkt\":4,"
		"\"enforced\":true,\"pkts\":4,\"bytes\":434,\"media\":\"none\"",
		(long long)ts, ini, port, ini, port, dept, who(user, dept),
		action, app_name(app_id), app_id, evidence, app_name(app_id),
		action);
	return fields;
}

/* conntrack's end of that flow: @orig + @reply bytes */
static const char *end(int64_t ts, const char *ini, unsigned port,
		       const char *dept, const char *user, unsigned app_id,
		       const char *action, unsigned long long orig,
		       unsigned long long reply)
{
	snprintf(fields, sizeof(fields),
		 "\"ts_ms\":%lld,\"event\":\"end\","
		 "\"flow\":\"TCP|%s|%u|52.112.0.1|443|0\",\"initiator\":\"%s\","
		 "\"initiator_port\":%u,\"department\":\"%s\"%s,\"rule\":"
		 "\"skype %s\",\"app\":\"%s\",\"app_id\":%u,\"host\":"
		 "\"api.skype.com\",\"evidence\":\"sni\",\"action\":\"%s\","
		 "\"source\":\"conntrack\",\"start_ms\":%lld,\"end_ms\":%lld,"
		 "\"duration_ms\":5000,\"decided_ms\":%lld,\"orig_pkts\":%llu,"
		 "\"orig_bytes\":%llu,\"reply_pkts\":%llu,\"reply_bytes\":%llu,"
		 "\"pkts\":%llu,\"bytes\":%llu",
		 (long long)ts, ini, port, ini, port, dept, who(user, dept),
		 action, app_name(app_id), app_id, action, (long long)ts - 5000,
		 (long long)ts, (long long)ts - 4990, orig / 100 + 1, orig,
		 reply / 100 + 1, reply, orig / 100 + reply / 100 + 2,
		 orig + reply);
	return fields;
}

static const char *redec(int64_t ts, const char *ini, unsigned port,
			 const char *dept, unsigned app_id, const char *old,
			 const char *action, unsigned change, long uid)
{
	snprintf(
		fields, sizeof(fields),
		"\"ts_ms\":%lld,\"event\":\"redecided\","
		"\"flow\":\"TCP|%s|%u|52.112.0.1|443|0\",\"initiator\":\"%s\","
		"\"initiator_port\":%u,\"department\":\"%s\",\"rule\":"
		"\"killswitch\",\"app\":\"Skype_Teams\",\"host\":"
		"\"api.skype.com\",\"app_id\":%u,\"old_action\":\"%s\","
		"\"action\":\"%s\",\"change\":%u,\"uid\":%ld,\"media\":\"none\"",
		(long long)ts, ini, port, ini, port, dept, app_id, old, action,
		change, uid);
	return fields;
}

static const char *change(int64_t ts, unsigned id, long uid, const char *what)
{
	snprintf(
		fields, sizeof(fields),
		"\"ts_ms\":%lld,\"event\":\"change\",\"change\":%u,\"uid\":%ld,"
		"\"what\":\"%s\"",
		(long long)ts, id, uid, what);
	return fields;
}

static const char *start(int64_t ts)
{
	snprintf(fields, sizeof(fields),
		 "\"ts_ms\":%lld,\"event\":\"start\",\"version\":\"0.1.0\","
		 "\"pid\":4242,\"chain\":\"new\",\"repaired_bytes\":0,"
		 "\"rate\":200,\"burst\":2000",
		 (long long)ts);
	return fields;
}

static const char *suppressed(int64_t ts, const char *dept, unsigned n)
{
	snprintf(fields, sizeof(fields),
		 "\"ts_ms\":%lld,\"event\":\"suppressed\",\"suppressed\":%u,"
		 "\"since_ms\":%lld,\"until_ms\":%lld,\"rate\":200,\"burst\":"
		 "2000,\"department\":\"%s\"",
		 (long long)ts, n, (long long)ts - 2000, (long long)ts - 1000,
		 dept);
	return fields;
}

static const char *gap(int64_t ts, unsigned long long lost,
		       enum audit_gap_cause cause, int64_t since)
{
	struct audit_gap g = { .lost = lost,
			       .since_ms = (uint64_t)since,
			       .until_ms = (uint64_t)since + 5000,
			       .cause = cause };

	ck_assert_int_eq(audit_gap_fields(fields, sizeof(fields), (uint64_t)ts,
					  &g, "test"),
			 0);
	return fields;
}

/* ---- a trail fed line by line (report_line), or kept for files ---- */

struct trail {
	struct audit_chain c;
	struct report *r;
	const char *file;
	unsigned long ln;
	char *lines[64]; /* with their newline */
	unsigned n;
};

static void trail_init(struct trail *t, struct report *r)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->c.node, sizeof(t->c.node), "gw1");
	snprintf(t->c.policy, sizeof(t->c.policy), "%064d", 7);
	t->r = r;
	t->file = "mem";
}

/* The next record: to the report if there is one, kept in any case. */
static void add(struct trail *t, const char *f)
{
	char line[AUDIT_LINE_MAX + 2];
	int n = audit_chain_line(&t->c, f, line, sizeof(line));

	ck_assert_msg(n > 0, "a record not made: %s", f);
	if (t->r)
		ck_assert_int_eq(
			report_line(t->r, t->file, ++t->ln, line, (size_t)n, 1),
			0);
	ck_assert_uint_lt(t->n, 64);
	line[n++] = '\n';
	line[n] = '\0';
	t->lines[t->n++] = strdup(line);
}

static void trail_free(struct trail *t)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		free(t->lines[i]);
}

static struct report_opts opts(void)
{
	struct report_opts o = { .since_ms = INT64_MIN,
				 .until_ms = INT64_MAX,
				 .department = NULL,
				 .tz = NULL,
				 .top = 10 };

	return o;
}

static const struct report_dept *dept_named(const struct report *r,
					    const char *name)
{
	size_t n, i;
	const struct report_dept *d = report_departments(r, &n);

	for (i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			return &d[i];
	ck_abort_msg("no department %s", name);
	return NULL;
}

static void expect_sessions(const struct report_dept *d, uint64_t allow,
			    uint64_t drop, uint64_t reject, uint64_t throttle)
{
	ck_assert_msg(d->sessions[REPORT_ALLOW] == allow &&
			      d->sessions[REPORT_DROP] == drop &&
			      d->sessions[REPORT_REJECT] == reject &&
			      d->sessions[REPORT_THROTTLE] == throttle &&
			      d->total == allow + drop + reject + throttle,
		      "%s: allow %llu drop %llu reject %llu throttle %llu "
		      "total %llu; expected %llu %llu %llu %llu",
		      d->name, (unsigned long long)d->sessions[REPORT_ALLOW],
		      (unsigned long long)d->sessions[REPORT_DROP],
		      (unsigned long long)d->sessions[REPORT_REJECT],
		      (unsigned long long)d->sessions[REPORT_THROTTLE],
		      (unsigned long long)d->total, (unsigned long long)allow,
		      (unsigned long long)drop, (unsigned long long)reject,
		      (unsigned long long)throttle);
}

/* ---- files ---- */

static char dir[64];

static void dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_report.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static char *path_of(const char *name)
{
	static char p[4][128];
	static unsigned k;
	char *s = p[k++ % 4];

	snprintf(s, 128, "%s/%s", dir, name);
	return s;
}

/* lines [@from, @to) of @t into @name, gzipped if it ends ".gz" */
static void write_lines(const struct trail *t, unsigned from, unsigned to,
			const char *name)
{
	const char *p = path_of(name);
	size_t n = strlen(name);
	unsigned i;

	if (n > 3 && strcmp(name + n - 3, ".gz") == 0) {
		gzFile g = gzopen(p, "wb");

		ck_assert_ptr_nonnull(g);
		for (i = from; i < to; i++)
			ck_assert_int_eq(gzwrite(g, t->lines[i],
						 (unsigned)strlen(t->lines[i])),
					 (int)strlen(t->lines[i]));
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(p, "w");

		ck_assert_ptr_nonnull(f);
		for (i = from; i < to; i++)
			fputs(t->lines[i], f);
		ck_assert_int_eq(fclose(f), 0);
	}
}

static void dir_remove(const char *const *names, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		unlink(path_of(names[i]));
	rmdir(dir);
}

static struct report *read_files(int n, char **files, const char *dept)
{
	struct report_opts o = opts();
	struct report *r;
	char err[512] = "";

	o.department = dept;
	r = report_create(&o);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(report_read(r, n, files, err, sizeof(err)) == 0, "%s",
		      err);
	report_finish(r);
	return r;
}

/* ---- sessions ---- */

START_TEST(test_a_flow_decided_twice_counts_once_with_its_last_action)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	const struct report_dept *fin, *sales, *d;
	struct trail t;
	size_t n;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, start(DAY));
	/* throttled as Skype_Teams, then a later name: Teams, dropped */
	add(&t, dec(DAY + 1000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "throttle"));
	add(&t, dec(DAY + 1100, "10.0.0.1", 40001, "finance", NULL, 250, "sni",
		    "drop"));
	add(&t, dec(DAY + 2000, "10.0.0.2", 40002, "finance", NULL, 38, "stun",
		    "allow"));
	/* another app: no session */
	add(&t, dec(DAY + 3000, "10.0.0.3", 40003, "finance", NULL, 91,
		    "payload", "allow"));
	add(&t, dec(DAY + 4000, "10.1.0.1", 40004, "sales", NULL, 125, "sni",
		    "reject"));
	add(&t, dec(DAY + 5000, "10.9.0.1", 40005, "default", NULL, 125, "sni",
		    "allow"));
	report_finish(r);

	d = report_departments(r, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(d[0].name, "finance");
	ck_assert_str_eq(d[1].name, "sales");
	ck_assert_str_eq(d[2].name, "default"); /* last */
	fin = dept_named(r, "finance");
	expect_sessions(fin, 1, 1, 0, 0);
	ck_assert_uint_eq(fin->other_decisions, 1);
	sales = dept_named(r, "sales");
	expect_sessions(sales, 0, 0, 1, 0);
	ck_assert_uint_eq(sales->other_decisions, 0);
	expect_sessions(dept_named(r, "default"), 1, 0, 0, 0);
	ck_assert_uint_eq(report_totals(r)->records_in_range, 7);
	ck_assert_uint_eq(report_totals(r)->lines, 7);
	ck_assert_uint_eq(report_totals(r)->starts, 1);
	ck_assert_uint_eq(report_totals(r)->unreadable, 0);
	ck_assert_int_eq(report_totals(r)->first_ms, DAY);
	ck_assert_int_eq(report_totals(r)->last_ms, DAY + 5000);
	ck_assert_int_eq(report_chain(r)->intact, 1);
	ck_assert_uint_eq(report_chain(r)->records, 7);
	ck_assert_uint_eq(report_chain(r)->first_seq, 1);
	ck_assert_uint_eq(report_chain(r)->last_seq, 7);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* A flow is one session as long as it is among the last
 * REPORT_RECENT_FLOWS flows seen; beyond, a new decision is a new one. */
START_TEST(test_a_flow_decided_again_beyond_the_recent_flows_counts_again)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	char ini[32];
	struct trail t;
	unsigned i, others = _i ? REPORT_RECENT_FLOWS : REPORT_RECENT_FLOWS - 1;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t,
	    dec(DAY, "10.0.0.1", 40000, "finance", NULL, 125, "sni", "allow"));
	/* without Check's assertions: each is a write to its pipe */
	for (i = 0; i < others; i++) {
		char line[AUDIT_LINE_MAX + 1];
		int n;

		snprintf(ini, sizeof(ini), "10.2.%u.%u", i / 250, i % 250 + 1);
		n = audit_chain_line(&t.c,
				     dec(DAY + 1 + i, ini, 50000, "finance",
					 NULL, 125, "sni", "allow"),
				     line, sizeof(line));
		if (n < 0 ||
		    report_line(r, t.file, ++t.ln, line, (size_t)n, 1) != 0)
			ck_abort_msg("line %u", i);
	}
	add(&t, dec(DAY + 1 + others, "10.0.0.1", 40000, "finance", NULL, 125,
		    "sni", "drop"));
	report_finish(r);
	if (_i) {
		/* out of the table: counted again, allowed and dropped */
		expect_sessions(dept_named(r, "finance"), others + 1, 1, 0, 0);
		ck_assert_uint_ge(report_totals(r)->recent_evicted, 1);
	} else {
		expect_sessions(dept_named(r, "finance"), others, 1, 0, 0);
		ck_assert_uint_eq(report_totals(r)->recent_evicted, 0);
	}
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* Flows by the hundred thousand through the table of recent ones, each
 * decided again 40,000 flows later (still among the recent): one session
 * each, with its last action, whatever the table evicted meanwhile. */
START_TEST(test_many_flows_each_decided_again_count_once_each)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	char ini[32], line[AUDIT_LINE_MAX + 1];
	struct trail t;
	unsigned i, k, flows = 3 * REPORT_RECENT_FLOWS + 123, later = 40000;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	for (i = 0; i < flows + later; i++) {
		for (k = 0; k < 2; k++) {
			unsigned f = k ? i - later : i;
			int n;

			if ((k && i < later) || (!k && i >= flows))
				continue;
			snprintf(ini, sizeof(ini), "10.%u.%u.%u", f >> 16 & 255,
				 f >> 8 & 255, f & 255);
			n = audit_chain_line(&t.c,
					     dec(DAY + i, ini, 50000, "finance",
						 NULL, 125, "sni",
						 k ? "drop" : "allow"),
					     line, sizeof(line));
			if (n < 0 || report_line(r, t.file, ++t.ln, line,
						 (size_t)n, 1) != 0)
				ck_abort_msg("line %u", i);
		}
	}
	report_finish(r);
	expect_sessions(dept_named(r, "finance"), 0, flows, 0, 0);
	ck_assert_uint_eq(report_totals(r)->recent_evicted,
			  flows - REPORT_RECENT_FLOWS);
	report_destroy(r);
}
END_TEST

/* ---- bytes and changes ---- */

START_TEST(test_bytes_through_cut_by_a_change_and_attempted)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	const struct report_change *c;
	const struct report_dept *fin;
	struct trail t;
	size_t n;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, start(DAY));
	add(&t, dec(DAY + 1000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 1001, "10.0.0.2", 40002, "finance", NULL, 38, "stun",
		    "throttle"));
	add(&t, dec(DAY + 1002, "10.0.0.3", 40003, "finance", NULL, 250, "sni",
		    "allow"));
	add(&t, dec(DAY + 1003, "10.0.0.4", 40004, "finance", NULL, 125, "sni",
		    "drop"));
	add(&t, dec(DAY + 1004, "10.0.0.5", 40005, "finance", NULL, 125, "sni",
		    "reject"));
	add(&t, dec(DAY + 1005, "10.0.0.6", 40006, "finance", NULL, 91,
		    "payload", "allow"));
	add(&t, dec(DAY + 1006, "10.0.0.7", 40007, "finance", NULL, 125, "sni",
		    "drop"));
	/* ended passing: through */
	add(&t, end(DAY + 2000, "10.0.0.1", 40001, "finance", NULL, 125,
		    "allow", 1000, 3000));
	add(&t, end(DAY + 2001, "10.0.0.2", 40002, "finance", NULL, 38,
		    "throttle", 500, 500));
	/* the kill switch cuts 10.0.0.3's flow: all it counted is cut */
	add(&t, change(DAY + 3000, 1, 0, "killswitch on for skype"));
	add(&t, redec(DAY + 3000, "10.0.0.3", 40003, "finance", 250, "allow",
		      "drop", 1, 0));
	add(&t, end(DAY + 4000, "10.0.0.3", 40003, "finance", NULL, 250, "drop",
		    20000, 100));
	/* dropped and rejected from the decision: attempted */
	add(&t, end(DAY + 4001, "10.0.0.4", 40004, "finance", NULL, 125, "drop",
		    300, 0));
	add(&t, end(DAY + 4002, "10.0.0.5", 40005, "finance", NULL, 125,
		    "reject", 200, 60));
	/* another app's bytes are no Skype's */
	add(&t, end(DAY + 4003, "10.0.0.6", 40006, "finance", NULL, 91, "allow",
		    90000, 9999));
	/* a rule lets 10.0.0.7 through: not a cut */
	add(&t, change(DAY + 5000, 2, 1000, "rule set finance skype allow"));
	add(&t, redec(DAY + 5000, "10.0.0.7", 40007, "finance", 125, "drop",
		      "allow", 2, 1000));
	add(&t, change(DAY + 6000, 3, -1,
		       "feed reload: Worldwide version 2026120100"));
	report_finish(r);

	fin = dept_named(r, "finance");
	/* a redecided record is no decision: the sessions keep theirs */
	expect_sessions(fin, 2, 2, 1, 1);
	ck_assert_uint_eq(fin->other_decisions, 1);
	ck_assert_uint_eq(fin->bytes_through, 4000 + 1000);
	ck_assert_uint_eq(fin->flows_through, 2);
	ck_assert_uint_eq(fin->bytes_cut, 20100);
	ck_assert_uint_eq(fin->flows_cut, 1);
	ck_assert_uint_eq(fin->bytes_attempted, 300 + 260);
	ck_assert_uint_eq(fin->flows_attempted, 2);
	ck_assert_uint_eq(fin->cut_by_change, 1);

	c = report_changes(r, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(c[0].ts_ms, DAY + 3000);
	ck_assert_str_eq(c[0].node, "gw1");
	ck_assert_uint_eq(c[0].change, 1);
	ck_assert_int_eq(c[0].uid, 0);
	ck_assert_str_eq(c[0].what, "killswitch on for skype");
	ck_assert_int_eq(c[0].kind, REPORT_CHANGE_KILLSWITCH);
	ck_assert_uint_eq(c[0].redecided, 1);
	ck_assert_uint_eq(c[0].cut, 1);
	ck_assert_uint_eq(c[1].change, 2);
	ck_assert_int_eq(c[1].uid, 1000);
	ck_assert_int_eq(c[1].kind, REPORT_CHANGE_OTHER);
	ck_assert_uint_eq(c[1].redecided, 1);
	ck_assert_uint_eq(c[1].cut, 0);
	ck_assert_int_eq(c[2].uid, -1);
	ck_assert_uint_eq(c[2].redecided, 0);
	ck_assert_int_eq(report_chain(r)->intact, 1);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

START_TEST(test_suppressed_overruns_and_starts_are_counted)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	const struct report_totals *tot;
	struct trail t;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, start(DAY));
	add(&t, dec(DAY + 1, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, suppressed(DAY + 5000, "finance", 120));
	add(&t, suppressed(DAY + 6000, "finance", 3));
	add(&t, suppressed(DAY + 6000, "sales", 40));
	add(&t,
	    "\"ts_ms\":1796601607000,\"event\":\"ct_overrun\",\"overruns\":2,"
	    "\"reliable\":false,\"lost\":5,\"lost_total\":5,\"note\":\"destroy "
	    "events lost (the socket's drops): their flows have no end record\"");
	add(&t, start(DAY + 8000));
	report_finish(r);
	tot = report_totals(r);
	ck_assert_uint_eq(tot->starts, 2);
	ck_assert_uint_eq(tot->suppressed, 163);
	ck_assert_uint_eq(tot->ct_overruns, 1);
	ck_assert_uint_eq(tot->ct_lost, 5);
	ck_assert_uint_eq(dept_named(r, "finance")->suppressed, 123);
	ck_assert_uint_eq(dept_named(r, "sales")->suppressed, 40);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* ---- files: rotated, gzipped, in any order ---- */

static void rotated_trail(struct trail *t)
{
	trail_init(t, NULL);
	add(t, start(DAY));
	add(t, dec(DAY + 1000, "10.0.0.1", 40001, "finance", "alice", 125,
		   "sni", "allow"));
	add(t, dec(DAY + 2000, "10.0.0.2", 40002, "finance", NULL, 38, "stun",
		   "drop"));
	add(t, end(DAY + 3000, "10.0.0.1", 40001, "finance", "alice", 125,
		   "allow", 1000, 2000));
	/* audit.log.2.gz ends here */
	add(t, dec(DAY + 4000, "10.1.0.1", 40003, "sales", NULL, 250, "sni",
		   "throttle"));
	add(t, change(DAY + 5000, 1, 0, "killswitch on for skype"));
	add(t, redec(DAY + 5000, "10.1.0.1", 40003, "sales", 250, "throttle",
		     "drop", 1, 0));
	add(t, end(DAY + 6000, "10.0.0.2", 40002, "finance", NULL, 38, "drop",
		   400, 0));
	/* audit.log.1 ends here */
	add(t, end(DAY + 7000, "10.1.0.1", 40003, "sales", NULL, 250, "drop",
		   50000, 7000));
	add(t, dec(DAY + 8000, "10.1.0.2", 40004, "sales", NULL, 125, "sni",
		   "reject"));
	add(t, end(DAY + 9000, "10.1.0.2", 40004, "sales", NULL, 125, "reject",
		   300, 60));
	add(t, dec(DAY + 10000, "10.0.0.3", 40005, "finance", NULL, 91,
		   "payload", "allow"));
}

/* the figures of rotated_trail, worked out by hand */
static void expect_rotated(const struct report *r)
{
	const struct report_dept *fin = dept_named(r, "finance"),
				 *sales = dept_named(r, "sales");
	const struct report_chain *ch = report_chain(r);
	const struct report_change *c;
	size_t n;

	ck_assert_int_eq(ch->intact, 1);
	ck_assert_uint_eq(ch->n_breaks, 0);
	ck_assert_uint_eq(ch->records, 12);
	ck_assert_uint_eq(ch->first_seq, 1);
	ck_assert_uint_eq(ch->last_seq, 12);
	ck_assert_uint_eq(report_totals(r)->lines, 12);
	ck_assert_uint_eq(report_totals(r)->records_in_range, 12);
	expect_sessions(fin, 1, 1, 0, 0);
	ck_assert_uint_eq(fin->other_decisions, 1);
	ck_assert_uint_eq(fin->bytes_through, 3000);
	ck_assert_uint_eq(fin->flows_through, 1);
	ck_assert_uint_eq(fin->bytes_attempted, 400);
	ck_assert_uint_eq(fin->flows_attempted, 1);
	ck_assert_uint_eq(fin->bytes_cut, 0);
	expect_sessions(sales, 0, 0, 1, 1);
	ck_assert_uint_eq(sales->cut_by_change, 1);
	ck_assert_uint_eq(sales->bytes_cut, 57000);
	ck_assert_uint_eq(sales->flows_cut, 1);
	ck_assert_uint_eq(sales->bytes_attempted, 360);
	ck_assert_uint_eq(sales->flows_attempted, 1);
	ck_assert_uint_eq(sales->bytes_through, 0);
	ck_assert_uint_eq(fin->n_users, 1);
	ck_assert_str_eq(fin->users[0].key, "alice");
	ck_assert_uint_eq(fin->users[0].bytes_through, 3000);
	c = report_changes(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(c[0].redecided, 1);
	ck_assert_uint_eq(c[0].cut, 1);
}

/* Every figure of two reports alike. */
static void expect_same(const struct report *a, const struct report *b)
{
	size_t na, nb, i;
	const struct report_dept *da = report_departments(a, &na),
				 *db = report_departments(b, &nb);

	ck_assert_uint_eq(na, nb);
	for (i = 0; i < na; i++) {
		ck_assert_str_eq(da[i].name, db[i].name);
		ck_assert_mem_eq(da[i].sessions, db[i].sessions,
				 sizeof(da[i].sessions));
		ck_assert_uint_eq(da[i].bytes_through, db[i].bytes_through);
		ck_assert_uint_eq(da[i].bytes_cut, db[i].bytes_cut);
		ck_assert_uint_eq(da[i].bytes_attempted, db[i].bytes_attempted);
		ck_assert_uint_eq(da[i].cut_by_change, db[i].cut_by_change);
		ck_assert_uint_eq(da[i].other_decisions, db[i].other_decisions);
		ck_assert_uint_eq(da[i].hosts_seen, db[i].hosts_seen);
	}
	ck_assert_uint_eq(report_chain(a)->records, report_chain(b)->records);
	ck_assert_uint_eq(report_chain(a)->last_seq, report_chain(b)->last_seq);
	ck_assert_int_eq(report_chain(a)->intact, report_chain(b)->intact);
}

/* logrotate's names: numbered (audit.log.2.gz the oldest), or dated
 * (dateext: audit.log-20261205.gz the oldest) */
START_TEST(test_rotated_and_gzipped_files_in_any_order_sum_as_one_file)
{
	static const char *const rotations[2][4] = {
		{ "one.log", "audit.log.2.gz", "audit.log.1", "audit.log" },
		{ "one.log", "audit.log-20261205.gz", "audit.log-20261206",
		  "audit.log" },
	};
	const char *const *names = rotations[_i];
	struct report *one, *rot;
	struct trail t;
	char *files[3];

	dir_make();
	rotated_trail(&t);
	write_lines(&t, 0, t.n, names[0]);
	write_lines(&t, 0, 4, names[1]);
	write_lines(&t, 4, 8, names[2]);
	write_lines(&t, 8, t.n, names[3]);
	files[0] = path_of(names[0]);
	one = read_files(1, files, NULL);
	expect_rotated(one);
	/* the middle one first, then the oldest, then the current: the
	 * names give the order */
	files[0] = strdup(path_of(names[2]));
	files[1] = strdup(path_of(names[1]));
	files[2] = strdup(path_of(names[3]));
	rot = read_files(3, files, NULL);
	expect_rotated(rot);
	expect_same(one, rot);
	report_destroy(rot);
	/* newest first, as a shell's glob may give them */
	rot = read_files(3, (char *[]){ files[2], files[0], files[1] }, NULL);
	expect_rotated(rot);
	expect_same(one, rot);
	report_destroy(rot);
	report_destroy(one);
	free(files[0]);
	free(files[1]);
	free(files[2]);
	dir_remove(names, 4);
	trail_free(&t);
}
END_TEST

/* A gzip file cut short (a disk full while logrotate compressed it):
 * what it held up to the cut is summed, the break names the file, and
 * the next file is read on. */
START_TEST(test_a_gzip_file_cut_short_is_a_break_and_the_next_is_read)
{
	static const char *const names[] = { "audit.log.1.gz", "audit.log" };
	const struct report_chain *ch;
	const struct report_dept *d;
	char *files[2];
	struct report *r;
	struct trail t;
	unsigned i, found = 0;
	FILE *f;
	long size;

	dir_make();
	trail_init(&t, NULL);
	add(&t, start(DAY));
	for (i = 0; i < 40; i++) {
		add(&t, dec(DAY + 1000 * (i + 1), "10.0.0.1", 41000 + i,
			    "finance", NULL, 125, "sni", "allow"));
	}
	add(&t, dec(DAY + 50000, "10.0.0.2", 40000, "finance", NULL, 125, "sni",
		    "drop"));
	write_lines(&t, 0, t.n - 1, names[0]);
	write_lines(&t, t.n - 1, t.n, names[1]);
	f = fopen(path_of(names[0]), "r+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_eq(ftruncate(fileno(f), size * 3 / 5), 0);
	fclose(f);
	files[0] = strdup(path_of(names[1]));
	files[1] = strdup(path_of(names[0]));
	r = read_files(2, files, NULL);
	ch = report_chain(r);
	ck_assert_int_eq(ch->intact, 0);
	for (i = 0; i < ch->n_breaks; i++)
		found += strcmp(ch->breaks[i].where, files[1]) == 0 &&
			 ch->breaks[i].why[0];
	ck_assert_msg(found == 1, "no break names %s", files[1]);
	d = dept_named(r, "finance");
	ck_assert_uint_eq(d->sessions[REPORT_DROP], 1);
	ck_assert_uint_ge(d->sessions[REPORT_ALLOW], 1);
	ck_assert_uint_lt(d->sessions[REPORT_ALLOW], 40);
	report_destroy(r);
	free(files[0]);
	free(files[1]);
	dir_remove(names, 2);
	trail_free(&t);
}
END_TEST

START_TEST(test_a_file_that_cannot_be_read_is_named)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	char err[512] = "";
	char name[] = "/nonexistent/audit.log", *files[] = { name };

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(report_read(r, 1, files, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/audit.log") != NULL, "%s", err);
	report_destroy(r);
}
END_TEST

/* ---- the chain: gaps, breaks ---- */

START_TEST(test_gap_records_count_the_lost_by_cause_a_repeated_stop_once)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	const struct report_chain *ch;
	struct trail t;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, start(DAY));
	add(&t, gap(DAY + 1000, 7, AUDIT_GAP_BUFFER, DAY + 100));
	/* a stop's records, then the same gap record again: a start cut
	 * short before it removed the count */
	add(&t, gap(DAY + 2000, 3, AUDIT_GAP_STOP, DAY + 1500));
	add(&t, gap(DAY + 3000, 3, AUDIT_GAP_STOP, DAY + 1500));
	add(&t, start(DAY + 3000));
	/* a record from before "cause" was written: the buffer's */
	add(&t,
	    "\"ts_ms\":1796601604000,\"event\":\"gap\",\"lost\":2,\"since_ms\":"
	    "1796601603000,\"until_ms\":1796601603500,\"why\":\"old\"");
	add(&t, gap(DAY + 5000, 1, AUDIT_GAP_UNWRITABLE, DAY + 5000));
	add(&t, dec(DAY + 6000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	report_finish(r);
	ch = report_chain(r);
	ck_assert_int_eq(ch->intact, 1); /* the chain holds its losses */
	ck_assert_uint_eq(ch->lost[AUDIT_GAP_BUFFER], 9);
	ck_assert_uint_eq(ch->lost[AUDIT_GAP_STOP], 3);
	ck_assert_uint_eq(ch->lost[AUDIT_GAP_UNWRITABLE], 1);
	ck_assert_uint_eq(ch->gaps, 5);
	ck_assert_uint_eq(report_totals(r)->starts, 2);
	expect_sessions(dept_named(r, "finance"), 1, 0, 0, 0);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* What `skyfencectl audit verify` says of @n lines of @file: where (as it
 * names it: the line before for an edited one) and why. */
static void verify_says(const struct trail *t, const char *file, char *where,
			char *why, size_t len)
{
	struct audit_verify v;
	unsigned i;

	memset(&v, 0, sizeof(v));
	where[0] = why[0] = '\0';
	for (i = 0; i < t->n; i++) {
		size_t n = strlen(t->lines[i]);
		int nl = n && t->lines[i][n - 1] == '\n',
		    rc = audit_verify_line(&v, t->lines[i], n - (size_t)nl, nl,
					   why, len);

		if (rc != 0) {
			snprintf(where, len, "%s:%u", file,
				 rc == -2 ? i : i + 1);
			return;
		}
	}
}

START_TEST(test_an_edited_line_breaks_the_chain_where_audit_verify_says)
{
	static const char *const names[] = { "audit.log" };
	char where[512], why[512], *files[1], *p;
	const struct report_chain *ch;
	struct report *r;
	struct trail t;

	dir_make();
	trail_init(&t, NULL);
	add(&t, start(DAY));
	add(&t, dec(DAY + 1000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 2000, "10.0.0.2", 40002, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 3000, "10.0.0.3", 40003, "finance", NULL, 125, "sni",
		    "reject"));
	add(&t, dec(DAY + 4000, "10.0.0.4", 40004, "finance", NULL, 38, "stun",
		    "drop"));
	add(&t, dec(DAY + 5000, "10.0.0.5", 40005, "finance", NULL, 38, "stun",
		    "throttle"));
	/* line 3: "allow" made "drop!" (the same form, another hash) */
	p = strstr(t.lines[2], "\"action\":\"allow\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 10, "drop\"", 5);
	memmove(p + 15, p + 16, strlen(p + 16) + 1);
	ck_assert_ptr_nonnull(strstr(t.lines[2], "\"action\":\"drop\""));
	write_lines(&t, 0, t.n, "audit.log");
	files[0] = path_of("audit.log");
	verify_says(&t, files[0], where, why, sizeof(where));
	r = read_files(1, files, NULL);
	ch = report_chain(r);
	ck_assert_int_eq(ch->intact, 0);
	ck_assert_uint_eq(ch->n_breaks, 1);
	ck_assert_uint_eq(ch->breaks_total, 1);
	/* the edited line is named, and what audit verify says of it */
	ck_assert_str_eq(ch->breaks[0].where, path_of("audit.log:3"));
	ck_assert_str_eq(
		ch->breaks[0].why,
		"changed: the next record's prev is not this line's SHA-256 "
		"(seq 3)");
	ck_assert_str_eq(ch->breaks[0].where, where);
	ck_assert_str_eq(ch->breaks[0].why, why);
	/* the sums are made all the same, of the lines as they are */
	ck_assert_uint_eq(ch->records, 6);
	ck_assert_uint_eq(ch->first_seq, 1);
	ck_assert_uint_eq(ch->last_seq, 6);
	expect_sessions(dept_named(r, "finance"), 1, 2, 1, 1);
	report_destroy(r);
	dir_remove(names, 1);
	trail_free(&t);
}
END_TEST

START_TEST(test_a_removed_line_and_a_cut_last_line_are_named)
{
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	const struct report_chain *ch;
	struct trail t;
	unsigned i;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, NULL);
	add(&t, start(DAY));
	for (i = 0; i < 5; i++)
		add(&t, dec(DAY + 1000 * (i + 1), "10.0.0.1", 40001 + i,
			    "finance", NULL, 125, "sni", "allow"));
	/* seq 4 gone; the last line without its newline */
	for (i = 0; i < t.n; i++) {
		size_t n = strlen(t.lines[i]) - 1;

		if (i == 3)
			continue;
		ck_assert_int_eq(report_line(r, "f.log", i < 3 ? i + 1 : i,
					     t.lines[i], n, i + 1 < t.n),
				 0);
	}
	report_finish(r);
	ch = report_chain(r);
	ck_assert_int_eq(ch->intact, 0);
	ck_assert_uint_eq(ch->n_breaks, 2);
	ck_assert_uint_eq(ch->breaks_total, 2);
	ck_assert_str_eq(ch->breaks[0].where, "f.log:4");
	ck_assert_str_eq(ch->breaks[0].why,
			 "seq 5 where 4 was due: 1 record(s) missing before "
			 "it, or lines reordered");
	ck_assert_str_eq(ch->breaks[1].where, "f.log:5");
	ck_assert_str_eq(ch->breaks[1].why,
			 "truncated: the last line has no end of line");
	expect_sessions(dept_named(r, "finance"), 4, 0, 0, 0);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* ---- days and hours in a zone with DST ---- */

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi };

	return (int64_t)timegm(&tm) * 1000;
}

static struct report *berlin_report(struct tz **z, const int64_t *ts,
				    unsigned n)
{
	struct report_opts o = opts();
	char err[256] = "";
	struct report *r;
	struct trail t;
	unsigned i;

	*z = tz_load("Europe/Berlin", err, sizeof(err));
	ck_assert_msg(*z != NULL, "%s", err);
	o.tz = *z;
	r = report_create(&o);
	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	for (i = 0; i < n; i++)
		add(&t, dec(ts[i], "10.0.0.1", 40000 + i, "finance", NULL, 125,
			    "sni", "allow"));
	report_finish(r);
	trail_free(&t);
	return r;
}

static void expect_point(const struct report_point *p, const char *label,
			 int64_t start_ms, int64_t end_ms, uint64_t allowed)
{
	ck_assert_str_eq(p->label, label);
	ck_assert_msg(p->start_ms == start_ms && p->end_ms == end_ms,
		      "%s: %lld..%lld, expected %lld..%lld", label,
		      (long long)p->start_ms, (long long)p->end_ms,
		      (long long)start_ms, (long long)end_ms);
	ck_assert_msg(p->sessions[REPORT_ALLOW] == allowed &&
			      p->sessions[REPORT_DROP] == 0,
		      "%s: %llu allowed, expected %llu", label,
		      (unsigned long long)p->sessions[REPORT_ALLOW],
		      (unsigned long long)allowed);
}

START_TEST(test_spring_forward_day_has_23_hours_in_berlin)
{
	/* local 2026-03-28 23:30 CET, 03-29 00:30 CET, 03-29 23:30 CEST,
	 * 03-30 00:30 CEST, 04-01 12:00 CEST */
	const int64_t ts[] = {
		utc_ms(2026, 3, 28, 22, 30), utc_ms(2026, 3, 28, 23, 30),
		utc_ms(2026, 3, 29, 21, 30), utc_ms(2026, 3, 29, 22, 30),
		utc_ms(2026, 4, 1, 10, 0),
	};
	const struct report_point *p;
	struct report *r;
	struct tz *z;
	char when[64];
	size_t n;

	r = berlin_report(&z, ts, 5);
	p = report_series(r, dept_named(r, "finance"), &n);
	ck_assert_uint_eq(n, 5);
	expect_point(&p[0], "2026-03-28", utc_ms(2026, 3, 27, 23, 0),
		     utc_ms(2026, 3, 28, 23, 0), 1);
	expect_point(&p[1], "2026-03-29", utc_ms(2026, 3, 28, 23, 0),
		     utc_ms(2026, 3, 29, 22, 0), 2);
	ck_assert_int_eq(p[1].end_ms - p[1].start_ms, 23 * 3600000LL);
	expect_point(&p[2], "2026-03-30", utc_ms(2026, 3, 29, 22, 0),
		     utc_ms(2026, 3, 30, 22, 0), 1);
	expect_point(&p[3], "2026-03-31", utc_ms(2026, 3, 30, 22, 0),
		     utc_ms(2026, 3, 31, 22, 0), 0);
	expect_point(&p[4], "2026-04-01", utc_ms(2026, 3, 31, 22, 0),
		     utc_ms(2026, 4, 1, 22, 0), 1);
	report_time(r, utc_ms(2026, 3, 29, 1, 30) + 9000, when, sizeof(when));
	ck_assert_str_eq(when, "2026-03-29 03:30:09 CEST");
	report_time(r, utc_ms(2026, 3, 28, 23, 30), when, sizeof(when));
	ck_assert_str_eq(when, "2026-03-29 00:30:00 CET");
	report_destroy(r);
	tz_free(z);
}
END_TEST

START_TEST(test_fall_back_day_has_25_hours_in_berlin)
{
	/* local 2026-10-24 23:30 CEST, 10-25 00:30 CEST, 10-25 23:30 CET,
	 * 10-26 00:30 CET, 10-28 12:00 CET */
	const int64_t ts[] = {
		utc_ms(2026, 10, 24, 21, 30), utc_ms(2026, 10, 24, 22, 30),
		utc_ms(2026, 10, 25, 22, 30), utc_ms(2026, 10, 25, 23, 30),
		utc_ms(2026, 10, 28, 11, 0),
	};
	const struct report_point *p;
	struct report *r;
	struct tz *z;
	size_t n;

	r = berlin_report(&z, ts, 5);
	p = report_series(r, dept_named(r, "finance"), &n);
	ck_assert_uint_eq(n, 5);
	expect_point(&p[0], "2026-10-24", utc_ms(2026, 10, 23, 22, 0),
		     utc_ms(2026, 10, 24, 22, 0), 1);
	expect_point(&p[1], "2026-10-25", utc_ms(2026, 10, 24, 22, 0),
		     utc_ms(2026, 10, 25, 23, 0), 2);
	ck_assert_int_eq(p[1].end_ms - p[1].start_ms, 25 * 3600000LL);
	expect_point(&p[2], "2026-10-26", utc_ms(2026, 10, 25, 23, 0),
		     utc_ms(2026, 10, 26, 23, 0), 1);
	expect_point(&p[3], "2026-10-27", utc_ms(2026, 10, 26, 23, 0),
		     utc_ms(2026, 10, 27, 23, 0), 0);
	expect_point(&p[4], "2026-10-28", utc_ms(2026, 10, 27, 23, 0),
		     utc_ms(2026, 10, 28, 23, 0), 1);
	report_destroy(r);
	tz_free(z);
}
END_TEST

START_TEST(test_hours_of_the_spring_forward_night_skip_two_oclock)
{
	/* local 00:10 CET, 01:59 CET, 03:00 CEST, 03:30 CEST on 03-29 */
	const int64_t ts[] = {
		utc_ms(2026, 3, 28, 23, 10),
		utc_ms(2026, 3, 29, 0, 59),
		utc_ms(2026, 3, 29, 1, 0),
		utc_ms(2026, 3, 29, 1, 30),
	};
	const struct report_point *p;
	struct report *r;
	struct tz *z;
	size_t n;

	r = berlin_report(&z, ts, 4);
	p = report_series(r, dept_named(r, "finance"), &n);
	ck_assert_uint_eq(n, 3);
	expect_point(&p[0], "00:00", utc_ms(2026, 3, 28, 23, 0),
		     utc_ms(2026, 3, 29, 0, 0), 1);
	expect_point(&p[1], "01:00", utc_ms(2026, 3, 29, 0, 0),
		     utc_ms(2026, 3, 29, 1, 0), 1);
	expect_point(&p[2], "03:00", utc_ms(2026, 3, 29, 1, 0),
		     utc_ms(2026, 3, 29, 2, 0), 2);
	report_destroy(r);
	tz_free(z);
}
END_TEST

/* ---- what the options keep ---- */

START_TEST(test_since_and_until_keep_the_records_in_range)
{
	struct report_opts o = opts();
	struct report *r;
	struct trail t;
	size_t n;

	o.since_ms = DAY + 3000;
	o.until_ms = DAY + 5000;
	r = report_create(&o);
	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, start(DAY + 1000));
	add(&t, dec(DAY + 2000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 3000, "10.0.0.2", 40002, "finance", NULL, 125, "sni",
		    "drop"));
	add(&t, dec(DAY + 4999, "10.0.0.3", 40003, "finance", NULL, 125, "sni",
		    "reject"));
	add(&t, change(DAY + 5000, 1, 0, "killswitch on for skype"));
	add(&t, dec(DAY + 6000, "10.0.0.4", 40004, "finance", NULL, 125, "sni",
		    "allow"));
	report_finish(r);
	ck_assert_uint_eq(report_totals(r)->lines, 6);
	ck_assert_uint_eq(report_totals(r)->records_in_range, 2);
	ck_assert_int_eq(report_totals(r)->first_ms, DAY + 3000);
	ck_assert_int_eq(report_totals(r)->last_ms, DAY + 4999);
	ck_assert_uint_eq(report_totals(r)->starts, 0);
	expect_sessions(dept_named(r, "finance"), 0, 1, 1, 0);
	report_changes(r, &n);
	ck_assert_uint_eq(n, 0);
	/* the chain is checked whole */
	ck_assert_uint_eq(report_chain(r)->records, 6);
	ck_assert_int_eq(report_chain(r)->intact, 1);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

START_TEST(test_a_department_option_keeps_that_department_alone)
{
	struct report_opts o = opts();
	const struct report_dept *d;
	struct report *r;
	struct trail t;
	size_t n;

	o.department = "sales";
	r = report_create(&o);
	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, dec(DAY + 1000, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 2000, "10.1.0.1", 40002, "sales", NULL, 125, "sni",
		    "drop"));
	add(&t, dec(DAY + 2500, "10.1.0.2", 40003, "sales", NULL, 38, "stun",
		    "allow"));
	add(&t, end(DAY + 3000, "10.0.0.1", 40001, "finance", NULL, 125,
		    "allow", 100, 100));
	add(&t, end(DAY + 3001, "10.1.0.2", 40003, "sales", NULL, 38, "allow",
		    700, 800));
	add(&t, suppressed(DAY + 4000, "finance", 9));
	add(&t, suppressed(DAY + 4000, "sales", 4));
	add(&t, dec(DAY + 5000, "10.9.0.1", 40004, "default", NULL, 125, "sni",
		    "allow"));
	report_finish(r);
	d = report_departments(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(d[0].name, "sales");
	expect_sessions(&d[0], 1, 1, 0, 0);
	ck_assert_uint_eq(d[0].bytes_through, 1500);
	ck_assert_uint_eq(d[0].suppressed, 4);
	ck_assert_uint_eq(d[0].hosts_seen, 2);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* Hosts and users: at most opts.top, by total, then bytes through, then
 * key; the evidence: every kind. */
START_TEST(test_top_hosts_users_and_evidence_of_a_department)
{
	struct report_opts o = opts();
	const struct report_dept *d;
	struct report *r;
	struct trail t;

	o.top = 2;
	r = report_create(&o);
	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, dec(DAY + 1, "10.0.0.1", 40001, "finance", "alice", 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 2, "10.0.0.1", 40002, "finance", "alice", 250, "sni",
		    "allow"));
	add(&t, dec(DAY + 3, "10.0.0.1", 40003, "finance", "alice", 38, "stun",
		    "drop"));
	add(&t, dec(DAY + 4, "10.0.0.3", 40004, "finance", "carol", 125,
		    "sni-rejected", "allow"));
	add(&t, dec(DAY + 5, "10.0.0.3", 40005, "finance", "carol", 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 6, "10.0.0.2", 40006, "finance", "bob", 125, "sni",
		    "throttle"));
	add(&t, dec(DAY + 7, "10.0.0.2", 40007, "finance", "bob", 38, "stun",
		    "reject"));
	add(&t, dec(DAY + 8, "10.0.0.4", 40008, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 9, "10.0.0.4", 40009, "finance", NULL, 125, "cert",
		    "allow"));
	add(&t, end(DAY + 10, "10.0.0.1", 40001, "finance", "alice", 125,
		    "allow", 4000, 1000));
	add(&t, end(DAY + 11, "10.0.0.3", 40005, "finance", "carol", 125,
		    "allow", 500, 200));
	report_finish(r);
	d = dept_named(r, "finance");
	expect_sessions(d, 6, 1, 1, 1);
	ck_assert_uint_eq(d->hosts_seen, 4);
	ck_assert_uint_eq(d->users_seen, 3);
	/* 10.0.0.2, .3 and .4 have 2 each: .3 got 700 bytes through */
	ck_assert_uint_eq(d->n_hosts, 2);
	ck_assert_str_eq(d->hosts[0].key, "10.0.0.1");
	ck_assert_uint_eq(d->hosts[0].total, 3);
	ck_assert_uint_eq(d->hosts[0].sessions[REPORT_ALLOW], 2);
	ck_assert_uint_eq(d->hosts[0].sessions[REPORT_DROP], 1);
	ck_assert_uint_eq(d->hosts[0].bytes_through, 5000);
	ck_assert_str_eq(d->hosts[1].key, "10.0.0.3");
	ck_assert_uint_eq(d->hosts[1].total, 2);
	ck_assert_uint_eq(d->hosts[1].sessions[REPORT_ALLOW], 2);
	ck_assert_uint_eq(d->hosts[1].bytes_through, 700);
	ck_assert_uint_eq(d->n_users, 2);
	ck_assert_str_eq(d->users[0].key, "alice");
	ck_assert_uint_eq(d->users[0].total, 3);
	ck_assert_uint_eq(d->users[0].bytes_through, 5000);
	ck_assert_str_eq(d->users[1].key, "carol");
	ck_assert_uint_eq(d->users[1].total, 2);
	ck_assert_uint_eq(d->users[1].bytes_through, 700);
	/* every kind: sni 5, stun 2, then cert and sni-rejected 1 each, by
	 * key */
	ck_assert_uint_eq(d->n_evidence, 4);
	ck_assert_str_eq(d->evidence[0].key, "sni");
	ck_assert_uint_eq(d->evidence[0].total, 5);
	ck_assert_uint_eq(d->evidence[0].sessions[REPORT_ALLOW], 4);
	ck_assert_uint_eq(d->evidence[0].sessions[REPORT_THROTTLE], 1);
	ck_assert_str_eq(d->evidence[1].key, "stun");
	ck_assert_uint_eq(d->evidence[1].total, 2);
	ck_assert_uint_eq(d->evidence[1].sessions[REPORT_DROP], 1);
	ck_assert_uint_eq(d->evidence[1].sessions[REPORT_REJECT], 1);
	ck_assert_str_eq(d->evidence[2].key, "cert");
	ck_assert_uint_eq(d->evidence[2].total, 1);
	ck_assert_str_eq(d->evidence[3].key, "sni-rejected");
	ck_assert_uint_eq(d->evidence[3].total, 1);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* ---- lines that are no record ---- */

START_TEST(test_lines_that_are_no_record_are_counted_never_fatal)
{
	static const char *const bad[] = {
		"not json at all",
		"{\"seq\":",
		"",
		"\xff\xfe\x01 binary",
		"[1,2,3]",
		"{\"seq\":2,\"node\":\"gw1\",\"ts_ms\":12,\"event\":\"decision\"",
	};
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	struct trail t;
	unsigned i;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	add(&t, dec(DAY + 1, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(report_line(r, t.file, ++t.ln, bad[i],
					     strlen(bad[i]), 1),
				 0);
	/* NUL bytes inside a line */
	ck_assert_int_eq(report_line(r, t.file, ++t.ln, "{\"a\0\":1}", 8, 1),
			 0);
	add(&t, dec(DAY + 2, "10.0.0.2", 40002, "finance", NULL, 125, "sni",
		    "drop"));
	report_finish(r);
	ck_assert_uint_eq(report_totals(r)->lines, 9);
	ck_assert_uint_eq(report_totals(r)->unreadable, 7);
	ck_assert_uint_eq(report_totals(r)->records_in_range, 2);
	ck_assert_int_eq(report_chain(r)->intact, 0);
	ck_assert_str_eq(report_chain(r)->breaks[0].where, "mem:2");
	expect_sessions(dept_named(r, "finance"), 1, 1, 0, 0);
	report_destroy(r);
	trail_free(&t);
}
END_TEST

/* A line longer than any record: 8 KiB of valid JSON in memory, 2 MiB of
 * junk in a file (the reader's line buffer has a bound); the records
 * after them are read and summed. */
START_TEST(test_a_line_longer_than_any_record_is_no_crash)
{
	static const char *const names[] = { "big.log" };
	struct report_opts o = opts();
	struct report *r = report_create(&o);
	size_t big = 8 * AUDIT_LINE_MAX, n;
	char *line = malloc(big + 256), *files[1];
	struct trail t;
	FILE *f;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(line);
	trail_init(&t, r);
	add(&t, start(DAY));
	n = (size_t)snprintf(line, 256,
			     "{\"seq\":2,\"node\":\"gw1\",\"ts_ms\":%lld,"
			     "\"event\":\"change\",\"change\":1,\"uid\":0,"
			     "\"what\":\"",
			     (long long)DAY + 1);
	memset(line + n, 'w', big);
	n += big;
	n += (size_t)snprintf(line + n, 256, "\",\"prev\":\"%064d\"}", 0);
	ck_assert_int_eq(report_line(r, t.file, ++t.ln, line, n, 1), 0);
	report_finish(r);
	ck_assert_uint_eq(report_totals(r)->lines, 2);
	report_changes(r, &n);
	/* summed whole or counted unreadable, never both */
	ck_assert_uint_eq(n + report_totals(r)->unreadable, 1);
	report_destroy(r);

	/* in a file: junk of 2 MiB between two records */
	dir_make();
	trail_free(&t);
	trail_init(&t, NULL);
	add(&t, dec(DAY + 1, "10.0.0.1", 40001, "finance", NULL, 125, "sni",
		    "allow"));
	add(&t, dec(DAY + 2, "10.0.0.2", 40002, "finance", NULL, 125, "sni",
		    "drop"));
	f = fopen(path_of("big.log"), "w");
	ck_assert_ptr_nonnull(f);
	fputs(t.lines[0], f);
	line = realloc(line, 2u << 20);
	ck_assert_ptr_nonnull(line);
	memset(line, '{', 2u << 20);
	fwrite(line, 1, 2u << 20, f);
	fputc('\n', f);
	fputs(t.lines[1], f);
	ck_assert_int_eq(fclose(f), 0);
	files[0] = path_of("big.log");
	r = read_files(1, files, NULL);
	ck_assert_uint_eq(report_totals(r)->lines, 3);
	ck_assert_uint_eq(report_totals(r)->unreadable, 1);
	expect_sessions(dept_named(r, "finance"), 1, 1, 0, 0);
	report_destroy(r);
	dir_remove(names, 1);
	free(line);
	trail_free(&t);
}
END_TEST

START_TEST(test_strings_with_json_escapes_are_read_as_their_text)
{
	struct report_opts o = opts();
	const struct report_change *c;
	const struct report_dept *d;
	struct report *r = report_create(&o);
	struct trail t;
	size_t n;

	ck_assert_ptr_nonnull(r);
	trail_init(&t, r);
	/* a department R&D "lab" \ 2, users CORP\jörg and zoë😀, as a
	 * JSON writer may escape them */
	add(&t,
	    "\"ts_ms\":1796601601000,\"event\":\"decision\",\"flow\":"
	    "\"TCP|10.0.0.1|40001|52.112.0.1|443|0\",\"initiator\":"
	    "\"10.0.0.1\",\"initiator_port\":40001,\"department\":"
	    "\"R\\u0026D \\\"lab\\\" \\\\ 2\",\"user\":\"CORP\\\\j\\u00f6rg\","
	    "\"groups\":[\"a\\\"b\",\"\\/c\"],\"rule\":\"skype allow\",\"app\":"
	    "\"TLS.Skype_Teams\",\"app_id\":125,\"confidence\":\"DPI\","
	    "\"evidence\":\"sni\",\"decided_as\":\"TLS.Skype_Teams\",\"host\":"
	    "\"caf\\u00e9\\n.skype.com\",\"direction\":\"outbound\","
	    "\"action\":\"allow\",\"decided_at\":\"packet\",\"decided_pkt\":4,"
	    "\"enforced\":true,\"pkts\":4,\"bytes\":434,\"media\":\"none\"");
	add(&t,
	    "\"ts_ms\":1796601602000,\"event\":\"decision\",\"flow\":"
	    "\"TCP|10.0.0.2|40002|52.112.0.1|443|0\",\"initiator\":"
	    "\"10.0.0.2\",\"initiator_port\":40002,\"department\":"
	    "\"R&D \\\"lab\\\" \\\\ 2\",\"user\":\"zo\\u00eb\\ud83d\\ude00\","
	    "\"groups\":[],\"rule\":\"skype drop\",\"app\":\"STUN.SkypeCall\","
	    "\"app_id\":38,\"confidence\":\"DPI\",\"evidence\":\"stun\","
	    "\"decided_as\":\"STUN.SkypeCall\",\"host\":\"\",\"direction\":"
	    "\"outbound\",\"action\":\"drop\",\"decided_at\":\"packet\","
	    "\"decided_pkt\":1,\"enforced\":true,\"pkts\":1,\"bytes\":64,"
	    "\"media\":\"audio,video,screen-share\"");
	add(&t, "\"ts_ms\":1796601603000,\"event\":\"change\",\"change\":1,"
		"\"uid\":1000,\"what\":\"department R&D add 10.0.0.0/24 \\t"
		"\\u2026[cut 12 bytes]\"");
	report_finish(r);
	ck_assert_uint_eq(report_totals(r)->unreadable, 0);
	d = report_departments(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(d[0].name, "R&D \"lab\" \\ 2");
	expect_sessions(&d[0], 1, 1, 0, 0);
	ck_assert_uint_eq(d[0].n_users, 2);
	ck_assert_str_eq(d[0].users[0].key, "CORP\\j\xc3\xb6rg");
	ck_assert_str_eq(d[0].users[1].key, "zo\xc3\xab\xf0\x9f\x98\x80");
	c = report_changes(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(c[0].what, "department R&D add 10.0.0.0/24 \t"
				    "\xe2\x80\xa6[cut 12 bytes]");
	report_destroy(r);
	trail_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report");
	TCase *c = tcase_create("report");

	tcase_set_timeout(c, 60);
	tcase_add_test(
		c, test_a_flow_decided_twice_counts_once_with_its_last_action);
	tcase_add_loop_test(
		c,
		test_a_flow_decided_again_beyond_the_recent_flows_counts_again,
		0, 2);
	tcase_add_test(c, test_many_flows_each_decided_again_count_once_each);
	tcase_add_test(c, test_bytes_through_cut_by_a_change_and_attempted);
	tcase_add_test(c, test_suppressed_overruns_and_starts_are_counted);
	tcase_add_loop_test(
		c, test_rotated_and_gzipped_files_in_any_order_sum_as_one_file,
		0, 2);
	tcase_add_test(
		c, test_a_gzip_file_cut_short_is_a_break_and_the_next_is_read);
	tcase_add_test(c, test_a_file_that_cannot_be_read_is_named);
	tcase_add_test(
		c,
		test_gap_records_count_the_lost_by_cause_a_repeated_stop_once);
	tcase_add_test(
		c,
		test_an_edited_line_breaks_the_chain_where_audit_verify_says);
	tcase_add_test(c, test_a_removed_line_and_a_cut_last_line_are_named);
	tcase_add_test(c, test_spring_forward_day_has_23_hours_in_berlin);
	tcase_add_test(c, test_fall_back_day_has_25_hours_in_berlin);
	tcase_add_test(c,
		       test_hours_of_the_spring_forward_night_skip_two_oclock);
	tcase_add_test(c, test_since_and_until_keep_the_records_in_range);
	tcase_add_test(c, test_a_department_option_keeps_that_department_alone);
	tcase_add_test(c, test_top_hosts_users_and_evidence_of_a_department);
	tcase_add_test(c,
		       test_lines_that_are_no_record_are_counted_never_fatal);
	tcase_add_test(c, test_a_line_longer_than_any_record_is_no_crash);
	tcase_add_test(c,
		       test_strings_with_json_escapes_are_read_as_their_text);
	suite_add_tcase(s, c);
	return check_run(s);
}
