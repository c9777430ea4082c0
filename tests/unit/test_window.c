/* Time windows (window.h): office hours across the DST days in
 * Europe/Berlin and America/New_York (the UTC instants of their
 * boundaries move by an hour), boundaries inside a gap and an overlap,
 * ranges across midnight belonging to the day they start on, merged
 * neighbours, leap days, dates and except, windows that never open
 * again, temporary windows, several windows' next change, and the
 * schedule's clock ticking, stepped forwards and backwards. Expected
 * instants are written in UTC with the zone's offset by hand (timegm),
 * never computed with the code under test. */
#define _GNU_SOURCE /* timegm */
#include <check.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "policy/tz.h"
#include "policy/window.h"

#define MON 0x01
#define TUE 0x02
#define FRI 0x10
#define SAT 0x20
#define MON_FRI 0x1f
#define ALL 0x7f
#define HM(h, m) ((h)*60 + (m))

static struct tz *berlin, *new_york;

static void zones_load(void)
{
	char err[256];

	berlin = tz_load("Europe/Berlin", err, sizeof(err));
	new_york = tz_load("America/New_York", err, sizeof(err));
	ck_assert_msg(berlin && new_york, "%s", err);
}

static void zones_free(void)
{
	tz_free(berlin);
	tz_free(new_york);
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi };

	return (int64_t)timegm(&tm);
}

/* A recurring window in @z on @days with @n ranges (start, end minutes). */
static struct window recur(const struct tz *z, uint8_t days, int n, ...)
{
	struct window w;
	va_list ap;

	memset(&w, 0, sizeof(w));
	strcpy(w.name, "test");
	w.kind = WIN_RECUR;
	w.tz = z;
	w.days = days;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		w.ranges[i].start = (uint16_t)va_arg(ap, int);
		w.ranges[i].end = (uint16_t)va_arg(ap, int);
	}
	va_end(ap);
	w.n_ranges = (uint8_t)n;
	return w;
}

static struct win_dates dates(int y1, unsigned m1, unsigned d1, int y2,
			      unsigned m2, unsigned d2)
{
	return (struct win_dates){ win_days_from_civil(y1, m1, d1),
				   win_days_from_civil(y2, m2, d2) };
}

START_TEST(test_office_hours_follow_berlin_across_spring_forward)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_iv ivs[16];
	size_t n;

	/* Friday 2026-03-27 in CET (+1), Monday 2026-03-30 in CEST (+2) */
	ck_assert(!window_open_at(&w, utc(2026, 3, 27, 6, 59)));
	ck_assert(window_open_at(&w, utc(2026, 3, 27, 7, 0)));
	ck_assert(window_open_at(&w, utc(2026, 3, 27, 16, 59)));
	ck_assert(!window_open_at(&w, utc(2026, 3, 27, 17, 0)));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 27, 6, 0)),
			 utc(2026, 3, 27, 7, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 27, 12, 0)),
			 utc(2026, 3, 27, 17, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 27, 17, 0)),
			 utc(2026, 3, 30, 6, 0));
	ck_assert(!window_open_at(&w, utc(2026, 3, 30, 5, 59)));
	ck_assert(window_open_at(&w, utc(2026, 3, 30, 6, 0)));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 30, 6, 0)),
			 utc(2026, 3, 30, 16, 0));
	n = window_intervals(&w, utc(2026, 3, 23, 0, 0), utc(2026, 4, 4, 0, 0),
			     ivs, 16);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(ivs[4].lo, utc(2026, 3, 27, 7, 0));
	ck_assert_int_eq(ivs[4].hi, utc(2026, 3, 27, 17, 0));
	ck_assert_int_eq(ivs[5].lo, utc(2026, 3, 30, 6, 0));
	ck_assert_int_eq(ivs[9].hi, utc(2026, 4, 3, 16, 0));
}
END_TEST

START_TEST(test_office_hours_follow_berlin_and_new_york_back_in_autumn)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct window ny = recur(new_york, MON_FRI, 1, HM(8, 0), HM(18, 0));

	/* Friday 2026-10-23 CEST (+2), Monday 2026-10-26 CET (+1) */
	ck_assert_int_eq(window_next_change(&w, utc(2026, 10, 23, 15, 0)),
			 utc(2026, 10, 23, 16, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 10, 23, 16, 0)),
			 utc(2026, 10, 26, 7, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 10, 26, 7, 0)),
			 utc(2026, 10, 26, 17, 0));
	/* New York: Friday 2026-10-30 EDT (-4), Monday 2026-11-02 EST (-5);
	 * and 2026-03-06 EST, 2026-03-09 EDT */
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 10, 30, 22, 0)),
			 utc(2026, 11, 2, 13, 0));
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 11, 2, 13, 0)),
			 utc(2026, 11, 2, 23, 0));
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 3, 6, 23, 0)),
			 utc(2026, 3, 9, 12, 0));
	ck_assert(window_open_at(&ny, utc(2026, 3, 9, 21, 59)));
	ck_assert(!window_open_at(&ny, utc(2026, 3, 9, 22, 0)));
}
END_TEST

START_TEST(test_a_boundary_in_the_spring_gap_happens_at_its_end)
{
	struct window w = recur(berlin, ALL, 1, HM(2, 30), HM(5, 0));
	struct window lost = recur(berlin, ALL, 1, HM(2, 0), HM(2, 45));
	struct window ny = recur(new_york, ALL, 1, HM(2, 30), HM(3, 30));

	/* 2026-03-28 (CET): 01:30-04:00 UTC; 2026-03-29: 02:30 is skipped,
	 * the window opens at 03:00 CEST (01:00 UTC), closes 05:00 CEST */
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 28, 0, 0)),
			 utc(2026, 3, 28, 1, 30));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 28, 4, 0)),
			 utc(2026, 3, 29, 1, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 3, 29, 1, 0)),
			 utc(2026, 3, 29, 3, 0));
	ck_assert(!window_open_at(&w, utc(2026, 3, 29, 0, 59)));
	ck_assert(window_open_at(&w, utc(2026, 3, 29, 1, 0)));
	/* a range wholly inside the gap does not open that day */
	ck_assert_int_eq(window_next_change(&lost, utc(2026, 3, 28, 1, 45)),
			 utc(2026, 3, 30, 0, 0));
	ck_assert(!window_open_at(&lost, utc(2026, 3, 29, 1, 0)));
	/* New York, 2026-03-08: 02:30 EST is skipped: 03:00 EDT (07:00 UTC)
	 * to 03:30 EDT */
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 3, 8, 0, 0)),
			 utc(2026, 3, 8, 7, 0));
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 3, 8, 7, 0)),
			 utc(2026, 3, 8, 7, 30));
}
END_TEST

START_TEST(test_a_boundary_in_the_autumn_overlap_is_its_first_occurrence)
{
	struct window opens = recur(berlin, ALL, 1, HM(2, 30), HM(4, 0));
	struct window closes = recur(berlin, ALL, 1, HM(0, 0), HM(2, 30));
	struct window ny = recur(new_york, ALL, 1, HM(1, 30), HM(6, 0));

	/* 2026-10-25: 02:30 CEST is 00:30 UTC; 04:00 CET is 03:00 UTC */
	ck_assert_int_eq(window_next_change(&opens, utc(2026, 10, 24, 12, 0)),
			 utc(2026, 10, 25, 0, 30));
	ck_assert_int_eq(window_next_change(&opens, utc(2026, 10, 25, 0, 30)),
			 utc(2026, 10, 25, 3, 0));
	ck_assert(window_open_at(&opens, utc(2026, 10, 25, 1, 30)));
	/* opened at 00:00 CEST (22:00 UTC), closes at the first 02:30:
	 * closed through the second one */
	ck_assert_int_eq(window_next_change(&closes, utc(2026, 10, 24, 22, 0)),
			 utc(2026, 10, 25, 0, 30));
	ck_assert(!window_open_at(&closes, utc(2026, 10, 25, 1, 15)));
	/* New York, 2026-11-01: 01:30 EDT is 05:30 UTC */
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 11, 1, 0, 0)),
			 utc(2026, 11, 1, 5, 30));
	ck_assert_int_eq(window_next_change(&ny, utc(2026, 11, 1, 5, 30)),
			 utc(2026, 11, 1, 11, 0));
}
END_TEST

START_TEST(test_a_range_across_midnight_belongs_to_the_day_it_starts)
{
	struct window w = recur(berlin, FRI, 1, HM(22, 0), HM(6, 0));

	/* Friday 2026-12-11 22:00 CET to Saturday 06:00 */
	ck_assert(!window_open_at(&w, utc(2026, 12, 10, 22, 0))); /* Thu */
	ck_assert(!window_open_at(&w, utc(2026, 12, 11, 0, 0))); /* Thu night */
	ck_assert(!window_open_at(&w, utc(2026, 12, 11, 20, 59)));
	ck_assert(window_open_at(&w, utc(2026, 12, 11, 21, 0)));
	ck_assert(window_open_at(&w, utc(2026, 12, 12, 4, 59)));
	ck_assert(!window_open_at(&w, utc(2026, 12, 12, 5, 0)));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 10, 12, 0)),
			 utc(2026, 12, 11, 21, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 11, 21, 0)),
			 utc(2026, 12, 12, 5, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 12, 5, 0)),
			 utc(2026, 12, 18, 21, 0));
}
END_TEST

START_TEST(test_ranges_that_meet_at_midnight_are_one)
{
	struct window w =
		recur(berlin, ALL, 2, HM(22, 0), HM(24, 0), HM(0, 0), HM(6, 0));
	struct window fri_sat = recur(berlin, FRI, 1, HM(22, 0), HM(24, 0));
	struct win_iv ivs[8];

	fri_sat.days = FRI | SAT;
	fri_sat.ranges[1] = (struct win_range){ HM(0, 0), HM(6, 0) };
	fri_sat.n_ranges = 2;
	/* 23:00 CET: closes at 06:00, not at midnight */
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 7, 22, 0)),
			 utc(2026, 12, 8, 5, 0));
	ck_assert_uint_eq(window_intervals(&w, utc(2026, 12, 7, 12, 0),
					   utc(2026, 12, 10, 12, 0), ivs, 8),
			  3);
	ck_assert_int_eq(ivs[0].lo, utc(2026, 12, 7, 21, 0));
	ck_assert_int_eq(ivs[0].hi, utc(2026, 12, 8, 5, 0));
	/* Friday 22:00 to Saturday 06:00 is one; Friday morning and
	 * Saturday night are others */
	ck_assert_uint_eq(window_intervals(&fri_sat, utc(2026, 12, 10, 12, 0),
					   utc(2026, 12, 13, 12, 0), ivs, 8),
			  3);
	ck_assert_int_eq(ivs[0].lo, utc(2026, 12, 10, 23, 0));
	ck_assert_int_eq(ivs[0].hi, utc(2026, 12, 11, 5, 0));
	ck_assert_int_eq(ivs[1].lo, utc(2026, 12, 11, 21, 0));
	ck_assert_int_eq(ivs[1].hi, utc(2026, 12, 12, 5, 0));
	ck_assert_int_eq(ivs[2].lo, utc(2026, 12, 12, 21, 0));
	ck_assert_int_eq(ivs[2].hi, utc(2026, 12, 12, 23, 0));
}
END_TEST

START_TEST(test_a_leap_day_is_a_tuesday_and_a_date_of_its_own)
{
	struct window w = recur(NULL, ALL, 1, HM(9, 0), HM(17, 0));
	struct window tue = recur(NULL, TUE, 1, HM(9, 0), HM(17, 0));
	struct win_iv ivs[8];
	int32_t leap = win_days_from_civil(2028, 2, 29);
	int y;
	unsigned m, d;

	ck_assert_int_eq((int64_t)leap * 86400, utc(2028, 2, 29, 0, 0));
	ck_assert_uint_eq(win_weekday(leap), 1);
	ck_assert_uint_eq(win_weekday(win_days_from_civil(2026, 12, 7)), 0);
	win_civil_from_days(leap + 1, &y, &m, &d);
	ck_assert(y == 2028 && m == 3 && d == 1);
	/* every day 1900-2200 against timegm */
	for (int64_t t = utc(1900, 1, 1, 0, 0); t < utc(2200, 1, 1, 0, 0);
	     t += 86400) {
		time_t tt = (time_t)t;
		struct tm tm;

		gmtime_r(&tt, &tm);
		win_civil_from_days((int32_t)(t / 86400 - (t % 86400 < 0)), &y,
				    &m, &d);
		if (y != tm.tm_year + 1900 || m != (unsigned)tm.tm_mon + 1 ||
		    d != (unsigned)tm.tm_mday ||
		    win_weekday((int32_t)(t / 86400)) !=
			    (unsigned)(tm.tm_wday + 6) % 7 ||
		    (int64_t)win_days_from_civil(y, m, d) * 86400 != t)
			ck_abort_msg("day %lld", (long long)t);
	}
	w.dates[0] = dates(2028, 2, 29, 2028, 2, 29);
	w.n_dates = 1;
	ck_assert_uint_eq(window_intervals(&w, utc(2028, 1, 1, 0, 0),
					   utc(2028, 6, 1, 0, 0), ivs, 8),
			  1);
	ck_assert_int_eq(ivs[0].lo, utc(2028, 2, 29, 9, 0));
	ck_assert_int_eq(ivs[0].hi, utc(2028, 2, 29, 17, 0));
	tue.dates[0] = dates(2028, 2, 28, 2028, 3, 1);
	tue.n_dates = 1;
	ck_assert_uint_eq(window_intervals(&tue, utc(2028, 1, 1, 0, 0),
					   utc(2028, 6, 1, 0, 0), ivs, 8),
			  1);
	ck_assert_int_eq(ivs[0].lo, utc(2028, 2, 29, 9, 0));
	w.dates[0] = dates(2028, 2, 28, 2028, 3, 1);
	ck_assert_uint_eq(window_intervals(&w, utc(2028, 1, 1, 0, 0),
					   utc(2028, 6, 1, 0, 0), NULL, 0),
			  3);
	/* after its last date, never again */
	ck_assert_int_eq(window_next_change(&tue, utc(2028, 2, 29, 17, 0)),
			 WIN_NEVER);
}
END_TEST

START_TEST(test_except_dates_close_a_window)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));

	w.except[0] = dates(2026, 12, 24, 2026, 12, 26);
	w.n_except = 1;
	ck_assert(!window_open_at(&w, utc(2026, 12, 24, 10, 0)));
	ck_assert(window_open_at(&w, utc(2026, 12, 23, 10, 0)));
	/* Wednesday 18:00 to Monday 2026-12-28 08:00 */
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 23, 17, 0)),
			 utc(2026, 12, 28, 7, 0));
}
END_TEST

/* A window open all day for decades (dates to 2099): its close is found
 * exactly, each day not computed through the zone; 64 of them, as the
 * schedule asks at every boundary, in well under a second (half a
 * second each before). Ranges that meet, and one across midnight, are
 * a whole day too. */
START_TEST(test_a_window_open_for_decades_closes_at_its_last_date)
{
	struct window w[WIN_MAX];
	const int64_t now = utc(2026, 12, 7, 12, 0);
	struct timespec t0, t1;
	uint64_t flips;
	int64_t at;

	for (int i = 0; i < WIN_MAX; i++) {
		w[i] = i % 3 == 0   ? recur(berlin, 0x7f, 1, 0, HM(24, 0))
		       : i % 3 == 1 ? recur(berlin, 0x7f, 4, 0, HM(6, 0),
					    HM(6, 0), HM(12, 0), HM(12, 0),
					    HM(18, 0), HM(18, 0), HM(24, 0))
				    : recur(new_york, 0x7f, 2, HM(22, 0),
					    HM(6, 0), HM(6, 0), HM(22, 0));
		w[i].dates[0] = dates(2026, 12, 1, 2099, 6, 30 - i % 3);
		w[i].n_dates = 1;
	}
	/* 2099-07-01 00:00 CEST; 2099-06-30 00:00 CEST; 2099-06-29 06:00
	 * EDT (the range across midnight of the 28th runs into it) */
	ck_assert_int_eq(window_next_change(&w[0], now),
			 utc(2099, 6, 30, 22, 0));
	ck_assert_int_eq(window_next_change(&w[1], now),
			 utc(2099, 6, 29, 22, 0));
	ck_assert_int_eq(window_next_change(&w[2], now),
			 utc(2099, 6, 29, 10, 0));
	ck_assert(window_open_at(&w[2], utc(2099, 6, 29, 9, 59)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	at = windows_next_change(w, WIN_MAX, now, &flips);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(at, utc(2099, 6, 29, 10, 0));
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 +
				 (t1.tv_nsec - t0.tv_nsec) / 1000000,
			 5000);
}
END_TEST

START_TEST(test_a_window_that_never_opens_again)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct window always = recur(berlin, 0, 1, HM(0, 0), HM(24, 0));
	struct window far = recur(NULL, ALL, 1, HM(0, 0), HM(1, 0));

	w.dates[0] = dates(2026, 12, 1, 2026, 12, 2);
	w.n_dates = 1;
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 2, 10, 0)),
			 utc(2026, 12, 2, 17, 0));
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 2, 17, 0)),
			 WIN_NEVER);
	ck_assert_int_eq(window_next_change(&w, utc(2026, 12, 7, 0, 0)),
			 WIN_NEVER);
	ck_assert(!window_open_at(&w, utc(2026, 12, 7, 10, 0)));
	ck_assert_uint_eq(window_intervals(&w, utc(2026, 12, 7, 0, 0),
					   utc(2027, 12, 7, 0, 0), NULL, 0),
			  0);
	/* open every day all day ("days" 0: every day), across DST too:
	 * never changes */
	ck_assert(window_open_at(&always, utc(2026, 3, 29, 1, 30)));
	ck_assert_int_eq(window_next_change(&always, utc(2026, 3, 20, 0, 0)),
			 WIN_NEVER);
	/* a date years ahead is found */
	far.dates[0] = dates(2030, 1, 1, 2030, 1, 1);
	far.n_dates = 1;
	ck_assert_int_eq(window_next_change(&far, utc(2026, 12, 7, 0, 0)),
			 utc(2030, 1, 1, 0, 0));
}
END_TEST

START_TEST(test_a_temporary_window_is_open_until_its_instant)
{
	struct window w;
	struct win_iv ivs[2];
	int64_t until = utc(2026, 12, 24, 18, 0);

	memset(&w, 0, sizeof(w));
	w.kind = WIN_UNTIL;
	w.until = until;
	ck_assert(window_open_at(&w, until - 1));
	ck_assert(window_open_at(&w, utc(1990, 1, 1, 0, 0)));
	ck_assert(!window_open_at(&w, until));
	ck_assert_int_eq(window_next_change(&w, until - 3600), until);
	ck_assert_int_eq(window_next_change(&w, until), WIN_NEVER);
	ck_assert_uint_eq(
		window_intervals(&w, until - 100, until + 100, ivs, 2), 1);
	ck_assert_int_eq(ivs[0].lo, until - 100);
	ck_assert_int_eq(ivs[0].hi, until);
	ck_assert_uint_eq(window_intervals(&w, until, until + 100, ivs, 2), 0);
}
END_TEST

START_TEST(test_the_next_change_of_several_windows_names_what_flips)
{
	struct window w[3];
	uint64_t flips = 0;
	int64_t t = utc(2026, 12, 7, 6, 0); /* Monday 07:00 CET */

	w[0] = recur(berlin, MON_FRI, 1, HM(8, 0), HM(12, 0));
	w[1] = recur(berlin, MON_FRI, 1, HM(12, 0), HM(18, 0));
	memset(&w[2], 0, sizeof(w[2]));
	w[2].kind = WIN_UNTIL;
	w[2].until = utc(2026, 12, 7, 11, 0);
	ck_assert_uint_eq(windows_mask_at(w, 3, t), 4);
	t = windows_next_change(w, 3, t, &flips);
	ck_assert_int_eq(t, utc(2026, 12, 7, 7, 0));
	ck_assert_uint_eq(flips, 1);
	ck_assert_uint_eq(windows_mask_at(w, 3, t), 5);
	/* at 12:00 one closes as the other opens, as the until ends */
	t = windows_next_change(w, 3, t, &flips);
	ck_assert_int_eq(t, utc(2026, 12, 7, 11, 0));
	ck_assert_uint_eq(flips, 7);
	ck_assert_uint_eq(windows_mask_at(w, 3, t), 2);
	t = windows_next_change(w, 3, t, &flips);
	ck_assert_int_eq(t, utc(2026, 12, 7, 17, 0));
	ck_assert_uint_eq(flips, 2);
	ck_assert_uint_eq(windows_mask_at(w, 3, t), 0);
	/* none */
	ck_assert_int_eq(windows_next_change(&w[2], 1, t, &flips), WIN_NEVER);
	ck_assert_uint_eq(flips, 0);
}
END_TEST

START_TEST(test_a_clock_ticking_over_one_boundary_flips_once)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_clock c = { 0, 0, 0 };
	struct win_tick k;
	int64_t t0 = utc(2026, 12, 7, 6, 59) + 50; /* 07:59:50 CET */
	int changes = 0;

	for (int i = 0; i < 20; i++) {
		int r = win_clock_tick(&c, &w, 1, t0 + i, 5000 + 1000u * i, &k);

		ck_assert_int_eq(k.stepped, 0);
		ck_assert_uint_eq(k.passed, i == 10 ? 1 : 0);
		ck_assert_int_eq(r, i == 10);
		ck_assert_uint_eq(k.flips, i == 10 ? 1 : 0);
		ck_assert_uint_eq(k.mask, i >= 10 ? 1 : 0);
		changes += r;
	}
	ck_assert_int_eq(changes, 1);
	ck_assert_uint_eq(c.mask, 1);
}
END_TEST

START_TEST(test_a_clock_stepped_forwards_a_week_is_one_change_or_none)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_clock c = { 0, 0, 0 };
	struct win_tick k;
	int64_t t = utc(2026, 12, 7, 9, 0); /* Monday 10:00 */

	ck_assert_int_eq(win_clock_tick(&c, &w, 1, t, 1000, &k), 1);
	/* a week later by the wall clock, a second by the monotonic one:
	 * open then, open now, ten boundaries passed over */
	ck_assert_int_eq(win_clock_tick(&c, &w, 1, t + 604800, 2000, &k), 0);
	ck_assert_uint_eq(k.flips, 0);
	ck_assert_int_eq(k.stepped, 604799);
	ck_assert_uint_eq(k.passed, 10);
	/* nine hours more (19:00): one change for eleven boundaries */
	ck_assert_int_eq(
		win_clock_tick(&c, &w, 1, t + 2 * 604800 + 9 * 3600, 3000, &k),
		1);
	ck_assert_uint_eq(k.flips, 1);
	ck_assert_uint_eq(k.mask, 0);
	ck_assert_int_eq(k.stepped, 604800 + 9 * 3600 - 1);
	ck_assert_uint_eq(k.passed, 11);
}
END_TEST

START_TEST(test_a_clock_stepped_backwards_goes_back_to_the_state_then)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_clock c = { 0, 0, 0 };
	struct win_tick k;
	int64_t t = utc(2026, 12, 7, 7, 30); /* Monday 08:30 */

	ck_assert_int_eq(win_clock_tick(&c, &w, 1, t, 1000, &k), 1);
	ck_assert_int_eq(win_clock_tick(&c, &w, 1, t - 3600, 2000, &k), 1);
	ck_assert_uint_eq(k.flips, 1);
	ck_assert_uint_eq(k.mask, 0);
	ck_assert_int_eq(k.stepped, -3601);
	ck_assert_uint_eq(k.passed, 1);
	ck_assert_uint_eq(c.mask, 0);
	/* and the clock runs on from there: the same boundary again */
	ck_assert_int_eq(win_clock_tick(&c, &w, 1, t, 3602000, &k), 1);
	ck_assert_int_eq(k.stepped, 0);
	ck_assert_uint_eq(k.passed, 1);
}
END_TEST

START_TEST(test_a_small_drift_is_not_a_step)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_clock c = { 0, 0, 0 };
	struct win_tick k;
	int64_t t = utc(2026, 12, 7, 12, 0);

	win_clock_tick(&c, &w, 1, t, 10000, &k);
	/* 3 s of wall clock in 1.5 s: 2 s apart, not more than WIN_STEP_S */
	win_clock_tick(&c, &w, 1, t + 3, 11500, &k);
	ck_assert_int_eq(k.stepped, 0);
	/* 4 s in 1 s: a step */
	win_clock_tick(&c, &w, 1, t + 7, 12500, &k);
	ck_assert_int_eq(k.stepped, 3);
	/* the wall clock standing still 4 s: a step back */
	win_clock_tick(&c, &w, 1, t + 7, 16500, &k);
	ck_assert_int_eq(k.stepped, -4);
	ck_assert_uint_eq(k.passed, 0);
}
END_TEST

START_TEST(test_the_first_tick_compares_with_the_state_saved)
{
	struct window w = recur(berlin, MON_FRI, 1, HM(8, 0), HM(18, 0));
	struct win_clock c = { 0, 0, 1 }; /* saved open before a restart */
	struct win_tick k;

	ck_assert_int_eq(
		win_clock_tick(&c, &w, 1, utc(2026, 12, 7, 20, 0), 1000, &k),
		1);
	ck_assert_uint_eq(k.flips, 1);
	ck_assert_uint_eq(k.mask, 0);
	ck_assert_int_eq(k.stepped, 0);
	ck_assert_uint_eq(k.passed, 0);
	c = (struct win_clock){ 0, 0, 1 };
	ck_assert_int_eq(
		win_clock_tick(&c, &w, 1, utc(2026, 12, 7, 10, 0), 1000, &k),
		0);
	ck_assert_uint_eq(k.flips, 0);
	ck_assert_int_eq(c.real, utc(2026, 12, 7, 10, 0));
	ck_assert_uint_eq(c.mono_ms, 1000);
}
END_TEST

START_TEST(test_a_year_of_changes_agrees_with_open_at)
{
	struct window w = recur(berlin, MON_FRI | SAT, 3, HM(8, 0), HM(12, 0),
				HM(13, 0), HM(18, 0), HM(22, 30), HM(2, 30));
	int64_t t = utc(2026, 1, 1, 0, 0), end = utc(2027, 1, 1, 0, 0);
	int n = 0;

	w.except[0] = dates(2026, 12, 24, 2026, 12, 26);
	w.n_except = 1;
	/* Wednesday 22:30 to Thursday 02:30: open at either end */
	ck_assert(window_open_at(&w, t) && window_open_at(&w, end));
	while (t < end) {
		int64_t next = window_next_change(&w, t);

		if (next >= end)
			break;
		if (next <= t || next == WIN_NEVER ||
		    window_open_at(&w, next) == window_open_at(&w, next - 1) ||
		    window_open_at(&w, t) != window_open_at(&w, next - 1))
			ck_abort_msg("at %lld: next %lld", (long long)t,
				     (long long)next);
		/* no change in between, sampled */
		for (int64_t s = t; s < next; s += 1800)
			if (window_open_at(&w, s) != window_open_at(&w, t))
				ck_abort_msg("missed a change in %lld..%lld",
					     (long long)t, (long long)next);
		t = next;
		n++;
	}
	/* closes first, opens last: one interval more than pairs */
	ck_assert_int_gt(n, 1500);
	ck_assert_int_eq(n % 2, 0);
	ck_assert_uint_eq(
		window_intervals(&w, utc(2026, 1, 1, 0, 0), end, NULL, 0),
		(size_t)n / 2 + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("window");
	TCase *c = tcase_create("window");

	tcase_add_checked_fixture(c, zones_load, zones_free);
	tcase_set_timeout(c, 60);
	tcase_add_test(c,
		       test_office_hours_follow_berlin_across_spring_forward);
	tcase_add_test(
		c, test_office_hours_follow_berlin_and_new_york_back_in_autumn);
	tcase_add_test(c, test_a_boundary_in_the_spring_gap_happens_at_its_end);
	tcase_add_test(
		c,
		test_a_boundary_in_the_autumn_overlap_is_its_first_occurrence);
	tcase_add_test(
		c, test_a_range_across_midnight_belongs_to_the_day_it_starts);
	tcase_add_test(c, test_ranges_that_meet_at_midnight_are_one);
	tcase_add_test(c, test_a_leap_day_is_a_tuesday_and_a_date_of_its_own);
	tcase_add_test(c, test_except_dates_close_a_window);
	tcase_add_test(c,
		       test_a_window_open_for_decades_closes_at_its_last_date);
	tcase_add_test(c, test_a_window_that_never_opens_again);
	tcase_add_test(c, test_a_temporary_window_is_open_until_its_instant);
	tcase_add_test(
		c, test_the_next_change_of_several_windows_names_what_flips);
	tcase_add_test(c, test_a_clock_ticking_over_one_boundary_flips_once);
	tcase_add_test(
		c, test_a_clock_stepped_forwards_a_week_is_one_change_or_none);
	tcase_add_test(
		c, test_a_clock_stepped_backwards_goes_back_to_the_state_then);
	tcase_add_test(c, test_a_small_drift_is_not_a_step);
	tcase_add_test(c, test_the_first_tick_compares_with_the_state_saved);
	tcase_add_test(c, test_a_year_of_changes_agrees_with_open_at);
	suite_add_tcase(s, c);
	return check_run(s);
}
