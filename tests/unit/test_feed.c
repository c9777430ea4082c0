/* Microsoft 365's endpoints feed (feed/m365.c, feed/m365sig.c): the
 * recorded answers of tests/data/m365 to exact signatures, the change log
 * applied, and every refusal with its message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check_run.h"
#include "feed/m365.h"
#include "feed/m365_int.h" /* the list's JSON, to make one fast */
#include "feed/m365sig.h"

#ifndef M365_DATA
#define M365_DATA "tests/data/m365"
#endif

#define FETCHED 1796630400 /* 2026-12-07T08:00:00Z, as in the .signatures */
#define V1 "2026110100"
#define V2 "2026120100"

/* tests/data/m365/@name, whole and NUL-terminated */
static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s/%s", M365_DATA, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	ck_assert(p != NULL);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

static struct m365_list *list_of(const char *name)
{
	char err[512] = "";
	size_t len;
	char *t = slurp(name, &len);
	struct m365_list *l = m365_endpoints_parse(t, len, err, sizeof(err));

	ck_assert_msg(l != NULL, "%s: %s", name, err);
	free(t);
	return l;
}

static int apply_file(struct m365_list *l, const char *name, const char *from,
		      const char *to, char *err, size_t errlen)
{
	size_t len;
	char *t = slurp(name, &len);
	int rc = m365_changes_apply(l, t, len, from, to, err, errlen);

	free(t);
	return rc;
}

static void same_text(const char *got, const char *expected_file)
{
	char *want = slurp(expected_file, NULL);

	ck_assert_msg(!strcmp(got, want), "rendered:\n%s\nexpected (%s):\n%s",
		      got, expected_file, want);
	free(want);
}

static unsigned skips;
static void count_skip(void *ctx, const char *url)
{
	(void)ctx;
	ck_assert_str_eq(url, "*.ms-acdc.*.office.com");
	skips++;
}

START_TEST(test_v1_endpoints_become_the_expected_signatures)
{
	struct m365_list *l = list_of("v1/endpoints.json");
	struct m365_counts c;
	char err[512];
	char *t;

	skips = 0;
	t = m365_render(l, "Worldwide", V1, FETCHED, &c, count_skip, NULL);
	ck_assert(t != NULL);
	same_text(t, "v1.signatures");
	ck_assert_uint_eq(c.sets, 5);
	ck_assert_uint_eq(c.v4, 8);
	ck_assert_uint_eq(c.v6, 8);
	ck_assert_uint_eq(c.names, 7);
	ck_assert_uint_eq(c.skipped, 1);
	ck_assert_uint_eq(skips, 1);
	ck_assert_msg(m365_render_check(t, strlen(t), err, sizeof(err)) == 0,
		      "%s", err);
	free(t);
	m365_list_free(l);
}
END_TEST

/* v1 plus the change log to v2 (which also holds a record of v1 itself
 * that does not apply to v1: it must be skipped) is v2's signatures, the
 * same text as v2's whole list gives */
START_TEST(test_v2_changes_applied_to_v1_give_the_expected_signatures)
{
	struct m365_list *l = list_of("v1/endpoints.json");
	struct m365_list *whole = list_of("v2/endpoints.json");
	char err[512] = "";
	char *t, *t2;

	ck_assert_msg(
		apply_file(l, "v2/changes.json", V1, V2, err, sizeof(err)) == 0,
		"%s", err);
	t = m365_render(l, "Worldwide", V2, FETCHED, NULL, NULL, NULL);
	same_text(t, "v2.signatures");
	t2 = m365_render(whole, "Worldwide", V2, FETCHED, NULL, NULL, NULL);
	ck_assert_str_eq(t, t2);
	free(t);
	free(t2);
	m365_list_free(l);
	m365_list_free(whole);
}
END_TEST

/* the last good list as stored reads back to the same signatures */
START_TEST(test_stored_list_reads_back_the_same)
{
	struct m365_list *l = list_of("v1/endpoints.json"), *back;
	char err[512] = "";
	char *dump, *a, *b;

	ck_assert_int_eq(
		apply_file(l, "v2/changes.json", V1, V2, err, sizeof(err)), 0);
	dump = m365_list_dump(l);
	back = m365_endpoints_parse(dump, strlen(dump), err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	a = m365_render(l, "Worldwide", V2, FETCHED, NULL, NULL, NULL);
	b = m365_render(back, "Worldwide", V2, FETCHED, NULL, NULL, NULL);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	free(dump);
	m365_list_free(l);
	m365_list_free(back);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;
} bad_endpoints[] = {
	{ "",
	  "not JSON (line 1, column 0: '[' or '{' expected near end of file)" },
	{ "{}", "not a list of endpoint sets (a JSON array)" },
	{ "[]", "0 endpoint sets (1 to 4096 expected)" },
	{ "[1]", "endpoints[0]: not an object" },
	{ "[{\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true}]",
	  "endpoints[0]: no id" },
	{ "[{\"id\":0,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true}]",
	  "endpoints[0]: id is not a positive integer" },
	{ "[{\"id\":4,\"category\":\"Allow\",\"required\":true}]",
	  "endpoint set 4: no serviceArea" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Block\",\"required\":true}]",
	  "endpoint set 4: category 'Block' is not Optimize, Allow or Default" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\"}]",
	  "endpoint set 4: no required" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true},"
	  "{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true}]",
	  "endpoint set 4 is listed twice" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"ips\":[\"52.112.0.0/14\"]}]",
	  "endpoint set 4: ips without tcpPorts or udpPorts" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3481-3478\"}]",
	  "endpoint set 4: udpPorts: port range '3481-3478' runs backwards (did you mean 3478-3481?)" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443,\"}]",
	  "endpoint set 4: tcpPorts: invalid port '' (expected 1-65535 or a range such as 3478-3481)" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443\",\"ips\":[\"52.112.0.1/14\"]}]",
	  "endpoint set 4: ips[0]: host bits set in '52.112.0.1/14' (did you mean 52.112.0.0/14?)" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443\",\"ips\":[\"52.0.0.0/7\"]}]",
	  "endpoint set 4: ips[0]: '52.0.0.0/7' is shorter than /8" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443\",\"ips\":[\"2602::/15\"]}]",
	  "endpoint set 4: ips[0]: '2602::/15' is shorter than /16" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443\",\"ips\":[\"127.0.0.0/8\"]}]",
	  "endpoint set 4: ips[0]: '127.0.0.0/8' is in 127.0.0.0/8, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443\",\"ips\":[\"52.112.0.0/14\",\"0.0.0.0/8\"]}]",
	  "endpoint set 4: ips[1]: '0.0.0.0/8' is in 0.0.0.0/8, where no server is" },
#define SKYPE_IP(p)                                                                                                         \
	"[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"" p \
	"\"]}]"
#define NO_SERVER(p, r)                                                 \
	{                                                               \
		SKYPE_IP(p), "endpoint set 4: ips[0]: '" p "' is in " r \
			     ", where no server is"                     \
	}
	/* special-purpose ranges: a feed would label local traffic Teams */
	NO_SERVER("10.0.0.0/8", "10.0.0.0/8"),
	NO_SERVER("172.20.0.0/16", "172.16.0.0/12"),
	NO_SERVER("192.168.0.0/16", "192.168.0.0/16"),
	NO_SERVER("100.64.0.0/10", "100.64.0.0/10"),
	NO_SERVER("169.254.0.0/16", "169.254.0.0/16"),
	NO_SERVER("192.0.0.0/24", "192.0.0.0/24"),
	NO_SERVER("198.18.0.0/15", "198.18.0.0/15"),
	NO_SERVER("fd12:3456::/32", "fc00::/7"),
	NO_SERVER("2002::/16", "2002::/16"),
	NO_SERVER("2001:0:1234::/48", "2001::/32"),
	NO_SERVER("64:ff9b::/96", "::/8"),
	{ "[{\"id\":4,\"serviceArea\":\"Exchange\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"2001::/16\"]}]",
	  "endpoint set 4: ips[0]: '2001::/16' holds 2001::/32, where no server is" },
	/* the Skype area's prefixes become signatures: no wider than /12, /32 */
	{ SKYPE_IP("1.0.0.0/8"),
	  "endpoint set 4: ips[0]: '1.0.0.0/8' is shorter than /12, the shortest the Skype service area may have" },
	{ SKYPE_IP("2603::/24"),
	  "endpoint set 4: ips[0]: '2603::/24' is shorter than /32, the shortest the Skype service area may have" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"1-65535\"}]",
	  "endpoint set 4: udpPorts: port range 1-65535: 65535 ports, more than 16384" },
	{ "[{\"id\":4,\"serviceArea\":\"Exchange\",\"category\":\"Allow\",\"required\":true,\"tcpPorts\":\"443,1000-17384\"}]",
	  "endpoint set 4: tcpPorts: port range 1000-17384: 16385 ports, more than 16384" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"teams.microsoft.com\",\"*.co.uk\"]}]",
	  "endpoint set 4: urls[1]: '*.co.uk' gives the name co.uk, a public suffix" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"CO.UK\"]}]",
	  "endpoint set 4: urls[0]: 'CO.UK' gives the name co.uk, a public suffix" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"*.github.io\"]}]",
	  "endpoint set 4: urls[0]: '*.github.io' gives the name github.io, a public suffix" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"239.1.0.0/16\"]}]",
	  "endpoint set 4: ips[0]: '239.1.0.0/16' is in 224.0.0.0/4, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"250.0.0.0/8\"]}]",
	  "endpoint set 4: ips[0]: '250.0.0.0/8' is in 240.0.0.0/4, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"fe80::/64\"]}]",
	  "endpoint set 4: ips[0]: 'fe80::/64' is in fe80::/10, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"ff02::/16\"]}]",
	  "endpoint set 4: ips[0]: 'ff02::/16' is in ff00::/8, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"::/16\"]}]",
	  "endpoint set 4: ips[0]: '::/16' is in ::/8, where no server is" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"udpPorts\":\"3478\",\"ips\":[\"::ffff:52.112.0.0/110\"]}]",
	  "endpoint set 4: ips[0]: '::ffff:52.112.0.0/110' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 52.112.0.0/14)" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"teams.microsoft.com/path\"]}]",
	  "endpoint set 4: urls[0]: 'teams.microsoft.com/path' is not a host name" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"localhost\"]}]",
	  "endpoint set 4: urls[0]: 'localhost' is not a host name" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"teams.microsoft.com\",\"*.com\"]}]",
	  "endpoint set 4: urls[1]: '*.com' is not a host name" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[\"under_score.teams.microsoft.com\"]}]",
	  "endpoint set 4: urls[0]: 'under_score.teams.microsoft.com' is not a host name" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":\"teams.microsoft.com\"}]",
	  "endpoint set 4: urls is not a list of strings" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"urls\":[7]}]",
	  "endpoint set 4: urls[0] is not a string" },
	{ "[{\"id\":4,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true,\"notes\":7}]",
	  "endpoint set 4: notes is not a string" },
	{ "[{\"id\":4,\"id\":5,\"serviceArea\":\"Skype\",\"category\":\"Allow\",\"required\":true}]",
	  "not JSON (line 1, column 13: duplicate object key near '\"id\"')" },
};

START_TEST(test_broken_endpoints_are_refused_with_their_reason)
{
	const char *text = bad_endpoints[_i].text;
	char err[512] = "";
	struct m365_list *l =
		m365_endpoints_parse(text, strlen(text), err, sizeof(err));

	ck_assert_msg(l == NULL, "accepted: %s", text);
	ck_assert_str_eq(err, bad_endpoints[_i].msg);
}
END_TEST

/* the recorded answers the namespace suite serves as refused */
START_TEST(test_recorded_bad_answers_are_refused)
{
	static const struct {
		const char *file, *msg;
	} bad[] = {
		{ "broken/endpoints.json",
		  "endpoint set 12: required is not true or false" },
		{ "badprefix/endpoints.json",
		  "endpoint set 11: ips[5]: '0.0.0.0/0' is shorter than /8" },
	};
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "", *t = slurp(bad[i].file, &len);

		ck_assert(m365_endpoints_parse(t, len, err, sizeof(err)) ==
			  NULL);
		ck_assert_str_eq(err, bad[i].msg);
		free(t);
	}
}
END_TEST

static const struct {
	const char *file; /* or */
	const char *text;
	int rc;
	const char *msg;
} bad_changes[] = {
	{ "broken/changes.json", NULL, M365_REFUSED,
	  "change record 1101: disposition is not change, add or remove" },
	{ "badprefix/changes.json", NULL, M365_REFUSED,
	  "change record 1301: ips[0]: '0.0.0.0/0' is shorter than /8" },
	{ "v3/changes.json", NULL, M365_INCOHERENT,
	  "change record 1401 (2026120500): changes endpoint set 999, which the list lacks" },
	{ NULL, "{}", M365_REFUSED,
	  "not a list of change records (a JSON array of at most 65536)" },
	{ NULL, "[{\"id\":1}]", M365_REFUSED,
	  "change record 1: no id or endpointSetId (integers)" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"202612\"}]",
	  M365_REFUSED,
	  "change record 1: version is not ten digits (YYYYMMDDNN)" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026120100\",\"current\":{\"category\":\"Maybe\"}}]",
	  M365_REFUSED,
	  "change record 1: category 'Maybe' is not Optimize, Allow or Default" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026120100\",\"add\":{\"ips\":\"1.2.3.0/24\"}}]",
	  M365_REFUSED,
	  "change record 1: add is not an object of lists ips and urls" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"add\",\"version\":\"2026120100\"}]",
	  M365_INCOHERENT,
	  "change record 1 (2026120100): adds endpoint set 11, which the list has" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026120100\",\"remove\":{\"ips\":[\"198.51.100.0/24\"]}}]",
	  M365_INCOHERENT,
	  "change record 1 (2026120100): removes ips '198.51.100.0/24', which set 11 lacks" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026120100\",\"previous\":{\"category\":\"Allow\"}}]",
	  M365_INCOHERENT,
	  "change record 1 (2026120100): set 11's previous category (\"Allow\") is not what the list has" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026113000\"}]",
	  M365_INCOHERENT,
	  "the changes since 2026110100 end at version 2026113000, not 2026120100" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":11,\"disposition\":\"change\",\"version\":\"2026120100\",\"current\":{\"id\":12}},"
	  "{\"id\":2,\"endpointSetId\":11,\"disposition\":\"add\",\"version\":\"2026120100\"}]",
	  M365_INCOHERENT,
	  "change record 2 (2026120100): adds endpoint set 11, which the list has" },
	{ NULL, "[]", M365_INCOHERENT,
	  "the changes since 2026110100 end at version 2026110100, not 2026120100" },
	{ NULL,
	  "[{\"id\":1,\"endpointSetId\":77,\"disposition\":\"add\",\"version\":\"2026120100\",\"add\":{\"urls\":[\"x.teams.microsoft.com\"]}}]",
	  M365_INCOHERENT,
	  "the list the changes make: endpoint set 77: no serviceArea" },
};

/* a refused or inapplicable change log leaves the list as it was */
START_TEST(test_bad_changes_are_refused_or_sent_to_the_whole_list)
{
	struct m365_list *l = list_of("v1/endpoints.json");
	char *before = m365_list_dump(l), *after;
	char err[512] = "";
	int rc;

	if (bad_changes[_i].file)
		rc = apply_file(l, bad_changes[_i].file, V1, V2, err,
				sizeof(err));
	else
		rc = m365_changes_apply(l, bad_changes[_i].text,
					strlen(bad_changes[_i].text), V1, V2,
					err, sizeof(err));
	ck_assert_int_eq(rc, bad_changes[_i].rc);
	ck_assert_str_eq(err, bad_changes[_i].msg);
	after = m365_list_dump(l);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	m365_list_free(l);
}
END_TEST

START_TEST(test_sudden_loss_of_most_entries_is_refused)
{
	struct m365_list *l = list_of("v2/endpoints.json");
	struct m365_list *s = list_of("shrunk/endpoints.json");
	struct m365_counts a, b, c;
	struct m365_state st = { .version = V2 };
	char err[512] = "";

	m365_count(l, &a);
	m365_mark_update(&st, &a, 0);
	ck_assert_int_eq(apply_file(l, "shrunk/changes.json", V2, "2026120300",
				    err, sizeof(err)),
			 0);
	m365_count(l, &b);
	m365_count(s, &c);
	ck_assert_mem_eq(&b, &c, sizeof(b));
	ck_assert_int_eq(m365_shrink_check(&st, &b, err, sizeof(err)), -1);
	ck_assert_str_eq(
		err,
		"the Skype service area would go from 17 prefixes (its most since the last --accept-shrink) to 5: fewer than half (--accept-shrink takes it)");
	/* names alone */
	c = a;
	c.names = a.names / 2 - 1;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(
		err,
		"the Skype service area would go from 6 names (its most since the last --accept-shrink) to 2: fewer than half (--accept-shrink takes it)");
	/* half is not "fewer than half"; growth is fine */
	c = a;
	c.v4 = 4;
	c.v6 = 5;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), 0);
	m365_list_free(l);
	m365_list_free(s);
}
END_TEST

/* the guard walked around step by step, 8 -> 4 -> 2 -> 1 prefixes over
 * versions, each half the one before: the high-water mark stops the
 * second step; --accept-shrink resets it to the set it takes */
START_TEST(test_shrink_walked_step_by_step_is_refused)
{
	struct m365_state st = { .version = V2 };
	struct m365_counts c = { .v4 = 8, .names = 8 };
	char err[512] = "";

	m365_mark_update(&st, &c, 0);
	c.v4 = 4;
	c.names = 4;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), 0);
	m365_mark_update(&st, &c, 0);
	ck_assert_uint_eq(st.high_prefixes, 8);
	ck_assert_uint_eq(st.high_names, 8);
	c.v4 = 2;
	c.names = 4;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(
		err,
		"the Skype service area would go from 8 prefixes (its most since the last --accept-shrink) to 2: fewer than half (--accept-shrink takes it)");
	c.v4 = 4;
	c.names = 2;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), -1);
	/* --accept-shrink: the mark is the new set's */
	c.v4 = 2;
	m365_mark_update(&st, &c, 1);
	ck_assert_uint_eq(st.high_prefixes, 2);
	ck_assert_uint_eq(st.high_names, 2);
	c.v4 = 1;
	c.names = 1;
	ck_assert_int_eq(m365_shrink_check(&st, &c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_version_answer)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[]",
		  "not a version answer (an object with the strings \"instance\" and \"latest\")" },
		{ "{\"instance\":\"China\",\"latest\":\"2026112800\"}",
		  "the answer is for the instance 'China', not Worldwide" },
		{ "{\"instance\":\"Worldwide\",\"latest\":\"20261128\"}",
		  "version '20261128' is not ten digits (YYYYMMDDNN)" },
		{ "{\"instance\":\"Worldwide\",\"latest\":2026112800}",
		  "not a version answer (an object with the strings \"instance\" and \"latest\")" },
	};
	const char *ok =
		"{\"instance\":\"Worldwide\",\"latest\":\"2026112800\"}";
	char v[M365_VERSION_LEN + 1], err[256];
	size_t i;

	ck_assert_int_eq(m365_version_parse(ok, strlen(ok), "Worldwide", v, err,
					    sizeof(err)),
			 0);
	ck_assert_str_eq(v, "2026112800");
	ok = "\xef\xbb\xbf{\"instance\":\"Worldwide\",\"latest\":\"2026120100\"}";
	ck_assert_int_eq(m365_version_parse(ok, strlen(ok), "Worldwide", v, err,
					    sizeof(err)),
			 0);
	ck_assert_str_eq(v, "2026120100");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
			m365_version_parse(bad[i].text, strlen(bad[i].text),
					   "Worldwide", v, err, sizeof(err)),
			-1);
		ck_assert_str_eq(err, bad[i].msg);
	}
}
END_TEST

/* 200 IPv6 prefixes and 10 ports: lines of at most 64 prefixes and under
 * 1024 bytes, ports in runs of 8, and skyfenced reads it all */
START_TEST(test_long_lists_are_split_into_lines_skyfenced_reads)
{
	char *doc = malloc(65536), *t, *line, *save = NULL;
	size_t n = 0;
	unsigned i, lines = 0, prefixes = 0;
	struct m365_counts c;
	struct m365_list *l;
	char err[512] = "";

	n += (size_t)sprintf(
		doc + n,
		"[{\"id\":11,\"serviceArea\":\"Skype\",\"category\":\"Optimize\",\"required\":true,"
		"\"tcpPorts\":\"1,2,3,4,5,6,7,8,9,10\",\"ips\":[");
	for (i = 0; i < 200; i++)
		n += (size_t)sprintf(doc + n, "%s\"2603:10%02x:%x::/48\"",
				     i ? "," : "", i % 100, i);
	sprintf(doc + n, "]}]");
	l = m365_endpoints_parse(doc, strlen(doc), err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	t = m365_render(l, "Worldwide", V1, FETCHED, &c, NULL, NULL);
	ck_assert_msg(m365_render_check(t, strlen(t), err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(c.v6, 200);
	for (line = strtok_r(t, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned words = 0;
		const char *p;

		ck_assert_uint_lt(strlen(line) + 1, 1024);
		if (strncmp(line, "Teams tcp ", 10))
			continue;
		for (p = line; (p = strchr(p, ' ')); p++)
			words++;
		ck_assert_uint_le(words - 2, 64);
		prefixes += words - 2;
		lines++;
	}
	/* each prefix twice: ports 1-8, then 9-10 */
	ck_assert_uint_eq(prefixes, 400);
	ck_assert_uint_ge(lines, 8);
	free(t);
	free(doc);
	m365_list_free(l);
}
END_TEST

/* a Skype set (id 11) of @n URLs @pre, i, @post, or of @n IPv6 /48s on
 * UDP 3478 when @pre is NULL */
static struct m365_list *big_list(unsigned n, const char *pre, const char *post)
{
	size_t cap = 64 + (size_t)n * 48, len = 0;
	char *doc = malloc(cap), err[512] = "";
	struct m365_list *l;
	unsigned i;

	ck_assert(doc != NULL);
	len += (size_t)snprintf(
		doc, cap,
		"[{\"id\":11,\"serviceArea\":\"Skype\",\"category\":\"Optimize\",\"required\":true,\"udpPorts\":\"3478\",\"%s\":[",
		pre ? "urls" : "ips");
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(doc + len, cap - len, "%s\"",
					i ? "," : "");
		if (pre)
			len += (size_t)snprintf(doc + len, cap - len, "%s%u%s",
						pre, i, post);
		else
			len += (size_t)snprintf(doc + len, cap - len,
						"2603:%x:%x::/48",
						0x1000 + i / 4096, i % 4096);
		len += (size_t)snprintf(doc + len, cap - len, "\"");
	}
	snprintf(doc + len, cap - len, "]}]");
	ck_assert_uint_lt(len + 4, cap);
	l = m365_endpoints_parse(doc, strlen(doc), err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	free(doc);
	return l;
}

static unsigned named_skips;
static void count_named(void *ctx, const char *url)
{
	(void)ctx;
	(void)url;
	named_skips++;
}

/* 120,000 URLs with an inner '*': a few named, the rest counted, a file
 * skyfenced takes (one comment each made 9.4 MB) */
START_TEST(test_skipped_urls_are_counted_not_listed)
{
	struct m365_list *l = big_list(120000, "*.x", "*.teams.microsoft.com");
	struct m365_counts c;
	char err[512] = "";
	char *t;

	named_skips = 0;
	t = m365_render(l, "Worldwide", V1, FETCHED, &c, count_named, NULL);
	ck_assert(t != NULL);
	ck_assert_uint_eq(c.skipped, 120000);
	ck_assert_uint_eq(named_skips, M365_SKIPS_NAMED);
	ck_assert_uint_lt(strlen(t), 4096);
	ck_assert_ptr_nonnull(strstr(
		t,
		"# endpoint set 11: skipped, a '*' inside: *.x7*.teams.microsoft.com\n"
		"# and 119992 more URLs with a '*' inside skipped\n"));
	ck_assert_ptr_null(strstr(t, "*.x8*"));
	ck_assert_msg(m365_render_check(t, strlen(t), err, sizeof(err)) == 0,
		      "%s", err);
	free(t);
	m365_list_free(l);
}
END_TEST

/* the read-back check refuses what skyfenced would refuse with the
 * address list beside it: over 2048 prefix signatures or names, over
 * 1 MiB; 2048 of each is taken */
START_TEST(test_render_check_keeps_to_half_of_skyfenced_limits)
{
	static const struct {
		unsigned n;
		const char *pre, *msg;
	} cases[] = {
		{ 2048, NULL, NULL },
		{ 2049, NULL,
		  "signatures: 2049 prefix signatures, more than 2048 (half of skyfenced's 4096: the other half is the address list's)" },
		{ 2048, "n", NULL },
		{ 2049, "n",
		  "signatures: 2049 names, more than 2048 (half of skyfenced's 4096: the other half is the address list's)" },
	};
	const char *head =
		"feed instance=Worldwide version=2026110100 fetched=2026-12-07T08:00:00Z\n";
	char err[512], *t;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct m365_list *l = big_list(cases[i].n, cases[i].pre,
					       ".teams.microsoft.com");
		struct m365_counts c;

		t = m365_render(l, "Worldwide", V1, FETCHED, &c, NULL, NULL);
		ck_assert(t != NULL);
		if (!cases[i].pre)
			ck_assert_uint_eq(c.sigs, cases[i].n);
		ck_assert_int_eq(
			m365_render_check(t, strlen(t), err, sizeof(err)),
			cases[i].msg ? -1 : 0);
		if (cases[i].msg)
			ck_assert_str_eq(err, cases[i].msg);
		free(t);
		m365_list_free(l);
	}
	n = (1u << 20) + 1;
	t = malloc(n + 1);
	ck_assert(t != NULL);
	memset(t, '#', n);
	t[n] = '\0';
	memcpy(t, head, strlen(head));
	t[n - 1] = '\n';
	ck_assert_int_eq(m365_render_check(t, n, err, sizeof(err)), -1);
	ck_assert_str_eq(
		err,
		"signatures: 1048577 bytes, more than 1048576 (1 MiB; skyfenced reads policy files of at most 4194304)");
	free(t);
}
END_TEST

/* 60,000 names, each twice, written once each, in well under a second
 * (the list scanned for each name took 4.2 s) */
START_TEST(test_many_names_are_deduplicated_fast)
{
	struct m365_list *l = big_list(120000, "n", ".teams.microsoft.com");
	struct m365_counts c;
	struct timespec a, b;
	double s;
	char *t;

	/* the second half repeats the first in upper case */
	{
		json_t *urls =
			json_object_get(json_array_get(l->sets, 0), "urls");
		unsigned i;

		for (i = 60000; i < 120000; i++) {
			char name[64];

			snprintf(name, sizeof(name), "N%u.TEAMS.microsoft.com",
				 i - 60000);
			json_array_set_new(urls, i, json_string(name));
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	t = m365_render(l, "Worldwide", V1, FETCHED, &c, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert(t != NULL);
	ck_assert_uint_eq(c.names, 60000);
	ck_assert_msg(s < 1.0, "rendering 120,000 URLs took %.2f s", s);
	free(t);
	m365_list_free(l);
}
END_TEST

/* what the checks take that they once refused too eagerly: the
 * documentation ranges (the lab's), a wide prefix outside the Skype
 * area, a range of 16384 ports, names under a public suffix */
START_TEST(test_documentation_ranges_and_fair_values_are_taken)
{
	const char *doc =
		"[{\"id\":11,\"serviceArea\":\"Skype\",\"category\":\"Optimize\",\"required\":true,"
		"\"udpPorts\":\"3478-3481,50000-65535\",\"urls\":[\"*.teams.microsoft.com\",\"x.co.uk\",\"*.cloud.microsoft\"],"
		"\"ips\":[\"192.0.2.0/24\",\"198.51.100.0/24\",\"203.0.113.0/24\",\"2001:db8::/32\",\"52.112.0.0/12\"]},"
		"{\"id\":12,\"serviceArea\":\"Exchange\",\"category\":\"Allow\",\"required\":true,"
		"\"tcpPorts\":\"1-16384\",\"ips\":[\"40.0.0.0/8\",\"2603::/16\"]}]";
	char err[512] = "";
	struct m365_list *l =
		m365_endpoints_parse(doc, strlen(doc), err, sizeof(err));

	ck_assert_msg(l != NULL, "%s", err);
	m365_list_free(l);
}
END_TEST

START_TEST(test_versions_ahead_of_the_clock)
{
	/* FETCHED is 2026-12-07T08:00:00Z */
	ck_assert_int_eq(m365_version_ahead("2026120700", FETCHED), 0);
	ck_assert_int_eq(m365_version_ahead("2026120999", FETCHED), 0);
	ck_assert_int_eq(m365_version_ahead("2026121000", FETCHED), 1);
	ck_assert_int_eq(m365_version_ahead("2099123199", FETCHED), 1);
	ck_assert_int_eq(m365_version_ahead("2016010100", FETCHED), 0);
	ck_assert_int_eq(m365_version_ahead("2026023100", FETCHED), -1);
	ck_assert_int_eq(m365_version_ahead("2026130100", FETCHED), -1);
	ck_assert_int_eq(m365_version_ahead("2026120000", FETCHED), -1);
}
END_TEST

START_TEST(test_render_check_refuses_what_skyfenced_would)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "Teams udp 3478 52.112.0.0/14\n",
		  "signatures:1: not a feed line (feed instance=I version=V fetched=T)" },
		{ "feed instance=Worldwide version=2026110100 fetched=2026-12-07T08:00:00Z\n"
		  "Teams udp 3478 52.112.0.1/14\n",
		  "signatures:2: host bits set in '52.112.0.1/14' (did you mean 52.112.0.0/14?)" },
		{ "feed instance=Worldwide version=2026110100 fetched=2026-12-07T08:00:00Z\n"
		  "Skype udp 3478 52.112.0.0/14\n",
		  "signatures:2: unknown protocol 'Skype'" },
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(m365_render_check(bad[i].text,
						   strlen(bad[i].text), err,
						   sizeof(err)),
				 -1);
		ck_assert_str_eq(err, bad[i].msg);
	}
}
END_TEST

START_TEST(test_state_round_trips)
{
	struct m365_state st = { .instance = "Worldwide",
				 .version = V2,
				 .checked = FETCHED,
				 .fetched = FETCHED - 60,
				 .counts = { 4, 9, 8, 6, 1, 40 },
				 .high_prefixes = 30,
				 .high_names = 7,
				 .handover_failed = 1 },
			  back;
	const char *old =
		"{\"instance\":\"Worldwide\",\"version\":\"2026120100\",\"ipv4\":9,\"ipv6\":8,\"names\":6}";
	char err[256];
	char *t = m365_state_format(&st);

	ck_assert(t != NULL);
	ck_assert_int_eq(
		m365_state_parse(t, strlen(t), &back, err, sizeof(err)), 0);
	ck_assert_str_eq(back.instance, st.instance);
	ck_assert_str_eq(back.version, st.version);
	ck_assert_int_eq(back.checked, st.checked);
	ck_assert_int_eq(back.fetched, st.fetched);
	ck_assert_mem_eq(&back.counts, &st.counts, sizeof(st.counts));
	ck_assert_uint_eq(back.high_prefixes, 30);
	ck_assert_uint_eq(back.high_names, 7);
	ck_assert_int_eq(back.handover_failed, 1);
	/* a state of before the mark: the mark is the last good counts */
	ck_assert_int_eq(
		m365_state_parse(old, strlen(old), &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.high_prefixes, 17);
	ck_assert_uint_eq(back.high_names, 6);
	ck_assert_int_eq(back.handover_failed, 0);
	ck_assert_int_eq(m365_state_parse("{\"version\":\"x\"}", 15, &back, err,
					  sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "not a state of skyfence-endpoints");
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");

	tcase_add_test(tc, test_v1_endpoints_become_the_expected_signatures);
	tcase_add_test(
		tc, test_v2_changes_applied_to_v1_give_the_expected_signatures);
	tcase_add_test(tc, test_stored_list_reads_back_the_same);
	tcase_add_loop_test(
		tc, test_broken_endpoints_are_refused_with_their_reason, 0,
		(int)(sizeof(bad_endpoints) / sizeof(bad_endpoints[0])));
	tcase_add_test(tc, test_recorded_bad_answers_are_refused);
	tcase_add_loop_test(
		tc, test_bad_changes_are_refused_or_sent_to_the_whole_list, 0,
		(int)(sizeof(bad_changes) / sizeof(bad_changes[0])));
	tcase_add_test(tc, test_sudden_loss_of_most_entries_is_refused);
	tcase_add_test(tc, test_shrink_walked_step_by_step_is_refused);
	tcase_add_test(tc, test_skipped_urls_are_counted_not_listed);
	tcase_add_test(tc, test_render_check_keeps_to_half_of_skyfenced_limits);
	tcase_add_test(tc, test_many_names_are_deduplicated_fast);
	tcase_add_test(tc, test_documentation_ranges_and_fair_values_are_taken);
	tcase_add_test(tc, test_versions_ahead_of_the_clock);
	tcase_add_test(tc, test_version_answer);
	tcase_add_test(tc,
		       test_long_lists_are_split_into_lines_skyfenced_reads);
	tcase_add_test(tc, test_render_check_refuses_what_skyfenced_would);
	tcase_add_test(tc, test_state_round_trips);
	suite_add_tcase(s, tc);
	return check_run(s);
}
