/* What an admin reads (status.c): every counter in every format, and
 * `status` saying what is wrong in words: a fleet node behind, in
 * conflict or silent, a state file not saved, the audit not writable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "classify/classify.h"
#include "control/status.h"

static char rendered[65536];

static void keep(void *ctx, const char *line)
{
	(void)ctx;
	strncat(rendered, line, sizeof(rendered) - strlen(rendered) - 2);
	strcat(rendered, "\n");
}

static struct stats_snap snap;
static struct app_stat *apps;
static struct fleetd_node nodes[4];
static struct fleetd_view fleet;
static struct classifier *cls;
static const char digest[] =
	"1111111111111111111111111111111111111111111111111111111111111111";

/* A daemon up 42 s with two workers, alone, state kept and saved. */
static void view_init(struct status_view *v)
{
	struct cls_opts co = { .max_flows = 16 };
	char err[256];

	if (!cls) {
		cls = classifier_open(&co, err, sizeof(err));
		ck_assert_msg(cls != NULL, "%s", err);
	}
	memset(&snap, 0, sizeof(snap));
	free(apps);
	apps = calloc(APP_STATS, sizeof(*apps));
	ck_assert_ptr_nonnull(apps);
	memset(nodes, 0, sizeof(nodes));
	memset(&fleet, 0, sizeof(fleet));
	memset(v, 0, sizeof(*v));
	v->snap = &snap;
	v->apps = apps;
	v->cls = cls;
	v->digest = digest;
	v->now_ms = 1000000;
	v->pid = 4242;
	v->uptime_s = 42;
	v->pol.source = "/etc/skyfence/skyfence.policy";
	v->pol.n_depts = 3;
	v->pol.killswitch = "";
	v->queue_num = 0;
	v->n_queues = 2;
	v->n_workers = 2;
	v->max_flows = 65536;
	v->tcp_loose = -1;
	v->log_level = "info";
	v->state.kept = 1;
	v->state.err = "";
	v->state.dir = "/var/lib/skyfence";
	v->audit.node = "gw1";
	v->audit.log.writable = 1;
	rendered[0] = '\0';
}

static void node(unsigned i, const char *id, enum fleetd_state st,
		 uint64_t policy_rev)
{
	snprintf(nodes[i].id, sizeof(nodes[i].id), "%s", id);
	nodes[i].state = st;
	nodes[i].st.policy_rev = policy_rev;
	nodes[i].st.ks_rev = 3;
	snprintf(nodes[i].st.digest, sizeof(nodes[i].st.digest), "%s", digest);
	snprintf(nodes[i].st.health, sizeof(nodes[i].st.health), "ok");
}

/* Every counter of the table in every format: no key or family missing. */
START_TEST(test_every_counter_is_in_every_format)
{
	static const enum status_format fmts[] = { STATUS_TEXT, STATUS_JSON,
						   STATUS_PROMETHEUS,
						   STATUS_LOG };
	struct status_view v;
	unsigned i, k;

	view_init(&v);
	for (i = 0; i < STAT_N; i++)
		snap.v[i] = 1000 + i;
	snap.n_w = 2;
	snap.w[1].first_queue = 7;
	snap.w[1].n_queues = 1;
	snap.w[1].flows_created = 4321;
	for (k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
		rendered[0] = '\0';
		status_render_stats(&v, fmts[k], keep, NULL);
		ck_assert_ptr_null(strstr(rendered, "(null)"));
		for (i = 0; i < STAT_N; i++) {
			char n[16];

			snprintf(n, sizeof(n), "%u", 1000 + i);
			/* kept in milliseconds, exported in seconds */
			if (fmts[k] == STATUS_PROMETHEUS &&
			    i == STAT_OVERLOAD_MS)
				snprintf(n, sizeof(n), " %u.%03u",
					 (1000 + i) / 1000, (1000 + i) % 1000);
			ck_assert_msg(strstr(rendered, n) != NULL,
				      "format %u lacks counter %u", k, i);
		}
		/* each worker's share, but in the one-line log */
		if (fmts[k] != STATUS_LOG)
			ck_assert_msg(strstr(rendered, "4321") != NULL,
				      "format %u lacks worker 1's flows", k);
		if (fmts[k] == STATUS_PROMETHEUS)
			ck_assert_ptr_nonnull(strstr(
				rendered, "skyfence_worker_flows_created_total{"
					  "worker=\"1\",queue=\"7\"} 4321"));
	}

	/* the log line is one line */
	ck_assert_ptr_eq(strchr(rendered, '\n'),
			 rendered + strlen(rendered) - 1);
}
END_TEST

/* A department's name is the admin's: quotes and backslashes escaped in
 * every format that quotes it, the app named by the classifier. */
START_TEST(test_department_names_are_escaped_where_quoted)
{
	struct status_view v;

	view_init(&v);
	snprintf(apps[3].dept, sizeof(apps[3].dept), "%s", "r\"d\\lab");
	apps[3].app = 125;
	apps[3].pkts = 17;
	apps[3].decisions[ACT_DROP] = 5;
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_msg(
		strstr(rendered,
		       "skyfence_decisions_total{department=\"r\\\"d\\\\lab\","
		       "app=\"Skype_Teams\",action=\"drop\"} 5") != NULL,
		"%s", rendered);
	rendered[0] = '\0';
	status_render_stats(&v, STATUS_JSON, keep, NULL);
	ck_assert_msg(strstr(rendered,
			     "\"department\":\"r\\\"d\\\\lab\",\"app\":"
			     "\"Skype_Teams\",\"packets\":17") != NULL,
		      "%s", rendered);
}
END_TEST

/* A fleet node's status says where it stands in words: connected or
 * not, the revisions applied against the bucket's, its own and its
 * unwritten kill switch, each conflict, the audit anchor's alarm, and
 * the nodes by state; Prometheus has one family per figure. */
START_TEST(test_status_says_where_the_fleet_stands)
{
	struct status_view v;

	view_init(&v);
	node(0, "gw1", FLEETD_OK, 12);
	nodes[0].self = 1;
	node(1, "gw2", FLEETD_BEHIND, 11);
	node(2, "gw3", FLEETD_CONFLICT, 12);
	node(3, "gw4", FLEETD_SILENT, 9);
	fleet.bucket = "skyfence";
	fleet.url = "tls://198.51.100.11:4222";
	fleet.node = "gw1";
	fleet.policy_rev = 12;
	fleet.bucket_policy_rev = 12;
	fleet.ks_rev = 3;
	fleet.bucket_ks_rev = 3;
	fleet.fleet_ks = "skype";
	fleet.local_ks = "";
	fleet.pending_ks = "teams";
	fleet.policy_by = "gw2 uid 0: rule set finance skype drop";
	fleet.n_conflicts = 1;
	fleet.conflict[0] = "policy revision 13 refused here: 2 error(s)";
	fleet.anchor_behind = 1;
	fleet.anchor_seq = 900;
	fleet.local_seq = 850;
	fleet.has_admin = 1;
	fleet.fs.connected = 0;
	fleet.fs.admin_connected = 0;
	fleet.n_nodes = 4;
	fleet.nodes = nodes;
	v.fleet = &fleet;
	status_render(&v, STATUS_TEXT, keep, NULL);
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: node gw1, bucket skyfence on "
			  "tls://198.51.100.11:4222: NOT CONNECTED (enforcing "
			  "the last state applied); admin credentials: NOT "
			  "CONNECTED\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: policy revision 12 applied (the bucket's: "
			  "12), by gw2 uid 0: rule set finance skype drop\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: kill switch revision 3 applied (the "
			  "bucket's: 3): on for skype; this node's own: -; not "
			  "yet written: teams\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: CONFLICT: policy revision 13 refused here"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: AUDIT: this node's log ended at seq 850 at "
			  "start, but it had published seq 900"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "fleet: 4 nodes: 1 ok, 1 behind, 1 conflict, 1 "
			  "silent"));
	rendered[0] = '\0';
	status_render(&v, STATUS_JSON, keep, NULL);
	ck_assert_ptr_nonnull(strstr(
		rendered, "\"fleet\":{\"node\":\"gw1\",\"bucket\":\"skyfence\","
			  "\"connected\":false,\"admin\":true,"
			  "\"policy_revision\":12"));
	ck_assert_ptr_nonnull(strstr(rendered, "\"pending\":\"teams\""));
	ck_assert_ptr_nonnull(strstr(rendered, "\"audit_behind_anchor\":true"));
	rendered[0] = '\0';
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_ptr_nonnull(strstr(rendered, "skyfence_fleet_connected 0\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"skyfence_fleet_node_state{node=\"gw2\",state=\"behind\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"skyfence_fleet_node_state{node=\"gw2\",state=\"ok\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"skyfence_fleet_node_state{node=\"gw4\",state=\"silent\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"skyfence_fleet_node_policy_revision{node=\"gw2\"} 11\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "skyfence_audit_anchor_behind 1\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "skyfence_fleet_killswitch_unwritten 1\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"skyfence_fleet_revision{key=\"policy\",of=\"bucket\"} 12\n"));
}
END_TEST

/* A state not saved, a kill switch on, an audit that cannot write, the
 * kernel bypassing: each said in words an admin acts on. */
START_TEST(test_status_says_what_is_wrong)
{
	struct status_view v;

	view_init(&v);
	v.state.dirty = 1;
	v.state.err = "No space left on device";
	v.pol.killswitch = "skype teams";
	v.audit.log.writable = 0;
	v.audit.path = "/var/log/skyfence/audit.log";
	v.bypass_counted = 1;
	v.bypass_growing = 1;
	v.bypassed = 77;
	v.ctl.clients = 481;
	v.ctl.refused_uid = 448;
	v.ctl.evicted = 1;
	status_render(&v, STATUS_TEXT, keep, NULL);
	/* a read-only crowd held off, and an admin let in */
	ck_assert_ptr_nonnull(strstr(
		rendered, "control clients: 481 (refused busy 0, at the uid "
			  "cap 448, evicted for an admin 1)"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "killswitch: ON for skype teams\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "state: NOT SAVED (No space left on device): a "
			  "restart would undo runtime changes"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "; NOT WRITABLE (records wait)"));
	ck_assert_ptr_nonnull(strstr(rendered, "bypass: BYPASSING"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "77 packets passed uninspected"));
	/* alone: no fleet lines, no HA rules line */
	ck_assert_ptr_null(strstr(rendered, "HA rules"));
	ck_assert_ptr_null(strstr(rendered, "fleet"));
	/* one worker line per worker, only with more than one */
	ck_assert_ptr_nonnull(strstr(rendered, "2 worker(s)"));
	ck_assert_ptr_null(strstr(rendered, "(null)"));
}
END_TEST

/* `status json` is one line, one object, its strings escaped. */
START_TEST(test_status_json_is_one_escaped_object)
{
	struct status_view v;
	size_t n;

	view_init(&v);
	v.pol.source = "(running policy after: rule set \"lab\" x)";
	v.state.dirty = 1;
	v.state.err = "tab\there";
	v.ctl.evicted = 7;
	status_render(&v, STATUS_JSON, keep, NULL);
	n = strlen(rendered);
	ck_assert_uint_gt(n, 2);
	ck_assert_int_eq(rendered[0], '{');
	ck_assert_int_eq(rendered[n - 2], '}');
	ck_assert_ptr_eq(strchr(rendered, '\n'), rendered + n - 1);
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"\"policy\":\"(running policy after: rule set \\\"lab\\\" x)\""));
	ck_assert_ptr_nonnull(strstr(rendered, "\"state_saved\":false"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "\"state_error\":\"tab\\u0009here\""));
	ck_assert_ptr_nonnull(strstr(rendered, "\"uptime_s\":42,"));
	ck_assert_ptr_nonnull(strstr(rendered, "\"departments\":3,"));
	ck_assert_ptr_nonnull(strstr(rendered, "\"ctl_evicted\":7,"));
}
END_TEST

/* The endpoints feed in every format: its version and age in words, the
 * JSON member, the metrics the alert reads; none of it when the policy
 * names no feed, and "NOT LOADED" when it names one not written yet. */
/* 64 windows of long names, the rules switched at length: the schedule
 * in `status json` is whole, and the line ends as one object does. */
START_TEST(test_status_json_holds_64_windows)
{
	struct status_view v;
	struct sched_view *sv = &v.sched;
	size_t n;
	unsigned i;

	view_init(&v);
	sv->on = 1;
	sv->n = WIN_MAX;
	sv->now = 1796749100;
	sv->next = 1796749200;
	for (i = 0; i < WIN_MAX; i++)
		snprintf(sv->w[i].name, sizeof(sv->w[i].name), "window_%024u",
			 i);
	snprintf(sv->next_local, sizeof(sv->next_local),
		 "2026-12-08 18:00:00 CET");
	memset(sv->switches, 'x', sizeof(sv->switches) - 1);
	status_render(&v, STATUS_JSON, keep, NULL);
	n = strlen(rendered);
	ck_assert_uint_gt(n, 2);
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"\"window_000000000000000000000063\":false},\"next_boundary\""));
	ck_assert_ptr_nonnull(strstr(
		rendered, "xxx\",\"boundaries\":0,\"clock_steps\":0}}\n"));
	/* one line */
	ck_assert_ptr_eq(strchr(rendered, '\n'), rendered + n - 1);
}
END_TEST

START_TEST(test_feed_in_every_format)
{
	struct status_view v;

	view_init(&v);
	status_render(&v, STATUS_TEXT, keep, NULL);
	ck_assert_ptr_null(strstr(rendered, "feed"));
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_ptr_null(strstr(rendered, "skyfence_feed"));

	view_init(&v);
	v.feed.path = "/var/lib/skyfence-endpoints/teams.signatures";
	v.feed.checked = -1;
	status_render(&v, STATUS_TEXT, keep, NULL);
	ck_assert_ptr_nonnull(strstr(
		rendered, "feed: NOT LOADED: /var/lib/skyfence-endpoints/"
			  "teams.signatures not written yet"));
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_ptr_nonnull(strstr(rendered, "\nskyfence_feed_loaded 0\n"));
	ck_assert_ptr_null(strstr(rendered, "skyfence_feed_checked"));

	view_init(&v);
	v.feed.path = "/var/lib/skyfence-endpoints/teams.signatures";
	v.feed.present = 1;
	v.feed.instance = "Worldwide";
	v.feed.version = "2026112800";
	v.feed.version_date = 1795824000; /* 2026-11-28 */
	v.feed.fetched = 1796630400;	  /* 2026-12-07T08:00:00Z */
	v.feed.checked = 1796637600;	  /* 10:00 */
	v.feed.now = 1796648400;	  /* 13:00 */
	v.feed.v4 = 7;
	v.feed.v6 = 2;
	v.feed.names = 5;
	status_render(&v, STATUS_TEXT, keep, NULL);
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"feed: Worldwide version 2026112800, published 2026-11-28 (9 "
		"days ago), fetched 2026-12-07T08:00:00Z, last checked "
		"2026-12-07T10:00:00Z (3 h ago); 7 IPv4 and 2 IPv6 prefixes, 5 "
		"names with the address list\n"));
	rendered[0] = '\0';
	status_render(&v, STATUS_JSON, keep, NULL);
	ck_assert_ptr_nonnull(strstr(
		rendered,
		",\"feed\":{\"path\":\"/var/lib/skyfence-endpoints/"
		"teams.signatures\",\"loaded\":true,\"instance\":\"Worldwide\","
		"\"version\":\"2026112800\",\"published\":1795824000,"
		"\"fetched\":1796630400,\"checked\":1796637600,\"age_s\":"
		"10800,\"ipv4\":7,\"ipv6\":2,\"names\":5},\"fleet\":null}"));
	rendered[0] = '\0';
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_ptr_nonnull(strstr(rendered, "\nskyfence_feed_loaded 1\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "\nskyfence_feed_info{instance=\"Worldwide\","
				 "version=\"2026112800\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "\nskyfence_feed_checked_timestamp_seconds "
				 "1796637600\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "\nskyfence_feed_published_timestamp_seconds "
				 "1795824000\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "\nskyfence_feed_fetched_timestamp_seconds "
				 "1796630400\n"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");
	TCase *c = tcase_create("render");

	tcase_set_timeout(c, 30);
	tcase_add_test(c, test_every_counter_is_in_every_format);
	tcase_add_test(c, test_department_names_are_escaped_where_quoted);
	tcase_add_test(c, test_status_says_where_the_fleet_stands);
	tcase_add_test(c, test_status_says_what_is_wrong);
	tcase_add_test(c, test_status_json_is_one_escaped_object);
	tcase_add_test(c, test_feed_in_every_format);
	tcase_add_test(c, test_status_json_holds_64_windows);
	suite_add_tcase(s, c);
	return check_run(s);
}
