/* The change service (change.c): every change, whoever asks, is validated
 * whole, applied, saved in the state directory, recorded once in the
 * audit chain with who and what, and told to the hook; a change refused
 * leaves all of that untouched. A real daemon's state without workers:
 * its classifier, engine, throttle, audit writer, state directory and the
 * kernel's fail-closed sets, in a network namespace of the test's own. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check_run.h"
#include "audit/auditlog.h"
#include "daemon/change.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "daemon/throttle.h"
#include "policy/loader.h"
#include "policy/state.h"

static const char policy_a[] =
	"department lab { hosts 192.0.2.0/25; skype allow; }\n"
	"department finance { hosts 192.0.2.128/25; skype drop; }\n";

static char dir[64], policy_path[128], audit_path[128], state_dir[128];
static struct daemon_opts o;
static struct daemon d;

/* what the hook was told */
static unsigned hooked;
static struct change last;

static void on_hook(void *ctx, const struct change *c)
{
	(void)ctx;
	hooked++;
	last = *c;
}

static unsigned errors;
static char first_error[512];

static void on_error(void *ctx, const char *msg)
{
	(void)ctx;
	if (!errors++)
		snprintf(first_error, sizeof(first_error), "%s", msg);
}

static int never_release(void *ctx, uint32_t self, int32_t record,
			 const struct throttle_held *h, uint32_t id, int pass)
{
	(void)ctx;
	(void)self;
	(void)record;
	(void)h;
	(void)id;
	(void)pass;
	ck_abort_msg("nothing is held here");
	return 1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* @path's text (NUL-terminated, freed by the caller). */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void setup(void)
{
	struct cls_opts co = { 64, 80, 24, 0, NULL, NULL, 0 };
	struct engine_hooks h = { NULL, NULL, NULL };
	struct engine_opts eo = { 0 };
	struct auditlog_opts ao;
	char err[512];

	/* the fail-closed sets are the kernel's: this namespace's own */
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s",
		      strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/sf-change-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(policy_path, sizeof(policy_path), "%s/skyfence.policy", dir);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	ck_assert_int_eq(mkdir(state_dir, 0700), 0);
	write_file(policy_path, policy_a);

	memset(&o, 0, sizeof(o));
	o.policy_path = policy_path;
	o.state_dir = state_dir;
	o.n_queues = 1;
	o.max_flows = 64;
	o.idle_ms = 60000;
	memset(&d, 0, sizeof(d));
	d.o = &o;
	d.run.state_dfd = d.audit.fd = d.pid_fd = -1;
	d.run.state_limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	d.bad_limit = (struct log_limit)LOG_LIMIT_INIT(5, 10000);
	ck_assert_uint_eq(loader_load(policy_path, &co, &d.run.cls, &d.run.pol,
				      d.run.base, on_error, NULL),
			  0);
	ck_assert_int_eq(runtime_restore(&d), 0);
	d.th = throttle_create(16, never_release, NULL);
	ck_assert_ptr_nonnull(d.th);
	ck_assert_int_eq(runtime_map_buckets(&d, d.run.pol), 0);
	eo.max_flows = 16;
	eo.idle_ms = 60000;
	d.run.eng = engine_create(&eo, d.run.cls, d.run.pol, &h);
	ck_assert_ptr_nonnull(d.run.eng);
	snprintf(d.audit.node, sizeof(d.audit.node), "gw-test");
	memset(&ao, 0, sizeof(ao));
	ao.path = audit_path;
	ao.fd = auditlog_open_file(audit_path);
	ck_assert_int_ge(ao.fd, 0);
	ao.node = d.audit.node;
	ao.buffer = 1 << 20;
	ao.state_dfd = d.run.state_dfd;
	ao.version = "test";
	audit_policy_digest(d.run.pol, d.run.digest);
	ao.policy = d.run.digest;
	d.audit.log = auditlog_open(&ao, err, sizeof(err));
	ck_assert_msg(d.audit.log != NULL, "%s", err);
	d.change_hook.applied = on_hook;
	hooked = 0;
	errors = 0;
	first_error[0] = '\0';
}

/* The audit written out; its text. */
static char *audit_text(void)
{
	auditlog_close(d.audit.log);
	d.audit.log = NULL;
	return read_file(audit_path);
}

static void teardown(void)
{
	char cmd[128];

	auditlog_close(d.audit.log);
	engine_destroy(d.run.eng);
	throttle_destroy(d.th);
	policy_free(d.run.kill);
	policy_free(d.run.pol);
	classifier_close(d.run.cls);
	if (d.run.state_dfd >= 0)
		close(d.run.state_dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int apply(enum change_kind kind, enum change_origin origin,
		 const char *what, char *err, size_t errlen)
{
	struct change c = { .kind = kind,
			    .origin = origin,
			    .uid = origin == CHANGE_FLEET ? -1 : 1234,
			    .note = origin == CHANGE_FLEET
					    ? "fleet revision 7 by gw2 uid 0"
					    : NULL,
			    .what = what };

	return change_apply(&d, &c, on_error, NULL, err, errlen);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

START_TEST(test_a_clients_rule_is_applied_saved_recorded_and_told)
{
	const struct policy *before = d.run.pol;
	char err[512], *text, *saved, *audit;

	ck_assert_int_eq(apply(CHANGE_EDIT, CHANGE_CLIENT,
			       "rule set lab skype drop", err, sizeof(err)),
			 0);
	ck_assert_ptr_ne(d.run.pol, before);
	text = policy_format(d.run.pol);
	ck_assert_ptr_nonnull(strstr(text, "skype drop"));
	/* saved: a restart keeps it */
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", state_dir, STATE_FILE);
		saved = read_file(p);
	}
	ck_assert_ptr_nonnull(strstr(saved, "department lab"));
	ck_assert_uint_eq(count(saved, "skype drop"), 2);
	ck_assert_uint_eq(hooked, 1);
	ck_assert_int_eq(last.kind, CHANGE_EDIT);
	ck_assert_int_eq(last.origin, CHANGE_CLIENT);
	audit = audit_text();
	ck_assert_uint_eq(count(audit, "\"event\":\"change\""), 1);
	ck_assert_msg(strstr(audit, "\"uid\":1234,\"what\":\"rule set lab "
				    "skype drop\"") != NULL,
		      "%s", audit);
	free(audit);
	free(saved);
	free(text);
}
END_TEST

START_TEST(test_a_refused_change_leaves_everything_as_it_was)
{
	const struct policy *before = d.run.pol;
	char err[512], *audit;
	static const char *const bad[] = {
		"rule set nosuchdept skype drop", /* no such department */
		"rule set lab skype frobnicate",  /* no such action */
		"department add lab hosts 198.51.100.0/24", /* exists */
		"department add x hosts 192.0.2.0/33",	    /* no prefix */
		"rule frob lab",			    /* no edit */
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(apply(CHANGE_EDIT, CHANGE_CLIENT, bad[i], err,
				       sizeof(err)),
				 -1);
		ck_assert_msg(err[0] != '\0', "%s: no reason", bad[i]);
		ck_assert_ptr_eq(d.run.pol, before);
	}
	ck_assert_ptr_nonnull(strstr(err, "is not a runtime change"));
	/* the parser's own words reached the caller */
	ck_assert_uint_ge(errors, 1);
	ck_assert_uint_eq(hooked, 0);
	audit = audit_text();
	ck_assert_uint_eq(count(audit, "\"event\":\"change\""), 0);
	free(audit);
}
END_TEST

START_TEST(test_a_fleet_revision_is_recorded_with_who_made_it_where)
{
	char err[512], *audit;

	ck_assert_int_eq(apply(CHANGE_EDIT, CHANGE_FLEET,
			       "department add lab2 hosts 198.51.100.0/24", err,
			       sizeof(err)),
			 0);
	ck_assert_uint_eq(hooked, 1);
	ck_assert_int_eq(last.origin, CHANGE_FLEET);
	ck_assert_str_eq(last.note, "fleet revision 7 by gw2 uid 0");
	audit = audit_text();
	ck_assert_msg(strstr(audit, "\"uid\":-1,\"what\":\"department add "
				    "lab2 hosts 198.51.100.0/24 (fleet "
				    "revision 7 by gw2 uid 0)\"") != NULL,
		      "%s", audit);
	free(audit);
}
END_TEST

START_TEST(test_the_kill_switch_goes_on_and_off_and_refuses_a_stranger)
{
	char err[512], *audit;

	ck_assert_int_eq(apply(CHANGE_KILLSWITCH, CHANGE_CLIENT, "skype", err,
			       sizeof(err)),
			 0);
	ck_assert_str_eq(d.run.pol->killswitch, "skype");
	ck_assert_ptr_nonnull(d.run.kill);
	ck_assert_int_eq(apply(CHANGE_KILLSWITCH, CHANGE_CLIENT,
			       "skype NoSuchProtocolAtAll", err, sizeof(err)),
			 -1);
	ck_assert_str_eq(d.run.pol->killswitch, "skype");
	ck_assert_int_eq(
		apply(CHANGE_KILLSWITCH, CHANGE_CLIENT, "", err, sizeof(err)),
		0);
	ck_assert_str_eq(d.run.pol->killswitch, "");
	ck_assert_ptr_null(d.run.kill);
	ck_assert_uint_eq(hooked, 2);
	audit = audit_text();
	ck_assert_ptr_nonnull(
		strstr(audit, "\"what\":\"killswitch on for skype\""));
	ck_assert_ptr_nonnull(strstr(audit, "\"what\":\"killswitch off\""));
	ck_assert_uint_eq(count(audit, "\"event\":\"change\""), 2);
	free(audit);
}
END_TEST

/* SIGHUP: the file replaces the departments, the kill switch stays; a
 * broken file changes nothing and is counted. */
START_TEST(test_a_reload_keeps_the_kill_switch_and_refuses_a_broken_file)
{
	const struct policy *before;
	char err[512], *audit;

	ck_assert_int_eq(apply(CHANGE_KILLSWITCH, CHANGE_CLIENT, "skype", err,
			       sizeof(err)),
			 0);
	write_file(policy_path,
		   "department lab { hosts 192.0.2.0/24; any allow; }\n");
	ck_assert_int_eq(
		apply(CHANGE_RELOAD, CHANGE_SIGNAL, "", err, sizeof(err)), 0);
	ck_assert_uint_eq(d.run.pol->n_depts, 2);
	ck_assert_str_eq(d.run.pol->killswitch, "skype");
	ck_assert_uint_eq(d.st.reloads, 1);
	before = d.run.pol;
	write_file(policy_path,
		   "department lab { hosts 192.0.2.0/24; any; }\n");
	ck_assert_int_eq(
		apply(CHANGE_RELOAD, CHANGE_SIGNAL, "", err, sizeof(err)), -1);
	ck_assert_ptr_eq(d.run.pol, before);
	ck_assert_uint_eq(d.st.reload_failures, 1);
	ck_assert_ptr_nonnull(strstr(err, "the running policy stays"));
	audit = audit_text();
	ck_assert_ptr_nonnull(strstr(audit, "\"uid\":1234,\"what\":\"reload "));
	ck_assert_uint_eq(count(audit, "\"event\":\"change\""), 2);
	free(audit);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("change");
	TCase *c = tcase_create("change");

	if (geteuid() != 0) {
		printf("SKIP: needs root (a network namespace of its own for "
		       "the kernel's fail-closed sets)\n");
		return 77;
	}
	tcase_set_timeout(c, 60);
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c,
		       test_a_clients_rule_is_applied_saved_recorded_and_told);
	tcase_add_test(c, test_a_refused_change_leaves_everything_as_it_was);
	tcase_add_test(
		c, test_a_fleet_revision_is_recorded_with_who_made_it_where);
	tcase_add_test(
		c, test_the_kill_switch_goes_on_and_off_and_refuses_a_stranger);
	tcase_add_test(
		c,
		test_a_reload_keeps_the_kill_switch_and_refuses_a_broken_file);
	suite_add_tcase(s, c);
	return check_run(s);
}
