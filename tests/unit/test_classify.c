/* The engine with the real nDPI 4.2: Skype found by DPI in synthetic
 * traffic, give-up at the packet limit, departments and direction, Teams'
 * media types and DSCP, new address signatures for flows in the table
 * and for the conntrack walk. */
#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "classify/classify.h"
#include "engine/engine.h"
#include "classify/hostns.h"
#include "policy/addrsig.h"
#include "policy/loader.h"
#include "core/pkt.h"
#include "policy/policy.h"
#include "payloads.h"

static struct classifier *cls;
static struct policy *pol;
static struct engine *eng;
static unsigned decisions, ends;
static struct flow last_end;

static void on_decision(void *ctx, const struct flow *f)
{
	(void)ctx;
	(void)f;
	decisions++;
}

static void on_end(void *ctx, const struct flow *f, int reason)
{
	(void)ctx;
	(void)reason;
	last_end = *f;
	ends++;
}

static void setup_with(const char *policy_text)
{
	struct cls_opts co = { 1024, 80, 24, 0, NULL, NULL, 0 };
	struct engine_opts eo = { 1024, 60000, 7, 0 };
	struct engine_hooks h = { on_decision, on_end, NULL };
	struct policy_names n;
	struct policy_parser *pp;
	char err[256];

	cls = classifier_open(&co, err, sizeof(err));
	ck_assert_msg(cls != NULL, "%s", err);
	loader_names(cls, &n);
	pp = policy_parser_create("test", &n);
	policy_parser_line(pp, policy_text);
	pol = policy_parser_finish(pp);
	ck_assert_msg(pol != NULL, "%s", policy_parser_error(pp, 0));
	policy_parser_destroy(pp);
	eng = engine_create(&eo, cls, pol, &h);
	ck_assert_ptr_nonnull(eng);
	decisions = ends = 0;
}

static void teardown(void)
{
	engine_destroy(eng);
	policy_free(pol);
	classifier_close(cls);
}

static uint64_t clock_ms = 1700000000000ull;

static struct engine_verdict send(const struct frame_spec *s, const uint8_t *pl,
				  size_t n)
{
	uint8_t fr[4096];
	size_t len = frame_build(fr, sizeof(fr), s, pl, n);
	struct engine_verdict v;
	struct pkt p;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(
		pkt_parse_frame(fr, (uint32_t)len, PKT_LINK_EN10MB, &p),
		PKT_OK);
	engine_packet(eng, &p, clock_ms++, &v);
	return v;
}

/* TCP handshake, then the client's payload. Returns the last verdict. */
static struct engine_verdict
tcp_open_and_send_to(int fam, const char *cli, const char *srv, uint16_t cport,
		     uint16_t sport, const uint8_t *pl, size_t n)
{
	struct frame_spec c = { fam,   cli,	srv,  6, cport,
				sport, TCP_SYN, 1000, 0, 0 };
	struct frame_spec s = {
		fam, srv, cli, 6, sport, cport, TCP_SYN | TCP_ACK, 5000, 1001, 0
	};

	send(&c, NULL, 0);
	send(&s, NULL, 0);
	c.tcp_flags = TCP_ACK;
	c.seq = 1001;
	c.ack = 5001;
	send(&c, NULL, 0);
	c.tcp_flags = TCP_PSH | TCP_ACK;
	return send(&c, pl, n);
}

static struct engine_verdict tcp_open_and_send(int fam, const char *cli,
					       const char *srv, uint16_t cport,
					       const uint8_t *pl, size_t n)
{
	return tcp_open_and_send_to(fam, cli, srv, cport, 443, pl, n);
}

/* setup_with, then the engine on a classifier whose lean module runs
 * what the policy needs (engine_dissectors), as skyfenced's default. */
static void setup_lean(const char *policy_text)
{
	struct cls_opts co = { 1024, 80, 24, 0, NULL, NULL, 0 };
	struct engine_opts eo = { 1024, 60000, 7, 0 };
	struct engine_hooks h = { on_decision, on_end, NULL };
	uint32_t n;
	uint8_t *want;
	char err[256];

	setup_with(policy_text);
	n = classifier_proto_count(cls);
	want = calloc(n, 1);
	ck_assert_ptr_nonnull(want);
	engine_dissectors(pol, NULL, 0, cls, want, n);
	engine_destroy(eng);
	classifier_close(cls);
	co.lean = want;
	co.n_lean = n;
	cls = classifier_open(&co, err, sizeof(err));
	ck_assert_msg(cls != NULL, "%s", err);
	free(want);
	eng = engine_create(&eo, cls, pol, &h);
	ck_assert_ptr_nonnull(eng);
}

/* An NTP client's request: nDPI 4.2 names it at this one datagram. */
static struct engine_verdict ntp_from(const char *cli)
{
	struct frame_spec c = { 4, cli, "203.0.113.123", 17, 123, 123, 0, 0,
				0, 0 };
	uint8_t pl[48];

	memset(pl, 0, sizeof(pl));
	pl[0] = 0x23; /* version 4, client */
	return send(&c, pl, sizeof(pl));
}

static int want_of(const char *policy_text, const char *proto)
{
	uint32_t n;
	uint8_t *want;
	int id, r;

	setup_with(policy_text);
	n = classifier_proto_count(cls);
	want = calloc(n, 1);
	ck_assert_ptr_nonnull(want);
	engine_dissectors(pol, NULL, 0, cls, want, n);
	id = classifier_proto_id(cls, proto);
	ck_assert_int_ge(id, 0);
	r = want[id];
	free(want);
	teardown();
	return r;
}

START_TEST(test_dissectors_the_policy_needs)
{
	const char *bt =
		"department a { hosts 192.0.2.0/26; protocol BitTorrent drop; }";
	const char *cat =
		"department a { hosts 192.0.2.0/26; category Download drop; }";
	const char *unk =
		"department a { hosts 192.0.2.0/26; protocol Unknown drop; }";

	/* what skyfence reads itself, always */
	ck_assert_int_eq(want_of(bt, "TLS"), 1);
	ck_assert_int_eq(want_of(bt, "Skype_Teams"), 1);
	ck_assert_int_eq(want_of(bt, "STUN"), 1);
	ck_assert_int_eq(want_of(bt, "QUIC"), 1);
	/* what a rule names, and no more */
	ck_assert_int_eq(want_of(bt, "BitTorrent"), 1);
	ck_assert_int_eq(want_of(bt, "NTP"), 0);
	ck_assert_int_eq(
		want_of("department a { hosts 192.0.2.0/26; skype drop; }",
			"BitTorrent"),
		0);
	/* a category: each of its protocols */
	ck_assert_int_eq(want_of(cat, "BitTorrent"), 1);
	ck_assert_int_eq(want_of(cat, "NTP"), 0);
	/* a protocol another's dissector names: that dissector too */
	ck_assert_int_eq(
		want_of("department a { hosts 192.0.2.0/26; protocol SMBv1 drop; }",
			"SMBv23"),
		1);
	ck_assert_int_eq(
		want_of("department a { hosts 192.0.2.0/26; protocol TruPhone drop; }",
			"Jabber"),
		1);
	ck_assert_int_eq(
		want_of("department a { hosts 192.0.2.0/26; protocol ICMP drop; }",
			"IGMP"),
		1);
	/* a rule for Unknown: every dissector (a flow one would have named
	 * must not fall to it) */
	ck_assert_int_eq(want_of(unk, "NTP"), 1);
	ck_assert_int_eq(want_of(unk, "BitTorrent"), 1);
}
END_TEST

START_TEST(test_lean_module_for_departments_that_do_not_log_all)
{
	struct engine_stats st;
	struct engine_verdict v;

	setup_lean(
		"department a { hosts 192.0.2.0/26; skype drop; }\n"
		"department b { hosts 192.0.2.64/26; log all; skype drop; }");
	ck_assert_int_eq(engine_lean(eng), 1);
	ck_assert_uint_gt(classifier_lean_count(cls), 0);
	/* no rule names NTP: a's flow is read without its dissector */
	v = ntp_from("192.0.2.10");
	ck_assert_uint_ne(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_ne(v.flow->cls.master,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	/* b logs all: labelled as ndpiReader does */
	v = ntp_from("192.0.2.70");
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.lean, 1);
	teardown();
	/* a rule for any flow that logs records every flow: labelled too */
	setup_lean(
		"department a { hosts 192.0.2.0/26; skype drop; any allow log; }\n"
		"department b { hosts 192.0.2.64/26; skype drop; }");
	v = ntp_from("192.0.2.12");
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	v = ntp_from("192.0.2.71");
	ck_assert_uint_ne(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	teardown();
}
END_TEST

START_TEST(test_lean_module_off_when_the_rules_need_more)
{
	struct policy_rule kill[1];
	struct engine_stats st;
	struct engine_verdict v;

	setup_lean("department a { hosts 192.0.2.0/26; skype drop; }");
	ck_assert_int_eq(engine_lean(eng), 1);
	/* a kill switch for NTP, which the lean module cannot name: every
	 * new flow takes the full module */
	memcpy(kill, &pol->depts[1].rules[0], sizeof(kill));
	kill[0].match = MATCH_PROTOCOLS;
	kill[0].n_ids = 1;
	kill[0].ids[0] = (uint16_t)classifier_proto_id(cls, "NTP");
	engine_set_killswitch(eng, kill, 1);
	ck_assert_int_eq(engine_lean(eng), 0);
	v = ntp_from("192.0.2.11");
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_eq(v.action, ACT_DROP);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.lean, 0);
	ck_assert_uint_eq(st.lean_short, 1);
	engine_set_killswitch(eng, NULL, 0);
	ck_assert_int_eq(engine_lean(eng), 1);
	teardown();
}
END_TEST

/* A policy whose every department logs all has no lean flow, except
 * while the queue backs up: then each new flow is read by what the
 * policy needs, decided as ever, and its records say so. */
START_TEST(test_overload_reads_every_department_lean)
{
	struct engine_stats st;
	struct engine_verdict v;
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	char rec[2048];

	setup_lean(
		"department b { hosts 192.0.2.64/26; log all; skype drop; }\n"
		"default { log all; }");
	ck_assert_int_eq(engine_lean(eng), 0);
	v = ntp_from("192.0.2.70");
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_eq(v.flow->overload, 0);
	ck_assert_int_eq(engine_set_overload(eng, 1), 1);
	/* b's and the default's flows alike: NTP is no rule's, unnamed */
	v = ntp_from("192.0.2.71");
	ck_assert_uint_ne(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_ne(v.flow->cls.master,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_eq(v.flow->overload, 1);
	rec[0] = '\0';
	ck_assert_int_eq(
		audit_flow_fields(rec, sizeof(rec), "end", 1, v.flow, pol, cls),
		0);
	ck_assert_ptr_nonnull(strstr(rec, ",\"dissectors\":\"policy\""));
	v = ntp_from("198.51.100.7");
	ck_assert_uint_eq(v.flow->overload, 1);
	/* what the policy decides on is read all the same */
	v = tcp_open_and_send(4, "192.0.2.72", "203.0.113.10", 40001, p, n);
	ck_assert_uint_eq(v.flow->overload, 1);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_TEAMS);
	ck_assert_uint_eq(v.action, ACT_DROP);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.overload, 3);
	ck_assert_uint_eq(st.lean, 3);
	/* drained: labelled as ndpiReader does again, no such field */
	engine_set_overload(eng, 0);
	v = ntp_from("192.0.2.73");
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_eq(v.flow->overload, 0);
	rec[0] = '\0';
	ck_assert_int_eq(
		audit_flow_fields(rec, sizeof(rec), "end", 1, v.flow, pol, cls),
		0);
	ck_assert_ptr_null(strstr(rec, "\"dissectors\""));
	teardown();
}
END_TEST

/* Under overload a department without `log all` reads lean as ever, and
 * its flows are not marked: only what overload took from a department
 * that labels all says "dissectors":"policy". */
START_TEST(test_overload_marks_only_what_it_took)
{
	struct engine_stats st;
	struct engine_verdict v;

	setup_lean(
		"department a { hosts 192.0.2.0/26; skype drop; }\n"
		"department b { hosts 192.0.2.64/26; log all; skype drop; }");
	ck_assert_int_eq(engine_set_overload(eng, 1), 1);
	v = ntp_from("192.0.2.10");
	ck_assert_uint_eq(v.flow->overload, 0);
	ck_assert_uint_ne(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	v = ntp_from("192.0.2.70");
	ck_assert_uint_eq(v.flow->overload, 1);
	ck_assert_uint_ne(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.lean, 2);
	ck_assert_uint_eq(st.overload, 1);
	teardown();
}
END_TEST

/* A rule the lean module cannot read for: no flow is read lean, under
 * overload neither (what decides would be missed). */
START_TEST(test_overload_never_misses_what_decides)
{
	struct policy_rule kill[1];
	struct engine_verdict v;
	struct engine_stats st;

	/* every department logs all: only an overload would read lean */
	setup_lean(
		"department b { hosts 192.0.2.64/26; log all; skype drop; }\n"
		"default { log all; }");
	memcpy(kill, &pol->depts[1].rules[0], sizeof(kill));
	kill[0].match = MATCH_PROTOCOLS;
	kill[0].n_ids = 1;
	kill[0].ids[0] = (uint16_t)classifier_proto_id(cls, "NTP");
	engine_set_killswitch(eng, kill, 1);
	ck_assert_int_eq(engine_set_overload(eng, 1), 0);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.lean_short, 1);
	v = ntp_from("192.0.2.70");
	ck_assert_uint_eq(v.flow->overload, 0);
	ck_assert_uint_eq(v.flow->cls.app,
			  (unsigned)classifier_proto_id(cls, "NTP"));
	ck_assert_uint_eq(v.action, ACT_DROP);
	teardown();
}
END_TEST

static const char *finance =
	"department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64; skype drop; }";

START_TEST(test_skype_tls_decided_at_the_client_hello)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	struct engine_verdict v;

	setup_with(finance);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40000, p, n);
	ck_assert_uint_eq(v.flow->cls.master, 91);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_TEAMS);
	ck_assert_uint_eq(v.flow->cls.confidence, CLS_CONF_DPI);
	ck_assert_str_eq(v.flow->cls.host, "api.skype.com");
	/* the SNI names the sub-protocol: final without the certificate */
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->pkts[0] + v.flow->pkts[1], 4);
	ck_assert_uint_eq(decisions, 1);
	engine_flush(eng);
	ck_assert_uint_eq(decisions, 1);
	ck_assert_uint_eq(ends, 1);
	teardown();
}
END_TEST

START_TEST(test_finance_skype_tls_over_ipv6_is_dropped)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	struct engine_verdict v;
	struct engine_stats st;

	setup_with(finance);
	v = tcp_open_and_send(6, "2001:db8:a:f::10", "2001:db8:ff::10", 40000,
			      p, n);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_TEAMS);
	engine_flush(eng);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.decisions[ACT_DROP], 1);
	teardown();
}
END_TEST

/* A TCP flow whose first packet is not its SYN (an HA backup taking over
 * without conntrackd's copy, with nf_conntrack_tcp_loose=1) is counted
 * mid-stream; one opened with its SYN is not. */
START_TEST(test_tcp_flows_picked_up_midstream_are_counted)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	struct frame_spec c = { 4,   "192.0.2.10", "203.0.113.10", 6,	 40007,
				443, TCP_ACK,	   7000,	   9000, 0 };
	struct engine_stats st;

	setup_with(finance);
	tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40006, p, n);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.midstream, 0);
	send(&c, p, 0);
	c.tcp_flags = TCP_PSH | TCP_ACK;
	send(&c, (const uint8_t *)"more of it", 10);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.midstream, 1);
	teardown();
}
END_TEST

START_TEST(test_skype_stun_decided_on_first_exchange)
{
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.20", 17, 40001, 3478, 0, 0, 0, 0
	};
	struct frame_spec s = {
		4, "203.0.113.20", "192.0.2.10", 17, 3478, 40001, 0, 0, 0, 0
	};
	uint8_t p[128];
	size_t n;
	struct engine_verdict v;
	int i;

	setup_with(finance);
	for (i = 0; i < 3; i++) {
		n = payload_stun(p, sizeof(p), 0, 1, 9);
		v = send(&c, p, n);
		if (v.final)
			break;
		n = payload_stun(p, sizeof(p), 1, 1, 9);
		v = send(&s, p, n);
		if (v.final)
			break;
	}
	ck_assert_msg(v.final, "STUN not decided within 3 exchanges");
	ck_assert_uint_eq(v.flow->cls.master, 78);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_CALL);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_str_eq(pol->depts[v.flow->dept].name, "finance");
	teardown();
}
END_TEST

START_TEST(test_skype_stun_over_ipv6_is_skype_too)
{
	struct frame_spec c = { 6,
				"2001:db8:a:f::10",
				"2001:db8:ff::20",
				17,
				40001,
				3478,
				0,
				0,
				0,
				0 };
	uint8_t p[128];
	size_t n = payload_stun(p, sizeof(p), 0, 1, 9);
	struct engine_verdict v;

	setup_with(finance);
	v = send(&c, p, n);
	ck_assert(v.final);
	ck_assert_uint_eq(v.flow->cls.master, 78);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_CALL);
	ck_assert_uint_eq(v.flow->cls.confidence, CLS_CONF_DPI);
	ck_assert_int_eq(v.action, ACT_DROP);
	/* STUN without Skype's attributes stays what nDPI says */
	c.sport = 40002;
	n = payload_stun(p, sizeof(p), 0, 0, 9);
	v = send(&c, p, n);
	ck_assert_uint_ne(v.flow->cls.app, SF_PROTO_SKYPE_CALL);
	ck_assert(!v.final || v.action == ACT_ALLOW);
	teardown();
}
END_TEST

START_TEST(test_other_tls_is_allowed_in_finance)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "www.example.org");
	struct engine_verdict v;
	struct engine_stats st;

	setup_with(finance);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40002, p, n);
	ck_assert_uint_eq(v.flow->cls.app, 91);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	engine_flush(eng);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.decisions[ACT_ALLOW], 1);
	ck_assert_uint_eq(st.decisions[ACT_DROP], 0);
	teardown();
}
END_TEST

/* nDPI gives up after 24 datagrams: the flow is decided Unknown there.
 * In a department that drops nothing it is then the kernel's; where
 * something is dropped it stays watched, every later datagram read for a
 * message (junk first cannot buy an allowed flow). */
START_TEST(test_unknown_udp_decided_after_24_packets_watched_where_dropping)
{
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.7", 17, 50000, 50001, 0, 0, 0, 0
	};
	uint8_t p[64];
	struct engine_verdict v;
	struct engine_stats st;
	int i, restricts;

	for (restricts = 0; restricts < 2; restricts++) {
		setup_with(restricts ? finance
				     : "department finance { hosts "
				       "192.0.2.0/26; protocol Zoom allow; }");
		for (i = 1; i <= 30; i++) {
			memset(p, 0xd0 + i, sizeof(p));
			v = send(&c, p, sizeof(p));
			ck_assert_msg(
				(v.flow->state == FLOW_DECIDED) == (i > 24),
				"state %d at packet %d", v.flow->state, i);
			ck_assert_msg(v.final == (i > 24 && !restricts),
				      "final %d at packet %d", v.final, i);
		}
		ck_assert_uint_eq(v.flow->cls.app, 0);
		ck_assert_uint_eq(v.flow->action, ACT_ALLOW);
		ck_assert_uint_eq(v.flow->watched, restricts);
		engine_get_stats(eng, &st);
		ck_assert_uint_eq(st.inspected, 25);
		ck_assert_uint_eq(st.pkts, 30);
		teardown();
	}
}
END_TEST

START_TEST(test_inbound_skype_dropped_outbound_allowed)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), "api.skype.com");
	struct engine_stats st;

	setup_with(
		"department eng { hosts 192.0.2.128/26; inbound skype drop; skype allow; }");
	tcp_open_and_send(4, "203.0.113.99", "192.0.2.130", 50000, p, n);
	tcp_open_and_send(4, "192.0.2.130", "203.0.113.10", 42000, p, n);
	engine_flush(eng);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.decisions[ACT_DROP], 1);
	ck_assert_uint_eq(st.decisions[ACT_ALLOW], 1);
	teardown();
}
END_TEST

START_TEST(test_http_request_naming_skype_is_dropped_at_the_request)
{
	uint8_t p[512];
	size_t n = payload_http_get(p, sizeof(p), "latest-swx.cdn.skype.com");
	struct engine_verdict v;

	setup_with(finance);
	v = tcp_open_and_send_to(4, "192.0.2.10", "203.0.113.10", 40001, 80, p,
				 n);
	/* nDPI would still read the response: the Host line is final */
	ck_assert_uint_eq(v.flow->cls.master, 7);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_TEAMS);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->decided_at, DEC_PACKET);
	ck_assert_uint_eq(v.flow->decided_pkt, 4);
	ck_assert(audit_enforced(v.flow));
	teardown();
}
END_TEST

START_TEST(test_dns_query_naming_skype_is_dropped_at_the_query)
{
	struct frame_spec q = { 6,
				"2001:db8:a:f::10",
				"2001:db8:ff::53",
				17,
				50002,
				53,
				0,
				0,
				0,
				0 };
	struct frame_spec a = { 6,
				"2001:db8:ff::53",
				"2001:db8:a:f::10",
				17,
				53,
				50002,
				0,
				0,
				0,
				0 };
	uint8_t p[512];
	size_t n = payload_dns_query(p, sizeof(p), "conn.skype.akadns.net", 7);
	struct engine_verdict v;
	struct engine_stats st;

	setup_with(finance);
	v = send(&q, p, n);
	ck_assert_uint_eq(v.flow->cls.master, 5);
	ck_assert_uint_eq(v.flow->cls.app, SF_PROTO_SKYPE_TEAMS);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->decided_pkt, 1);
	/* an answer (were one to come) is dissected for the record only */
	p[2] |= 0x80;
	v = send(&a, p, n);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->decided_pkt, 1);
	ck_assert_uint_eq(decisions, 1);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.named, 1);
	ck_assert_uint_eq(st.relabeled, 0);
	teardown();
}
END_TEST

START_TEST(test_flow_undecided_at_idle_expiry_is_not_enforced)
{
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.7", 17, 50003, 50004, 0, 0, 0, 0
	};
	uint8_t p[64];
	struct engine_stats st;
	int i;

	setup_with(finance);
	for (i = 0; i < 3; i++) {
		memset(p, 0x30 + i, sizeof(p));
		ck_assert(!send(&c, p, sizeof(p)).final);
	}
	engine_expire(eng, clock_ms + 10 * 60 * 1000);
	ck_assert_uint_eq(ends, 1);
	ck_assert_uint_eq(last_end.decided_at, DEC_IDLE);
	ck_assert_uint_eq(last_end.decided_pkt, 3);
	ck_assert(!audit_enforced(&last_end));
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.decided_at[DEC_IDLE], 1);
	teardown();
}
END_TEST

static void count_error(void *ctx, const char *msg)
{
	(*(unsigned *)ctx)++;
	fprintf(stderr, "%s\n", msg);
}

START_TEST(test_loader_loads_signatures_with_two_protocol_rules)
{
	char dir[] = "/tmp/sf-loader-XXXXXX", protos[128], path[128];
	struct cls_opts co = { 64, 80, 24, 0, NULL, NULL, 0 };
	struct classifier *c = NULL;
	struct policy *p = NULL;
	unsigned errors = 0;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(protos, sizeof(protos), "%s/protos.txt", dir);
	snprintf(path, sizeof(path), "%s/site.policy", dir);
	f = fopen(protos, "w");
	fputs("host:\"intranet-chat.example\"@SfChat\n", f);
	fclose(f);
	/* two protocol rules: a first pass that resolved every name to one
	 * id saw the second as shadowed and dropped the signatures path */
	f = fopen(path, "w");
	fprintf(f,
		"options { signatures \"%s\"; }\n"
		"department f { hosts 192.0.2.0/26;\n"
		"  protocol SfChat drop; protocol BitTorrent allow; }\n",
		protos);
	fclose(f);
	ck_assert_uint_eq(
		loader_load(path, &co, &c, &p, NULL, count_error, &errors), 0);
	ck_assert_uint_eq(errors, 0);
	ck_assert_int_ge(classifier_proto_id(c, "SfChat"), 0);
	ck_assert_str_eq(p->signatures, protos);
	ck_assert_uint_eq(p->depts[1].n_rules, 2);
	policy_free(p);
	classifier_close(c);
	unlink(path);
	unlink(protos);
	rmdir(dir);
}
END_TEST

static void count_listed(void *ctx, const struct flow *f)
{
	(void)f;
	(*(unsigned *)ctx)++;
}

START_TEST(test_flows_being_inspected_are_listed_without_a_walk)
{
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.7", 17, 51000, 51001, 0, 0, 0, 0
	};
	uint8_t p[64];
	unsigned listed = 0;
	int i;

	setup_with(finance);
	memset(p, 0x41, sizeof(p));
	for (i = 0; i < 5; i++) {
		c.sport = (uint16_t)(51000 + i);
		send(&c, p, sizeof(p));
	}
	ck_assert_uint_eq(
		engine_foreach_inspecting(eng, count_listed, &listed, 3), 5);
	ck_assert_uint_eq(listed, 3); /* at most what was asked */
	/* one of them reaches the packet limit and is decided */
	c.sport = 51002;
	for (i = 0; i < 30; i++)
		send(&c, p, sizeof(p));
	listed = 0;
	ck_assert_uint_eq(
		engine_foreach_inspecting(eng, count_listed, &listed, 100), 4);
	ck_assert_uint_eq(listed, 4);
	engine_expire(eng, clock_ms + 10 * 60 * 1000);
	ck_assert_uint_eq(
		engine_foreach_inspecting(eng, count_listed, &listed, 0), 0);
	teardown();
}
END_TEST

START_TEST(test_names_resolve_case_insensitively)
{
	struct cls_result r = { 91, 125, 10, CLS_CONF_DPI, 0, 0, 0, "" };
	char buf[64];

	setup_with("");
	ck_assert_int_eq(classifier_proto_id(cls, "skypecall"),
			 SF_PROTO_SKYPE_CALL);
	ck_assert_int_eq(classifier_proto_id(cls, "Skype_Teams"),
			 SF_PROTO_SKYPE_TEAMS);
	ck_assert_int_eq(classifier_proto_id(cls, "Teams"), SF_PROTO_TEAMS);
	ck_assert_int_eq(classifier_proto_id(cls, "NoSuchProtocol"), -1);
	ck_assert_int_eq(classifier_category_id(cls, "voip"), 10);
	ck_assert_str_eq(classifier_format_proto(cls, &r, buf, sizeof(buf)),
			 "TLS.Skype_Teams");
	ck_assert_str_eq(classifier_confidence_name(CLS_CONF_IP),
			 "Match by IP");
	ck_assert_str_eq(classifier_confidence_name(200), "Unknown");
	ck_assert_str_eq(classifier_proto_name(cls, 60000), "Unknown");
	teardown();
}
END_TEST

/* A look-alike name (a Skype pattern inside an unrelated registered
 * domain) is TLS to the policy; a real one, also under Akamai's and
 * Azure's tenant domains, or spelled with a trailing dot or in capitals,
 * is Skype. The label stays nDPI's. */
static const struct {
	const char *sni;
	int rejected;
} lookalikes[] = {
	{ "example.skype.org.evil.com", 1 },
	{ "www.skypeforbusiness.example.org", 1 },
	/* a registered domain named as the pattern's label counts, whoever
	 * registered it (README: over-blocking, never a leak) */
	{ "www.skypeforbusiness.example", 0 },
	{ "x.skypeecs-a.example.org", 1 },
	{ "skype-calling-missedcallsregistrar-1.example.com", 1 },
	{ "evil.skypedata.evil.com.", 1 },
	{ "api.skype.com", 0 },
	{ "api.skype.com.", 0 },
	{ "API.Skype.COM", 0 },
	{ "b.config.skype.com", 0 },
	{ "conn.skype.akadns.net", 0 },
	/* a tenant's name under the same infrastructure: the tenant decides */
	{ "example.skype.org.evil.trafficmanager.net", 1 },
	{ "cdn.skype.attacker.akadns.net", 1 },
	{ "a.config.skype.trafficmanager.net", 0 },
	{ "e7768.b.akamaiedge.net", 0 },
	{ "meet.lync.com", 0 },
	{ "x.teams.microsoft.com", 0 },
	/* a full name's pattern that ends a tenant's name */
	{ "xteams.cloudapp.net", 1 },
	{ "a.teams.cloudapp.net", 0 },
	{ "c-flightproxy-euno-01-teams.cloudapp.net", 0 },
	{ "xe7768.b.akamaiedge.net", 0 },
};

START_TEST(test_lookalike_names_fall_back_to_tls)
{
	uint8_t p[512];
	size_t n = payload_tls_client_hello(p, sizeof(p), lookalikes[_i].sni);
	struct engine_verdict v;

	setup_with(finance);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40000, p, n);
	/* decided there; watched until its first encrypted record, where
	 * a second ClientHello could still come */
	ck_assert_msg(v.flow->state == FLOW_DECIDED,
		      "%s: not decided at the ClientHello", lookalikes[_i].sni);
	ck_assert_uint_eq(v.flow->cls.evidence, CLS_EV_SNI);
	ck_assert_uint_eq(v.flow->cls.master, 91);
	ck_assert_msg(v.flow->cls.app == 125 || v.flow->cls.app == 250,
		      "%s: nDPI's label %u", lookalikes[_i].sni,
		      v.flow->cls.app);
	ck_assert_int_eq(v.flow->cls.rejected, lookalikes[_i].rejected);
	ck_assert_int_eq(v.flow->action,
			 lookalikes[_i].rejected ? ACT_ALLOW : ACT_DROP);
	ck_assert_uint_eq(v.flow->pol_app,
			  lookalikes[_i].rejected ? 91 : v.flow->cls.app);
	teardown();
}
END_TEST

START_TEST(test_registered_domains_with_tenant_suffixes)
{
	char r[256];

	ck_assert_int_eq(hostns_registered("api.skype.com", r, sizeof(r)), 0);
	ck_assert_str_eq(r, "skype.com");
	ck_assert_int_eq(hostns_registered("a.b.evil.co.uk", r, sizeof(r)), 0);
	ck_assert_str_eq(r, "evil.co.uk");
	/* the list's private section: Akamai's customers */
	ck_assert_int_eq(hostns_registered("pipe.prd.skypedata.akadns.net", r,
					   sizeof(r)),
			 0);
	ck_assert_str_eq(r, "skypedata.akadns.net");
	/* the extra tenant suffixes */
	ck_assert_int_eq(hostns_registered("a.config.skype.trafficmanager.net",
					   r, sizeof(r)),
			 0);
	ck_assert_str_eq(r, "skype.trafficmanager.net");
	ck_assert_int_eq(hostns_registered("trafficmanager.net", r, sizeof(r)),
			 -1);
	ck_assert_int_eq(hostns_registered("com", r, sizeof(r)), -1);
}
END_TEST

/* A fake nDPI: "teams.cloudapp.net" matched at the end of a name, as
 * nDPI 4.2 does (not label-bounded); it counts its calls. */
static unsigned fake_calls;

static int fake_match(void *ctx, const char *s)
{
	static const char pat[] = "teams.cloudapp.net";
	size_t n = strlen(s), m = sizeof(pat) - 1;

	(void)ctx;
	fake_calls++;
	return n >= m && !strcmp(s + n - m, pat) ? 250 : 0;
}

START_TEST(test_lookalike_check_costs_a_few_matches)
{
	char name[80];

	/* a tenant's name ending like the pattern, as long as nDPI keeps */
	memset(name, 'x', sizeof(name));
	memcpy(name + sizeof(name) - 1 - 18, "teams.cloudapp.net", 19);
	fake_calls = 0;
	ck_assert_int_eq(hostns_counts(name, 250, fake_match, NULL), 0);
	ck_assert_uint_le(fake_calls, 12);
	fake_calls = 0;
	ck_assert_int_eq(
		hostns_counts("a.b.teams.cloudapp.net", 250, fake_match, NULL),
		1);
	ck_assert_uint_le(fake_calls, 12);
}
END_TEST

/* --- what the server receives (issue 23): evasions at the engine --- */

static const char *lab =
	"department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64; "
	"fail-closed; skype drop; }\n"
	"department engineering { hosts 192.0.2.128/26; skype allow; }\n"
	"default { }";

/* A data segment of the client at stream offset @off (after a
 * tcp_open_and_send_to handshake with ISN 1000). */
static struct engine_verdict tcp_data_at(const char *cli, const char *srv,
					 uint16_t cport, uint32_t off,
					 const uint8_t *d, size_t n)
{
	struct frame_spec c = {
		4,	    cli,  srv, 6, cport, 443, TCP_PSH | TCP_ACK,
		1001 + off, 5001, 0
	};

	return send(&c, d, n);
}

START_TEST(test_hello_split_over_records_dropped_at_its_last_byte)
{
	uint8_t one[1024], two[1200];
	size_t n =
		payload_tls_client_hello(one, sizeof(one), "login.skype.com");
	size_t h = 5, o = 0, half = (n - 5) / 2;
	struct engine_verdict v;

	/* the handshake message in two records */
	two[o++] = 0x16, two[o++] = 3, two[o++] = 1;
	two[o++] = (uint8_t)(half >> 8), two[o++] = (uint8_t)half;
	memcpy(two + o, one + h, half), o += half;
	two[o++] = 0x16, two[o++] = 3, two[o++] = 1;
	two[o++] = (uint8_t)((n - 5 - half) >> 8);
	two[o++] = (uint8_t)(n - 5 - half);
	memcpy(two + o, one + h + half, n - 5 - half), o += n - 5 - half;
	setup_with(lab);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40001, two,
			      o / 2);
	ck_assert(!v.final && !v.drop);
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40001, (uint32_t)(o / 2),
			two + o / 2, o - o / 2);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->pol_app, SF_PROTO_SKYPE_TEAMS);
	teardown();
}
END_TEST

START_TEST(test_out_of_order_segment_dropped_flow_goes_on)
{
	uint8_t p[1024];
	size_t n =
		payload_tls_client_hello(p, sizeof(p), "teams.microsoft.com");
	struct engine_verdict v;
	struct engine_stats st;

	setup_with(lab);
	/* the later half first: dropped, nothing read */
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40002, p, 0);
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40002, 100, p + 100,
			n - 100);
	ck_assert(v.drop);
	ck_assert_int_eq(v.flow->state, FLOW_INSPECTING);
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40002, 0, p, 100);
	ck_assert(!v.drop && !v.final);
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40002, 100, p + 100,
			n - 100);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.stream[STREAM_GAP], 1);
	teardown();
}
END_TEST

START_TEST(test_second_http_request_naming_teams_decides_again)
{
	const char *r1 = "GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n";
	const char *r2 = "GET / HTTP/1.1\r\nHost: teams.microsoft.com\r\n\r\n";
	const char *a1 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct frame_spec sv = { 4,	"203.0.113.10",	   "192.0.2.10", 6, 80,
				 40003, TCP_PSH | TCP_ACK, 5001,	 0, 0 };
	struct frame_spec c = sv;
	struct engine_verdict v;
	struct engine_stats st;

	setup_with(lab);
	v = tcp_open_and_send_to(4, "192.0.2.10", "203.0.113.10", 40003, 80,
				 (const uint8_t *)r1, strlen(r1));
	sv.ack = 1001 + (uint32_t)strlen(r1);
	v = send(&sv, (const uint8_t *)a1, strlen(a1));
	ck_assert_int_eq(v.flow->state, FLOW_DECIDED);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	ck_assert(v.flow->watched && !v.final); /* not offloaded */
	c.src = "192.0.2.10";
	c.dst = "203.0.113.10";
	c.sport = 40003;
	c.dport = 80;
	c.seq = 1001 + (uint32_t)strlen(r1);
	c.ack = 5001 + (uint32_t)strlen(a1);
	v = send(&c, (const uint8_t *)r2, strlen(r2));
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.redecided, 1);
	ck_assert_uint_eq(decisions, 2); /* both recorded */
	teardown();
}
END_TEST

START_TEST(test_junk_then_skype_stun_is_dropped)
{
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.10", 17, 50010, 3478, 0, 0, 0, 0
	};
	uint8_t p[256];
	struct engine_verdict v;
	size_t n;
	int i;

	setup_with(lab);
	for (i = 0; i < 25; i++) {
		memset(p, 0x5a + i, 40);
		v = send(&c, p, 40);
		ck_assert_int_eq(v.action, ACT_ALLOW);
	}
	n = payload_stun(p, sizeof(p), 0, 1, 3);
	v = send(&c, p, n);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->pol_app, SF_PROTO_SKYPE_CALL);
	teardown();
}
END_TEST

START_TEST(test_another_departments_stun_cache_does_not_drop)
{
	struct frame_spec eng_c = {
		4, "192.0.2.130", "203.0.113.10", 17, 50020, 3478, 0, 0, 0, 0
	};
	struct frame_spec fin_c = eng_c;
	uint8_t p[256];
	struct engine_verdict v;
	size_t n = payload_stun(p, sizeof(p), 0, 1, 4);

	setup_with(lab);
	v = send(&eng_c, p, n);
	ck_assert_int_eq(v.flow->cls.app, SF_PROTO_SKYPE_CALL);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	fin_c.src = "192.0.2.10";
	fin_c.sport = 50021;
	n = payload_stun(p, sizeof(p), 0, 0, 5);
	v = send(&fin_c, p, n);
	v = send(&fin_c, p, n);
	ck_assert_msg(v.action == ACT_ALLOW,
		      "finance's plain STUN %u.%u (evidence %u conf %u rej %u) "
		      "decided %d",
		      v.flow->cls.master, v.flow->cls.app, v.flow->cls.evidence,
		      v.flow->cls.confidence, v.flow->cls.rejected, v.action);
	teardown();
}
END_TEST

START_TEST(test_midstream_in_fail_closed_department_is_refused)
{
	struct frame_spec c = { 4,	 "192.0.2.10", "203.0.113.10",
				6,	 40030,	       443,
				TCP_ACK, 777,	       5001,
				0 };
	struct frame_spec e = c;
	struct engine_verdict v;

	setup_with(lab);
	v = send(&c, (const uint8_t *)"half a hello", 12);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_int_eq(v.flow->rule, POLICY_RULE_UNREADABLE);
	ck_assert_uint_eq(v.flow->pol_evidence, CLS_EV_MIDSTREAM);
	/* engineering is not fail-closed: inspected as it comes */
	e.src = "192.0.2.130";
	v = send(&e, (const uint8_t *)"half a hello", 12);
	ck_assert(!v.final || v.action == ACT_ALLOW);
	teardown();
}
END_TEST

START_TEST(test_quic_of_a_version_ndpi_cannot_read_is_refused_where_dropping)
{
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.10", 17, 50040, 443, 0, 0, 0, 0
	};
	uint8_t p[1200];
	struct engine_verdict v;

	memset(p, 0x33, sizeof(p));
	p[0] = 0xc3; /* long header, Initial */
	p[1] = 0x6b, p[2] = 0x33, p[3] = 0x43, p[4] = 0xcf; /* QUIC v2 */
	setup_with(lab);
	v = send(&c, p, sizeof(p));
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->pol_evidence, CLS_EV_QUIC_VERSION);
	c.src = "192.0.2.130"; /* engineering drops nothing */
	v = send(&c, p, sizeof(p));
	ck_assert_int_eq(v.action, ACT_ALLOW);
	teardown();
	/* a refusing rule for inbound flows only does not touch it */
	setup_with("department engineering { hosts 192.0.2.128/26; inbound "
		   "skype drop; skype allow; }");
	c.sport = 50041;
	v = send(&c, p, sizeof(p));
	ck_assert_int_eq(v.action, ACT_ALLOW);
	ck_assert(!v.flow->watched);
	teardown();
}
END_TEST

/* A ClientHello record naming @sni, with an encrypted_client_hello
 * extension (0xfe0d) if @ech. */
static size_t hello_ech(uint8_t *b, const char *sni, int ech)
{
	size_t sl = strlen(sni), o = 0, ext, body;
	uint8_t e[512];
	size_t el = 0;

	e[el++] = 0, e[el++] = 0; /* server_name */
	e[el++] = (uint8_t)((sl + 5) >> 8), e[el++] = (uint8_t)(sl + 5);
	e[el++] = (uint8_t)((sl + 3) >> 8), e[el++] = (uint8_t)(sl + 3);
	e[el++] = 0;
	e[el++] = (uint8_t)(sl >> 8), e[el++] = (uint8_t)sl;
	memcpy(e + el, sni, sl), el += sl;
	if (ech) {
		e[el++] = 0xfe, e[el++] = 0x0d, e[el++] = 0, e[el++] = 4;
		e[el++] = 0, e[el++] = 1, e[el++] = 2, e[el++] = 3;
	}
	ext = el;
	body = 2 + 32 + 1 + 4 + 2 + 2 + ext;
	b[o++] = 0x16, b[o++] = 3, b[o++] = 1;
	b[o++] = (uint8_t)((body + 4) >> 8), b[o++] = (uint8_t)(body + 4);
	b[o++] = 1, b[o++] = 0;
	b[o++] = (uint8_t)(body >> 8), b[o++] = (uint8_t)body;
	b[o++] = 3, b[o++] = 3;
	memset(b + o, 0x11, 32), o += 32;
	b[o++] = 0;
	b[o++] = 0, b[o++] = 2, b[o++] = 0x13, b[o++] = 0x01;
	b[o++] = 1, b[o++] = 0;
	b[o++] = (uint8_t)(ext >> 8), b[o++] = (uint8_t)ext;
	memcpy(b + o, e, ext), o += ext;
	return o;
}

START_TEST(test_encrypted_client_hello_refused_only_where_a_rule_says)
{
	uint8_t b[1024];
	size_t n = hello_ech(b, "cover.example.net", 1);
	struct engine_verdict v;

	setup_with(lab);
	/* no rule about it: the outer name decides, once nDPI has read
	 * the server's certificate as for any TLS */
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40050, b, n);
	ck_assert(!v.drop && !v.final);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	ck_assert_int_eq(v.flow->state, FLOW_INSPECTING);
	teardown();
	setup_with("department finance { hosts 192.0.2.0/26; "
		   "protocol TLS drop evidence ech; skype drop; }");
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40051, b, n);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->pol_evidence, CLS_EV_ECH);
	n = hello_ech(b, "cover.example.net", 0);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40052, b, n);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	ck_assert_int_eq(v.flow->state, FLOW_INSPECTING);
	teardown();
}
END_TEST

START_TEST(test_a_flow_nothing_named_gets_the_rule_for_unknown)
{
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.7", 17, 50060, 50061, 0, 0, 0, 0
	};
	uint8_t p[64];
	struct engine_verdict v;
	int i;

	setup_with("department finance { hosts 192.0.2.0/26; skype drop; "
		   "protocol Unknown drop; }");
	for (i = 1; i <= 25; i++) {
		memset(p, 0xd0 + i, sizeof(p));
		v = send(&c, p, sizeof(p));
	}
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_int_eq(v.flow->rule, 1);
	{
		struct engine_stats st;

		engine_get_stats(eng, &st);
		ck_assert_uint_eq(st.unnamed, 1);
	}
	teardown();
	/* and `any`, after the allows */
	setup_with("department finance { hosts 192.0.2.0/26; protocol DNS "
		   "allow; any reject; }");
	for (i = 1; i <= 25; i++) {
		memset(p, 0xd0 + i, sizeof(p));
		v = send(&c, p, sizeof(p));
	}
	ck_assert_int_eq(v.action, ACT_REJECT);
	teardown();
}
END_TEST

/* nDPI names a first datagram BitTorrent; a relay ignores it. Skype STUN
 * after it on the same flow is still read (the flow is watched until the
 * responder answers), and an answered flow goes to the kernel. */
START_TEST(test_a_first_datagram_named_otherwise_does_not_buy_the_flow)
{
	static const char dht[] =
		"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.99", 17, 50070, 3478, 0, 0, 0, 0
	};
	struct frame_spec r = {
		4, "203.0.113.99", "192.0.2.10", 17, 3478, 50070, 0, 0, 0, 0
	};
	uint8_t p[256];
	struct engine_verdict v;
	size_t n;

	setup_with(lab);
	v = send(&c, (const uint8_t *)dht, sizeof(dht) - 1);
	ck_assert_uint_eq(v.flow->cls.app, 37); /* BitTorrent */
	ck_assert(!v.final);
	n = payload_stun(p, sizeof(p), 0, 1, 7);
	v = send(&c, p, n);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	teardown();
	/* answered: the kernel's */
	setup_with(lab);
	c.sport = r.dport = 50071;
	v = send(&c, (const uint8_t *)dht, sizeof(dht) - 1);
	ck_assert(!v.final);
	/* nDPI reads BitTorrent on for a while; once it decides, the
	 * answered flow is the kernel's */
	for (n = 0; n < 30 && v.flow->state != FLOW_DECIDED; n++)
		v = send(n % 2 ? &c : &r, (const uint8_t *)dht,
			 sizeof(dht) - 1);
	ck_assert_int_eq(v.flow->state, FLOW_DECIDED);
	ck_assert(v.flow->answered);
	v = send(&r, (const uint8_t *)dht, sizeof(dht) - 1);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	teardown();
}
END_TEST

/* A ClientHello read whole, then other bytes at the same sequence number
 * before the server acknowledged it (its first copy may never have
 * reached the server): dropped, whatever made the first copy fail. */
START_TEST(test_a_different_retransmission_of_a_read_message_is_dropped)
{
	uint8_t a[1024], b[1024];
	size_t n = payload_tls_client_hello(a, sizeof(a), "www.example.org");
	size_t m = payload_tls_client_hello(b, sizeof(b), "teams.mic.com.x");
	struct frame_spec sv = { 4,	"203.0.113.10", "192.0.2.10", 6, 443,
				 40090, TCP_ACK,	5001,	      0, 0 };
	struct engine_verdict v;
	struct engine_stats st;

	ck_assert_uint_eq(n, m); /* same length, other bytes */
	setup_with(lab);
	v = tcp_open_and_send(4, "192.0.2.10", "203.0.113.10", 40090, a, n);
	ck_assert(!v.drop);
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40090, 0, b, m);
	ck_assert(v.drop);
	/* the same bytes again pass (a plain retransmission) */
	v = tcp_data_at("192.0.2.10", "203.0.113.10", 40090, 0, a, n);
	ck_assert(!v.drop);
	/* once the server acknowledged them, the bytes are let go */
	sv.ack = 1001 + (uint32_t)n;
	v = send(&sv, NULL, 0);
	engine_get_stats(eng, &st);
	ck_assert_uint_eq(st.stream[STREAM_CONFLICT], 1);
	ck_assert_int_eq(v.flow->buf, -1);
	teardown();
}
END_TEST

/* ---- Teams' media types, DSCP, new signatures ---- */

static const char *relays = "Teams udp 3478-3481 203.0.113.0/24\n"
			    "Teams tcp 443 198.51.100.0/24\n";

/* Audio marked EF, screen sharing dropped (the example). */
static const char *media_policy = "department finance { hosts 192.0.2.0/26;\n"
				  " skype media screen-share drop;\n"
				  " skype media audio mark dscp ef;\n"
				  "}\n";

/* @text's policy with the address signatures @sigs (NULL: none), as the
 * loader attaches a file's. */
static struct policy *policy_sigs(const char *text, const char *sigs)
{
	struct policy_names n;
	struct policy_parser *pp;
	struct policy *p;
	unsigned nerr = 0;

	loader_names(cls, &n);
	pp = policy_parser_create("test", &n);
	policy_parser_line(pp, text);
	p = policy_parser_finish(pp);
	ck_assert_msg(p != NULL, "%s", policy_parser_error(pp, 0));
	policy_parser_destroy(pp);
	if (sigs) {
		p->addrsig = addrsig_parse("sigs", sigs, strlen(sigs), &n, NULL,
					   NULL, &nerr);
		ck_assert_ptr_nonnull(p->addrsig);
		p->addrsig_free = addrsig_free;
	}
	return p;
}

static void setup_sigs(const char *text, const char *sigs)
{
	struct cls_opts co = { 1024, 80, 24, 0, NULL, NULL, 0 };
	struct engine_opts eo = { 1024, 60000, 7, 0 };
	struct engine_hooks h = { on_decision, on_end, NULL };
	char err[256];

	cls = classifier_open(&co, err, sizeof(err));
	ck_assert_msg(cls != NULL, "%s", err);
	pol = policy_sigs(text, sigs);
	eng = engine_create(&eo, cls, pol, &h);
	ck_assert_ptr_nonnull(eng);
	decisions = ends = 0;
}

/* One datagram from the client 192.0.2.10 port @cport to the relay
 * 203.0.113.5:3478 (or back, @reply): RTP of payload type @pt, or STUN
 * if @pt is -1. */
static struct engine_verdict relay_datagram(uint16_t cport, int pt, int reply)
{
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.5", 17, cport, 3478, 0, 0, 0, 0
	};
	struct frame_spec r = {
		4, "203.0.113.5", "192.0.2.10", 17, 3478, cport, 0, 0, 0, 0
	};
	uint8_t p[256];
	size_t n = pt < 0 ? payload_stun(p, sizeof(p), reply, 0, 3)
			  : payload_rtp(p, sizeof(p), (uint8_t)pt, 0, 7, 160,
					0x1234, 100);

	return send(reply ? &r : &c, p, n);
}

/* A call's datagram to 198.51.100.5, which no signature lists: Teams
 * only by its STUN's Skype attributes, so read on until the peer answers
 * where a refusing rule is (a first datagram anything could send). */
static struct engine_verdict p2p_datagram(uint16_t cport, int pt, int reply)
{
	struct frame_spec c = {
		4, "192.0.2.10", "198.51.100.5", 17, cport, 3478, 0, 0, 0, 0
	};
	struct frame_spec r = {
		4, "198.51.100.5", "192.0.2.10", 17, 3478, cport, 0, 0, 0, 0
	};
	uint8_t p[256];
	size_t n = pt < 0 ? payload_stun(p, sizeof(p), reply, 1, 3)
			  : payload_rtp(p, sizeof(p), (uint8_t)pt, 0, 7, 160,
					0x1234, 100);

	return send(reply ? &r : &c, p, n);
}

START_TEST(test_teams_audio_from_its_port_is_marked_ef)
{
	struct engine_verdict v;

	setup_sigs(media_policy, relays);
	v = relay_datagram(50001, -1, 0);
	ck_assert_uint_eq(v.flow->state, FLOW_DECIDED);
	ck_assert_uint_eq(v.flow->pol_app, SF_PROTO_TEAMS);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO);
	ck_assert_uint_eq(v.flow->dscp, 1 + 46);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	/* a relay's address names it whatever it carries: handed to the
	 * kernel at its first datagram, which goes out marked EF, although
	 * a refusing rule is there */
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	ck_assert_uint_eq(decisions, 1);
	teardown();
}
END_TEST

START_TEST(test_teams_screen_sharing_from_its_port_is_dropped)
{
	struct engine_verdict v;

	setup_sigs(media_policy, relays);
	v = relay_datagram(50041, -1, 0);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->media, MEDIA_SCREEN);
	ck_assert_uint_eq(v.flow->dscp, 0);
	teardown();
}
END_TEST

START_TEST(test_teams_without_a_port_hint_may_carry_every_type)
{
	struct engine_verdict v;

	setup_sigs(media_policy, relays);
	v = relay_datagram(40000, -1, 0);
	ck_assert(v.final);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	/* the strictest of its types' decisions: screen sharing's */
	ck_assert_int_eq(v.action, ACT_DROP);
	teardown();
}
END_TEST

START_TEST(test_video_rtp_on_the_audio_port_decides_harder)
{
	struct engine_verdict v;

	setup_sigs(media_policy, relays);
	/* at the deciding packet: the port's type and the packet's */
	v = relay_datagram(50002, 122, 0);
	ck_assert(v.final);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_int_eq(v.action, ACT_DROP);
	/* on a flow still read after its decision: decided again */
	v = p2p_datagram(50003, -1, 0);
	ck_assert(!v.final);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO);
	v = p2p_datagram(50003, 111, 0); /* audio: nothing new */
	ck_assert(!v.final);
	ck_assert_uint_eq(decisions, 2);
	v = p2p_datagram(50003, 121, 0); /* RTVideo */
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_uint_eq(v.flow->dscp, 0);
	ck_assert_uint_eq(decisions, 3);
	teardown();
}
END_TEST

START_TEST(test_a_throttled_call_is_decided_again_by_its_rtp)
{
	static const char *text = "default {\n"
				  " skype media video drop;\n"
				  " skype throttle 1Mbit;\n"
				  "}\n";
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.5", 17, 50004, 3478, 0, 0, 0, 0
	};
	uint8_t b[4096], p[256];
	struct engine_verdict v;
	struct pkt pk;
	size_t n;

	setup_sigs(text, relays);
	/* known from its mark (a restart): throttled audio */
	n = payload_rtp(p, sizeof(p), 111, 0, 1, 160, 9, 100);
	n = frame_build(b, sizeof(b), &c, p, n);
	ck_assert_int_eq(pkt_parse_frame(b, (uint32_t)n, PKT_LINK_EN10MB, &pk),
			 PKT_OK);
	engine_packet_known(eng, &pk, clock_ms++, SF_PROTO_TEAMS, MEDIA_AUDIO,
			    &v);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO);
	/* its packets still come by the throttle queue: video shows */
	n = payload_rtp(p, sizeof(p), 122, 1, 2, 320, 9, 100);
	n = frame_build(b, sizeof(b), &c, p, n);
	ck_assert_int_eq(pkt_parse_frame(b, (uint32_t)n, PKT_LINK_EN10MB, &pk),
			 PKT_OK);
	engine_packet_known(eng, &pk, clock_ms++, SF_PROTO_TEAMS, MEDIA_AUDIO,
			    &v);
	ck_assert(v.final);
	ck_assert_int_eq(v.action, ACT_DROP);
	ck_assert_uint_eq(decisions, 2);
	teardown();
}
END_TEST

START_TEST(test_a_name_lookup_for_teams_is_no_media)
{
	struct frame_spec q = {
		4, "192.0.2.10", "192.0.2.53", 17, 50005, 53, 0, 0, 0, 0
	};
	uint8_t p[256];
	size_t n = payload_dns_query(p, sizeof(p), "teams.microsoft.com", 7);
	struct engine_verdict v;

	setup_sigs(media_policy, NULL);
	v = send(&q, p, n);
	ck_assert_uint_eq(v.flow->state, FLOW_DECIDED);
	ck_assert_uint_eq(v.flow->media, 0);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	teardown();
}
END_TEST

START_TEST(test_new_signatures_name_flows_in_the_table)
{
	struct frame_spec c = {
		4, "192.0.2.10", "203.0.113.5", 17, 50006, 3478, 0, 0, 0, 0
	};
	struct frame_spec r = c;
	struct policy *np;
	uint8_t p[256], j[256];
	size_t n = payload_rtp(p, sizeof(p), 111, 0, 1, 160, 9, 100);
	struct engine_verdict v, w;

	setup_sigs(media_policy, NULL);
	/* nDPI names RTP at its first packet: decided, allowed */
	r.sport = 50010;
	w = send(&r, p, n);
	ck_assert_uint_eq(w.flow->state, FLOW_DECIDED);
	ck_assert_uint_eq(w.flow->media, 0);
	/* bytes nothing names: still inspected */
	memcpy(j, p, n);
	j[0] = 0x33;
	j[1] = 0x44;
	v = send(&c, j, n);
	ck_assert_msg(v.flow->state == FLOW_INSPECTING, "decided as %u.%u",
		      v.flow->cls.master, v.flow->cls.app);
	ck_assert_uint_eq(v.flow->sig_app, 0);
	/* a new feed lists the relay */
	np = policy_sigs(media_policy, relays);
	engine_set_policy(eng, np);
	policy_free(pol);
	pol = np;
	ck_assert_uint_eq(v.flow->sig_app, SF_PROTO_TEAMS);
	ck_assert_uint_eq(w.flow->sig_app, SF_PROTO_TEAMS);
	/* the decided one is Teams now, audio by its port and its RTP */
	ck_assert_uint_eq(w.flow->pol_app, SF_PROTO_TEAMS);
	ck_assert_uint_eq(w.flow->media, MEDIA_AUDIO);
	ck_assert_uint_eq(w.flow->dscp, 1 + 46);
	/* the other is decided as Teams at its next packet */
	v = send(&c, p, n);
	ck_assert_uint_eq(v.flow->state, FLOW_DECIDED);
	ck_assert_uint_eq(v.flow->pol_app, SF_PROTO_TEAMS);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO);
	ck_assert_uint_eq(v.flow->dscp, 1 + 46);
	teardown();
}
END_TEST

/* The conntrack walk's decision from a mark. */
static uint16_t decide_marked(const char *ini, uint16_t iport, const char *resp,
			      uint16_t rport, uint8_t l4, uint16_t app,
			      uint8_t *media, struct policy_decision *d)
{
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff },
		b[16] = { [10] = 0xff, [11] = 0xff };

	ck_assert_int_eq(sscanf(ini, "%hhu.%hhu.%hhu.%hhu", a + 12, a + 13,
				a + 14, a + 15),
			 4);
	ck_assert_int_eq(sscanf(resp, "%hhu.%hhu.%hhu.%hhu", b + 12, b + 13,
				b + 14, b + 15),
			 4);
	return engine_decide_app(eng, a, iport, b, rport, l4, app, 0, media, d,
				 NULL);
}

START_TEST(test_the_walk_applies_new_signatures_and_media)
{
	struct policy_decision d;
	uint8_t media;

	setup_sigs(media_policy, relays);
	/* an established flow the mark says nothing of, to a relay a new
	 * feed lists: Teams, audio by its port, marked EF */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 50007, "203.0.113.9",
					3479, 17, 0, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, MEDIA_AUDIO);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 1 + 46);
	/* a UDP flow the mark calls something else: the signature's too */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 50041, "203.0.113.9",
					3479, 17, SF_PROTO_STUN, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, MEDIA_SCREEN);
	ck_assert_int_eq(d.action, ACT_DROP);
	/* the mark's media types stand (RTP showed them) */
	media = MEDIA_AUDIO | MEDIA_VIDEO;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 50008, "203.0.113.9",
					3479, 17, SF_PROTO_TEAMS, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 0); /* video's allow, unmarked, wins */
	/* TCP: the relays' fallback when nothing named the flow; a TLS
	 * flow keeps its app */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40000, "198.51.100.7",
					443, 6, 0, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, MEDIA_ALL);
	ck_assert_int_eq(d.action, ACT_DROP);
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40001, "198.51.100.7",
					443, 6, 91, &media, &d),
			  91);
	ck_assert_uint_eq(media, 0);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	/* nowhere listed: as the mark says */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 50009, "192.0.2.200",
					3478, 17, 0, &media, &d),
			  0);
	ck_assert_uint_eq(media, 0);
	teardown();
}
END_TEST

/* A packet of client 192.0.2.10 port @cport to @dst:@dport (@l4: 6 or
 * 17) through engine_packet_known with the mark's @app and @media: RTP of
 * payload type @pt, a TCP ACK with 20 bytes, or 20 bytes of QUIC short
 * header if @pt is -1. */
static struct engine_verdict known(uint16_t cport, const char *dst,
				   uint16_t dport, uint8_t l4, int pt,
				   uint16_t app, uint8_t media)
{
	struct frame_spec c = { 4, "192.0.2.10", dst, l4, cport, dport, 0, 0, 0,
				0 };
	uint8_t b[4096], p[256];
	struct engine_verdict v;
	struct pkt pk;
	size_t n = 20;

	if (l4 == 6) {
		c.tcp_flags = TCP_ACK;
		c.seq = 7000;
		c.ack = 9000;
	}
	memset(p, 0x41, sizeof(p)); /* a QUIC short header's first byte */
	if (pt >= 0)
		n = payload_rtp(p, sizeof(p), (uint8_t)pt, 0, 3, 480, 9, 100);
	n = frame_build(b, sizeof(b), &c, p, n);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(pkt_parse_frame(b, (uint32_t)n, PKT_LINK_EN10MB, &pk),
			 PKT_OK);
	engine_packet_known(eng, &pk, clock_ms++, app, media, &v);
	return v;
}

/* Teams' HTTPS (TLS.Teams by its SNI, to an address the feed lists for
 * TCP 443), its web client over QUIC and its name lookups are app Teams
 * in the mark, without the master protocol that told the engine they are
 * no call's media: the walk of every policy change must not make them
 * media flows, or a screen-sharing rule drops them. */
START_TEST(test_the_walk_keeps_teams_flows_that_are_no_media)
{
	struct policy_decision d;
	uint8_t media;

	setup_sigs(media_policy, relays);
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40010, "198.51.100.7",
					443, 6, SF_PROTO_TEAMS, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, 0);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	/* QUIC.Teams, from an ephemeral port and from an audio one */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40011, "192.0.2.200", 443,
					17, SF_PROTO_TEAMS, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, 0);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	ck_assert_uint_eq(d.dscp, 0);
	media = 0;
	decide_marked("192.0.2.10", 50012, "192.0.2.200", 443, 17,
		      SF_PROTO_TEAMS, &media, &d);
	ck_assert_uint_eq(media, 0);
	ck_assert_uint_eq(d.dscp, 0);
	/* DNS.Teams */
	media = 0;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40012, "192.0.2.53", 53,
					17, SF_PROTO_TEAMS, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, 0);
	ck_assert_int_eq(d.action, ACT_ALLOW);
	/* a Teams call's UDP flow to a relay keeps its mark's type, and a
	 * signature of the app it has already changes nothing */
	media = MEDIA_AUDIO;
	ck_assert_uint_eq(decide_marked("192.0.2.10", 40013, "203.0.113.9",
					3479, 17, SF_PROTO_TEAMS, &media, &d),
			  SF_PROTO_TEAMS);
	ck_assert_uint_eq(media, MEDIA_AUDIO);
	ck_assert_uint_eq(d.dscp, 1 + 46);
	teardown();
}
END_TEST

/* The same flows known from a throttle mark (their packets still come
 * through skyfenced): not media flows, before and after a new feed. */
START_TEST(test_a_throttled_teams_flow_that_is_no_media_stays_throttled)
{
	static const char *text = "default {\n"
				  " skype media screen-share drop;\n"
				  " teams throttle 1Mbit;\n"
				  "}\n";
	struct engine_verdict v, w;
	struct policy *np;

	setup_sigs(text, NULL);
	v = known(40020, "192.0.2.200", 443, 17, -1, SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, 0);
	/* TLS.Teams to an address a new feed then lists for TCP 443 */
	w = known(40021, "198.51.100.7", 443, 6, -1, SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(w.action, ACT_THROTTLE);
	np = policy_sigs(text, relays);
	engine_set_policy(eng, np);
	policy_free(pol);
	pol = np;
	ck_assert_uint_eq(w.flow->sig_app, SF_PROTO_TEAMS);
	ck_assert_uint_eq(w.flow->media, 0);
	ck_assert_int_eq(w.flow->action, ACT_THROTTLE);
	ck_assert_uint_eq(w.flow->pol_evidence, CLS_EV_MARK);
	v = known(40020, "192.0.2.200", 443, 17, -1, SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, 0);
	/* its own RTP-looking datagrams make no media flow of it */
	v = known(40020, "192.0.2.200", 443, 17, 122, SF_PROTO_TEAMS, 0);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, 0);
	teardown();
}
END_TEST

/* H.264 from a video port is video: "drop screen sharing, keep video". */
START_TEST(test_h264_from_a_video_port_is_video_only)
{
	struct engine_verdict v;

	setup_sigs(media_policy, relays);
	/* decided at its first datagram, RTP */
	v = relay_datagram(50021, 122, 0);
	ck_assert_uint_eq(v.flow->state, FLOW_DECIDED);
	ck_assert_uint_eq(v.flow->media, MEDIA_VIDEO);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	ck_assert_uint_eq(decisions, 1);
	/* STUN first, then H.264 on the flow still read */
	v = p2p_datagram(50026, -1, 0);
	ck_assert(!v.final);
	ck_assert_uint_eq(v.flow->media, MEDIA_VIDEO);
	v = p2p_datagram(50026, 122, 0);
	ck_assert_uint_eq(v.flow->media, MEDIA_VIDEO);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	v = p2p_datagram(50026, 123, 0);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	ck_assert_uint_eq(decisions, 2);
	/* audio on a video port adds audio: its EF yields to video's
	 * allow without a mark */
	v = p2p_datagram(50027, -1, 0);
	v = p2p_datagram(50027, 111, 0);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	ck_assert_uint_eq(v.flow->dscp, 0);
	/* H.264 from a screen-sharing port: screen sharing alone */
	v = relay_datagram(50042, 122, 0);
	ck_assert_uint_eq(v.flow->media, MEDIA_SCREEN);
	ck_assert_int_eq(v.action, ACT_DROP);
	teardown();
}
END_TEST

/* The same for a throttled flow known from its mark. */
START_TEST(test_h264_on_a_throttled_video_flow_is_video_only)
{
	static const char *text = "default {\n"
				  " skype media screen-share drop;\n"
				  " skype throttle 1Mbit;\n"
				  "}\n";
	struct engine_verdict v;

	setup_sigs(text, relays);
	v = known(50024, "203.0.113.5", 3478, 17, 122, SF_PROTO_TEAMS,
		  MEDIA_VIDEO);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, MEDIA_VIDEO);
	v = known(50024, "203.0.113.5", 3478, 17, 121, SF_PROTO_TEAMS,
		  MEDIA_VIDEO);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(v.flow->media, MEDIA_VIDEO);
	/* audio adds audio */
	v = known(50024, "203.0.113.5", 3478, 17, 111, SF_PROTO_TEAMS,
		  MEDIA_VIDEO);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_int_eq(v.action, ACT_THROTTLE);
	ck_assert_uint_eq(decisions, 1);
	/* on a flow marked audio, H.264 may be either */
	v = known(50025, "203.0.113.5", 3478, 17, 122, SF_PROTO_TEAMS,
		  MEDIA_AUDIO);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_int_eq(v.action, ACT_DROP);
	teardown();
}
END_TEST

/* Every media rule allows, with different marks: the strictest of a
 * flow's types is the lowest DSCP (screen sharing's af21), whichever path
 * decides it. A rule for Zoom drops, so undecided UDP flows are read on. */
static const char *tiers = "default {\n"
			   " skype media audio mark dscp ef;\n"
			   " skype media video mark dscp af41;\n"
			   " skype media screen-share mark dscp af21;\n"
			   " protocol Zoom drop;\n"
			   "}\n";

START_TEST(test_every_path_gives_the_strictest_of_a_flows_types)
{
	struct policy_decision d;
	struct engine_verdict v;
	uint8_t media;

	setup_sigs(tiers, relays);
	/* the engine's decision: no port hint, every type */
	v = relay_datagram(40030, -1, 0);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_int_eq(v.flow->action, ACT_ALLOW);
	ck_assert_uint_eq(v.flow->dscp, 1 + 18);
	/* a watched flow decided again: audio, then H.264 (video or
	 * screen sharing) */
	v = p2p_datagram(50013, -1, 0);
	ck_assert(!v.final);
	ck_assert_uint_eq(v.flow->dscp, 1 + 46);
	v = p2p_datagram(50013, 122, 0);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_uint_eq(v.flow->dscp, 1 + 18);
	ck_assert_uint_eq(decisions, 3);
	/* a flow known from its mark (a restart): its mark's types */
	v = known(50032, "203.0.113.5", 3478, 17, -1, SF_PROTO_TEAMS,
		  MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_int_eq(v.action, ACT_ALLOW);
	ck_assert_uint_eq(v.flow->media, MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_uint_eq(v.flow->dscp, 1 + 34);
	/* the conntrack walk: the mark's types, and a flow a signature
	 * makes a call's */
	media = MEDIA_AUDIO | MEDIA_VIDEO;
	decide_marked("192.0.2.10", 50033, "203.0.113.9", 3479, 17,
		      SF_PROTO_TEAMS, &media, &d);
	ck_assert_uint_eq(media, MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_uint_eq(d.dscp, 1 + 34);
	media = 0;
	decide_marked("192.0.2.10", 40034, "203.0.113.9", 3479, 17,
		      SF_PROTO_STUN, &media, &d);
	ck_assert_uint_eq(media, MEDIA_ALL);
	ck_assert_uint_eq(d.dscp, 1 + 18);
	/* merged as RTP's: a video mark on a video port stays video */
	media = MEDIA_VIDEO;
	decide_marked("192.0.2.10", 50035, "203.0.113.9", 3479, 17,
		      SF_PROTO_SKYPE_CALL, &media, &d);
	ck_assert_uint_eq(media, MEDIA_VIDEO);
	ck_assert_uint_eq(d.dscp, 1 + 34);
	teardown();
}
END_TEST

/* A tenant without media ports says so: a call whose ephemeral port falls
 * in Microsoft's audio range is taken as carrying every type. */
START_TEST(test_media_ports_none_takes_a_call_as_every_type)
{
	struct engine_verdict v;
	char text[512];

	snprintf(text, sizeof(text),
		 "options { media-ports audio none video none "
		 "screen-share none; }\n%s",
		 media_policy);
	setup_sigs(text, relays);
	v = relay_datagram(50001, -1, 0);
	ck_assert(v.final);
	ck_assert_uint_eq(v.flow->media, MEDIA_ALL);
	ck_assert_int_eq(v.action, ACT_DROP);
	teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("classify");
	TCase *c = tcase_create("engine");

	tcase_set_timeout(c, 30);
	tcase_add_test(c, test_skype_tls_decided_at_the_client_hello);
	tcase_add_test(c, test_tcp_flows_picked_up_midstream_are_counted);
	tcase_add_loop_test(c, test_lookalike_names_fall_back_to_tls, 0,
			    sizeof(lookalikes) / sizeof(lookalikes[0]));
	tcase_add_test(c, test_registered_domains_with_tenant_suffixes);
	tcase_add_test(c, test_lookalike_check_costs_a_few_matches);
	tcase_add_test(c, test_finance_skype_tls_over_ipv6_is_dropped);
	tcase_add_test(c, test_skype_stun_decided_on_first_exchange);
	tcase_add_test(c, test_skype_stun_over_ipv6_is_skype_too);
	tcase_add_test(c, test_other_tls_is_allowed_in_finance);
	tcase_add_test(
		c,
		test_unknown_udp_decided_after_24_packets_watched_where_dropping);
	tcase_add_test(c, test_inbound_skype_dropped_outbound_allowed);
	tcase_add_test(c, test_names_resolve_case_insensitively);
	tcase_add_test(c, test_flows_being_inspected_are_listed_without_a_walk);
	tcase_add_test(c, test_loader_loads_signatures_with_two_protocol_rules);
	tcase_add_test(
		c, test_http_request_naming_skype_is_dropped_at_the_request);
	tcase_add_test(c, test_dns_query_naming_skype_is_dropped_at_the_query);
	tcase_add_test(c, test_flow_undecided_at_idle_expiry_is_not_enforced);
	tcase_add_test(c,
		       test_hello_split_over_records_dropped_at_its_last_byte);
	tcase_add_test(c, test_out_of_order_segment_dropped_flow_goes_on);
	tcase_add_test(c, test_second_http_request_naming_teams_decides_again);
	tcase_add_test(c, test_junk_then_skype_stun_is_dropped);
	tcase_add_test(c, test_another_departments_stun_cache_does_not_drop);
	tcase_add_test(c, test_midstream_in_fail_closed_department_is_refused);
	tcase_add_test(
		c,
		test_quic_of_a_version_ndpi_cannot_read_is_refused_where_dropping);
	tcase_add_test(
		c, test_encrypted_client_hello_refused_only_where_a_rule_says);
	tcase_add_test(c, test_a_flow_nothing_named_gets_the_rule_for_unknown);
	tcase_add_test(
		c, test_a_first_datagram_named_otherwise_does_not_buy_the_flow);
	tcase_add_test(
		c,
		test_a_different_retransmission_of_a_read_message_is_dropped);
	tcase_add_test(c, test_teams_audio_from_its_port_is_marked_ef);
	tcase_add_test(c, test_teams_screen_sharing_from_its_port_is_dropped);
	tcase_add_test(c, test_teams_without_a_port_hint_may_carry_every_type);
	tcase_add_test(c, test_video_rtp_on_the_audio_port_decides_harder);
	tcase_add_test(c, test_a_throttled_call_is_decided_again_by_its_rtp);
	tcase_add_test(c, test_a_name_lookup_for_teams_is_no_media);
	tcase_add_test(c, test_new_signatures_name_flows_in_the_table);
	tcase_add_test(c, test_the_walk_applies_new_signatures_and_media);
	tcase_add_test(c, test_the_walk_keeps_teams_flows_that_are_no_media);
	tcase_add_test(
		c,
		test_a_throttled_teams_flow_that_is_no_media_stays_throttled);
	tcase_add_test(c, test_h264_from_a_video_port_is_video_only);
	tcase_add_test(c, test_h264_on_a_throttled_video_flow_is_video_only);
	tcase_add_test(c, test_every_path_gives_the_strictest_of_a_flows_types);
	tcase_add_test(c, test_media_ports_none_takes_a_call_as_every_type);
	tcase_add_test(c, test_dissectors_the_policy_needs);
	tcase_add_test(c, test_lean_module_for_departments_that_do_not_log_all);
	tcase_add_test(c, test_lean_module_off_when_the_rules_need_more);
	tcase_add_test(c, test_overload_reads_every_department_lean);
	tcase_add_test(c, test_overload_never_misses_what_decides);
	tcase_add_test(c, test_overload_marks_only_what_it_took);
	suite_add_tcase(s, c);
	return check_run(s);
}
