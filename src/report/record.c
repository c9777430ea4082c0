/* record.c - one audit line's fields (record.h). A scanner for the flat
 * objects the audit writes, not a general JSON reader: jansson builds a
 * tree of every member (8 us for a 660-byte end record here, 40 s of the
 * 60 a week of 5 million records may take); this reads the line once,
 * keeps the members the report sums and copies a string only when it
 * holds an escape. */
#include "report/record.h"

#include <string.h>

struct cursor {
	const char *p, *end;
	struct record *r;
	size_t used; /* of r->scratch */
};

static const char *const int_keys[REC_INTS] = {
	[REC_SEQ] = "seq",
	[REC_TS_MS] = "ts_ms",
	[REC_APP_ID] = "app_id",
	[REC_BYTES] = "bytes",
	[REC_CHANGE] = "change",
	[REC_UID] = "uid",
	[REC_SUPPRESSED] = "suppressed",
	[REC_LOST] = "lost",
};

static const char *const str_keys[REC_STRS] = {
	[REC_EVENT] = "event",	       [REC_NODE] = "node",
	[REC_FLOW] = "flow",	       [REC_INITIATOR] = "initiator",
	[REC_DIRECTION] = "direction", [REC_DEPARTMENT] = "department",
	[REC_ACTION] = "action",       [REC_OLD_ACTION] = "old_action",
	[REC_EVIDENCE] = "evidence",   [REC_USER] = "user",
	[REC_WHAT] = "what",	       [REC_SOURCE] = "source",
};

int record_is(const struct record_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->s && s->n == n && memcmp(s->s, lit, n) == 0;
}

static int key_is(const char *k, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(k, lit, n) == 0;
}

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static int hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char h = p[i];

		x <<= 4;
		if (h >= '0' && h <= '9')
			x |= (unsigned)(h - '0');
		else if (h >= 'a' && h <= 'f')
			x |= (unsigned)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			x |= (unsigned)(h - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

static int put_utf8(struct cursor *c, unsigned cp)
{
	char *o = c->r->scratch + c->used;
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

	if (c->used + n > RECORD_SCRATCH)
		return -1;
	if (n == 1) {
		o[0] = (char)cp;
	} else if (n == 2) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
	} else if (n == 3) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
	}
	c->used += n;
	return 0;
}

/* One escape after its backslash, into the scratch. A lone surrogate
 * and \u0000 become U+FFFD, as the audit writes a bad byte. */
static int unescape_one(struct cursor *c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp, lo;

	if (c->p >= c->end)
		return -1;
	e = memchr(from, *c->p, sizeof(from) - 1);
	if (e) {
		c->p++;
		return put_utf8(c, (unsigned char)to[e - from]);
	}
	if (*c->p != 'u' || c->end - c->p < 5 || hex4(c->p + 1, &cp) != 0)
		return -1;
	c->p += 5;
	if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 &&
	    c->p[0] == '\\' && c->p[1] == 'u' && hex4(c->p + 2, &lo) == 0 &&
	    lo >= 0xdc00 && lo < 0xe000) {
		c->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if ((cp >= 0xd800 && cp < 0xe000) || cp == 0) {
		/* a NUL would cut the name where C reads it */
		cp = 0xfffd;
	}
	return put_utf8(c, cp);
}

/* A string at c->p (its opening quote). With @out, its text: in place
 * when it has no escape, else unescaped into the scratch. */
static int scan_string(struct cursor *c, struct record_str *out)
{
	const char *start, *q;

	if (c->p >= c->end || *c->p != '"')
		return -1;
	start = ++c->p;
	for (q = start; q < c->end && *q != '"' && *q != '\\'; q++)
		if ((unsigned char)*q < 0x20)
			return -1;
	if (q < c->end && *q == '"') {
		if (out) {
			out->s = start;
			out->n = (size_t)(q - start);
		}
		c->p = q + 1;
		return 0;
	}
	/* an escape: copy what came before, then go on char by char */
	if (out) {
		size_t n = (size_t)(q - start);

		if (c->used + n > RECORD_SCRATCH)
			return -1;
		memcpy(c->r->scratch + c->used, start, n);
		out->s = c->r->scratch + c->used;
		c->used += n;
	}
	c->p = q;
	while (c->p < c->end && *c->p != '"') {
		size_t before = c->used;

		if ((unsigned char)*c->p < 0x20)
			return -1;
		if (*c->p == '\\') {
			c->p++;
			if (unescape_one(c) != 0)
				return -1;
		} else if (c->used < RECORD_SCRATCH) {
			c->r->scratch[c->used++] = *c->p++;
		} else {
			return -1;
		}
		if (!out)
			c->used = before;
	}
	if (c->p >= c->end)
		return -1;
	c->p++;
	if (out)
		out->n = (size_t)(c->r->scratch + c->used - out->s);
	return 0;
}

/* An integer; *@is_int 0 for a number with a fraction or exponent (kept
 * out of the report, but valid JSON). */
static int scan_number(struct cursor *c, int64_t *v, int *is_int)
{
	int neg = 0, digits = 0;
	uint64_t x = 0;

	*is_int = 1;
	if (c->p < c->end && *c->p == '-') {
		neg = 1;
		c->p++;
	}
	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*c->p - '0');
		digits++;
	}
	if (!digits || x > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -1;
	if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E')) {
		*is_int = 0;
		c->p++;
		while (c->p < c->end &&
		       ((*c->p >= '0' && *c->p <= '9') || *c->p == '+' ||
			*c->p == '-' || *c->p == 'e' || *c->p == 'E'))
			c->p++;
	}
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

static int scan_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* An array of strings (a user's groups), skipped. */
static int skip_array(struct cursor *c)
{
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 0;
	}
	for (;;) {
		skip_ws(c);
		if (scan_string(c, NULL) != 0)
			return -1;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return 0;
		}
		return -1;
	}
}

static int scan_value(struct cursor *c, const char *k, size_t kn)
{
	int i, is_int;
	int64_t v;

	if (c->p >= c->end)
		return -1;
	if (*c->p == '"') {
		for (i = 0; i < REC_STRS; i++)
			if (key_is(k, kn, str_keys[i]))
				return scan_string(c, &c->r->str[i]);
		return scan_string(c, NULL);
	}
	if (*c->p == '[')
		return skip_array(c);
	if (*c->p == 't')
		return scan_word(c, "true");
	if (*c->p == 'f')
		return scan_word(c, "false");
	if (*c->p == 'n')
		return scan_word(c, "null");
	if (scan_number(c, &v, &is_int) != 0)
		return -1;
	for (i = 0; i < REC_INTS && is_int; i++) {
		if (key_is(k, kn, int_keys[i])) {
			c->r->num[i] = v;
			c->r->has[i] = 1;
		}
	}
	return 0;
}

int record_scan(struct record *r, const char *line, size_t len)
{
	struct cursor c = { line, line + len, r, 0 };
	struct record_str key;

	memset(r->num, 0, sizeof(r->num));
	memset(r->has, 0, sizeof(r->has));
	memset(r->str, 0, sizeof(r->str));
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return -1;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto done;
	}
	for (;;) {
		const char *kp;
		size_t kn;

		skip_ws(&c);
		/* a key: its bytes as written (ours need no escape) */
		kp = c.p + 1;
		if (scan_string(&c, NULL) != 0)
			return -1;
		kn = (size_t)(c.p - kp - 1);
		key.s = kp;
		key.n = kn;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			return -1;
		skip_ws(&c);
		if (scan_value(&c, key.s, key.n) != 0)
			return -1;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		return -1;
	}
done:
	skip_ws(&c);
	return c.p == c.end ? 0 : -1;
}
