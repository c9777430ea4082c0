/* reportcmd.c - `skyfencectl report` (report.h): its options, the time
 * zone, and the file written whole or not at all. */
#define _GNU_SOURCE /* strptime, mkostemp, timegm */
#include "report/reportcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/tz.h"
#include "report/report.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_BROKEN 4 /* --strict: written, but the trail is broken or empty */

static const char usage_text[] =
	"usage: skyfencectl report [--since WHEN] [--until WHEN] "
	"[--department D] [--format html|text|json] [--tz ZONE] [--top N] "
	"[--output FILE] [--strict] FILE...\n"
	"  WHEN: 2026-12-07, 2026-12-07T14:00[:SS] (in --tz), "
	"2026-12-07T14:00:00Z, @EPOCH, -7d, -12h, -30m (before now)\n"
	"  --strict: exit 4 when the chain is broken or no record was read "
	"(the report is written all the same)\n";

/* The zone a report's days are in when --tz is not given: TZ's name,
 * /etc/timezone, /etc/localtime's link into the zone files, else UTC. */
static void default_zone(char *out, size_t len)
{
	const char *tz = getenv("TZ"), *p;
	char link[PATH_MAX];
	ssize_t n;
	FILE *f;

	snprintf(out, len, "UTC");
	/* TZ=":/etc/localtime" or a path: the system's zone, found below */
	if (tz && *tz == ':')
		tz++;
	if (tz && *tz && *tz != '/') {
		snprintf(out, len, "%s", tz);
		return;
	}
	f = fopen("/etc/timezone", "re");
	if (f) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, " \t\r\n")] = '\0';
		fclose(f);
		if (*out)
			return;
		snprintf(out, len, "UTC");
	}
	n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		p = strstr(link, "zoneinfo/");
		if (p)
			snprintf(out, len, "%s", p + strlen("zoneinfo/"));
	}
}

/* @s as a number of @unit-ms before @now_ms ("-7d"). */
static int parse_relative(const char *s, int64_t now_ms, int64_t *out)
{
	char *end;
	long long v;
	int64_t unit;

	errno = 0;
	v = strtoll(s + 1, &end, 10);
	if (errno || end == s + 1 || v < 0 || v > 100000 || end[1] != '\0')
		return -1;
	switch (*end) {
	case 'd':
		unit = 86400000LL;
		break;
	case 'h':
		unit = 3600000LL;
		break;
	case 'm':
		unit = 60000LL;
		break;
	case 's':
		unit = 1000LL;
		break;
	default:
		return -1;
	}
	*out = now_ms - v * unit;
	return 0;
}

/* WHEN (usage_text) as a UTC instant in ms. Returns 0, or -1. */
static int parse_when(const char *s, const struct tz *z, int64_t *out)
{
	struct timespec now;
	struct tm tm;
	const char *end;
	int64_t local;

	clock_gettime(CLOCK_REALTIME, &now);
	if (s[0] == '-')
		return parse_relative(
			s, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
			out);
	if (s[0] == '@') {
		char *e;
		long long v;

		errno = 0;
		v = strtoll(s + 1, &e, 10);
		if (errno || e == s + 1 || *e || v < 0 || v > INT64_MAX / 1000)
			return -1;
		*out = v * 1000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T') {
		const char *t = strptime(end + 1, "%H:%M:%S", &tm);

		end = t ? t : strptime(end + 1, "%H:%M", &tm);
	}
	if (!end || (*end && strcmp(end, "Z") != 0) ||
	    strlen(s) < strlen("2026-12-07"))
		return -1;
	{
		/* 2026-02-30 is no date: strptime takes it, timegm moves it */
		struct tm back, want = tm;
		time_t t = timegm(&tm);

		gmtime_r(&t, &back);
		if (back.tm_year != want.tm_year ||
		    back.tm_mon != want.tm_mon ||
		    back.tm_mday != want.tm_mday ||
		    back.tm_hour != want.tm_hour ||
		    back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
			return -1;
		local = (int64_t)t;
	}
	*out = (*end == 'Z' ? local : tz_utc_of(z, local)) * 1000;
	return 0;
}

/* @f written to @path whole: a file beside it (0640), synced, renamed
 * over it. */
static int write_file(const struct report *r, enum report_format f,
		      const char *path)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd, e;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		/* a device or a pipe (/dev/null, /dev/stdout): written to,
		 * never replaced by a file */
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (report_write(r, f, fd) != 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		return close(fd);
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0640) != 0 || report_write(r, f, fd) != 0 ||
	    fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

struct args {
	const char *since, *until, *dept, *zone, *output;
	enum report_format format;
	unsigned top;
	int strict, help;
	char **files; /* argv's, options taken out */
	int nfiles;
};

/* One option @o (its value @v, or NULL if none follows). Returns the
 * words it took (1 or 2), or -1 with the reason said. */
static int parse_option(struct args *a, const char *o, const char *v)
{
	static const char *const takes[] = { "--since",	     "--until",
					     "--department", "--tz",
					     "--output",     "--top",
					     "--format" };
	size_t k;

	if (!strcmp(o, "--strict") || !strcmp(o, "--help")) {
		*(o[2] == 's' ? &a->strict : &a->help) = 1;
		return 1;
	}
	for (k = 0; k < sizeof(takes) / sizeof(takes[0]); k++)
		if (!strcmp(o, takes[k]))
			break;
	if (k == sizeof(takes) / sizeof(takes[0])) {
		fprintf(stderr, "skyfencectl: report: unknown option %s\n", o);
		return -1;
	}
	if (!v) {
		fprintf(stderr, "skyfencectl: report: %s needs a value\n", o);
		return -1;
	}
	if (!strcmp(o, "--since"))
		a->since = v;
	else if (!strcmp(o, "--until"))
		a->until = v;
	else if (!strcmp(o, "--department"))
		a->dept = v;
	else if (!strcmp(o, "--tz"))
		a->zone = v;
	else if (!strcmp(o, "--output"))
		a->output = v;
	else if (!strcmp(o, "--top")) {
		char *e;
		unsigned long n = strtoul(v, &e, 10);

		if (*e || !*v || n < 1 || n > 1000) {
			fprintf(stderr,
				"skyfencectl: report: --top %s: a number "
				"from 1 to 1000\n",
				v);
			return -1;
		}
		a->top = (unsigned)n;
	} else if (!strcmp(v, "html") || !strcmp(v, "text") ||
		   !strcmp(v, "json")) {
		a->format = v[0] == 'h'	  ? REPORT_HTML
			    : v[0] == 't' ? REPORT_TEXT
					  : REPORT_JSON;
	} else {
		fprintf(stderr,
			"skyfencectl: report: --format %s: html, text or "
			"json\n",
			v);
		return -1;
	}
	return 2;
}

/* Options anywhere ("--opt value" or "--opt=value"; "--" ends them),
 * the rest files. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int i, only_files = 0;

	memset(a, 0, sizeof(*a));
	a->format = REPORT_HTML;
	a->top = REPORT_TOP_DEFAULT;
	a->files = calloc((size_t)argc + 1, sizeof(*a->files));
	if (!a->files)
		return -1;
	for (i = 0; i < argc; i++) {
		char opt[64], *eq;
		int used;

		if (!only_files && argv[i][0] == '-' && argv[i][1] &&
		    argv[i][1] != '-') {
			fprintf(stderr,
				"skyfencectl: report: unknown option %s (the "
				"options are long: --output FILE; a file named "
				"so: -- %s)\n",
				argv[i], argv[i]);
			return -1;
		}
		if (only_files || strncmp(argv[i], "--", 2) != 0) {
			a->files[a->nfiles++] = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			only_files = 1;
			continue;
		}
		eq = strchr(argv[i], '=');
		if (eq && (size_t)(eq - argv[i]) < sizeof(opt)) {
			memcpy(opt, argv[i], (size_t)(eq - argv[i]));
			opt[eq - argv[i]] = '\0';
			used = parse_option(a, opt, eq + 1);
			used = used == 2 ? 1 : used < 0 ? -1 : -2;
		} else {
			used = parse_option(a, argv[i],
					    i + 1 < argc ? argv[i + 1] : NULL);
		}
		if (used == -2)
			fprintf(stderr,
				"skyfencectl: report: %s takes no value\n",
				opt);
		if (used < 0)
			return -1;
		i += used - 1;
	}
	if (!a->nfiles && !a->help) {
		fprintf(stderr, "skyfencectl: report: no audit file given\n");
		return -1;
	}
	return 0;
}

/* With --department: a name no record has is most likely a typo. */
static int department_found(const struct report *r, const char *dept)
{
	const char *const *names;
	size_t n, k;

	report_departments(r, &n);
	if (!dept || n)
		return 1;
	names = report_departments_named(r, &k);
	fprintf(stderr,
		"skyfencectl: report: no record in the period names "
		"department '%s'; the files name:",
		dept);
	for (n = 0; n < k; n++)
		fprintf(stderr, " %s", names[n]);
	fprintf(stderr, "%s\n", k ? "" : " none");
	return 0;
}

static int run(const struct args *a, struct report_opts *o)
{
	char err[512];
	struct report *r = report_create(o);
	const struct report_chain *c;
	int rc = 0;

	if (!r) {
		fprintf(stderr, "skyfencectl: report: out of memory\n");
		return EXIT_REFUSED;
	}
	if (report_read(r, a->nfiles, a->files, err, sizeof(err)) != 0) {
		fprintf(stderr, "skyfencectl: report: %s\n", err);
		report_destroy(r);
		return EXIT_REFUSED;
	}
	if (report_finish(r) != 0) {
		fprintf(stderr, "skyfencectl: report: out of memory\n");
		report_destroy(r);
		return EXIT_REFUSED;
	}
	if (a->output ? write_file(r, a->format, a->output)
		      : report_write(r, a->format, STDOUT_FILENO)) {
		fprintf(stderr, "skyfencectl: report: %s: %s\n",
			a->output ? a->output : "stdout", strerror(errno));
		rc = EXIT_REFUSED;
	} else if (!department_found(r, o->department)) {
		rc = EXIT_REFUSED;
	}
	c = report_chain(r);
	if (!c->intact)
		fprintf(stderr,
			"skyfencectl: report: the audit chain is broken "
			"(%" PRIu64 " place(s); first: %s: %s): the report "
			"says so\n",
			c->breaks_total, c->breaks[0].where, c->breaks[0].why);
	if (!c->records)
		fprintf(stderr, "skyfencectl: report: no audit record read\n");
	if (!rc && a->strict && (!c->intact || !c->records))
		rc = EXIT_BROKEN;
	report_destroy(r);
	return rc;
}

int report_command(int argc, char **argv)
{
	struct report_opts o;
	struct args a;
	char zone[256], err[256];
	const char *bad = NULL;
	struct tz *z = NULL;
	int rc = EXIT_USAGE;

	if (parse_args(argc, argv, &a) != 0) {
		fputs(usage_text, stderr);
		goto out;
	}
	if (a.help) {
		fputs(usage_text, stdout);
		rc = 0;
		goto out;
	}
	if (a.zone)
		snprintf(zone, sizeof(zone), "%s", a.zone);
	else
		default_zone(zone, sizeof(zone));
	z = tz_load(zone, err, sizeof(err));
	if (!z) {
		fprintf(stderr, "skyfencectl: report: --tz: %s\n", err);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.since_ms = INT64_MIN;
	o.until_ms = INT64_MAX;
	o.department = a.dept;
	o.tz = z;
	o.top = a.top;
	if (a.since && parse_when(a.since, z, &o.since_ms) != 0)
		bad = a.since;
	else if (a.until && parse_when(a.until, z, &o.until_ms) != 0)
		bad = a.until;
	if (bad) {
		fprintf(stderr, "skyfencectl: report: not a time: %s\n%s", bad,
			usage_text);
		goto out;
	}
	if (o.since_ms >= o.until_ms) {
		fprintf(stderr,
			"skyfencectl: report: --since is not before --until\n");
		goto out;
	}
	rc = run(&a, &o);
out:
	tz_free(z);
	free(a.files);
	return rc;
}
