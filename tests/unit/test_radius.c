/* RADIUS accounting on the wire (identity/radius.c) and the clients file
 * (identity/clients.c): radclient's own datagrams are taken with every
 * field; the authenticators are RFC 2866's, checked against digests
 * computed apart from the codec (Python's hashlib, and libcrypto called
 * here); a datagram cut, flipped, mis-framed or under another secret is
 * never taken; the clients file is taken only as a secret's file, and
 * the most specific prefix gives the secret. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check_run.h"
#include "identity/clients.h"
#include "identity/radius.h"

#define SECRET ((const uint8_t *)"testing123")
#define SECRET_LEN 10

/* `radclient -x -f start.txt 127.0.0.1:18131 acct testing123`
 * (FreeRADIUS 3.2.1) caught by a UDP socket: User-Name
 * "alice@corp.example", Acct-Status-Type Start, Acct-Session-Id
 * "5f3a00c1-0001", Calling-Station-Id "AA-BB-CC-DD-EE-FF:corp-wifi",
 * NAS-Identifier "ap-3rd-floor", Framed-IP-Address 192.0.2.10,
 * Framed-IPv6-Prefix 2001:db8:a:1::/64 (all 16 bytes, as FreeRADIUS
 * sends it), Class "finance", Filter-Id "staff", Event-Timestamp
 * 1700000000, Acct-Interim-Interval 600 */
static const uint8_t radclient_start[] = {
	0x04, 0xe5, 0x00, 0x9e, 0x27, 0x60, 0x4d, 0x09, 0x3a, 0x55, 0x42, 0xe3,
	0xa7, 0x51, 0x3e, 0xd3, 0xa5, 0x9e, 0xd1, 0x11, 0x01, 0x14, 0x61, 0x6c,
	0x69, 0x63, 0x65, 0x40, 0x63, 0x6f, 0x72, 0x70, 0x2e, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x28, 0x06, 0x00, 0x00, 0x00, 0x01, 0x2c, 0x0f,
	0x35, 0x66, 0x33, 0x61, 0x30, 0x30, 0x63, 0x31, 0x2d, 0x30, 0x30, 0x30,
	0x31, 0x1f, 0x1d, 0x41, 0x41, 0x2d, 0x42, 0x42, 0x2d, 0x43, 0x43, 0x2d,
	0x44, 0x44, 0x2d, 0x45, 0x45, 0x2d, 0x46, 0x46, 0x3a, 0x63, 0x6f, 0x72,
	0x70, 0x2d, 0x77, 0x69, 0x66, 0x69, 0x20, 0x0e, 0x61, 0x70, 0x2d, 0x33,
	0x72, 0x64, 0x2d, 0x66, 0x6c, 0x6f, 0x6f, 0x72, 0x08, 0x06, 0xc0, 0x00,
	0x02, 0x0a, 0x61, 0x14, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x09,
	0x66, 0x69, 0x6e, 0x61, 0x6e, 0x63, 0x65, 0x0b, 0x07, 0x73, 0x74, 0x61,
	0x66, 0x66, 0x37, 0x06, 0x65, 0x53, 0xf1, 0x00, 0x55, 0x06, 0x00, 0x00,
	0x02, 0x58,
};

/* the same, stop.txt: User-Name "bob", Acct-Status-Type Stop,
 * Acct-Session-Id "5f3a00c1-0002", Calling-Station-Id "0011.2233.4455",
 * Framed-IPv6-Address 2001:db8:a::70, Class 0x0102ff00 (binary),
 * Message-Authenticator = 0x00 (radclient computes it); the
 * Message-Authenticator is at offset 88 */
static const uint8_t radclient_stop[] = {
	0x04, 0xd9, 0x00, 0x68, 0xe4, 0x1b, 0x9f, 0x30, 0x43, 0xad, 0x32, 0x0e,
	0x3d, 0xe6, 0x21, 0x9b, 0xb9, 0x44, 0xad, 0xe7, 0x01, 0x05, 0x62, 0x6f,
	0x62, 0x28, 0x06, 0x00, 0x00, 0x00, 0x02, 0x2c, 0x0f, 0x35, 0x66, 0x33,
	0x61, 0x30, 0x30, 0x63, 0x31, 0x2d, 0x30, 0x30, 0x30, 0x32, 0x1f, 0x10,
	0x30, 0x30, 0x31, 0x31, 0x2e, 0x32, 0x32, 0x33, 0x33, 0x2e, 0x34, 0x34,
	0x35, 0x35, 0xa8, 0x12, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x70, 0x19, 0x06, 0x01, 0x02,
	0xff, 0x00, 0x50, 0x12, 0xb0, 0xd5, 0x16, 0x81, 0xa1, 0x72, 0x3f, 0xaf,
	0x37, 0x4c, 0xc2, 0x7b, 0x67, 0x39, 0xd2, 0x49,
};
#define STOP_MA 88

static uint8_t buf[RADIUS_MAX_LEN + 64];

/* ---- digests computed here, apart from the codec ---- */

static void md5(const void *a, size_t alen, const void *b, size_t blen,
		uint8_t out[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert(EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1);
	ck_assert(EVP_DigestUpdate(c, a, alen) == 1);
	ck_assert(EVP_DigestUpdate(c, b, blen) == 1);
	ck_assert(EVP_DigestFinal_ex(c, out, &n) == 1);
	ck_assert_uint_eq(n, 16);
	EVP_MD_CTX_free(c);
}

/* sets Length to @len and the Request Authenticator RFC 2866 gives (no
 * Message-Authenticator is recomputed) */
static void sign(uint8_t *p, size_t len)
{
	uint8_t tmp[RADIUS_MAX_LEN + 64];

	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(tmp, p, len);
	memset(tmp + 4, 0, 16);
	md5(tmp, len, SECRET, SECRET_LEN, p + 4);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int parse(const uint8_t *p, size_t len, struct radius_acct *a)
{
	return radius_parse_acct(p, len, SECRET, SECRET_LEN, a);
}

static const uint32_t start_status = 0x01000000; /* network order */

/* a Start with @extra (@n bytes of whole attributes) after the status */
static size_t start_with(const void *extra, size_t n)
{
	memset(buf, 0, 20);
	buf[0] = RADIUS_ACCOUNTING_REQUEST;
	buf[1] = 7;
	memcpy(buf + 20, "\x28\x06\x00\x00\x00\x01", 6);
	memcpy(buf + 26, extra, n);
	sign(buf, 26 + n);
	return 26 + n;
}

/* ---- RADIUS accounting ---- */

START_TEST(test_radclient_start_is_taken_with_every_field)
{
	static const uint8_t pfx[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 0, 1 };
	struct radius_acct a;

	ck_assert_int_eq(parse(radclient_start, sizeof(radclient_start), &a),
			 RADIUS_OK);
	ck_assert_uint_eq(a.id, 0xe5);
	ck_assert_mem_eq(a.authenticator, radclient_start + 4, 16);
	ck_assert_uint_eq(a.status, RADIUS_START);
	ck_assert_str_eq(a.user, "alice@corp.example");
	ck_assert_str_eq(a.session, "5f3a00c1-0001");
	ck_assert_str_eq(a.mac, "aa:bb:cc:dd:ee:ff");
	ck_assert_str_eq(a.nas, "ap-3rd-floor");
	ck_assert_int_eq(a.has_event_ts, 1);
	ck_assert_uint_eq(a.event_ts, 1700000000);
	ck_assert_int_eq(a.has_ip4, 1);
	ck_assert_mem_eq(a.ip4, "\xc0\x00\x02\x0a", 4);
	ck_assert_int_eq(a.has_ip6, 0);
	ck_assert_int_eq(a.has_prefix6, 1);
	ck_assert_uint_eq(a.prefix6_len, 64);
	ck_assert_mem_eq(a.prefix6, pfx, 16);
	ck_assert_uint_eq(a.n_class, 1);
	ck_assert_str_eq(a.class_[0], "finance");
	ck_assert_uint_eq(a.n_filter, 1);
	ck_assert_str_eq(a.filter[0], "staff");
	ck_assert_uint_eq(a.skipped_class, 0);
	ck_assert_uint_eq(a.dropped_groups, 0);
	ck_assert_uint_eq(a.interim_interval, 600);
}
END_TEST

#define GRUPPEN "CN=Sales,OU=Gr\xc3\xbcppen" /* UTF-8 */

START_TEST(test_start_built_here_is_taken_with_every_field)
{
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d,	 0xb8,
					 0,    0x0a, [15] = 0x70 };
	static const uint8_t pfx[] = { 0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a };
	const uint32_t ts = htonl(1700000123), ii = htonl(300);
	const struct radius_attr at[] = {
		{ RADIUS_ACCT_STATUS_TYPE, &start_status, 4 },
		{ RADIUS_USER_NAME, "carol", 5 },
		{ RADIUS_ACCT_SESSION_ID, "sess-9", 6 },
		{ RADIUS_CALLING_STATION_ID, "00:1A:2b:3C:4d:5E", 17 },
		{ RADIUS_NAS_IDENTIFIER, "vpn1", 4 },
		{ RADIUS_EVENT_TIMESTAMP, &ts, 4 },
		{ RADIUS_FRAMED_IP_ADDRESS, "\x0a\x01\x02\x03", 4 },
		{ RADIUS_FRAMED_IPV6_ADDRESS, ip6, 16 },
		{ RADIUS_FRAMED_IPV6_PREFIX, pfx, sizeof(pfx) },
		{ RADIUS_CLASS, "finance", 7 },
		{ RADIUS_CLASS, GRUPPEN, sizeof(GRUPPEN) - 1 },
		{ RADIUS_FILTER_ID, "staff", 5 },
		{ RADIUS_FILTER_ID, "vpn users", 9 },
		{ RADIUS_ACCT_INTERIM_INTERVAL, &ii, 4 },
		{ 26, "\x00\x00\x00\x09\x01\x04xy", 8 }, /* a VSA, skipped */
		{ RADIUS_MESSAGE_AUTHENTICATOR, NULL, 16 },
	};
	struct radius_acct a;
	size_t n;

	n = radius_build_acct(200, at, sizeof(at) / sizeof(at[0]), SECRET,
			      SECRET_LEN, buf, sizeof(buf));
	ck_assert_uint_gt(n, 20);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.id, 200);
	ck_assert_uint_eq(a.status, RADIUS_START);
	ck_assert_str_eq(a.user, "carol");
	ck_assert_str_eq(a.session, "sess-9");
	ck_assert_str_eq(a.mac, "00:1a:2b:3c:4d:5e");
	ck_assert_str_eq(a.nas, "vpn1");
	ck_assert_int_eq(a.has_event_ts, 1);
	ck_assert_uint_eq(a.event_ts, 1700000123);
	ck_assert_int_eq(a.has_ip4, 1);
	ck_assert_mem_eq(a.ip4, "\x0a\x01\x02\x03", 4);
	ck_assert_int_eq(a.has_ip6, 1);
	ck_assert_mem_eq(a.ip6, ip6, 16);
	ck_assert_int_eq(a.has_prefix6, 1);
	ck_assert_uint_eq(a.prefix6_len, 48);
	ck_assert_mem_eq(a.prefix6,
			 "\x20\x01\x0d\xb8\x00\x0a\0\0\0\0\0\0\0\0\0\0", 16);
	ck_assert_uint_eq(a.n_class, 2);
	ck_assert_str_eq(a.class_[0], "finance");
	ck_assert_str_eq(a.class_[1], GRUPPEN);
	ck_assert_uint_eq(a.n_filter, 2);
	ck_assert_str_eq(a.filter[0], "staff");
	ck_assert_str_eq(a.filter[1], "vpn users");
	ck_assert_uint_eq(a.interim_interval, 300);
	ck_assert_uint_eq(a.skipped_class, 0);
	ck_assert_uint_eq(a.dropped_groups, 0);
}
END_TEST

/* python3 -c 'import hashlib; print(hashlib.md5(bytes([4,42,0,37]) +
 *   bytes(16) + bytes([40,6,0,0,0,1, 1,7]) + b"alice" + bytes([44,4]) +
 *   b"s1" + b"testing123").hexdigest())' */
START_TEST(test_request_authenticator_is_rfc2866_md5_over_zeros_and_secret)
{
	const struct radius_attr at[] = {
		{ RADIUS_ACCT_STATUS_TYPE, &start_status, 4 },
		{ RADIUS_USER_NAME, "alice", 5 },
		{ RADIUS_ACCT_SESSION_ID, "s1", 2 },
	};
	uint8_t want[16], copy[64];
	char h[33];
	size_t n;

	n = radius_build_acct(42, at, 3, SECRET, SECRET_LEN, buf, sizeof(buf));
	ck_assert_uint_eq(n, 37);
	ck_assert_mem_eq(buf, "\x04\x2a\x00\x25", 4);
	ck_assert_mem_eq(buf + 20,
			 "\x28\x06\0\0\0\x01\x01\x07"
			 "alice\x2c\x04s1",
			 17);
	hex(buf + 4, 16, h);
	ck_assert_str_eq(h, "694cd563bfbe9900cb87bb8549c4c87f");
	/* and libcrypto called here agrees, on radclient's datagrams too */
	memcpy(copy, buf, n);
	memset(copy + 4, 0, 16);
	md5(copy, n, SECRET, SECRET_LEN, want);
	ck_assert_mem_eq(buf + 4, want, 16);
	memcpy(buf, radclient_start, sizeof(radclient_start));
	sign(buf, sizeof(radclient_start));
	ck_assert_mem_eq(buf, radclient_start, sizeof(radclient_start));
	memcpy(buf, radclient_stop, sizeof(radclient_stop));
	sign(buf, sizeof(radclient_stop));
	ck_assert_mem_eq(buf, radclient_stop, sizeof(radclient_stop));
}
END_TEST

START_TEST(test_request_under_another_secret_is_refused_as_bad_authenticator)
{
	struct radius_acct a;

	ck_assert_int_eq(
		radius_parse_acct(radclient_start, sizeof(radclient_start),
				  (const uint8_t *)"testing124", 10, &a),
		RADIUS_ERR_AUTH);
	ck_assert_int_eq(radius_parse_acct(radclient_start,
					   sizeof(radclient_start), SECRET, 9,
					   &a),
			 RADIUS_ERR_AUTH);
	ck_assert_int_eq(
		radius_parse_acct(radclient_stop, sizeof(radclient_stop),
				  (const uint8_t *)"Testing123", 10, &a),
		RADIUS_ERR_AUTH);
}
END_TEST

START_TEST(test_a_flipped_bit_anywhere_is_never_taken)
{
	struct radius_acct a;
	size_t i;
	unsigned b;

	for (i = 0; i < sizeof(radclient_stop); i++) {
		for (b = 0; b < 8; b++) {
			memcpy(buf, radclient_stop, sizeof(radclient_stop));
			buf[i] ^= (uint8_t)(1u << b);
			ck_assert_msg(parse(buf, sizeof(radclient_stop), &a) !=
					      RADIUS_OK,
				      "byte %zu bit %u", i, b);
		}
	}
}
END_TEST

/* cut as it came: Length no longer fits (SHORT); cut and signed again
 * with Length set: taken exactly where an attribute ends (once the
 * status is in), malformed elsewhere */
START_TEST(test_request_cut_short_anywhere_is_never_taken_as_it_came)
{
	static const size_t ends[] = { 20,  40,	 46,  61,  90,	104,
				       110, 130, 139, 146, 152, 158 };
	struct radius_acct a;
	size_t i, k;

	for (i = 0; i < sizeof(radclient_start); i++) {
		int boundary = 0, rc;

		memcpy(buf, radclient_start, i);
		ck_assert_int_eq(parse(buf, i, &a), RADIUS_ERR_SHORT);
		if (i < 20)
			continue;
		for (k = 0; k < sizeof(ends) / sizeof(ends[0]); k++)
			boundary |= ends[k] == i;
		sign(buf, i);
		rc = parse(buf, i, &a);
		if (!boundary)
			ck_assert_msg(rc == RADIUS_ERR_ATTR, "cut at %zu: %d",
				      i, rc);
		else
			ck_assert_msg(
				rc == (i < 46 ? RADIUS_ERR_STATUS : RADIUS_OK),
				"cut at %zu: %d", i, rc);
	}
}
END_TEST

START_TEST(test_length_field_past_the_datagram_is_short_and_after_it_padding)
{
	struct radius_acct a;
	size_t n = sizeof(radclient_start);

	memcpy(buf, radclient_start, n);
	/* Length one more than the datagram */
	buf[3]++;
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_SHORT);
	/* below the header, above 4096 */
	buf[2] = 0;
	buf[3] = 19;
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_SHORT);
	memset(buf + n, 0, sizeof(buf) - n);
	buf[2] = 0x10;
	buf[3] = 0x01;
	ck_assert_int_eq(parse(buf, 4097, &a), RADIUS_ERR_SHORT);
	/* bytes after Length: padding, ignored (RFC 2865 section 3) */
	memcpy(buf, radclient_start, n);
	memset(buf + n, 0xee, 40);
	ck_assert_int_eq(parse(buf, n + 40, &a), RADIUS_OK);
	ck_assert_uint_eq(a.interim_interval, 600);
	/* Length shorter than the datagram, the rest not signed */
	sign(buf, 46);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.user, "alice@corp.example");
	ck_assert_str_eq(a.session, "");
	/* a Length that cuts an attribute: malformed */
	sign(buf, 47);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
}
END_TEST

START_TEST(test_attribute_length_0_1_or_past_the_end_is_malformed)
{
	struct radius_acct a;
	size_t n;

	n = start_with("\x01\x00", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x01\x01", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x01\x05xy", 4);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x01\xff", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	/* a lone type byte at the end */
	n = start_with("\x01\x03x\x1f", 4);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	/* even one nothing reads */
	n = start_with("\xf0\x01", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	/* length 2: an empty value, well-formed */
	n = start_with("\x01\x02", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.user, "");
}
END_TEST

START_TEST(test_access_request_is_not_accounting)
{
	struct radius_acct a;
	uint8_t c;

	memcpy(buf, radclient_start, sizeof(radclient_start));
	for (c = 0; c < 255; c++) {
		if (c == RADIUS_ACCOUNTING_REQUEST)
			continue;
		buf[0] = c;
		sign(buf, sizeof(radclient_start));
		ck_assert_int_eq(parse(buf, sizeof(radclient_start), &a),
				 RADIUS_ERR_CODE);
	}
	/* even a bare header */
	buf[0] = 1;
	ck_assert_int_eq(parse(buf, 20, &a), RADIUS_ERR_CODE);
}
END_TEST

START_TEST(test_ipv6_prefix_longer_than_128_bits_or_its_bytes_is_malformed)
{
	struct radius_acct a;
	uint8_t at[20] = { RADIUS_FRAMED_IPV6_PREFIX, 20, 0, 129 };
	size_t n;

	memset(at + 4, 0xff, 16);
	n = start_with(at, 20);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	at[3] = 128;
	n = start_with(at, 20);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.prefix6_len, 128);
	/* /65 needs 9 bytes */
	at[1] = 12;
	at[3] = 65;
	n = start_with(at, 12);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	at[1] = 13;
	n = start_with(at, 13);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	/* more than 16 prefix bytes, no reserved byte nor length */
	n = start_with("\x61\x15\x00\x40"
		       "0123456789abcdefg",
		       21);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x61\x03\x00", 3);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	/* ::/0: the reserved byte and length alone */
	n = start_with("\x61\x04\x00\x00", 4);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_int_eq(a.has_prefix6, 1);
	ck_assert_uint_eq(a.prefix6_len, 0);
}
END_TEST

START_TEST(test_ipv6_prefix_host_bits_are_zeroed)
{
	static const uint8_t want[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 0, 1
	};
	uint8_t at[20] = { RADIUS_FRAMED_IPV6_PREFIX,
			   20,
			   0,
			   64,
			   0x20,
			   0x01,
			   0x0d,
			   0xb8,
			   0,
			   0x0a,
			   0,
			   1 };
	struct radius_acct a;
	size_t n;

	memset(at + 12, 0xff, 8);
	n = start_with(at, 20);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.prefix6_len, 64);
	ck_assert_mem_eq(a.prefix6, want, 16);
	/* /61: the last 3 bits of the 8th byte go */
	at[1] = 12;
	at[3] = 61;
	at[11] = 0xff;
	n = start_with(at, 12);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.prefix6_len, 61);
	ck_assert_mem_eq(a.prefix6, "\x20\x01\x0d\xb8\x00\x0a\x00\xf8", 8);
	ck_assert_mem_eq(a.prefix6 + 8, "\0\0\0\0\0\0\0\0", 8);
}
END_TEST

START_TEST(test_binary_class_is_skipped_and_counted)
{
	static const char *const binary[] = {
		"\x01\x02\xff\x00",
		"ab\x01",
		"a\x7f",
		"\xc3",
		"\xc0\xaf",
		"\xed\xa0\x80",
		"\xc2\x85",
		"\xf4\x90\x80\x80",
	};
	struct radius_acct a;
	uint8_t at[16];
	size_t i, n, len;

	/* radclient's, beside a Message-Authenticator */
	ck_assert_int_eq(parse(radclient_stop, sizeof(radclient_stop), &a),
			 RADIUS_OK);
	ck_assert_uint_eq(a.n_class, 0);
	ck_assert_uint_eq(a.skipped_class, 1);
	for (i = 0; i < sizeof(binary) / sizeof(binary[0]); i++) {
		len = i == 0 ? 4 : strlen(binary[i]);
		at[0] = RADIUS_CLASS;
		at[1] = (uint8_t)(2 + len);
		memcpy(at + 2, binary[i], len);
		memcpy(at + 2 + len, "\x19\x04ok", 4);
		n = start_with(at, 6 + len);
		ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
		ck_assert_msg(a.skipped_class == 1, "value %zu", i);
		ck_assert_uint_eq(a.n_class, 1);
		ck_assert_str_eq(a.class_[0], "ok");
	}
	/* an empty Class: ignored, not counted */
	n = start_with("\x19\x02", 2);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.n_class + a.skipped_class, 0);
}
END_TEST

START_TEST(test_groups_past_eight_of_a_kind_are_dropped_and_counted)
{
	struct radius_attr at[1 + 9 + 10];
	char names[19][8];
	struct radius_acct a;
	unsigned i, k = 0;
	size_t n;

	at[k++] = (struct radius_attr){ RADIUS_ACCT_STATUS_TYPE, &start_status,
					4 };
	for (i = 0; i < 19; i++) {
		snprintf(names[i], sizeof(names[i]), "g%u", i);
		at[k++] = (struct radius_attr){ i < 9 ? RADIUS_CLASS
						      : RADIUS_FILTER_ID,
						names[i],
						(uint8_t)strlen(names[i]) };
	}
	n = radius_build_acct(1, at, k, SECRET, SECRET_LEN, buf, sizeof(buf));
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(a.n_class, RADIUS_MAX_GROUPS);
	ck_assert_uint_eq(a.n_filter, RADIUS_MAX_GROUPS);
	ck_assert_str_eq(a.class_[0], "g0");
	ck_assert_str_eq(a.class_[7], "g7");
	ck_assert_str_eq(a.filter[0], "g9");
	ck_assert_str_eq(a.filter[7], "g16");
	ck_assert_uint_eq(a.dropped_groups, 1 + 2);
	ck_assert_uint_eq(a.skipped_class, 0);
}
END_TEST

static const struct mac_case {
	const char *in;
	const char *out; /* NULL: refused */
} macs[] = {
	{ "aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff" },
	{ "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff" },
	{ "aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff" },
	{ "AABBCCDDEEFF", "aa:bb:cc:dd:ee:ff" },
	{ "AA-BB-CC-DD-EE-FF:corp-wifi", "aa:bb:cc:dd:ee:ff" },
	{ "00:11:22:33:44:55:guest", "00:11:22:33:44:55" },
	{ "0011.2233.4455:x", "00:11:22:33:44:55" },
	{ "001122334455:", "00:11:22:33:44:55" },
	{ "aa:bb:cc:dd:ee:f", NULL },
	{ "aa:bb-cc:dd:ee:ff", NULL },
	{ "aa:bb:cc:dd:ee:ff0", NULL },
	{ "aa:bb:cc:dd:ee:ffx", NULL },
	{ "aabb.ccdd.eef", NULL },
	{ "aabbccddeef", NULL },
	{ "aabbccddeeff00", NULL },
	{ "gg:bb:cc:dd:ee:ff", NULL },
	{ "a:b:c:d:e:f", NULL },
	{ "+441234567890", NULL },
	{ "192.0.2.10", NULL },
	{ "", NULL },
};

START_TEST(test_calling_station_mac_formats_are_normalised)
{
	const struct mac_case *m = &macs[_i];
	char out[18] = "junk";
	int rc = radius_mac_normalise(m->in, strlen(m->in), out);

	if (m->out) {
		ck_assert_msg(rc == 0, "'%s'", m->in);
		ck_assert_str_eq(out, m->out);
	} else {
		ck_assert_msg(rc == -1, "'%s'", m->in);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

START_TEST(test_calling_station_that_is_no_mac_leaves_mac_empty)
{
	struct radius_acct a;
	size_t n;

	n = start_with("\x1f\x0f+441234567890", 15);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.mac, "");
	/* a NUL after the digits, then what could pass for an SSID */
	n = start_with("\x1f\x10"
		       "aabbccddeeff\x00:",
		       16);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.mac, "");
	n = start_with("\x1f\x0e"
		       "aabbccddeeff",
		       14);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.mac, "aa:bb:cc:dd:ee:ff");
}
END_TEST

/* radclient's Message-Authenticator, and one computed here: HMAC-MD5
 * over the packet with the Authenticator field and its own value zeroed */
START_TEST(test_message_authenticator_right_is_taken_wrong_is_refused)
{
	uint8_t z[sizeof(radclient_stop)], md[16];
	unsigned mdlen = 0;
	struct radius_acct a;

	memcpy(z, radclient_stop, sizeof(z));
	memset(z + 4, 0, 16);
	memset(z + STOP_MA, 0, 16);
	ck_assert_ptr_nonnull(
		HMAC(EVP_md5(), SECRET, SECRET_LEN, z, sizeof(z), md, &mdlen));
	ck_assert_mem_eq(md, radclient_stop + STOP_MA, 16);
	ck_assert_int_eq(parse(radclient_stop, sizeof(radclient_stop), &a),
			 RADIUS_OK);
	ck_assert_uint_eq(a.status, RADIUS_STOP);
	ck_assert_str_eq(a.user, "bob");
	ck_assert_str_eq(a.mac, "00:11:22:33:44:55");
	ck_assert_int_eq(a.has_ip6, 1);
	ck_assert_mem_eq(a.ip6,
			 "\x20\x01\x0d\xb8\x00\x0a\0\0\0\0\0\0\0\0\0\x70", 16);
	/* a wrong one under a right Request Authenticator */
	memcpy(buf, radclient_stop, sizeof(radclient_stop));
	buf[STOP_MA + 15] ^= 1;
	sign(buf, sizeof(radclient_stop));
	ck_assert_int_eq(parse(buf, sizeof(radclient_stop), &a),
			 RADIUS_ERR_AUTH);
	/* computed with the Request Authenticator in place: not ours */
	memcpy(z, radclient_stop, sizeof(z));
	memset(z + STOP_MA, 0, 16);
	HMAC(EVP_md5(), SECRET, SECRET_LEN, z, sizeof(z), buf + STOP_MA,
	     &mdlen);
	sign(buf, sizeof(radclient_stop));
	ck_assert_int_eq(parse(buf, sizeof(radclient_stop), &a),
			 RADIUS_ERR_AUTH);
}
END_TEST

START_TEST(test_message_authenticator_of_wrong_size_or_twice_is_malformed)
{
	const struct radius_attr at[] = {
		{ RADIUS_ACCT_STATUS_TYPE, &start_status, 4 },
		{ RADIUS_MESSAGE_AUTHENTICATOR, NULL, 16 },
		{ RADIUS_MESSAGE_AUTHENTICATOR, NULL, 16 },
	};
	struct radius_acct a;
	size_t n;

	n = radius_build_acct(3, at, 3, SECRET, SECRET_LEN, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x50\x11"
		       "0123456789abcde",
		       17);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	n = start_with("\x50\x13"
		       "0123456789abcdefg",
		       19);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_ATTR);
	/* the builder refuses one it cannot compute */
	ck_assert_uint_eq(
		radius_build_acct(
			3,
			&(struct radius_attr){ RADIUS_MESSAGE_AUTHENTICATOR,
					       NULL, 15 },
			1, SECRET, SECRET_LEN, buf, sizeof(buf)),
		0);
}
END_TEST

/* python3 -c 'import hashlib; print(hashlib.md5(bytes([5,0xe5,0,20]) +
 *   bytes.fromhex("27604d093a5542e3a7513ed3a59ed111") +
 *   b"testing123").hexdigest())' */
START_TEST(test_response_authenticator_is_rfc2866_md5_over_the_request_auth)
{
	uint8_t out[64], want[16], hdr[20];
	struct radius_acct a;
	char h[33];

	ck_assert_int_eq(parse(radclient_start, sizeof(radclient_start), &a),
			 RADIUS_OK);
	memset(out, 0xaa, sizeof(out));
	ck_assert_uint_eq(
		radius_acct_response(&a, SECRET, SECRET_LEN, out, sizeof(out)),
		20);
	ck_assert_mem_eq(out, "\x05\xe5\x00\x14", 4);
	hex(out + 4, 16, h);
	ck_assert_str_eq(h, "4c7d9e263845618f04939ab655ce8ef5");
	ck_assert_uint_eq(out[20], 0xaa);
	memcpy(hdr, out, 4);
	memcpy(hdr + 4, radclient_start + 4, 16);
	md5(hdr, 20, SECRET, SECRET_LEN, want);
	ck_assert_mem_eq(out + 4, want, 16);
	ck_assert_uint_eq(radius_acct_response(&a, SECRET, SECRET_LEN, out, 19),
			  0);
}
END_TEST

/* A proxy's Proxy-States come back in the response, in order, and count
 * in its authenticator (RFC 2865 5.33); Acct-Delay-Time is read. */
START_TEST(test_proxy_states_are_echoed_and_delay_is_read)
{
	static const uint8_t extra[] = { 33, 5, 'a', 'b', 'c', 41,   6,	  0,
					 0,  0, 9,   33,  4,   0x00, 0xff };
	uint8_t out[128], want[16], tmp[64];
	struct radius_acct a;
	size_t n = start_with(extra, sizeof(extra)), r;

	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_int_eq(a.has_delay, 1);
	ck_assert_uint_eq(a.delay, 9);
	ck_assert_uint_eq(a.proxy_state_len, 9);
	r = radius_acct_response(&a, SECRET, SECRET_LEN, out, sizeof(out));
	ck_assert_uint_eq(r, 29);
	ck_assert_uint_eq(out[0], 5);
	ck_assert_uint_eq(out[2], 0);
	ck_assert_uint_eq(out[3], 29);
	ck_assert_mem_eq(out + 20,
			 "\x21\x05"
			 "abc"
			 "\x21\x04\x00\xff",
			 9);
	memcpy(tmp, out, 4);
	memcpy(tmp + 4, buf + 4, 16);
	memcpy(tmp + 20, out + 20, 9);
	md5(tmp, 29, SECRET, SECRET_LEN, want);
	ck_assert_mem_eq(out + 4, want, 16);
	/* too small a buffer for them: nothing written */
	ck_assert_uint_eq(radius_acct_response(&a, SECRET, SECRET_LEN, out, 28),
			  0);
}
END_TEST

START_TEST(test_request_without_status_is_refused_as_no_status)
{
	const struct radius_attr at[] = { { RADIUS_USER_NAME, "dave", 4 } };
	struct radius_acct a;
	size_t n;

	n = radius_build_acct(9, at, 1, SECRET, SECRET_LEN, buf, sizeof(buf));
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_STATUS);
	n = radius_build_acct(9, NULL, 0, SECRET, SECRET_LEN, buf, sizeof(buf));
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_ERR_STATUS);
}
END_TEST

START_TEST(test_framed_ip_assign_and_pool_values_count_as_absent)
{
	static const char *const none[] = { "\x08\x06\x00\x00\x00\x00",
					    "\x08\x06\xff\xff\xff\xff",
					    "\x08\x06\xff\xff\xff\xfe" };
	uint8_t ip6[18] = { RADIUS_FRAMED_IPV6_ADDRESS, 18 };
	struct radius_acct a;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = start_with(none[i], 6);
		ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
		ck_assert_int_eq(a.has_ip4, 0);
	}
	n = start_with("\x08\x06\xff\xff\xff\xfd", 6);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_int_eq(a.has_ip4, 1);
	n = start_with(ip6, 18);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_int_eq(a.has_ip6, 0);
}
END_TEST

START_TEST(test_address_or_integer_of_the_wrong_size_is_malformed)
{
	static const struct {
		const char *at;
		size_t len;
	} bad[] = {
		{ "\x08\x05\x0a\x00\x00", 5 },
		{ "\x08\x07\x0a\x00\x00\x01\x00", 7 },
		{ "\xa8\x06\x20\x01\x0d\xb8", 6 },
		{ "\x37\x05\x01\x02\x03", 5 },
		{ "\x55\x07\x00\x00\x00\x00\x3c", 7 },
		{ "\x28\x02", 2 }, /* a second status: still checked */
	};
	struct radius_acct a;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = start_with(bad[i].at, bad[i].len);
		ck_assert_msg(parse(buf, n, &a) == RADIUS_ERR_ATTR, "case %zu",
			      i);
	}
}
END_TEST

START_TEST(test_nul_inside_a_text_attribute_is_malformed)
{
	static const char *const bad[] = {
		"\x01\x05"
		"a\0b",
		"\x2c\x05"
		"a\0b",
		"\x20\x05"
		"a\0b",
		"\x0b\x05"
		"a\0b",
		"\x01\x03\0",
		"\x0b\x04"
		"a\x01",
	};
	struct radius_acct a;
	uint8_t at[255];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = start_with(bad[i], (uint8_t)bad[i][1]);
		ck_assert_msg(parse(buf, n, &a) == RADIUS_ERR_ATTR, "case %zu",
			      i);
	}
	/* a user name of 253 bytes, the most an attribute holds */
	at[0] = RADIUS_USER_NAME;
	at[1] = 255;
	memset(at + 2, 'u', 253);
	n = start_with(at, 255);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_uint_eq(strlen(a.user), 253);
}
END_TEST

START_TEST(test_first_copy_of_a_single_valued_attribute_wins)
{
	struct radius_acct a;
	size_t n;

	n = start_with("\x01\x03x\x01\x03y\x28\x06\x00\x00\x00\x02"
		       "\x08\x06\x00\x00\x00\x00\x08\x06\x0a\x00\x00\x01",
		       24);
	ck_assert_int_eq(parse(buf, n, &a), RADIUS_OK);
	ck_assert_str_eq(a.user, "x");
	ck_assert_uint_eq(a.status, RADIUS_START);
	/* the first address was 0.0.0.0: none */
	ck_assert_int_eq(a.has_ip4, 0);
}
END_TEST

START_TEST(test_refused_request_leaves_the_output_untouched)
{
	struct radius_acct a, before;

	memset(&a, 0x5a, sizeof(a));
	before = a;
	memcpy(buf, radclient_start, sizeof(radclient_start));
	buf[30] ^= 1;
	ck_assert_int_eq(parse(buf, sizeof(radclient_start), &a),
			 RADIUS_ERR_AUTH);
	ck_assert_mem_eq(&a, &before, sizeof(a));
	sign(buf, sizeof(radclient_start));
	buf[21] = 0;
	sign(buf, sizeof(radclient_start));
	ck_assert_int_eq(parse(buf, sizeof(radclient_start), &a),
			 RADIUS_ERR_ATTR);
	ck_assert_mem_eq(&a, &before, sizeof(a));
}
END_TEST

START_TEST(test_errors_have_their_short_words)
{
	ck_assert_str_eq(radius_strerror(RADIUS_OK), "ok");
	ck_assert_str_eq(radius_strerror(RADIUS_ERR_SHORT), "short");
	ck_assert_str_eq(radius_strerror(RADIUS_ERR_CODE), "not accounting");
	ck_assert_str_eq(radius_strerror(RADIUS_ERR_ATTR),
			 "malformed attribute");
	ck_assert_str_eq(radius_strerror(RADIUS_ERR_AUTH), "bad authenticator");
	ck_assert_str_eq(radius_strerror(RADIUS_ERR_STATUS), "no status");
	ck_assert_str_eq(radius_strerror(-6), "?");
	ck_assert_str_eq(radius_strerror(1), "?");
}
END_TEST

START_TEST(test_builder_refuses_what_does_not_fit)
{
	static uint8_t big[253];
	struct radius_attr at[17];
	unsigned i;

	at[0] = (struct radius_attr){ RADIUS_ACCT_STATUS_TYPE, &start_status,
				      4 };
	ck_assert_uint_eq(
		radius_build_acct(1, at, 1, SECRET, SECRET_LEN, buf, 25), 0);
	ck_assert_uint_eq(
		radius_build_acct(1, at, 1, SECRET, SECRET_LEN, buf, 26), 26);
	/* 20 + 16 * 255 + 6 > 4096 */
	for (i = 1; i < 17; i++)
		at[i] = (struct radius_attr){ 26, big, 253 };
	ck_assert_uint_eq(radius_build_acct(1, at, 17, SECRET, SECRET_LEN, buf,
					    sizeof(buf)),
			  0);
	ck_assert_uint_eq(radius_build_acct(1, at, 16, SECRET, SECRET_LEN, buf,
					    sizeof(buf)),
			  20 + 6 + 15 * 255);
}
END_TEST

/* ---- the clients file ---- */

#define DIR_TEMPLATE "/tmp/sf-radius-XXXXXX"
static char dir[sizeof(DIR_TEMPLATE)];
static char path[64];
static char err[512];

static void setup_dir(void)
{
	memcpy(dir, DIR_TEMPLATE, sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/clients", dir);
}

static void teardown_dir(void)
{
	char ln[80];

	snprintf(ln, sizeof(ln), "%s/link", dir);
	unlink(ln);
	unlink(path);
	rmdir(dir);
}

static void write_file(const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static const uint8_t *secret_of(const struct radius_clients *c,
				const char *addr)
{
	uint8_t a[16] = { 0 };
	static char s[RADIUS_SECRET_MAX + 1];
	const uint8_t *p;
	size_t n = 0;

	if (inet_pton(AF_INET6, addr, a) != 1) {
		a[10] = a[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, addr, a + 12), 1);
	}
	p = radius_clients_secret(c, a, &n);
	if (!p)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return (const uint8_t *)s;
}

#define CLIENTS                             \
	"# the NAS of the lab\n"            \
	"\n"                                \
	"192.0.2.0/24\tsubnet-secret\n"     \
	"   192.0.2.10   host-secret  \r\n" \
	"10.0.0.0/8 ten#not-a-comment\n"    \
	"2001:db8:a::/48 v6-secret\n"       \
	"\t# indented comment\n"            \
	"2001:db8:a:1::/64 v6-longer\n"     \
	"::/0 any-v6"

START_TEST(test_clients_file_0600_or_0640_is_taken_0644_refused)
{
	static const mode_t taken[] = { 0600, 0640, 0400 };
	static const mode_t refused[] = { 0644, 0660, 0602, 0700, 04600 };
	struct radius_clients *c;
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		write_file(CLIENTS, taken[i]);
		c = radius_clients_load(path, err, sizeof(err));
		ck_assert_msg(c != NULL, "%o: %s", taken[i], err);
		ck_assert_uint_eq(radius_clients_count(c), 6);
		radius_clients_free(c);
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_file(CLIENTS, refused[i]);
		err[0] = '\0';
		ck_assert_ptr_null(radius_clients_load(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s: mode %04o: it holds secrets",
			 path, refused[i]);
		ck_assert_msg(!strncmp(err, want, strlen(want)), "%s", err);
	}
}
END_TEST

START_TEST(test_clients_file_behind_a_symlink_or_not_a_file_is_refused)
{
	struct radius_clients *c;
	char ln[80], want[160];

	write_file(CLIENTS, 0600);
	snprintf(ln, sizeof(ln), "%s/link", dir);
	ck_assert_int_eq(symlink(path, ln), 0);
	ck_assert_ptr_null(radius_clients_load(ln, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s: a symbolic link: give the file itself", ln);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(radius_clients_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(
		radius_clients_load("/nonexistent/clients", err, sizeof(err)));
	ck_assert_str_eq(err,
			 "/nonexistent/clients: No such file or directory");
	c = radius_clients_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	radius_clients_free(c);
}
END_TEST

START_TEST(test_clients_same_prefix_twice_is_refused_with_both_lines)
{
	char want[256];

	write_file("192.0.2.0/24 a\n10.0.0.1 b\n192.0.2.0/24 c\n"
		   "10.0.0.1/32 d\n2001:db8::/32 e\n2001:db8:0::/32 f\n",
		   0600);
	ck_assert_ptr_null(radius_clients_load(path, err, sizeof(err)));
	snprintf(
		want, sizeof(want),
		"%s:3: 192.0.2.0/24 given twice (first on line 1) (and 2 more errors)",
		path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_clients_most_specific_prefix_gives_the_secret)
{
	struct radius_clients *c;

	write_file(CLIENTS, 0640);
	c = radius_clients_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq((const char *)secret_of(c, "192.0.2.10"),
			 "host-secret");
	ck_assert_str_eq((const char *)secret_of(c, "192.0.2.11"),
			 "subnet-secret");
	ck_assert_str_eq((const char *)secret_of(c, "10.200.1.1"),
			 "ten#not-a-comment");
	ck_assert_str_eq((const char *)secret_of(c, "2001:db8:a:1::9"),
			 "v6-longer");
	ck_assert_str_eq((const char *)secret_of(c, "2001:db8:a:2::9"),
			 "v6-secret");
	ck_assert_str_eq((const char *)secret_of(c, "fe80::1"), "any-v6");
	/* ::/0 holds no IPv4 source, given mapped as a dual-stack socket
	 * gives it */
	ck_assert_ptr_null(secret_of(c, "198.51.100.1"));
	ck_assert_ptr_null(secret_of(c, "::ffff:198.51.100.1"));
	ck_assert_str_eq((const char *)secret_of(c, "::ffff:192.0.2.10"),
			 "host-secret");
	radius_clients_free(c);
}
END_TEST

START_TEST(test_clients_unknown_address_has_no_secret)
{
	struct radius_clients *c;
	size_t n = 99;
	uint8_t a[16] = { 0xfe, 0x80, [15] = 1 };

	write_file("192.0.2.10 s\n2001:db8::1 t\n", 0600);
	c = radius_clients_load(path, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(radius_clients_count(c), 2);
	ck_assert_ptr_null(radius_clients_secret(c, a, &n));
	ck_assert_uint_eq(n, 99);
	ck_assert_ptr_null(secret_of(c, "192.0.2.11"));
	ck_assert_ptr_null(secret_of(c, "2001:db8::2"));
	ck_assert_str_eq((const char *)secret_of(c, "2001:db8::1"), "t");
	radius_clients_free(c);
	radius_clients_free(NULL);
}
END_TEST

START_TEST(test_clients_file_of_comments_only_or_empty_is_refused)
{
	char want[128];

	write_file("", 0600);
	ck_assert_ptr_null(radius_clients_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: no clients", path);
	ck_assert_str_eq(err, want);
	write_file("# nothing yet\n\n   \n", 0600);
	ck_assert_ptr_null(radius_clients_load(path, err, sizeof(err)));
	ck_assert_str_eq(err, want);
}
END_TEST

static const struct broken_clients {
	const char *text;
	size_t len; /* 0: strlen */
	const char *err;
} broken[] = {
	{ "192.0.2.1\n", 0, "f:1: '192.0.2.1' has no secret" },
	{ "# c\n192.0.2.1 a b\n", 0,
	  "f:2: a third field: a secret may not hold blanks" },
	{ "192.0.2.256 s\n", 0, "f:1: invalid address '192.0.2.256'" },
	{ "192.0.2.1/24 s\n", 0,
	  "f:1: host bits set in '192.0.2.1/24' (did you mean 192.0.2.0/24?)" },
	{ "192.0.2.0/33 s\n", 0,
	  "f:1: invalid prefix length in '192.0.2.0/33' (0-32 for IPv4)" },
	{ "::ffff:192.0.2.0/120 s\n", 0,
	  "f:1: '::ffff:192.0.2.0/120' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 192.0.2.0/24)" },
	{ "host.example s\n", 0, "f:1: invalid address 'host.example'" },
	{ "192.0.2.1 a\x01"
	  "b\n",
	  0, "f:1: control character in the secret" },
	{ "192.0.2.1 a\0b\n", 14, "f:1: NUL byte in the line" },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee s\n",
	  0, "f:1: invalid address (too long)" },
	{ "192.0.2.1 s\n192.0.2.2\n192.0.2.3 x y\n", 0,
	  "f:2: '192.0.2.2' has no secret (and 1 more errors)" },
};

START_TEST(test_broken_clients_line_is_refused_with_its_line_and_cause)
{
	const struct broken_clients *b = &broken[_i];
	size_t len = b->len ? b->len : strlen(b->text);

	err[0] = '\0';
	ck_assert_ptr_null(
		radius_clients_parse(b->text, len, "f", err, sizeof(err)));
	ck_assert_str_eq(err, b->err);
}
END_TEST

START_TEST(test_clients_secret_of_128_bytes_is_taken_129_refused)
{
	char text[200], want[RADIUS_SECRET_MAX + 1];
	struct radius_clients *c;

	memcpy(text, "192.0.2.1 ", 10);
	memset(text + 10, 'k', 129);
	text[139] = '\n';
	ck_assert_ptr_null(
		radius_clients_parse(text, 140, "f", err, sizeof(err)));
	ck_assert_str_eq(err, "f:1: secret longer than 128 bytes");
	text[138] = '\n';
	c = radius_clients_parse(text, 139, "f", err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	memset(want, 'k', RADIUS_SECRET_MAX);
	want[RADIUS_SECRET_MAX] = '\0';
	ck_assert_str_eq((const char *)secret_of(c, "192.0.2.1"), want);
	radius_clients_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("radius");
	TCase *r = tcase_create("accounting");
	TCase *c = tcase_create("clients");

	tcase_add_test(r, test_radclient_start_is_taken_with_every_field);
	tcase_add_test(r, test_start_built_here_is_taken_with_every_field);
	tcase_add_test(
		r,
		test_request_authenticator_is_rfc2866_md5_over_zeros_and_secret);
	tcase_add_test(
		r,
		test_request_under_another_secret_is_refused_as_bad_authenticator);
	tcase_add_test(r, test_a_flipped_bit_anywhere_is_never_taken);
	tcase_add_test(
		r, test_request_cut_short_anywhere_is_never_taken_as_it_came);
	tcase_add_test(
		r,
		test_length_field_past_the_datagram_is_short_and_after_it_padding);
	tcase_add_test(r,
		       test_attribute_length_0_1_or_past_the_end_is_malformed);
	tcase_add_test(r, test_access_request_is_not_accounting);
	tcase_add_test(
		r,
		test_ipv6_prefix_longer_than_128_bits_or_its_bytes_is_malformed);
	tcase_add_test(r, test_ipv6_prefix_host_bits_are_zeroed);
	tcase_add_test(r, test_binary_class_is_skipped_and_counted);
	tcase_add_test(
		r, test_groups_past_eight_of_a_kind_are_dropped_and_counted);
	tcase_add_loop_test(r, test_calling_station_mac_formats_are_normalised,
			    0, (int)(sizeof(macs) / sizeof(macs[0])));
	tcase_add_test(r, test_calling_station_that_is_no_mac_leaves_mac_empty);
	tcase_add_test(
		r, test_message_authenticator_right_is_taken_wrong_is_refused);
	tcase_add_test(
		r,
		test_message_authenticator_of_wrong_size_or_twice_is_malformed);
	tcase_add_test(
		r,
		test_response_authenticator_is_rfc2866_md5_over_the_request_auth);
	tcase_add_test(r, test_proxy_states_are_echoed_and_delay_is_read);
	tcase_add_test(r, test_request_without_status_is_refused_as_no_status);
	tcase_add_test(r,
		       test_framed_ip_assign_and_pool_values_count_as_absent);
	tcase_add_test(r,
		       test_address_or_integer_of_the_wrong_size_is_malformed);
	tcase_add_test(r, test_nul_inside_a_text_attribute_is_malformed);
	tcase_add_test(r, test_first_copy_of_a_single_valued_attribute_wins);
	tcase_add_test(r, test_refused_request_leaves_the_output_untouched);
	tcase_add_test(r, test_errors_have_their_short_words);
	tcase_add_test(r, test_builder_refuses_what_does_not_fit);
	suite_add_tcase(s, r);

	tcase_add_checked_fixture(c, setup_dir, teardown_dir);
	tcase_add_test(c, test_clients_file_0600_or_0640_is_taken_0644_refused);
	tcase_add_test(
		c, test_clients_file_behind_a_symlink_or_not_a_file_is_refused);
	tcase_add_test(
		c, test_clients_same_prefix_twice_is_refused_with_both_lines);
	tcase_add_test(c, test_clients_most_specific_prefix_gives_the_secret);
	tcase_add_test(c, test_clients_unknown_address_has_no_secret);
	tcase_add_test(c,
		       test_clients_file_of_comments_only_or_empty_is_refused);
	tcase_add_loop_test(
		c, test_broken_clients_line_is_refused_with_its_line_and_cause,
		0, (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(c,
		       test_clients_secret_of_128_bytes_is_taken_129_refused);
	suite_add_tcase(s, c);
	return check_run(s);
}
