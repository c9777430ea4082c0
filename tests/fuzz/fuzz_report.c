/* libFuzzer: audit files as skyfencectl report reads them, from any file
 * an admin passes (report.c, record.c, reportio.c, reportout.c). The
 * input is a file's lines fed to report_line, or one line as a whole, or
 * the file itself read by report_read (a gzip stream too: zlib reads
 * plain data through); the options (a time range, a department, a zone
 * with DST, the top) follow from its size. Then every accessor and the
 * three formats, written to /dev/null. Beyond the sanitizers, what
 * report.h promises: a department's total is the sum of its sessions, at
 * most opts.top hosts and users, sorted by total then bytes through (the
 * evidence too), buckets in time order whose sessions never exceed the
 * department's, breaks listed up to REPORT_BREAKS and the chain not
 * intact with any. */
#define _GNU_SOURCE /* memfd_create */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "policy/tz.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY 1796601600000LL /* 2026-12-07 00:00 UTC */

static int devnull = -1, memfd = -1;
static struct tz *berlin;

static void check_tops(const struct report_top *t, size_t n, unsigned top)
{
	size_t i;

	if (n > top)
		__builtin_trap();
	for (i = 0; i < n; i++) {
		uint64_t sum = 0;
		int a;

		if (!t[i].key)
			__builtin_trap();
		for (a = 0; a < REPORT_ACTIONS; a++)
			sum += t[i].sessions[a];
		/* by total, then bytes through */
		if (sum != t[i].total ||
		    (i && (t[i].total > t[i - 1].total ||
			   (t[i].total == t[i - 1].total &&
			    t[i].bytes_through > t[i - 1].bytes_through))))
			__builtin_trap();
	}
}

static void check(const struct report *r)
{
	const struct report_opts *o = report_options(r);
	const struct report_chain *ch = report_chain(r);
	const struct report_totals *tot = report_totals(r);
	const struct report_change *c;
	const struct report_dept *d;
	char when[128];
	size_t n, k, i;

	if (ch->n_breaks > REPORT_BREAKS || ch->n_breaks > ch->breaks_total ||
	    (ch->breaks_total && ch->intact) || tot->unreadable > tot->lines ||
	    tot->records_in_range > tot->lines)
		__builtin_trap();
	for (i = 0; i < ch->n_breaks; i++)
		if (!memchr(ch->breaks[i].where, 0,
			    sizeof(ch->breaks[i].where)) ||
		    !memchr(ch->breaks[i].why, 0, sizeof(ch->breaks[i].why)))
			__builtin_trap();
	report_time(r, tot->first_ms, when, sizeof(when));
	report_time(r, tot->last_ms, when, sizeof(when));
	d = report_departments(r, &n);
	if (o->department && n > 1)
		__builtin_trap();
	for (k = 0; k < n; k++) {
		const struct report_point *p;
		uint64_t sum = 0, in_points[REPORT_ACTIONS] = { 0 };
		size_t np;
		int a;

		if (!d[k].name ||
		    (o->department && strcmp(d[k].name, o->department)))
			__builtin_trap();
		for (a = 0; a < REPORT_ACTIONS; a++)
			sum += d[k].sessions[a];
		if (sum != d[k].total)
			__builtin_trap();
		check_tops(d[k].hosts, d[k].n_hosts, o->top);
		check_tops(d[k].users, d[k].n_users, o->top);
		check_tops(d[k].evidence, d[k].n_evidence, UINT32_MAX);
		if (d[k].n_hosts > d[k].hosts_seen ||
		    d[k].n_users > d[k].users_seen)
			__builtin_trap();
		p = report_series(r, &d[k], &np);
		for (i = 0; i < np; i++) {
			if (p[i].end_ms <= p[i].start_ms ||
			    (i && p[i].start_ms < p[i - 1].end_ms) ||
			    !memchr(p[i].label, 0, sizeof(p[i].label)))
				__builtin_trap();
			for (a = 0; a < REPORT_ACTIONS; a++)
				in_points[a] += p[i].sessions[a];
		}
		for (a = 0; a < REPORT_ACTIONS; a++)
			if (in_points[a] > d[k].sessions[a])
				__builtin_trap();
	}
	c = report_changes(r, &n);
	if (n > REPORT_CHANGES_MAX)
		__builtin_trap();
	for (k = 0; k < n; k++) {
		if (!c[k].node || !c[k].what || c[k].cut > c[k].redecided)
			__builtin_trap();
		report_time(r, c[k].ts_ms, when, sizeof(when));
	}
}

/* The options from the input's size, so that its bytes stay a file's. */
static struct report_opts opts_of(size_t size)
{
	struct report_opts o = { .since_ms = INT64_MIN,
				 .until_ms = INT64_MAX,
				 .department = NULL,
				 .tz = NULL,
				 .top = 1 + (unsigned)(size % 11) };

	switch (size % 5) {
	case 1:
		o.since_ms = DAY - 86400000LL * 3;
		o.until_ms = DAY + 3600000;
		break;
	case 2:
		o.department = size & 8 ? "finance" : "default";
		break;
	case 3:
		o.tz = berlin;
		break;
	case 4:
		o.tz = berlin;
		o.since_ms = DAY - 86400000LL * (int64_t)(size % 400);
		break;
	}
	return o;
}

static void init(void)
{
	char err[256];

	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	memfd = memfd_create("fuzz_report", MFD_CLOEXEC);
	berlin = tz_load("Europe/Berlin", err, sizeof(err));
	if (devnull < 0 || memfd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct report_opts o;
	struct report *r;
	unsigned long ln = 0;
	int mode;

	if (devnull < 0)
		init();
	o = opts_of(size);
	r = report_create(&o);
	if (!r)
		return 0;
	/* a gzip stream is a file to read; else the first byte picks: lines
	 * ('{' among them), one line, a file */
	mode = size >= 2 && data[0] == 0x1f && data[1] == 0x8b ? 2
	       : size					       ? data[0] % 3
							       : 0;
	if (mode == 0) {
		const char *p = s, *end = s + size, *nl;

		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (report_line(r, "fuzz", ++ln, p,
					(size_t)((nl ? nl : end) - p),
					nl != NULL) != 0)
				break;
			p = nl ? nl + 1 : end;
		}
	} else if (mode == 1) {
		report_line(r, "fuzz", 1, s, size, size & 1);
	} else {
		char path[64], err[512], *files[] = { path };

		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
		if (ftruncate(memfd, 0) != 0 ||
		    pwrite(memfd, data, size, 0) != (ssize_t)size)
			abort();
		if (report_read(r, 1, files, err, sizeof(err)) != 0 &&
		    !memchr(err, 0, sizeof(err)))
			__builtin_trap();
	}
	report_finish(r);
	check(r);
	report_write(r, REPORT_HTML, devnull);
	report_write(r, REPORT_TEXT, devnull);
	report_write(r, REPORT_JSON, devnull);
	report_destroy(r);
	return 0;
}
