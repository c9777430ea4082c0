/* Time zones (tz.c): the system's IANA zone files (TZif, RFC 8536) under
 * /usr/share/zoneinfo, read once, then asked about any instant without
 * touching the process's TZ. glibc reads the same files but only for one
 * process-wide zone (TZ, tzset), which a daemon with threads cannot switch
 * per window; ICU carries its own copy of the zone data, which Debian
 * does not update in stable, while the tzdata package is. Pure after
 * loading: no I/O, thread-safe. */
#ifndef SKYFENCE_TZ_H
#define SKYFENCE_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/* The zone @name ("Europe/Berlin", "UTC", "America/New_York") from the
 * system's zone files. @name must be a zone name (letters, digits, '_',
 * '-', '+', '/' between parts; no "..", no leading '/'): never a path a
 * policy could point elsewhere with. NULL with why in @err ("unknown time
 * zone 'Europe/Berln'", a broken file). */
struct tz *tz_load(const char *name, char *err, size_t errlen);
/* The same from a TZif file's bytes (tests, the fuzz target). */
struct tz *tz_parse(const char *name, const uint8_t *buf, size_t len, char *err,
		    size_t errlen);
void tz_free(struct tz *z);
const char *tz_name(const struct tz *z);

/* The zone's offset from UTC at the UTC instant @t (seconds east), and
 * whether it is daylight saving time (may be NULL). Beyond the file's
 * last transition, its footer's POSIX rule (RFC 8536 3.3) decides. */
int32_t tz_offset(const struct tz *z, int64_t t, int *isdst);

/* The zone's abbreviation at @t ("CET", "CEST", "+0330"; "" if the file
 * has none), valid as long as @z. */
const char *tz_abbr(const struct tz *z, int64_t t);

/* The UTC instant of the local wall-clock time @local (seconds since
 * 1970-01-01 00:00 as if the wall clock were UTC). Documented meanings:
 * a wall time the zone skips (a spring gap: 02:30 on the last Sunday of
 * March in Europe/Berlin) is the instant the gap ends (03:00 CEST); a
 * wall time it repeats (the autumn overlap) is its first occurrence
 * (daylight time). */
int64_t tz_utc_of(const struct tz *z, int64_t local);
/* The local wall-clock time of the UTC instant @t (as above). Instants
 * beyond +-2^52 s (142 million years) are taken as those bounds. */
int64_t tz_local_of(const struct tz *z, int64_t t);

#endif
