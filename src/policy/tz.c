/* tz.c - time zones from the system's TZif files (tz.h). The file is
 * outside input: every count, index and offset is checked before use,
 * and a file over TZ_MAX_FILE is refused. Transitions are searched
 * binarily; after the last one the footer's POSIX rule is computed for
 * the years around the instant. */
#include "policy/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DIR "/usr/share/zoneinfo/"
#define TZ_MAX_FILE (1u << 20)
#define TZ_NAME_MAX 255
/* RFC 8536 3.2: utoff SHOULD be in [-89999, 93599] */
#define TZ_OFF_MIN (-89999)
#define TZ_OFF_MAX 93599
/* instants are clamped to about +-142 million years: no sum overflows */
#define TZ_T_LIM ((int64_t)1 << 52)

#define TZ_ABBR_LEN 16

struct tz_type {
	int32_t off;
	uint8_t isdst;
	char abbr[TZ_ABBR_LEN];
};

/* A POSIX rule's date: Jn (1..365, no Feb 29), n (0..365), Mm.w.d */
struct tz_rdate {
	char kind; /* 'J', 'N', 'M' */
	int n, m, w, d;
	int32_t time; /* seconds after local midnight: -167h..167h (v3) */
};

struct tz_rule {
	int32_t std_off, dst_off; /* seconds east */
	int has_dst;
	char std_abbr[TZ_ABBR_LEN], dst_abbr[TZ_ABBR_LEN];
	struct tz_rdate start, end;
};

struct tz {
	char name[TZ_NAME_MAX + 1];
	size_t n_trans;
	int64_t *trans;
	uint8_t *idx;
	size_t n_types;
	struct tz_type types[256];
	int has_rule;
	struct tz_rule rule;
};

static int64_t clamp_t(int64_t t)
{
	return t < -TZ_T_LIM ? -TZ_T_LIM : t > TZ_T_LIM ? TZ_T_LIM : t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), in 64 bits for any clamped instant */
static int64_t days_of(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t days)
{
	int64_t z = days + 719468, era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	return yoe + era * 400 + (mp >= 10);
}

static int leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };

/* The local day (days since the epoch) a rule date falls on in @y. */
static int64_t rdate_day(const struct tz_rdate *r, int64_t y)
{
	int64_t jan1 = days_of(y, 1, 1), first, day;
	unsigned len, wd;

	if (r->kind == 'N')
		return jan1 + r->n;
	if (r->kind == 'J')
		return jan1 + r->n - 1 + (leap(y) && r->n >= 60);
	first = days_of(y, (unsigned)r->m, 1);
	/* 1970-01-01 was a Thursday (4, with Sunday 0) */
	wd = (unsigned)((first % 7 + 7 + 4) % 7);
	day = first + (r->d - (int)wd + 7) % 7 + 7 * (r->w - 1);
	len = mdays[r->m - 1] + (r->m == 2 && leap(y));
	while (day >= first + len)
		day -= 7;
	return day;
}

/* The footer's offset at the UTC instant @t: the latest of the rule's
 * transitions of the years around @t at or before it decides (an end
 * sorts before a start at the same instant: permanent DST stays DST). */
static int32_t rule_offset(const struct tz_rule *r, int64_t t, int *isdst)
{
	int64_t y = year_of(floor_div(t + r->std_off, 86400)), best = INT64_MIN;
	int dst = 0;

	if (!r->has_dst) {
		*isdst = 0;
		return r->std_off;
	}
	for (int64_t k = y - 1; k <= y + 1; k++) {
		int64_t s = rdate_day(&r->start, k) * 86400 + r->start.time -
			    r->std_off;
		int64_t e = rdate_day(&r->end, k) * 86400 + r->end.time -
			    r->dst_off;

		if (e <= t && e >= best && (e > best || !dst)) {
			best = e;
			dst = 0;
		}
		if (s <= t && s >= best) {
			best = s;
			dst = 1;
		}
	}
	/* before every one of them (cannot be with three years): the
	 * state before the earliest start */
	if (best == INT64_MIN)
		dst = 0;
	*isdst = dst;
	return dst ? r->dst_off : r->std_off;
}

/* The file's type in force at @t; NULL when the footer's rule decides. */
static const struct tz_type *type_at(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n_trans;

	if ((hi == 0 || t >= z->trans[hi - 1]) && z->has_rule)
		return NULL;
	if (hi == 0 || t < z->trans[0])
		return &z->types[0];
	/* the last transition at or before t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &z->types[z->idx[lo]];
}

int32_t tz_offset(const struct tz *z, int64_t t, int *isdst)
{
	int dummy;
	const struct tz_type *ty;

	if (!isdst)
		isdst = &dummy;
	t = clamp_t(t);
	ty = type_at(z, t);
	if (!ty)
		return rule_offset(&z->rule, t, isdst);
	*isdst = ty->isdst;
	return ty->off;
}

const char *tz_abbr(const struct tz *z, int64_t t)
{
	const struct tz_type *ty;
	int dst;

	t = clamp_t(t);
	ty = type_at(z, t);
	if (ty)
		return ty->abbr;
	rule_offset(&z->rule, t, &dst);
	return dst ? z->rule.dst_abbr : z->rule.std_abbr;
}

int64_t tz_local_of(const struct tz *z, int64_t t)
{
	t = clamp_t(t);
	return t + tz_offset(z, t, NULL);
}

int64_t tz_utc_of(const struct tz *z, int64_t local)
{
	int32_t cand[3], lo_off, hi_off, o0;
	int64_t best = INT64_MAX, a, b;
	size_t i;

	local = clamp_t(local);
	/* the offsets in force around the wall time: a valid instant is
	 * local - o where the zone's offset at it is o */
	cand[0] = tz_offset(z, local - 2 * 86400, NULL);
	cand[1] = tz_offset(z, local, NULL);
	cand[2] = tz_offset(z, local + 2 * 86400, NULL);
	lo_off = hi_off = cand[0];
	for (i = 0; i < 3; i++) {
		int64_t t = local - cand[i];

		if (tz_offset(z, t, NULL) == cand[i] && t < best)
			best = t; /* the first occurrence of an overlap */
		if (cand[i] < lo_off)
			lo_off = cand[i];
		if (cand[i] > hi_off)
			hi_off = cand[i];
	}
	if (best != INT64_MAX)
		return best;
	/* a gap: it ends at the transition between local - hi_off and
	 * local - lo_off (the first instant whose offset differs) */
	a = local - hi_off;
	b = local - lo_off;
	o0 = tz_offset(z, a, NULL);
	if (tz_offset(z, b, NULL) == o0)
		return local - cand[1]; /* not a gap after all: odd data */
	while (b - a > 1) {
		int64_t mid = a + (b - a) / 2;

		if (tz_offset(z, mid, NULL) == o0)
			a = mid;
		else
			b = mid;
	}
	return b;
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z);
}

/* ---- the footer: a POSIX TZ string (RFC 8536 3.3) ---- */

static int num(const char **p, int max, int *out)
{
	int v = 0, n = 0;

	while (**p >= '0' && **p <= '9' && n < 4) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hours up to @maxh: seconds */
static int hms(const char **p, int maxh, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (num(p, maxh, &h) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (num(p, 59, &m) < 0)
			return -1;
		if (**p == ':') {
			(*p)++;
			if (num(p, 59, &s) < 0)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

/* a zone abbreviation: 3+ letters, or <...> of letters, digits, + and
 * -; into @out (cut to fit) */
static int abbr(const char **p, char *out)
{
	const char *s = *p, *b = s;
	size_t n;

	if (*s == '<') {
		b = ++s;
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		       (*s >= '0' && *s <= '9') || *s == '+' || *s == '-')
			s++;
		if (*s != '>' || s - b < 3)
			return -1;
		*p = s + 1;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
			s++;
		if (s - b < 3)
			return -1;
		*p = s;
	}
	n = (size_t)(s - b) < TZ_ABBR_LEN - 1 ? (size_t)(s - b)
					      : TZ_ABBR_LEN - 1;
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

static int rdate(const char **p, struct tz_rdate *r)
{
	r->time = 7200; /* 02:00 by default */
	if (**p == 'J') {
		(*p)++;
		r->kind = 'J';
		if (num(p, 365, &r->n) < 0 || r->n < 1)
			return -1;
	} else if (**p == 'M') {
		(*p)++;
		r->kind = 'M';
		if (num(p, 12, &r->m) < 0 || r->m < 1 || *(*p)++ != '.' ||
		    num(p, 5, &r->w) < 0 || r->w < 1 || *(*p)++ != '.' ||
		    num(p, 6, &r->d) < 0)
			return -1;
	} else {
		r->kind = 'N';
		if (num(p, 365, &r->n) < 0)
			return -1;
	}
	if (**p == '/') {
		(*p)++;
		if (hms(p, 167, &r->time) < 0)
			return -1;
	}
	return 0;
}

/* 0, or -1 if @s is not a rule this reader understands. An empty
 * footer (no rule known) leaves has_rule 0. */
static int parse_rule(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (abbr(&s, r->std_abbr) < 0 || hms(&s, 24, &off) < 0)
		return -1;
	r->std_off = -off; /* POSIX counts west */
	r->dst_off = r->std_off;
	if (*s == '\0')
		return 0;
	if (abbr(&s, r->dst_abbr) < 0)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (hms(&s, 24, &off) < 0)
			return -1;
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* no rule: POSIX leaves it to the implementation; tzcode's
		 * (and glibc's) default is the US rule */
		s = ",M3.2.0,M11.1.0";
	}
	if (*s++ != ',' || rdate(&s, &r->start) < 0 || *s++ != ',' ||
	    rdate(&s, &r->end) < 0 || *s != '\0')
		return -1;
	return 0;
}

/* ---- the file ---- */

struct rd {
	const uint8_t *p;
	size_t left;
};

static int take(struct rd *r, size_t n, const uint8_t **out)
{
	if (n > r->left)
		return -1;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int header(struct rd *r, struct hdr *h)
{
	const uint8_t *p;

	if (take(r, 44, &p) < 0 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	/* RFC 8536 3.1: these are 0 or typecnt; typecnt and charcnt are
	 * never 0; a type index is a byte */
	if ((h->isutcnt && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt && h->isstdcnt != h->typecnt) || h->typecnt == 0 ||
	    h->typecnt > 256 || h->charcnt == 0 || h->timecnt > TZ_MAX_FILE / 5)
		return -1;
	return 0;
}

/* the data block's length for @tsize-byte times, or SIZE_MAX */
static size_t block_len(const struct hdr *h, size_t tsize)
{
	if (h->leapcnt > TZ_MAX_FILE / 12 || h->charcnt > TZ_MAX_FILE)
		return SIZE_MAX;
	return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
	       h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* the abbreviation at @at of the @n bytes @chars: NUL-terminated there
 * (RFC 8536), or cut at the end */
static void type_abbr(struct tz_type *ty, const uint8_t *chars, size_t n,
		      size_t at)
{
	size_t k = 0;

	while (at + k < n && chars[at + k] && k < TZ_ABBR_LEN - 1) {
		ty->abbr[k] = (char)chars[at + k];
		k++;
	}
	ty->abbr[k] = '\0';
}

static int body(struct tz *z, struct rd *r, const struct hdr *h, size_t tsize,
		char *err, size_t errlen)
{
	const uint8_t *times, *idx, *types, *rest;
	size_t i;

	if (h->leapcnt) {
		snprintf(err, errlen,
			 "time zone '%s': zone files with leap seconds "
			 "(right/) are not supported",
			 z->name);
		return -1;
	}
	if (take(r, h->timecnt * tsize, &times) < 0 ||
	    take(r, h->timecnt, &idx) < 0 ||
	    take(r, h->typecnt * 6, &types) < 0 ||
	    take(r, (size_t)h->charcnt + h->isstdcnt + h->isutcnt, &rest) < 0)
		goto bad;
	z->n_types = h->typecnt;
	for (i = 0; i < h->typecnt; i++) {
		int32_t off = (int32_t)be32(types + 6 * i);

		if (off < TZ_OFF_MIN || off > TZ_OFF_MAX ||
		    types[6 * i + 4] > 1 || types[6 * i + 5] >= h->charcnt)
			goto bad;
		z->types[i].off = off;
		z->types[i].isdst = types[6 * i + 4];
		type_abbr(&z->types[i], rest, h->charcnt, types[6 * i + 5]);
	}
	z->n_trans = h->timecnt;
	z->trans = calloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
	z->idx = calloc(h->timecnt ? h->timecnt : 1, 1);
	if (!z->trans || !z->idx) {
		snprintf(err, errlen, "time zone '%s': out of memory", z->name);
		return -1;
	}
	for (i = 0; i < h->timecnt; i++) {
		z->trans[i] = tsize == 8 ? be64(times + 8 * i)
					 : (int32_t)be32(times + 4 * i);
		z->idx[i] = idx[i];
		if (idx[i] >= h->typecnt ||
		    (i && z->trans[i] <= z->trans[i - 1]) ||
		    z->trans[i] < -TZ_T_LIM || z->trans[i] > TZ_T_LIM)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "time zone '%s': a broken zone file", z->name);
	return -1;
}

static int footer(struct tz *z, struct rd *r, char *err, size_t errlen)
{
	char s[256];
	size_t n;
	const uint8_t *nl;

	if (r->left < 2 || r->p[0] != '\n')
		goto bad;
	nl = memchr(r->p + 1, '\n', r->left - 1);
	n = nl ? (size_t)(nl - r->p - 1) : SIZE_MAX;
	if (n >= sizeof(s))
		goto bad;
	memcpy(s, r->p + 1, n);
	s[n] = '\0';
	if (n == 0)
		return 0;
	if (memchr(s, '\0', n) || parse_rule(s, &z->rule) < 0)
		goto bad;
	z->has_rule = 1;
	return 0;
bad:
	snprintf(err, errlen, "time zone '%s': a broken zone file (its rule)",
		 z->name);
	return -1;
}

struct tz *tz_parse(const char *name, const uint8_t *buf, size_t len, char *err,
		    size_t errlen)
{
	struct tz *z = calloc(1, sizeof(*z));
	struct rd r = { buf, len };
	struct hdr h;
	size_t skip;
	const uint8_t *p;

	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(z->name, sizeof(z->name), "%s", name);
	if (len > TZ_MAX_FILE || header(&r, &h) < 0) {
		snprintf(err, errlen, "time zone '%s': not a zone file (TZif)",
			 z->name);
		goto fail;
	}
	if (h.version >= '2') {
		/* the v1 block is only for old readers: skip to the 64-bit one */
		skip = block_len(&h, 4);
		if (skip == SIZE_MAX || take(&r, skip, &p) < 0 ||
		    header(&r, &h) < 0) {
			snprintf(err, errlen,
				 "time zone '%s': a broken zone file", z->name);
			goto fail;
		}
		if (body(z, &r, &h, 8, err, errlen) < 0 ||
		    footer(z, &r, err, errlen) < 0)
			goto fail;
	} else if (body(z, &r, &h, 4, err, errlen) < 0) {
		goto fail;
	}
	return z;
fail:
	tz_free(z);
	return NULL;
}

/* A zone name: parts of letters, digits, '_', '-' and '+' between
 * single '/'; never "." or "..", never a leading '/'. */
static int name_ok(const char *name)
{
	size_t n = strlen(name), part = 0;

	if (n == 0 || n > TZ_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c == '/') {
			if (part == 0)
				return 0;
			part = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '+'))
			return 0;
		part++;
	}
	return part > 0;
}

struct tz *tz_load(const char *name, char *err, size_t errlen)
{
	char path[sizeof(TZ_DIR) + TZ_NAME_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	struct tz *z = NULL;
	size_t got = 0;
	int fd;

	if (!name_ok(name)) {
		snprintf(err, errlen, "'%.64s%s' is not a time zone name", name,
			 strlen(name) > 64 ? "..." : "");
		return NULL;
	}
	snprintf(path, sizeof(path), TZ_DIR "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
			snprintf(err, errlen, "time zone '%s': %s: %s", name,
				 path, strerror(errno));
		else
			snprintf(err, errlen, "unknown time zone '%s'", name);
		goto out;
	}
	if (st.st_size > TZ_MAX_FILE) {
		snprintf(err, errlen,
			 "time zone '%s': %s is too large for a zone file",
			 name, path);
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "time zone '%s': %s: %s", name,
				 path, k < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)k;
	}
	z = tz_parse(name, buf, got, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return z;
}
