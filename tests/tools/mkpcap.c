/* sf-mkpcap: writes captures for tests and the demo.
 *
 *   sf-mkpcap demo FILE     synthetic traffic of the example policy's hosts:
 *                           Skype TLS and STUN, other TLS, HTTP, DNS
 *   sf-mkpcap broken DIR    deliberately broken captures (truncated files,
 *                           lying length fields, zero-length and jumbo
 *                           packets, IPv6 extension-header chains, ...)
 *   sf-mkpcap detect FILE   what detection beyond nDPI 4.2 is tested on
 *                           (tests/captures/detect.sh): HSRPv2 hellos,
 *                           look-alike and real Skype names over TLS,
 *                           HTTP and DNS, STUN to a documentation
 *                           "relay" prefix, a flow idle for 700 s
 *   sf-mkpcap merge OUT COPIES IN...
 *                           Ethernet captures (pcap or pcapng) one after the
 *                           other, COPIES times, as one pcap; copy k has the
 *                           second byte of every IPv4 address (third of
 *                           IPv6) XORed with k, so its flows are new flows
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "payloads.h"

#define SNAPLEN 262144u

struct pw {
	FILE *f;
	uint64_t t_us;
};

static void put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

static void put_le16(FILE *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, f);
}

static int pw_open(struct pw *w, const char *path, uint32_t linktype)
{
	w->f = fopen(path, "wb");
	if (!w->f) {
		fprintf(stderr, "sf-mkpcap: %s: %s\n", path, strerror(errno));
		return -1;
	}
	w->t_us = 1700000000ull * 1000000; /* Nov 2023 */
	put_le32(w->f, 0xa1b2c3d4);
	put_le16(w->f, 2);
	put_le16(w->f, 4);
	put_le32(w->f, 0);
	put_le32(w->f, 0);
	put_le32(w->f, SNAPLEN);
	put_le32(w->f, linktype);
	return 0;
}

/* A record whose header may lie: @caplen is written as given, @n bytes of
 * @data follow. */
static void pw_raw(struct pw *w, const uint8_t *data, uint32_t n,
		   uint32_t caplen, uint32_t len)
{
	w->t_us += 1000;
	put_le32(w->f, (uint32_t)(w->t_us / 1000000));
	put_le32(w->f, (uint32_t)(w->t_us % 1000000));
	put_le32(w->f, caplen);
	put_le32(w->f, len);
	if (n)
		fwrite(data, 1, n, w->f);
}

static void pw_frame(struct pw *w, const uint8_t *data, size_t n)
{
	pw_raw(w, data, (uint32_t)n, (uint32_t)n, (uint32_t)n);
}

static int pw_close(struct pw *w)
{
	return fclose(w->f) == 0 ? 0 : -1;
}

static void emit(struct pw *w, struct frame_spec *s, const uint8_t *p, size_t n)
{
	uint8_t fr[4096];
	size_t len = frame_build(fr, sizeof(fr), s, p, n);

	if (len)
		pw_frame(w, fr, len);
}

/* Handshake, one request, one reply, close. */
static void tcp_session(struct pw *w, int fam, const char *cli, uint16_t cport,
			const char *srv, uint16_t sport, const uint8_t *req,
			size_t reqlen, const uint8_t *resp, size_t resplen)
{
	struct frame_spec c = { fam,   cli,	srv,  6, cport,
				sport, TCP_SYN, 1000, 0, 0 };
	struct frame_spec s = {
		fam, srv, cli, 6, sport, cport, TCP_SYN | TCP_ACK, 5000, 1001, 0
	};

	emit(w, &c, NULL, 0);
	emit(w, &s, NULL, 0);
	c.tcp_flags = TCP_ACK;
	c.seq = 1001;
	c.ack = 5001;
	emit(w, &c, NULL, 0);
	c.tcp_flags = TCP_PSH | TCP_ACK;
	emit(w, &c, req, reqlen);
	c.seq += (uint32_t)reqlen;
	s.tcp_flags = TCP_PSH | TCP_ACK;
	s.seq = 5001;
	s.ack = c.seq;
	emit(w, &s, resp, resplen);
	s.seq += (uint32_t)resplen;
	c.tcp_flags = TCP_FIN | TCP_ACK;
	c.ack = s.seq;
	emit(w, &c, NULL, 0);
	s.tcp_flags = TCP_FIN | TCP_ACK;
	s.ack = c.seq + 1;
	emit(w, &s, NULL, 0);
	c.tcp_flags = TCP_ACK;
	c.seq++;
	c.ack = s.seq + 1;
	emit(w, &c, NULL, 0);
}

static void udp_exchange(struct pw *w, int fam, const char *cli, uint16_t cport,
			 const char *srv, uint16_t sport, const uint8_t *req,
			 size_t reqlen, const uint8_t *resp, size_t resplen,
			 int rounds)
{
	struct frame_spec c = { fam, cli, srv, 17, cport, sport, 0, 0, 0, 0 };
	struct frame_spec s = { fam, srv, cli, 17, sport, cport, 0, 0, 0, 0 };
	int i;

	for (i = 0; i < rounds; i++) {
		emit(w, &c, req, reqlen);
		if (resplen)
			emit(w, &s, resp, resplen);
	}
}

static const uint8_t http_ok[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

/* One host's mix: Skype over TLS and STUN, and traffic that is not Skype. */
static void host_traffic(struct pw *w, int fam, const char *host,
			 const char *server, const char *stun_server,
			 const char *dns_server, uint16_t base_port)
{
	uint8_t p[1024], q[1024];
	size_t n, m;

	n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	tcp_session(w, fam, host, base_port, server, 443, p, n, NULL, 0);
	n = payload_stun(p, sizeof(p), 0, 1, 0x1234u + base_port);
	m = payload_stun(q, sizeof(q), 1, 1, 0x1234u + base_port);
	udp_exchange(w, fam, host, (uint16_t)(base_port + 1), stun_server, 3478,
		     p, n, q, m, 3);
	n = payload_tls_client_hello(p, sizeof(p), "www.example.org");
	tcp_session(w, fam, host, (uint16_t)(base_port + 2), server, 443, p, n,
		    NULL, 0);
	n = payload_http_get(p, sizeof(p), "www.example.org");
	tcp_session(w, fam, host, (uint16_t)(base_port + 3), server, 80, p, n,
		    http_ok, sizeof(http_ok) - 1);
	n = payload_dns_query(p, sizeof(p), "www.example.org", base_port);
	udp_exchange(w, fam, host, (uint16_t)(base_port + 4), dns_server, 53, p,
		     n, NULL, 0, 1);
}

static int write_demo(const char *path)
{
	uint8_t p[1024];
	struct pw w;
	size_t n;

	if (pw_open(&w, path, 1) != 0)
		return 1;
	/* finance, sales, engineering, a host in no department */
	host_traffic(&w, 4, "192.0.2.10", "203.0.113.10", "203.0.113.20",
		     "203.0.113.53", 40000);
	host_traffic(&w, 4, "192.0.2.70", "203.0.113.10", "203.0.113.20",
		     "203.0.113.53", 41000);
	host_traffic(&w, 4, "192.0.2.130", "203.0.113.10", "203.0.113.20",
		     "203.0.113.53", 42000);
	host_traffic(&w, 4, "192.0.2.250", "203.0.113.10", "203.0.113.20",
		     "203.0.113.53", 43000);
	/* IPv6: finance and engineering */
	host_traffic(&w, 6, "2001:db8:a:f::10", "2001:db8:ff::10",
		     "2001:db8:ff::20", "2001:db8:ff::53", 44000);
	host_traffic(&w, 6, "2001:db8:a:e::10", "2001:db8:ff::10",
		     "2001:db8:ff::20", "2001:db8:ff::53", 45000);
	/* An outside host opens a Skype session to engineering (relay). */
	n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	tcp_session(&w, 4, "203.0.113.99", 50000, "192.0.2.130", 443, p, n,
		    NULL, 0);
	return pw_close(&w) == 0 ? 0 : 1;
}

/* ---- detection ---- */

/* An HSRPv2 hello (RFC-less; Cisco's format): a Group State TLV (type 1,
 * length 40, version 2, opcode hello, state active, IPv4, group @group,
 * the router's identifier, priority, hello and hold times, the virtual
 * address). nDPI 4.2's Skype heuristic takes version 2 at byte 2 for its
 * "payload flag" and the same bytes 7-10 in two hellos for its CRC. */
static size_t hsrp2_hello(uint8_t *p, uint16_t group)
{
	static const uint8_t id[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

	memset(p, 0, 42);
	p[0] = 1;
	p[1] = 40;
	p[2] = 2;
	p[3] = 0;
	p[4] = 6;
	p[5] = 4;
	p[6] = (uint8_t)(group >> 8);
	p[7] = (uint8_t)group;
	memcpy(p + 8, id, 6);
	p[17] = 100; /* priority */
	p[20] = 0x0b;
	p[21] = 0xb8; /* hello 3000 ms */
	p[24] = 0x27;
	p[25] = 0x10; /* hold 10000 ms */
	p[26] = 192;
	p[27] = 0;
	p[28] = 2;
	p[29] = 1; /* virtual address 192.0.2.1 */
	return 42;
}

static void names_traffic(struct pw *w, int fam, const char *cli,
			  const char *srv, const char *dns, uint16_t port,
			  const char *name)
{
	uint8_t p[1024];
	size_t n;

	n = payload_tls_client_hello(p, sizeof(p), name);
	tcp_session(w, fam, cli, port, srv, 443, p, n, NULL, 0);
	n = payload_http_get(p, sizeof(p), name);
	tcp_session(w, fam, cli, (uint16_t)(port + 1), srv, 80, p, n, http_ok,
		    sizeof(http_ok) - 1);
	n = payload_dns_query(p, sizeof(p), name, port);
	udp_exchange(w, fam, cli, (uint16_t)(port + 2), dns, 53, p, n, NULL, 0,
		     1);
}

static int write_detect(const char *path)
{
	static const char *const names[] = {
		/* look-alikes: a pattern inside an unrelated domain */
		"example.skype.org.evil.com",
		"login.skypeassets.example.net",
		"skype-calling-missedcallsregistrar-x.example.com",
		/* real: the pattern in the registered domain, or a full name */
		"api.skype.com",
		"a.config.skype.trafficmanager.net",
		"pipe.prd.skypedata.akadns.net",
		"teams.microsoft.com",
		/* Teams free: a name nDPI 4.2 does not know */
		"teams.live.com",
	};
	uint8_t p[1024], q[1024];
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.7", 17, 40999, 53, 0, 0, 0, 0
	};
	struct pw w;
	size_t n, m;
	unsigned i;

	if (pw_open(&w, path, 1) != 0)
		return 1;
	/* six hellos of one standby group from one router */
	for (i = 0; i < 6; i++) {
		struct frame_spec h = { 4,  "192.0.2.2", "224.0.0.102",
					17, 1985,	 1985,
					0,  0,		 0,
					0 };

		n = hsrp2_hello(p, 10);
		emit(&w, &h, p, n);
		w.t_us += 3000000;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		names_traffic(&w, 4, "192.0.2.10", "203.0.113.10",
			      "203.0.113.53", (uint16_t)(46000 + 10 * i),
			      names[i]);
		names_traffic(&w, 6, "2001:db8:a:f::10", "2001:db8:ff::10",
			      "2001:db8:ff::53", (uint16_t)(47000 + 10 * i),
			      names[i]);
	}
	/* plain STUN (no Skype attribute) on 3478 to a "relay" prefix */
	n = payload_stun(p, sizeof(p), 0, 0, 0x77);
	m = payload_stun(q, sizeof(q), 1, 0, 0x77);
	udp_exchange(&w, 4, "192.0.2.10", 48000, "203.0.113.200", 3478, p, n, q,
		     m, 3);
	udp_exchange(&w, 6, "2001:db8:a:f::10", 48001, "2001:db8:ff:7::200",
		     3478, p, n, q, m, 3);
	/* one UDP flow with 700 s of silence in the middle */
	n = payload_dns_query(p, sizeof(p), "www.example.org", 7);
	emit(&w, &c, p, n);
	w.t_us += 700ull * 1000000;
	emit(&w, &c, p, n);
	return pw_close(&w) == 0 ? 0 : 1;
}

/* ---- broken captures ---- */

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A valid TCP or UDP frame to break. */
static size_t good_frame(uint8_t *fr, size_t cap, int fam, int udp)
{
	struct frame_spec s = { fam,
				fam == 6 ? "2001:db8:a:f::10" : "192.0.2.10",
				fam == 6 ? "2001:db8:ff::10" : "203.0.113.10",
				(uint8_t)(udp ? 17 : 6),
				40000,
				udp ? 3478 : 443,
				TCP_PSH | TCP_ACK,
				1,
				1,
				0 };
	uint8_t p[600];
	size_t n =
		udp ? payload_stun(p, sizeof(p), 0, 1, 7)
		    : payload_tls_client_hello(p, sizeof(p), "api.skype.com");

	return frame_build(fr, cap, &s, p, n);
}

static int write_file(const char *dir, const char *name, const void *data,
		      size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		fprintf(stderr, "sf-mkpcap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int open_in(struct pw *w, const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pw_open(w, path, 1);
}

static int write_broken(const char *dir)
{
	static uint8_t big[SNAPLEN + 16];
	uint8_t fr[4096], *ip;
	struct pw w;
	size_t n, i;
	char path[4096];
	FILE *f;
	long sz;
	int rc = 0;

	/* a valid capture cut in the middle of its last record */
	snprintf(path, sizeof(path), "%s/truncated.pcap", dir);
	if (write_demo(path) != 0)
		return 1;
	f = fopen(path, "r+b");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 100 ||
	    ftruncate(fileno(f), sz - 37) != 0 || fclose(f) != 0)
		return 1;

	/* records whose headers lie */
	if (open_in(&w, dir, "caplen_lies.pcap") != 0)
		return 1;
	n = good_frame(fr, sizeof(fr), 4, 0);
	pw_raw(&w, fr, (uint32_t)n, (uint32_t)n, (uint32_t)n * 2); /* snapped */
	pw_raw(&w, fr, 60, 60, (uint32_t)n); /* cut inside the payload */
	pw_raw(&w, fr, 30, 30, (uint32_t)n); /* cut inside the IP header */
	pw_raw(&w, fr, (uint32_t)n, SNAPLEN + 1000,
	       (uint32_t)n); /* > snaplen */
	rc |= pw_close(&w);

	if (open_in(&w, dir, "zero_length.pcap") != 0)
		return 1;
	pw_raw(&w, NULL, 0, 0, 0);
	pw_raw(&w, fr, 1, 1, 1);
	pw_raw(&w, fr, 13, 13, 13);
	pw_raw(&w, fr, 14, 14, 14); /* Ethernet header, nothing else */
	pw_raw(&w, fr, 15, 15, 15);
	pw_raw(&w, fr, 34, 34, 34); /* IPv4 header, no L4 */
	rc |= pw_close(&w);

	/* jumbo: a 262144-byte frame, IPv4 claiming 65535, IPv6 jumbogram */
	if (open_in(&w, dir, "jumbo.pcap") != 0)
		return 1;
	memset(big, 0xa5, sizeof(big));
	n = good_frame(big, sizeof(big), 4, 1);
	ip = big + 14;
	ip[2] = 0xff;
	ip[3] = 0xff;
	pw_raw(&w, big, SNAPLEN, SNAPLEN, SNAPLEN);
	pw_raw(&w, big, 65535 + 14, 65535 + 14, 65535 + 14);
	n = good_frame(big, sizeof(big), 6, 0);
	ip[4] = ip[5] = 0; /* payload length 0: jumbogram */
	pw_raw(&w, big, 70000, 70000, 70000);
	n = good_frame(big, sizeof(big), 6, 1);
	ip[4] = ip[5] = 0xff; /* 65535 bytes of payload */
	pw_raw(&w, big, 65535 + 54, 65535 + 54, 65535 + 54);
	rc |= pw_close(&w);

	/* IP and transport headers whose fields lie */
	if (open_in(&w, dir, "ip_lies.pcap") != 0)
		return 1;
	{
		static const struct {
			int fam, udp, off;
			uint8_t val;
		} lies[] = {
			{ 4, 0, 14, 0x44 }, /* IHL 4 < 5 */
			{ 4, 0, 14, 0x4f }, /* IHL 15 > total */
			{ 4, 0, 16, 0x00 }, /* total length < IHL */
			{ 4, 0, 17, 0x02 },
			{ 4, 0, 16, 0x7f }, /* total > captured */
			{ 4, 0, 14, 0x55 }, /* version 5 */
			{ 4, 0, 46, 0x10 }, /* TCP doff 1 */
			{ 4, 0, 46, 0xf0 }, /* TCP doff 15 */
			{ 4, 1, 38, 0xff }, /* UDP length > packet */
			{ 4, 0, 20, 0x20 }, /* first fragment (MF) */
			{ 4, 0, 21, 0x10 }, /* non-first fragment */
			{ 4, 0, 23, 0x04 }, /* protocol 4: IP in IP */
			{ 4, 0, 23, 0x29 }, /* protocol 41: IPv6 in IP */
			{ 6, 0, 18, 0x7f }, /* payload length > captured */
			{ 6, 0, 20, 0x2c }, /* next header: fragment */
			{ 6, 0, 20, 0x3b }, /* no next header */
			{ 6, 0, 20, 0x29 }, /* IPv6 in IPv6 */
			{ 6, 0, 14, 0x40 }, /* IPv6 frame, version 4 */
		};

		for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			n = good_frame(fr, sizeof(fr), lies[i].fam,
				       lies[i].udp);
			fr[lies[i].off] = lies[i].val;
			pw_frame(&w, fr, n);
		}
		/* a UDP packet of 4 bytes of L4 */
		n = good_frame(fr, sizeof(fr), 4, 1);
		fr[16] = 0;
		fr[17] = 24;
		pw_frame(&w, fr, 38);
	}
	rc |= pw_close(&w);

	/* IPv6 extension headers: a long chain, a self-referencing chain, a
	 * length past the end */
	if (open_in(&w, dir, "ext_headers.pcap") != 0)
		return 1;
	{
		int hops;

		for (hops = 1; hops <= 40; hops += 13) {
			uint8_t *e;
			int k;

			memset(fr, 0, sizeof(fr));
			n = good_frame(fr, sizeof(fr), 6, 1);
			memmove(fr + 54 + 8 * hops, fr + 54, n - 54);
			for (k = 0; k < hops; k++) {
				e = fr + 54 + 8 * k;
				e[0] = k + 1 < hops ? (k % 2 ? 0 : 60) : 17;
				e[1] = 0;
				memset(e + 2, 1, 6);
			}
			fr[20] = 0; /* first: hop-by-hop */
			fr[18] = (uint8_t)((n - 54 + 8 * (size_t)hops) >> 8);
			fr[19] = (uint8_t)(n - 54 + 8 * (size_t)hops);
			pw_frame(&w, fr, n + 8 * (size_t)hops);
		}
		n = good_frame(fr, sizeof(fr), 6, 1);
		fr[20] = 0; /* hop-by-hop ... */
		fr[54] = 0; /* ... whose next is hop-by-hop, forever */
		fr[55] = 0;
		pw_frame(&w, fr, n);
		fr[55] = 0xff; /* 2 KiB extension header */
		pw_frame(&w, fr, n);
	}
	rc |= pw_close(&w);

	/* link layer: deep VLAN stacks, MPLS without bottom, short PPPoE */
	if (open_in(&w, dir, "link_lies.pcap") != 0)
		return 1;
	{
		uint8_t l[128];

		memset(l, 0, sizeof(l));
		for (i = 12; i + 4 <= 64; i += 4) {
			l[i] = 0x81;
			l[i + 1] = 0x00;
		}
		pw_frame(&w, l, 64);
		memset(l, 0, sizeof(l));
		l[12] = 0x88;
		l[13] = 0x47; /* MPLS, no bottom-of-stack bit */
		pw_frame(&w, l, 64);
		l[13] = 0x64;
		l[12] = 0x88; /* PPPoE, cut */
		pw_frame(&w, l, 18);
		l[12] = 0x05;
		l[13] = 0xdc; /* 802.3 length, LLC/SNAP, cut */
		l[14] = l[15] = 0xaa;
		pw_frame(&w, l, 20);
	}
	rc |= pw_close(&w);

	/* random frames, and valid frames with random bytes changed */
	if (open_in(&w, dir, "random.pcap") != 0)
		return 1;
	for (i = 0; i < 3000; i++) {
		size_t k, len;

		if (i % 2) {
			len = 14 + rnd() % 300;
			for (k = 0; k < len; k++)
				fr[k] = (uint8_t)rnd();
			fr[12] = i % 4 == 1 ? 0x08 : 0x86;
			fr[13] = i % 4 == 1 ? 0x00 : 0xdd;
			fr[14] = (uint8_t)((i % 4 == 1 ? 0x40 : 0x60) |
					   (fr[14] & 0x0f));
		} else {
			len = good_frame(fr, sizeof(fr), (i / 2) % 2 ? 6 : 4,
					 (i / 4) % 2);
			for (k = 0; k < 1 + rnd() % 6; k++)
				fr[14 + rnd() % (len - 14)] = (uint8_t)rnd();
			if (rnd() % 4 == 0)
				len = 14 + rnd() % (len - 14);
		}
		pw_frame(&w, fr, len);
	}
	rc |= pw_close(&w);

	/* not captures at all */
	rc |= write_file(dir, "empty.pcap", "", 0);
	rc |= write_file(dir, "text.pcap", "this is not a capture\n", 22);
	{
		/* pcapng section header whose block length lies */
		static const uint8_t ng[] = { 0x0a, 0x0d, 0x0d, 0x0a,
					      0xff, 0xff, 0xff, 0x7f,
					      0x4d, 0x3c, 0x2b, 0x1a,
					      0x01, 0x00, 0x00, 0x00 };

		rc |= write_file(dir, "bad_block.pcapng", ng, sizeof(ng));
	}
	return rc ? 1 : 0;
}

/* Makes copy @k's addresses distinct: IPv4 second byte, IPv6 third byte. */
static void shift_addresses(u_char *f, uint32_t caplen, unsigned k)
{
	uint32_t off = 14;

	if (caplen >= 18 && f[12] == 0x81 && f[13] == 0x00)
		off = 18;
	if (caplen < off + 1)
		return;
	if ((f[off] >> 4) == 4 && caplen >= off + 20) {
		f[off + 13] ^= (uint8_t)k;
		f[off + 17] ^= (uint8_t)k;
	} else if ((f[off] >> 4) == 6 && caplen >= off + 40) {
		f[off + 10] ^= (uint8_t)k;
		f[off + 26] ^= (uint8_t)k;
	}
}

static int merge(const char *out, unsigned copies, char **in, int n)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, out) : NULL;
	struct timeval base = { 1700000000, 0 };
	static u_char buf[SNAPLEN];
	unsigned k;
	int i;

	if (!d) {
		fprintf(stderr, "sf-mkpcap: %s: %s\n", out,
			dead ? pcap_geterr(dead) : "pcap_open_dead failed");
		return 1;
	}
	for (k = 0; k < copies; k++) {
		for (i = 0; i < n; i++) {
			pcap_t *p = pcap_open_offline(in[i], err);
			struct pcap_pkthdr *h;
			const u_char *data;
			struct timeval first = { 0, 0 }, last = base;

			if (!p) {
				fprintf(stderr, "sf-mkpcap: %s\n", err);
				continue;
			}
			if (pcap_datalink(p) != DLT_EN10MB) {
				pcap_close(p);
				continue;
			}
			while (pcap_next_ex(p, &h, &data) == 1) {
				struct pcap_pkthdr nh = *h;
				long long us;

				if (h->caplen > SNAPLEN)
					continue;
				if (!first.tv_sec)
					first = h->ts;
				us = ((long long)h->ts.tv_sec - first.tv_sec) *
					     1000000 +
				     (h->ts.tv_usec - first.tv_usec);
				if (us < 0)
					us = 0;
				nh.ts.tv_sec =
					base.tv_sec + (time_t)(us / 1000000);
				nh.ts.tv_usec = base.tv_usec +
						(suseconds_t)(us % 1000000);
				if (nh.ts.tv_usec >= 1000000) {
					nh.ts.tv_sec++;
					nh.ts.tv_usec -= 1000000;
				}
				memcpy(buf, data, h->caplen);
				shift_addresses(buf, h->caplen, k);
				pcap_dump((u_char *)d, &nh, buf);
				last = nh.ts;
			}
			pcap_close(p);
			base.tv_sec = last.tv_sec + 1;
			base.tv_usec = 0;
		}
	}
	pcap_dump_close(d);
	pcap_close(dead);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "merge") == 0)
		return merge(argv[2], (unsigned)atoi(argv[3]), argv + 4,
			     argc - 4);
	if (argc == 3 && strcmp(argv[1], "demo") == 0)
		return write_demo(argv[2]);
	if (argc == 3 && strcmp(argv[1], "broken") == 0)
		return write_broken(argv[2]);
	if (argc == 3 && strcmp(argv[1], "detect") == 0)
		return write_detect(argv[2]);
	fprintf(stderr,
		"usage: sf-mkpcap demo FILE | detect FILE | broken DIR | merge OUT COPIES IN...\n");
	return 2;
}
