/* radius.c - RADIUS Accounting-Requests read and verified, and their
 * responses (radius.h). Every read is bounded by the Length field, itself
 * checked against the datagram; nothing is decoded before both
 * authenticators verify, except the framing that locates the
 * Message-Authenticator. */
#include "identity/radius.h"

#include <arpa/inet.h>

#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define AUTH_OFF 4
#define AUTH_LEN 16

static const char *const err_words[RADIUS_ERRS] = {
	"ok",
	"short",
	"not accounting",
	"malformed attribute",
	"bad authenticator",
	"no status",
};

const char *radius_strerror(int err)
{
	return err <= 0 && err > -RADIUS_ERRS ? err_words[-err] : "?";
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ---- the authenticators ---- */

/* MD5(@a, @b, @c, @d) with any of them empty; 0 or -1 */
static int md5_of(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		  const uint8_t *c, size_t clen, const uint8_t *d, size_t dlen,
		  uint8_t md[AUTH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 &&
	     EVP_DigestUpdate(ctx, b, blen) == 1 &&
	     EVP_DigestUpdate(ctx, c, clen) == 1 &&
	     EVP_DigestUpdate(ctx, d, dlen) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == AUTH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The Request Authenticator of the @len bytes at @p (RFC 2866 section 3):
 * its own field counts as zeros. */
static int request_auth(const uint8_t *p, size_t len, const uint8_t *secret,
			size_t secret_len, uint8_t md[AUTH_LEN])
{
	static const uint8_t zeros[AUTH_LEN];

	return md5_of(p, AUTH_OFF, zeros, AUTH_LEN, p + RADIUS_HDR_LEN,
		      len - RADIUS_HDR_LEN, secret, secret_len, md);
}

/* The Message-Authenticator of the @len bytes at @p whose attribute value
 * is at offset @ma: HMAC-MD5 with the Authenticator field and that value
 * as zeros (see radius.h for why the Authenticator field is zeros) */
static int message_auth(const uint8_t *p, size_t len, size_t ma,
			const uint8_t *secret, size_t secret_len,
			uint8_t md[AUTH_LEN])
{
	uint8_t copy[RADIUS_MAX_LEN];
	unsigned n = 0;

	if (secret_len > INT32_MAX)
		return -1;
	memcpy(copy, p, len);
	memset(copy + AUTH_OFF, 0, AUTH_LEN);
	memset(copy + ma, 0, AUTH_LEN);
	if (!HMAC(EVP_md5(), secret, (int)secret_len, copy, len, md, &n) ||
	    n != AUTH_LEN)
		return -1;
	return 0;
}

/* Walks the attributes of the @len-byte packet @p: 0 if they tile it
 * exactly, -1 if not. *@ma gets the offset of the first
 * Message-Authenticator's value (0: none); *@nma how many there are.
 * With @stop, the walk ends well at the first Message-Authenticator with
 * a 16-byte value (for the signer, which may be given anything). */
static int walk(const uint8_t *p, size_t len, size_t *ma, unsigned *nma,
		int stop)
{
	size_t o = RADIUS_HDR_LEN;

	*ma = 0;
	*nma = 0;
	while (o < len) {
		if (len - o < 2 || p[o + 1] < 2 || p[o + 1] > len - o)
			return -1;
		if (p[o] == RADIUS_MESSAGE_AUTHENTICATOR) {
			if (!*ma && p[o + 1] == 2 + AUTH_LEN)
				*ma = o + 2;
			++*nma;
			if (stop && *ma)
				return 0;
		}
		o += p[o + 1];
	}
	return 0;
}

int radius_sign_acct(uint8_t *buf, size_t len, const uint8_t *secret,
		     size_t secret_len)
{
	size_t n, ma;
	unsigned nma;

	if (len < RADIUS_HDR_LEN)
		return -1;
	n = get16(buf + 2);
	if (n < RADIUS_HDR_LEN || n > len || n > RADIUS_MAX_LEN)
		return -1;
	if (walk(buf, n, &ma, &nma, 1) == 0 && ma &&
	    message_auth(buf, n, ma, secret, secret_len, buf + ma) != 0)
		return -1;
	return request_auth(buf, n, secret, secret_len, buf + AUTH_OFF);
}

/* 0 if the @len-byte request @p carries the authenticators of @secret,
 * the Message-Authenticator's value at @ma (0: none) */
static int verify(const uint8_t *p, size_t len, size_t ma,
		  const uint8_t *secret, size_t secret_len)
{
	uint8_t md[AUTH_LEN];
	int bad;

	if (request_auth(p, len, secret, secret_len, md) != 0)
		return -1;
	bad = CRYPTO_memcmp(md, p + AUTH_OFF, AUTH_LEN);
	if (!bad && ma) {
		if (message_auth(p, len, ma, secret, secret_len, md) != 0)
			return -1;
		bad = CRYPTO_memcmp(md, p + ma, AUTH_LEN);
	}
	return bad ? -1 : 0;
}

/* ---- the values ---- */

/* 1 if the @n bytes at @s are UTF-8 with no control character (C0, DEL,
 * C1) nor NUL: a group name a policy can hold */
static int printable_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		unsigned k, more;

		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			more = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			more = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			more = 3;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (n - i <= more)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong, surrogate, beyond U+10FFFF, C1 control */
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += 1 + more;
	}
	return 1;
}

static int as_text(char *dst, const uint8_t *v, size_t n)
{
	if (memchr(v, '\0', n))
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int decode_text(struct radius_acct *a, const uint8_t *v, size_t n,
		       size_t off)
{
	return as_text((char *)a + off, v, n);
}

static int decode_mac(struct radius_acct *a, const uint8_t *v, size_t n,
		      size_t off)
{
	(void)off;
	radius_mac_normalise((const char *)v, n, a->mac);
	return 0;
}

static int decode_u32(struct radius_acct *a, const uint8_t *v, size_t n,
		      size_t off)
{
	uint32_t x;

	if (n != 4)
		return -1;
	x = get32(v);
	memcpy((char *)a + off, &x, sizeof(x));
	return 0;
}

static int decode_event_ts(struct radius_acct *a, const uint8_t *v, size_t n,
			   size_t off)
{
	if (decode_u32(a, v, n, off) != 0)
		return -1;
	a->has_event_ts = 1;
	return 0;
}

static int decode_ip4(struct radius_acct *a, const uint8_t *v, size_t n,
		      size_t off)
{
	uint32_t x;

	(void)off;
	if (n != 4)
		return -1;
	x = get32(v);
	if (x == 0 || x == 0xffffffff || x == 0xfffffffe)
		return 0;
	memcpy(a->ip4, v, 4);
	a->has_ip4 = 1;
	return 0;
}

static int decode_ip6(struct radius_acct *a, const uint8_t *v, size_t n,
		      size_t off)
{
	static const uint8_t unspecified[16];

	(void)off;
	if (n != 16)
		return -1;
	if (!memcmp(v, unspecified, 16))
		return 0;
	memcpy(a->ip6, v, 16);
	a->has_ip6 = 1;
	return 0;
}

static int decode_delay(struct radius_acct *a, const uint8_t *v, size_t n,
			size_t off)
{
	if (decode_u32(a, v, n, off) != 0)
		return -1;
	a->has_delay = 1;
	return 0;
}

static int decode_proxy_state(struct radius_acct *a, const uint8_t *v, size_t n,
			      size_t off)
{
	(void)off;
	if (a->proxy_state_len + 2 + n > sizeof(a->proxy_state))
		return -1;
	a->proxy_state[a->proxy_state_len] = RADIUS_PROXY_STATE;
	a->proxy_state[a->proxy_state_len + 1] = (uint8_t)(2 + n);
	memcpy(a->proxy_state + a->proxy_state_len + 2, v, n);
	a->proxy_state_len += 2 + n;
	return 0;
}

static int decode_nas_addr(struct radius_acct *a, const uint8_t *v, size_t n,
			   size_t off)
{
	(void)off;
	if (n != 4 && n != 16)
		return -1;
	if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, v, a->nas_addr,
		       sizeof(a->nas_addr)))
		a->nas_addr[0] = '\0';
	return 0;
}

static int decode_prefix6(struct radius_acct *a, const uint8_t *v, size_t n,
			  size_t off)
{
	unsigned plen, i;

	(void)off;
	if (n < 2 || n > 18)
		return -1;
	plen = v[1];
	if (plen > 128 || n - 2 < (plen + 7) / 8)
		return -1;
	memset(a->prefix6, 0, sizeof(a->prefix6));
	memcpy(a->prefix6, v + 2, n - 2);
	for (i = plen; i < 128; i++)
		a->prefix6[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	a->prefix6_len = (uint8_t)plen;
	a->has_prefix6 = 1;
	return 0;
}

static int decode_class(struct radius_acct *a, const uint8_t *v, size_t n,
			size_t off)
{
	(void)off;
	if (n == 0)
		return 0;
	if (!printable_utf8(v, n)) {
		a->skipped_class++;
		return 0;
	}
	if (a->n_class == RADIUS_MAX_GROUPS) {
		a->dropped_groups++;
		return 0;
	}
	return as_text(a->class_[a->n_class++], v, n);
}

/* Filter-Id is text (RFC 2865 5.11): anything else is malformed */
static int decode_filter(struct radius_acct *a, const uint8_t *v, size_t n,
			 size_t off)
{
	(void)off;
	if (n == 0)
		return 0;
	if (!printable_utf8(v, n))
		return -1;
	if (a->n_filter == RADIUS_MAX_GROUPS) {
		a->dropped_groups++;
		return 0;
	}
	return as_text(a->filter[a->n_filter++], v, n);
}

/* The attributes read; every other one is skipped (the
 * Message-Authenticator was checked by walk() and verify()). @single:
 * only the first one counts. */
static const struct attr_kind {
	uint8_t type;
	uint8_t single;
	int (*decode)(struct radius_acct *a, const uint8_t *v, size_t n,
		      size_t off);
	size_t off;
} attr_kinds[] = {
	{ RADIUS_USER_NAME, 1, decode_text,
	  offsetof(struct radius_acct, user) },
	{ RADIUS_FRAMED_IP_ADDRESS, 1, decode_ip4, 0 },
	{ RADIUS_FILTER_ID, 0, decode_filter, 0 },
	{ RADIUS_CLASS, 0, decode_class, 0 },
	{ RADIUS_CALLING_STATION_ID, 1, decode_mac, 0 },
	{ RADIUS_NAS_IDENTIFIER, 1, decode_text,
	  offsetof(struct radius_acct, nas) },
	{ RADIUS_ACCT_STATUS_TYPE, 1, decode_u32,
	  offsetof(struct radius_acct, status) },
	{ RADIUS_ACCT_SESSION_ID, 1, decode_text,
	  offsetof(struct radius_acct, session) },
	{ RADIUS_EVENT_TIMESTAMP, 1, decode_event_ts,
	  offsetof(struct radius_acct, event_ts) },
	{ RADIUS_ACCT_INTERIM_INTERVAL, 1, decode_u32,
	  offsetof(struct radius_acct, interim_interval) },
	{ RADIUS_FRAMED_IPV6_PREFIX, 1, decode_prefix6, 0 },
	{ RADIUS_FRAMED_IPV6_ADDRESS, 1, decode_ip6, 0 },
	{ RADIUS_NAS_IP_ADDRESS, 1, decode_nas_addr, 0 },
	{ RADIUS_ACCT_DELAY_TIME, 1, decode_delay,
	  offsetof(struct radius_acct, delay) },
	{ RADIUS_PROXY_STATE, 0, decode_proxy_state, 0 },
	{ RADIUS_NAS_IPV6_ADDRESS, 1, decode_nas_addr, 0 },
};

static const struct attr_kind *kind_of(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(attr_kinds) / sizeof(attr_kinds[0]); i++)
		if (attr_kinds[i].type == type)
			return &attr_kinds[i];
	return NULL;
}

/* Decodes the attributes of the @len-byte packet @p, framed by walk(),
 * into @a. RADIUS_OK, ERR_ATTR or ERR_STATUS. */
static int decode(const uint8_t *p, size_t len, struct radius_acct *a)
{
	uint8_t seen[256 / 8] = { 0 };
	struct radius_acct scratch;
	int has_status = 0;
	size_t o;

	for (o = RADIUS_HDR_LEN; o < len; o += p[o + 1]) {
		const struct attr_kind *k = kind_of(p[o]);
		const uint8_t *v = p + o + 2;
		size_t n = p[o + 1] - 2u;
		int first = !(seen[p[o] / 8] & (1u << (p[o] % 8)));

		if (!k)
			continue;
		seen[p[o] / 8] |= (uint8_t)(1u << (p[o] % 8));
		if (p[o] == RADIUS_ACCT_STATUS_TYPE)
			has_status = 1;
		/* a later copy of a single-valued attribute is checked
		 * into a scratch copy and dropped */
		if (k->single && !first) {
			if (k->decode(&scratch, v, n, k->off) != 0)
				return RADIUS_ERR_ATTR;
			continue;
		}
		if (k->decode(a, v, n, k->off) != 0)
			return RADIUS_ERR_ATTR;
	}
	return has_status ? RADIUS_OK : RADIUS_ERR_STATUS;
}

int radius_parse_acct(const uint8_t *buf, size_t len, const uint8_t *secret,
		      size_t secret_len, struct radius_acct *out)
{
	struct radius_acct a;
	size_t n, ma;
	unsigned nma;
	int rc;

	if (len < RADIUS_HDR_LEN)
		return RADIUS_ERR_SHORT;
	if (buf[0] != RADIUS_ACCOUNTING_REQUEST)
		return RADIUS_ERR_CODE;
	n = get16(buf + 2);
	if (n < RADIUS_HDR_LEN || n > len || n > RADIUS_MAX_LEN)
		return RADIUS_ERR_SHORT;
	if (walk(buf, n, &ma, &nma, 0) != 0 || nma > 1 || (nma && !ma))
		return RADIUS_ERR_ATTR;
	if (verify(buf, n, ma, secret, secret_len) != 0)
		return RADIUS_ERR_AUTH;
	memset(&a, 0, sizeof(a));
	a.id = buf[1];
	memcpy(a.authenticator, buf + AUTH_OFF, AUTH_LEN);
	rc = decode(buf, n, &a);
	if (rc == RADIUS_OK)
		memcpy(out, &a, sizeof(a));
	return rc;
}

size_t radius_acct_response(const struct radius_acct *req,
			    const uint8_t *secret, size_t secret_len,
			    uint8_t *out, size_t cap)
{
	size_t len = RADIUS_HDR_LEN + req->proxy_state_len;

	if (cap < len)
		return 0;
	out[0] = RADIUS_ACCOUNTING_RESPONSE;
	out[1] = req->id;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	/* the Proxy-States back, as they came (RFC 2865 5.33) */
	memcpy(out + RADIUS_HDR_LEN, req->proxy_state, req->proxy_state_len);
	if (md5_of(out, AUTH_OFF, req->authenticator, AUTH_LEN,
		   out + RADIUS_HDR_LEN, req->proxy_state_len, secret,
		   secret_len, out + AUTH_OFF) != 0)
		return 0;
	return len;
}

size_t radius_build_acct(uint8_t id, const struct radius_attr *attrs,
			 unsigned n, const uint8_t *secret, size_t secret_len,
			 uint8_t *out, size_t cap)
{
	size_t len = RADIUS_HDR_LEN;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (attrs[i].len > 253 ||
		    (attrs[i].type == RADIUS_MESSAGE_AUTHENTICATOR &&
		     attrs[i].len != AUTH_LEN))
			return 0;
		len += 2u + attrs[i].len;
	}
	if (len > RADIUS_MAX_LEN || len > cap)
		return 0;
	out[0] = RADIUS_ACCOUNTING_REQUEST;
	out[1] = id;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memset(out + AUTH_OFF, 0, AUTH_LEN);
	len = RADIUS_HDR_LEN;
	for (i = 0; i < n; i++) {
		out[len] = attrs[i].type;
		out[len + 1] = (uint8_t)(2 + attrs[i].len);
		if (attrs[i].val)
			memcpy(out + len + 2, attrs[i].val, attrs[i].len);
		else
			memset(out + len + 2, 0, attrs[i].len);
		len += 2u + attrs[i].len;
	}
	if (radius_sign_acct(out, len, secret, secret_len) != 0)
		return 0;
	return len;
}

/* ---- MAC addresses ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 12 hex digits of @in, separated by @sep every @every digits (0:
 * none), into @mac; the length read, or 0 */
static size_t mac_digits(const char *in, size_t len, char sep, unsigned every,
			 uint8_t mac[6])
{
	size_t o = 0;
	unsigned d;

	for (d = 0; d < 12; d++) {
		int h;

		if (d && every && d % every == 0) {
			if (o >= len || in[o] != sep)
				return 0;
			o++;
		}
		if (o >= len || (h = hexval(in[o])) < 0)
			return 0;
		mac[d / 2] = (uint8_t)(d % 2 ? mac[d / 2] | h : h << 4);
		o++;
	}
	return o;
}

int radius_mac_normalise(const char *in, size_t len, char out[18])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[6];
	size_t n;
	unsigned i;

	if (len > 2 && (in[2] == ':' || in[2] == '-'))
		n = mac_digits(in, len, in[2], 2, mac);
	else if (len > 4 && in[4] == '.')
		n = mac_digits(in, len, '.', 4, mac);
	else
		n = mac_digits(in, len, 0, 0, mac);
	if (n == 0 || (n < len && in[n] != ':')) {
		out[0] = '\0';
		return -1;
	}
	for (i = 0; i < 6; i++) {
		out[3 * i] = hex[mac[i] >> 4];
		out[3 * i + 1] = hex[mac[i] & 15];
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
	return 0;
}
