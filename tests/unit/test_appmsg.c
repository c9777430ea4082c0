/* The message readers (appmsg.h): every name a message carries, and only
 * once the message is whole, however the stream is cut. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "core/appmsg.h"
#include "payloads.h"

static char names[16][APPMSG_NAME_LEN];
static int kinds[16], n_names, n_stun;

static void on_name(void *ctx, const char *name, enum appmsg_kind kind)
{
	(void)ctx;
	if (n_names < 16) {
		snprintf(names[n_names], sizeof(names[0]), "%s", name);
		kinds[n_names] = kind;
	}
	n_names++;
}

static void on_stun(void *ctx, const uint8_t *msg, uint32_t len)
{
	(void)ctx;
	(void)msg;
	(void)len;
	n_stun++;
}

static const struct appmsg_sink sink = { NULL, on_name, on_stun };

/* The stream as a reader of the engine sees it: each call brings @step
 * more bytes (0: all at once), what was used is dropped. Returns the last
 * status; *first_at is the byte count at which the first name came. */
static enum appmsg_status feed(const uint8_t *s, size_t n, uint16_t dport,
			       size_t step, size_t *first_at)
{
	static uint8_t buf[4 * APPMSG_MAX];
	struct appmsg m;
	size_t have = 0, given = 0;
	enum appmsg_status st = AM_IDLE;

	memset(&m, 0, sizeof(m));
	n_names = n_stun = 0;
	if (first_at)
		*first_at = 0;
	while (given < n) {
		size_t add = step && n - given > step ? step : n - given;
		uint32_t used;

		memcpy(buf + have, s + given, add);
		have += add;
		given += add;
		st = appmsg_read(&m, buf, (uint32_t)have, dport, &sink, &used);
		ck_assert_uint_le(used, have);
		memmove(buf, buf + used, have - used);
		have -= used;
		if (first_at && n_names && !*first_at)
			*first_at = given;
		if (st == AM_FINAL || st == AM_UNREADABLE)
			break;
	}
	return st;
}

static int has(const char *name)
{
	int i;

	for (i = 0; i < n_names && i < 16; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

/* The ClientHello of payload_tls_client_hello in records of at most
 * @rec bytes of handshake each. */
static size_t hello_in_records(uint8_t *out, const char *sni, size_t rec)
{
	uint8_t one[1024];
	size_t n = payload_tls_client_hello(one, sizeof(one), sni), o = 0,
	       h = 5;

	while (h < n) {
		size_t k = n - h < rec ? n - h : rec;

		out[o] = 0x16;
		out[o + 1] = 3;
		out[o + 2] = 1;
		out[o + 3] = (uint8_t)(k >> 8);
		out[o + 4] = (uint8_t)k;
		memcpy(out + o + 5, one + h, k);
		o += 5 + k;
		h += k;
	}
	return o;
}

START_TEST(test_client_hello_named_once_whole_in_any_cut)
{
	static const size_t steps[] = { 0, 1, 7, 100 };
	uint8_t b[2048];
	size_t n =
		payload_tls_client_hello(b, sizeof(b), "teams.microsoft.com");
	size_t at;

	ck_assert_int_eq(feed(b, n, 443, steps[_i], &at), AM_IDLE);
	ck_assert_int_eq(n_names, 1);
	ck_assert_str_eq(names[0], "teams.microsoft.com");
	ck_assert_int_eq(kinds[0], AM_NAME_SNI);
	ck_assert_uint_eq(at, n); /* only with its last byte */
}
END_TEST

START_TEST(test_client_hello_across_records_is_read_whole)
{
	uint8_t b[4096];
	size_t n = hello_in_records(b, "login.skype.com", 40), at;

	ck_assert_int_eq(feed(b, n, 443, 0, NULL), AM_IDLE);
	ck_assert(has("login.skype.com"));
	ck_assert_int_eq(feed(b, n, 443, 3, &at), AM_IDLE);
	ck_assert(has("login.skype.com"));
	ck_assert_uint_eq(at, n);
}
END_TEST

START_TEST(test_names_in_normal_form)
{
	uint8_t b[2048];
	size_t n =
		payload_tls_client_hello(b, sizeof(b), "Teams.Microsoft.COM.");

	feed(b, n, 443, 0, NULL);
	ck_assert_int_eq(n_names, 1);
	ck_assert_str_eq(names[0], "teams.microsoft.com");
}
END_TEST

START_TEST(test_tls_ends_at_first_encrypted_record)
{
	uint8_t b[2048];
	size_t n = payload_tls_client_hello(b, sizeof(b), "www.example.org");
	static const uint8_t ccs_app[] = { 20, 3, 3, 0, 1,    1,   23,
					   3,  3, 0, 2, 0xaa, 0xbb };

	memcpy(b + n, ccs_app, sizeof(ccs_app));
	ck_assert_int_eq(feed(b, n + sizeof(ccs_app), 443, 0, NULL), AM_FINAL);
	ck_assert_int_eq(n_names, 1);
}
END_TEST

START_TEST(test_second_client_hello_after_change_cipher_spec_is_read)
{
	uint8_t b[4096];
	size_t n = payload_tls_client_hello(b, sizeof(b), "www.example.org");
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };

	memcpy(b + n, ccs, sizeof(ccs));
	n += sizeof(ccs);
	n += payload_tls_client_hello(b + n, sizeof(b) - n,
				      "teams.microsoft.com");
	ck_assert_int_eq(feed(b, n, 443, 0, NULL), AM_IDLE);
	ck_assert(has("www.example.org"));
	ck_assert(has("teams.microsoft.com"));
}
END_TEST

START_TEST(test_a_first_record_that_is_not_a_hello_is_unreadable)
{
	static const uint8_t b[] = { 0x16, 3, 1, 0, 4, 2, 0, 0, 0 };

	ck_assert_int_eq(feed(b, sizeof(b), 443, 0, NULL), AM_UNREADABLE);
}
END_TEST

static const struct {
	const char *req;
	const char *name; /* the name that must come out */
	int status;	  /* after the whole request */
} http_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET / HTTP/1.1\r\nHost : teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET / HTTP/1.1\r\nHOST:teams.microsoft.com:8080\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET / HTTP/1.1\nHost: teams.microsoft.com\n\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET / HTTP/1.1\r\nHost: www.example.org\r\nHost: "
	  "teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET http://teams.microsoft.com/x HTTP/1.1\r\nHost: proxy\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET https://user@teams.microsoft.com:443/ HTTP/1.1\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "CONNECT teams.microsoft.com:443 HTTP/1.1\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", "2001:db8::1",
	  AM_IDLE },
	/* obs-fold: the Host value on the next line */
	{ "GET / HTTP/1.1\r\nHost:\r\n teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	/* a second request after a body of known length */
	{ "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\n"
	  "HostXGET / HTTP/1.1\r\nHost: teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	/* ... and after a chunked one, with an extension and trailers */
	{ "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked"
	  "\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\nHost: "
	  "teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	/* what servers take that a narrower reader would miss */
	{ "GET  http://teams.microsoft.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "GET ws://teams.microsoft.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "CONNECT  teams.microsoft.com:443 HTTP/1.1\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	{ "FOO / HTTP/1.1\r\nHost: teams.microsoft.com\r\n\r\n",
	  "teams.microsoft.com", AM_IDLE },
	/* HTTP/0.9: the line is the request */
	{ "GET http://teams.microsoft.com/\r\n", "teams.microsoft.com",
	  AM_FINAL },
};

START_TEST(test_http_every_host_every_request)
{
	static const size_t steps[] = { 0, 1, 5 };
	size_t s;

	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		const char *r = http_cases[_i].req;

		ck_assert_int_eq(
			feed((const uint8_t *)r, strlen(r), 80, steps[s], NULL),
			http_cases[_i].status);
		ck_assert_msg(has(http_cases[_i].name),
			      "%s: step %zu: %d names", r, steps[s], n_names);
	}
}
END_TEST

START_TEST(test_http_host_after_many_header_lines)
{
	char r[8192];
	int i, o = snprintf(r, sizeof(r), "GET / HTTP/1.1\r\n");

	for (i = 0; i < 100; i++)
		o += snprintf(r + o, sizeof(r) - (size_t)o, "X-%d: %d\r\n", i,
			      i);
	snprintf(r + o, sizeof(r) - (size_t)o,
		 "Host: teams.microsoft.com\r\n\r\n");
	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 9, NULL),
			 AM_IDLE);
	ck_assert(has("teams.microsoft.com"));
}
END_TEST

START_TEST(test_http_head_in_part_names_nothing)
{
	const char *r = "GET / HTTP/1.1\r\nHost: teams.microsoft.com\r\n";

	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 0, NULL),
			 AM_WAIT);
	ck_assert_int_eq(n_names, 0);
}
END_TEST

static const char *const http_ambiguous[] = {
	/* two lengths: which body ends where is the server's to say */
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: "
	"chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
	"GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
};

START_TEST(test_http_ambiguous_framing_is_unreadable)
{
	const char *r = http_ambiguous[_i];

	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 0, NULL),
			 AM_UNREADABLE);
}
END_TEST

START_TEST(test_http_head_larger_than_the_buffer_is_unreadable)
{
	static char r[APPMSG_MAX + 64];

	memset(r, 'a', sizeof(r) - 1);
	memcpy(r, "GET / HTTP/1.1\r\nX: ", 19);
	r[sizeof(r) - 1] = '\0';
	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 1000, NULL),
			 AM_UNREADABLE);
}
END_TEST

START_TEST(test_dns_over_tcp_every_question_every_message)
{
	uint8_t b[512];
	size_t n = payload_dns_query(b, sizeof(b), "www.example.org", 1);

	/* payload_dns_query writes a UDP message: frame two of them */
	uint8_t s[1024];
	size_t m =
		payload_dns_query(s + 2, sizeof(s) - 2, "www.example.org", 1);

	(void)n;
	s[0] = (uint8_t)(m >> 8);
	s[1] = (uint8_t)m;
	n = 2 + m;
	m = payload_dns_query(s + n + 2, sizeof(s) - n - 2,
			      "teams.microsoft.com.", 2);
	s[n] = (uint8_t)(m >> 8);
	s[n + 1] = (uint8_t)m;
	n += 2 + m;
	ck_assert_int_eq(feed(s, n, 53, 0, NULL), AM_IDLE);
	ck_assert(has("www.example.org"));
	ck_assert(has("teams.microsoft.com"));
	ck_assert_int_eq(feed(s, n, 53, 1, NULL), AM_IDLE);
	ck_assert(has("teams.microsoft.com"));
}
END_TEST

START_TEST(test_socks5_name_then_tls_inside)
{
	uint8_t b[2048];
	size_t n = 0;
	static const uint8_t greet[] = { 5, 2, 0, 2 };
	static const uint8_t auth[] = { 1, 1, 'u', 1, 'p' };
	const char *host = "teams.microsoft.com";

	memcpy(b, greet, sizeof(greet));
	n += sizeof(greet);
	memcpy(b + n, auth, sizeof(auth));
	n += sizeof(auth);
	b[n++] = 5;
	b[n++] = 1;
	b[n++] = 0;
	b[n++] = 3;
	b[n++] = (uint8_t)strlen(host);
	memcpy(b + n, host, strlen(host));
	n += strlen(host);
	b[n++] = 1;
	b[n++] = 0xbb;
	n += payload_tls_client_hello(b + n, sizeof(b) - n, "login.skype.com");
	ck_assert_int_eq(feed(b, n, 1080, 0, NULL), AM_IDLE);
	ck_assert(has(host));
	ck_assert(has("login.skype.com"));
	ck_assert_int_eq(feed(b, n, 1080, 2, NULL), AM_IDLE);
	ck_assert(has("login.skype.com"));
}
END_TEST

START_TEST(test_socks4a_name)
{
	static const uint8_t b[] = { 4,	  1,   0,   80,	 0,   0,   0,
				     1,	  'u', 0,   't', 'e', 'a', 'm',
				     's', '.', 'l', 'i', 'v', 'e', '.',
				     'c', 'o', 'm', 0 };

	ck_assert_int_eq(feed(b, sizeof(b), 1080, 1, NULL), AM_IDLE);
	ck_assert(has("teams.live.com"));
	ck_assert_int_eq(kinds[0], AM_NAME_PROXY);
}
END_TEST

START_TEST(test_stun_over_tcp_bare_and_framed)
{
	uint8_t b[1024], f[1024];
	size_t n = payload_stun(b, sizeof(b), 0, 1, 9), m;

	ck_assert_int_eq(feed(b, n, 443, 1, NULL), AM_IDLE);
	ck_assert_int_eq(n_stun, 1);
	f[0] = (uint8_t)(n >> 8);
	f[1] = (uint8_t)n;
	memcpy(f + 2, b, n);
	m = 2 + n;
	f[m] = (uint8_t)(n >> 8);
	f[m + 1] = (uint8_t)n;
	memcpy(f + m + 2, b, n);
	m += 2 + n;
	ck_assert_int_eq(feed(f, m, 443, 3, NULL), AM_IDLE);
	ck_assert_int_eq(n_stun, 2);
}
END_TEST

START_TEST(test_other_streams_are_final_at_once)
{
	static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";

	ck_assert_int_eq(feed(ssh, sizeof(ssh) - 1, 22, 0, NULL), AM_FINAL);
	ck_assert_int_eq(n_names, 0);
}
END_TEST

START_TEST(test_other_line_protocols_are_not_http)
{
	static const char *const lines[] = {
		"EHLO mail.example.org\r\nSTARTTLS\r\n",
		"USER alice\r\nPASS secret\r\n",
		"NICK x\r\nUSER x 0 * :x\r\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ck_assert_int_eq(feed((const uint8_t *)lines[i],
				      strlen(lines[i]), 25, 0, NULL),
				 AM_FINAL);
}
END_TEST

START_TEST(test_dce_rpc_is_not_socks)
{
	static const uint8_t bind[] = { 5,    0, 0x0b, 3, 0x10, 0, 0, 0,
					0x48, 0, 0,    0, 1,	0, 0, 0 };

	ck_assert_int_eq(feed(bind, sizeof(bind), 135, 0, NULL), AM_FINAL);
}
END_TEST

START_TEST(test_upgrade_ends_http_reading)
{
	const char *r = "GET /chat HTTP/1.1\r\nHost: a.example\r\nUpgrade: "
			"websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85zzzzz";

	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 0, NULL),
			 AM_FINAL);
	ck_assert(has("a.example"));
}
END_TEST

START_TEST(test_a_body_on_a_get_is_unreadable)
{
	const char *r =
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n"
		"\r\nGET / HTTP/1.1\r\nHost: teams.microsoft.com\r\n\r\n";

	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 80, 0, NULL),
			 AM_UNREADABLE);
}
END_TEST

START_TEST(test_request_line_names_before_the_head_is_whole)
{
	const char *r = "GET http://teams.microsoft.com/ HTTP/1.1\r\nX: ";

	ck_assert_int_eq(feed((const uint8_t *)r, strlen(r), 3128, 0, NULL),
			 AM_WAIT);
	ck_assert(has("teams.microsoft.com"));
}
END_TEST

START_TEST(test_alert_between_hellos_keeps_reading)
{
	uint8_t b[4096];
	size_t n = payload_tls_client_hello(b, sizeof(b), "www.example.org");
	static const uint8_t alert[] = { 21, 3, 3, 0, 2, 1, 90 };

	memcpy(b + n, alert, sizeof(alert));
	n += sizeof(alert);
	n += payload_tls_client_hello(b + n, sizeof(b) - n,
				      "teams.microsoft.com");
	ck_assert_int_eq(feed(b, n, 443, 0, NULL), AM_IDLE);
	ck_assert(has("teams.microsoft.com"));
}
END_TEST

START_TEST(test_dns_short_message_skipped_forward_pointer_followed)
{
	uint8_t s[512];
	size_t n = 0, m;
	/* a 3-byte "message", then a query whose name is a forward pointer
	 * to a name after the question */
	static const uint8_t q[] = {
		0,   1,	  1,	0,   0, 1,   0,	  0,   0,   0,
		0,   0,	  0xc0, 18,  0, 1,   0,	  1,   5,   't',
		'e', 'a', 'm',	's', 9, 'm', 'i', 'c', 'r', 'o',
		's', 'o', 'f',	't', 3, 'c', 'o', 'm', 0,
	};

	s[n++] = 0, s[n++] = 3, s[n++] = 0, s[n++] = 1, s[n++] = 0;
	m = sizeof(q);
	s[n++] = (uint8_t)(m >> 8), s[n++] = (uint8_t)m;
	memcpy(s + n, q, m), n += m;
	ck_assert_int_eq(feed(s, n, 53, 0, NULL), AM_IDLE);
	ck_assert(has("teams.microsoft.com"));
	/* a question that does not parse: what the server reads is unknown */
	s[7 + 12] = 0xc0, s[7 + 13] = 0xff;
	ck_assert_int_eq(feed(s, n, 53, 0, NULL), AM_UNREADABLE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("appmsg");
	TCase *c = tcase_create("readers");

	tcase_add_loop_test(c, test_client_hello_named_once_whole_in_any_cut, 0,
			    4);
	tcase_add_test(c, test_client_hello_across_records_is_read_whole);
	tcase_add_test(c, test_names_in_normal_form);
	tcase_add_test(c, test_tls_ends_at_first_encrypted_record);
	tcase_add_test(
		c, test_second_client_hello_after_change_cipher_spec_is_read);
	tcase_add_test(c,
		       test_a_first_record_that_is_not_a_hello_is_unreadable);
	tcase_add_loop_test(c, test_http_every_host_every_request, 0,
			    sizeof(http_cases) / sizeof(http_cases[0]));
	tcase_add_test(c, test_http_host_after_many_header_lines);
	tcase_add_test(c, test_http_head_in_part_names_nothing);
	tcase_add_loop_test(c, test_http_ambiguous_framing_is_unreadable, 0,
			    sizeof(http_ambiguous) / sizeof(http_ambiguous[0]));
	tcase_add_test(c, test_http_head_larger_than_the_buffer_is_unreadable);
	tcase_add_test(c, test_dns_over_tcp_every_question_every_message);
	tcase_add_test(c, test_socks5_name_then_tls_inside);
	tcase_add_test(c, test_socks4a_name);
	tcase_add_test(c, test_stun_over_tcp_bare_and_framed);
	tcase_add_test(c, test_other_streams_are_final_at_once);
	tcase_add_test(c, test_other_line_protocols_are_not_http);
	tcase_add_test(c, test_dce_rpc_is_not_socks);
	tcase_add_test(c, test_upgrade_ends_http_reading);
	tcase_add_test(c, test_a_body_on_a_get_is_unreadable);
	tcase_add_test(c, test_request_line_names_before_the_head_is_whole);
	tcase_add_test(c, test_alert_between_hellos_keeps_reading);
	tcase_add_test(c,
		       test_dns_short_message_skipped_forward_pointer_followed);
	suite_add_tcase(s, c);
	return check_run(s);
}
