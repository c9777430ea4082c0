/* The audit trail summed up for the people who asked for the control
 * (report.c): what each department's Skype and Teams sessions met, the
 * bytes that got through, who tried, the changes and who made them, and
 * what the trail itself lacks. Read as a stream, line by line
 * (report_line), in the order the chain was written; memory grows with
 * the departments, hosts, users and changes, and with the time the
 * records span (a count per department and minute, coarsened to 15
 * minutes, then an hour, when the span is long), never with the records.
 * Pure but for libcrypto's SHA-256 (the chain's check, audit/chain.h):
 * the files are read by report_read (reportio.c), the page and the text
 * written by reportout.c.
 *
 * What a number means:
 * - a session is a flow of the Skype family (app_id 38 SkypeCall, 125
 *   Skype_Teams, 250 Teams: core/evidence.h) that got a "decision"
 *   record, counted once with the flow's last decision: a flow decided
 *   again (a later name) moves from its first action to its last, as
 *   long as it is among the last REPORT_RECENT_FLOWS flows seen; what a
 *   runtime change did to it later is counted apart (cut_by_change);
 * - bytes through: the "end" records of the family's flows whose entry
 *   ended allowed or throttled (conntrack's orig + reply bytes); bytes
 *   of a flow that a change cut (a "redecided" record from a passing
 *   action to drop or reject) are "cut": what got through before the
 *   cut, and what the host tried after it, conntrack counting both;
 *   bytes of the other flows that ended dropped or rejected are "blocked
 *   from the start": what the hosts tried (only the packets before the
 *   decision passed). A flow with two end records (conntrack's, and the
 *   daemon's table's for a flow it still saw: a throttled one) is
 *   counted once, with conntrack's. A session decided before the period
 *   is not counted, but its end in the period is, with its decision's
 *   department (an end record of an entry decided before a restart
 *   names none);
 * - a host is the inside end: the initiator, the responder of an inbound
 *   decision (an end record of a flow whose decision is not among the
 *   recent flows says no direction: its initiator);
 * - a day, an hour: the report's time zone's (policy/tz.h), DST days of
 *   23 and 25 hours included.
 */
#ifndef SKYFENCE_REPORT_H
#define SKYFENCE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"

struct tz;

enum report_action {
	REPORT_ALLOW,
	REPORT_DROP,
	REPORT_REJECT,
	REPORT_THROTTLE,
	REPORT_ACTIONS
};
/* "allow", "drop", "reject", "throttle" */
const char *report_action_name(enum report_action a);

#define REPORT_RECENT_FLOWS 65536
#define REPORT_TOP_DEFAULT 10
#define REPORT_BREAKS 16 /* chain breaks listed; more are counted */

struct report_opts {
	int64_t since_ms, until_ms; /* records with ts_ms in [since, until);
				     * INT64_MIN / INT64_MAX: open */
	const char *department;	    /* only this one's sections; NULL: all */
	const struct tz *tz;	    /* days and hours; NULL: UTC */
	unsigned top;		    /* hosts and users listed per department */
};

/* A host's, a user's or an evidence's share of a department's sessions. */
struct report_top {
	const char *key;
	uint64_t sessions[REPORT_ACTIONS];
	uint64_t total; /* the sum of sessions */
	uint64_t bytes_through;
};

/* The sessions of one bucket of time (report_series). */
struct report_point {
	int64_t start_ms, end_ms; /* UTC */
	char label[32];		  /* local: "2026-12-07", "14:00", "14:05" */
	uint64_t sessions[REPORT_ACTIONS];
};

struct report_dept {
	const char *name; /* "default": a host in no department */
	uint64_t sessions[REPORT_ACTIONS];
	uint64_t total;		  /* the sum of sessions */
	uint64_t other_decisions; /* decision records of other apps */
	uint64_t bytes_through, flows_through;	   /* ended passing */
	uint64_t bytes_cut, flows_cut;		   /* cut by a change */
	uint64_t bytes_attempted, flows_attempted; /* dropped, rejected */
	uint64_t cut_by_change; /* redecided from passing to blocked */
	uint64_t suppressed;	/* records over --audit-rate */
	/* sorted by total, then bytes through, then key; hosts and users
	 * at most opts.top, evidence all of its kinds (a handful) */
	const struct report_top *hosts, *users, *evidence;
	size_t n_hosts, n_users, n_evidence;
	/* distinct keys seen (hosts beyond REPORT_KEYS_MAX are summed in
	 * "(others)", which then counts as one) */
	uint64_t hosts_seen, users_seen;
};

enum report_change_kind { REPORT_CHANGE_KILLSWITCH, REPORT_CHANGE_OTHER };

struct report_change {
	int64_t ts_ms;
	const char *node;
	uint64_t change; /* its id, counted from 1 at each start */
	int64_t uid;	 /* -1: none (a SIGHUP without sender, the feed) */
	const char *what;
	enum report_change_kind kind;
	uint64_t redecided; /* flows it redecided */
	uint64_t cut;	    /* of them, from passing to blocked */
};

struct report_break {
	char where[300]; /* "file:line" as audit verify names it */
	char why[256];
};

struct report_chain {
	uint64_t records; /* lines checked */
	uint64_t first_seq, last_seq;
	int intact; /* no break, no cut-short line */
	unsigned n_breaks;
	uint64_t breaks_total;
	struct report_break breaks[REPORT_BREAKS];
	/* the gaps audit verify counts: records never written, by cause
	 * (audit/chain.h), a repeated stop's gap counted once */
	uint64_t lost[AUDIT_GAP_CAUSES];
	uint64_t gaps;
};

struct report_totals {
	uint64_t lines, records_in_range;
	uint64_t unreadable;	       /* lines that are no JSON record */
	int64_t first_ms, last_ms;     /* of the records in range; 0: none */
	uint64_t starts;	       /* "start" records: daemon starts */
	uint64_t suppressed;	       /* all departments' */
	uint64_t ct_overruns, ct_lost; /* destroy events lost: no end record */
	uint64_t changes_left_out;     /* beyond REPORT_CHANGES_MAX */
	uint64_t recent_evicted;       /* flows out of the recent table */
	int coarsened;		       /* minutes: 0; 15 min: 1; hours: 2 */
	/* the gap records in the period: records lost, by cause (the
	 * chain's counts are over every file read) */
	uint64_t lost[AUDIT_GAP_CAUSES], gaps;
	/* files not read: last written before --since (their records
	 * cannot be in the period; the chain is checked from the first
	 * file read) */
	uint64_t files_read, files_skipped;
	/* records whose ts_ms is before 1970 or past REPORT_TS_MAX: not
	 * summed; sessions the charts leave out (before their span, or
	 * past the series' last coarsening): in every other figure */
	uint64_t bad_time, sessions_off_chart;
};

#define REPORT_KEYS_MAX 100000
#define REPORT_TS_MAX \
	253402300799999LL /* 9999-12-31T23:59:59.999Z */ /* hosts and users per department */
#define REPORT_CHANGES_MAX 10000

struct report;

/* A report over @o (copied; @o->tz must outlive it). NULL: no memory. */
struct report *report_create(const struct report_opts *o);
void report_destroy(struct report *r);

/* Line @ln of @file (@len bytes, newline stripped; @had_newline whether
 * it had one): checked as the chain's next link (audit_verify_line), then
 * summed if it is a record in range. Returns 0, or -1 if out of memory
 * (the report is then unusable). A line that is not a record is counted,
 * never an error. */
int report_line(struct report *r, const char *file, unsigned long ln,
		const char *line, size_t len, int had_newline);
/* A break the reader found outside the lines (a gzip file cut short):
 * listed with the chain's breaks, @where a file. */
void report_note_break(struct report *r, const char *where, const char *why);
/* A file read (@skipped 0) or left out (1), for report_totals. */
void report_note_file(struct report *r, int skipped);
/* The end of the input: tops sorted, series built. Call once. Returns
 * 0, or -1 if out of memory (the report is then unusable). */
int report_finish(struct report *r);

/* After report_finish: */
const struct report_opts *report_options(const struct report *r);
const struct report_chain *report_chain(const struct report *r);
const struct report_totals *report_totals(const struct report *r);
/* The departments in range with records, by name ("default" last);
 * only opts.department if set. */
const struct report_dept *report_departments(const struct report *r, size_t *n);
/* A department's sessions over time, in local days (a span over two
 * days), hours (over two hours) or 5 minutes, from the first session's
 * bucket to the last's (the period's, if --since and --until give one
 * of 400 days or less; else at most 400 days, ending at the last
 * session), empty buckets included; NULL for a department without
 * sessions. */
const struct report_point *
report_series(const struct report *r, const struct report_dept *d, size_t *n);
/* The changes in range, oldest first (at most REPORT_CHANGES_MAX). */
const struct report_change *report_changes(const struct report *r, size_t *n);
/* The kill switch as the period starts: the last "killswitch on" change
 * before --since, when no "killswitch off" came after it in the files;
 * NULL otherwise (off, or never switched in the files read). */
const struct report_change *report_killswitch_before(const struct report *r);
/* The node of the records in range (the first, if several: *@n says how
 * many, up to 64), or NULL. */
const char *report_node(const struct report *r, size_t *n);
/* With --department: every department the files name (to say which
 * exist when the one asked for has no record). */
const char *const *report_departments_named(const struct report *r, size_t *n);
/* The local time of @ts_ms in the report's zone: "2026-12-07 14:05:09
 * CET" into @out. */
void report_time(const struct report *r, int64_t ts_ms, char *out, size_t len);

/* Reading (reportio.c): @n files, plain or gzip (zlib), "-" stdin. Files
 * named as logrotate names them (audit.log, audit.log.1,
 * audit.log.2.gz, or audit.log-20261207[.gz]) are read oldest first
 * whatever their order in @files; others in the order given. Returns 0,
 * or -1 with why in @err (a file that cannot be opened or read). */
int report_read(struct report *r, int n, char **files, char *err,
		size_t errlen);

/* Writing (reportout.c), to @fd. Return 0, or -1 with errno. */
enum report_format { REPORT_HTML, REPORT_TEXT, REPORT_JSON };
int report_write(const struct report *r, enum report_format f, int fd);

#endif
