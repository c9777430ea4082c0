/* peermsg.c - the HA peers' messages on the wire (peermsg.h): encoding,
 * the MAC, decoding and the replay rules. Decoding checks the MAC over
 * the exact bytes first and reads nothing before it verifies; the grammar
 * behind it is strict, length-bounded and never relies on a NUL: the
 * datagram is bytes. */
#include "ha/peermsg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/chain.h"

#define MAGIC "SFPEER1"
#define MAC_HEX 64
/* "MAC " HEX "\n" */
#define MAC_LINE (4 + MAC_HEX + 1)

static const char *const reason_names[PEERMSG_REASONS] = {
	[PEERMSG_OK] = "ok",
	[PEERMSG_NO_MAC] = "no MAC",
	[PEERMSG_BAD_MAC] = "bad MAC",
	[PEERMSG_CONTROL_BYTE] = "control byte",
	[PEERMSG_UNKNOWN_KIND] = "unknown kind",
	[PEERMSG_MALFORMED] = "malformed",
	[PEERMSG_TOO_LONG] = "field too long",
	[PEERMSG_STALE] = "stale",
	[PEERMSG_FUTURE] = "from the future",
	[PEERMSG_REPLAY] = "replay",
	[PEERMSG_WRONG_NODE] = "not this peer's node",
};

const char *peermsg_reason_name(enum peermsg_reason r)
{
	return (unsigned)r < PEERMSG_REASONS ? reason_names[r] : "?";
}

/* ---- fields: one check each, shared by the encoder and the decoder ---- */

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static enum peermsg_reason node_check(const char *s, size_t n)
{
	char node[PEERMSG_NODE_MAX + 1];

	if (n > PEERMSG_NODE_MAX)
		return PEERMSG_TOO_LONG;
	memcpy(node, s, n);
	node[n] = '\0';
	return audit_node_ok(node) ? PEERMSG_OK : PEERMSG_MALFORMED;
}

static enum peermsg_reason digest_check(const char *s, size_t n)
{
	size_t i;

	if (n > PEERMSG_DIGEST_LEN)
		return PEERMSG_TOO_LONG;
	if (n == 1 && s[0] == '-') /* audit_policy_digest() failed there */
		return PEERMSG_OK;
	if (n != PEERMSG_DIGEST_LEN)
		return PEERMSG_MALFORMED;
	for (i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return PEERMSG_MALFORMED;
	return PEERMSG_OK;
}

/* the kill switch's apps: "" (off) or words of printable ASCII, one
 * space between two */
static enum peermsg_reason apps_check(const char *s, size_t n)
{
	size_t i;

	if (n > PEERMSG_KS_MAX)
		return PEERMSG_TOO_LONG;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' ? i == 0 || i + 1 == n || s[i - 1] == ' '
			     : c < 0x21 || c > 0x7e)
			return PEERMSG_MALFORMED;
	}
	/* "-" is how "off" travels */
	return n == 1 && s[0] == '-' ? PEERMSG_MALFORMED : PEERMSG_OK;
}

static enum peermsg_reason text_check(const char *s, size_t n)
{
	size_t i;

	if (n > PEERMSG_CHANGE_MAX)
		return PEERMSG_TOO_LONG;
	if (n == 0)
		return PEERMSG_MALFORMED;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return PEERMSG_CONTROL_BYTE;
	return PEERMSG_OK;
}

static enum peermsg_reason number_parse(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n == 0)
		return PEERMSG_MALFORMED;
	if (n > PEERMSG_NUMBER_MAX)
		return PEERMSG_TOO_LONG;
	if (n > 1 && s[0] == '0') /* one message, one spelling */
		return PEERMSG_MALFORMED;
	*v = 0;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9')
			return PEERMSG_MALFORMED;
		if (*v > (UINT64_MAX - d) / 10)
			return PEERMSG_TOO_LONG;
		*v = *v * 10 + d;
	}
	return PEERMSG_OK;
}

/* ---- the MAC ---- */

static int mac_hex(const unsigned char *key, size_t keylen, const char *text,
		   size_t len, char hex[MAC_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (keylen > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)text,
		  len, md, &mdlen) ||
	    mdlen != MAC_HEX / 2)
		return -EIO;
	audit_hex(md, mdlen, hex);
	return 0;
}

int peermsg_seal(char *buf, size_t len, size_t size, const unsigned char *key,
		 size_t keylen)
{
	char hex[MAC_HEX + 1];

	if (len > size || size - len < MAC_LINE || len + MAC_LINE > INT32_MAX)
		return -EMSGSIZE;
	if (mac_hex(key, keylen, buf, len, hex) != 0)
		return -EIO;
	memcpy(buf + len, "MAC ", 4);
	memcpy(buf + len + 4, hex, MAC_HEX);
	buf[len + 4 + MAC_HEX] = '\n';
	OPENSSL_cleanse(hex, sizeof(hex));
	return (int)(len + MAC_LINE);
}

/* ---- encoding ---- */

int peermsg_change_valid(const char *what)
{
	size_t n = strnlen(what, PEERMSG_CHANGE_MAX + 1);

	switch (text_check(what, n)) {
	case PEERMSG_OK:
		return 0;
	case PEERMSG_TOO_LONG:
		return -EMSGSIZE;
	default:
		return -EINVAL;
	}
}

int peermsg_encode(char *buf, size_t size, const struct peermsg *m,
		   const unsigned char *key, size_t keylen)
{
	const char *ks = m->killswitch;
	size_t o;
	int n;

	if (node_check(m->node, strnlen(m->node, PEERMSG_NODE_MAX + 1)) ||
	    digest_check(m->digest,
			 strnlen(m->digest, PEERMSG_DIGEST_LEN + 1)) ||
	    apps_check(ks, strnlen(ks, PEERMSG_KS_MAX + 1)) ||
	    (m->change && peermsg_change_valid(m->change) != 0))
		return -EINVAL;
	n = snprintf(buf, size,
		     MAGIC " %s %" PRIu64 " %" PRIu64 " %s %" PRIu64
			   "\nKS %s\n",
		     m->node, m->seq, m->wall_ms, m->digest, m->ks_ms,
		     ks[0] ? ks : "-");
	if (n < 0 || (size_t)n >= size)
		return -EMSGSIZE;
	o = (size_t)n;
	if (m->change) {
		n = snprintf(buf + o, size - o, "CHANGE %" PRIu64 " %s\n",
			     m->change_id, m->change);
		if (n < 0 || (size_t)n >= size - o)
			return -EMSGSIZE;
		o += (size_t)n;
	}
	return peermsg_seal(buf, o, size, key, keylen);
}

/* ---- decoding ---- */

/* A line of the text: [s, e), e at its newline. */
struct line {
	char *s, *e;
};

/* The next line from *@at (the text ends with a newline); 0 at the end. */
static int line_next(char **at, char *end, struct line *l)
{
	char *nl;

	if (*at >= end)
		return 0;
	nl = memchr(*at, '\n', (size_t)(end - *at));
	l->s = *at;
	l->e = nl;
	*at = nl + 1;
	return 1;
}

/* The line's first word is @kind, then a space. */
static int line_is(const struct line *l, const char *kind)
{
	size_t k = strlen(kind);

	return (size_t)(l->e - l->s) > k && !memcmp(l->s, kind, k) &&
	       l->s[k] == ' ';
}

/* A line where it does not belong: one of a kind we know (out of place),
 * or of one we do not. */
static enum peermsg_reason line_misplaced(const struct line *l)
{
	static const char *const kinds[] = { MAGIC, "KS", "CHANGE" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (line_is(l, kinds[i]))
			return PEERMSG_MALFORMED;
	return PEERMSG_UNKNOWN_KIND;
}

/* The next field of @l, up to a space or the line's end; NULL if none
 * is left. An empty one (two spaces) is returned, empty. */
static char *field_next(struct line *l, size_t *n)
{
	char *s = l->s, *sp;

	if (s > l->e)
		return NULL;
	sp = memchr(s, ' ', (size_t)(l->e - s));
	if (!sp)
		sp = l->e;
	*n = (size_t)(sp - s);
	l->s = sp + 1;
	return s;
}

/* SFPEER1 NODE SEQ WALL_MS DIGEST KS_MS */
static enum peermsg_reason header_read(struct line *l, struct peermsg *m)
{
	enum peermsg_reason r;
	char *node, *digest, *f;
	size_t n = 0, nn, dn;

	f = field_next(l, &n);
	if (n != strlen(MAGIC) || memcmp(f, MAGIC, n))
		return PEERMSG_UNKNOWN_KIND;
	if (!(node = field_next(l, &nn)))
		return PEERMSG_MALFORMED;
	if ((r = node_check(node, nn)))
		return r;
	if (!(f = field_next(l, &n)))
		return PEERMSG_MALFORMED;
	if ((r = number_parse(f, n, &m->seq)))
		return r;
	if (!(f = field_next(l, &n)))
		return PEERMSG_MALFORMED;
	if ((r = number_parse(f, n, &m->wall_ms)))
		return r;
	if (!(digest = field_next(l, &dn)))
		return PEERMSG_MALFORMED;
	if ((r = digest_check(digest, dn)))
		return r;
	if (!(f = field_next(l, &n)))
		return PEERMSG_MALFORMED;
	if ((r = number_parse(f, n, &m->ks_ms)))
		return r;
	if (field_next(l, &n))
		return PEERMSG_MALFORMED;
	node[nn] = '\0';
	digest[dn] = '\0';
	m->node = node;
	m->digest = digest;
	return PEERMSG_OK;
}

/* KS APP... | KS - */
static enum peermsg_reason ks_read(struct line *l, struct peermsg *m)
{
	enum peermsg_reason r;
	char *s = l->s + 3;
	size_t n = (size_t)(l->e - s);

	if (n == 1 && s[0] == '-') {
		m->killswitch = "";
		return PEERMSG_OK;
	}
	if (n == 0)
		return PEERMSG_MALFORMED;
	if ((r = apps_check(s, n)))
		return r;
	s[n] = '\0';
	m->killswitch = s;
	return PEERMSG_OK;
}

/* CHANGE ID WHAT */
static enum peermsg_reason change_read(struct line *l, struct peermsg *m)
{
	enum peermsg_reason r;
	char *id = l->s + 7, *sp;
	size_t n;

	sp = memchr(id, ' ', (size_t)(l->e - id));
	if (!sp)
		return PEERMSG_MALFORMED;
	if ((r = number_parse(id, (size_t)(sp - id), &m->change_id)))
		return r;
	n = (size_t)(l->e - (sp + 1));
	if ((r = text_check(sp + 1, n)))
		return r;
	sp[1 + n] = '\0';
	m->change = sp + 1;
	return PEERMSG_OK;
}

/* The text behind a verified MAC: [buf, end), ending with a newline. */
static enum peermsg_reason text_read(char *buf, char *end, struct peermsg *m)
{
	enum peermsg_reason r;
	struct line l;
	char *at = buf, *c;

	for (c = buf; c < end; c++)
		if ((*c != '\n' && (unsigned char)*c < 0x20) || *c == 0x7f)
			return PEERMSG_CONTROL_BYTE;
	memset(m, 0, sizeof(*m));
	if (!line_next(&at, end, &l))
		return PEERMSG_MALFORMED;
	if ((r = header_read(&l, m)))
		return r;
	if (!line_next(&at, end, &l))
		return PEERMSG_MALFORMED;
	if (!line_is(&l, "KS"))
		return line_misplaced(&l);
	if ((r = ks_read(&l, m)))
		return r;
	if (!line_next(&at, end, &l))
		return PEERMSG_OK;
	if (line_is(&l, "CHANGE")) {
		if ((r = change_read(&l, m)))
			return r;
		if (!line_next(&at, end, &l))
			return PEERMSG_OK;
	}
	return line_misplaced(&l);
}

enum peermsg_reason peermsg_decode(char *buf, size_t len,
				   const unsigned char *key, size_t keylen,
				   struct peermsg *m)
{
	char mac[MAC_HEX + 1], *tail;
	size_t text, i;
	int ok;

	/* at least one line of text, then "MAC " HEX "\n" to the end */
	if (len <= MAC_LINE || buf[len - MAC_LINE - 1] != '\n')
		return PEERMSG_NO_MAC;
	text = len - MAC_LINE;
	tail = buf + text;
	if (memcmp(tail, "MAC ", 4) || tail[MAC_LINE - 1] != '\n')
		return PEERMSG_NO_MAC;
	for (i = 0; i < MAC_HEX; i++)
		if (!is_hex(tail[4 + i]))
			return PEERMSG_NO_MAC;
	/* no MAC computed, none verifies */
	if (mac_hex(key, keylen, buf, text, mac) != 0)
		return PEERMSG_BAD_MAC;
	ok = !CRYPTO_memcmp(mac, tail + 4, MAC_HEX);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!ok)
		return PEERMSG_BAD_MAC;
	return text_read(buf, tail, m);
}

/* ---- the replay rules ---- */

enum peermsg_reason peermsg_fresh(const struct peermsg_rx *rx,
				  const struct peermsg *m, uint64_t now_ms)
{
	if (m->wall_ms < now_ms && now_ms - m->wall_ms > PEER_WINDOW_MS)
		return PEERMSG_STALE;
	if (m->wall_ms > now_ms && m->wall_ms - now_ms > PEER_WINDOW_MS)
		return PEERMSG_FUTURE;
	if (m->seq <= rx->last_seq)
		return PEERMSG_REPLAY;
	return PEERMSG_OK;
}

enum peermsg_reason peermsg_receive(struct peermsg_rx *rx, char *buf,
				    size_t len, const unsigned char *key,
				    size_t keylen, uint64_t now_ms,
				    struct peermsg *m)
{
	enum peermsg_reason r = peermsg_decode(buf, len, key, keylen, m);

	if (r == PEERMSG_OK && ((rx->own && !strcmp(m->node, rx->own)) ||
				(rx->node[0] && strcmp(m->node, rx->node))))
		r = PEERMSG_WRONG_NODE;
	if (r == PEERMSG_OK)
		r = peermsg_fresh(rx, m, now_ms);
	if (r == PEERMSG_OK) {
		rx->last_seq = m->seq;
		if (!rx->node[0])
			snprintf(rx->node, sizeof(rx->node), "%s", m->node);
	} else {
		rx->refused[r]++;
	}
	return r;
}
