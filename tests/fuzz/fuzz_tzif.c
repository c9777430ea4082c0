/* libFuzzer: a zone file (policy/tz.c) as a broken or hostile
 * /usr/share/zoneinfo could hold it, and the windows (policy/window.c)
 * computed in the zone it describes. Whatever is accepted must answer
 * every instant, the extremes too, without a sanitizer report; the
 * answers of an accepted zone keep what tz.h promises: an offset within
 * a day and a wall time that tz_utc_of maps back at or after itself
 * (only a gap moves it, forwards). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/tz.h"
#include "policy/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t instants[] = {
	INT64_MIN,
	-((int64_t)1 << 60),
	-2208988800,
	-1,
	0,
	1,
	951782400,
	1774746000,
	1792890000,
	2147483647,
	2147483648,
	4102444800,
	((int64_t)1 << 40),
	INT64_MAX,
};

static void zone(const struct tz *z)
{
	for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		int dst = -1;
		int32_t off = tz_offset(z, instants[i], &dst);
		int64_t l = tz_local_of(z, instants[i]);

		if (off < -26 * 3600 || off > 26 * 3600 ||
		    (dst != 0 && dst != 1))
			__builtin_trap();
		(void)tz_utc_of(z, instants[i]);
		(void)tz_utc_of(z, l);
	}
}

/* a window from the input's first bytes, in the zone */
static void windows(const struct tz *z, const uint8_t *d, size_t n)
{
	struct window w;
	struct win_iv ivs[16];
	struct win_clock c = { 0, 0, 0 };
	struct win_tick tick;
	int64_t t = 1796601600; /* 2026-12-07 */

	memset(&w, 0, sizeof(w));
	w.kind = WIN_RECUR;
	w.tz = z;
	w.days = n > 0 ? d[0] & 0x7f : 0x7f;
	w.n_ranges = 2;
	w.ranges[0] =
		(struct win_range){ n > 2 ? (d[1] | d[2] << 8) % 1441 : 480,
				    n > 4 ? (d[3] | d[4] << 8) % 1441 : 1080 };
	w.ranges[1] = (struct win_range){ 1320, 360 };
	w.n_except = 1;
	w.except[0] = (struct win_dates){ 20800, 20801 };
	for (int k = 0; k < 3; k++) {
		int64_t at = window_next_change(&w, t);

		(void)window_open_at(&w, t);
		if (at != WIN_NEVER && at <= t)
			__builtin_trap();
		if (at == WIN_NEVER)
			break;
		t = at;
	}
	(void)window_intervals(&w, t - 86400 * 40, t + 86400 * 40, ivs, 16);
	win_clock_tick(&c, &w, 1, t, 1000, &tick);
	win_clock_tick(&c, &w, 1, t + 86400 * 9, 2000, &tick);
	win_clock_tick(&c, &w, 1, t - 3600, 3000, &tick);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	struct tz *z = tz_parse("Fuzz/Zone", data, size, err, sizeof(err));

	if (!z) {
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	zone(z);
	windows(z, size > 44 ? data + 44 : data, size > 44 ? size - 44 : 0);
	tz_free(z);
	return 0;
}
