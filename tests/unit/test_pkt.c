/* Packet parsing: every header the gateway meets, and every way a header
 * can lie. */
#include <check.h>

#include "check_run.h"
#include <stdlib.h>
#include <string.h>

#include "core/pkt.h"
#include "payloads.h"

static uint8_t fr[4096];

static size_t tcp4(const char *sni)
{
	struct frame_spec s = { 4,
				"192.0.2.10",
				"203.0.113.10",
				6,
				40000,
				443,
				TCP_PSH | TCP_ACK,
				1,
				1,
				0 };
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), sni);

	return frame_build(fr, sizeof(fr), &s, p, n);
}

static size_t udp6(uint16_t vlan)
{
	struct frame_spec s = { 6,
				"2001:db8:a:f::10",
				"2001:db8:ff::20",
				17,
				40001,
				3478,
				0,
				0,
				0,
				vlan };
	uint8_t p[128];
	size_t n = payload_stun(p, sizeof(p), 0, 1, 1);

	return frame_build(fr, sizeof(fr), &s, p, n);
}

START_TEST(test_ipv4_tcp_fields)
{
	size_t n = tcp4("api.skype.com");
	struct pkt p;
	char a[PKT_ADDR_STRLEN];

	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, PKT_LINK_EN10MB, &p),
			 PKT_OK);
	ck_assert_int_eq(p.family, 4);
	ck_assert_int_eq(p.l4proto, 6);
	ck_assert_uint_eq(p.sport, 40000);
	ck_assert_uint_eq(p.dport, 443);
	ck_assert_uint_eq(p.tcp_flags, TCP_PSH | TCP_ACK);
	ck_assert_ptr_eq(p.l3, fr + 14);
	ck_assert_uint_eq(p.l3_len, n - 14);
	ck_assert_uint_eq(p.wire_len, n);
	ck_assert_uint_eq(p.l4_payload_len, n - 14 - 20 - 20);
	ck_assert(pkt_addr_is_v4(p.src));
	ck_assert_str_eq(pkt_addr_format(p.src, 0, a, sizeof(a)), "192.0.2.10");
	ck_assert_str_eq(pkt_addr_format(p.dst, 0, a, sizeof(a)),
			 "203.0.113.10");
	ck_assert_uint_eq(p.vlan, 0);
}
END_TEST

START_TEST(test_ipv6_udp_in_vlan)
{
	size_t n = udp6(1611);
	struct pkt p;
	char a[PKT_ADDR_STRLEN];

	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, PKT_LINK_EN10MB, &p),
			 PKT_OK);
	ck_assert_int_eq(p.family, 6);
	ck_assert_int_eq(p.l4proto, 17);
	ck_assert_uint_eq(p.vlan, 1611);
	ck_assert_uint_eq(p.dport, 3478);
	ck_assert(!pkt_addr_is_v4(p.src));
	ck_assert_str_eq(pkt_addr_format(p.src, 0, a, sizeof(a)),
			 "2001:db8:a:f::10");
	ck_assert_uint_eq(p.l4_payload_len, n - 18 - 40 - 8);
}
END_TEST

START_TEST(test_stacked_vlan_tags_inner_id_and_limit)
{
	uint8_t f[256];
	size_t n = udp6(0), i;
	struct pkt p;

	/* 802.1ad outer 100, 802.1Q inner 200 */
	memcpy(f, fr, 12);
	f[12] = 0x88;
	f[13] = 0xa8;
	f[14] = 0;
	f[15] = 100;
	f[16] = 0x81;
	f[17] = 0x00;
	f[18] = 0;
	f[19] = 200;
	memcpy(f + 20, fr + 12, n - 12);
	ck_assert_int_eq(
		pkt_parse_frame(f, (uint32_t)(n + 8), PKT_LINK_EN10MB, &p),
		PKT_OK);
	ck_assert_uint_eq(p.vlan, 200);
	/* more tags than anyone uses */
	for (i = 12; i < 12 + 4 * (PKT_MAX_VLAN_TAGS + 1); i += 4) {
		f[i] = 0x81;
		f[i + 1] = 0;
		f[i + 2] = 0;
		f[i + 3] = 1;
	}
	ck_assert_int_eq(pkt_parse_frame(f, 200, PKT_LINK_EN10MB, &p),
			 PKT_ERR_NOT_IP);
}
END_TEST

START_TEST(test_every_truncation_is_rejected_cleanly)
{
	size_t n = tcp4("api.skype.com"), len;
	struct pkt p;

	for (len = 0; len < n; len++) {
		enum pkt_status s =
			pkt_parse_frame(fr, (uint32_t)len, PKT_LINK_EN10MB, &p);

		ck_assert_msg(s == PKT_ERR_TRUNCATED, "len %zu: %s", len,
			      pkt_status_name(s));
	}
	n = udp6(7);
	for (len = 0; len < n; len++)
		ck_assert_int_ne(
			pkt_parse_frame(fr, (uint32_t)len, PKT_LINK_EN10MB, &p),
			PKT_OK);
}
END_TEST

START_TEST(test_ipv4_header_lies)
{
	size_t n;
	struct pkt p;

	n = tcp4("x.example");
	fr[14] = 0x44; /* IHL 16 bytes */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_BAD_IP);
	n = tcp4("x.example");
	fr[16] = 0;
	fr[17] = 10; /* total length below the header */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_BAD_IP);
	n = tcp4("x.example");
	fr[16] = 0xff; /* total length beyond the capture */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_TRUNCATED);
	n = tcp4("x.example");
	fr[14] = 0x75; /* version 7 */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_BAD_IP);
	n = tcp4("x.example");
	fr[46] = 0x30; /* TCP data offset 12 bytes */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_BAD_L4);
	n = tcp4("x.example");
	fr[46] = 0xf0; /* TCP data offset 60 bytes, segment of 40 */
	fr[16] = 0;
	fr[17] = 60; /* IP total: 20 + 40 */
	ck_assert_int_eq(pkt_parse_frame(fr, 14 + 60, 1, &p), PKT_ERR_BAD_L4);
}
END_TEST

START_TEST(test_fragments_first_kept_rest_refused)
{
	size_t n = tcp4("x.example");
	struct pkt p;

	fr[20] = 0x20;
	fr[21] = 0; /* MF, offset 0 */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p), PKT_OK);
	ck_assert_int_eq(p.first_fragment, 1);
	ck_assert_uint_eq(p.dport, 443);
	fr[20] = 0x00;
	fr[21] = 0xb9; /* offset 185*8 */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_FRAGMENT);
}
END_TEST

/* Builds IPv6 + @hops extension headers of type @type + UDP. */
static size_t ipv6_ext(uint8_t type, unsigned hops, uint8_t last_next)
{
	size_t n = udp6(0), l4 = n - 54, k;

	memmove(fr + 54 + 8 * hops, fr + 54, l4);
	for (k = 0; k < hops; k++) {
		uint8_t *e = fr + 54 + 8 * k;

		memset(e, 0, 8);
		e[0] = k + 1 < hops ? type : last_next;
	}
	fr[20] = type;
	fr[18] = (uint8_t)((l4 + 8 * hops) >> 8);
	fr[19] = (uint8_t)(l4 + 8 * hops);
	return n + 8 * hops;
}

START_TEST(test_ipv6_extension_headers)
{
	struct pkt p;
	size_t n;

	n = ipv6_ext(0, 1, 17); /* hop-by-hop, then UDP */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p), PKT_OK);
	ck_assert_int_eq(p.l4proto, 17);
	ck_assert_uint_eq(p.dport, 3478);
	n = ipv6_ext(60, PKT_MAX_EXT_HEADERS, 17);
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p), PKT_OK);
	n = ipv6_ext(60, PKT_MAX_EXT_HEADERS + 1, 17); /* a chain too long */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_EXT_HEADERS);
	n = ipv6_ext(0, 1, 0); /* hop-by-hop pointing at hop-by-hop */
	fr[54] = 0;
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_EXT_HEADERS);
	n = ipv6_ext(0, 1, 17);
	fr[55] = 0xff; /* length past the packet */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_EXT_HEADERS);
	n = ipv6_ext(44, 1, 17); /* first fragment */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p), PKT_OK);
	n = ipv6_ext(44, 1, 17);
	fr[56] = 0x01; /* offset 32: not first */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_FRAGMENT);
	n = ipv6_ext(60, 1, 59); /* no next header */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_EXT_HEADERS);
	n = udp6(0);
	fr[18] = fr[19] = 0; /* jumbogram */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_BAD_IP);
}
END_TEST

START_TEST(test_ip_in_ip_classifies_inner_and_limits_depth)
{
	uint8_t f[4096];
	size_t n = tcp4("api.skype.com"), inner = n - 14, d;
	struct pkt p;
	char a[PKT_ADDR_STRLEN];

	/* outer IPv4 (proto 4) around the inner packet, once, twice, thrice */
	for (d = 1; d <= 3; d++) {
		size_t k, len = inner + 20 * d;

		memcpy(f, fr, 14);
		memcpy(f + 14 + 20 * d, fr + 14, inner);
		for (k = 0; k < d; k++) {
			uint8_t *h = f + 14 + 20 * k;
			size_t tot = len - 20 * k;

			memset(h, 0, 20);
			h[0] = 0x45;
			h[2] = (uint8_t)(tot >> 8);
			h[3] = (uint8_t)tot;
			h[9] = 4;
			h[12] = 198;
			h[13] = 51;
			h[14] = 100;
			h[15] = (uint8_t)k;
			h[16] = 198;
			h[17] = 51;
			h[18] = 100;
			h[19] = 99;
		}
		if (d <= PKT_MAX_TUNNEL_DEPTH) {
			ck_assert_int_eq(
				pkt_parse_frame(f, (uint32_t)(14 + len), 1, &p),
				PKT_OK);
			ck_assert_str_eq(
				pkt_addr_format(p.src, 0, a, sizeof(a)),
				"192.0.2.10");
			ck_assert_ptr_eq(p.l3, f + 14 + 20 * d);
		} else {
			ck_assert_int_eq(
				pkt_parse_frame(f, (uint32_t)(14 + len), 1, &p),
				PKT_ERR_TUNNEL_DEPTH);
		}
	}
}
END_TEST

START_TEST(test_other_link_types)
{
	uint8_t f[4096];
	size_t n = tcp4("x.example"), ip = n - 14;
	struct pkt p;

	ck_assert_int_eq(
		pkt_parse_frame(fr + 14, (uint32_t)ip, PKT_LINK_RAW, &p),
		PKT_OK);
	ck_assert_int_eq(pkt_parse_ip(fr + 14, (uint32_t)ip, 0, &p), PKT_OK);
	ck_assert_uint_eq(p.dport, 443);
	memset(f, 0, 16);
	f[14] = 0x08; /* Linux cooked, IPv4 */
	memcpy(f + 16, fr + 14, ip);
	ck_assert_int_eq(
		pkt_parse_frame(f, (uint32_t)(ip + 16), PKT_LINK_LINUX_SLL, &p),
		PKT_OK);
	f[0] = 2;
	f[1] = f[2] = f[3] = 0; /* BSD loopback AF_INET */
	memcpy(f + 4, fr + 14, ip);
	ck_assert_int_eq(
		pkt_parse_frame(f, (uint32_t)(ip + 4), PKT_LINK_NULL, &p),
		PKT_OK);
	ck_assert_int_eq(pkt_parse_frame(f, (uint32_t)(ip + 4), 147, &p),
			 PKT_ERR_LINKTYPE);
	fr[12] = 0x08;
	fr[13] = 0x06; /* ARP */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p),
			 PKT_ERR_NOT_IP);
}
END_TEST

START_TEST(test_icmp_has_no_ports)
{
	size_t n = tcp4("x.example");
	struct pkt p;

	fr[23] = 1; /* ICMP */
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, 1, &p), PKT_OK);
	ck_assert_uint_eq(p.sport, 0);
	ck_assert_uint_eq(p.dport, 0);
	ck_assert_int_eq(p.l4proto, 1);
}
END_TEST

START_TEST(test_address_text_matches_ndpireader)
{
	uint8_t a[16] = { 0x26, 0x00, 0x19, 0x00, 0x41, 0x60, 0x59, 0x99,
			  0,	0,    0,    0x19, 0,	0,    0,    0 };
	char s[PKT_ADDR_STRLEN];

	ck_assert_str_eq(pkt_addr_format(a, 0, s, sizeof(s)),
			 "2600:1900:4160:5999:0:19::");
	ck_assert_str_eq(pkt_addr_format(a, 1, s, sizeof(s)),
			 "2600:1900:4160:5999::19::");
	ck_assert_str_eq(pkt_status_name(PKT_ERR_FRAGMENT),
			 "non-first-fragment");
	ck_assert_str_eq(pkt_status_name((enum pkt_status)99), "invalid");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pkt");
	TCase *c = tcase_create("parse");

	tcase_add_test(c, test_ipv4_tcp_fields);
	tcase_add_test(c, test_ipv6_udp_in_vlan);
	tcase_add_test(c, test_stacked_vlan_tags_inner_id_and_limit);
	tcase_add_test(c, test_every_truncation_is_rejected_cleanly);
	tcase_add_test(c, test_ipv4_header_lies);
	tcase_add_test(c, test_fragments_first_kept_rest_refused);
	tcase_add_test(c, test_ipv6_extension_headers);
	tcase_add_test(c, test_ip_in_ip_classifies_inner_and_limits_depth);
	tcase_add_test(c, test_other_link_types);
	tcase_add_test(c, test_icmp_has_no_ports);
	tcase_add_test(c, test_address_text_matches_ndpireader);
	suite_add_tcase(s, c);
	return check_run(s);
}
