/* A user's groups from a directory (ldapgrp.c), against a real slapd:
 * Debian's, on 127.0.0.1 in a network namespace of the test's own (root;
 * skipped otherwise), its database made for each test by slapadd in a
 * directory of its own. Every wait is bounded, and bounds on time are
 * generous: they tell a hang from an answer, not a fast machine from a
 * slow one. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ldap.h>

#include "check_run.h"
#include "identity/ldapgrp.h"

#define SLAPD "/usr/sbin/slapd"
#define SLAPADD "/usr/sbin/slapadd"
#define PORT 3389
#define HANG_PORT 3390
#define URI "ldap://127.0.0.1:3389"
#define BASE "dc=example,dc=org"
#define ADMIN "cn=admin,dc=example,dc=org"
#define FINANCE "cn=finance,ou=groups,dc=example,dc=org"
#define ENGINEERING "cn=engineering,ou=groups,dc=example,dc=org"
#define SALES "cn=sales,ou=groups,dc=example,dc=org"
#define PEOPLE ",ou=people,dc=example,dc=org"
/* a uid with every character a filter gives a meaning to, and a DN with
 * those a DN allows unescaped */
#define ODD_USER "o(b)*rien\\x"
#define ODD_DN "cn=O(b)*rien" PEOPLE

static const char ldif[] =
	"dn: dc=example,dc=org\nobjectClass: dcObject\n"
	"objectClass: organization\ndc: example\no: Example\n\n"
	"dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\n"
	"ou: people\n\n"
	"dn: ou=contractors,dc=example,dc=org\n"
	"objectClass: organizationalUnit\nou: contractors\n\n"
	"dn: ou=groups,dc=example,dc=org\nobjectClass: organizationalUnit\n"
	"ou: groups\n\n"
	"dn: uid=alice" PEOPLE "\nobjectClass: inetOrgPerson\nuid: alice\n"
	"cn: Alice\nsn: A\n\n"
	"dn: uid=bob" PEOPLE "\nobjectClass: inetOrgPerson\nuid: bob\n"
	"cn: Bob\nsn: B\n\n"
	"dn: uid=carol" PEOPLE "\nobjectClass: inetOrgPerson\nuid: carol\n"
	"cn: Carol\nsn: C\n\n"
	"dn: uid=dave" PEOPLE "\nobjectClass: inetOrgPerson\nuid: dave\n"
	"cn: Dave\nsn: D\n\n"
	"dn: uid=eve" PEOPLE "\nobjectClass: inetOrgPerson\nuid: eve\n"
	"cn: Eve\nsn: E\n\n"
	"dn: uid=eve,ou=contractors,dc=example,dc=org\n"
	"objectClass: inetOrgPerson\nuid: eve\ncn: Eve\nsn: E\n\n"
	"dn: " ODD_DN "\nobjectClass: inetOrgPerson\nuid: " ODD_USER "\n"
	"cn: O(b)*rien\nsn: O\n\n"
	"dn: " FINANCE "\nobjectClass: groupOfNames\ncn: finance\n"
	"member: uid=alice" PEOPLE "\nmember: uid=carol" PEOPLE "\n\n"
	"dn: " ENGINEERING "\nobjectClass: groupOfNames\ncn: engineering\n"
	"member: uid=bob" PEOPLE "\n\n"
	"dn: " SALES "\nobjectClass: groupOfNames\ncn: sales\n"
	"member: uid=carol" PEOPLE "\nmember: " ODD_DN "\n";

static const char conf_fmt[] = "include /etc/ldap/schema/core.schema\n"
			       "include /etc/ldap/schema/cosine.schema\n"
			       "include /etc/ldap/schema/nis.schema\n"
			       "include /etc/ldap/schema/inetorgperson.schema\n"
			       "pidfile %s/slapd.pid\n"
			       "modulepath /usr/lib/ldap\n"
			       "moduleload back_mdb\n"
			       "database mdb\n"
			       "suffix \"" BASE "\"\n"
			       "rootdn \"" ADMIN "\"\n"
			       "rootpw secret\n"
			       "directory %s/db\n"
			       "maxsize 10485760\n"
			       "index objectClass,uid,member,memberUid eq\n";

/* top: the run's, removed by the parent even after a failed test (whose
 * checked teardown does not run); dir: the test's, in it */
static char top[64], dir[96], conf[128];
static pid_t slapd = -1;

/* what ldapgrp_drain reported */
struct answer {
	char user[LDAPGRP_USER_MAX + 1];
	unsigned n;
	char groups[8][128];
	char error[256];
	int failed;
};
static struct answer answers[64];
static unsigned n_answers;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static void lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static int port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ck_assert_int_ge(s, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static void slapd_start(void)
{
	char log[128];
	uint64_t t0 = now_ms();
	int fd;

	snprintf(log, sizeof(log), "%s/slapd.log", dir);
	slapd = fork();
	ck_assert_int_ge(slapd, 0);
	if (slapd == 0) {
		/* gone with the test, even one that failed */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(SLAPD, "slapd", "-f", conf, "-h",
		      "ldap://127.0.0.1:3389/", "-d", "0", (char *)NULL);
		_exit(127);
	}
	while (!port_open(PORT)) {
		ck_assert_msg(now_ms() - t0 < 20000,
			      "slapd does not listen (see %s)", log);
		ck_assert_int_eq(waitpid(slapd, NULL, WNOHANG), 0);
		sleep_ms(50);
	}
}

static void slapd_stop(int sig)
{
	if (slapd <= 0)
		return;
	kill(slapd, sig);
	waitpid(slapd, NULL, 0);
	slapd = -1;
}

static void setup(void)
{
	char path[128], text[1024], cmd[512];

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s",
		      strerror(errno));
	lo_up();
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/slapd.conf", dir);
	snprintf(text, sizeof(text), conf_fmt, dir, dir);
	write_file(conf, text, 0600);
	snprintf(path, sizeof(path), "%s/db", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.ldif", dir);
	write_file(path, ldif, 0600);
	snprintf(cmd, sizeof(cmd),
		 SLAPADD " -q -f %s -l %s >%s/slapadd.log 2>&1", conf, path,
		 dir);
	ck_assert_msg(system(cmd) == 0, "slapadd failed: see %s/slapadd.log",
		      dir);
	slapd_start();
	n_answers = 0;
	memset(answers, 0, sizeof(answers));
}

static void teardown(void)
{
	slapd_stop(SIGTERM);
}

static void run_setup(void)
{
	snprintf(top, sizeof(top), "/tmp/ldapgrp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
}

static void run_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

static void on_answer(void *ctx, const char *user, const char *const *groups,
		      unsigned n, const char *error)
{
	struct answer *a = &answers[n_answers < 64 ? n_answers : 63];
	unsigned i;

	(void)ctx;
	memset(a, 0, sizeof(*a));
	snprintf(a->user, sizeof(a->user), "%s", user);
	a->n = n;
	for (i = 0; i < n && i < 8; i++)
		snprintf(a->groups[i], sizeof(a->groups[i]), "%s", groups[i]);
	a->failed = error != NULL;
	if (error)
		snprintf(a->error, sizeof(a->error), "%s", error);
	n_answers++;
}

/* Drains until @want answers in all (or @ms passed). Returns the time
 * it took; every drain is timed too: none may block. */
static uint64_t wait_answers(struct ldapgrp *g, unsigned want, unsigned ms)
{
	struct pollfd p = { .fd = ldapgrp_fd(g), .events = POLLIN };
	uint64_t t0 = now_ms(), t;

	while (n_answers < want && now_ms() - t0 < ms) {
		poll(&p, 1, 100);
		t = now_ms();
		ldapgrp_drain(g, on_answer, NULL);
		ck_assert_msg(now_ms() - t < 500, "ldapgrp_drain blocked");
	}
	return now_ms() - t0;
}

/* The last answer for @user. */
static const struct answer *answer_of(const char *user)
{
	unsigned i;

	for (i = n_answers < 64 ? n_answers : 64; i-- > 0;)
		if (!strcmp(answers[i].user, user))
			return &answers[i];
	ck_abort_msg("no answer for %s", user);
	return NULL;
}

static int has(const char *const *groups, unsigned n, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strcmp(groups[i], name))
			return 1;
	return 0;
}

static int answer_has(const struct answer *a, const char *name)
{
	const char *v[8];
	unsigned i;

	for (i = 0; i < a->n && i < 8; i++)
		v[i] = a->groups[i];
	return has(v, a->n < 8 ? a->n : 8, name);
}

static struct ldapgrp *open_dir(struct ldapgrp_opts *o)
{
	char err[256] = "";
	struct ldapgrp *g;

	if (!o->uri)
		o->uri = URI;
	if (!o->base)
		o->base = BASE;
	g = ldapgrp_open(o, err, sizeof(err));
	ck_assert_msg(g != NULL, "ldapgrp_open: %s", err);
	return g;
}

/* ldapgrp_get, timed: it never blocks. */
static int get(struct ldapgrp *g, const char *user, const char *const **v,
	       unsigned *n)
{
	uint64_t t0 = now_ms();
	int rc = ldapgrp_get(g, user, v, n);

	ck_assert_msg(now_ms() - t0 < 500, "ldapgrp_get blocked");
	return rc;
}

/* @user's groups through a lookup: asked, answered, then from the cache. */
static const struct answer *look_up(struct ldapgrp *g, const char *user)
{
	const char *const *v;
	unsigned n, before = n_answers;

	ck_assert_int_eq(get(g, user, &v, &n), 0);
	wait_answers(g, before + 1, 10000);
	ck_assert_uint_eq(n_answers, before + 1);
	return answer_of(user);
}

static void modify_member(const char *group, const char *member, int op)
{
	char type[] = "member", secret[] = "secret", value[128];
	char *vals[] = { value, NULL };
	LDAPMod mod = { .mod_op = op, .mod_type = type };
	LDAPMod *mods[] = { &mod, NULL };
	struct berval cred = { sizeof(secret) - 1, secret };
	int v3 = LDAP_VERSION3;
	LDAP *ld;

	snprintf(value, sizeof(value), "%s", member);
	mod.mod_values = vals;
	ck_assert_int_eq(ldap_initialize(&ld, URI), LDAP_SUCCESS);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ck_assert_int_eq(ldap_sasl_bind_s(ld, ADMIN, LDAP_SASL_SIMPLE, &cred,
					  NULL, NULL, NULL),
			 LDAP_SUCCESS);
	ck_assert_int_eq(ldap_modify_ext_s(ld, group, mods, NULL, NULL),
			 LDAP_SUCCESS);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

START_TEST(test_each_user_gets_its_groups_by_name_and_by_dn)
{
	struct ldapgrp_opts o = { 0 };
	struct ldapgrp *g = open_dir(&o);
	static const char *const users[] = { "alice", "bob", "carol", "dave",
					     ODD_USER };
	const struct answer *a;
	struct ldapgrp_stats s;
	const char *const *v;
	unsigned i, n;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(get(g, users[i], &v, &n), 0);
	wait_answers(g, 5, 10000);
	ck_assert_uint_eq(n_answers, 5);
	for (i = 0; i < 5; i++)
		ck_assert_msg(!answer_of(users[i])->failed, "%s: %s", users[i],
			      answer_of(users[i])->error);

	a = answer_of("alice");
	ck_assert_uint_eq(a->n, 2);
	ck_assert(answer_has(a, "finance") && answer_has(a, FINANCE));
	a = answer_of("bob");
	ck_assert_uint_eq(a->n, 2);
	ck_assert(answer_has(a, "engineering") && answer_has(a, ENGINEERING));
	a = answer_of("carol");
	ck_assert_uint_eq(a->n, 4);
	ck_assert(answer_has(a, "finance") && answer_has(a, FINANCE));
	ck_assert(answer_has(a, "sales") && answer_has(a, SALES));
	/* in no group: an answer, not an error */
	ck_assert_uint_eq(answer_of("dave")->n, 0);
	a = answer_of(ODD_USER);
	ck_assert_uint_eq(a->n, 2);
	ck_assert(answer_has(a, "sales") && answer_has(a, SALES));

	/* and now from the cache, the same */
	ck_assert_int_eq(get(g, "carol", &v, &n), 1);
	ck_assert_uint_eq(n, 4);
	ck_assert(has(v, n, "sales") && has(v, n, FINANCE));
	ck_assert_int_eq(get(g, "dave", &v, &n), 1);
	ck_assert_uint_eq(n, 0);
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.lookups, 5);
	ck_assert_uint_eq(s.failures, 0);
	ck_assert_uint_eq(s.hits, 2);
	ck_assert_uint_eq(s.misses, 5);
	ck_assert_uint_eq(s.cached, 5);
	ck_assert_int_eq(s.connected, 1);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_an_unknown_or_ambiguous_user_is_an_error_not_asked_again_at_once)
{
	struct ldapgrp_opts o = { 0 };
	struct ldapgrp *g = open_dir(&o);
	struct ldapgrp_stats s;
	const char *const *v;
	unsigned n;

	ck_assert_str_eq(look_up(g, "mallory")->error, "no such user");
	/* two entries with uid=eve */
	ck_assert_ptr_nonnull(strstr(look_up(g, "eve")->error, "ambiguous"));
	ck_assert_int_eq(get(g, "mallory", &v, &n), -EAGAIN);
	ck_assert_int_eq(get(g, "eve", &v, &n), -EAGAIN);
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.lookups, 2);
	ck_assert_uint_eq(s.failures, 2);
	ck_assert_ptr_nonnull(strstr(s.last_error, "ambiguous"));

	/* forgotten, asked again */
	ldapgrp_forget(g, "mallory");
	ck_assert_str_eq(look_up(g, "mallory")->error, "no such user");
	ck_assert_int_eq(get(g, "", &v, &n), -EINVAL);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_a_hostile_user_name_does_not_widen_the_search)
{
	/* unescaped, each would match alice, or everyone (ambiguous); then
	 * bytes that are no UTF-8, and control characters */
	static const char *const names[] = {
		"*",	    "ali*",    "*)(uid=*",    "alice)(|(uid=*",
		"\\2a",	    "alice\\", "(uid=alice)", "alice)(objectClass=*",
		"\xc3\x28", "a\nb",    "\xff*",	      "alice\x01",
	};
	struct ldapgrp_opts o = { 0 };
	struct ldapgrp *g = open_dir(&o);
	char big[LDAPGRP_USER_MAX + 2];
	const struct answer *a;
	const char *const *v;
	unsigned i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		a = look_up(g, names[i]);
		ck_assert_msg(a->failed && !strcmp(a->error, "no such user"),
			      "%s: %u groups, %s", names[i], a->n, a->error);
	}
	/* %u also in the groups' filter (posixGroup's memberUid): a hostile
	 * name there finds nothing either */
	o.group_filter = "(|(member=%d)(memberUid=%u))";
	ldapgrp_close(g);
	g = open_dir(&o);
	a = look_up(g, ODD_USER);
	ck_assert_msg(!a->failed, "%s", a->error);
	ck_assert_uint_eq(a->n, 2);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(get(g, big, &v, &n), -EINVAL);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_asks_while_a_lookup_is_under_way_make_one_lookup)
{
	struct ldapgrp_opts o = { 0 };
	struct ldapgrp *g = open_dir(&o);
	struct ldapgrp_stats s;
	const char *const *v;
	unsigned i, n;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(get(g, "alice", &v, &n), 0);
	wait_answers(g, 1, 10000);
	/* anything more would have come by now */
	sleep_ms(300);
	wait_answers(g, 2, 300);
	ck_assert_uint_eq(n_answers, 1);
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.lookups, 1);
	ck_assert_uint_eq(s.misses, 1000);
	ck_assert_int_eq(get(g, "alice", &v, &n), 1);
	ck_assert(has(v, n, "finance"));
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_an_answer_is_kept_for_its_lifetime_then_asked_again)
{
	struct ldapgrp_opts o = { .lifetime_s = 3 };
	struct ldapgrp *g = open_dir(&o);
	struct ldapgrp_stats s;
	const char *const *v;
	uint64_t answered;
	unsigned n;

	ck_assert(!answer_has(look_up(g, "bob"), "finance"));
	answered = now_ms();
	modify_member(FINANCE, "uid=bob" PEOPLE, LDAP_MOD_ADD);
	/* within the lifetime: the cached answer (a machine stalled for
	 * seconds cannot tell) */
	if (now_ms() - answered < 2500) {
		ck_assert_int_eq(get(g, "bob", &v, &n), 1);
		ck_assert(!has(v, n, "finance"));
	}

	sleep_ms(3500);
	ck_assert(answer_has(look_up(g, "bob"), "finance"));
	ck_assert_int_eq(get(g, "bob", &v, &n), 1);
	ck_assert(has(v, n, "finance") && has(v, n, "engineering"));

	/* a change told from outside: forgotten, asked again at once */
	modify_member(FINANCE, "uid=bob" PEOPLE, LDAP_MOD_DELETE);
	ldapgrp_forget(g, "bob");
	ck_assert(!answer_has(look_up(g, "bob"), "finance"));
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.lookups, 3);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_a_full_cache_evicts_the_least_recent_and_answers_are_bounded)
{
	struct ldapgrp_opts o = { .max_users = 2, .max_groups = 3 };
	struct ldapgrp *g = open_dir(&o);
	struct ldapgrp_stats s;
	const struct answer *a;
	const char *const *v;
	unsigned n;

	look_up(g, "alice");
	look_up(g, "bob");
	ck_assert_int_eq(get(g, "alice", &v, &n), 1);
	/* carol's two groups are four strings: one group kept */
	a = look_up(g, "carol");
	ck_assert_uint_eq(a->n, 2);
	ck_assert(answer_has(a, "sales") != answer_has(a, "finance"));
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.evicted, 1);
	ck_assert_uint_eq(s.cached, 2);
	ck_assert_uint_eq(s.truncated, 1);
	ck_assert_int_eq(get(g, "alice", &v, &n), 1);
	ck_assert_int_eq(get(g, "bob", &v, &n), 0);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_a_killed_directory_is_reported_at_once_and_used_again_when_back)
{
	struct ldapgrp_opts o = { .lifetime_s = 1, .timeout_ms = 1000 };
	struct ldapgrp *g = open_dir(&o);
	const struct answer *a;
	struct ldapgrp_stats s;
	uint64_t t0;

	ck_assert(!look_up(g, "alice")->failed);
	slapd_stop(SIGKILL);
	ldapgrp_forget(g, "alice");
	t0 = now_ms();
	a = look_up(g, "alice");
	ck_assert(a->failed);
	ck_assert_msg(now_ms() - t0 < 10000, "took %llu ms",
		      (unsigned long long)(now_ms() - t0));
	ldapgrp_get_stats(g, &s);
	ck_assert_int_eq(s.connected, 0);
	ck_assert_uint_eq(s.failures, 1);
	ck_assert_str_ne(s.last_error, "");

	slapd_start();
	t0 = now_ms();
	do {
		sleep_ms(300);
		ldapgrp_forget(g, "alice");
		a = look_up(g, "alice");
	} while (a->failed && now_ms() - t0 < 60000 && n_answers < 60);
	ck_assert_msg(!a->failed, "%s", a->error);
	ck_assert(answer_has(a, "finance"));
	ldapgrp_get_stats(g, &s);
	ck_assert_int_eq(s.connected, 1);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_a_bind_with_the_password_works_and_a_wrong_one_is_reported)
{
	struct ldapgrp_opts o = { .bind_dn = ADMIN };
	char right[128], wrong[128];
	const struct answer *a;
	struct ldapgrp *g;

	snprintf(right, sizeof(right), "%s/right.pw", dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.pw", dir);
	write_file(right, "secret\nnot this line\n", 0640);
	write_file(wrong, "Secret\n", 0600);

	o.bind_pw_file = right;
	g = open_dir(&o);
	a = look_up(g, "alice");
	ck_assert_msg(!a->failed, "%s", a->error);
	ldapgrp_close(g);

	o.bind_pw_file = wrong;
	g = open_dir(&o);
	a = look_up(g, "alice");
	ck_assert(a->failed);
	ck_assert_msg(strstr(a->error, "Invalid credentials"), "%s", a->error);
	ldapgrp_close(g);
}
END_TEST

START_TEST(test_open_refuses_a_password_file_others_can_read_and_bad_options)
{
	static const struct {
		const char *user_filter, *group_filter, *bind_dn, *pw, *why;
	} bad[] = {
		{ NULL, NULL, ADMIN, "open.pw", "mode 0644" },
		{ NULL, NULL, ADMIN, "empty.pw", "empty" },
		{ NULL, NULL, ADMIN, "missing.pw", "No such file" },
		{ NULL, NULL, ADMIN, NULL, "password file" },
		{ NULL, NULL, NULL, "right.pw", "password file" },
		{ "(uid=%d)", NULL, NULL, NULL, "group_filter only" },
		{ "(uid=%s)", NULL, NULL, NULL, "a % other" },
		{ "uid=%u", NULL, NULL, NULL, "parentheses" },
		{ NULL, "(member=%d%)", NULL, NULL, "a % other" },
	};
	char err[256], path[5][128];
	struct ldapgrp_opts o;
	struct ldapgrp *g;
	unsigned i;

	snprintf(path[0], sizeof(path[0]), "%s/open.pw", dir);
	write_file(path[0], "secret\n", 0644);
	snprintf(path[1], sizeof(path[1]), "%s/empty.pw", dir);
	write_file(path[1], "\n", 0600);
	snprintf(path[2], sizeof(path[2]), "%s/right.pw", dir);
	write_file(path[2], "secret\n", 0600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char pw[128];

		memset(&o, 0, sizeof(o));
		o.uri = URI;
		o.base = BASE;
		o.user_filter = bad[i].user_filter;
		o.group_filter = bad[i].group_filter;
		o.bind_dn = bad[i].bind_dn;
		snprintf(pw, sizeof(pw), "%s/%s", dir,
			 bad[i].pw ? bad[i].pw : "");
		o.bind_pw_file = bad[i].pw ? pw : NULL;
		err[0] = '\0';
		g = ldapgrp_open(&o, err, sizeof(err));
		ck_assert_msg(g == NULL, "case %u opened", i);
		ck_assert_msg(strstr(err, bad[i].why), "case %u: %s", i, err);
	}
	memset(&o, 0, sizeof(o));
	o.uri = "http://192.0.2.5/";
	o.base = BASE;
	ck_assert_ptr_null(ldapgrp_open(&o, err, sizeof(err)));
	ldapgrp_close(NULL);
}
END_TEST

START_TEST(test_a_directory_that_never_answers_times_out_and_close_returns)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(HANG_PORT) };
	struct ldapgrp_opts o = { .uri = "ldap://127.0.0.1:3390",
				  .timeout_ms = 1000 };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	const struct answer *ans;
	const char *const *v;
	struct ldapgrp *g;
	unsigned n;
	uint64_t t0;

	/* the kernel completes the handshakes; nothing ever reads */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s, 16), 0);

	g = open_dir(&o);
	t0 = now_ms();
	ans = look_up(g, "alice");
	ck_assert(ans->failed);
	ck_assert_msg(strstr(ans->error, "Timed out"), "%s", ans->error);
	ck_assert_msg(now_ms() - t0 >= 900 && now_ms() - t0 < 10000,
		      "failed after %llu ms",
		      (unsigned long long)(now_ms() - t0));
	ldapgrp_close(g);

	/* closed in the middle of a lookup */
	g = open_dir(&o);
	ck_assert_int_eq(get(g, "alice", &v, &n), 0);
	sleep_ms(300);
	t0 = now_ms();
	ldapgrp_close(g);
	ck_assert_msg(now_ms() - t0 < 5000, "close took %llu ms",
		      (unsigned long long)(now_ms() - t0));
	close(s);
}
END_TEST

START_TEST(test_a_full_queue_refuses_and_close_drops_what_waits)
{
	struct ldapgrp_opts o = { 0 };
	struct ldapgrp *g = open_dir(&o);
	struct ldapgrp_stats s;
	const char *const *v;
	unsigned i, n, queued = 0, full = 0;
	char user[32];
	uint64_t t0;
	int rc;

	for (i = 0; i < LDAPGRP_QUEUE_MAX + 76; i++) {
		snprintf(user, sizeof(user), "user%u", i);
		rc = get(g, user, &v, &n);
		ck_assert(rc == 0 || rc == -ENOBUFS);
		queued += rc == 0;
		full += rc == -ENOBUFS;
	}
	ck_assert_uint_eq(queued, LDAPGRP_QUEUE_MAX);
	ck_assert_uint_eq(full, 76);
	ldapgrp_get_stats(g, &s);
	ck_assert_uint_eq(s.queue_full, 76);
	/* drained: room again */
	wait_answers(g, 1, 10000);
	ck_assert_uint_ge(n_answers, 1);
	ck_assert_int_eq(get(g, "alice", &v, &n), 0);
	t0 = now_ms();
	ldapgrp_close(g);
	ck_assert_msg(now_ms() - t0 < 5000, "close took %llu ms",
		      (unsigned long long)(now_ms() - t0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ldapgrp");
	TCase *c = tcase_create("ldapgrp");

	if (geteuid() != 0) {
		printf("SKIP: needs root (a network namespace of its own for "
		       "slapd)\n");
		return 77;
	}
	if (access(SLAPD, X_OK) != 0 || access(SLAPADD, X_OK) != 0) {
		printf("SKIP: no %s (Debian's slapd)\n", SLAPD);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(c, 180);
	tcase_add_unchecked_fixture(c, run_setup, run_teardown);
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_each_user_gets_its_groups_by_name_and_by_dn);
	tcase_add_test(
		c,
		test_an_unknown_or_ambiguous_user_is_an_error_not_asked_again_at_once);
	tcase_add_test(c, test_a_hostile_user_name_does_not_widen_the_search);
	tcase_add_test(c,
		       test_asks_while_a_lookup_is_under_way_make_one_lookup);
	tcase_add_test(
		c, test_an_answer_is_kept_for_its_lifetime_then_asked_again);
	tcase_add_test(
		c,
		test_a_full_cache_evicts_the_least_recent_and_answers_are_bounded);
	tcase_add_test(
		c,
		test_a_killed_directory_is_reported_at_once_and_used_again_when_back);
	tcase_add_test(
		c,
		test_a_bind_with_the_password_works_and_a_wrong_one_is_reported);
	tcase_add_test(
		c,
		test_open_refuses_a_password_file_others_can_read_and_bad_options);
	tcase_add_test(
		c,
		test_a_directory_that_never_answers_times_out_and_close_returns);
	tcase_add_test(c, test_a_full_queue_refuses_and_close_drops_what_waits);
	suite_add_tcase(s, c);
	return check_run(s);
}
