#include "payloads.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

size_t payload_tls_client_hello(uint8_t *out, size_t cap, const char *sni)
{
	static const uint8_t ciphers[] = { 0x13, 0x01, 0x13, 0x02, 0xc0,
					   0x2f, 0xc0, 0x30, 0x00, 0x9c };
	static const uint8_t tail_ext[] = {
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, /* groups */
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,		/* ec formats */
		0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* sig algs */
		0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x03,	/* versions */
	};
	size_t sl = strlen(sni), n = 0, ext_start, body_start;
	unsigned i;

	if (sl > 200 || cap < 120 + sl + sizeof(tail_ext))
		return 0;
	out[n++] = 0x16; /* handshake record */
	out[n++] = 0x03;
	out[n++] = 0x01;
	n += 2;		 /* record length */
	out[n++] = 0x01; /* ClientHello */
	n += 3;		 /* handshake length */
	body_start = n;
	out[n++] = 0x03;
	out[n++] = 0x03;
	for (i = 0; i < 32; i++)
		out[n++] = (uint8_t)(i * 7 + 1);
	out[n++] = 0; /* session id */
	put16(out + n, sizeof(ciphers));
	n += 2;
	memcpy(out + n, ciphers, sizeof(ciphers));
	n += sizeof(ciphers);
	out[n++] = 1;
	out[n++] = 0; /* null compression */
	n += 2;	      /* extensions length */
	ext_start = n;
	put16(out + n, 0x0000); /* server_name */
	put16(out + n + 2, (uint16_t)(sl + 5));
	put16(out + n + 4, (uint16_t)(sl + 3));
	out[n + 6] = 0;
	put16(out + n + 7, (uint16_t)sl);
	memcpy(out + n + 9, sni, sl);
	n += 9 + sl;
	memcpy(out + n, tail_ext, sizeof(tail_ext));
	n += sizeof(tail_ext);
	put16(out + ext_start - 2, (uint16_t)(n - ext_start));
	put24(out + body_start - 3, (uint32_t)(n - body_start));
	put16(out + 3, (uint16_t)(n - 5));
	return n;
}

size_t payload_stun(uint8_t *out, size_t cap, int response, int skype,
		    uint32_t txid_seed)
{
	size_t n = 20;
	unsigned i;

	if (cap < 48)
		return 0;
	put16(out, response ? 0x0101 : 0x0001);
	put32(out + 4, 0x2112a442); /* magic cookie */
	for (i = 0; i < 12; i++)
		out[8 + i] = (uint8_t)(txid_seed >> (i % 4 * 8)) ^ (uint8_t)i;
	if (skype) {
		put16(out + n, 0x8070); /* implementation version */
		put16(out + n + 2, 4);
		put32(out + n + 4, 2);
		n += 8;
	}
	put16(out + n, 0x8022); /* SOFTWARE-like vendor attribute */
	put16(out + n + 2, 4);
	memcpy(out + n + 4, "test", 4);
	n += 8;
	put16(out + 2, (uint16_t)(n - 20));
	return n;
}

size_t payload_dns_query(uint8_t *out, size_t cap, const char *name,
			 uint16_t id)
{
	size_t n = 12;
	const char *p = name;

	if (cap < strlen(name) + 18)
		return 0;
	memset(out, 0, 12);
	put16(out, id);
	put16(out + 2, 0x0100); /* recursion desired */
	put16(out + 4, 1);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63)
			return 0;
		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	put16(out + n, 1);     /* A */
	put16(out + n + 2, 1); /* IN */
	return n + 4;
}

size_t payload_http_get(uint8_t *out, size_t cap, const char *host)
{
	int n = snprintf((char *)out, cap,
			 "GET /index.html HTTP/1.1\r\nHost: %s\r\n"
			 "User-Agent: skyfence-test/1\r\nAccept: */*\r\n\r\n",
			 host);

	return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

size_t payload_rtp(uint8_t *out, size_t cap, uint8_t pt, int marker,
		   uint16_t seq, uint32_t ts, uint32_t ssrc, size_t plen)
{
	uint32_t x = ssrc ^ ((uint32_t)seq << 16) ^ 0x9e3779b9u;
	size_t i;

	if (cap < 12 || plen > cap - 12)
		return 0;
	out[0] = 0x80;
	out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	put16(out + 2, seq);
	put32(out + 4, ts);
	put32(out + 8, ssrc);
	for (i = 0; i < plen; i++) {
		/* xorshift: ciphertext-like bytes */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[12 + i] = (uint8_t)x;
	}
	return 12 + plen;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t frame_build(uint8_t *out, size_t cap, const struct frame_spec *s,
		   const uint8_t *payload, size_t plen)
{
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 2 };
	size_t off = 12, ipoff, l4off, l4len, hl = s->proto == 6 ? 20 : 8;
	uint8_t src[16], dst[16];
	uint32_t sum;
	int alen = s->family == 6 ? 16 : 4;

	if (inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->src, src) != 1 ||
	    inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->dst, dst) != 1)
		return 0;
	if (cap < 14 + 4 + 40 + hl + plen)
		return 0;
	memcpy(out, mac_b, 6);
	memcpy(out + 6, mac_a, 6);
	if (s->vlan) {
		put16(out + off, 0x8100);
		put16(out + off + 2, s->vlan);
		off += 4;
	}
	put16(out + off, s->family == 6 ? 0x86dd : 0x0800);
	ipoff = off + 2;
	l4off = ipoff + (s->family == 6 ? 40 : 20);
	l4len = hl + plen;
	if (s->family == 6) {
		memset(out + ipoff, 0, 40);
		out[ipoff] = 0x60;
		put16(out + ipoff + 4, (uint16_t)l4len);
		out[ipoff + 6] = s->proto;
		out[ipoff + 7] = 64;
		memcpy(out + ipoff + 8, src, 16);
		memcpy(out + ipoff + 24, dst, 16);
	} else {
		memset(out + ipoff, 0, 20);
		out[ipoff] = 0x45;
		put16(out + ipoff + 2, (uint16_t)(20 + l4len));
		put16(out + ipoff + 6, 0x4000); /* DF */
		out[ipoff + 8] = 64;
		out[ipoff + 9] = s->proto;
		memcpy(out + ipoff + 12, src, 4);
		memcpy(out + ipoff + 16, dst, 4);
		put16(out + ipoff + 10,
		      csum_fold(csum_add(0, out + ipoff, 20)));
	}
	memset(out + l4off, 0, hl);
	put16(out + l4off, s->sport);
	put16(out + l4off + 2, s->dport);
	if (s->proto == 6) {
		put32(out + l4off + 4, s->seq);
		put32(out + l4off + 8, s->ack);
		out[l4off + 12] = 5 << 4;
		out[l4off + 13] = s->tcp_flags;
		put16(out + l4off + 14, 65535);
	} else {
		put16(out + l4off + 4, (uint16_t)l4len);
	}
	if (plen)
		memcpy(out + l4off + hl, payload, plen);
	/* pseudo-header checksum */
	sum = csum_add(0, src, (size_t)alen);
	sum = csum_add(sum, dst, (size_t)alen);
	sum += s->proto;
	sum += (uint32_t)l4len;
	sum = csum_add(sum, out + l4off, l4len);
	put16(out + l4off + (s->proto == 6 ? 16 : 6), csum_fold(sum));
	return l4off + l4len;
}
