/* skyfence-endpoints.c - keeps skyfenced's Teams signatures as current as
 * Microsoft's endpoints web service: polls /version at most hourly,
 * fetches /changes (or /endpoints) only when the version moved, checks
 * the result whole, writes the signatures file atomically and, without
 * --no-reload, has skyfenced reload it (under systemd the unit's
 * ExecStartPost does, as root: skyfence-endpoints(8), SYSTEMD). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "feed/fetch.h"
#include "feed/m365.h"
#include "feed/m365sig.h"
#include "sys/log.h"
#include "skyfence.h"

extern char **environ;

/* the exit codes (skyfence-endpoints(8), EXIT STATUS) */
enum {
	EXIT_OK = 0,	    /* written, unchanged, or not due yet */
	EXIT_REFUSED = 1,   /* the feed failed a check: nothing changed */
	EXIT_USAGE = 2,	    /* bad options */
	EXIT_NETWORK = 3,   /* network, TLS or HTTP */
	EXIT_SKYFENCED = 4, /* --ctl: written (or written before, its hand-over
			     * failed), but skyfenced refused it or is away */
	EXIT_SLOW_DOWN = 5, /* 429: nothing changed */
	EXIT_LOCAL = 6,	    /* the state directory cannot be used */
};

#define CHECK_INTERVAL 3600 /* Microsoft: /version at most hourly */
#define GUID_LEN 36

struct opts {
	const char *state_dir, *out, *url, *instance, *ctl, *ca;
	int no_reload, allow_http, accept_shrink, status;
	char out_buf[PATH_MAX];
};

/* one run */
struct run {
	const struct opts *o;
	struct fetch_opts fo;
	struct m365_state st; /* as read; written only on success */
	int have_state;	      /* st is of this instance */
	int whole;	      /* fetch /endpoints, not /changes */
	int64_t now;
	char guid[GUID_LEN + 1];
	char path[4][PATH_MAX]; /* state, last good list, GUID, lock */
};

enum { P_STATE, P_LIST, P_GUID, P_LOCK };
static const char *const state_files[] = { "state", "endpoints.json",
					   "client-request-id", "lock" };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: skyfence-endpoints [--state-dir DIR] [--out FILE] [--url BASE]\n"
		"                          [--instance Worldwide|USGovDoD|USGovGCCHigh|China]\n"
		"                          [--ctl SOCKET] [--no-reload] [--allow-http] [--ca FILE]\n"
		"                          [--accept-shrink]\n"
		"       skyfence-endpoints --status [--state-dir DIR] [--out FILE]\n");
}

static int opts_check(struct opts *o)
{
	if (!m365_instance_ok(o->instance)) {
		log_warnx(
			"--instance %s: not Worldwide, USGovDoD, USGovGCCHigh or China",
			o->instance);
		return -1;
	}
	if (strncmp(o->url, "https://", 8) &&
	    !(o->allow_http && !strncmp(o->url, "http://", 7))) {
		log_warnx("--url %s: https:// only (--allow-http for a lab)",
			  o->url);
		return -1;
	}
	if (!o->out) {
		if (snprintf(o->out_buf, sizeof(o->out_buf),
			     "%s/teams.signatures",
			     o->state_dir) >= (int)sizeof(o->out_buf))
			return -1;
		o->out = o->out_buf;
	}
	return 0;
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "url", required_argument, NULL, 'u' },
		{ "instance", required_argument, NULL, 'i' },
		{ "ctl", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "no-reload", no_argument, NULL, 'n' },
		{ "allow-http", no_argument, NULL, 'H' },
		{ "accept-shrink", no_argument, NULL, 's' },
		{ "status", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .state_dir = "/var/lib/skyfence-endpoints",
			    .url = "https://endpoints.office.com",
			    .instance = "Worldwide",
			    .ctl = SKYFENCE_CTL_PATH };
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->state_dir = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'i':
			o->instance = optarg;
			break;
		case 'c':
			o->ctl = optarg;
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'n':
			o->no_reload = 1;
			break;
		case 'H':
			o->allow_http = 1;
			break;
		case 's':
			o->accept_shrink = 1;
			break;
		case 'S':
			o->status = 1;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return opts_check(o);
}

/* ---- files ---- */

/* The whole of @path (at most @max bytes), NUL-terminated, its length in
 * *@len; NULL with errno set (ENOENT: there is none). */
static char *read_all(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *p = NULL;
	struct stat sb;
	ssize_t n;
	int e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0) {
		e = errno;
		goto err;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
		e = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
		goto err;
	}
	p = malloc((size_t)sb.st_size + 1);
	if (!p) {
		e = ENOMEM;
		goto err;
	}
	for (*len = 0; *len < (size_t)sb.st_size; *len += (size_t)n) {
		n = read(fd, p + *len, (size_t)sb.st_size - *len);
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			goto err;
		}
	}
	p[*len] = '\0';
	close(fd);
	return p;
err:
	free(p);
	close(fd);
	errno = e;
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* @path replaced by @len bytes of @data, mode @mode: a temporary file in
 * the same directory, fsync'd, renamed over it, the directory fsync'd;
 * a reader sees the old file or the new one, whole. 0, or -1 (logged). */
static int write_atomic(const char *path, const char *data, size_t len,
			mode_t mode)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		log_warnx("%s: path too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		log_warn("%s", tmp);
		return -1;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		log_warn("%s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		log_warn("%s", path);
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- the state directory ---- */

static int guid_ok(const char *g)
{
	size_t i;

	for (i = 0; i < GUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash && g[i] != '-')
			return 0;
		if (!dash && (!g[i] || !strchr("0123456789abcdef", g[i])))
			return 0;
	}
	return g[GUID_LEN] == '\0' || g[GUID_LEN] == '\n';
}

/* The ClientRequestId: made once (a random, version 4 GUID) and kept in
 * DIR/client-request-id, so that Microsoft sees one client. */
static int guid_load(struct run *r, int create)
{
	uint8_t b[16];
	size_t len, i;
	char *t = read_all(r->path[P_GUID], 64, &len);
	char s[GUID_LEN + 2];

	if (t && guid_ok(t)) {
		memcpy(r->guid, t, GUID_LEN);
		r->guid[GUID_LEN] = '\0';
		free(t);
		return 0;
	}
	if (t)
		log_warnx("%s: not a GUID: making a new one", r->path[P_GUID]);
	free(t);
	if (!create)
		return -1;
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		log_warn("getrandom");
		return -1;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (i = 0, len = 0; i < 16; i++)
		len += (size_t)snprintf(
			s + len, sizeof(s) - len, "%s%02x",
			i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", b[i]);
	memcpy(r->guid, s, GUID_LEN + 1);
	s[GUID_LEN] = '\n';
	return write_atomic(r->path[P_GUID], s, GUID_LEN + 1, 0600);
}

/* DIR's files' paths; 0 or -1 (logged) */
static int state_paths(struct run *r)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (snprintf(r->path[i], sizeof(r->path[i]), "%s/%s",
			     r->o->state_dir,
			     state_files[i]) >= (int)sizeof(r->path[i])) {
			log_warnx("%s: path too long", r->o->state_dir);
			return -1;
		}
	return 0;
}

/* the state of this instance, if there is one; 0 or -1 (logged) */
static int state_load(struct run *r)
{
	char err[256];
	size_t len;
	char *t = read_all(r->path[P_STATE], 65536, &len);

	if (!t) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", r->path[P_STATE]);
		return -1;
	}
	if (m365_state_parse(t, len, &r->st, err, sizeof(err)) != 0)
		log_warnx("%s: %s: starting afresh", r->path[P_STATE], err);
	else if (strcmp(r->st.instance, r->o->instance))
		log_info("%s is of the instance %s: starting afresh for %s",
			 r->path[P_STATE], r->st.instance, r->o->instance);
	else
		r->have_state = 1;
	if (!r->have_state)
		memset(&r->st, 0, sizeof(r->st));
	free(t);
	return 0;
}

static int state_save(struct run *r)
{
	char *t;
	int rc;

	snprintf(r->st.instance, sizeof(r->st.instance), "%s", r->o->instance);
	t = m365_state_format(&r->st);
	if (!t) {
		log_warnx("out of memory");
		return -1;
	}
	rc = write_atomic(r->path[P_STATE], t, strlen(t), 0644);
	free(t);
	return rc;
}

/* ---- --status ---- */

static void print_time(const char *what, int64_t t, int64_t now)
{
	char when[32];

	if (!t) {
		printf("%s: never\n", what);
		return;
	}
	m365_time_format(t, when, sizeof(when));
	if (t > now)
		printf("%s: %s (in the future: was the clock wrong?)\n", what,
		       when);
	else
		printf("%s: %s (%lld s ago)\n", what, when,
		       (long long)(now - t));
}

static int status_print(const struct opts *o)
{
	struct run r = { .o = o };
	const struct m365_counts *c = &r.st.counts;
	struct stat sb;

	if (state_paths(&r) != 0 || state_load(&r) != 0)
		return EXIT_LOCAL;
	r.now = (int64_t)time(NULL);
	printf("instance: %s\n", o->instance);
	printf("version: %s\n",
	       r.have_state && r.st.version[0] ? r.st.version : "none");
	print_time("last check", r.st.checked, r.now);
	print_time("last fetch", r.st.fetched, r.now);
	printf("signatures: %s (%s): %u endpoint sets, %u IPv4 and %u IPv6 prefixes, %u names, URLs skipped: %u\n",
	       o->out, stat(o->out, &sb) == 0 ? "present" : "absent", c->sets,
	       c->v4, c->v6, c->names, c->skipped);
	printf("shrink guard: refuses fewer than half of %u prefixes or %u names (the most since the last --accept-shrink)\n",
	       r.st.high_prefixes, r.st.high_names);
	if (r.st.handover_failed)
		printf("last hand-over to skyfenced: failed (the next run with --ctl hands it over again)\n");
	printf("client request id: %s\n",
	       guid_load(&r, 0) == 0 ? r.guid : "none yet");
	return EXIT_OK;
}

/* ---- the service ---- */

/* GET BASE/@what?ClientRequestId=GUID: EXIT_OK with the body, or the
 * exit code (logged) */
static int get(struct run *r, const char *what, char **body, size_t *len)
{
	char url[PATH_MAX * 2], err[1024];
	size_t n = strlen(r->o->url);
	enum fetch_result fr;

	while (n && r->o->url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/%s?ClientRequestId=%s", (int)n,
		 r->o->url, what, r->guid);
	fr = fetch_get(&r->fo, url, body, len, err, sizeof(err));
	if (fr == FETCH_OK)
		return EXIT_OK;
	log_warnx("%s; nothing changed", err);
	return fr == FETCH_SLOW_DOWN ? EXIT_SLOW_DOWN : EXIT_NETWORK;
}

/* whether /version is due: never checked, checked an hour ago or more,
 * or a check in the future (the clock was wrong, or is now) */
static int due(const struct run *r)
{
	char when[32], next[32];

	if (!r->have_state || !r->st.checked)
		return 1;
	m365_time_format(r->st.checked, when, sizeof(when));
	if (r->st.checked > r->now) {
		log_info("the last check (%s) is in the future: checking now",
			 when);
		return 1;
	}
	if (r->now - r->st.checked >= CHECK_INTERVAL)
		return 1;
	m365_time_format(r->st.checked + CHECK_INTERVAL, next, sizeof(next));
	log_info(
		"checked %lld s ago (%s): the service wants /version at most hourly; next check after %s",
		(long long)(r->now - r->st.checked), when, next);
	return 0;
}

static int get_version(struct run *r, char latest[M365_VERSION_LEN + 1])
{
	char what[64], err[512], *body;
	size_t len;
	int rc;

	snprintf(what, sizeof(what), "version/%s", r->o->instance);
	rc = get(r, what, &body, &len);
	if (rc != EXIT_OK)
		return rc;
	if (m365_version_parse(body, len, r->o->instance, latest, err,
			       sizeof(err)) != 0) {
		log_warnx("refused: /%s: %s; nothing changed", what, err);
		rc = EXIT_REFUSED;
	}
	free(body);
	return rc;
}

/* the version did not move: the check recorded, the file's mtime the
 * check's time (skyfenced's metrics read it as "checked") */
static int record_check(struct run *r)
{
	struct timespec t[2] = { { .tv_sec = (time_t)r->now },
				 { .tv_sec = (time_t)r->now } };

	log_info("version %s unchanged: nothing fetched", r->st.version);
	r->st.checked = r->now;
	if (utimensat(AT_FDCWD, r->o->out, t, 0) != 0)
		log_warn("%s: cannot set its time", r->o->out);
	return state_save(r) == 0 ? EXIT_OK : EXIT_LOCAL;
}

/* the last good list, or NULL (logged) */
static struct m365_list *last_good(struct run *r)
{
	char err[512], *t;
	size_t len;
	struct m365_list *l;

	if (!r->have_state || !r->st.version[0])
		return NULL;
	t = read_all(r->path[P_LIST], FETCH_MAX_BYTES, &len);
	if (!t) {
		log_warn("%s: fetching the whole list", r->path[P_LIST]);
		return NULL;
	}
	l = m365_endpoints_parse(t, len, err, sizeof(err));
	free(t);
	if (!l)
		log_warnx("%s: %s: fetching the whole list", r->path[P_LIST],
			  err[0] ? err : "out of memory");
	return l;
}

/* /changes since our version applied to the last good list: EXIT_OK
 * with *@out set, EXIT_OK with *@out NULL (fetch the whole list), or the
 * exit code */
static int from_changes(struct run *r, const char *latest,
			struct m365_list **out)
{
	struct m365_list *l = r->whole ? NULL : last_good(r);
	char what[64], err[1024], *body;
	size_t len;
	int rc;

	*out = NULL;
	if (!l)
		return EXIT_OK;
	snprintf(what, sizeof(what), "changes/%s/%s", r->o->instance,
		 r->st.version);
	rc = get(r, what, &body, &len);
	if (rc == EXIT_OK) {
		rc = m365_changes_apply(l, body, len, r->st.version, latest,
					err, sizeof(err));
		free(body);
		if (rc == 0) {
			log_info("/%s: applied (version %s to %s)", what,
				 r->st.version, latest);
			*out = l;
			return EXIT_OK;
		}
		if (rc == M365_INCOHERENT)
			log_info("/%s: %s: fetching the whole list", what, err);
		else
			log_warnx("refused: /%s: %s; the last good file stays",
				  what, err[0] ? err : "out of memory");
		rc = rc == M365_INCOHERENT ? EXIT_OK : EXIT_REFUSED;
	}
	m365_list_free(l);
	return rc;
}

/* the list of version @latest: from /changes when we have a last good
 * list they apply to, else /endpoints. EXIT_OK with *@out, or the exit
 * code (logged). */
static int new_list(struct run *r, const char *latest, struct m365_list **out)
{
	char what[64], err[1024], *body;
	size_t len;
	int rc = from_changes(r, latest, out);

	if (rc != EXIT_OK || *out)
		return rc;
	snprintf(what, sizeof(what), "endpoints/%s", r->o->instance);
	rc = get(r, what, &body, &len);
	if (rc != EXIT_OK)
		return rc;
	*out = m365_endpoints_parse(body, len, err, sizeof(err));
	free(body);
	if (!*out) {
		log_warnx(
			"refused: /%s (version %s): %s; the last good file stays",
			what, latest, err[0] ? err : "out of memory");
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

static void on_skip(void *ctx, const char *url)
{
	(void)ctx;
	log_info("URL %s skipped: a '*' inside a name matches no suffix", url);
}

/* the checks the file itself must pass; EXIT_OK or EXIT_REFUSED */
static int check_text(struct run *r, const char *latest, const char *text,
		      const struct m365_counts *c)
{
	char err[1024];

	if (r->have_state && r->st.version[0] && !r->o->accept_shrink &&
	    m365_shrink_check(&r->st, c, err, sizeof(err)) != 0) {
		log_warnx("refused: version %s: %s; the last good file stays",
			  latest, err);
		return EXIT_REFUSED;
	}
	if (m365_render_check(text, strlen(text), err, sizeof(err)) != 0) {
		log_warnx(
			"refused: version %s: the signatures as skyfenced would read them: %s; the last good file stays",
			latest, err);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* the signatures of @l checked, then written with the list and state */
static int publish(struct run *r, const char *latest, const struct m365_list *l)
{
	struct m365_counts c;
	char *text = m365_render(l, r->o->instance, latest, r->now, &c, on_skip,
				 NULL);
	char *dump = m365_list_dump(l);
	int rc = EXIT_LOCAL;

	if (!text || !dump) {
		log_warnx("out of memory");
		goto out;
	}
	rc = check_text(r, latest, text, &c);
	if (rc != EXIT_OK)
		goto out;
	rc = EXIT_LOCAL;
	if (write_atomic(r->path[P_LIST], dump, strlen(dump), 0644) != 0 ||
	    write_atomic(r->o->out, text, strlen(text), 0644) != 0)
		goto out;
	snprintf(r->st.version, sizeof(r->st.version), "%s", latest);
	r->st.checked = r->st.fetched = r->now;
	r->st.counts = c;
	m365_mark_update(&r->st, &c, r->o->accept_shrink);
	if (state_save(r) != 0)
		goto out;
	log_info(
		"version %s written to %s: %u endpoint sets, %u IPv4 and %u IPv6 prefixes, %u names; URLs skipped: %u",
		latest, r->o->out, c.sets, c.v4, c.v6, c.names, c.skipped);
	rc = EXIT_OK;
out:
	free(text);
	free(dump);
	return rc;
}

/* ---- skyfenced ---- */

/* skyfencectl beside our binary (a build tree, /usr/bin), else in PATH */
static const char *ctl_program(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 16);

	if (n > 0) {
		buf[n] = '\0';
		snprintf(strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf, 16,
			 "skyfencectl");
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "skyfencectl";
}

static int reload(struct run *r)
{
	char buf[PATH_MAX];
	const char *prog = ctl_program(buf, sizeof(buf));
	char a0[] = "skyfencectl", a1[] = "--socket", a3[] = "feed",
	     a4[] = "reload", sock[PATH_MAX];
	char *argv[] = { a0, a1, sock, a3, a4, NULL };
	pid_t pid;
	int st, e;

	snprintf(sock, sizeof(sock), "%s", r->o->ctl);

	e = strchr(prog, '/')
		    ? posix_spawn(&pid, prog, NULL, NULL, argv, environ)
		    : posix_spawnp(&pid, prog, NULL, NULL, argv, environ);
	if (e != 0) {
		log_warnx(
			"cannot run %s: %s; %s is written: skyfencectl feed reload applies it",
			prog, strerror(e), r->o->out);
		return EXIT_SKYFENCED;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return EXIT_OK;
	log_warnx(
		"skyfencectl --socket %s feed reload failed (%s %d): skyfenced refused the file or is unreachable; %s is written",
		r->o->ctl, WIFEXITED(st) ? "exit" : "signal",
		WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), r->o->out);
	return EXIT_SKYFENCED;
}

/* the file handed to skyfenced (--ctl), the outcome kept in the state
 * so that a run after a failed hand-over hands it over again */
static int hand_over(struct run *r)
{
	int rc = reload(r), was = r->st.handover_failed;

	r->st.handover_failed = rc != EXIT_OK;
	if (was != r->st.handover_failed && state_save(r) != 0 && rc == EXIT_OK)
		rc = EXIT_LOCAL;
	return rc;
}

/* a run that writes nothing: the last hand-over again if it failed */
static int hand_over_again(struct run *r)
{
	if (r->o->no_reload || !r->have_state || !r->st.handover_failed)
		return EXIT_OK;
	log_info("the last hand-over of version %s to skyfenced failed: again",
		 r->st.version);
	return hand_over(r);
}

/* the service's version @latest: dated at most 2 days after the clock,
 * and not older than ours unless ours is dated further ahead (then the
 * whole list is fetched). EXIT_OK or EXIT_REFUSED (logged). */
static int version_check(struct run *r, const char *latest)
{
	char now[32];
	int ahead = m365_version_ahead(latest, r->now);

	m365_time_format(r->now, now, sizeof(now));
	if (ahead < 0) {
		log_warnx(
			"refused: the service's version %s is not a date (YYYYMMDDNN): feed broken; the last good file stays",
			latest);
		return EXIT_REFUSED;
	}
	if (ahead) {
		log_warnx(
			"refused: the service's version %s is dated more than 2 days after the clock (%s): clock wrong or feed broken; the last good file stays",
			latest, now);
		return EXIT_REFUSED;
	}
	if (!r->have_state || strcmp(latest, r->st.version) >= 0)
		return EXIT_OK;
	if (m365_version_ahead(r->st.version, r->now) != 0) {
		log_warnx(
			"our version %s is dated more than 2 days after the clock (%s): a past mistake or a clock that was wrong; taking the service's older %s",
			r->st.version, now, latest);
		r->whole = 1;
		return EXIT_OK;
	}
	log_warnx(
		"refused: the service's version %s is older than ours, %s; the last good file stays",
		latest, r->st.version);
	return EXIT_REFUSED;
}

/* ---- a run ---- */

/* the state directory (made if missing), locked against another run,
 * its state read and the GUID made; 0 or -1 (logged) */
static int prepare(struct run *r)
{
	int fd;

	if (mkdir(r->o->state_dir, 0755) != 0 && errno != EEXIST) {
		log_warn("%s", r->o->state_dir);
		return -1;
	}
	if (state_paths(r) != 0)
		return -1;
	/* held until exit: a second run waits, then reads the state the
	 * first one left */
	fd = open(r->path[P_LOCK], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		log_warn("%s", r->path[P_LOCK]);
		return -1;
	}
	if (state_load(r) != 0)
		return -1;
	return guid_load(r, 1);
}

static int update(struct run *r)
{
	char latest[M365_VERSION_LEN + 1];
	struct m365_list *l = NULL;
	struct stat sb;
	int rc;

	if (!due(r))
		return hand_over_again(r);
	rc = get_version(r, latest);
	if (rc != EXIT_OK)
		return rc;
	rc = version_check(r, latest);
	if (rc != EXIT_OK)
		return rc;
	if (r->have_state && !strcmp(r->st.version, latest) &&
	    stat(r->o->out, &sb) == 0) {
		rc = record_check(r);
		return rc == EXIT_OK ? hand_over_again(r) : rc;
	}
	rc = new_list(r, latest, &l);
	if (rc == EXIT_OK)
		rc = publish(r, latest, l);
	m365_list_free(l);
	if (rc == EXIT_OK && !r->o->no_reload)
		rc = hand_over(r);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r = { .o = &o };
	int rc;

	log_init("skyfence-endpoints", 0, LOG_LVL_INFO);
	if (opts_parse(argc, argv, &o) != 0)
		return EXIT_USAGE;
	if (o.status)
		return status_print(&o);
	r.fo = (struct fetch_opts){
		.user_agent = "skyfence-endpoints/" SKYFENCE_VERSION,
		.ca_file = o.ca,
		.connect_timeout = 10,
		.timeout = 60,
		.max_bytes = FETCH_MAX_BYTES,
		.allow_http = o.allow_http
	};
	r.now = (int64_t)time(NULL);
	if (prepare(&r) != 0)
		return EXIT_LOCAL;
	if (fetch_init() != 0) {
		log_warnx("cannot start libcurl");
		return EXIT_NETWORK;
	}
	rc = update(&r);
	fetch_cleanup();
	return rc;
}
