/* appmsg.c - the application messages of a TCP stream, read whole
 * (appmsg.h). Each reader takes the bytes from a message's first byte and
 * either uses a whole message, or waits for more, or says the stream is
 * beyond it; none keeps a pointer into the buffer. */
#include "core/appmsg.h"

#include <string.h>
#include <strings.h>

#define STUN_COOKIE 0x2112A442u
#define MAX_DEPTH 4	   /* proxies in proxies */
#define HTTP_MAX_LINE 8192 /* a chunk-size line longer than this is broken */

static const char *const proto_names[AM_PROTO_MAX] = {
	"none",	  "tls",  "http",      "dns",	"socks4",
	"socks5", "stun", "stun-4571", "other",
};

const char *appmsg_proto_name(uint8_t proto)
{
	return proto < AM_PROTO_MAX ? proto_names[proto] : "?";
}

const char *appmsg_status_name(uint8_t st)
{
	static const char *const n[] = { "idle", "wait", "final",
					 "unreadable" };

	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A name as the matchers take it: lower case, no trailing dots; empty
 * names and names with bytes a host name cannot have (NUL, space,
 * control) are passed on as they are, minus the dots, for the record. */
static void emit(const struct appmsg_sink *k, const uint8_t *s, size_t n,
		 enum appmsg_kind kind)
{
	char name[APPMSG_NAME_LEN];
	size_t i;

	while (n > 0 &&
	       (s[n - 1] == '.' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	if (n == 0 || !k->name)
		return;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		name[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c ? c : '?');
	}
	name[n] = '\0';
	k->name(k->ctx, name, kind);
}

/* "host[:port]", "[v6]:port" or "user@host:port": the host. */
static void emit_authority(const struct appmsg_sink *k, const uint8_t *s,
			   size_t n, enum appmsg_kind kind)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (s[i - 1] == '@') {
			s += i;
			n -= i;
			break;
		}
	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			;
		emit(k, s + 1, i - 1, kind);
		return;
	}
	for (i = 0; i < n && s[i] != ':'; i++)
		;
	emit(k, s, i, kind);
}

/* --- TLS ------------------------------------------------------------ */

/* The names of a ClientHello body (after its 4-byte header). 0, or -1 if
 * it does not parse. */
static int client_hello(struct appmsg *m, const uint8_t *b, uint32_t n,
			const struct appmsg_sink *k)
{
	uint32_t o = 2 + 32, l, end;

	if (n < o + 1)
		return -1;
	o += 1 + b[o]; /* session id */
	if (n < o + 2)
		return -1;
	o += 2 + rd16(b + o); /* cipher suites */
	if (n < o + 1)
		return -1;
	o += 1 + b[o]; /* compression methods */
	if (n == o)
		return 0; /* no extensions */
	if (n < o + 2)
		return -1;
	l = rd16(b + o);
	o += 2;
	if (n < o + l)
		return -1;
	end = o + l;
	while (o + 4 <= end) {
		uint16_t type = rd16(b + o);
		uint32_t el = rd16(b + o + 2), p, le;

		o += 4;
		if (o + el > end)
			return -1;
		if (type == 0xfe0d)
			m->ech = 1;
		if (type == 0 && el >= 2) {
			le = o + 2 + rd16(b + o);
			if (le > o + el)
				return -1;
			for (p = o + 2; p + 3 <= le;) {
				uint32_t nl = rd16(b + p + 1);

				if (p + 3 + nl > le)
					return -1;
				if (b[p] == 0)
					emit(k, b + p + 3, nl, AM_NAME_SNI);
				p += 3 + nl;
			}
		}
		o += el;
	}
	return 0;
}

/* Handshake messages across records: the fragments of the records from
 * @b are put together until one message is whole. */
static enum appmsg_status tls_read(struct appmsg *m, const uint8_t *b,
				   uint32_t len, const struct appmsg_sink *k,
				   uint32_t *used)
{
	uint8_t hs[APPMSG_MAX];
	uint32_t o = 0, h = 0, need = 0;

	for (;;) {
		uint32_t rl;

		if (len - o < 5)
			return h == 0 && o == len ? AM_IDLE : AM_WAIT;
		rl = rd16(b + o + 3);
		if (b[o + 1] != 3 || rl > 16384 + 2048)
			return m->hellos ? AM_FINAL : AM_UNREADABLE;
		if (b[o] != 22) {
			/* a record between a message's fragments, or an
			 * encrypted one: nothing more is plain */
			if (h || !m->hellos)
				return m->hellos ? AM_FINAL : AM_UNREADABLE;
			if (b[o] == 21 && !m->stage) {
				/* a plaintext alert (user_canceled after a
				 * HelloRetryRequest is ignored by OpenSSL):
				 * a second ClientHello may still follow */
				if (len - o < 5 + rl)
					return AM_WAIT;
				o += 5 + rl;
				*used = o;
				continue;
			}
			if (b[o] == 20) { /* change_cipher_spec */
				if (len - o < 5 + rl)
					return AM_WAIT;
				o += 5 + rl;
				*used = o;
				m->stage = 1;
				continue;
			}
			return AM_FINAL;
		}
		if (len - o < 5 + rl)
			return AM_WAIT;
		if (h + rl > sizeof(hs))
			return m->hellos ? AM_FINAL : AM_UNREADABLE;
		memcpy(hs + h, b + o + 5, rl);
		h += rl;
		o += 5 + rl;
		if (h >= 4 && !need) {
			need = 4 + rd24(hs + 1);
			if (need > sizeof(hs))
				return m->hellos ? AM_FINAL : AM_UNREADABLE;
		}
		if (!need || h < need)
			continue;
		/* one message whole (more may follow in the last record) */
		if (hs[0] == 1) {
			if (client_hello(m, hs + 4, need - 4, k) != 0)
				return m->hellos ? AM_FINAL : AM_UNREADABLE;
			m->hellos++;
			m->msgs++;
		} else if (!m->hellos || m->stage) {
			/* the first message is a ClientHello; after a
			 * change_cipher_spec only a second one is plain */
			return m->hellos ? AM_FINAL : AM_UNREADABLE;
		}
		*used = o;
		h = need = 0;
	}
}

/* --- HTTP/1.x ------------------------------------------------------- */

static int is_tchar(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the header block (the first byte after it), 0 if not whole.
 * Lines end in LF, with or without CR, as servers take them. */
static uint32_t header_end(const uint8_t *b, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n')
			return i + 2;
		if (b[i + 1] == '\r' && i + 2 < len && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int hdr_is(const uint8_t *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp((const char *)s, name, n) == 0;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int is_method(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

/* A scheme's letters (RFC 3986 3.1): a letter first. */
static int scheme_char(uint8_t c, int not_first)
{
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return 1;
	return not_first &&
	       ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* The request line @b, @e bytes without its line end. Its target's
 * names go to @k (unless !@emit); *tunnel for CONNECT. Servers take runs
 * of spaces between the parts, and any scheme's absolute form (nginx's
 * sw_spaces_before_uri, sw_schema), whose authority overrides Host (RFC
 * 9112 3.2.2). Returns 1 for a line without a version (HTTP/0.9: the
 * line is the request), 0, or -1 for a target no server reads the same
 * way (not origin, absolute, authority or asterisk form). */
static int request_line(const uint8_t *b, uint32_t e,
			const struct appmsg_sink *k, int emit, int *tunnel)
{
	uint32_t i = 0, mlen, ts, tl, c;

	*tunnel = 0;
	while (i < e && is_method(b[i]))
		i++;
	mlen = i;
	if (mlen == 0 || i >= e || !is_space(b[i]))
		return -1;
	while (i < e && is_space(b[i]))
		i++;
	ts = i;
	while (i < e && !is_space(b[i]))
		i++;
	tl = i - ts;
	while (i < e && is_space(b[i]))
		i++;
	if (tl == 0 || hdr_is(b, mlen, "PRI"))
		return -1; /* PRI: HTTP/2 with prior knowledge, frames */
	if (hdr_is(b, mlen, "CONNECT")) {
		if (emit)
			emit_authority(k, b + ts, tl, AM_NAME_PROXY);
		*tunnel = 1;
		return i < e ? 0 : 1;
	}
	/* scheme "://" authority */
	for (c = ts; c < ts + tl && scheme_char(b[c], c > ts); c++)
		;
	if (c > ts && c + 3 <= ts + tl && b[c] == ':' && b[c + 1] == '/' &&
	    b[c + 2] == '/') {
		uint32_t a = c + 3, z = a;

		while (z < ts + tl && b[z] != '/' && b[z] != '?' && b[z] != '#')
			z++;
		if (emit)
			emit_authority(k, b + a, z - a, AM_NAME_PROXY);
	} else if (b[ts] != '/' && !(tl == 1 && b[ts] == '*')) {
		return -1;
	}
	return i < e ? 0 : 1;
}

/* Reads one request's head: names, and how its body is framed. 0, 1 when
 * the stream is no longer HTTP after it (an Upgrade, HTTP/0.9), or -1 if
 * what the server reads of it cannot be known. */
static int http_head(struct appmsg *m, const uint8_t *b, uint32_t n,
		     const struct appmsg_sink *k, int *tunnel)
{
	uint32_t i = 0, ls, le, mlen;
	int cl_seen = 0, te_chunked = 0, te_other = 0, prev_host = 0;
	int upgrade = 0, no_body, rl;
	uint64_t cl = 0;

	while (i < n && b[i] != '\n')
		i++;
	rl = request_line(b, i > 0 && b[i - 1] == '\r' ? i - 1 : i, k, !m->line,
			  tunnel);
	m->line = 0;
	if (rl != 0)
		return rl; /* HTTP/0.9 (1), or unreadable */
	for (mlen = 0; mlen < n && is_method(b[mlen]); mlen++)
		;
	/* methods a body means nothing to: a server may leave one unread,
	 * and take it for the next request */
	no_body = hdr_is(b, mlen, "GET") || hdr_is(b, mlen, "HEAD") ||
		  hdr_is(b, mlen, "DELETE") || hdr_is(b, mlen, "OPTIONS") ||
		  hdr_is(b, mlen, "TRACE") || hdr_is(b, mlen, "CONNECT");
	/* header lines */
	for (ls = i + 1; ls < n; ls = le + 1) {
		uint32_t c, ne, vs, ve;

		for (le = ls; le < n && b[le] != '\n'; le++)
			;
		ve = le > ls && b[le - 1] == '\r' ? le - 1 : le;
		if (ve == ls)
			break; /* the empty line */
		if (b[ls] == ' ' || b[ls] == '\t') {
			/* obs-fold: a continuation of the line before */
			if (prev_host)
				emit_authority(k, b + ls, ve - ls,
					       AM_NAME_HOST);
			continue;
		}
		for (c = ls; c < ve && b[c] != ':'; c++)
			;
		if (c == ve)
			return -1; /* a line without a colon */
		for (ne = c; ne > ls && (b[ne - 1] == ' ' || b[ne - 1] == '\t');
		     ne--)
			;
		for (vs = c + 1; vs < ve && (b[vs] == ' ' || b[vs] == '\t');
		     vs++)
			;
		prev_host = 0;
		if (hdr_is(b + ls, ne - ls, "host")) {
			emit_authority(k, b + vs, ve - vs, AM_NAME_HOST);
			prev_host = 1;
		} else if (hdr_is(b + ls, ne - ls, "content-length")) {
			uint64_t v = 0;
			uint32_t j;

			if (vs == ve)
				return -1;
			for (j = vs; j < ve && b[j] >= '0' && b[j] <= '9'; j++)
				v = v * 10 + (uint64_t)(b[j] - '0');
			if (j != ve || v > 0xffffffffu || (cl_seen && v != cl))
				return -1;
			cl = v;
			cl_seen = 1;
		} else if (hdr_is(b + ls, ne - ls, "transfer-encoding")) {
			uint32_t e = ve;

			while (e > vs && (b[e - 1] == ' ' || b[e - 1] == '\t'))
				e--;
			if (e - vs >= 7 && strncasecmp((const char *)b + e - 7,
						       "chunked", 7) == 0)
				te_chunked = 1;
			else
				te_other = 1;
		} else if (hdr_is(b + ls, ne - ls, "upgrade")) {
			upgrade = 1;
		}
		for (c = ls; c < ne; c++)
			if (!is_tchar(b[c]))
				return -1;
	}
	/* RFC 9112 6.3: chunked wins over a length; both, or an encoding
	 * it cannot frame, leave the next request's start to the server */
	if (te_other || (te_chunked && cl_seen))
		return -1;
	if (no_body && (te_chunked || cl))
		return -1;
	if (upgrade)
		return 1; /* WebSocket, h2c: no longer HTTP/1.x after it */
	m->chunked = (uint8_t)te_chunked;
	m->body_left = te_chunked ? 0 : (uint32_t)cl;
	m->stage = te_chunked ? 2 : 1; /* 1: body by length, 2: chunk size */
	return 0;
}

/* Skips a body: by length, or chunk by chunk (stage 2: a size line, 3:
 * chunk data, 4: the CRLF after it, 5: trailer lines). Returns 1 when
 * the body is behind, 0 to wait, -1 if broken. */
static int http_body(struct appmsg *m, const uint8_t *b, uint32_t len,
		     uint32_t *o)
{
	for (;;) {
		uint32_t take, e;
		uint64_t v = 0;

		switch (m->stage) {
		case 1:
		case 3:
			take = len - *o < m->body_left ? len - *o
						       : m->body_left;
			*o += take;
			m->body_left -= take;
			if (m->body_left)
				return 0;
			if (m->stage == 1)
				return 1;
			m->stage = 4;
			break;
		case 2:
		case 4:
		case 5:
			for (e = *o; e < len && b[e] != '\n'; e++)
				;
			if (e == len)
				return len - *o > HTTP_MAX_LINE ? -1 : 0;
			if (m->stage == 4) {
				if (e - *o > 1 || (e > *o && b[*o] != '\r'))
					return -1;
				*o = e + 1;
				m->stage = 2;
				break;
			}
			if (m->stage == 5) {
				int empty = e == *o ||
					    (e == *o + 1 && b[*o] == '\r');

				*o = e + 1;
				if (empty)
					return 1;
				break;
			}
			{
				uint32_t j = *o, digits = 0;

				for (; j < e; j++, digits++) {
					uint8_t c = b[j];
					int d = c >= '0' && c <= '9' ? c - '0'
						: c >= 'a' && c <= 'f'
							? c - 'a' + 10
						: c >= 'A' && c <= 'F'
							? c - 'A' + 10
							: -1;

					if (d < 0)
						break;
					v = v * 16 + (uint64_t)d;
					if (v > 0xffffffffu)
						return -1;
				}
				if (!digits ||
				    (j < e && b[j] != ';' && b[j] != '\r'))
					return -1;
			}
			*o = e + 1;
			m->body_left = (uint32_t)v;
			m->stage = v ? 3 : 5;
			break;
		default:
			return 1;
		}
	}
}

static enum appmsg_status http_read(struct appmsg *m, const uint8_t *b,
				    uint32_t len, const struct appmsg_sink *k,
				    uint32_t *used, int *tunnel)
{
	uint32_t o = 0;

	*tunnel = 0;
	for (;;) {
		uint32_t he;
		int r;

		if (m->stage) {
			r = http_body(m, b, len, &o);
			*used = o;
			if (r < 0)
				return AM_UNREADABLE;
			if (r == 0)
				return AM_WAIT;
			m->stage = 0;
			m->msgs++;
		}
		if (o == len)
			return AM_IDLE;
		/* blank lines between requests are taken by servers */
		while (o < len && (b[o] == '\r' || b[o] == '\n'))
			o++;
		*used = o;
		if (o == len)
			return AM_IDLE;
		he = header_end(b + o, len - o);
		if (!he) {
			/* the request line's names now: the line is what
			 * a proxy acts on, and an HTTP/0.9 request is it */
			const uint8_t *lf = memchr(b + o, '\n', len - o);
			int r9;

			if (lf && !m->line) {
				uint32_t e = (uint32_t)(lf - (b + o));

				if (e > 0 && b[o + e - 1] == '\r')
					e--;
				r9 = request_line(b + o, e, k, 1, tunnel);
				*tunnel = 0;
				if (r9 < 0)
					return AM_UNREADABLE;
				m->line = 1;
				if (r9 == 1) {
					m->msgs++;
					return AM_FINAL;
				}
			}
			return len - o >= APPMSG_MAX ? AM_UNREADABLE : AM_WAIT;
		}
		r = http_head(m, b + o, he, k, tunnel);
		if (r < 0)
			return AM_UNREADABLE;
		o += he;
		*used = o;
		if (r == 1) {
			m->msgs++;
			return AM_FINAL;
		}
		if (*tunnel) {
			m->stage = 0;
			m->msgs++;
			return AM_IDLE;
		}
	}
}

/* --- DNS over TCP ---------------------------------------------------- */

/* The name at @o of message @b (@n bytes), compression pointers
 * followed (backwards or forwards, as dnsmasq does; a loop ends at 32
 * hops). Returns the offset after the name where it is written, or 0. */
static uint32_t dns_name(const uint8_t *b, uint32_t n, uint32_t o, char *out,
			 size_t outlen)
{
	uint32_t after = 0, w = 0, hops = 0;

	for (;;) {
		uint8_t l;

		if (o >= n)
			return 0;
		l = b[o];
		if ((l & 0xc0) == 0xc0) {
			uint32_t t;

			if (o + 1 >= n || ++hops > 32)
				return 0;
			t = (uint32_t)(l & 0x3f) << 8 | b[o + 1];
			if (!after)
				after = o + 2;
			if (t >= n)
				return 0;
			o = t;
			continue;
		}
		if (l & 0xc0)
			return 0;
		if (l == 0) {
			out[w] = '\0';
			return after ? after : o + 1;
		}
		if (o + 1 + l > n || w + l + 2 > outlen)
			return 0;
		if (w)
			out[w++] = '.';
		memcpy(out + w, b + o + 1, l);
		w += l;
		o += 1 + l;
	}
}

static enum appmsg_status dns_read(struct appmsg *m, const uint8_t *b,
				   uint32_t len, const struct appmsg_sink *k,
				   uint32_t *used)
{
	uint32_t o = 0;

	for (;;) {
		uint32_t l, q, qd, p;
		const uint8_t *d;

		*used = o;
		if (len - o < 2)
			return o == len ? AM_IDLE : AM_WAIT;
		l = rd16(b + o);
		if (len - o < 2 + l)
			return AM_WAIT;
		if (l < 12) {
			/* not a message: servers skip it, and read on */
			o += 2 + l;
			continue;
		}
		d = b + o + 2;
		qd = rd16(d + 4);
		for (q = 0, p = 12; q < qd && q < 32; q++) {
			char name[APPMSG_NAME_LEN];

			p = dns_name(d, l, p, name, sizeof(name));
			if (!p || p + 4 > l)
				return AM_UNREADABLE; /* a server may read it */
			emit(k, (const uint8_t *)name, strlen(name),
			     AM_NAME_DNS);
			p += 4;
		}
		o += 2 + l;
		m->msgs++;
	}
}

/* --- SOCKS ------------------------------------------------------------ */

static enum appmsg_status socks5_read(struct appmsg *m, const uint8_t *b,
				      uint32_t len, const struct appmsg_sink *k,
				      uint32_t *used, int *tunnel)
{
	uint32_t o = 0, need;

	*tunnel = 0;
	for (;;) {
		*used = o;
		switch (m->stage) {
		case 0: /* greeting: 05 N methods... */
			if (len - o < 2)
				return AM_WAIT;
			if (b[o] != 5 || b[o + 1] == 0)
				return AM_UNREADABLE;
			need = 2u + b[o + 1];
			if (len - o < need)
				return AM_WAIT;
			o += need;
			m->stage = 1;
			break;
		case 1: /* RFC 1929 user/password, or the request */
			if (len - o < 1)
				return AM_WAIT;
			if (b[o] == 1) {
				if (len - o < 2 || len - o < 3u + b[o + 1])
					return AM_WAIT;
				need = 3u + b[o + 1] + b[o + 2 + b[o + 1]];
				if (len - o < need)
					return AM_WAIT;
				o += need;
				m->stage = 2;
				break;
			}
			m->stage = 2;
			/* fall through */
		case 2: /* 05 CMD 00 ATYP ADDR PORT */
			if (len - o < 5)
				return AM_WAIT;
			if (b[o] != 5)
				return AM_UNREADABLE;
			switch (b[o + 3]) {
			case 1:
				need = 4 + 4 + 2;
				break;
			case 4:
				need = 4 + 16 + 2;
				break;
			case 3:
				need = 4 + 1 + b[o + 4] + 2u;
				break;
			default:
				return AM_UNREADABLE;
			}
			if (len - o < need)
				return AM_WAIT;
			if (b[o + 3] == 3)
				emit(k, b + o + 5, b[o + 4], AM_NAME_PROXY);
			o += need;
			*used = o;
			m->msgs++;
			*tunnel = 1;
			return AM_IDLE;
		default:
			return AM_FINAL;
		}
	}
}

/* 04 CMD PORT(2) IP(4) USERID NUL [HOST NUL when IP is 0.0.0.x, x != 0] */
static enum appmsg_status socks4_read(struct appmsg *m, const uint8_t *b,
				      uint32_t len, const struct appmsg_sink *k,
				      uint32_t *used, int *tunnel)
{
	const uint8_t *z, *h = NULL;
	uint32_t end;

	*tunnel = 0;
	if (len < 9)
		return AM_WAIT;
	z = memchr(b + 8, 0, len - 8);
	if (!z)
		return len > 8 + 256 ? AM_UNREADABLE : AM_WAIT;
	end = (uint32_t)(z - b) + 1;
	if (b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0) {
		h = b + end;
		z = memchr(h, 0, len - end);
		if (!z)
			return len - end > 256 ? AM_UNREADABLE : AM_WAIT;
		emit(k, h, (size_t)(z - h), AM_NAME_PROXY);
		end = (uint32_t)(z - b) + 1;
	}
	*used = end;
	m->msgs++;
	*tunnel = 1;
	return AM_IDLE;
}

/* --- STUN over TCP --------------------------------------------------- */

static int stun_head(const uint8_t *p)
{
	return (p[0] & 0xc0) == 0 && rd32(p + 4) == STUN_COOKIE &&
	       (rd16(p + 2) & 3) == 0;
}

static enum appmsg_status stun_read(struct appmsg *m, const uint8_t *b,
				    uint32_t len, const struct appmsg_sink *k,
				    uint32_t *used)
{
	uint32_t o = 0, f = m->proto == AM_STUN_FRAMED ? 2 : 0;

	for (;;) {
		uint32_t l;

		*used = o;
		if (len - o < f + 20)
			return o == len ? AM_IDLE : AM_WAIT;
		if (f && rd16(b + o) < 20)
			return AM_FINAL;
		if (!stun_head(b + o + f))
			return AM_FINAL; /* media or channel data from here */
		l = 20u + rd16(b + o + f + 2);
		if (f && rd16(b + o) != l)
			return AM_FINAL;
		if (len - o < f + l)
			return AM_WAIT;
		if (k->stun)
			k->stun(k->ctx, b + o + f, l);
		o += f + l;
		m->msgs++;
	}
}

/* --- the stream ------------------------------------------------------ */

/* HTTP: a method HTTP defines, or any method token whose request line
 * ends in an HTTP version (SMTP's EHLO, FTP's and POP3's USER are not). */
static uint8_t sniff_http(const uint8_t *b, uint32_t len)
{
	static const char *const methods[] = {
		"GET",	    "HEAD",	 "POST",   "PUT",    "DELETE",
		"CONNECT",  "OPTIONS",	 "TRACE",  "PATCH",  "PRI",
		"PROPFIND", "PROPPATCH", "MKCOL",  "COPY",   "MOVE",
		"LOCK",	    "UNLOCK",	 "REPORT", "SEARCH", "PURGE",
	};
	const uint8_t *lf;
	uint32_t i, e;

	for (i = 0; i < len && i < 24 && is_method(b[i]); i++)
		;
	if (i == 0 || i == 24)
		return AM_OTHER;
	if (i == len)
		return AM_NONE;
	if (!is_space(b[i]))
		return AM_OTHER;
	for (e = 0; e < sizeof(methods) / sizeof(methods[0]); e++)
		if (hdr_is(b, i, methods[e]))
			return AM_HTTP;
	lf = memchr(b, '\n', len);
	if (!lf)
		return len < HTTP_MAX_LINE ? AM_NONE : AM_OTHER;
	e = (uint32_t)(lf - b);
	if (e > 0 && b[e - 1] == '\r')
		e--;
	return e >= 9 && memcmp(b + e - 8, "HTTP/1.", 7) == 0 && b[e - 9] == ' '
		       ? AM_HTTP
		       : AM_OTHER;
}

/* What a stream's first bytes say it is; AM_NONE to wait for more. */
static uint8_t sniff(const uint8_t *b, uint32_t len, uint16_t dport)
{
	if (len == 0)
		return AM_NONE;
	if (dport == 53 || dport == 5353)
		return AM_DNS;
	if (b[0] == 0x16)
		return len < 2 ? AM_NONE : b[1] == 3 ? AM_TLS : AM_OTHER;
	if (b[0] == 5) {
		/* a SOCKS5 greeting: 1 to 9 methods, each a known one (DCE/RPC
		 * starts with 05 too) */
		uint32_t j;

		if (len < 2)
			return AM_NONE;
		if (b[1] == 0 || b[1] > 9)
			return AM_OTHER;
		if (len < 2u + b[1])
			return AM_NONE;
		for (j = 2; j < 2u + b[1]; j++)
			if (b[j] > 9 && (b[j] < 0x80 || b[j] == 0xff))
				return AM_OTHER;
		return AM_SOCKS5;
	}
	if (b[0] == 4)
		return len < 2			? AM_NONE
		       : b[1] == 1 || b[1] == 2 ? AM_SOCKS4
						: AM_OTHER;
	if ((b[0] & 0xc0) == 0 && len >= 8 && rd32(b + 4) == STUN_COOKIE)
		return AM_STUN;
	if (len >= 10 && rd16(b) >= 20 && (b[2] & 0xc0) == 0 &&
	    rd32(b + 6) == STUN_COOKIE)
		return AM_STUN_FRAMED;
	if (b[0] < 8 && len < 10)
		return AM_NONE; /* a STUN header may still come */
	return sniff_http(b, len);
}

enum appmsg_status appmsg_read(struct appmsg *m, const uint8_t *buf,
			       uint32_t len, uint16_t dport,
			       const struct appmsg_sink *k, uint32_t *used)
{
	uint32_t o = 0;

	*used = 0;
	for (;;) {
		enum appmsg_status st;
		uint32_t u = 0;
		int tunnel = 0;

		if (m->proto == AM_NONE) {
			m->proto = sniff(buf + o, len - o, dport);
			m->stage = 0;
			if (m->proto == AM_NONE) {
				m->status = o == len ? AM_IDLE : AM_WAIT;
				return (enum appmsg_status)m->status;
			}
		}
		switch (m->proto) {
		case AM_TLS:
			st = tls_read(m, buf + o, len - o, k, &u);
			break;
		case AM_HTTP:
			st = http_read(m, buf + o, len - o, k, &u, &tunnel);
			break;
		case AM_DNS:
			st = dns_read(m, buf + o, len - o, k, &u);
			break;
		case AM_SOCKS5:
			st = socks5_read(m, buf + o, len - o, k, &u, &tunnel);
			break;
		case AM_SOCKS4:
			st = socks4_read(m, buf + o, len - o, k, &u, &tunnel);
			break;
		case AM_STUN:
		case AM_STUN_FRAMED:
			st = stun_read(m, buf + o, len - o, k, &u);
			break;
		default:
			st = AM_FINAL;
			break;
		}
		o += u;
		*used = o;
		if (!tunnel || st != AM_IDLE) {
			if (st == AM_WAIT && len - o >= APPMSG_MAX)
				st = AM_UNREADABLE;
			m->status = (uint8_t)st;
			return st;
		}
		/* a proxy's tunnel: what follows is a stream of its own */
		if (++m->depth > MAX_DEPTH) {
			m->status = AM_UNREADABLE;
			return AM_UNREADABLE;
		}
		m->proto = AM_NONE;
		m->stage = 0;
		m->hellos = 0;
	}
}
