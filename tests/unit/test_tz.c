/* Time zones (tz.h): the system's zone files read by tz.c answer as glibc
 * does (TZ, tzset, localtime_r: this test is one thread) every half
 * hour of 2024-2030, 2040 and 2100 in zones with unusual rules;
 * the DST gap and overlap have their documented meanings; slim files
 * (transitions up to 2007, then the footer's rule) answer as fat ones;
 * footers' POSIX rules, the v3 extensions included, as glibc reads them;
 * names that are not zone names are refused before any open; broken
 * files with a message. */
#define _GNU_SOURCE /* timegm, mkdtemp */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "policy/tz.h"

/* in the loops over years: Check's ck_assert records every check passed
 * (a write to its pipe), a million times too slow here */
#define EXPECT(cond, ...)                          \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi };

	return (int64_t)timegm(&tm);
}

static struct tz *load(const char *name)
{
	char err[256] = "";
	struct tz *z = tz_load(name, err, sizeof(err));

	ck_assert_msg(z != NULL, "%s: %s", name, err);
	ck_assert_str_eq(tz_name(z), name);
	return z;
}

/* glibc's offset and DST flag at @t in the zone TZ names */
static long g_off(int64_t t, int *isdst)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	if (isdst)
		*isdst = tm.tm_isdst > 0;
	return tm.tm_gmtoff;
}

/* glibc's answers over a span, as its transitions: found hourly (no zone
 * changes twice within an hour), each instant then bisected */
struct oracle {
	int64_t from, at[512];
	long off[513];
	int dst[513], n;
};

static void oracle_build(struct oracle *o, int64_t from, int64_t to)
{
	int dst;
	long off = g_off(from, &dst);

	o->from = from;
	o->n = 0;
	o->off[0] = off;
	o->dst[0] = dst;
	for (int64_t t = from + 3600; t < to + 3600; t += 3600) {
		int d2;
		long o2 = g_off(t, &d2);
		int64_t a = t - 3600, b = t;

		if (o2 == off && d2 == dst)
			continue;
		while (b - a > 1) {
			int64_t m = a + (b - a) / 2, d3;
			long o3 = g_off(m, &dst);

			d3 = dst;
			if (o3 == off && d3 == o->dst[o->n])
				a = m;
			else
				b = m;
		}
		ck_assert_int_lt(o->n, 512);
		o->at[o->n++] = b;
		off = o->off[o->n] = g_off(b, &dst);
		o->dst[o->n] = dst;
	}
}

static long oracle_off(const struct oracle *o, int64_t t, int *isdst)
{
	int i = 0;

	EXPECT(t >= o->from, "oracle asked about %lld", (long long)t);
	while (i < o->n && o->at[i] <= t)
		i++;
	if (isdst)
		*isdst = o->dst[i];
	return o->off[i];
}

/* Compares @z with glibc (TZ set to @tzenv) over [@from, @to) every
 * @step seconds: offsets and flags at UTC instants, and wall times back
 * to UTC (a repeated wall time: its first occurrence; one skipped: the
 * end of the gap, where glibc's offset changes). Returns the number of
 * gap wall times seen. */
static long cross_check(const struct tz *z, const char *tzenv, int64_t from,
			int64_t to, int64_t step)
{
	static struct oracle o;
	long gaps = 0;

	setenv("TZ", tzenv, 1);
	tzset();
	oracle_build(&o, from - 3 * 86400, to + 3 * 86400);
	for (int64_t t = from; t < to; t += step) {
		int dst, gdst;
		long off = oracle_off(&o, t, &gdst);
		int64_t l = t, valid[3], n = 0, best = INT64_MAX;
		long cand[3];

		EXPECT(tz_offset(z, t, &dst) == off && dst == gdst,
		       "%s at %lld: %d/%d, glibc %ld/%d", tzenv, (long long)t,
		       tz_offset(z, t, NULL), dst, off, gdst);
		EXPECT(tz_local_of(z, t) == t + off, "%s: local of %lld", tzenv,
		       (long long)t);
		/* the wall time l read back */
		cand[0] = oracle_off(&o, l - 2 * 86400, NULL);
		cand[1] = oracle_off(&o, l, NULL);
		cand[2] = oracle_off(&o, l + 2 * 86400, NULL);
		for (int i = 0; i < 3; i++) {
			int64_t c = l - cand[i];

			if (oracle_off(&o, c, NULL) == cand[i] &&
			    (n == 0 || valid[n - 1] != c)) {
				valid[n++] = c;
				if (c < best)
					best = c;
			}
		}
		if (n > 0) {
			EXPECT(tz_utc_of(z, l) == best,
			       "%s: wall %lld -> %lld, expected %lld", tzenv,
			       (long long)l, (long long)tz_utc_of(z, l),
			       (long long)best);
		} else {
			int64_t e = tz_utc_of(z, l);

			/* the end of the gap: the offset changes there,
			 * and the wall time lies in what it skips */
			gaps++;
			EXPECT(g_off(e - 1, NULL) != g_off(e, NULL) &&
				       e - 1 + g_off(e - 1, NULL) < l &&
				       l < e + g_off(e, NULL),
			       "%s: wall %lld in a gap -> %lld", tzenv,
			       (long long)l, (long long)e);
		}
	}
	return gaps;
}

static void cross_check_years(const char *name)
{
	struct tz *z = load(name);

	cross_check(z, name, utc(2024, 1, 1, 0, 0), utc(2031, 1, 1, 0, 0),
		    1800);
	/* past 2037: slim and fat files alike leave these to the footer */
	cross_check(z, name, utc(2040, 1, 1, 0, 0), utc(2041, 1, 1, 0, 0),
		    1800);
	cross_check(z, name, utc(2100, 1, 1, 0, 0), utc(2101, 1, 1, 0, 0),
		    1800);
	tz_free(z);
}

START_TEST(test_zones_answer_as_glibc_does_2024_to_2030_2040_2100)
{
	static const char *zones[] = {
		"Europe/Berlin",
		"America/New_York",
		"Australia/Lord_Howe",
		"Asia/Kolkata",
		"UTC",
		"America/Sao_Paulo",
		"Pacific/Apia",
		"Pacific/Chatham",
		"Asia/Tehran",
		"Europe/Dublin",
		"America/Santiago",
		"Africa/Casablanca",
		"America/St_Johns",
		"Antarctica/Troll",
	};

	cross_check_years(zones[_i]);
}
END_TEST

START_TEST(
	test_berlin_spring_gap_ends_at_three_and_autumn_overlap_is_summer_time)
{
	struct tz *z = load("Europe/Berlin");
	int dst;

	/* 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC */
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 29, 2, 30)),
			 utc(2026, 3, 29, 1, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 29, 2, 0)),
			 utc(2026, 3, 29, 1, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 29, 2, 59)),
			 utc(2026, 3, 29, 1, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 29, 3, 0)),
			 utc(2026, 3, 29, 1, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 29, 1, 59)),
			 utc(2026, 3, 29, 0, 59));
	ck_assert_int_eq(tz_offset(z, utc(2026, 3, 29, 1, 0) - 1, &dst), 3600);
	ck_assert_int_eq(dst, 0);
	ck_assert_int_eq(tz_offset(z, utc(2026, 3, 29, 1, 0), &dst), 7200);
	ck_assert_int_eq(dst, 1);
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00-02:59
	 * twice, the first (CEST) meant */
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 10, 25, 2, 30)),
			 utc(2026, 10, 25, 0, 30));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 10, 25, 2, 0)),
			 utc(2026, 10, 25, 0, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 10, 25, 3, 0)),
			 utc(2026, 10, 25, 2, 0));
	ck_assert_int_eq(tz_local_of(z, utc(2026, 10, 25, 1, 30)),
			 utc(2026, 10, 25, 2, 30));
	ck_assert_int_eq(tz_local_of(z, utc(2026, 10, 25, 0, 30)),
			 utc(2026, 10, 25, 2, 30));
	/* abbreviations, from the file's types and from its footer */
	ck_assert_str_eq(tz_abbr(z, utc(2026, 10, 25, 0, 59)), "CEST");
	ck_assert_str_eq(tz_abbr(z, utc(2026, 10, 25, 1, 0)), "CET");
	ck_assert_str_eq(tz_abbr(z, utc(2100, 7, 1, 0, 0)), "CEST");
	ck_assert_str_eq(tz_abbr(z, utc(2100, 12, 1, 0, 0)), "CET");
	tz_free(z);
	z = load("Asia/Tehran");
	ck_assert_str_eq(tz_abbr(z, utc(2026, 7, 1, 0, 0)), "+0330");
	ck_assert_str_eq(tz_abbr(z, utc(2100, 7, 1, 0, 0)), "+0330");
	tz_free(z);
}
END_TEST

START_TEST(test_new_york_spring_gap_and_autumn_overlap)
{
	struct tz *z = load("America/New_York");

	/* 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC */
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 8, 2, 30)),
			 utc(2026, 3, 8, 7, 0));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 8, 1, 30)),
			 utc(2026, 3, 8, 6, 30));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 3, 8, 3, 30)),
			 utc(2026, 3, 8, 7, 30));
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC */
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 11, 1, 1, 30)),
			 utc(2026, 11, 1, 5, 30));
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 11, 1, 2, 0)),
			 utc(2026, 11, 1, 7, 0));
	ck_assert_int_eq(tz_offset(z, utc(2026, 11, 1, 6, 0), NULL), -18000);
	ck_assert_int_eq(tz_offset(z, utc(2026, 11, 1, 6, 0) - 1, NULL),
			 -14400);
	tz_free(z);
}
END_TEST

START_TEST(test_lord_howe_half_hour_dst_gap)
{
	struct tz *z = load("Australia/Lord_Howe");

	/* 2026-10-04 02:00 +1030 becomes 02:30 +11 (15:30 UTC the day
	 * before) */
	ck_assert_int_eq(tz_utc_of(z, utc(2026, 10, 4, 2, 15)),
			 utc(2026, 10, 3, 15, 30));
	ck_assert_int_eq(tz_offset(z, utc(2026, 10, 3, 15, 30), NULL), 39600);
	ck_assert_int_eq(tz_offset(z, utc(2026, 10, 3, 15, 29), NULL), 37800);
	tz_free(z);
}
END_TEST

/* a TZif v@ver file with no transitions, one type (@off) and @footer */
static size_t tzif(uint8_t *b, char ver, int32_t off, const char *footer)
{
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		memset(b + n, 0, 44);
		memcpy(b + n, "TZif", 4);
		b[n + 4] = (uint8_t)ver;
		b[n + 39] = 1; /* typecnt */
		b[n + 43] = 4; /* charcnt */
		n += 44;
		b[n++] = (uint8_t)((uint32_t)off >> 24);
		b[n++] = (uint8_t)((uint32_t)off >> 16);
		b[n++] = (uint8_t)((uint32_t)off >> 8);
		b[n++] = (uint8_t)off;
		b[n++] = 0;
		b[n++] = 0;
		memcpy(b + n, "XXX", 4);
		n += 4;
	}
	n += (size_t)sprintf((char *)b + n, "\n%s\n", footer);
	return n;
}

START_TEST(test_footer_rules_read_as_glibc_reads_them)
{
	static const char *rules[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"EST5EDT,M3.2.0,M11.1.0",
		"<+0330>-3:30",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", /* v3: negative hours */
		"IST-2IDT,M3.4.4/26,M10.5.0",	    /* v3: past 24 */
		"AAA3BBB,J60/2,J300/2",		    /* Jn: no Feb 29 */
		"AAA3BBB,59/2,299/2",		    /* n: Feb 29 counts */
		"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
		"AEST-10AEDT,M10.1.0,M4.1.0/3", /* southern */
		"<+00>0<+02>-2,M3.5.0/1,M10.5.0/3",
		"PST8PDT", /* no rule: the US one */
		"AAA-1BBB-3:30,M3.1.0/-5,M10.5.6/100",
	};
	uint8_t b[512];
	char err[256];
	size_t n = tzif(b, '3', 0, rules[_i]);
	struct tz *z = tz_parse("Test/Rule", b, n, err, sizeof(err));

	ck_assert_msg(z != NULL, "%s: %s", rules[_i], err);
	cross_check(z, rules[_i], utc(2024, 1, 1, 0, 0), utc(2029, 1, 1, 0, 0),
		    1800);
	cross_check(z, rules[_i], utc(2100, 1, 1, 0, 0), utc(2101, 1, 1, 0, 0),
		    1800);
	tz_free(z);
}
END_TEST

/* glibc computes a footer's transitions for the UTC year of the instant
 * only; RFC 8536 (3.3.1) and tzcode look at the years around it */
START_TEST(test_rules_across_new_year_follow_rfc_8536)
{
	uint8_t b[512];
	char err[256];
	struct tz *perm, *late;
	int dst;

	perm = tz_parse("Test/Perm", b, tzif(b, '3', 0, "EST5EDT,0/0,J365/25"),
			err, sizeof(err));
	late = tz_parse("Test/Late", b,
			tzif(b, '3', 0, "AAA-1BBB-3:30,M1.1.0/0,M12.5.6/167"),
			err, sizeof(err));
	ck_assert(perm && late);
	/* DST all year, across new year too */
	for (int64_t t = utc(2025, 12, 30, 0, 0); t < utc(2027, 1, 3, 0, 0);
	     t += 1800) {
		EXPECT(tz_offset(perm, t, &dst) == -14400 && dst == 1,
		       "at %lld", (long long)t);
	}
	/* DST from the first Sunday of January to 167 h after the last
	 * Saturday of December: 2026-12-26 + 167 h = 2027-01-01 23:00 */
	ck_assert_int_eq(tz_offset(late, utc(2027, 1, 1, 19, 29), NULL), 12600);
	ck_assert_int_eq(tz_offset(late, utc(2027, 1, 1, 19, 30), NULL), 3600);
	/* 2027-01-03 00:00 +01 */
	ck_assert_int_eq(tz_offset(late, utc(2027, 1, 2, 22, 59), NULL), 3600);
	ck_assert_int_eq(tz_offset(late, utc(2027, 1, 2, 23, 0), NULL), 12600);
	tz_free(perm);
	tz_free(late);
}
END_TEST

START_TEST(test_slim_files_answer_as_fat_ones)
{
	static const char *zones[] = { "Europe/Berlin", "America/New_York",
				       "Australia/Lord_Howe",
				       "America/Sao_Paulo", "Asia/Tehran" };
	char dir[] = "/tmp/test_tz.XXXXXX", cmd[512], path[512], err[256];
	static uint8_t buf[1 << 16];

	if (access("/usr/sbin/zic", X_OK) != 0 ||
	    access("/usr/share/zoneinfo/tzdata.zi", R_OK) != 0)
		return; /* no zic: the fat files alone are checked */
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/zic -b slim -d %s /usr/share/zoneinfo/tzdata.zi",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *fat = load(zones[i]), *slim;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, zones[i]);
		f = fopen(path, "rb");
		ck_assert(f != NULL);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		slim = tz_parse(zones[i], buf, n, err, sizeof(err));
		ck_assert_msg(slim != NULL, "%s", err);
		for (int64_t t = utc(1990, 1, 1, 0, 0);
		     t < utc(2045, 1, 1, 0, 0); t += 1800) {
			int d1, d2;

			EXPECT(tz_offset(slim, t, &d1) ==
					       tz_offset(fat, t, &d2) &&
				       d1 == d2,
			       "%s at %lld", zones[i], (long long)t);
			EXPECT(tz_utc_of(slim, t) == tz_utc_of(fat, t),
			       "%s: wall %lld", zones[i], (long long)t);
		}
		tz_free(slim);
		tz_free(fat);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_an_unknown_zone_is_named)
{
	char err[256] = "";

	ck_assert_ptr_null(tz_load("Europe/Berln", err, sizeof(err)));
	ck_assert_str_eq(err, "unknown time zone 'Europe/Berln'");
	/* a directory of zones is not one */
	ck_assert_ptr_null(tz_load("Europe", err, sizeof(err)));
	ck_assert_str_eq(err, "unknown time zone 'Europe'");
}
END_TEST

START_TEST(test_names_that_are_paths_are_refused_before_any_open)
{
	/* each would open a file that exists if it were a path */
	static const char *bad[] = {
		"Europe/../Europe/Berlin",
		"../zoneinfo/Europe/Berlin",
		"/usr/share/zoneinfo/UTC",
		"Europe//Berlin",
		"Europe/Berlin/",
		"./UTC",
		"",
		"Europe/Berlin\n",
		"UTC ",
		"zone.tab",
	};
	char err[256] = "", expect[512];

	ck_assert_ptr_null(tz_load(bad[_i], err, sizeof(err)));
	snprintf(expect, sizeof(expect), "'%s' is not a time zone name",
		 bad[_i]);
	ck_assert_str_eq(err, expect);
}
END_TEST

START_TEST(test_a_very_long_name_is_refused)
{
	char name[400], err[256] = "";

	memset(name, 'A', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_ptr_null(tz_load(name, err, sizeof(err)));
	ck_assert(strstr(err, "is not a time zone name") != NULL);
	ck_assert(strlen(err) < 100);
}
END_TEST

START_TEST(test_a_file_that_is_not_a_zone_is_refused)
{
	char err[256] = "";

	if (access("/usr/share/zoneinfo/leapseconds", R_OK) != 0)
		return;
	ck_assert_ptr_null(tz_load("leapseconds", err, sizeof(err)));
	ck_assert_str_eq(err,
			 "time zone 'leapseconds': not a zone file (TZif)");
}
END_TEST

/* a valid v2 file with one transition at 1000 from type 0 (+1h) to 1
 * (+2h, DST) and a footer; @mut changes one byte at @at first */
static size_t two_types(uint8_t *b, const char *footer)
{
	size_t n = 0;

	memset(b, 0, 512);
	for (int pass = 0; pass < 2; pass++) {
		size_t tsize = pass ? 8 : 4;

		memcpy(b + n, "TZif2", 5);
		b[n + 35] = 1; /* timecnt */
		b[n + 39] = 2; /* typecnt */
		b[n + 43] = 8; /* charcnt */
		n += 44;
		b[n + tsize - 2] = 0x03; /* 1000 */
		b[n + tsize - 1] = 0xe8;
		n += tsize;
		b[n++] = 1;				  /* index */
		b[n + 2] = 0x0e, b[n + 3] = 0x10, n += 6; /* 3600 */
		b[n + 2] = 0x1c, b[n + 3] = 0x20, b[n + 4] = 1, b[n + 5] = 4;
		n += 6;
		memcpy(b + n, "CET\0CES", 8);
		n += 8;
	}
	n += (size_t)sprintf((char *)b + n, "\n%s\n", footer);
	return n;
}

START_TEST(test_broken_files_are_refused_with_a_message)
{
	uint8_t b[512], c[512];
	char err[256];
	size_t n = two_types(b, "CES-2"), v1 = 44 + 4 + 1 + 12 + 8;
	struct tz *z = tz_parse("T/Ok", b, n, err, sizeof(err));
	struct {
		size_t at;
		uint8_t val;
		const char *why;
	} muts[] = {
		{ 0, 'X', "not a zone file (TZif)" },
		{ v1 + 39, 0, "a broken zone file" },	      /* typecnt 0 */
		{ v1 + 44 + 8, 2, "a broken zone file" },     /* index 2 */
		{ v1 + 44 + 9, 0x80, "a broken zone file" },  /* offset */
		{ v1 + 44 + 9 + 4, 2, "a broken zone file" }, /* isdst 2 */
		{ v1 + 44 + 9 + 5, 8, "a broken zone file" }, /* abbr index */
		{ v1 + 31, 1, "zone files with leap seconds" },
		{ v1 + 35, 200, "a broken zone file" }, /* timecnt: short */
		{ n - 3, '!', "a broken zone file (its rule)" },
		{ n - 1, 'x', "a broken zone file (its rule)" },
	};

	ck_assert_msg(z != NULL, "%s", err);
	ck_assert_int_eq(tz_offset(z, 999, NULL), 3600);
	ck_assert_int_eq(tz_offset(z, 1000, NULL), 7200);
	tz_free(z);
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		memcpy(c, b, n);
		c[muts[i].at] = muts[i].val;
		err[0] = '\0';
		ck_assert_msg(tz_parse("T/Bad", c, n, err, sizeof(err)) == NULL,
			      "mutation %zu accepted", i);
		ck_assert_msg(strstr(err, muts[i].why) != NULL, "%zu: %s", i,
			      err);
	}
	/* every truncation */
	for (size_t k = 0; k < n; k++) {
		EXPECT(tz_parse("T/Short", b, k, err, sizeof(err)) == NULL,
		       "%zu bytes accepted", k);
		EXPECT(strstr(err, "time zone 'T/Short': ") == err, "%s", err);
	}
	/* too large */
	ck_assert_ptr_null(
		tz_parse("T/Big", b, (1u << 20) + 1, err, sizeof(err)));
}
END_TEST

START_TEST(test_thousands_of_conversions_are_nothing)
{
	struct tz *z = load("Europe/Berlin");
	struct timespec a, b;
	int64_t t0 = utc(2026, 1, 1, 0, 0), sum = 0;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 200000; i++) {
		sum += tz_utc_of(z, t0 + (int64_t)i * 997);
		sum += tz_offset(z, t0 + 2000000000 + (int64_t)i * 997, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert_msg(s < 2.0, "400000 conversions took %.2f s", s);
	ck_assert(sum != 0);
	tz_free(z);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tz");
	TCase *c = tcase_create("tz");

	tcase_set_timeout(c, 120);
	tcase_add_loop_test(
		c, test_zones_answer_as_glibc_does_2024_to_2030_2040_2100, 0,
		14);
	tcase_add_test(
		c,
		test_berlin_spring_gap_ends_at_three_and_autumn_overlap_is_summer_time);
	tcase_add_test(c, test_new_york_spring_gap_and_autumn_overlap);
	tcase_add_test(c, test_lord_howe_half_hour_dst_gap);
	tcase_add_loop_test(c, test_footer_rules_read_as_glibc_reads_them, 0,
			    12);
	tcase_add_test(c, test_rules_across_new_year_follow_rfc_8536);
	tcase_add_test(c, test_slim_files_answer_as_fat_ones);
	tcase_add_test(c, test_an_unknown_zone_is_named);
	tcase_add_loop_test(
		c, test_names_that_are_paths_are_refused_before_any_open, 0,
		10);
	tcase_add_test(c, test_a_very_long_name_is_refused);
	tcase_add_test(c, test_a_file_that_is_not_a_zone_is_refused);
	tcase_add_test(c, test_broken_files_are_refused_with_a_message);
	tcase_add_test(c, test_thousands_of_conversions_are_nothing);
	suite_add_tcase(s, c);
	return check_run(s);
}
