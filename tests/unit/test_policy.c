/* Policy language: every construct, and broken policies with their exact
 * FILE:LINE:COL messages. Names resolve through a fixed fake table, so the
 * parser is tested without nDPI. */
#include <check.h>

#include "check_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "classify/classify.h"
#include "policy/addrsig.h"
#include "policy/policy.h"
#include "policy/window.h"

static const struct {
	const char *name;
	int id;
} protos[] = {
	{ "Unknown", 0 },	{ "DNS", 5 },	     { "HTTP", 7 },
	{ "BitTorrent", 37 },	{ "SkypeCall", 38 }, { "TLS", 91 },
	{ "Skype_Teams", 125 }, { "Zoom", 189 },     { "Teams", 250 },
	{ "STUN", 78 },
};
static const struct {
	const char *name;
	int id;
} cats[] = {
	{ "Unspecified", 0 }, { "Media", 1 }, { "Web", 5 }, { "VoIP", 10 }
};

static int fake_proto_id(void *ctx, const char *n)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcasecmp(protos[i].name, n) == 0)
			return protos[i].id;
	return -1;
}

static int fake_cat_id(void *ctx, const char *n)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		if (strcasecmp(cats[i].name, n) == 0)
			return cats[i].id;
	return -1;
}

static const char *fake_proto_name(void *ctx, int id)
{
	(void)ctx;
	return (size_t)id < sizeof(protos) / sizeof(protos[0]) ? protos[id].name
							       : NULL;
}

static const struct policy_names names = { fake_proto_id,
					   fake_cat_id,
					   fake_proto_name,
					   NULL,
					   sizeof(protos) / sizeof(protos[0]),
					   NULL,
					   0,
					   0 };

static char errbuf[65536];

/* Parses @text line by line as file "t"; errors joined by '\n' in errbuf. */
static struct policy *parse(const char *text)
{
	struct policy_parser *pp = policy_parser_create("t", &names);
	struct policy *p;
	const char *s = text;
	unsigned i;

	ck_assert_ptr_nonnull(pp);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s + 1) : strlen(s);
		char *line = strndup(s, n);

		policy_parser_line(pp, line);
		free(line);
		s += n;
	}
	p = policy_parser_finish(pp);
	errbuf[0] = '\0';
	for (i = 0; i < policy_parser_error_count(pp); i++) {
		if (i)
			strcat(errbuf, "\n");
		strcat(errbuf, policy_parser_error(pp, i));
	}
	policy_parser_destroy(pp);
	return p;
}

static void v4(uint8_t a[16], const char *s)
{
	unsigned b[4];

	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	ck_assert_int_eq(sscanf(s, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]),
			 4);
	a[12] = (uint8_t)b[0];
	a[13] = (uint8_t)b[1];
	a[14] = (uint8_t)b[2];
	a[15] = (uint8_t)b[3];
}

static struct policy_decision decide(const struct policy *p,
				     const uint8_t *addr, int inbound,
				     uint16_t master, uint16_t app,
				     uint16_t cat, uint8_t conf)
{
	struct flow_facts f;
	struct policy_decision d;

	memset(&f, 0, sizeof(f));
	f.internal = addr;
	f.inbound = (uint8_t)inbound;
	f.master = master;
	f.app = app;
	f.category = cat;
	f.confidence = conf;
	f.evidence = CLS_EV_PAYLOAD;

	policy_decide(p, &f, &d);
	return d;
}

static const char *dept_name(const struct policy *p,
			     const struct policy_decision *d)
{
	return p->depts[d->dept].name;
}

/* ---- constructs ---- */

START_TEST(test_empty_policy_allows_everything)
{
	struct policy *p = parse("# nothing but a comment\n\n");
	uint8_t a[16];
	struct policy_decision d;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->n_depts, 1);
	v4(a, "198.51.100.7");
	d = decide(p, a, 0, 0, SF_PROTO_SKYPE_CALL, 10, CLS_CONF_DPI);
	ck_assert_str_eq(dept_name(p, &d), "default");
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_int_eq(d.rule, -1);
	policy_free(p);
}
END_TEST

START_TEST(test_departments_matched_by_longest_prefix)
{
	struct policy *p = parse(
		"department wide { hosts 192.0.2.0/24; }\n"
		"department narrow { hosts 192.0.2.128/25, 192.0.2.200; }\n"
		"department six { hosts 2001:db8:f::/48; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.5");
	ck_assert_str_eq(p->depts[policy_dept_of(p, a)].name, "wide");
	v4(a, "192.0.2.130");
	ck_assert_str_eq(p->depts[policy_dept_of(p, a)].name, "narrow");
	v4(a, "192.0.2.200");
	ck_assert_str_eq(p->depts[policy_dept_of(p, a)].name, "narrow");
	v4(a, "192.0.3.1");
	ck_assert_uint_eq(policy_dept_of(p, a), POLICY_DEFAULT_DEPT);
	{
		uint8_t six[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, 0, 1 };

		ck_assert_str_eq(p->depts[policy_dept_of(p, six)].name, "six");
		six[5] = 0x0e;
		ck_assert_uint_eq(policy_dept_of(p, six), POLICY_DEFAULT_DEPT);
	}
	/* without an internal list, the departments are the inside */
	v4(a, "192.0.2.1");
	ck_assert(policy_is_internal(p, a));
	v4(a, "203.0.113.1");
	ck_assert(!policy_is_internal(p, a));
	policy_free(p);
}
END_TEST

START_TEST(test_internal_networks_are_declared)
{
	struct policy *p = parse("internal 192.0.2.0/24, 2001:db8::/32;\n"
				 "department a { hosts 192.0.2.0/26; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.250"); /* inside, in no department */
	ck_assert(policy_is_internal(p, a));
	ck_assert_uint_eq(policy_dept_of(p, a), POLICY_DEFAULT_DEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_skype_group_matches_master_or_app)
{
	struct policy *p =
		parse("department f { hosts 192.0.2.0/24; skype drop; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.1");
	/* TLS.Skype_Teams, STUN.SkypeCall, Skype_Teams.SkypeCall, DNS.Skype_Teams */
	ck_assert_int_eq(decide(p, a, 0, 91, 125, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 78, 38, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 125, 38, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 5, 125, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	/* Teams (250) is Skype by default (teams-is-skype yes) */
	ck_assert_int_eq(decide(p, a, 0, 91, 250, 15, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 5, CLS_CONF_DPI).action,
			 ACT_ALLOW);
	policy_free(p);
}
END_TEST

START_TEST(test_teams_joins_skype_when_asked)
{
	struct policy *p = parse("options { teams-is-skype yes; }\n"
				 "default { skype reject; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "198.51.100.1");
	ck_assert_int_eq(decide(p, a, 0, 91, 250, 15, CLS_CONF_DPI).action,
			 ACT_REJECT);
	ck_assert_uint_eq(p->depts[0].rules[0].n_ids, 3);
	policy_free(p);
}
END_TEST

START_TEST(test_protocol_category_and_any_rules)
{
	struct policy *p = parse("department e {\n"
				 "\thosts 192.0.2.0/24;\n"
				 "\tprotocol BitTorrent, zoom drop;\n"
				 "\tcategory VoIP, \"Media\" reject;\n"
				 "\tany allow;\n"
				 "}\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.9");
	ck_assert_int_eq(decide(p, a, 0, 0, 37, 29, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 0, 189, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 78, 38, 10, CLS_CONF_DPI).action,
			 ACT_REJECT);
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 1, CLS_CONF_DPI).action,
			 ACT_REJECT);
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 5, CLS_CONF_DPI).rule, 2);
	ck_assert_str_eq(p->depts[1].rules[0].text,
			 "protocol BitTorrent, zoom drop");
	ck_assert_uint_eq(p->depts[1].rules[1].line, 4);
	policy_free(p);
}
END_TEST

START_TEST(test_inbound_and_outbound_qualifiers)
{
	struct policy *p = parse("department e { hosts 192.0.2.0/24;\n"
				 "  inbound skype drop;\n"
				 "  outbound protocol HTTP reject;\n"
				 "  skype allow; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.1");
	ck_assert_int_eq(decide(p, a, 1, 91, 125, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 91, 125, 10, CLS_CONF_DPI).action,
			 ACT_ALLOW);
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 5, CLS_CONF_DPI).action,
			 ACT_REJECT);
	ck_assert_int_eq(decide(p, a, 1, 0, 7, 5, CLS_CONF_DPI).action,
			 ACT_ALLOW);
	policy_free(p);
}
END_TEST

START_TEST(test_throttle_rate_burst_latency)
{
	struct policy *p = parse(
		"department s { hosts 192.0.2.0/24;\n"
		"  skype throttle 256kbit;\n"
		"  protocol Zoom throttle 1Mbit burst 64k latency 1s;\n"
		"  protocol HTTP throttle 2000000 burst 3000B latency 20ms; }\n");
	const struct policy_rule *r;

	ck_assert_msg(p != NULL, "%s", errbuf);
	r = p->depts[1].rules;
	ck_assert_int_eq(r[0].action, ACT_THROTTLE);
	ck_assert_uint_eq(r[0].rate_bps, 256000);
	ck_assert_uint_eq(r[0].burst_bytes, 3200); /* 100 ms of the rate */
	/* six 1500-byte packets at 256 kbit/s: 281.25 ms, more than 100 */
	ck_assert_uint_eq(r[0].latency_ms, 282);
	ck_assert_uint_eq(r[1].rate_bps, 1000000);
	ck_assert_uint_eq(r[1].burst_bytes, 65536);
	ck_assert_uint_eq(r[1].latency_ms, 1000);
	ck_assert_uint_eq(r[2].rate_bps, 2000000);
	ck_assert_uint_eq(r[2].burst_bytes, 3000);
	ck_assert_uint_eq(r[2].latency_ms, 20);
	policy_free(p);
}
END_TEST

START_TEST(test_default_latency_follows_the_rate_within_10s)
{
	struct policy *p = parse(
		"department a { hosts 192.0.2.0/26; skype throttle 1; }\n"
		"department b { hosts 192.0.2.64/26; skype throttle 256k; }\n"
		"department c { hosts 192.0.2.128/26; skype throttle 10Mbit; }\n");

	ck_assert_ptr_nonnull(p);
	/* six 1500-byte packets take 20 hours at 1 bit/s: clamped */
	ck_assert_uint_eq(p->depts[1].rules[0].latency_ms, 10000);
	ck_assert_uint_eq(p->depts[2].rules[0].latency_ms, 282);
	ck_assert_uint_eq(p->depts[3].rules[0].latency_ms, 200);
	policy_free(p);
}
END_TEST

START_TEST(test_confidence_threshold_keeps_guesses_from_acting)
{
	struct policy *p = parse(
		"default { skype drop; protocol Zoom drop confidence ip; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.1");
	/* default minimum is "cache": a guess from an IP list does not drop */
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_IP).action,
			 ACT_ALLOW);
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_CACHE).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 0, 189, 10, CLS_CONF_IP).action,
			 ACT_DROP);
	ck_assert_int_eq(decide(p, a, 0, 0, 189, 10, CLS_CONF_PORT).action,
			 ACT_ALLOW);
	policy_free(p);

	p = parse("options { min-confidence dpi; }\ndefault { skype drop; }\n");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_CACHE).action,
			 ACT_ALLOW);
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	policy_free(p);
}
END_TEST

START_TEST(test_log_flag_and_department_log_setting)
{
	struct policy *p = parse(
		"department a { hosts 192.0.2.0/26; log all; skype drop; }\n"
		"department b { hosts 192.0.2.64/26; skype drop log; }\n"
		"department c { hosts 192.0.2.128/26; log none; skype drop log; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.1");
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 5, CLS_CONF_DPI).log, 1);
	v4(a, "192.0.2.65");
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_DPI).log, 1);
	ck_assert_int_eq(decide(p, a, 0, 0, 7, 5, CLS_CONF_DPI).log, 0);
	v4(a, "192.0.2.129");
	ck_assert_int_eq(decide(p, a, 0, 0, 125, 10, CLS_CONF_DPI).log, 0);
	policy_free(p);
}
END_TEST

START_TEST(test_first_matching_rule_wins_and_default_block_applies)
{
	struct policy *p = parse(
		"department a { hosts 192.0.2.0/24; protocol Zoom allow; category VoIP drop; }\n"
		"default { category VoIP reject; }\n"
		"options { signatures \"/etc/skyfence/protos.txt\"; }\n");
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.1");
	ck_assert_int_eq(decide(p, a, 0, 0, 189, 10, CLS_CONF_DPI).action,
			 ACT_ALLOW);
	ck_assert_int_eq(decide(p, a, 0, 0, 38, 10, CLS_CONF_DPI).action,
			 ACT_DROP);
	v4(a, "203.0.113.1");
	ck_assert_int_eq(decide(p, a, 0, 0, 38, 10, CLS_CONF_DPI).action,
			 ACT_REJECT);
	ck_assert_str_eq(p->signatures, "/etc/skyfence/protos.txt");
	policy_free(p);
}
END_TEST

START_TEST(test_lines_without_newline_and_stray_semicolons)
{
	struct policy_parser *pp = policy_parser_create("t", &names);
	struct policy *p;

	policy_parser_line(pp, "department a {");
	policy_parser_line(pp, "  hosts 192.0.2.0/24;;");
	policy_parser_line(pp, "};");
	p = policy_parser_finish(pp);
	ck_assert_uint_eq(policy_parser_error_count(pp), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->depts[1].name, "a");
	policy_free(p);
	policy_parser_destroy(pp);
}
END_TEST

START_TEST(test_lpm_exact_and_covering_prefixes)
{
	struct lpm *l = lpm_create(32);
	uint8_t a[4] = { 10, 1, 2, 3 }, b[4] = { 10, 0, 0, 0 };
	int32_t old = -1;

	ck_assert_int_eq(lpm_insert(l, b, 8, 1, NULL), 0);
	ck_assert_int_eq(lpm_insert(l, a, 32, 2, NULL), 0);
	ck_assert_int_eq(lpm_insert(l, b, 8, 3, &old), -EEXIST);
	ck_assert_int_eq(old, 1);
	ck_assert_int_eq(lpm_lookup(l, a), 2);
	a[3] = 4;
	ck_assert_int_eq(lpm_lookup(l, a), 1);
	ck_assert_int_eq(lpm_lookup_prefix(l, b, 16), 1);
	b[0] = 11;
	ck_assert_int_eq(lpm_lookup(l, b), -1);
	ck_assert_int_eq(lpm_insert(l, b, 0, 9, NULL), 0); /* default route */
	ck_assert_int_eq(lpm_lookup(l, b), 9);
	lpm_destroy(l);
}
END_TEST

/* ---- broken policies: every error, exactly ---- */

static const struct {
	const char *text;
	const char *errors;
} broken[] = {
	{ "foo;\n",
	  "t:1:1: unknown statement 'foo' (expected department, default, internal, options, window or killswitch)" },
	{ "killswitch skype;\nkillswitch Zoom;\n",
	  "t:2:1: killswitch written twice (first at line 1)" },
	{ "killswitch Zom;\n",
	  "t:1:12: unknown protocol 'Zom' (did you mean 'Zoom'?)" },
	{ "killswitch;\n",
	  "t:1:11: killswitch needs an app (skype, or an nDPI protocol name), got ';'" },
	{ "killswitch skype Zoom;\n",
	  "t:1:17: expected ';' after 'skype', got 'Zoom'" },
	{ "department {}\n", "t:1:12: missing department name" },
	{ "department 9x { hosts 192.0.2.0/24; }\n",
	  "t:1:12: invalid department name '9x' (a letter, then letters, digits, '-' or '_'; at most 31)" },
	{ "department abcdefghijabcdefghijabcdefghijabc { hosts 192.0.2.0/24; }\n",
	  "t:1:12: invalid department name 'abcdefghijabcdefghijabcdefghijabc' (a letter, then letters, digits, '-' or '_'; at most 31)" },
	{ "department default { hosts 192.0.2.0/24; }\n",
	  "t:1:12: department name 'default' is reserved (use a 'default { ... }' block)" },
	{ "department a { hosts 192.0.2.0/25; }\ndepartment a { hosts 192.0.2.128/25; }\n",
	  "t:2:12: duplicate department 'a' (first defined at line 1)" },
	{ "department a hosts 192.0.2.0/24;\n",
	  "t:1:14: expected '{' after department name, got 'hosts'" },
	{ "department a {\n  hosts 192.0.2.0/24;\n",
	  "t:2:22: unexpected end of file: '{' opened at line 1 is not closed" },
	{ "department a { hosts 192.0.2.1/24; }\n",
	  "t:1:22: host bits set in '192.0.2.1/24' (did you mean 192.0.2.0/24?)" },
	{ "department a { hosts 192.0.2.300; }\n",
	  "t:1:22: invalid address '192.0.2.300'" },
	{ "department a { hosts 2001:db8::/129; }\n",
	  "t:1:22: invalid prefix length in '2001:db8::/129' (0-128 for IPv6)" },
	{ "department a { hosts 192.0.2.0/24, 192.0.2.0/24; }\n",
	  "t:1:36: duplicate prefix 192.0.2.0/24" },
	{ "department a { hosts 192.0.2.0/24; }\ndepartment b { hosts 192.0.2.0/24; }\n",
	  "t:2:22: 192.0.2.0/24 is already in department 'a' (line 1)" },
	{ "internal 192.0.2.0/24;\ndepartment a { hosts 198.51.100.0/24; }\n",
	  "t:2:22: 198.51.100.0/24 of department 'a' is outside the internal networks" },
	{ "department a { skype drop; }\n",
	  "t:1:1: department 'a' has no hosts and no groups: it can never match" },
	{ "default { hosts 192.0.2.0/24; }\n",
	  "t:1:11: 'hosts' is not allowed in the default block (it holds hosts in no department)" },
	{ "default { skype dorp; }\n",
	  "t:1:17: unknown action 'dorp' (did you mean 'drop'?)" },
	{ "default { skype; }\n",
	  "t:1:16: expected an action (allow, drop, reject, throttle or mark dscp), got ';'" },
	{ "default { protocol Zom drop; }\n",
	  "t:1:20: unknown protocol 'Zom' (did you mean 'Zoom'?)" },
	{ "default { protocol Skype drop; }\n",
	  "t:1:20: unknown protocol 'Skype' (for the Skype group write 'skype' without 'protocol'; nDPI's own names are SkypeCall and Skype_Teams)" },
	{ "default { category Voip2 drop; }\n",
	  "t:1:20: unknown category 'Voip2'" },
	{ "default { skype throttle; }\n",
	  "t:1:25: throttle needs a rate, e.g. 'throttle 256kbit', got ';'" },
	{ "default { skype throttle 10Xbit; }\n",
	  "t:1:26: invalid rate '10Xbit' (e.g. 256kbit, 1Mbit, 2000000)" },
	{ "default { skype throttle 0kbit; }\n",
	  "t:1:26: rate must be greater than 0" },
	{ "default { skype throttle 200Gbit; }\n",
	  "t:1:26: rate '200Gbit' is above 100Gbit" },
	{ "default { skype throttle 1Mbit burst 100; }\n",
	  "t:1:38: burst must be between 1500 bytes and 64M" },
	{ "default { skype throttle 1Mbit latency 20m; }\n",
	  "t:1:40: invalid duration '20m' (e.g. 50ms, 1s)" },
	{ "default { skype throttle 1Mbit latency 20s; }\n",
	  "t:1:40: latency must be between 1ms and 10s" },
	{ "default { skype throttle 1Mbit burst 4k burst 8k; }\n",
	  "t:1:41: duplicate 'burst'" },
	{ "default { skype drop burst 10k; }\n",
	  "t:1:22: 'burst' only applies to throttle" },
	{ "default { skype drop log log; }\n", "t:1:26: duplicate 'log'" },
	{ "default { skype drop confidence high; }\n",
	  "t:1:33: invalid confidence 'high' (expected dpi, cache, ip or port)" },
	{ "default { skype drop; skype allow; }\n",
	  "t:1:23: rule can never match: the rule at line 1 already matches all of its flows" },
	{ "default {\n any allow;\n protocol Zoom drop;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	{ "default { skype drop\n}\n",
	  "t:1:21: expected ';' after 'drop', got '}'" },
	{ "default { skype drop banana; }\n",
	  "t:1:22: unexpected 'banana' in rule (expected log, confidence, evidence, mark dscp, during, outside, until, cut, finish or ';')" },
	{ "default { log sometimes; }\n",
	  "t:1:15: invalid log setting 'sometimes' (expected all, rules or none)" },
	{ "options { color blue; }\n",
	  "t:1:11: unknown option 'color' (expected teams-is-skype, skype-heuristic, min-confidence, signatures, address-list, feed, media-ports or zone)" },
	{ "options { teams-is-skype maybe; }\n",
	  "t:1:26: invalid boolean 'maybe' (expected yes or no)" },
	{ "options {\n teams-is-skype yes;\n teams-is-skype no;\n}\n",
	  "t:3:2: duplicate option 'teams-is-skype' (first set at line 2)" },
	{ "options { }\noptions { }\n",
	  "t:2:1: options block defined twice (first at line 1)" },
	{ "default { }\ndefault { }\n",
	  "t:2:1: duplicate default block (first at line 1)" },
	{ "options { signatures \"protos.txt\"; }\n",
	  "t:1:22: signatures file 'protos.txt' must be an absolute path" },
	/* the rest of the line is lost: what follows is reported as found */
	{ "options { signatures \"/etc/x; }\n",
	  "t:1:22: unterminated string\n"
	  "t:1:32: expected a file name, got 'end of file'\n"
	  "t:1:32: unexpected end of file: '{' opened at line 1 is not closed" },
	{ "default { skype drop; } @\n", "t:1:25: unexpected character '@'" },
	{ "default { skype\x01 drop; }\n", "t:1:16: unexpected byte 0x01" },
	{ "default { protocol DNS,HTTP,TLS,Zoom,Teams,DNS,HTTP,TLS,Zoom,Teams,DNS,HTTP,TLS,Zoom,Teams,DNS,HTTP drop; }\n",
	  "t:1:96: too many protocols in one rule (at most 16)" },
	{ "internal 192.0.2.0/24 198.51.100.0/24;\n",
	  "t:1:23: expected ',' or ';' after internal address, got '198.51.100.0/24'" },
	/* several errors in one file, reported in file order */
	{ "department x {\n hosts 192.0.2.1/24, 10.0.0.0/33;\n skype dorp;\n"
	  " protocol Skipe drop\n}\ndepartment x { hosts 192.0.2.0/24; }\nfoo;\n",
	  "t:2:8: host bits set in '192.0.2.1/24' (did you mean 192.0.2.0/24?)\n"
	  "t:2:22: invalid prefix length in '10.0.0.0/33' (0-32 for IPv4)\n"
	  "t:3:8: unknown action 'dorp' (did you mean 'drop'?)\n"
	  "t:4:11: unknown protocol 'Skipe' (for the Skype group write 'skype' without 'protocol'; nDPI's own names are SkypeCall and Skype_Teams)\n"
	  "t:4:21: expected ';' after 'drop', got '}'\n"
	  "t:6:12: duplicate department 'x' (first defined at line 1)\n"
	  "t:7:1: unknown statement 'foo' (expected department, default, internal, options, window or killswitch)" },
	/* fail-closed names a department's hosts */
	{ "default { fail-closed; }\n",
	  "t:1:11: 'fail-closed' is not allowed in the default block (it names a department's hosts; to close every queue, use skyfence-rules.sh up --fail-closed)" },
	{ "department f { hosts 192.0.2.0/26; fail-closed; fail-closed; }\n",
	  "t:1:49: duplicate 'fail-closed' in department 'f'" },
	{ "department f { hosts 192.0.2.0/26; fail-closed }\n",
	  "t:1:47: expected ';' after 'fail-closed', got '}'" },
	/* the checker: legal but wrong */
	{ "department a { hosts ::ffff:192.0.2.0/120; }\n",
	  "t:1:22: '::ffff:192.0.2.0/120' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 192.0.2.0/24)" },
	{ "internal ::ffff:198.51.100.7;\n",
	  "t:1:10: '::ffff:198.51.100.7' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 198.51.100.7/32)" },
	{ "default { skype to ::ffff:203.0.113.0/124 drop; }\n",
	  "t:1:20: '::ffff:203.0.113.0/124' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 203.0.113.0/28)" },
	{ "department finance { hosts 192.0.2.0/26; }\ndepartment Finance { hosts 192.0.2.64/26; }\n",
	  "t:2:12: department 'Finance' differs from 'finance' (line 1) only in case: names are exact, so these are two departments; use one spelling" },
	{ "department DEFAULT { hosts 192.0.2.0/26; }\n",
	  "t:1:12: department name 'DEFAULT' differs from the reserved 'default' only in case" },
	{ "default { outbound skype drop; inbound skype drop; skype allow; }\n",
	  "t:1:52: rule can never match: the rules at lines 1 (inbound) and 1 (outbound) already match all of its flows" },
	{ "default {\n outbound skype drop;\n inbound skype reject;\n skype allow;\n}\n",
	  "t:4:2: rule can never match: the rules at lines 3 (inbound) and 2 (outbound) already match all of its flows" },
	{ "default {\n any drop;\n inbound skype allow;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	/* to and port */
	{ "default { skype to drop; }\n",
	  "t:1:20: invalid address 'drop'\n"
	  "t:1:24: expected an action (allow, drop, reject, throttle or mark dscp), got ';'" },
	{ "default { skype to; }\n",
	  "t:1:19: expected an address or prefix after 'to', got ';'" },
	{ "default { skype to 203.0.113.1/24 drop; }\n",
	  "t:1:20: host bits set in '203.0.113.1/24' (did you mean 203.0.113.0/24?)" },
	{ "default { skype to 203.0.113.0/33 drop; }\n",
	  "t:1:20: invalid prefix length in '203.0.113.0/33' (0-32 for IPv4)" },
	{ "default { skype to 203.0.113.0/24 to 198.51.100.0/24 drop; }\n",
	  "t:1:35: duplicate 'to' (list them after one 'to')" },
	{ "default { skype to 192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4, 192.0.2.5, 192.0.2.6, 192.0.2.7, 192.0.2.8, 192.0.2.9 drop; }\n",
	  "t:1:108: too many prefixes after 'to' (at most 8)" },
	{ "default { protocol STUN port 0 drop; }\n",
	  "t:1:30: invalid port '0' (expected 1-65535 or a range such as 3478-3481)" },
	{ "default { protocol STUN port 65536 drop; }\n",
	  "t:1:30: invalid port '65536' (expected 1-65535 or a range such as 3478-3481)" },
	{ "default { protocol STUN port 3481-3478 drop; }\n",
	  "t:1:30: port range '3481-3478' runs backwards (did you mean 3478-3481?)" },
	{ "default { protocol STUN port 3478- drop; }\n",
	  "t:1:30: invalid port '3478-' (expected 1-65535 or a range such as 3478-3481)" },
	{ "default { protocol STUN port https drop; }\n",
	  "t:1:30: invalid port 'https' (expected 1-65535 or a range such as 3478-3481)" },
	{ "default { protocol STUN port; }\n",
	  "t:1:29: expected a port or a port range after 'port', got ';'" },
	{ "default { protocol STUN port 1 port 2 drop; }\n",
	  "t:1:32: duplicate 'port' (list them after one 'port')" },
	{ "default { protocol STUN port 1,2,3,4,5,6,7,8,9 drop; }\n",
	  "t:1:46: too many ports after 'port' (at most 8)" },
	{ "default { skype drop to 203.0.113.0/24; }\n",
	  "t:1:22: 'to' comes before the action ('skype to ... drop;')" },
	{ "default { skype drop port 443; }\n",
	  "t:1:22: 'port' comes before the action ('skype port ... drop;')" },
	{ "default {\n skype to 203.0.113.0/24 drop;\n skype to 203.0.113.128/25 port 3478 allow;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	{ "default {\n protocol STUN port 3478-3481 drop;\n protocol STUN port 3479 allow;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	/* evidence */
	{ "default { skype drop evidence banana; }\n",
	  "t:1:31: invalid evidence 'banana' (expected payload, sni, http-host, dns-name, certificate, stun, heuristic, address, port, cache, signature or mark)" },
	{ "default { skype drop evidence sni evidence stun; }\n",
	  "t:1:35: duplicate 'evidence'" },
	{ "default { skype drop evidence heuristic; }\n",
	  "t:1:11: 'evidence heuristic' needs 'skype-heuristic yes;' in the options (the heuristic's labels reach no rule without it)" },
	{ "default {\n skype drop evidence sni,dns-name;\n skype allow evidence sni;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	/* options */
	{ "options { skype-heuristic perhaps; }\n",
	  "t:1:27: invalid boolean 'perhaps' (expected yes or no)" },
	{ "options { address-list \"teams.signatures\"; }\n",
	  "t:1:24: address-list file 'teams.signatures' must be an absolute path" },
	{ "default { teams to 203.0.113.0/24 dorp; }\n",
	  "t:1:35: unknown action 'dorp' (did you mean 'drop'?)" },
};

START_TEST(test_broken_policy_reports_exact_errors)
{
	struct policy *p = parse(broken[_i].text);

	ck_assert_msg(p == NULL, "policy %d was accepted", _i);
	ck_assert_str_eq(errbuf, broken[_i].errors);
}
END_TEST

START_TEST(test_too_many_errors_stop_at_a_cap)
{
	char *text = malloc(200 * 8 + 1);
	int i;

	text[0] = '\0';
	for (i = 0; i < 200; i++)
		strcat(text, "bogus;\n");
	ck_assert_ptr_null(parse(text));
	ck_assert_ptr_nonnull(
		strstr(errbuf, "t: too many errors (100 shown), stopping"));
	free(text);
}
END_TEST

/* ---- writing the policy back, and changes made as text ---- */

static const char edit_base[] =
	"options { teams-is-skype yes; min-confidence dpi; }\n"
	"internal 192.0.2.0/24, 2001:db8:a::/48;\n"
	"department finance {\n"
	"  hosts 192.0.2.0/26, 2001:db8:a:f::/64; # comment\n"
	"  log all;\n"
	"  fail-closed;\n"
	"  skype drop log;\n"
	"}\n"
	"department eng { hosts 192.0.2.128/26;\n"
	"  inbound skype drop; skype allow; protocol BitTorrent,Zoom reject; }\n"
	"default { skype throttle 256k burst 16k latency 200ms; }\n";

/* Parses @text, which must be valid, and frees nothing: the caller does. */
static struct policy *parse_ok(const char *text)
{
	struct policy *p = parse(text);

	ck_assert_msg(p != NULL, "%s\n---\n%s", errbuf, text);
	return p;
}

/* Same decisions for a handful of flows. */
static void assert_same_decisions(const struct policy *a,
				  const struct policy *b)
{
	static const char *const hosts[] = { "192.0.2.5", "192.0.2.130",
					     "192.0.2.200", "198.51.100.1" };
	static const uint16_t apps[] = { 38, 125, 250, 37, 189, 7 };
	uint8_t addr[16];
	unsigned h, i, in;

	for (h = 0; h < 4; h++) {
		v4(addr, hosts[h]);
		for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
			for (in = 0; in < 2; in++) {
				struct policy_decision x =
					decide(a, addr, (int)in, 0, apps[i], 0,
					       CLS_CONF_DPI);
				struct policy_decision y =
					decide(b, addr, (int)in, 0, apps[i], 0,
					       CLS_CONF_DPI);

				ck_assert_uint_eq(x.dept, y.dept);
				ck_assert_int_eq(x.rule, y.rule);
				ck_assert_uint_eq(x.action, y.action);
				ck_assert_uint_eq(x.log, y.log);
			}
		}
	}
}

START_TEST(test_format_parses_back_to_the_same_policy)
{
	struct policy *p = parse_ok(edit_base), *q;
	char *text = policy_format(p), *again;

	ck_assert_ptr_nonnull(text);
	q = parse_ok(text);
	assert_same_decisions(p, q);
	ck_assert_uint_eq(q->teams_is_skype, 1);
	ck_assert_uint_eq(q->min_conf, CLS_CONF_DPI);
	ck_assert_uint_eq(q->depts[1].fail_closed, 1);
	ck_assert_uint_eq(q->depts[2].fail_closed, 0);
	ck_assert_uint_eq(q->depts[2].rules[0].rate_bps,
			  p->depts[2].rules[0].rate_bps);
	/* canonical: writing it again changes nothing */
	again = policy_format(q);
	ck_assert_str_eq(text, again);
	ck_assert_ptr_null(strstr(text, "comment"));
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* The kill switch as a statement: the apps once each, in order, written
 * back the same, and no department's decision changed by it (the engine
 * puts it before the rules). */
START_TEST(test_killswitch_statement_round_trip)
{
	struct policy
		*p = parse_ok(
			"killswitch skype, BitTorrent, skype, \"Zoom\";\n"
			"department a { hosts 192.0.2.0/26; skype allow; }\n"),
		*q;
	char *text, *again;

	ck_assert_str_eq(p->killswitch, "skype BitTorrent Zoom");
	text = policy_format(p);
	ck_assert_ptr_nonnull(
		strstr(text, "\nkillswitch skype, BitTorrent, Zoom;\n"));
	q = parse_ok(text);
	ck_assert_str_eq(q->killswitch, p->killswitch);
	again = policy_format(q);
	ck_assert_str_eq(text, again);
	assert_same_decisions(p, q);
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
	p = parse_ok("department a { hosts 192.0.2.0/26; }\n");
	ck_assert_str_eq(p->killswitch, "");
	text = policy_format(p);
	ck_assert_ptr_null(strstr(text, "killswitch"));
	free(text);
	policy_free(p);
	ck_assert(policy_word_listed("skype Zoom", "Zoom"));
	ck_assert(policy_word_listed("skype Zoom", "skype"));
	ck_assert(!policy_word_listed("skype Zoom", "Zoo"));
	ck_assert(!policy_word_listed("skypeX Zoom", "skype"));
	ck_assert(!policy_word_listed("", ""));
}
END_TEST

static struct policy *changed(const struct policy *p, enum policy_change_kind k,
			      const char *dept, const char *arg)
{
	struct policy_change c = { k, dept, arg, 0 };
	char err[256];
	char *text = policy_format_change(p, &c, err, sizeof(err));
	struct policy *q;

	ck_assert_msg(text != NULL, "%s", err);
	q = parse(text);
	free(text);
	return q;
}

START_TEST(test_rule_set_replaces_or_puts_a_rule_first)
{
	struct policy *p = parse_ok(edit_base), *q;
	uint8_t fin[16], eng[16];

	v4(fin, "192.0.2.5");
	v4(eng, "192.0.2.130");
	/* replaces finance's skype rule: now allowed, and without its log */
	q = changed(p, PCH_RULE_SET, "finance", "skype allow");
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->depts[1].n_rules, 1);
	ck_assert_uint_eq(decide(q, fin, 0, 0, 38, 0, CLS_CONF_DPI).action,
			  ACT_ALLOW);
	ck_assert_uint_eq(q->depts[1].rules[0].log, 0);
	policy_free(q);
	/* a new match goes first */
	q = changed(p, PCH_RULE_SET, "finance", "protocol HTTP reject");
	ck_assert_uint_eq(q->depts[1].n_rules, 2);
	ck_assert_uint_eq(decide(q, fin, 0, 0, 7, 0, CLS_CONF_DPI).action,
			  ACT_REJECT);
	ck_assert_uint_eq(decide(q, fin, 0, 0, 38, 0, CLS_CONF_DPI).action,
			  ACT_DROP);
	policy_free(q);
	/* the match is compared token by token, commas spaced or not */
	q = changed(p, PCH_RULE_SET, "eng", "protocol BitTorrent, Zoom drop");
	ck_assert_uint_eq(q->depts[2].n_rules, 3);
	ck_assert_uint_eq(decide(q, eng, 0, 0, 189, 0, CLS_CONF_DPI).action,
			  ACT_DROP);
	policy_free(q);
	/* the direction is part of the match */
	q = changed(p, PCH_RULE_SET, "eng", "inbound skype allow");
	ck_assert_uint_eq(q->depts[2].n_rules, 3);
	ck_assert_uint_eq(decide(q, eng, 1, 0, 38, 0, CLS_CONF_DPI).action,
			  ACT_ALLOW);
	policy_free(q);
	q = changed(p, PCH_RULE_SET, "default", "skype throttle 1Mbit");
	ck_assert_uint_eq(q->depts[0].rules[0].rate_bps, 1000000);
	policy_free(q);
	/* a new rule that hides a later one fails validation, as in a file */
	q = changed(p, PCH_RULE_SET, "eng", "any drop");
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(strstr(errbuf, "rule can never match"));
	/* an unknown protocol is reported by the parser */
	q = changed(p, PCH_RULE_SET, "eng", "protocol Skyp drop");
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(strstr(errbuf, "Skyp"));
	policy_free(p);
}
END_TEST

START_TEST(test_rule_del_and_departments_add_del_hosts)
{
	struct policy *p = parse_ok(edit_base), *q;
	uint8_t a[16];

	q = changed(p, PCH_RULE_DEL, "eng", "inbound skype");
	ck_assert_uint_eq(q->depts[2].n_rules, 2);
	policy_free(q);
	q = changed(p, PCH_DEPT_ADD, "lab",
		    "192.0.2.192/27, 2001:db8:a:1::/64");
	ck_assert_uint_eq(q->n_depts, 4);
	v4(a, "192.0.2.200");
	ck_assert_uint_eq(policy_dept_of(q, a), 3);
	policy_free(q);
	q = changed(p, PCH_DEPT_HOSTS, "finance", "192.0.2.192/26");
	v4(a, "192.0.2.200");
	ck_assert_uint_eq(policy_dept_of(q, a), 1);
	v4(a, "192.0.2.5");
	ck_assert_uint_eq(policy_dept_of(q, a), 0);
	policy_free(q);
	q = changed(p, PCH_DEPT_DEL, "finance", NULL);
	ck_assert_uint_eq(q->n_depts, 2);
	ck_assert_str_eq(q->depts[1].name, "eng");
	policy_free(q);
	/* overlapping hosts fail validation */
	q = changed(p, PCH_DEPT_ADD, "dup", "192.0.2.0/26");
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(
		strstr(errbuf, "already in department 'finance'"));
	/* outside the internal networks */
	q = changed(p, PCH_DEPT_ADD, "far", "203.0.113.0/24");
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(strstr(errbuf, "outside the internal networks"));
	policy_free(p);
}
END_TEST

static const struct {
	enum policy_change_kind kind;
	const char *dept, *arg, *msg;
} bad_changes[] = {
	{ PCH_RULE_SET, "nobody", "skype drop", "no department 'nobody'" },
	{ PCH_RULE_SET, "eng", "skype", "has no action" },
	{ PCH_RULE_SET, "eng", "drop", "has no match" },
	{ PCH_RULE_SET, "eng", "", "which rule?" },
	{ PCH_RULE_SET, "eng", "skype drop; } department x { hosts 0.0.0.0/0",
	  "may not contain" },
	{ PCH_RULE_SET, "eng", "skype drop # x", "may not contain" },
	{ PCH_RULE_SET, "eng", "skype\ndrop", "may not contain" },
	{ PCH_RULE_DEL, "eng", "protocol HTTP", "has no rule matching" },
	{ PCH_DEPT_ADD, "eng", "192.0.2.192/26", "exists already" },
	{ PCH_DEPT_ADD, "x\"y", "192.0.2.192/26", "may not contain" },
	{ PCH_DEPT_DEL, "default", NULL, "cannot be deleted" },
	{ PCH_DEPT_HOSTS, "default", "192.0.2.192/26", "cannot be deleted" },
	{ PCH_DEPT_HOSTS, "eng", NULL, "which hosts?" },
};

START_TEST(test_changes_that_cannot_be_written_are_refused)
{
	struct policy *p = parse_ok(edit_base);
	struct policy_change c = { bad_changes[_i].kind, bad_changes[_i].dept,
				   bad_changes[_i].arg, 0 };
	char err[256] = "";

	ck_assert_ptr_null(policy_format_change(p, &c, err, sizeof(err)));
	ck_assert_msg(strstr(err, bad_changes[_i].msg) != NULL,
		      "change %d: '%s' lacks '%s'", _i, err,
		      bad_changes[_i].msg);
	policy_free(p);
}
END_TEST

/* ---- reading a policy file: no blocking, no endless read ---- */

static void keep_error(void *ctx, const char *msg)
{
	snprintf(ctx, 512, "%s", msg);
}

static void assert_refused(const char *path, const char *why)
{
	char err[512] = "", want[600];
	unsigned nerr = 0;
	struct policy *p =
		policy_load_file(path, &names, keep_error, err, &nerr);

	ck_assert_ptr_null(p);
	ck_assert_uint_eq(nerr, 1);
	snprintf(want, sizeof(want), "%s: %s", path, why);
	ck_assert_str_eq(err, want);
}

START_TEST(test_policy_file_that_is_not_a_regular_file_is_refused)
{
	char dir[] = "/tmp/sf-pol-XXXXXX", fifo[128], big[128];
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(big, sizeof(big), "%s/big", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	/* no writer: a blocking open or read would hang the test here */
	assert_refused(fifo, "not a regular file");
	assert_refused("/dev/zero", "not a regular file");
	assert_refused(dir, "not a regular file");
	fd = open(big, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 100 * 1000 * 1000), 0);
	close(fd);
	assert_refused(big, "larger than 4194304 bytes");
	assert_refused("/nonexistent/site.policy", "No such file or directory");
	unlink(fifo);
	unlink(big);
	rmdir(dir);
}
END_TEST

/* ---- detection beyond nDPI: qualifiers, evidence, notes, signatures ---- */

static struct policy_decision decide_to(const struct policy *p,
					const char *inside, const char *outside,
					uint16_t port, uint16_t app, uint8_t ev)
{
	uint8_t a[16], b[16];
	struct flow_facts f;
	struct policy_decision d;

	memset(&f, 0, sizeof(f));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	if (strchr(inside, ':'))
		ck_assert_int_eq(inet_pton(AF_INET6, inside, a), 1);
	else
		v4(a, inside);
	if (strchr(outside, ':'))
		ck_assert_int_eq(inet_pton(AF_INET6, outside, b), 1);
	else
		v4(b, outside);
	f.internal = a;
	f.external = b;
	f.ext_port = port;
	f.l4proto = 17;
	f.app = app;
	f.category = 10;
	f.confidence = CLS_CONF_DPI;
	f.evidence = ev;
	policy_decide(p, &f, &d);
	return d;
}

START_TEST(test_to_and_port_qualify_the_outside_endpoint)
{
	struct policy *p = parse(
		"department finance {\n"
		"  hosts 192.0.2.0/26, 2001:db8:a:f::/64;\n"
		"  skype to 224.0.0.0/4 allow;\n"
		"  protocol STUN port 3478-3481, 5349 drop;\n"
		"  skype to 203.0.113.0/24, 2001:db8:ff::/48 port 443 reject;\n"
		"  skype drop evidence sni, dns-name;\n"
		"}\n");

	ck_assert_msg(p != NULL, "%s", errbuf);
	/* an exception by destination: multicast is allowed */
	ck_assert_int_eq(
		decide_to(p, "192.0.2.1", "224.0.0.102", 1985, 125, CLS_EV_SNI)
			.action,
		ACT_ALLOW);
	/* port ranges and lists, STUN only */
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "198.51.100.1", 3480, 78,
				   CLS_EV_PAYLOAD)
				 .action,
			 ACT_DROP);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "198.51.100.1", 5349, 78,
				   CLS_EV_PAYLOAD)
				 .action,
			 ACT_DROP);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "198.51.100.1", 3482, 78,
				   CLS_EV_PAYLOAD)
				 .action,
			 ACT_ALLOW);
	/* to and port together, both families */
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "203.0.113.9", 443, 125,
				   CLS_EV_ADDRESS)
				 .action,
			 ACT_REJECT);
	ck_assert_int_eq(decide_to(p, "2001:db8:a:f::1", "2001:db8:ff:1::9",
				   443, 125, CLS_EV_ADDRESS)
				 .action,
			 ACT_REJECT);
	ck_assert_int_eq(decide_to(p, "2001:db8:a:f::1", "2001:db8:fe::9", 443,
				   125, CLS_EV_ADDRESS)
				 .action,
			 ACT_ALLOW);
	/* an IPv4 prefix never matches an IPv6 address and back */
	ck_assert_int_eq(decide_to(p, "2001:db8:a:f::1", "::cb00:7109", 443,
				   125, CLS_EV_ADDRESS)
				 .action,
			 ACT_ALLOW);
	/* evidence: a name drops, an address list alone does not */
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "198.51.100.1", 443, 125,
				   CLS_EV_DNS_NAME)
				 .action,
			 ACT_DROP);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "198.51.100.1", 443, 125,
				   CLS_EV_ADDRESS)
				 .action,
			 ACT_ALLOW);
	policy_free(p);
}
END_TEST

START_TEST(test_overlapping_departments_get_a_note)
{
	struct policy *p = parse(
		"department finance { hosts 192.0.2.0/24, 2001:db8:a::/48; }\n"
		"department sales { hosts 192.0.2.64/26; }\n"
		"department lab { hosts 2001:db8:a:1::/64, 192.0.2.96/27; }\n");

	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_ptr_nonnull(p->notes);
	ck_assert_str_eq(
		p->notes,
		"t:2:26: note: 192.0.2.64/26 of department 'sales' lies inside 192.0.2.0/24 of department 'finance' (line 1): its hosts are in 'sales', the longest prefix decides\n"
		"t:3:24: note: 2001:db8:a:1::/64 of department 'lab' lies inside 2001:db8:a::/48 of department 'finance' (line 1): its hosts are in 'lab', the longest prefix decides\n"
		"t:3:43: note: 192.0.2.96/27 of department 'lab' lies inside 192.0.2.64/26 of department 'sales' (line 2): its hosts are in 'lab', the longest prefix decides\n");
	policy_free(p);
	/* inside its own department: no note */
	p = parse("department a { hosts 192.0.2.0/24, 192.0.2.0/25; }\n");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_ptr_null(p->notes);
	policy_free(p);
}
END_TEST

static char sig_errs[2048];

static void sig_err(void *ctx, const char *m)
{
	(void)ctx;
	strncat(sig_errs, m, sizeof(sig_errs) - strlen(sig_errs) - 2);
	strcat(sig_errs, "\n");
}

START_TEST(test_address_signatures_parse_and_match)
{
	static const char good[] =
		"# relays\n"
		"Teams udp 3478-3481 203.0.113.128/25 2001:db8:ff:7::/64 # tail\n"
		"\n"
		"Teams tcp 443,8443 203.0.113.128/25\n"
		"Teams name teams.live.com Teams.Cloud.Microsoft\n";
	static const char bad[] = "Teams udp 3478\n"
				  "Nosuch udp 1 192.0.2.0/24\n"
				  "Teams sctp 1 192.0.2.0/24\n"
				  "Teams udp 9-1 192.0.2.0/24\n"
				  "Teams udp 1 192.0.2.1/24\n"
				  "Teams udp 1 ::ffff:192.0.2.0/120\n"
				  "Teams name live\n"
				  "Teams name a..b x/y.example\n";
	struct addrsig *s;
	uint8_t a[16];
	unsigned n = 0;

	sig_errs[0] = '\0';
	s = addrsig_parse("sig", good, sizeof(good) - 1, &names, sig_err, NULL,
			  &n);
	ck_assert_msg(s != NULL, "%s", sig_errs);
	ck_assert_uint_eq(s->n, 3);
	ck_assert_uint_eq(s->v4, 2);
	ck_assert_uint_eq(s->v6, 1);
	memset(a, 0, sizeof(a));
	v4(a, "203.0.113.200");
	ck_assert_uint_eq(addrsig_match(s, a, 3478, 17), 250);
	ck_assert_uint_eq(addrsig_match(s, a, 3482, 17), 0);
	ck_assert_uint_eq(addrsig_match(s, a, 8443, 6), 250);
	ck_assert_uint_eq(addrsig_match(s, a, 3478, 6), 0);
	v4(a, "203.0.113.100");
	ck_assert_uint_eq(addrsig_match(s, a, 3478, 17), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ff:7::200", a), 1);
	ck_assert_uint_eq(addrsig_match(s, a, 3481, 17), 250);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ff:8::200", a), 1);
	ck_assert_uint_eq(addrsig_match(s, a, 3481, 17), 0);
	ck_assert_uint_eq(s->n_names, 2);
	ck_assert_uint_eq(addrsig_match_name(s, "teams.live.com"), 250);
	ck_assert_uint_eq(addrsig_match_name(s, "X.Teams.Live.COM."), 250);
	ck_assert_uint_eq(addrsig_match_name(s, "eu.teams.cloud.microsoft"),
			  250);
	ck_assert_uint_eq(addrsig_match_name(s, "xteams.live.com"), 0);
	ck_assert_uint_eq(addrsig_match_name(s, "teams.live.com.example"), 0);
	ck_assert_uint_eq(addrsig_match_name(s, "live.com"), 0);
	addrsig_free(s);

	/* nested prefixes of other transports and ports: the longest
	 * covering prefix first, then the shorter ones */
	{
		static const char nested[] = "Teams udp 3478 198.51.100.0/24\n"
					     "DNS udp 53 198.51.100.128/25\n"
					     "Zoom tcp 443 198.51.100.128/25\n"
					     "Zoom udp 8801 198.51.100.128/25\n"
					     "TLS tcp 443 0.0.0.0/0 ::/0\n";

		s = addrsig_parse("nested", nested, sizeof(nested) - 1, &names,
				  sig_err, NULL, &n);
		ck_assert_msg(s != NULL, "%s", sig_errs);
		v4(a, "198.51.100.200");
		ck_assert_uint_eq(addrsig_match(s, a, 3478, 17), 250);
		ck_assert_uint_eq(addrsig_match(s, a, 53, 17), 5);
		ck_assert_uint_eq(addrsig_match(s, a, 8801, 17), 189);
		ck_assert_uint_eq(addrsig_match(s, a, 443, 6), 189);
		v4(a, "198.51.100.1");
		ck_assert_uint_eq(addrsig_match(s, a, 53, 17), 0);
		ck_assert_uint_eq(addrsig_match(s, a, 443, 6), 91);
		ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", a), 1);
		ck_assert_uint_eq(addrsig_match(s, a, 443, 6), 91);
		ck_assert_uint_eq(addrsig_match(s, a, 3478, 17), 0);
		addrsig_free(s);
	}

	sig_errs[0] = '\0';
	s = addrsig_parse("sig", bad, sizeof(bad) - 1, &names, sig_err, NULL,
			  &n);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(n, 9);
	ck_assert_str_eq(
		sig_errs,
		"sig:1: expected APP PROTO PORTS PREFIX... or APP name DOMAIN... (for example 'Teams udp 3478-3481 13.107.64.0/18')\n"
		"sig:2: unknown protocol 'Nosuch'\n"
		"sig:3: unknown transport 'sctp' (expected tcp, udp or name)\n"
		"sig:4: port range '9-1' runs backwards (did you mean 1-9?)\n"
		"sig:5: host bits set in '192.0.2.1/24' (did you mean 192.0.2.0/24?)\n"
		"sig:6: '::ffff:192.0.2.0/120' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write 192.0.2.0/24)\n"
		"sig:7: invalid domain 'live' (letters, digits, '-' and '.', two labels at least, at most 127 bytes)\n"
		"sig:8: invalid domain 'a..b' (letters, digits, '-' and '.', two labels at least, at most 127 bytes)\n"
		"sig:8: invalid domain 'x/y.example' (letters, digits, '-' and '.', two labels at least, at most 127 bytes)\n");
}
END_TEST

START_TEST(test_teams_group_and_heuristic_option)
{
	struct policy *p = parse("options { teams-is-skype no; }\n"
				 "default { teams drop; skype reject; }\n");

	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->skype_heuristic, 0);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "203.0.113.200", 3478, 250,
				   CLS_EV_SIGNATURE)
				 .action,
			 ACT_DROP);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "203.0.113.200", 3478, 38,
				   CLS_EV_STUN)
				 .action,
			 ACT_REJECT);
	policy_free(p);
	p = parse("options { skype-heuristic yes; }\n"
		  "default { skype drop evidence heuristic; }\n");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->skype_heuristic, 1);
	ck_assert_int_eq(decide_to(p, "192.0.2.1", "203.0.113.200", 2222, 38,
				   CLS_EV_HEURISTIC)
				 .action,
			 ACT_DROP);
	ck_assert_int_eq(
		decide_to(p, "192.0.2.1", "203.0.113.200", 443, 125, CLS_EV_SNI)
			.action,
		ACT_ALLOW);
	policy_free(p);
}
END_TEST

/* ---- identity: groups and "identity required" ---- */

static const struct {
	const char *text;
	const char *errors;
} broken_identity[] = {
	{ "default { groups finance; }\n",
	  "t:1:11: 'groups' is not allowed in the default block (it holds hosts in no department)" },
	{ "department a { hosts 192.0.2.0/26; groups finance; }\n"
	  "department b { hosts 192.0.2.64/26; groups staff, finance; }\n",
	  "t:2:51: group 'finance' of department 'b' is already claimed by department 'a' (line 1): its members would be in two departments" },
	{ "department a { hosts 192.0.2.0/26; groups finance; }\n"
	  "department b { hosts 192.0.2.64/26; groups \"FINANCE\"; }\n",
	  "t:2:44: group 'FINANCE' of department 'b' is already claimed by department 'a' (line 1): its members would be in two departments" },
	{ "department a { hosts 192.0.2.0/26; groups finance, staff, Finance; }\n",
	  "t:1:59: duplicate group 'Finance' in department 'a' (line 1; groups compare without regard to case)" },
	{ "department a { hosts 192.0.2.0/26; groups finance;\n groups finance; }\n",
	  "t:2:9: duplicate group 'finance' in department 'a' (line 1; groups compare without regard to case)" },
	{ "department a { hosts 192.0.2.0/26; groups \"\"; }\n",
	  "t:1:43: a group is 1 to 253 characters (RADIUS's longest value)" },
	{ "department a { hosts 192.0.2.0/26; groups finance staff; }\n",
	  "t:1:51: expected ',' or ';' after a group, got 'staff'" },
	{ "department a { hosts 192.0.2.0/26; groups; }\n",
	  "t:1:42: expected a group (a name or a quoted DN), got ';'" },
	{ "default { identity required; }\n",
	  "t:1:11: 'identity required' is not allowed in the default block (it holds the hosts of no department)" },
	{ "department a { hosts 192.0.2.0/26; identity required guests; }\n",
	  "t:1:54: unknown department 'guests' for the unidentified hosts of 'a'" },
	{ "department a { hosts 192.0.2.0/26; identity required a; }\n",
	  "t:1:54: department 'a' cannot take its own unidentified hosts (name a stricter department, or none for the default block)" },
	{ "department a { hosts 192.0.2.0/26; identity required b; }\n"
	  "department b { hosts 192.0.2.64/26; identity required c; }\n"
	  "department c { hosts 192.0.2.128/26; }\n",
	  "t:1:54: the unidentified hosts of 'a' go to 'b', which requires identity too: name a department that does not" },
	{ "department a { hosts 192.0.2.0/26; identity required b; }\n"
	  "department b { hosts 192.0.2.64/26; identity required; }\n",
	  "t:1:54: the unidentified hosts of 'a' go to 'b', which requires identity too: name a department that does not" },
	{ "department a { groups finance; identity required; }\n",
	  "t:1:32: 'identity required' in department 'a', which has no hosts: it has no unidentified hosts to hand over" },
	{ "department a { hosts 192.0.2.0/26; identity required;\n"
	  " identity required default; }\n",
	  "t:2:2: duplicate 'identity required' (first at line 1)" },
	{ "department a { hosts 192.0.2.0/26; identity optional; }\n",
	  "t:1:45: expected 'identity required', got 'optional'" },
	{ "department a { }\n",
	  "t:1:1: department 'a' has no hosts and no groups: it can never match" },
};

START_TEST(test_broken_identity_statements_report_exact_errors)
{
	struct policy *p = parse(broken_identity[_i].text);

	ck_assert_msg(p == NULL, "policy %d was accepted", _i);
	ck_assert_str_eq(errbuf, broken_identity[_i].errors);
}
END_TEST

static uint32_t dept_no(const struct policy *p, const char *name)
{
	uint32_t i;

	for (i = 0; i < p->n_depts; i++)
		if (!strcmp(p->depts[i].name, name))
			return i;
	ck_abort_msg("no department %s", name);
	return 0;
}

/* "groups" alone puts members in a department wherever they are; the
 * index finds a group without regard to ASCII case, a DN too. */
START_TEST(test_a_department_of_groups_alone_is_valid)
{
	struct policy *p =
		parse("department finance {\n"
		      "  groups finance, \"CN=Payroll,OU=Groups,DC=corp\";\n"
		      "  skype drop;\n"
		      "}\n"
		      "department eng { hosts 192.0.2.0/24; skype allow; }\n");
	uint32_t fin;

	ck_assert_msg(p != NULL, "%s", errbuf);
	fin = dept_no(p, "finance");
	ck_assert_uint_eq(p->n_groups, 2);
	ck_assert_uint_eq(p->depts[fin].n_groups, 2);
	ck_assert_mem_eq(p->depts[fin].groups,
			 "finance\0CN=Payroll,OU=Groups,DC=corp\0", 38);
	ck_assert_ptr_null(p->depts[dept_no(p, "eng")].groups);
	ck_assert_int_eq(policy_group_dept(p, "finance"), (int)fin);
	ck_assert_int_eq(policy_group_dept(p, "FINANCE"), (int)fin);
	ck_assert_int_eq(policy_group_dept(p, "cn=payroll,ou=groups,dc=corp"),
			 (int)fin);
	ck_assert_int_eq(policy_group_dept(p, "financ"), -1);
	ck_assert_int_eq(policy_group_dept(p, "finance2"), -1);
	ck_assert_int_eq(policy_group_dept(p, ""), -1);
	ck_assert_uint_eq(p->depts[fin].identity_required, 0);
	policy_free(p);
}
END_TEST

static const char ident_policy[] =
	"department finance {\n"
	"  hosts 192.0.2.0/26;\n"
	"  groups finance, \"CN=Payroll,OU=Groups,DC=corp\";\n"
	"  skype drop;\n"
	"}\n"
	"department eng {\n"
	"  hosts 192.0.2.64/26;\n"
	"  groups engineering, \"lab users\";\n"
	"  skype allow;\n"
	"}\n"
	"department guests { hosts 198.51.100.0/24; skype reject; }\n"
	"department lab {\n"
	"  hosts 192.0.2.128/26;\n"
	"  identity required guests;\n"
	"  skype allow;\n"
	"}\n"
	"department kiosk { hosts 192.0.2.192/26; identity required; any allow; }\n"
	"default { skype drop; }\n";

/* The department @addr gets with an identity of @groups (packed; NULL:
 * unidentified). */
static const char *dept_for(const struct policy *p, const char *addr,
			    const char *groups)
{
	struct policy_ident id = { groups };
	uint8_t a[16];

	v4(a, addr);
	return p->depts[policy_dept_for(p, a, groups ? &id : NULL)].name;
}

START_TEST(test_groups_come_before_ranges_and_identity_required_after)
{
	struct policy *p = parse(ident_policy);
	struct policy_ident id = { "finance\0" };
	struct policy_decision d;
	struct flow_facts f;
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	/* an engineering address, a finance user */
	ck_assert_str_eq(dept_for(p, "192.0.2.70", "finance\0"), "finance");
	ck_assert_str_eq(dept_for(p, "192.0.2.70", "FINANCE\0"), "finance");
	ck_assert_str_eq(
		dept_for(p, "192.0.2.70", "cn=payroll,ou=groups,dc=corp\0"),
		"finance");
	ck_assert_str_eq(dept_for(p, "198.51.100.9", "Lab Users\0"), "eng");
	/* groups of two departments: the first in the file, whatever the
	 * identity's order */
	ck_assert_str_eq(dept_for(p, "203.0.113.1", "engineering\0finance\0"),
			 "finance");
	ck_assert_str_eq(dept_for(p, "203.0.113.1", "finance\0engineering\0"),
			 "finance");
	/* groups of no department: the range's, and none: the range's */
	ck_assert_str_eq(dept_for(p, "192.0.2.70", "sales\0staff\0"), "eng");
	ck_assert_str_eq(dept_for(p, "192.0.2.70", ""), "eng");
	ck_assert_str_eq(dept_for(p, "192.0.2.70", NULL), "eng");
	ck_assert_str_eq(dept_for(p, "203.0.113.1", "sales\0"), "default");
	ck_assert_str_eq(dept_for(p, "203.0.113.1", NULL), "default");
	/* identity required: nobody known goes where it says */
	ck_assert_str_eq(dept_for(p, "192.0.2.130", NULL), "guests");
	ck_assert_str_eq(dept_for(p, "192.0.2.200", NULL), "default");
	v4(a, "192.0.2.200");
	ck_assert_uint_eq(policy_dept_for(p, a, NULL), POLICY_DEFAULT_DEPT);
	/* ... anybody known stays, or goes by groups */
	ck_assert_str_eq(dept_for(p, "192.0.2.130", ""), "lab");
	ck_assert_str_eq(dept_for(p, "192.0.2.130", "sales\0"), "lab");
	ck_assert_str_eq(dept_for(p, "192.0.2.200", "staff\0"), "kiosk");
	ck_assert_str_eq(dept_for(p, "192.0.2.200", "engineering\0"), "eng");
	/* and the decision follows */
	memset(&f, 0, sizeof(f));
	v4(a, "192.0.2.130");
	f.internal = a;
	f.app = SF_PROTO_SKYPE_CALL;
	f.confidence = CLS_CONF_DPI;
	f.evidence = CLS_EV_PAYLOAD;
	policy_decide(p, &f, &d);
	ck_assert_str_eq(dept_name(p, &d), "guests");
	ck_assert_int_eq(d.action, ACT_REJECT);
	f.ident = &id;
	policy_decide(p, &f, &d);
	ck_assert_str_eq(dept_name(p, &d), "finance");
	ck_assert_int_eq(d.action, ACT_DROP);
	policy_free(p);
}
END_TEST

START_TEST(test_format_keeps_groups_and_identity_required)
{
	static const char *const addrs[] = { "192.0.2.5",    "192.0.2.70",
					     "192.0.2.130",  "192.0.2.200",
					     "198.51.100.9", "203.0.113.1" };
	static const char *const idents[] = { NULL,
					      "",
					      "finance\0",
					      "LAB USERS\0",
					      "cn=payroll,ou=groups,dc=corp\0",
					      "sales\0engineering\0" };
	struct policy *p = parse(ident_policy), *q;
	char *text, *again;
	unsigned i, j;

	ck_assert_msg(p != NULL, "%s", errbuf);
	text = policy_format(p);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(
		text,
		"\tgroups \"finance\", \"CN=Payroll,OU=Groups,DC=corp\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\tidentity required guests;\n"));
	ck_assert_ptr_nonnull(strstr(text, "\tidentity required default;\n"));
	q = parse_ok(text);
	ck_assert_uint_eq(q->n_depts, p->n_depts);
	ck_assert_uint_eq(q->n_groups, p->n_groups);
	for (i = 0; i < p->n_depts; i++) {
		const struct policy_dept *x = &p->depts[i], *y = &q->depts[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_uint_eq(x->n_groups, y->n_groups);
		if (x->groups) {
			const char *g = x->groups;

			while (*g)
				g += strlen(g) + 1;
			ck_assert_ptr_nonnull(y->groups);
			ck_assert_mem_eq(x->groups, y->groups,
					 (size_t)(g - x->groups) + 1);
		} else {
			ck_assert_ptr_null(y->groups);
		}
		ck_assert_uint_eq(x->identity_required, y->identity_required);
		ck_assert_uint_eq(x->unidentified, y->unidentified);
	}
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		for (j = 0; j < sizeof(idents) / sizeof(idents[0]); j++) {
			const char *x = dept_for(p, addrs[i], idents[j]);

			ck_assert_str_eq(x, dept_for(q, addrs[i], idents[j]));
		}
	assert_same_decisions(p, q);
	again = policy_format(q);
	ck_assert_str_eq(text, again);
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* ---- Teams media types and DSCP marking ---- */

static const struct {
	const char *text;
	const char *errors;
} broken_media[] = {
	{ "default { skype media audio, audio drop; }\n",
	  "t:1:30: media type 'audio' listed twice" },
	{ "default { skype media audio media video drop; }\n",
	  "t:1:29: duplicate 'media' (list the types after one 'media')" },
	{ "default { protocol Zoom media audio drop; }\n",
	  "t:1:25: 'media' goes with skype and teams rules only (the media types of a call)" },
	{ "default { any media video drop; }\n",
	  "t:1:15: 'media' goes with skype and teams rules only (the media types of a call)" },
	{ "default { skype media voice drop; }\n",
	  "t:1:23: unknown media type 'voice' (expected audio, video or screen-share)" },
	{ "default { skype media drop; }\n",
	  "t:1:23: expected a media type (audio, video or screen-share) after 'media', got 'drop'" },
	{ "default { skype media audio, drop; }\n",
	  "t:1:30: expected a media type (audio, video or screen-share) after 'media', got 'drop'" },
	{ "default { skype media; }\n",
	  "t:1:22: expected a media type (audio, video or screen-share) after 'media', got ';'" },
	{ "default { skype drop media video; }\n",
	  "t:1:22: 'media' comes before the action ('skype media ... drop;')" },
	/* shadowed: a type list that holds the later one's, or no list */
	{ "default {\n skype media audio, video drop;\n skype media video allow;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	{ "default {\n skype drop;\n skype media audio mark dscp ef;\n}\n",
	  "t:3:2: rule can never match: the rule at line 2 already matches all of its flows" },
	{ "default {\n skype media video drop;\n skype drop;\n skype media audio drop;\n}\n",
	  "t:4:2: rule can never match: the rule at line 3 already matches all of its flows" },
	/* mark dscp */
	{ "default { skype drop mark dscp ef; }\n",
	  "t:1:22: mark dscp goes with allow: a dropped flow has no packets to mark" },
	{ "default { skype reject mark dscp ef; }\n",
	  "t:1:24: mark dscp goes with allow: a rejected flow has no packets to mark" },
	{ "default { skype throttle 1Mbit mark dscp ef; }\n",
	  "t:1:32: mark dscp goes with allow: a throttled flow stays in userspace, where the kernel does not mark it (write 'mark dscp VALUE' instead of 'throttle')" },
	{ "default { skype mark dscp 64; }\n",
	  "t:1:27: invalid DSCP '64' (0 to 63, or a name: ef, va, af11 to af43, cs0 to cs7, be)" },
	{ "default { skype allow mark dscp af44; }\n",
	  "t:1:33: invalid DSCP 'af44' (0 to 63, or a name: ef, va, af11 to af43, cs0 to cs7, be)" },
	{ "default { skype mark dscp -1; }\n",
	  "t:1:27: invalid DSCP '-1' (0 to 63, or a name: ef, va, af11 to af43, cs0 to cs7, be)" },
	{ "default { skype mark dscp; }\n",
	  "t:1:26: expected a DSCP value after 'mark dscp' (0 to 63, or a name such as ef), got ';'" },
	{ "default { skype mark ef log; }\n",
	  "t:1:22: expected 'dscp' after 'mark' (e.g. mark dscp ef), got 'ef'" },
	{ "default { skype mark dscp ef mark dscp af41; }\n",
	  "t:1:30: duplicate 'mark dscp'" },
	{ "default { skype allow dscp 46; }\n",
	  "t:1:23: unexpected 'dscp' in rule (expected log, confidence, evidence, mark dscp, during, outside, until, cut, finish or ';')" },
	/* media-ports and feed */
	{ "options { media-ports audio 50000-50019 audio 50100-50119; }\n",
	  "t:1:41: duplicate 'audio' in media-ports" },
	{ "options { media-ports voice 1-2; }\n",
	  "t:1:23: unknown media type 'voice' in media-ports (expected audio, video or screen-share)" },
	{ "options { media-ports audio; }\n",
	  "t:1:28: expected a port range or none after 'audio' (e.g. 50000-50019), got ';'" },
	{ "options { media-ports audio video 1-2; }\n",
	  "t:1:29: expected a port range or none after 'audio' (e.g. 50000-50019), got 'video'" },
	{ "options { media-ports; }\n",
	  "t:1:11: media-ports needs a media type and its ports (e.g. media-ports audio 50000-50019;)" },
	{ "options { media-ports audio 50000-50039; }\n",
	  "t:1:11: media-ports: the audio ports 50000-50039 overlap the video ports 50020-50039 (the default): a port names one media type" },
	{ "options { media-ports audio 1000-2000 screen-share 1500; }\n",
	  "t:1:11: media-ports: the audio ports 1000-2000 overlap the screen-share ports 1500-1500: a port names one media type" },
	{ "options { media-ports audio 0; }\n",
	  "t:1:29: invalid port '0' (expected 1-65535 or a range such as 3478-3481)" },
	{ "options { media-ports audio none audio none; }\n",
	  "t:1:34: duplicate 'audio' in media-ports" },
	{ "options { media-ports audio none none; }\n",
	  "t:1:34: unknown media type 'none' in media-ports (expected audio, video or screen-share)" },
	{ "options { media-ports audio 1-2;\n media-ports video 3-4; }\n",
	  "t:2:2: duplicate option 'media-ports' (first set at line 1)" },
	{ "options { feed \"teams.signatures\"; }\n",
	  "t:1:16: feed file 'teams.signatures' must be an absolute path" },
	{ "options { feed \"/a\"; feed \"/b\"; }\n",
	  "t:1:22: duplicate option 'feed' (first set at line 1)" },
};

START_TEST(test_broken_media_and_mark_report_exact_errors)
{
	struct policy *p = parse(broken_media[_i].text);

	ck_assert_msg(p == NULL, "policy %d was accepted", _i);
	ck_assert_str_eq(errbuf, broken_media[_i].errors);
}
END_TEST

static const char media_policy[] =
	"department finance {\n"
	"  hosts 192.0.2.0/26;\n"
	"  skype media screen-share, video drop;\n"
	"  skype media audio mark dscp ef log;\n"
	"  skype drop;\n"
	"}\n"
	"department eng {\n"
	"  hosts 192.0.2.64/26;\n"
	"  teams media video allow mark dscp af41;\n"
	"  teams media screen-share mark dscp 18;\n"
	"  skype media audio allow;\n"
	"  skype throttle 1Mbit;\n"
	"}\n"
	"department plain { hosts 192.0.2.128/26; skype mark dscp cs1; }\n";

/* The decision for a flow of @app from @inside that may carry @media. */
static struct policy_decision decide_media(const struct policy *p,
					   const char *inside, uint16_t app,
					   uint8_t media)
{
	struct flow_facts f;
	struct policy_decision d;
	uint8_t a[16];

	memset(&f, 0, sizeof(f));
	v4(a, inside);
	f.internal = a;
	f.l4proto = 17;
	f.app = app;
	f.confidence = CLS_CONF_DPI;
	f.evidence = CLS_EV_STUN;
	f.media = media;
	policy_decide(p, &f, &d);
	return d;
}

START_TEST(test_media_conditions_and_dscp_are_parsed)
{
	static const struct {
		const char *name;
		unsigned v;
	} dscp[] = { { "ef", 46 },   { "EF", 46 },     { "va", 44 },
		     { "be", 0 },    { "default", 0 }, { "cs0", 0 },
		     { "cs1", 8 },   { "cs5", 40 },    { "cs7", 56 },
		     { "af11", 10 }, { "af12", 12 },   { "af13", 14 },
		     { "af21", 18 }, { "af22", 20 },   { "af23", 22 },
		     { "af31", 26 }, { "af32", 28 },   { "af33", 30 },
		     { "af41", 34 }, { "af42", 36 },   { "af43", 38 },
		     { "0", 0 },     { "07", 7 },      { "63", 63 } };
	struct policy *p = parse(media_policy);
	const struct policy_dept *fin, *eng, *pl;
	unsigned i;

	ck_assert_msg(p != NULL, "%s", errbuf);
	fin = &p->depts[dept_no(p, "finance")];
	eng = &p->depts[dept_no(p, "eng")];
	pl = &p->depts[dept_no(p, "plain")];
	ck_assert_uint_eq(fin->rules[0].media, MEDIA_SCREEN | MEDIA_VIDEO);
	ck_assert_uint_eq(fin->rules[0].dscp, 0);
	ck_assert_uint_eq(fin->rules[1].media, MEDIA_AUDIO);
	ck_assert_uint_eq(fin->rules[1].action, ACT_ALLOW);
	ck_assert_uint_eq(fin->rules[1].dscp, 1 + 46);
	ck_assert_uint_eq(fin->rules[1].log, 1);
	ck_assert_uint_eq(fin->rules[2].media, 0);
	ck_assert_uint_eq(eng->rules[0].dscp, 1 + 34);
	ck_assert_uint_eq(eng->rules[1].dscp, 1 + 18);
	ck_assert(fin->has_media && fin->has_dscp);
	ck_assert(eng->has_media && eng->has_dscp);
	ck_assert(!pl->has_media && pl->has_dscp);
	ck_assert(!p->depts[POLICY_DEFAULT_DEPT].has_media);
	ck_assert(p->has_dscp);
	/* Microsoft's ports unless the policy says otherwise */
	ck_assert(!p->media_ports_set);
	ck_assert_uint_eq(p->media_lo[0], 50000);
	ck_assert_uint_eq(p->media_hi[0], 50019);
	ck_assert_uint_eq(p->media_lo[1], 50020);
	ck_assert_uint_eq(p->media_hi[1], 50039);
	ck_assert_uint_eq(p->media_lo[2], 50040);
	ck_assert_uint_eq(p->media_hi[2], 50059);
	policy_free(p);
	for (i = 0; i < sizeof(dscp) / sizeof(dscp[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text),
			 "default { skype mark dscp %s; }\n", dscp[i].name);
		p = parse_ok(text);
		ck_assert_uint_eq(p->depts[0].rules[0].dscp, 1 + dscp[i].v);
		ck_assert_uint_eq(p->depts[0].rules[0].action, ACT_ALLOW);
		policy_free(p);
	}
	p = parse_ok("default { skype drop; }\n");
	ck_assert(!p->has_dscp && !p->depts[0].has_dscp);
	policy_free(p);
}
END_TEST

START_TEST(test_media_ports_option_and_port_hint)
{
	struct policy *p = parse_ok(
		"options { media-ports video 40000-40099 screen-share 41000; }\n");

	ck_assert(p->media_ports_set);
	ck_assert_uint_eq(p->media_lo[0], 50000); /* not written: default */
	ck_assert_uint_eq(p->media_lo[1], 40000);
	ck_assert_uint_eq(p->media_hi[1], 40099);
	ck_assert_uint_eq(p->media_lo[2], 41000);
	ck_assert_uint_eq(p->media_hi[2], 41000);
	ck_assert_uint_eq(policy_media_of_port(p, 50019), MEDIA_AUDIO);
	ck_assert_uint_eq(policy_media_of_port(p, 40000), MEDIA_VIDEO);
	ck_assert_uint_eq(policy_media_of_port(p, 41000), MEDIA_SCREEN);
	ck_assert_uint_eq(policy_media_of_port(p, 41001), 0);
	ck_assert_uint_eq(policy_media_of_port(p, 50020), 0);
	ck_assert_uint_eq(policy_media_of_port(p, 0), 0);
	policy_free(p);
	p = parse_ok("");
	ck_assert_uint_eq(policy_media_of_port(p, 49999), 0);
	ck_assert_uint_eq(policy_media_of_port(p, 50000), MEDIA_AUDIO);
	ck_assert_uint_eq(policy_media_of_port(p, 50039), MEDIA_VIDEO);
	ck_assert_uint_eq(policy_media_of_port(p, 50040), MEDIA_SCREEN);
	ck_assert_uint_eq(policy_media_of_port(p, 50059), MEDIA_SCREEN);
	ck_assert_uint_eq(policy_media_of_port(p, 50060), 0);
	policy_free(p);
}
END_TEST

/* "none" turns a type's port hint off: on a tenant without media ports,
 * a call whose ephemeral port falls in 50000-50059 is not taken for one
 * type. Stored as 0-0, written back as none. */
START_TEST(test_media_ports_none_turns_a_type_off)
{
	struct policy *p = parse_ok("options { media-ports audio none video "
				    "none screen-share none; }\n"),
		      *q;
	char *text;
	unsigned i, port;

	ck_assert(p->media_ports_set);
	for (i = 0; i < MEDIA_TYPES; i++) {
		ck_assert_uint_eq(p->media_lo[i], 0);
		ck_assert_uint_eq(p->media_hi[i], 0);
	}
	for (port = 0; port <= 65535; port++)
		ck_assert_uint_eq(policy_media_of_port(p, (uint16_t)port), 0);
	text = policy_format(p);
	ck_assert_ptr_nonnull(strstr(
		text,
		"\tmedia-ports audio none video none screen-share none;\n"));
	q = parse_ok(text);
	for (i = 0; i < MEDIA_TYPES; i++)
		ck_assert_uint_eq(q->media_hi[i], 0);
	free(text);
	policy_free(q);
	policy_free(p);
	/* one type off, the others Microsoft's; a range may then take its
	 * ports */
	p = parse_ok("options { media-ports video none audio 50020-50039; }\n");
	ck_assert_uint_eq(policy_media_of_port(p, 50001), 0);
	ck_assert_uint_eq(policy_media_of_port(p, 50025), MEDIA_AUDIO);
	ck_assert_uint_eq(policy_media_of_port(p, 50045), MEDIA_SCREEN);
	text = policy_format(p);
	ck_assert_ptr_nonnull(
		strstr(text, "\tmedia-ports audio 50020-50039 video none "
			     "screen-share 50040-50059;\n"));
	q = parse_ok(text);
	for (i = 0; i < MEDIA_TYPES; i++) {
		ck_assert_uint_eq(q->media_lo[i], p->media_lo[i]);
		ck_assert_uint_eq(q->media_hi[i], p->media_hi[i]);
	}
	free(text);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* finance: screen sharing and video dropped, audio marked EF, the rest of
 * Skype dropped. */
START_TEST(test_a_port_hint_decides_one_media_type)
{
	struct policy *p = parse_ok(media_policy);
	struct policy_decision d;

	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, MEDIA_AUDIO);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 1 + 46);
	ck_assert_int_eq(d.rule, 1);
	ck_assert_uint_eq(d.log, 1);
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, MEDIA_VIDEO);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_uint_eq(d.dscp, 0);
	ck_assert_int_eq(d.rule, 0);
	d = decide_media(p, "192.0.2.1", SF_PROTO_SKYPE_TEAMS, MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_int_eq(d.rule, 0);
	/* a flow that is no call's media: the media rules never match */
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_int_eq(d.rule, 2);
	ck_assert_uint_eq(d.dscp, 0);
	d = decide_media(p, "192.0.2.70", SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(d.action, ACT_THROTTLE);
	ck_assert_int_eq(d.rule, 3);
	/* and another app's flow never does either */
	d = decide_media(p, "192.0.2.70", 189, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_int_eq(d.rule, -1);
	policy_free(p);
}
END_TEST

/* A flow Teams multiplexes every type on gets the strictest of the rules
 * for each. */
START_TEST(test_a_flow_of_several_media_types_gets_the_strictest_rule)
{
	struct policy *p = parse_ok(media_policy);
	struct policy_decision d;

	/* finance: drop (video, screen sharing) beats EF (audio) */
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_uint_eq(d.dscp, 0);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_uint_eq(d.log, 0);
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS,
			 MEDIA_AUDIO | MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_DROP);
	/* eng: three allows; no mark (audio) beats any mark */
	d = decide_media(p, "192.0.2.70", SF_PROTO_TEAMS, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 0);
	ck_assert_int_eq(d.rule, 2);
	/* ... then the lower DSCP: AF21 (18, screen) before AF41 (34) */
	d = decide_media(p, "192.0.2.70", SF_PROTO_TEAMS,
			 MEDIA_VIDEO | MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 1 + 18);
	ck_assert_int_eq(d.rule, 1);
	/* SkypeCall is no teams match: its video falls to the throttle,
	 * which beats audio's allow */
	d = decide_media(p, "192.0.2.70", SF_PROTO_SKYPE_CALL,
			 MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_int_eq(d.action, ACT_THROTTLE);
	ck_assert_int_eq(d.rule, 3);
	/* a department without media rules: one pass, the rule as it is */
	d = decide_media(p, "192.0.2.130", SF_PROTO_TEAMS, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 1 + 8);
	ck_assert_int_eq(d.rule, 0);
	d = decide_media(p, "192.0.2.130", SF_PROTO_TEAMS, 0);
	ck_assert_uint_eq(d.dscp, 1 + 8);
	/* the default block: nothing matches, allow without a mark */
	d = decide_media(p, "198.51.100.1", SF_PROTO_TEAMS, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 0);
	ck_assert_int_eq(d.rule, -1);
	policy_free(p);
}
END_TEST

/* Equal decisions for two types: drop and reject rank alike, the first
 * type's rule is kept; an allow without a rule is as unmarked as one
 * with. */
START_TEST(test_equal_media_decisions_keep_the_first_type)
{
	struct policy *p = parse_ok("default {\n"
				    "  skype media video reject;\n"
				    "  skype media audio drop;\n"
				    "  skype media screen-share mark dscp 10;\n"
				    "}\n");
	struct policy_decision d;

	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_int_eq(d.rule, 1);
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS,
			 MEDIA_VIDEO | MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_REJECT);
	ck_assert_int_eq(d.rule, 0);
	policy_free(p);
	p = parse_ok("default { skype media screen-share mark dscp 10; }\n");
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS,
			 MEDIA_AUDIO | MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 0); /* audio: no rule, no mark */
	ck_assert_int_eq(d.rule, -1);
	d = decide_media(p, "192.0.2.1", SF_PROTO_TEAMS, MEDIA_SCREEN);
	ck_assert_uint_eq(d.dscp, 1 + 10);
	policy_free(p);
}
END_TEST

START_TEST(test_media_names_and_rule_descriptions)
{
	struct policy *p = parse_ok(media_policy);
	char buf[64];

	ck_assert_str_eq(policy_media_name(0, buf, sizeof(buf)), "none");
	ck_assert_str_eq(policy_media_name(MEDIA_AUDIO, buf, sizeof(buf)),
			 "audio");
	ck_assert_str_eq(policy_media_name(MEDIA_SCREEN, buf, sizeof(buf)),
			 "screen-share");
	ck_assert_str_eq(
		policy_media_name(MEDIA_VIDEO | MEDIA_SCREEN, buf, sizeof(buf)),
		"video,screen-share");
	ck_assert_str_eq(policy_media_name(MEDIA_ALL, buf, sizeof(buf)),
			 "audio,video,screen-share");
	/* cut short, never past the buffer */
	ck_assert_str_eq(policy_media_name(MEDIA_ALL, buf, 12), "audio,video");
	ck_assert_str_eq(
		policy_rule_describe(&p->depts[1].rules[1], buf, sizeof(buf)),
		"mark dscp 46");
	ck_assert_str_eq(
		policy_rule_describe(&p->depts[1].rules[0], buf, sizeof(buf)),
		"drop");
	policy_free(p);
}
END_TEST

START_TEST(test_format_writes_media_mark_ports_and_feed_back)
{
	struct policy *
		p = parse_ok(
		       "options {\n"
		       "  feed \"/var/lib/skyfence-endpoints/teams.signatures\";\n"
		       "  media-ports screen-share 50100-50119;\n"
		       "}\n"
		       "department finance {\n"
		       "  hosts 192.0.2.0/26;\n"
		       "  skype media screen-share, video drop;\n"
		       "  skype media audio mark dscp ef log;\n"
		       "  skype drop;\n"
		       "}\n"
		       "default { teams allow mark dscp AF41 confidence dpi; }\n"),
	       *q;
	char *text = policy_format(p), *again;
	unsigned i;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(
		text,
		"\tfeed \"/var/lib/skyfence-endpoints/teams.signatures\";\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\tmedia-ports audio 50000-50019 video "
			     "50020-50039 screen-share 50100-50119;\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\tskype media screen-share, video drop;\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\tskype media audio mark dscp ef log;\n"));
	q = parse_ok(text);
	ck_assert_str_eq(q->feed, p->feed);
	ck_assert_uint_eq(q->media_ports_set, 1);
	for (i = 0; i < MEDIA_TYPES; i++) {
		ck_assert_uint_eq(q->media_lo[i], p->media_lo[i]);
		ck_assert_uint_eq(q->media_hi[i], p->media_hi[i]);
	}
	ck_assert_uint_eq(q->has_dscp, 1);
	for (i = 0; i < p->depts[1].n_rules; i++) {
		ck_assert_uint_eq(q->depts[1].rules[i].media,
				  p->depts[1].rules[i].media);
		ck_assert_uint_eq(q->depts[1].rules[i].dscp,
				  p->depts[1].rules[i].dscp);
	}
	ck_assert_uint_eq(q->depts[0].rules[0].dscp, 1 + 34);
	again = policy_format(q);
	ck_assert_str_eq(text, again);
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
	/* neither written: neither written back */
	p = parse_ok("default { skype drop; }\n");
	text = policy_format(p);
	ck_assert_ptr_null(strstr(text, "media-ports"));
	ck_assert_ptr_null(strstr(text, "feed"));
	free(text);
	policy_free(p);
}
END_TEST

START_TEST(test_rule_set_and_del_match_the_media_qualifier)
{
	struct policy *p = parse_ok(media_policy), *q;
	uint32_t fin = dept_no(p, "finance"), eng = dept_no(p, "eng");
	struct policy_decision d;

	/* a new media rule goes first */
	q = changed(p, PCH_RULE_SET, "eng", "teams media audio drop");
	ck_assert_msg(q != NULL, "%s", errbuf);
	ck_assert_uint_eq(q->depts[eng].n_rules, 5);
	ck_assert_uint_eq(q->depts[eng].rules[0].media, MEDIA_AUDIO);
	d = decide_media(q, "192.0.2.70", SF_PROTO_TEAMS, MEDIA_AUDIO);
	ck_assert_int_eq(d.action, ACT_DROP);
	ck_assert_int_eq(d.rule, 0);
	d = decide_media(q, "192.0.2.70", SF_PROTO_SKYPE_CALL, MEDIA_AUDIO);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_int_eq(d.rule, 3);
	policy_free(q);
	/* the same types in another order are another match (to and port
	 * are compared as written too): a new rule, first, that hides the
	 * old one */
	q = changed(p, PCH_RULE_SET, "finance",
		    "skype media video, screen-share reject");
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(strstr(errbuf, "rule can never match"));
	/* the same match, its action replaced: in place, its mark gone */
	q = changed(p, PCH_RULE_SET, "finance", "skype media audio reject");
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->depts[fin].n_rules, 3);
	ck_assert_uint_eq(q->depts[fin].rules[1].action, ACT_REJECT);
	ck_assert_uint_eq(q->depts[fin].rules[1].dscp, 0);
	policy_free(q);
	/* mark dscp is an action for rule set */
	q = changed(p, PCH_RULE_SET, "finance",
		    "skype media screen-share,video mark dscp af21");
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->depts[fin].n_rules, 3);
	ck_assert_uint_eq(q->depts[fin].rules[0].action, ACT_ALLOW);
	ck_assert_uint_eq(q->depts[fin].rules[0].dscp, 1 + 18);
	policy_free(q);
	/* skype alone is another match than skype media ... */
	q = changed(p, PCH_RULE_DEL, "finance", "skype media audio");
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->depts[fin].n_rules, 2);
	ck_assert_uint_eq(q->depts[fin].rules[0].media,
			  MEDIA_SCREEN | MEDIA_VIDEO);
	ck_assert_uint_eq(q->depts[fin].rules[1].media, 0);
	policy_free(q);
	q = changed(p, PCH_RULE_DEL, "finance", "skype");
	ck_assert_uint_eq(q->depts[fin].n_rules, 2);
	ck_assert_uint_eq(q->depts[fin].rules[1].media, MEDIA_AUDIO);
	policy_free(q);
	{
		struct policy_change c = { PCH_RULE_DEL, "finance",
					   "skype media video", 0 };
		char err[256] = "";

		ck_assert_ptr_null(
			policy_format_change(p, &c, err, sizeof(err)));
		ck_assert_str_eq(
			err,
			"department 'finance' has no rule matching 'skype media video'");
	}
	/* a media rule behind the general one is refused, as in a file */
	q = changed(p, PCH_RULE_SET, "finance", "skype allow");
	ck_assert_ptr_nonnull(q);
	policy_free(q);
	q = changed(p, PCH_RULE_SET, "plain", "skype media video drop");
	ck_assert_ptr_nonnull(q);
	ck_assert(q->depts[dept_no(q, "plain")].has_media);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* The address list and the feed's file, handed to the loader together. */
static char loaded[2][256];
static int n_loads;

static struct addrsig *fake_load_addrsig(void *ctx, const char *path,
					 const char *feed,
					 void (*on_error)(void *, const char *),
					 void *ectx, unsigned *nerr)
{
	(void)ctx;
	n_loads++;
	snprintf(loaded[0], sizeof(loaded[0]), "%s", path);
	snprintf(loaded[1], sizeof(loaded[1]), "%s", feed);
	return addrsig_parse("empty", "", 0, &names, on_error, ectx, nerr);
}

START_TEST(test_feed_is_loaded_with_the_address_list)
{
	struct policy_names n = names;
	static const char *const texts[] = {
		"options { feed \"/s/teams.signatures\"; }\n",
		"options { address-list \"/etc/a\"; feed \"/s/t\"; }\n",
		"options { address-list \"/etc/a\"; }\n",
		"default { skype drop; }\n",
	};
	static const char *const want[][2] = {
		{ "", "/s/teams.signatures" },
		{ "/etc/a", "/s/t" },
		{ "/etc/a", "" },
	};
	unsigned i, nerr;

	n.load_addrsig = fake_load_addrsig;
	for (i = 0; i < 4; i++) {
		struct policy *p;

		n_loads = 0;
		p = policy_parse_text("t", texts[i], strlen(texts[i]), &n, NULL,
				      NULL, &nerr);
		ck_assert_ptr_nonnull(p);
		if (i < 3) {
			ck_assert_int_eq(n_loads, 1);
			ck_assert_str_eq(loaded[0], want[i][0]);
			ck_assert_str_eq(loaded[1], want[i][1]);
			ck_assert_ptr_nonnull(p->addrsig);
		} else {
			ck_assert_int_eq(n_loads, 0);
			ck_assert_ptr_null(p->addrsig);
		}
		policy_free(p);
	}
}
END_TEST

/* ---- schedules: windows, rules with time, temporary rules ---- */

#define T_NOW 1796644800LL /* 2026-12-07T12:00:00Z, a Monday */

static void keep_time_error(void *ctx, const char *msg)
{
	unsigned *n = ctx;

	if ((*n)++)
		strcat(errbuf, "\n");
	strcat(errbuf, msg);
}

/* Parses @text as the policy checked at T_NOW (@internal: as the
 * running policy's own text); errors in errbuf as parse() does. */
static struct policy *parse_at(const char *text, int internal)
{
	struct policy_names n = names;
	unsigned nerr = 0, i = 0;
	struct policy *p;

	n.now = T_NOW;
	n.internal = internal;
	errbuf[0] = '\0';
	p = policy_parse_text("t", text, strlen(text), &n, keep_time_error, &i,
			      &nerr);
	return p;
}

static const struct {
	const char *text, *errors;
} broken_time[] = {
	/* zones */
	{ "window w { zone \"Europe/Berln\"; time 08:00-09:00; }",
	  "t:1:17: unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)" },
	{ "options { zone \"america/new_york\"; }",
	  "t:1:16: unknown time zone 'america/new_york' (did you mean 'America/New_York'?)" },
	{ "window w { time 08:00-09:00; }",
	  "t:1:8: window 'w' has no zone, nor do the options: its times are ambiguous (write zone \"Europe/Berlin\"; in the window or in the options)" },
	/* times and dates */
	{ "window w { zone UTC; time 08:00-12:00, 11:00-13:00; }",
	  "t:1:40: time range '11:00-13:00' overlaps 08:00-12:00 in window 'w'" },
	{ "window w { zone UTC; time 22:00-06:00, 05:00-07:00; }",
	  "t:1:40: time range '05:00-07:00' overlaps 22:00-06:00 in window 'w'" },
	{ "window w { zone UTC; time 08:00-08:00; }",
	  "t:1:27: empty time range '08:00-08:00' (00:00-24:00 is the whole day)" },
	{ "window w { zone UTC; time 25:00-26:00; }",
	  "t:1:27: invalid time range '25:00-26:00' (HH:MM-HH:MM, hours 00 to 23, e.g. 08:00-18:00; 24:00 may end one)" },
	{ "window w { zone UTC; days mon; }",
	  "t:1:8: window 'w' has no 'time' (e.g. time 08:00-18:00;)" },
	{ "window w { zone UTC; time ; }",
	  "t:1:27: expected a time range (e.g. 08:00-18:00) after 'time', got ';'" },
	{ "window w { zone UTC; time 08:00-09:00; dates 2027-02-29; }",
	  "t:1:46: invalid date '2027-02-29' (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, a day that exists)" },
	{ "window w { zone UTC; time 08:00-09:00; dates 2027-03-01..2027-02-01; }",
	  "t:1:46: date range '2027-03-01..2027-02-01' ends before it starts" },
	{ "window w { zone UTC; time 08:00-09:00;\n"
	  "  dates 2027-01-01..2027-01-31, 2027-01-15; }",
	  "t:2:33: '2027-01-15' overlaps another date of 'dates' in window 'w'" },
	{ "window w { zone UTC; days mon, tue-thu, wed; time 08:00-09:00; }",
	  "t:1:41: day 'wed' listed twice in window 'w'" },
	{ "window w { zone UTC; days monday; time 08:00-09:00; }",
	  "t:1:27: invalid day 'monday' (mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri)" },
	{ "window w { zone UTC; time 08:00-09:00; colour red; }",
	  "t:1:40: unknown statement 'colour' in window 'w' (expected zone, days, time, dates or except)" },
	{ "window w { zone UTC; time 08:00-09:00; time 10:00-11:00; }",
	  "t:1:40: duplicate 'time' in window 'w'" },
	{ "window w { zone UTC; time 08:00-09:00; }\n"
	  "window w { zone UTC; time 08:00-09:00; }",
	  "t:2:8: duplicate window 'w' (first defined at line 1)" },
	/* never opens again */
	{ "window w { zone UTC; time 08:00-09:00; dates 2020-01-01..2020-12-31; }",
	  "t:1:8: window 'w' never opens again after now (its dates are past, or except and days cover them)" },
	{ "window w { zone UTC; time 08:00-09:00; dates 2027-01-01;\n"
	  "  except 2027-01-01; }",
	  "t:1:8: window 'w' never opens again after now (its dates are past, or except and days cover them)" },
	{ "window w { zone UTC; days sat; time 08:00-09:00; dates 2027-01-04..2027-01-08; }",
	  "t:1:8: window 'w' never opens again after now (its dates are past, or except and days cover them)" },
	/* rules */
	{ "window w { zone UTC; time 00:00-24:00; }\n"
	  "department d { hosts 192.0.2.0/24; teams drop outside w cut; }",
	  "t:2:55: rule never applies: window 'w' is always open, so 'outside w' never holds" },
	{ "department d { hosts 192.0.2.0/24; teams drop until 2026-12-07T12:00:00Z cut; }",
	  "t:1:53: rule never applies: 'until 2026-12-07T12:00:00Z' (2026-12-07T12:00:00Z) is not after now (2026-12-07T12:00:00Z)" },
	{ "department d { hosts 192.0.2.0/24; teams drop until 2027-01-01 cut; }",
	  "t:1:53: 'until 2027-01-01' is a local time, and the options set no zone: it is ambiguous (add Z or an offset such as +01:00, or options { zone \"Europe/Berlin\"; })" },
	{ "department d { hosts 192.0.2.0/24; teams drop until 2027-01-01T25:00Z cut; }",
	  "t:1:53: invalid time '2027-01-01T25:00Z' (YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, then Z, an offset such as +01:00, or nothing for the options' zone)" },
	{ "window w { zone UTC; time 08:00-09:00; }\n"
	  "department d { hosts 192.0.2.0/24; teams drop during w; }",
	  "t:2:47: a rule with time says what its boundary does to established flows: add 'cut' (decided again at once) or 'finish' (they run on)" },
	{ "department d { hosts 192.0.2.0/24; teams drop cut; }",
	  "t:1:47: 'cut' goes with a time (during WINDOW, outside WINDOW or until TIME): a rule without time has no boundary" },
	{ "department d { hosts 192.0.2.0/24; teams drop during offce cut; }\n"
	  "window office { zone UTC; time 08:00-09:00; }",
	  "t:1:54: unknown window 'offce' (did you mean 'office'?)" },
	{ "window w { zone UTC; time 08:00-09:00; }\n"
	  "department d { hosts 192.0.2.0/24; teams drop during w cut finish; }",
	  "t:2:60: 'finish' after 'cut': a rule says one of them" },
	{ "window w { zone UTC; time 08:00-09:00; }\n"
	  "department d { hosts 192.0.2.0/24; teams drop during w outside w cut; }",
	  "t:2:56: one window per rule: 'outside' after 'during w' (define a window that holds both)" },
	{ "department d { hosts 192.0.2.0/24; teams drop during; }",
	  "t:1:53: expected a window's name after 'during', got ';'" },
	/* shadowed, taught about time */
	{ "window w { zone UTC; time 08:00-12:00; }\n"
	  "department d { hosts 192.0.2.0/24;\n"
	  "  teams drop during w cut;\n  teams allow during w cut; }",
	  "t:4:3: rule can never match: the rule at line 3 already matches all of its flows" },
	{ "window w { zone UTC; time 08:00-12:00; }\n"
	  "department d { hosts 192.0.2.0/24;\n"
	  "  teams drop;\n  teams allow during w cut; }",
	  "t:4:3: rule can never match: the rule at line 3 already matches all of its flows" },
	{ "department d { hosts 192.0.2.0/24;\n"
	  "  teams drop until 2027-02-01T00:00:00Z cut;\n"
	  "  teams allow until 2027-01-01T00:00:00Z cut; }",
	  "t:3:3: rule can never match: the rule at line 2 already matches all of its flows" },
	/* partial overlap of one match's timed rules */
	{ "window w { zone UTC; time 08:00-12:00; }\n"
	  "department d { hosts 192.0.2.0/24;\n"
	  "  teams drop during w cut;\n"
	  "  teams allow until 2026-12-08T10:00:00Z cut; }",
	  "t:4:3: ambiguous: order decides: this rule and the rule at line 3 match the same flows with other actions, and their times overlap in part (nest them, the exception first, or make them disjoint)" },
	{ "window w { zone UTC; time 08:00-12:00; }\n"
	  "window v { zone UTC; time 10:00-14:00; }\n"
	  "department d { hosts 192.0.2.0/24;\n"
	  "  teams drop during w cut;\n  teams allow during v cut; }",
	  "t:5:3: ambiguous: order decides: this rule and the rule at line 4 match the same flows with other actions, and their times overlap in part (nest them, the exception first, or make them disjoint)" },
};

START_TEST(test_broken_schedules_report_exact_errors)
{
	struct policy *p = parse_at(broken_time[_i].text, 0);

	ck_assert_ptr_null(p);
	ck_assert_str_eq(errbuf, broken_time[_i].errors);
}
END_TEST

/* Legal: the cover is not claimed where it is not one. */
static const char *const fine_time[] = {
	/* nested, the exception first */
	"window w { zone UTC; time 08:00-12:00; }\n"
	"window v { zone UTC; time 09:00-10:00; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams drop during v cut;\n  teams allow during w cut; }",
	/* disjoint */
	"window w { zone UTC; time 08:00-12:00; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams drop during w cut;\n  teams allow outside w cut; }",
	/* a timed rule, then the same match without time */
	"window w { zone UTC; time 08:00-12:00; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams drop during w cut;\n  teams allow; }",
	/* finish does not cover cut: flows it found running differ */
	"window w { zone UTC; time 08:00-12:00; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams allow during w finish;\n  teams drop during w cut; }",
	/* an earlier until does not cover a later one */
	"department d { hosts 192.0.2.0/24;\n"
	"  teams drop until 2027-01-01T00:00:00Z cut;\n"
	"  teams allow until 2027-02-01T00:00:00Z cut; }",
	/* a local until in the options' zone, and offsets */
	"options { zone \"Europe/Berlin\"; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams allow until 2026-12-24 cut;\n"
	"  skype allow until 2026-12-24T18:00+01:00 finish; }",
	/* a temporary rule first is an exception while it lasts, even
	 * across the later rule's boundaries (rule add puts one first) */
	"window w { zone UTC; time 08:00-12:00; }\n"
	"department d { hosts 192.0.2.0/24;\n"
	"  teams allow until 2026-12-08T10:00:00Z cut;\n"
	"  teams drop during w cut; }",
	/* a window used before it is defined */
	"department d { hosts 192.0.2.0/24; teams drop during later cut; }\n"
	"window later { zone UTC; days fri-mon; time 22:00-06:00; }",
};

START_TEST(test_legal_schedules_parse)
{
	struct policy *p = parse_at(fine_time[_i], 0);

	ck_assert_msg(p != NULL, "%s\n---\n%s", errbuf, fine_time[_i]);
	policy_free(p);
}
END_TEST

START_TEST(test_windows_and_time_words_round_trip)
{
	static const char text[] =
		"options { zone \"Europe/Berlin\"; }\n"
		"department sales {\n"
		"  hosts 198.51.100.0/24;\n"
		"  teams allow during office finish log;\n"
		"  teams drop outside office cut;\n"
		"  protocol Zoom allow until 2026-12-24 cut;\n"
		"  protocol HTTP drop until 2026-12-24T18:00+01:00 during nightly finish;\n"
		"}\n"
		"window office {\n"
		"  days mon-fri;\n"
		"  time 08:00-12:00, 13:00-18:00;\n"
		"  dates 2026-12-01..2027-03-31, 2027-05-03;\n"
		"  except 2026-12-24..2026-12-26;\n"
		"}\n"
		"window nightly { zone \"America/New_York\"; days sat, sun, wed, mon;\n"
		"  time 22:00-24:00, 00:00-06:00; }\n";
	struct policy *p = parse_at(text, 0), *q;
	char *a, *b;

	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->n_windows, 4); /* two named, two until */
	ck_assert_str_eq(p->windows[0].name, "office");
	ck_assert_uint_eq(p->windows[0].days, 0x1f);
	ck_assert_uint_eq(p->windows[0].n_ranges, 2);
	ck_assert_uint_eq(p->windows[0].ranges[1].end, 18 * 60);
	ck_assert_uint_eq(p->windows[1].days, 0x65);
	ck_assert_uint_eq(p->windows[2].kind, WIN_UNTIL);
	ck_assert_int_eq(p->windows[2].until, 1798066800); /* 23:00Z */
	ck_assert_int_eq(p->windows[3].until, 1798131600); /* 17:00Z */
	ck_assert_uint_eq(p->win_used, 0xf);
	ck_assert_int_eq(p->depts[1].rules[0].win, 0);
	ck_assert_uint_eq(p->depts[1].rules[0].boundary, BOUNDARY_FINISH);
	ck_assert_uint_eq(p->depts[1].rules[1].win_outside, 1);
	ck_assert_int_eq(p->depts[1].rules[2].tmp, 2);
	ck_assert_int_eq(p->depts[1].rules[3].win, 1);
	ck_assert_int_eq(p->depts[1].rules[3].tmp, 3);
	a = policy_format(p);
	ck_assert_ptr_nonnull(
		strstr(a, "\nwindow office {\n\tzone \"Europe/Berlin\";\n"
			  "\tdays mon-fri;\n\ttime 08:00-12:00, 13:00-18:00;\n"
			  "\tdates 2026-12-01..2027-03-31, 2027-05-03;\n"
			  "\texcept 2026-12-24..2026-12-26;\n}\n"));
	ck_assert_ptr_nonnull(
		strstr(a, "\nwindow nightly {\n\tzone \"America/New_York\";\n"
			  "\tdays mon, wed, sat, sun;\n"
			  "\ttime 22:00-24:00, 00:00-06:00;\n}\n"));
	ck_assert_ptr_nonnull(strstr(a, "\tzone \"Europe/Berlin\";\n}\n"));
	ck_assert_ptr_nonnull(
		strstr(a, "\tteams allow log during office finish;\n"));
	ck_assert_ptr_nonnull(strstr(a, "\tteams drop outside office cut;\n"));
	ck_assert_ptr_nonnull(strstr(
		a, "\tprotocol Zoom allow until 2026-12-23T23:00:00Z cut;\n"));
	ck_assert_ptr_nonnull(strstr(
		a,
		"\tprotocol HTTP drop during nightly until 2026-12-24T17:00:00Z finish;\n"));
	/* windows come before the departments */
	ck_assert(strstr(a, "window office") < strstr(a, "department"));
	q = parse_at(a, 0);
	ck_assert_msg(q != NULL, "%s\n---\n%s", errbuf, a);
	b = policy_format(q);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* The decision for a Teams flow of 192.0.2.5 with the windows as the
 * schedule would apply them at @t (win_at @t), the flow started at
 * @start (0: unknown). */
static uint8_t teams_at(const struct policy *p, int64_t t, int64_t start)
{
	struct flow_facts f;
	struct policy_decision d;
	uint8_t a[16];

	v4(a, "192.0.2.5");
	memset(&f, 0, sizeof(f));
	f.internal = a;
	f.app = 250;
	f.confidence = CLS_CONF_DPI;
	f.evidence = CLS_EV_PAYLOAD;
	f.win_mask = policy_windows_at(p, t);
	f.win_at = t;
	f.start = start;
	policy_decide(p, &f, &d);
	return d.action;
}

START_TEST(test_decisions_at_instants)
{
	struct policy *p = parse_at(
		"window office { zone \"Europe/Berlin\"; days mon-fri;\n"
		"  time 08:00-18:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during office cut; }\n",
		0);
	struct policy *q;
	struct flow_facts f;
	struct policy_decision d;
	uint8_t a[16];

	ck_assert_msg(p != NULL, "%s", errbuf);
	/* Monday 2027-01-04, Berlin (CET): 07:59:59 and 08:00:00 */
	ck_assert_uint_eq(teams_at(p, 1799045999, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(p, 1799046000, 0), ACT_DROP);
	/* Monday after the spring change: 08:00 CEST is 06:00Z */
	ck_assert_uint_eq(teams_at(p, 1806300000 - 1, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(p, 1806300000, 0), ACT_DROP);
	/* a zeroed flow_facts (as the engine's tests build them): every
	 * timed rule's window closed */
	v4(a, "192.0.2.5");
	memset(&f, 0, sizeof(f));
	f.internal = a;
	f.app = 250;
	f.confidence = CLS_CONF_DPI;
	policy_decide(p, &f, &d);
	ck_assert_uint_eq(d.action, ACT_ALLOW);
	ck_assert_int_eq(d.rule, -1);
	policy_free(p);
	/* the spring gap: 02:30 on 2027-03-28 does not exist, the window
	 * opens when the gap ends, 03:00 CEST (01:00Z); the autumn overlap:
	 * 02:30 on 2027-10-31 is its first occurrence (CEST, 00:30Z) */
	q = parse_at(
		"window spring { zone \"Europe/Berlin\"; days sun;\n"
		"  time 02:30-05:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during spring cut; }\n",
		0);
	ck_assert_msg(q != NULL, "%s", errbuf);
	ck_assert_uint_eq(teams_at(q, 1806195600 - 1, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(q, 1806195600, 0), ACT_DROP);
	ck_assert_uint_eq(teams_at(q, 1824942600 - 1, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(q, 1824942600, 0), ACT_DROP);
	policy_free(q);
	/* across midnight: Friday 22:00 to Saturday 06:00 UTC */
	q = parse_at(
		"window night { zone UTC; days fri; time 22:00-06:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during night cut; }\n",
		0);
	ck_assert_msg(q != NULL, "%s", errbuf);
	ck_assert_uint_eq(teams_at(q, 1799362800, 0), ACT_ALLOW); /* Thu */
	ck_assert_uint_eq(teams_at(q, 1799449200, 0), ACT_DROP);  /* Fri 23 */
	ck_assert_uint_eq(teams_at(q, 1799474399, 0),
			  ACT_DROP); /* Sat 05:59:59 */
	ck_assert_uint_eq(teams_at(q, 1799474400, 0), ACT_ALLOW); /* 06:00 */
	policy_free(q);
}
END_TEST

START_TEST(test_cut_and_finish_at_a_boundary)
{
	/* office opens Monday 2027-01-04 08:00 CET (07:00Z) */
	const int64_t open = 1799046000, before = open - 3600,
		      after = open + 3600;
	struct policy *cut = parse_at(
		"window office { zone \"Europe/Berlin\"; days mon-fri;\n"
		"  time 08:00-18:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during office cut; }\n",
		0);
	struct policy *fin = parse_at(
		"window office { zone \"Europe/Berlin\"; days mon-fri;\n"
		"  time 08:00-18:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during office finish; }\n",
		0);

	ck_assert_msg(cut && fin, "%s", errbuf);
	/* a flow that started before the boundary, decided again after it:
	 * cut drops it, finish lets it run */
	ck_assert_uint_eq(teams_at(cut, after, before), ACT_DROP);
	ck_assert_uint_eq(teams_at(fin, after, before), ACT_ALLOW);
	/* a flow that started after it: both drop */
	ck_assert_uint_eq(teams_at(cut, after, open + 60), ACT_DROP);
	ck_assert_uint_eq(teams_at(fin, after, open + 60), ACT_DROP);
	/* a flow started at the boundary itself counts as after it */
	ck_assert_uint_eq(teams_at(fin, open, open), ACT_DROP);
	/* start unknown: taken as now */
	ck_assert_uint_eq(teams_at(fin, after, 0), ACT_DROP);
	/* and the other way: a flow that started inside the window keeps
	 * finish's drop after it closes (18:00 CET is 17:00Z) */
	ck_assert_uint_eq(teams_at(fin, open + 11 * 3600, open + 60), ACT_DROP);
	ck_assert_uint_eq(teams_at(cut, open + 11 * 3600, open + 60),
			  ACT_ALLOW);
	policy_free(cut);
	policy_free(fin);
}
END_TEST

/* A finish rule asks its own window at a flow's start, whatever the
 * policy's other windows (64 of them: its bit is the last). */
START_TEST(test_finish_asks_its_own_window_among_64)
{
	char text[16384];
	size_t o = 0;
	struct policy *p;
	unsigned i;
	/* office opens Monday 2027-01-04 08:00 CET (07:00Z) */
	const int64_t open = 1799046000;
	struct timespec t0, t1;
	struct flow_facts f;
	struct policy_decision d;
	uint8_t a[16];

	for (i = 0; i < WIN_MAX - 1; i++)
		o += (size_t)snprintf(
			text + o, sizeof(text) - o,
			"window w%u { zone UTC; time "
			"00:00-01:00, 06:00-07:00, 12:00-13:00; }\n",
			i);
	snprintf(text + o, sizeof(text) - o,
		 "window office { zone \"Europe/Berlin\"; days mon-fri;\n"
		 "  time 08:00-18:00; }\n"
		 "department a { hosts 192.0.2.0/28;\n"
		 "  teams allow during office finish; teams drop; }\n");
	p = parse_at(text, 0);
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->n_windows, WIN_MAX);
	ck_assert_int_eq(p->depts[1].rules[0].win, WIN_MAX - 1);
	/* after 18:00 CET (17:00Z): a call started at 17:30 runs on, one
	 * started at 07:30 (office closed; w* open at 06:xxZ) is dropped,
	 * as is one started after the close */
	ck_assert_uint_eq(teams_at(p, open + 10 * 3600 + 60, open + 9 * 3600),
			  ACT_ALLOW);
	ck_assert_uint_eq(teams_at(p, open + 10 * 3600 + 60, open - 1800),
			  ACT_DROP);
	ck_assert_uint_eq(
		teams_at(p, open + 10 * 3600 + 60, open + 10 * 3600 + 30),
		ACT_DROP);
	/* and only it: 20,000 such decisions (a walk at a boundary) took
	 * 5 s when every window was computed, now milliseconds (the
	 * bound leaves room for valgrind) */
	v4(a, "192.0.2.5");
	memset(&f, 0, sizeof(f));
	f.internal = a;
	f.app = 250;
	f.confidence = CLS_CONF_DPI;
	f.evidence = CLS_EV_PAYLOAD;
	f.win_mask = policy_windows_at(p, open + 10 * 3600 + 60);
	f.win_at = open + 10 * 3600 + 60;
	f.start = open + 9 * 3600;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 20000; i++)
		policy_decide(p, &f, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(d.action, ACT_ALLOW);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 +
				 (t1.tv_nsec - t0.tv_nsec) / 1000000,
			 2000);
	policy_free(p);
}
END_TEST

START_TEST(test_a_temporary_rule_expires)
{
	/* allowed until 2026-12-07T14:00:00Z, dropped after */
	struct policy *p = parse_at(
		"department a { hosts 192.0.2.0/28;\n"
		"  teams allow until 2026-12-07T14:00:00Z cut; teams drop; }\n",
		0);
	uint8_t a[16];
	struct flow_facts f;

	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(teams_at(p, T_NOW, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(p, T_NOW + 7199, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(p, T_NOW + 7200, 0), ACT_DROP);
	/* a timed drop rule counts for policy_may_refuse, whatever the
	 * windows' state now: it may apply later */
	policy_free(p);
	p = parse_at(
		"window w { zone UTC; time 08:00-09:00; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during w cut; }\n",
		0);
	ck_assert_msg(p != NULL, "%s", errbuf);
	v4(a, "192.0.2.5");
	memset(&f, 0, sizeof(f));
	f.internal = a;
	ck_assert_int_eq(policy_may_refuse(p, &f), 1);
	policy_free(p);
}
END_TEST

START_TEST(test_internal_keeps_an_expired_temporary_rule)
{
	static const char text[] =
		"department a { hosts 192.0.2.0/28;\n"
		"  teams drop until 2026-12-01T00:00:00Z finish; }\n";
	struct policy *p = parse_at(text, 0);

	ck_assert_ptr_null(p);
	ck_assert_str_eq(
		errbuf,
		"t:2:20: rule never applies: 'until 2026-12-01T00:00:00Z' (2026-12-01T00:00:00Z) is not after now (2026-12-07T12:00:00Z)");
	p = parse_at(text, 1);
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_ptr_nonnull(p->notes);
	ck_assert_str_eq(
		p->notes,
		"t:2:20: note: temporary rule expired at 2026-12-01T00:00:00Z (kept: flows a finish rule found running follow it)\n");
	ck_assert_uint_eq(p->depts[1].n_rules, 1);
	/* a flow that started before it expired still follows it; a new
	 * one does not */
	ck_assert_uint_eq(teams_at(p, T_NOW, 1796000000), ACT_DROP);
	ck_assert_uint_eq(teams_at(p, T_NOW, T_NOW), ACT_ALLOW);
	policy_free(p);
	/* a window whose dates are past: the same */
	p = parse_at(
		"window w { zone UTC; time 08:00-09:00;\n"
		"  dates 2026-11-01..2026-11-30; }\n"
		"department a { hosts 192.0.2.0/28; teams drop during w finish; }\n",
		1);
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_str_eq(
		p->notes,
		"t:1:8: note: window 'w' never opens again (its dates are past, or except covers them)\n");
	policy_free(p);
}
END_TEST

/* The day after: a temporary rule of the same match expired (kept in
 * the running policy), and rule add puts another first. The expired one
 * is not reported as shadowed: rule add is not refused. */
START_TEST(test_rule_add_again_after_one_expired)
{
	struct policy *p = parse_at(
		"department a { hosts 192.0.2.0/28;\n"
		"  teams allow until 2026-12-06T18:00:00Z finish;\n"
		"  teams allow until 2026-12-06T17:00:00Z cut; teams drop; }\n",
		1);
	struct policy_change c = { PCH_RULE_ADD, "a",
				   "teams allow for 2h finish", T_NOW };
	char err[256] = "", *text;
	struct policy *q;

	ck_assert_msg(p != NULL, "%s", errbuf);
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	q = parse_at(text, 1);
	ck_assert_msg(q != NULL, "%s\n---\n%s", errbuf, text);
	ck_assert_uint_eq(q->depts[1].n_rules, 4);
	ck_assert_uint_eq(teams_at(q, T_NOW + 60, T_NOW + 30), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(q, T_NOW + 7200, T_NOW + 7200), ACT_DROP);
	/* a flow started yesterday, decided again now: the finish rules
	 * as they were at its start */
	ck_assert_uint_eq(teams_at(q, T_NOW, 1796580000), ACT_ALLOW);
	free(text);
	policy_free(q);
	/* a live temporary rule after a longer one is still refused */
	policy_free(p);
	p = parse_at("department a { hosts 192.0.2.0/28;\n"
		     "  teams allow until 2026-12-08T00:00:00Z cut;\n"
		     "  teams allow until 2026-12-07T18:00:00Z cut; }\n",
		     1);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(
		errbuf,
		"t:3:3: rule can never match: the rule at line 2 already matches all of its flows");
}
END_TEST

START_TEST(test_rule_add_puts_a_temporary_rule_first)
{
	struct policy *
		p = parse_at(
		       "department a { hosts 192.0.2.0/28; teams drop; }\n", 0),
	       *q;
	struct policy_change c = { PCH_RULE_ADD, "a", "teams allow for 2h cut",
				   T_NOW };
	char err[256] = "", *text;

	ck_assert_msg(p != NULL, "%s", errbuf);
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_nonnull(
		strstr(text, "\tteams allow until 2026-12-07T14:00:00Z cut;\n"
			     "\tteams drop;\n"));
	q = parse_at(text, 1);
	ck_assert_msg(q != NULL, "%s", errbuf);
	ck_assert_uint_eq(q->depts[1].n_rules, 2);
	ck_assert_uint_eq(teams_at(q, T_NOW + 7199, 0), ACT_ALLOW);
	ck_assert_uint_eq(teams_at(q, T_NOW + 7200, 0), ACT_DROP);
	free(text);
	policy_free(q);
	/* until TIME as is; a rule add without time is a rule put first */
	c.arg = "skype allow until 2027-01-01T00:00:00Z finish";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(
		text, "\tskype allow until 2027-01-01T00:00:00Z finish;\n"));
	free(text);
	c.arg = "protocol Zoom reject";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_ptr_nonnull(
		strstr(text, "\tprotocol Zoom reject;\n\tteams drop;\n"));
	free(text);
	policy_free(p);
}
END_TEST

static const struct {
	enum policy_change_kind kind;
	const char *arg, *msg;
} bad_time_changes[] = {
	{ PCH_RULE_ADD, "teams allow for 0h cut",
	  "'for 0h': a duration is a number and a unit, s, m, h or d" },
	{ PCH_RULE_ADD, "teams allow for 367d cut", "of at most 366 days" },
	{ PCH_RULE_ADD, "teams allow for 2 cut", "'for 2': a duration" },
	{ PCH_RULE_ADD, "teams allow for 2h until 2027-01-01 cut",
	  "a temporary rule ends once: 'for DURATION' or 'until TIME'" },
	{ PCH_RULE_ADD, "teams for 2h cut", "has no action" },
	{ PCH_RULE_ADD, "", "which rule? (a match and an action" },
	{ PCH_RULE_SET, "teams allow for 2h cut",
	  "'for DURATION' goes with rule add" },
	/* an until already past: the running policy's text is parsed as
	 * internal (expired rules kept), so edit.c refuses it itself */
	{ PCH_RULE_ADD, "teams allow until 2026-12-07T12:00:00Z cut",
	  "rule never applies: 'until 2026-12-07T12:00:00Z' "
	  "(2026-12-07T12:00:00Z) is not after now (2026-12-07T12:00:00Z)" },
	{ PCH_RULE_ADD, "teams allow log until 2026-12-07T13:00+02:00 finish",
	  "(2026-12-07T11:00:00Z) is not after now" },
};

START_TEST(test_time_changes_that_cannot_be_written_are_refused)
{
	struct policy *p = parse_at(
		"department a { hosts 192.0.2.0/28; teams drop; }\n", 0);
	struct policy_change c = { bad_time_changes[_i].kind, "a",
				   bad_time_changes[_i].arg, T_NOW };
	char err[256] = "";

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(policy_format_change(p, &c, err, sizeof(err)));
	ck_assert_msg(strstr(err, bad_time_changes[_i].msg) != NULL,
		      "change %d: '%s' lacks '%s'", _i, err,
		      bad_time_changes[_i].msg);
	policy_free(p);
}
END_TEST

/* A temporary rule, once put first, shares its match with the
 * department's other rules: rule del of the whole rule (as policy show
 * writes it) removes it alone; of the match, all of them, as before. A
 * local "until" today (a date: its midnight, past) is refused. */
/* rule set replaces the action of the rules of its match and keeps each
 * one's time words, unless it says a time of its own: never a timed rule
 * turned into one that holds at all times */
START_TEST(test_rule_set_keeps_each_rules_time)
{
	struct policy *p =
		parse_at("options { zone \"Europe/Berlin\"; }\n"
			 "window office { time 08:00-18:00; }\n"
			 "department a { hosts 192.0.2.0/28;\n"
			 "  teams allow during office finish;\n"
			 "  teams drop outside office cut; skype drop; }\n",
			 0);
	struct policy_change c = { PCH_RULE_SET, "a", "teams reject", T_NOW };
	char err[256] = "", *text;

	ck_assert_msg(p != NULL, "%s", errbuf);
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(text,
				     "\tteams reject during office finish;\n"
				     "\tteams reject outside office cut;\n"
				     "\tskype drop;\n"));
	free(text);
	/* a time of its own replaces theirs (and the checker then says
	 * what it makes of two rules alike) */
	c.arg = "teams allow during office cut";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(text,
				     "\tteams allow during office cut;\n"
				     "\tteams allow during office cut;\n"));
	free(text);
	/* an untimed match's rule stays untimed */
	c.arg = "skype allow";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(text, "\tskype allow;\n"));
	free(text);
	policy_free(p);
}
END_TEST

START_TEST(test_rule_del_of_a_whole_rule_keeps_the_others)
{
	struct policy *p =
		parse_at("options { zone \"Europe/Berlin\"; }\n"
			 "window office { time 08:00-18:00; }\n"
			 "department a { hosts 192.0.2.0/28;\n"
			 "  teams allow until 2026-12-07T14:00:00Z cut;\n"
			 "  teams allow during office finish; teams drop; }\n",
			 0);
	struct policy_change c = {
		PCH_RULE_DEL, "a",
		"teams  allow until 2026-12-07T14:00:00Z cut", T_NOW
	};
	char err[256] = "", *text;

	ck_assert_msg(p != NULL, "%s", errbuf);
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(text,
				     "\thosts 192.0.2.0/28;\n"
				     "\tteams allow during office finish;\n"
				     "\tteams drop;\n}\n"));
	free(text);
	c.arg = "teams drop";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_null(strstr(text, "\tteams drop;"));
	ck_assert_ptr_nonnull(strstr(text, "\tteams allow during office"));
	free(text);
	/* a rule it does not name exactly: refused, nothing removed */
	c.arg = "teams allow until 2026-12-07T15:00:00Z cut";
	ck_assert_ptr_null(policy_format_change(p, &c, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "has no rule matching"));
	/* the match alone: every rule written with it */
	c.arg = "teams";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	ck_assert_ptr_null(strstr(text, "\tteams allow"));
	ck_assert_ptr_null(strstr(text, "\tteams drop"));
	free(text);
	c.kind = PCH_RULE_ADD;
	c.arg = "skype allow until 2026-12-07 cut";
	ck_assert_ptr_null(policy_format_change(p, &c, err, sizeof(err)));
	ck_assert_str_eq(
		err,
		"rule never applies: 'until 2026-12-07' (2026-12-06T23:00:00Z) is not after now (2026-12-07T12:00:00Z)");
	c.arg = "skype allow until 2026-12-08 cut";
	text = policy_format_change(p, &c, err, sizeof(err));
	ck_assert_msg(text != NULL, "%s", err);
	free(text);
	policy_free(p);
}
END_TEST

START_TEST(test_rule_add_durations)
{
	static const struct {
		const char *arg, *until;
	} d[] = {
		{ "teams allow for 90m cut", "2026-12-07T13:30:00Z" },
		{ "teams allow for 1d finish", "2026-12-08T12:00:00Z" },
		{ "teams allow for 45s cut", "2026-12-07T12:00:45Z" },
		{ "teams allow log for 366d cut", "2027-12-08T12:00:00Z" },
	};
	struct policy *p = parse_at(
		"department a { hosts 192.0.2.0/28; teams drop; }\n", 0);
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		struct policy_change c = { PCH_RULE_ADD, "a", d[i].arg, T_NOW };
		char err[256] = "", *text;

		text = policy_format_change(p, &c, err, sizeof(err));
		ck_assert_msg(text && strstr(text, d[i].until), "%s: %s",
			      d[i].arg, text ? text : err);
		free(text);
	}
	policy_free(p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *c = tcase_create("constructs"), *b = tcase_create("broken");

	tcase_add_test(c, test_empty_policy_allows_everything);
	tcase_add_test(c, test_departments_matched_by_longest_prefix);
	tcase_add_test(c, test_internal_networks_are_declared);
	tcase_add_test(c, test_skype_group_matches_master_or_app);
	tcase_add_test(c, test_teams_joins_skype_when_asked);
	tcase_add_test(c, test_protocol_category_and_any_rules);
	tcase_add_test(c, test_inbound_and_outbound_qualifiers);
	tcase_add_test(c, test_throttle_rate_burst_latency);
	tcase_add_test(c, test_confidence_threshold_keeps_guesses_from_acting);
	tcase_add_test(c, test_log_flag_and_department_log_setting);
	tcase_add_test(c,
		       test_first_matching_rule_wins_and_default_block_applies);
	tcase_add_test(c, test_lines_without_newline_and_stray_semicolons);
	tcase_add_test(c, test_lpm_exact_and_covering_prefixes);
	tcase_add_test(c, test_to_and_port_qualify_the_outside_endpoint);
	tcase_add_test(c, test_overlapping_departments_get_a_note);
	tcase_add_test(c, test_address_signatures_parse_and_match);
	tcase_add_test(c, test_teams_group_and_heuristic_option);
	tcase_add_loop_test(b, test_broken_policy_reports_exact_errors, 0,
			    (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(b, test_too_many_errors_stop_at_a_cap);
	tcase_add_test(c, test_format_parses_back_to_the_same_policy);
	tcase_add_test(c, test_default_latency_follows_the_rate_within_10s);
	tcase_add_test(c,
		       test_policy_file_that_is_not_a_regular_file_is_refused);
	tcase_add_test(c, test_rule_set_replaces_or_puts_a_rule_first);
	tcase_add_test(c, test_killswitch_statement_round_trip);
	tcase_add_test(c, test_rule_del_and_departments_add_del_hosts);
	tcase_add_loop_test(
		b, test_changes_that_cannot_be_written_are_refused, 0,
		(int)(sizeof(bad_changes) / sizeof(bad_changes[0])));
	tcase_add_test(c, test_a_department_of_groups_alone_is_valid);
	tcase_add_test(
		c, test_groups_come_before_ranges_and_identity_required_after);
	tcase_add_test(c, test_format_keeps_groups_and_identity_required);
	tcase_add_loop_test(
		b, test_broken_identity_statements_report_exact_errors, 0,
		(int)(sizeof(broken_identity) / sizeof(broken_identity[0])));
	tcase_add_loop_test(
		b, test_broken_media_and_mark_report_exact_errors, 0,
		(int)(sizeof(broken_media) / sizeof(broken_media[0])));
	tcase_add_test(c, test_media_conditions_and_dscp_are_parsed);
	tcase_add_test(c, test_media_ports_option_and_port_hint);
	tcase_add_test(c, test_media_ports_none_turns_a_type_off);
	tcase_add_test(c, test_a_port_hint_decides_one_media_type);
	tcase_add_test(
		c, test_a_flow_of_several_media_types_gets_the_strictest_rule);
	tcase_add_test(c, test_equal_media_decisions_keep_the_first_type);
	tcase_add_test(c, test_media_names_and_rule_descriptions);
	tcase_add_test(c, test_format_writes_media_mark_ports_and_feed_back);
	tcase_add_test(c, test_rule_set_and_del_match_the_media_qualifier);
	tcase_add_test(c, test_feed_is_loaded_with_the_address_list);
	tcase_add_loop_test(
		b, test_broken_schedules_report_exact_errors, 0,
		(int)(sizeof(broken_time) / sizeof(broken_time[0])));
	tcase_add_loop_test(c, test_legal_schedules_parse, 0,
			    (int)(sizeof(fine_time) / sizeof(fine_time[0])));
	tcase_add_test(c, test_windows_and_time_words_round_trip);
	tcase_add_test(c, test_decisions_at_instants);
	tcase_add_test(c, test_cut_and_finish_at_a_boundary);
	tcase_add_test(c, test_a_temporary_rule_expires);
	tcase_add_test(c, test_internal_keeps_an_expired_temporary_rule);
	tcase_add_test(c, test_rule_add_puts_a_temporary_rule_first);
	tcase_add_test(c, test_rule_add_again_after_one_expired);
	tcase_add_test(c, test_finish_asks_its_own_window_among_64);
	tcase_add_test(c, test_rule_del_of_a_whole_rule_keeps_the_others);
	tcase_add_test(c, test_rule_set_keeps_each_rules_time);
	tcase_add_loop_test(
		b, test_time_changes_that_cannot_be_written_are_refused, 0,
		(int)(sizeof(bad_time_changes) / sizeof(bad_time_changes[0])));
	tcase_add_test(c, test_rule_add_durations);
	suite_add_tcase(s, c);
	suite_add_tcase(s, b);
	return s;
}

int main(void)
{
	return check_run(policy_suite());
}
