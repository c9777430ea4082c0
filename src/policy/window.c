/* window.c - time windows (window.h). A recurring window's open
 * intervals are computed day by day from the local calendar: each range
 * belongs to the day it starts on, its ends become UTC instants through
 * tz_utc_of (monotonic in the wall time, so the days' intervals come out
 * sorted), and touching intervals are merged as they come. */
#include "policy/window.h"

#include "policy/tz.h"

#define DAY 86400
/* how many days window_intervals looks at, at most (a century) */
#define WIN_SCAN_DAYS 36600
/* next_change: beyond the last date a window names, its weekly pattern
 * repeats within a week: 8 days more without a change mean never */
#define WIN_REPEAT_DAYS 8
#define WIN_PASSED_MAX 10000
/* instants are kept inside this (tz.c clamps to 2^52): day numbers
 * fit 32 bits and no sum overflows */
#define WIN_T_LIM ((int64_t)1 << 45)

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t clamp_t(int64_t t)
{
	return t < -WIN_T_LIM ? -WIN_T_LIM : t > WIN_T_LIM ? WIN_T_LIM : t;
}

int32_t win_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = floor_div(yy, 400), yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + doe - 719468);
}

void win_civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d)
{
	int64_t z = (int64_t)days + 719468, era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

unsigned win_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (3, with Monday 0) */
	return (unsigned)(((int64_t)days % 7 + 7 + 3) % 7);
}

static int64_t local_of(const struct window *w, int64_t t)
{
	return w->tz ? tz_local_of(w->tz, t) : t;
}

static int64_t utc_of(const struct window *w, int64_t local)
{
	return w->tz ? tz_utc_of(w->tz, local) : local;
}

static int32_t local_day(const struct window *w, int64_t t)
{
	return (int32_t)floor_div(local_of(w, clamp_t(t)), DAY);
}

static int in_dates(const struct win_dates *d, unsigned n, int32_t day)
{
	for (unsigned i = 0; i < n && i < WIN_DATES; i++)
		if (day >= d[i].lo && day <= d[i].hi)
			return 1;
	return 0;
}

/* Whether ranges may start on local day @day ("days" 0: every day). */
static int day_ok(const struct window *w, int32_t day)
{
	if (w->days && !(w->days & (1u << win_weekday(day))))
		return 0;
	if (w->n_dates && !in_dates(w->dates, w->n_dates, day))
		return 0;
	return !in_dates(w->except, w->n_except, day);
}

/* The UTC intervals of the ranges that start on local day @day, sorted
 * by start, empty ones (inside a gap) left out; how many. */
static unsigned day_ivs(const struct window *w, int32_t day, struct win_iv *out)
{
	unsigned order[WIN_RANGES], n = 0, k = 0;
	unsigned nr = w->n_ranges < WIN_RANGES ? w->n_ranges : WIN_RANGES;
	int64_t base = (int64_t)day * DAY;

	if (!day_ok(w, day))
		return 0;
	for (unsigned i = 0; i < nr; i++) {
		unsigned j = n++;

		while (j &&
		       w->ranges[order[j - 1]].start > w->ranges[i].start) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct win_range *r = &w->ranges[order[i]];
		unsigned s = r->start > 1440 ? 1440 : r->start;
		unsigned e = r->end > 1440 ? 1440 : r->end;
		int64_t lo = utc_of(w, base + 60 * (int64_t)s);
		int64_t hi =
			utc_of(w, base + 60 * (int64_t)e + (e <= s ? DAY : 0));

		if (hi > lo)
			out[k++] = (struct win_iv){ lo, hi };
	}
	return k;
}

/* Whether @w's ranges cover a whole local day whose day before was
 * open too: 00:00-24:00, ranges that meet (00:00-12:00, 12:00-24:00),
 * or with one across midnight (22:00-06:00, 06:00-22:00), which covers
 * the rest of its day and the start of the next. */
static int whole_day(const struct window *w)
{
	unsigned nr = w->n_ranges < WIN_RANGES ? w->n_ranges : WIN_RANGES;
	unsigned covered = 0, grew = 1;

	/* the end reached from 00:00, extended until no range extends it */
	while (grew && covered < 1440) {
		grew = 0;
		for (unsigned i = 0; i < nr; i++) {
			const struct win_range *r = &w->ranges[i];
			int across = r->end <= r->start;
			unsigned e = across || r->end > 1440 ? 1440 : r->end;

			if ((r->start <= covered && e > covered) ||
			    (across && r->end > covered)) {
				covered = r->start <= covered ? e : r->end;
				grew = 1;
			}
		}
	}
	return covered >= 1440;
}

/* Walks the merged intervals of the ranges that start on local days
 * @d0..@d1: @fn gets each, in order; it returns nonzero to stop. The
 * last one is passed with @open_end set when the days after @d1 could
 * still extend it. */
typedef int (*iv_fn)(void *arg, struct win_iv iv, int open_end);

static void walk(const struct window *w, int32_t d0, int32_t d1, iv_fn fn,
		 void *arg)
{
	struct win_iv cur = { 0, 0 }, ivs[WIN_RANGES];
	int have = 0, whole = whole_day(w);

	for (int32_t d = d0; d <= d1; d++) {
		unsigned n;

		n = day_ivs(w, d, ivs);

		for (unsigned i = 0; i < n; i++) {
			if (have && ivs[i].lo <= cur.hi) {
				if (ivs[i].hi > cur.hi)
					cur.hi = ivs[i].hi;
				continue;
			}
			if (have && fn(arg, cur, 0))
				return;
			cur = ivs[i];
			have = 1;
		}
		/* the interval reaches the next day, and a run of days open
		 * follows: each covers itself (and the day before covers its
		 * start), so the interval goes on to the last one's end,
		 * computed alone, not each day through the zone (a window open
		 * for years: 100 years of days cost a search of the next
		 * change half a second) */
		if (whole && have && d < d1 && day_ok(w, d) &&
		    day_ok(w, d + 1) &&
		    cur.hi >= utc_of(w, ((int64_t)d + 1) * DAY)) {
			int32_t e = d + 1;

			while (e < d1 && day_ok(w, e + 1))
				e++;
			n = day_ivs(w, e, ivs);
			for (unsigned i = 0; i < n; i++)
				if (ivs[i].hi > cur.hi)
					cur.hi = ivs[i].hi;
			d = e;
		}
	}
	/* ranges of day d1 + 1 start at its local midnight or later */
	if (have)
		fn(arg, cur, cur.hi >= utc_of(w, ((int64_t)d1 + 1) * DAY));
}

int window_open_at(const struct window *w, int64_t t)
{
	struct win_iv ivs[WIN_RANGES];
	int32_t day;

	if (w->kind == WIN_UNTIL)
		return t < w->until;
	t = clamp_t(t);
	day = local_day(w, t);
	/* a range runs at most 24 h: it started today or yesterday (one day
	 * more for a zone's offset) */
	for (int32_t d = day - 2; d <= day; d++) {
		unsigned n = day_ivs(w, d, ivs);

		for (unsigned i = 0; i < n; i++)
			if (ivs[i].lo <= t && t < ivs[i].hi)
				return 1;
	}
	return 0;
}

struct collect {
	int64_t from, to;
	struct win_iv *out;
	size_t max, n;
};

static int collect_iv(void *arg, struct win_iv iv, int open_end)
{
	struct collect *c = arg;

	(void)open_end;
	if (iv.lo < c->from)
		iv.lo = c->from;
	if (iv.hi > c->to)
		iv.hi = c->to;
	if (iv.lo >= iv.hi)
		return iv.lo >= c->to;
	if (c->out && c->n < c->max)
		c->out[c->n] = iv;
	c->n++;
	return 0;
}

size_t window_intervals(const struct window *w, int64_t from, int64_t to,
			struct win_iv *out, size_t max)
{
	struct collect c = { clamp_t(from), clamp_t(to), out, max, 0 };
	int32_t d0, d1;

	if (c.to <= c.from)
		return 0;
	if (w->kind == WIN_UNTIL) {
		collect_iv(&c, (struct win_iv){ INT64_MIN, w->until }, 0);
		return c.n;
	}
	d0 = local_day(w, c.from) - 2;
	d1 = local_day(w, c.to) + 1;
	if (d1 - d0 > WIN_SCAN_DAYS)
		d1 = d0 + WIN_SCAN_DAYS;
	walk(w, d0, d1, collect_iv, &c);
	return c.n;
}

struct next {
	int64_t t, at;
};

static int next_iv(void *arg, struct win_iv iv, int open_end)
{
	struct next *x = arg;

	if (iv.hi <= x->t)
		return 0;
	if (iv.lo > x->t)
		x->at = iv.lo;
	else if (!open_end)
		x->at = iv.hi;
	/* else open from t through every day looked at: never closes */
	return 1;
}

/* The last local day a window names in dates or except (or INT32_MIN). */
static int32_t last_date(const struct window *w)
{
	int32_t last = INT32_MIN;

	for (unsigned i = 0; i < w->n_dates && i < WIN_DATES; i++)
		if (w->dates[i].hi > last)
			last = w->dates[i].hi;
	for (unsigned i = 0; i < w->n_except && i < WIN_DATES; i++)
		if (w->except[i].hi > last)
			last = w->except[i].hi;
	return last;
}

int64_t window_next_change(const struct window *w, int64_t t)
{
	struct next x = { clamp_t(t), WIN_NEVER };
	int32_t day, end;

	if (w->kind == WIN_UNTIL)
		return t < w->until ? w->until : WIN_NEVER;
	if (t != x.t)
		return WIN_NEVER; /* beyond any time a window is computed for */
	day = local_day(w, x.t);
	end = last_date(w);
	if (end < day)
		end = day;
	/* both fit: day is within 2^45 s, dates are checked by the parser
	 * but clamped here all the same */
	if ((int64_t)end - day > WIN_SCAN_DAYS)
		end = day + WIN_SCAN_DAYS;
	walk(w, day - 2, end + WIN_REPEAT_DAYS, next_iv, &x);
	return x.at;
}

uint64_t windows_mask_at(const struct window *w, size_t n, int64_t t)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < n && i < WIN_MAX; i++)
		if (window_open_at(&w[i], t))
			mask |= (uint64_t)1 << i;
	return mask;
}

int64_t windows_next_change(const struct window *w, size_t n, int64_t t,
			    uint64_t *flips)
{
	int64_t best = WIN_NEVER;
	uint64_t f = 0;

	for (size_t i = 0; i < n && i < WIN_MAX; i++) {
		int64_t at = window_next_change(&w[i], t);

		if (at == WIN_NEVER || at > best)
			continue;
		if (at < best) {
			best = at;
			f = 0;
		}
		f |= (uint64_t)1 << i;
	}
	if (flips)
		*flips = f;
	return best;
}

/* The boundaries of @w in (@a, @b]: its merged intervals meeting
 * [a, b + 1), clipped to it, whose ends are inside. */
static uint32_t passed_of(const struct window *w, int64_t a, int64_t b)
{
	struct win_iv ivs[64];
	int64_t from = a;
	uint32_t count = 0;

	while (from <= b && count < WIN_PASSED_MAX) {
		size_t n = window_intervals(w, from, b + 1, ivs, 64);
		size_t k = n < 64 ? n : 64;

		for (size_t i = 0; i < k; i++)
			count += (ivs[i].lo > a) + (ivs[i].hi <= b);
		if (n <= 64)
			break;
		/* the 64th's end is counted; go on after it */
		from = ivs[63].hi;
		if (ivs[63].hi <= b)
			from++;
		else
			break;
	}
	return count < WIN_PASSED_MAX ? count : WIN_PASSED_MAX;
}

int win_clock_tick(struct win_clock *c, const struct window *w, size_t n,
		   int64_t real, uint64_t mono_ms, struct win_tick *out)
{
	uint64_t mask = windows_mask_at(w, n, real);

	out->mask = mask;
	out->flips = mask ^ c->mask;
	out->stepped = 0;
	out->passed = 0;
	if (c->real != 0) {
		int64_t dm = (int64_t)(mono_ms - c->mono_ms) / 1000;
		int64_t s = clamp_t(real) - clamp_t(c->real) - dm;
		int64_t a = c->real < real ? c->real : real;
		int64_t b = c->real < real ? real : c->real;
		uint32_t sum = 0;

		if (s > WIN_STEP_S || s < -WIN_STEP_S)
			out->stepped = s;
		for (size_t i = 0; i < n && i < WIN_MAX && sum < WIN_PASSED_MAX;
		     i++)
			sum += passed_of(&w[i], clamp_t(a), clamp_t(b));
		out->passed = sum < WIN_PASSED_MAX ? sum : WIN_PASSED_MAX;
	}
	c->real = real;
	c->mono_ms = mono_ms;
	c->mask = mask;
	return out->flips != 0;
}
