/* What an admin reads (status.c): every counter in every format, and
 * `status` saying what is wrong in words: a peer drifting, silent or
 * never heard, a state file not saved, the audit not writable. */
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
static struct peer_info peers[PEER_MAX];
static struct classifier *cls;
static const char digest[] =
	"1111111111111111111111111111111111111111111111111111111111111111";

/* A daemon up 42 s with two workers, two peers, state kept and saved. */
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
	memset(peers, 0, sizeof(peers));
	memset(v, 0, sizeof(*v));
	v->snap = &snap;
	v->apps = apps;
	v->cls = cls;
	v->digest = digest;
	v->now_ms = 1000000;
	v->peers = peers;
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

static void peer(unsigned i, const char *addr, const char *node, const char *dg,
		 uint64_t seen_ms)
{
	snprintf(peers[i].addr, sizeof(peers[i].addr), "%s", addr);
	snprintf(peers[i].node, sizeof(peers[i].node), "%s", node);
	snprintf(peers[i].digest, sizeof(peers[i].digest), "%s", dg);
	peers[i].seen_ms = seen_ms;
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

/* Each peer's line says in step, DRIFT (with its digest and kill switch),
 * SILENT (for how long) or NEVER HEARD; Prometheus says 1 only for the
 * one in step. */
START_TEST(test_status_names_each_peers_trouble)
{
	static const char other[] =
		"2222222222222222222222222222222222222222222222222222222222222222";
	struct status_view v;

	view_init(&v);
	peer(0, "198.51.100.2:3790", "gw2", digest, v.now_ms - 500);
	peer(1, "198.51.100.3:3790", "gw3", other, v.now_ms - 1000);
	snprintf(peers[1].killswitch, sizeof(peers[1].killswitch), "skype");
	peer(2, "198.51.100.4:3790", "gw4", digest,
	     v.now_ms - PEER_SILENT_MS - 7000);
	peer(3, "[2001:db8::5]:3790", "", "", 0);
	peers[3].bad_messages = 9;
	v.n_peers = 4;
	v.peers_unknown = 3;
	status_render(&v, STATUS_TEXT, keep, NULL);
	ck_assert_ptr_nonnull(
		strstr(rendered, "peer 198.51.100.2:3790 (gw2): in step\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered,
		"peer 198.51.100.3:3790 (gw3): DRIFT: its running policy is "
		"sha256 2222222222222222222222222222222222222222222222222222222222222222; kill switch skype\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "peer 198.51.100.4:3790 (gw4): SILENT for 10 s\n"));
	ck_assert_ptr_nonnull(
		strstr(rendered, "peer [2001:db8::5]:3790: NEVER HEARD\n"));
	ck_assert_ptr_nonnull(strstr(
		rendered, "peer [2001:db8::5]:3790: 9 messages refused"));
	ck_assert_ptr_nonnull(
		strstr(rendered,
		       "peers: 3 datagrams from addresses that are no peer"));
	/* peers, so the --ha rules are looked for */
	ck_assert_ptr_nonnull(
		strstr(rendered, "HA rules: WARNING: no INVALID"));
	rendered[0] = '\0';
	status_render_stats(&v, STATUS_PROMETHEUS, keep, NULL);
	ck_assert_ptr_nonnull(
		strstr(rendered,
		       "skyfence_peer_in_step{peer=\"198.51.100.2:3790\"} 1"));
	ck_assert_ptr_nonnull(
		strstr(rendered,
		       "skyfence_peer_in_step{peer=\"198.51.100.3:3790\"} 0"));
	ck_assert_ptr_nonnull(
		strstr(rendered,
		       "skyfence_peer_in_step{peer=\"198.51.100.4:3790\"} 0"));
	ck_assert_ptr_nonnull(
		strstr(rendered,
		       "skyfence_peer_in_step{peer=\"[2001:db8::5]:3790\"} 0"));
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
	/* no peers: no peer lines, no HA rules line */
	ck_assert_ptr_null(strstr(rendered, "HA rules"));
	ck_assert_ptr_null(strstr(rendered, "peer "));
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

int main(void)
{
	Suite *s = suite_create("status");
	TCase *c = tcase_create("render");

	tcase_set_timeout(c, 30);
	tcase_add_test(c, test_every_counter_is_in_every_format);
	tcase_add_test(c, test_department_names_are_escaped_where_quoted);
	tcase_add_test(c, test_status_names_each_peers_trouble);
	tcase_add_test(c, test_status_says_what_is_wrong);
	tcase_add_test(c, test_status_json_is_one_escaped_object);
	suite_add_tcase(s, c);
	return check_run(s);
}
