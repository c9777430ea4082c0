/* chain.c - the audit records' text and chain: JSON strings kept
 * exactly (or cut with a marker), the SHA-256 chain, gap records, the
 * chain's check (audit.h). Pure but for libcrypto; skyfencectl links it
 * alone. */
#define _GNU_SOURCE /* memmem */
#include "audit/chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* The length of the UTF-8 sequence at @s (1-4), or 0 if it is not one
 * (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = s[0] == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3
									 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = s[0] == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
				       (s[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

int audit_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

/* Appends @n bytes to @buf at *@o; 0, or -1 if they do not fit. */
static int put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if (*o + n >= len)
		return -1;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
	return 0;
}

/* The first @n bytes of @val (a whole number of UTF-8 sequences, or of
 * bytes that are none) as JSON string text (no quotes) appended at *@o;
 * *@bad set if they were not valid UTF-8. Returns 0, or -1 if they did
 * not fit. */
static int escape(char *buf, size_t len, size_t *o, const char *val,
		  size_t n_val, int *bad)
{
	const unsigned char *p = (const unsigned char *)val, *end = p + n_val;
	char esc[8];

	while (p < end) {
		size_t n = utf8_seq(p);

		if (!n) {
			*bad = 1;
			if (put(buf, len, o, "\xef\xbf\xbd", 3))
				return -1;
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			if (put(buf, len, o, esc, 2))
				return -1;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			if (put(buf, len, o, esc, 6))
				return -1;
		} else if (put(buf, len, o, (const char *)p, n)) {
			return -1;
		}
		p += n;
	}
	return 0;
}

int audit_json_escape(char *out, size_t len, const char *val)
{
	size_t o = 0;
	int bad = 0;

	if (!len)
		return -1;
	out[0] = '\0';
	if (escape(out, len, &o, val, strlen(val), &bad) != 0)
		return -1;
	return bad;
}

/* "@key":"@val" of @val's first @n bytes, and the marker if @cut bytes
 * were left out; @buf unchanged if it did not fit (-1). */
static int member(char *buf, size_t len, const char *key, const char *val,
		  size_t n, size_t cut)
{
	const unsigned char *p;
	size_t o = strlen(buf), start = o;
	int bad = 0;
	char esc[48];

	if ((o && buf[o - 1] != ',' && put(buf, len, &o, ",", 1)) ||
	    put(buf, len, &o, "\"", 1) || put(buf, len, &o, key, strlen(key)) ||
	    put(buf, len, &o, "\":\"", 3) || escape(buf, len, &o, val, n, &bad))
		goto full;
	if (cut) {
		snprintf(esc, sizeof(esc), AUDIT_CUT_MARK "[cut %zu bytes]",
			 cut);
		if (put(buf, len, &o, esc, strlen(esc)))
			goto full;
	}
	if (put(buf, len, &o, "\"", 1))
		goto full;
	if (bad) {
		/* the exact bytes, for a name that was not UTF-8 */
		if (put(buf, len, &o, ",\"", 2) ||
		    put(buf, len, &o, key, strlen(key)) ||
		    put(buf, len, &o, "_hex\":\"", 7))
			goto full;
		for (p = (const unsigned char *)val;
		     p < (const unsigned char *)val + n; p++) {
			snprintf(esc, sizeof(esc), "%02x", *p);
			if (put(buf, len, &o, esc, 2))
				goto full;
		}
		if (put(buf, len, &o, "\"", 1))
			goto full;
	}
	return 0;
full:
	buf[start] = '\0';
	return -1;
}

int audit_json_member(char *buf, size_t len, const char *key, const char *val)
{
	return member(buf, len, key, val, strlen(val), 0);
}

/* The longest prefix of @val of at most @k bytes that ends between two
 * UTF-8 sequences (a byte that starts none is one on its own). */
static size_t char_prefix(const char *val, size_t k)
{
	const unsigned char *p = (const unsigned char *)val;
	size_t i = 0;

	while (i < k) {
		size_t n = utf8_seq(p + i);

		if (!n)
			n = 1;
		if (i + n > k)
			break;
		i += n;
	}
	return i;
}

int audit_json_member_cut(char *buf, size_t len, const char *key,
			  const char *val)
{
	size_t n = strlen(val), o = strlen(buf), lo = 0, hi, k;

	if (member(buf, len, key, val, n, 0) == 0)
		return 0;
	if (member(buf, len, key, val, 0, n) != 0)
		return -1;
	buf[o] = '\0';
	/* keeping a byte more never makes the member shorter (the text
	 * grows by one or more, the marker by at most one digit less): the
	 * longest prefix that fits, by bisection */
	hi = n < len ? n : len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		int fits;

		k = char_prefix(val, mid);
		fits = member(buf, len, key, val, k, n - k) == 0;
		buf[o] = '\0';
		if (fits)
			lo = mid;
		else
			hi = mid - 1;
	}
	k = char_prefix(val, lo);
	return member(buf, len, key, val, k, n - k) == 0 ? 1 : -1;
}

/* ---- the chain ---- */

int audit_node_ok(const char *node)
{
	size_t n = strlen(node), i;

	if (n == 0 || n >= AUDIT_NODE_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((node[i] >= 'a' && node[i] <= 'z') ||
		      (node[i] >= 'A' && node[i] <= 'Z') ||
		      (node[i] >= '0' && node[i] <= '9') || node[i] == '.' ||
		      node[i] == '_' || node[i] == ':' || node[i] == '-'))
			return 0;
	return 1;
}

int audit_sha256(const void *data, size_t len, uint8_t out[AUDIT_HASH])
{
	unsigned n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 &&
			       n == AUDIT_HASH
		       ? 0
		       : -1;
}

void audit_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int audit_unhex(const char *hex, size_t n, uint8_t *b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int h = hexval(hex[2 * i]),
		    l = h < 0 ? -1 : hexval(hex[2 * i + 1]);

		if (l < 0)
			return -1;
		b[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

int audit_chain_line(struct audit_chain *c, const char *fields, char *out,
		     size_t len)
{
	char prev[AUDIT_HEX];
	uint8_t h[AUDIT_HASH];
	int n;

	audit_hex(c->prev, AUDIT_HASH, prev);
	n = snprintf(out, len,
		     "{\"seq\":%" PRIu64 ",\"node\":\"%s\",\"policy\":\"%s\","
		     "%s,\"prev\":\"%s\"}",
		     c->seq + 1, c->node, c->policy[0] ? c->policy : "-",
		     fields, prev);
	if (n < 0 || (size_t)n >= len || n > AUDIT_LINE_MAX ||
	    audit_sha256(out, (size_t)n, h) != 0)
		return -1;
	c->seq++;
	memcpy(c->prev, h, sizeof(h));
	return n;
}

#define SEQ_PREFIX "{\"seq\":"
#define PREV_SUFFIX_LEN (sizeof(",\"prev\":\"\"}") - 1 + 2 * AUDIT_HASH)

/* The seq and prev of a record line. Returns 0, or -1 (not a record). */
static int parse_line(const char *line, size_t len, uint64_t *seq,
		      uint8_t prev[AUDIT_HASH])
{
	const char *tail;
	size_t i = sizeof(SEQ_PREFIX) - 1;
	uint64_t s = 0;

	if (len < i + 1 + PREV_SUFFIX_LEN || memcmp(line, SEQ_PREFIX, i) != 0 ||
	    line[i] < '1' || line[i] > '9')
		return -1;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (s > (UINT64_MAX - 9) / 10)
			return -1;
		s = s * 10 + (uint64_t)(line[i] - '0');
	}
	if (i >= len || line[i] != ',')
		return -1;
	tail = line + len - PREV_SUFFIX_LEN;
	if (memcmp(tail, ",\"prev\":\"", 9) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0 ||
	    audit_unhex(tail + 9, AUDIT_HASH, prev) != 0)
		return -1;
	if (memchr(line, '\n', len) || memchr(line, '\0', len))
		return -1;
	*seq = s;
	return 0;
}

int audit_line_head(const char *line, size_t len, uint64_t *seq,
		    uint8_t hash[AUDIT_HASH])
{
	uint8_t prev[AUDIT_HASH];

	if (parse_line(line, len, seq, prev) != 0)
		return -1;
	return audit_sha256(line, len, hash);
}

/* ---- gap records ---- */

static const char *const gap_causes[AUDIT_GAP_CAUSES] = {
	[AUDIT_GAP_BUFFER] = "buffer",
	[AUDIT_GAP_STOP] = "stop",
	[AUDIT_GAP_UNWRITABLE] = "unwritable",
};

const char *audit_gap_cause_name(enum audit_gap_cause c)
{
	return (unsigned)c < AUDIT_GAP_CAUSES ? gap_causes[c] : "-";
}

int audit_gap_fields(char *buf, size_t len, uint64_t ts_ms,
		     const struct audit_gap *g, const char *why)
{
	int n = snprintf(buf, len,
			 "\"ts_ms\":%" PRIu64
			 ",\"event\":\"gap\",\"lost\":%" PRIu64
			 ",\"since_ms\":%" PRIu64 ",\"until_ms\":%" PRIu64,
			 ts_ms, g->lost, g->since_ms, g->until_ms);
	size_t o;

	if (n < 0 || (size_t)n >= len ||
	    audit_json_member(buf, len, "why", why))
		return -1;
	o = strlen(buf);
	n = snprintf(buf + o, len - o, ",\"cause\":\"%s\"",
		     audit_gap_cause_name(g->cause));
	if (n < 0 || (size_t)n >= len - o)
		return -1;
	if (!g->incl_lost)
		return 0;
	o = strlen(buf);
	n = snprintf(buf + o, len - o,
		     ",\"includes_lost\":%" PRIu64
		     ",\"includes_since_ms\":%" PRIu64
		     ",\"includes_until_ms\":%" PRIu64,
		     g->incl_lost, g->incl_since_ms, g->incl_until_ms);
	return n < 0 || (size_t)n >= len - o ? -1 : 0;
}

/* The number after "@key": at the first @key in @p .. @end; 0 if none. */
static uint64_t num_after(const char *p, const char *end, const char *key)
{
	size_t k = strlen(key);
	uint64_t v = 0;

	p = memmem(p, (size_t)(end - p), key, k);
	if (!p)
		return 0;
	for (p += k; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

uint64_t audit_rec_ts(const char *rec, size_t len)
{
	return num_after(rec, rec + len, "\"ts_ms\":");
}

int audit_gap_of(const char *rec, size_t len, struct audit_gap *g)
{
	static const char tag[] = "\"event\":\"gap\",\"lost\":";
	const char *end = rec + len,
		   *p = memmem(rec, len, tag, sizeof(tag) - 1);
	int c;

	/* the record's own fields come before any string a writer chose
	 * ("why"), and a quote inside a string is escaped: the first tag is
	 * the record's */
	if (!p)
		return 0;
	memset(g, 0, sizeof(*g));
	g->lost = num_after(p, end, "\"lost\":");
	g->since_ms = num_after(p, end, ",\"since_ms\":");
	g->until_ms = num_after(p, end, ",\"until_ms\":");
	g->incl_lost = num_after(p, end, ",\"includes_lost\":");
	g->incl_since_ms = num_after(p, end, ",\"includes_since_ms\":");
	g->incl_until_ms = num_after(p, end, ",\"includes_until_ms\":");
	g->cause = AUDIT_GAP_BUFFER;
	for (c = 0; c < AUDIT_GAP_CAUSES; c++) {
		char k[32];

		snprintf(k, sizeof(k), ",\"cause\":\"%s\"", gap_causes[c]);
		if (memmem(p, (size_t)(end - p), k, strlen(k)))
			g->cause = (enum audit_gap_cause)c;
	}
	return 1;
}

/* A gap record accepted by the check: counted, a stop's once. */
static void count_gap(struct audit_verify *v, const char *line, size_t len,
		      uint64_t seq)
{
	struct audit_gap g;
	unsigned i;

	if (!audit_gap_of(line, len, &g))
		return;
	v->gaps++;
	if (g.cause == AUDIT_GAP_STOP) {
		uint64_t held = g.lost;

		for (i = 0; i < v->n_stops && i < AUDIT_VERIFY_STOPS; i++) {
			const struct audit_gap *s = &v->stops[i];

			if (s->lost == g.lost && s->since_ms == g.since_ms &&
			    s->until_ms == g.until_ms) {
				if (!v->repeated++)
					v->repeated_seq = seq;
				return;
			}
			/* it holds a stop's count this chain already has:
			 * that part once */
			if (g.incl_lost && s->lost == g.incl_lost &&
			    s->since_ms == g.incl_since_ms &&
			    s->until_ms == g.incl_until_ms && held == g.lost &&
			    g.lost >= g.incl_lost) {
				held = g.lost - g.incl_lost;
				if (!v->repeated++)
					v->repeated_seq = seq;
			}
		}
		v->stops[v->n_stops++ % AUDIT_VERIFY_STOPS] = g;
		v->lost[g.cause] += held;
		return;
	}
	v->lost[g.cause] += g.lost;
}

int audit_verify_line(struct audit_verify *v, const char *line, size_t len,
		      int had_newline, char *why, size_t whylen)
{
	static const uint8_t zero[AUDIT_HASH];
	uint8_t prev[AUDIT_HASH], h[AUDIT_HASH];
	uint64_t seq;

	if (!had_newline) {
		snprintf(why, whylen,
			 "truncated: the last line has no end of line");
		return -1;
	}
	if (parse_line(line, len, &seq, prev) != 0) {
		snprintf(why, whylen,
			 "not an audit record (changed, or cut short)");
		return -1;
	}
	if (v->started) {
		if (seq == 1 && memcmp(prev, zero, sizeof(zero)) == 0) {
			snprintf(why, whylen,
				 "a new chain starts here (seq 1): the records "
				 "before it cannot be linked to it");
			return -1;
		}
		if (seq != v->seq + 1) {
			if (seq > v->seq + 1)
				snprintf(why, whylen,
					 "seq %" PRIu64 " where %" PRIu64
					 " was due: %" PRIu64
					 " record(s) missing before it, or "
					 "lines reordered",
					 seq, v->seq + 1, seq - v->seq - 1);
			else
				snprintf(why, whylen,
					 "seq %" PRIu64 " where %" PRIu64
					 " was due: reordered or repeated",
					 seq, v->seq + 1);
			return -1;
		}
		if (memcmp(prev, v->prev, sizeof(prev)) != 0) {
			snprintf(why, whylen,
				 "changed: the next record's prev is not "
				 "this line's SHA-256 (seq %" PRIu64 ")",
				 v->seq);
			return -2;
		}
	} else {
		v->started = 1;
		v->first_seq = seq;
	}
	if (audit_sha256(line, len, h) != 0) {
		snprintf(why, whylen, "SHA-256 failed");
		return -1;
	}
	v->seq = seq;
	memcpy(v->prev, h, sizeof(h));
	v->records++;
	count_gap(v, line, len, seq);
	return 0;
}
