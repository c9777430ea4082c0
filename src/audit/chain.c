/* auditchain.c - the audit records' text and chain: JSON strings kept
 * exactly, the SHA-256 chain, its check (audit.h). Pure but for
 * libcrypto; skyfencectl links it alone. */
#include "audit/audit.h"

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

/* @val's JSON string text (no quotes) appended at *@o; *@bad set if it
 * was not valid UTF-8. Returns 0, or -1 if it did not fit. */
static int escape(char *buf, size_t len, size_t *o, const char *val, int *bad)
{
	const unsigned char *p = (const unsigned char *)val;
	char esc[8];

	while (*p) {
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
	if (escape(out, len, &o, val, &bad) != 0)
		return -1;
	return bad;
}

int audit_json_member(char *buf, size_t len, const char *key, const char *val)
{
	const unsigned char *p;
	size_t o = strlen(buf), start = o;
	int bad = 0;
	char esc[4];

	if ((o && buf[o - 1] != ',' && put(buf, len, &o, ",", 1)) ||
	    put(buf, len, &o, "\"", 1) || put(buf, len, &o, key, strlen(key)) ||
	    put(buf, len, &o, "\":\"", 3) || escape(buf, len, &o, val, &bad) ||
	    put(buf, len, &o, "\"", 1))
		goto full;
	if (bad) {
		/* the exact bytes, for a name that was not UTF-8 */
		if (put(buf, len, &o, ",\"", 2) ||
		    put(buf, len, &o, key, strlen(key)) ||
		    put(buf, len, &o, "_hex\":\"", 7))
			goto full;
		for (p = (const unsigned char *)val; *p; p++) {
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
	return 0;
}
