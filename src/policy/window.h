/* Time windows (window.c): when a rule applies. A recurring window is
 * weekdays, times of day, and optionally dates and dates excepted, in an
 * IANA time zone (tz.h); a temporary one is open until an instant. Pure:
 * no I/O, no clock read (every function takes the time it is asked
 * about), thread-safe. All instants are seconds since 1970-01-01 UTC. */
#ifndef SKYFENCE_WINDOW_H
#define SKYFENCE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct tz;

#define WIN_MAX 64 /* windows in a policy, temporary ones included */
#define WIN_NAME_LEN 32
#define WIN_RANGES 8
#define WIN_DATES 16
#define WIN_NEVER INT64_MAX

enum win_kind {
	WIN_RECUR = 0, /* "window NAME { ... }" */
	WIN_UNTIL,     /* a temporary rule's "until TIME": open before it */
};

/* A time of day range in minutes from local midnight: @end 1440 is
 * 24:00; @end <= @start runs across midnight into the next day (the day
 * it starts on is the one "days", "dates" and "except" ask about). */
struct win_range {
	uint16_t start, end;
};

/* Local civil dates as days since 1970-01-01, both inclusive. */
struct win_dates {
	int32_t lo, hi;
};

struct window {
	char name[WIN_NAME_LEN]; /* "" for a temporary rule's */
	uint8_t kind;		 /* enum win_kind */
	uint8_t days;		 /* bit 0 Monday .. bit 6 Sunday; 0 every day */
	uint8_t n_ranges, n_dates, n_except;
	struct win_range ranges[WIN_RANGES];
	struct win_dates dates[WIN_DATES];  /* none: every date */
	struct win_dates except[WIN_DATES]; /* never on these */
	const struct tz *tz;		    /* WIN_RECUR; the policy's */
	int64_t until;			    /* WIN_UNTIL */
	uint32_t line;			    /* where it was written */
};

/* An interval [lo, hi) in which a window is open. */
struct win_iv {
	int64_t lo, hi;
};

/* Whether @w is open at @t. */
int window_open_at(const struct window *w, int64_t t);
/* The first instant after @t at which @w opens or closes; WIN_NEVER if
 * it never does again. Adjacent intervals are one (22:00-24:00 and
 * 00:00-06:00 on the next day close at 06:00, not at midnight). The
 * search runs to 8 days past the later of @t and the last date "dates"
 * and "except" name (a weekly pattern repeats within them), at most 100
 * years: a window open, or closed, all through it never changes. */
int64_t window_next_change(const struct window *w, int64_t t);
/* The intervals in which @w is open that meet [@from, @to), sorted and
 * merged, clipped to [@from, @to), at most @max of them into @out (may be
 * NULL to count). Returns how many there are (more than @max: the rest
 * not written). At most 100 years from @from are looked at. */
size_t window_intervals(const struct window *w, int64_t from, int64_t to,
			struct win_iv *out, size_t max);

/* Of @n windows: bit i set when window i is open at @t. */
uint64_t windows_mask_at(const struct window *w, size_t n, int64_t t);
/* The first instant after @t at which any of them opens or closes
 * (WIN_NEVER: none will), and in *@flips the bits that change then. */
int64_t windows_next_change(const struct window *w, size_t n, int64_t t,
			    uint64_t *flips);

/* The schedule's clock (skyfenced's, one per daemon): what a tick of the
 * wall clock means for @n windows. A tick never replays the boundaries a
 * jump of the clock passed over: it compares the windows' state at the
 * new time with the state applied, so a week skipped forwards or
 * backwards is one change (or none), and says how far the clock jumped. */
struct win_clock {
	int64_t real;	  /* the wall clock at the last tick; 0: none yet */
	uint64_t mono_ms; /* the monotonic clock then */
	uint64_t mask;	  /* the windows' state applied */
};

struct win_tick {
	uint64_t mask;	/* the state at this tick */
	uint64_t flips; /* bits that differ from the state applied */
	/* how far the wall clock moved beyond the monotonic one since the
	 * last tick, in seconds, when that is more than WIN_STEP_S either
	 * way (a step: NTP, an admin, a VM resumed); else 0 */
	int64_t stepped;
	/* boundaries between the last tick and this one, counted (not
	 * applied one by one): more than one means they were skipped. Each
	 * window's opens and closes in (last real, real], or (real, last
	 * real] after a step back, summed over the windows, at most 10000;
	 * 0 on the first tick */
	uint32_t passed;
};

#define WIN_STEP_S 2

/* Ticks @c at wall clock @real and monotonic @mono_ms: fills @out, and
 * makes out->mask the state applied. Returns 1 if the state changed
 * (out->flips != 0), else 0. The first tick (c->real 0) takes @real as
 * is and reports the state's difference from c->mask (a state saved
 * before a restart). */
int win_clock_tick(struct win_clock *c, const struct window *w, size_t n,
		   int64_t real, uint64_t mono_ms, struct win_tick *out);

/* Civil date helpers (proleptic Gregorian, UTC-like arithmetic). */
int32_t win_days_from_civil(int y, unsigned m, unsigned d);
void win_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d);
/* 0 Monday .. 6 Sunday */
unsigned win_weekday(int32_t days);

#endif
