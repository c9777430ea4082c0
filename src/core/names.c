/* names.c - names exactly as the packet carried them (names.h). */
#include "core/names.h"

#include <string.h>

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int put_name(const uint8_t *s, size_t n, char *out, size_t outlen)
{
	if (n == 0 || n >= outlen || memchr(s, '\0', n))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return (int)n;
}

int names_tls_sni(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t o, end, ext_end;

	/* record: handshake (22), then the handshake: client_hello (1) */
	if (n < 5 + 4 + 2 + 32 + 1 || p[0] != 22 || p[5] != 1)
		return -1;
	end = 5 + (size_t)be16(p + 3);
	if (end > n)
		end = n; /* a ClientHello split over segments: what is here */
	o = 5 + 4 + 2 + 32;
	o += 1 + (size_t)p[o]; /* session id */
	if (o + 2 > end)
		return -1;
	o += 2 + (size_t)be16(p + o); /* cipher suites */
	if (o + 1 > end)
		return -1;
	o += 1 + (size_t)p[o]; /* compression methods */
	if (o + 2 > end)
		return -1;
	ext_end = o + 2 + (size_t)be16(p + o);
	o += 2;
	if (ext_end > end)
		ext_end = end;
	while (o + 4 <= ext_end) {
		unsigned type = be16(p + o);
		size_t len = be16(p + o + 2);

		o += 4;
		if (o + len > ext_end)
			return -1;
		if (type == 0) {
			/* server_name_list, then host_name (0), length, name */
			if (len < 5 || p[o + 2] != 0)
				return -1;
			if ((size_t)be16(p + o + 3) + 5 > len)
				return -1;
			return put_name(p + o + 5, be16(p + o + 3), out,
					outlen);
		}
		o += len;
	}
	return -1;
}

int names_dns_qname(const uint8_t *p, size_t n, int tcp, char *out,
		    size_t outlen)
{
	size_t o, w = 0;

	if (tcp) {
		if (n < 2)
			return -1;
		p += 2;
		n -= 2;
	}
	/* a query (QR clear) with one question or more */
	if (n < 12 || (p[2] & 0x80) || be16(p + 4) == 0)
		return -1;
	for (o = 12; o < n && p[o]; o += 1 + p[o]) {
		size_t l = p[o];

		if (l > 63 || o + 1 + l > n || w + l + 1 >= outlen)
			return -1; /* a pointer, or cut short */
		if (w)
			out[w++] = '.';
		if (memchr(p + o + 1, '\0', l))
			return -1;
		memcpy(out + w, p + o + 1, l);
		w += l;
	}
	if (o >= n || w == 0)
		return -1;
	out[w] = '\0';
	return (int)w;
}

static int dns_valid(unsigned char c)
{
	/* nDPI 4.2's dns_validchar: letters, digits, '-', '_', '.' */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int names_ndpi_spelling(const char *exact, const char *ndpi)
{
	size_t i;

	if (strlen(exact) != strlen(ndpi))
		return 0;
	for (i = 0; exact[i]; i++) {
		unsigned char c = (unsigned char)exact[i];
		char low = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);

		if (ndpi[i] == low)
			continue;
		if (ndpi[i] == '?' && (c < 0x20 || c >= 0x7f))
			continue;
		if (ndpi[i] == '_' && c >= 0x20 && c < 0x7f && !dns_valid(c))
			continue;
		return 0;
	}
	return 1;
}
