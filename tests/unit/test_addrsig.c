/* Unit tests: the address list and the endpoints feed's file read as one
 * list (policy/addrsig.c): the feed's stamp, where it may stand, what a
 * broken one says, and which file and line each error names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "check_run.h"
#include "policy/addrsig.h"

static int fake_proto_id(void *ctx, const char *n)
{
	(void)ctx;
	if (!strcasecmp(n, "Teams"))
		return 250;
	if (!strcasecmp(n, "Zoom"))
		return 189;
	return -1;
}

static const struct policy_names names = { .proto_id = fake_proto_id,
					   .n_protos = 300 };

static char errs[8192];

static void on_err(void *ctx, const char *msg)
{
	(void)ctx;
	snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), "%s\n", msg);
}

static struct addrsig *two(const char *list, const char *feed, unsigned *n)
{
	struct addrsig_file f[2] = { { "list", list, strlen(list) },
				     { "feed", feed, strlen(feed) } };

	errs[0] = '\0';
	*n = 0;
	return addrsig_parse_files(f, 2, &names, on_err, NULL, n);
}

static void v4(uint8_t a[16], const char *s)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	ck_assert_int_eq(inet_pton(AF_INET, s, a + 12), 1);
}

START_TEST(test_feed_stamp_and_both_files_match)
{
	static const char list[] = "Teams udp 3478-3481 13.107.64.0/18\n"
				   "Teams name teams.live.com\n";
	static const char feed[] =
		"# written by skyfence-endpoints\n"
		"feed instance=Worldwide version=2026112800 "
		"fetched=2026-12-07T08:00:00Z\n"
		"Teams udp 3478-3481 203.0.113.0/24 2001:db8:77::/48\n"
		"Teams tcp 443,80 203.0.113.0/24\n"
		"Teams name teams.microsoft.com\n";
	struct addrsig *s;
	uint8_t a[16];
	unsigned n;

	s = two(list, feed, &n);
	ck_assert_msg(s != NULL, "%s", errs);
	ck_assert_uint_eq(n, 0);
	ck_assert(s->feed.present);
	ck_assert_str_eq(s->feed.instance, "Worldwide");
	ck_assert_str_eq(s->feed.version, "2026112800");
	ck_assert_int_eq(s->feed.version_date, 1795824000); /* 2026-11-28 */
	ck_assert_int_eq(s->feed.fetched, 1796630400);	    /* 08:00Z */
	ck_assert_uint_eq(s->v4, 3);
	ck_assert_uint_eq(s->v6, 1);
	ck_assert_uint_eq(s->n_names, 2);
	v4(a, "203.0.113.9");
	ck_assert_uint_eq(addrsig_match(s, a, 3479, 17), 250);
	ck_assert_uint_eq(addrsig_match(s, a, 80, 6), 250);
	v4(a, "13.107.64.1");
	ck_assert_uint_eq(addrsig_match(s, a, 3478, 17), 250);
	ck_assert_uint_eq(addrsig_match_name(s, "x.teams.microsoft.com"), 250);
	ck_assert_uint_eq(addrsig_match_name(s, "teams.live.com"), 250);
	addrsig_free(s);
}
END_TEST

START_TEST(test_no_feed_line_is_no_stamp)
{
	struct addrsig *s;
	unsigned n;

	s = two("Teams udp 3478 203.0.113.0/24\n", "", &n);
	ck_assert_msg(s != NULL, "%s", errs);
	ck_assert(!s->feed.present);
	addrsig_free(s);
}
END_TEST

/* Each broken stamp refuses the whole list, naming the feed's file and
 * line; the address list's own errors name it. */
static const struct {
	const char *list, *feed, *err;
} broken[] = {
	{ "", "feed instance=W version=2026112800\n",
	  "feed:1: expected 'feed instance=NAME version=YYYYMMDDNN "
	  "fetched=YYYY-MM-DDTHH:MM:SSZ'\n" },
	{ "",
	  "feed instance=W version=2026022900 fetched=2026-12-07T08:00:00Z\n",
	  "feed:1: invalid feed version (YYYYMMDDNN)\n" },
	{ "", "feed instance=W version=20261128 fetched=2026-12-07T08:00:00Z\n",
	  "feed:1: invalid feed version (YYYYMMDDNN)\n" },
	{ "", "feed instance=W version=2026112800 fetched=2026-12-07 08:00\n",
	  "feed:1: expected 'feed instance=NAME version=YYYYMMDDNN "
	  "fetched=YYYY-MM-DDTHH:MM:SSZ'\n" },
	{ "",
	  "feed instance=W version=2026112800 fetched=2026-13-07T08:00:00Z\n",
	  "feed:1: invalid fetch time (YYYY-MM-DDTHH:MM:SSZ, UTC)\n" },
	{ "",
	  "feed instance=W/x version=2026112800 fetched=2026-12-07T08:00:00Z\n",
	  "feed:1: invalid feed instance (letters and digits, at most 31)\n" },
	{ "",
	  "Teams udp 1 203.0.113.0/24\nfeed instance=W version=2026112800 fetched=2026-12-07T08:00:00Z\n",
	  "feed:2: the 'feed' line comes before the file's signatures\n" },
	{ "feed instance=W version=2026112800 fetched=2026-12-07T08:00:00Z\n",
	  "feed instance=W version=2026112800 fetched=2026-12-07T08:00:00Z\n",
	  "feed:1: a second 'feed' line (one per list)\n" },
	{ "Teams udp 1 203.0.113.0/24\n\nNosuch udp 1 198.51.100.0/24\n",
	  "feed instance=W version=2026112800 fetched=2026-12-07T08:00:00Z\nTeams udp 0 203.0.113.0/24\n",
	  "list:3: unknown protocol 'Nosuch'\n"
	  "feed:2: invalid port '0' (expected 1-65535 or a range such as "
	  "3478-3481)\n" },
};

START_TEST(test_broken_stamps_are_refused_with_file_and_line)
{
	struct addrsig *s;
	unsigned n;

	s = two(broken[_i].list, broken[_i].feed, &n);
	ck_assert_ptr_null(s);
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(errs, broken[_i].err);
}
END_TEST

static Suite *addrsig_suite(void)
{
	Suite *s = suite_create("addrsig");
	TCase *c = tcase_create("core");

	tcase_add_test(c, test_feed_stamp_and_both_files_match);
	tcase_add_test(c, test_no_feed_line_is_no_stamp);
	tcase_add_loop_test(c,
			    test_broken_stamps_are_refused_with_file_and_line,
			    0, (int)(sizeof(broken) / sizeof(broken[0])));
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return check_run(addrsig_suite());
}
