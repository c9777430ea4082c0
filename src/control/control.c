/* The control socket's verbs (ctl.h has the protocol). Every change is
 * validated in full before anything is touched, applied in one step
 * (runtime_apply_policy: a new immutable policy swapped in), and followed by
 * a conntrack walk that rewrites the mark of every established flow whose
 * decision changed, so it reaches flows the kernel carries on its own.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/change.h"
#include "daemon/diff.h"
#include "daemon/identity.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "control/metrics.h"
#include "control/control.h"
#include "control/status.h"
#include "control/verbs.h"
#include "control/who.h"
#include "daemon/stats.h"
#include "daemon/worker.h"
#include "audit/audit.h"
#include "audit/auditlog.h"
#include "core/verdict.h"
#include "policy/addrsig.h"
#include "policy/loader.h"
#include "control/fleetctl.h"
#include "daemon/fleetd.h"
#include "core/mark.h"
#include "core/pkt.h"

/* ---- helpers ---- */

struct err_sink {
	struct ctl_req *r;
	unsigned n;
};

static void err_to_req(void *ctx, const char *msg)
{
	struct err_sink *s = ctx;

	if (s->n++ < 200)
		ctl_data(s->r, "%s", msg);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static const char *fmt_arg(int argc, char **argv, int at)
{
	return argc > at ? argv[at] : "text";
}

/* ---- verbs ---- */

static int tcp_loose(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_loose", "re");
	int loose = -1;

	if (f) {
		if (fscanf(f, "%d", &loose) != 1)
			loose = -1;
		fclose(f);
	}
	return loose;
}

/* The endpoints feed the running policy holds; "checked" is its file's
 * modification time, which skyfence-endpoints sets at each check that
 * found the version current (a stat per request: cheap, and the only
 * way the daemon learns of a check that changed nothing). */
static void feed_view(const struct policy *p, struct status_feed *f)
{
	const struct addrsig_feed *af = p->addrsig ? &p->addrsig->feed : NULL;
	struct timespec now;
	struct stat st;

	f->path = p->feed;
	if (!p->feed[0])
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	f->now = (int64_t)now.tv_sec;
	f->checked = stat(p->feed, &st) == 0 ? (int64_t)st.st_mtim.tv_sec : -1;
	if (!af || !af->present)
		return;
	f->present = 1;
	f->instance = af->instance;
	f->version = af->version;
	f->version_date = af->version_date;
	f->fetched = af->fetched;
	f->v4 = p->addrsig->v4;
	f->v6 = p->addrsig->v6;
	f->names = p->addrsig->n_names;
}

/* What the renderers show (status.h), read from @d; @snap made by
 * workers_stats, @fv the fleet's room. */
static void view_of(struct daemon *d, const struct stats_snap *snap,
		    struct fleetd_view *fv, struct status_view *v)
{
	static const char *const lv[] = { "error", "warning", "info", "debug" };

	memset(v, 0, sizeof(*v));
	v->snap = snap;
	v->apps = d->apps;
	v->cls = d->run.cls;
	v->digest = d->run.digest;
	v->now_ms = runtime_clock_ms(0);
	if (d->fleet) {
		fleetd_get_view(d, fv);
		v->fleet = fv;
	}
	v->pid = (long)getpid();
	v->uptime_s = (v->now_ms - d->started_ms) / 1000;
	v->pol.source = d->run.pol->source;
	v->pol.n_depts = d->run.pol->n_depts - 1;
	v->pol.killswitch = d->run.pol->killswitch;
	v->queue_num = d->o->queue_num;
	v->n_queues = d->o->n_queues;
	v->n_workers = d->n_workers;
	v->max_flows = d->o->max_flows;
	v->bypass_counted = d->bypass != NULL;
	v->bypassed = d->bypass ? bypass_total(d->bypass, d->now_ms, 10000,
					       &v->bypass_growing)
				: 0;
	v->ha_rules = d->bypass && bypass_nostate(d->bypass, &v->ha_dropped);
	v->allow.pol = d->run.pol;
	v->allow.counted =
		d->bypass && bypass_allowonly(d->bypass, &v->allow.flows);
	v->tcp_loose = v->ha_rules ? tcp_loose() : -1;
	ctl_get_stats(d->ctl, &v->ctl);
	ct_get_stats(d->ct, &v->ct);
	v->log_level = lv[log_get_level() & 3];
	v->rss_kib = rss_kib();
	v->state.kept = d->run.state_dfd >= 0;
	v->state.dirty = d->run.state_dirty;
	v->state.err = d->run.state_err;
	v->state.dir = d->o->state_dir;
	v->audit.path = d->o->audit_path;
	v->audit.node = d->audit.node;
	v->audit.rate = d->o->audit_rate;
	v->audit.burst = d->o->audit_burst;
	auditlog_get_stats(d->audit.log, &v->audit.log);
	v->audit.ct_events = d->audit.ctev != NULL;
	ct_events_get_stats(d->audit.ctev, &v->audit.ev);
	v->metrics = d->metrics != NULL;
	v->metrics_listen = d->o->metrics_listen;
	v->ident.enabled = d->ident != NULL;
	v->ident.max = d->o->identity_max;
	identity_get_stats(d, &v->ident.src);
	identity_table_stats(d, &v->ident.tab);
	if (d->metrics)
		metrics_counts(d->metrics, &v->metrics_open,
			       &v->metrics_served);
	feed_view(d->run.pol, &v->feed);
	sched_get_view(d, &v->sched);
}

static void emit_data(void *ctx, const char *line)
{
	ctl_data(ctx, "%s", line);
}

static void v_status(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	const char *f = fmt_arg(argc, argv, 1);
	struct fleetd_view fv;
	struct status_view v;

	if (argc > 2 || (strcmp(f, "text") && strcmp(f, "json"))) {
		ctl_err(r, "usage", "status [json]");
		return;
	}
	if (!d->snap)
		d->snap = malloc(sizeof(*d->snap));
	if (!d->snap) {
		ctl_err(r, "internal", "out of memory");
		return;
	}
	workers_stats(d, d->snap);
	view_of(d, d->snap, &fv, &v);
	status_render(&v, !strcmp(f, "json") ? STATUS_JSON : STATUS_TEXT,
		      emit_data, r);
	ctl_ok(r, "%s", "");
}

int control_metrics(void *ctx, void (*emit)(void *ectx, const char *line),
		    void *ectx)
{
	struct daemon *d = ctx;
	struct fleetd_view fv;
	struct status_view v;
	struct stats_snap *s = malloc(sizeof(*s));

	if (!s)
		return -1;
	workers_stats(d, s);
	view_of(d, s, &fv, &v);
	status_render_stats(&v, STATUS_PROMETHEUS, emit, ectx);
	free(s);
	return 0;
}

static void emit_log(void *ctx, const char *line)
{
	(void)ctx;
	log_info("%s", line);
}

void control_log_stats(struct daemon *d)
{
	struct fleetd_view fv;
	struct status_view v;

	if (!d->snap)
		d->snap = malloc(sizeof(*d->snap));
	if (!d->snap) {
		log_warnx("stats: out of memory");
		return;
	}
	workers_stats(d, d->snap);
	view_of(d, d->snap, &fv, &v);
	status_render_stats(&v, STATUS_LOG, emit_log, NULL);
}

static void v_stats(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	const char *f = fmt_arg(argc, argv, 1);
	struct fleetd_view fv;
	struct status_view v;
	struct stats_snap s;

	if (argc > 2 || (strcmp(f, "text") && strcmp(f, "json") &&
			 strcmp(f, "prometheus"))) {
		ctl_err(r, "usage", "stats [text|json|prometheus]");
		return;
	}

	workers_stats(d, &s);
	view_of(d, &s, &fv, &v);
	status_render_stats(&v,
			    !strcmp(f, "json")	       ? STATUS_JSON
			    : !strcmp(f, "prometheus") ? STATUS_PROMETHEUS
						       : STATUS_TEXT,
			    emit_data, r);
	ctl_ok(r, "%s", "");
}

/* A flow being inspected, as a worker copies it out. */
struct flow_line {
	char key[FLOW_KEY_STRLEN];
	char app[64];
	uint64_t pkts;
};

#define FLOWS_SHOWN 200

/* What `flows` gathers from the workers: filled in their threads into
 * memory the control thread allocated and frees (no allocation in a
 * worker's thread for a client: its allocator would keep what the
 * control thread frees), formatted here after. */
struct flows_ctx {
	struct classifier *cls;
	struct flow_line *lines; /* FLOWS_SHOWN */
	unsigned n, shown;	 /* inspected in all; copied */
	struct recent *recent;	 /* every worker's ring */
	unsigned n_recent;
};

static void copy_flow(void *ctx, const struct flow *f)
{
	struct flows_ctx *x = ctx;
	struct flow_line *l = &x->lines[x->shown++];

	flow_key_format(&f->key, l->key, sizeof(l->key));
	classifier_format_proto(x->cls, &f->cls, l->app, sizeof(l->app));
	l->pkts = f->pkts[0] + f->pkts[1];
}

/* In each worker's thread: its flows being inspected (the engine's list,
 * never a walk of the whole table), and a copy of its recent decisions. */
static void worker_flows(struct worker *w, void *arg)
{
	struct flows_ctx *x = arg;
	uint32_t i;

	x->cls = w->cls;
	x->n += engine_foreach_inspecting(w->eng, copy_flow, x,
					  FLOWS_SHOWN - x->shown);
	for (i = 0; i < RECENT; i++) {
		const struct recent *e =
			&w->sc.recent[(w->sc.recent_next + i) % RECENT];

		if (e->ts_ms)
			x->recent[x->n_recent++] = *e;
	}
}

static int by_time(const void *a, const void *b)
{
	const struct recent *x = a, *y = b;

	return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

static void v_flows(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	const char *f = fmt_arg(argc, argv, 1);
	struct flows_ctx x = { NULL, NULL, 0, 0, NULL, 0 };
	int json = !strcmp(f, "json");
	uint32_t i, k = 0;

	if (argc > 2 || (strcmp(f, "text") && !json)) {
		ctl_err(r, "usage", "flows [json]");
		return;
	}
	if (!d->flow_recent)
		d->flow_recent = calloc((size_t)RECENT * d->n_workers,
					sizeof(*d->flow_recent));
	if (!d->flow_lines)
		d->flow_lines = calloc(FLOWS_SHOWN, sizeof(*d->flow_lines));
	x.recent = d->flow_recent;
	x.lines = d->flow_lines;
	if (!x.recent || !x.lines) {
		ctl_err(r, "internal", "out of memory");
		return;
	}
	workers_call(d, worker_flows, &x);
	if (json)
		ctl_data(r, "{\"inspecting\":[");
	for (i = 0; i < x.shown; i++) {
		const struct flow_line *l = &x.lines[i];

		if (json)
			ctl_data(r,
				 "%s{\"flow\":\"%s\",\"packets\":%" PRIu64
				 ",\"app_so_far\":\"%s\"}",
				 i ? "," : "", l->key, l->pkts, l->app);
		else
			ctl_data(r, "inspecting %s packets %" PRIu64 " app %s",
				 l->key, l->pkts, l->app);
	}
	if (json)
		ctl_data(r, "],\"inspecting_total\":%u,\"recent\":[", x.n);
	else if (x.n > FLOWS_SHOWN)
		ctl_data(r, "... %u flows being inspected, %d shown", x.n,
			 FLOWS_SHOWN);
	/* the last RECENT decisions of all workers, oldest first */
	qsort(x.recent, x.n_recent, sizeof(*x.recent), by_time);
	for (i = x.n_recent > RECENT ? x.n_recent - RECENT : 0; i < x.n_recent;
	     i++) {
		const struct recent *e = &x.recent[i];
		char rule[200], dept[100];

		if (json) {
			status_json_str(rule, sizeof(rule), e->rule);
			status_json_str(dept, sizeof(dept), e->dept);
			ctl_data(
				r,
				"%s{\"ts_ms\":%" PRIu64
				",\"flow\":\"%s\",\"department\":\"%s\",\"app\":\"%s\",\"evidence\":\"%s\",\"action\":\"%s\",\"rule\":\"%s\"}",
				k++ ? "," : "", e->ts_ms, e->key, dept, e->app,
				e->evidence, action_name(e->action), rule);
		} else {
			ctl_data(
				r, "decided %s %s %s %s%s%s (evidence %s)",
				e->key, e->dept, e->app, action_name(e->action),
				e->rule[0] ? " by " : "", e->rule, e->evidence);
		}
	}
	if (json)
		ctl_data(r, "]}");
	ctl_ok(r, "%s", "");
}

/* The warning a change's reply ends with when the state file could not
 * be written: the change runs, but a restart would undo it. */
static const char *unsaved(const struct daemon *d)
{
	return d->run.state_dirty
		       ? "; NOT SAVED (see status): a restart would "
			 "undo it until a save succeeds (retried every "
			 "second)"
		       : "";
}

static void v_policy_show(struct daemon *d, struct ctl_req *r, int argc,
			  char **argv)
{
	char *text = policy_format(d->run.pol);

	(void)argc;
	(void)argv;
	if (!text) {
		ctl_err(r, "internal", "out of memory");
		return;
	}
	ctl_data(r, "%s", text);
	free(text);
	ctl_ok(r, "%s", "");
}

/* The change the request @r asks for, by its client. */
static struct change change_by(struct ctl_req *r, enum change_kind kind,
			       const char *what)
{
	struct change c = { .kind = kind,
			    .origin = CHANGE_CLIENT,
			    .uid = (long)ctl_req_uid(r),
			    .what = what };

	return c;
}

/* ---- policy diff and --dry-run (diff.h) ---- */

/* listed lines' bytes at most: the control socket queues 4 MiB for a
 * client (daemon.c), and the totals come after them */
#define DIFF_REPLY_BYTES (3u << 20)

/* A read-only client's diff parses and checks a text it chose on the
 * control thread, which every admin's change, the schedule's boundaries
 * and the conntrack walks wait for: the checker takes seconds for a
 * policy file of 4 MiB with many rules per department (25 s in a Release
 * build for 102 departments of 1024 rules, 1.5 s for 256 KiB of them).
 * So a read-only client's candidate is at most DIFF_RO_FILE bytes (the
 * running policy's size twice, if more: a candidate like it; 0.4 s at
 * worst), and read-only diffs together take at most a quarter of the
 * control thread: after one that took T ms, the next read-only one waits
 * 3 T ms ("ERR busy"). Admins' are never held back. */
#define DIFF_RO_FILE (64u << 10)
#define DIFF_RO_SHARE 3

/* the role of the request being served (control_request) */
static enum ctl_role req_role;
/* no read-only diff before this (CLOCK_MONOTONIC ms) */
static uint64_t ro_diff_next_ms;

struct dry {
	int on;	     /* --dry-run */
	int limited; /* --limit N given */
	int json;
	uint32_t limit;
};

/* Takes --dry-run and --limit N out of @argv[@from..@argc) in place.
 * Returns the words left, or -1 with @r answered (a bad --limit). */
static int dry_words(struct ctl_req *r, int argc, char **argv, int from,
		     struct dry *dr)
{
	int i, n = from;

	memset(dr, 0, sizeof(*dr));
	dr->limit = DIFF_LIMIT_DEFAULT;
	for (i = from; i < argc; i++) {
		char *end = NULL;
		unsigned long v = 0;

		if (!strcmp(argv[i], "--dry-run")) {
			dr->on = 1;
			continue;
		}
		if (strcmp(argv[i], "--limit") != 0) {
			argv[n++] = argv[i];
			continue;
		}
		errno = 0;
		if (i + 1 < argc)
			v = strtoul(argv[++i], &end, 10);
		if (!end || errno || end == argv[i] || *end || v < 1 ||
		    v > DIFF_LIMIT_MAX) {
			ctl_err(r, "usage", "--limit N: 1 to %u flows listed",
				DIFF_LIMIT_MAX);
			return -1;
		}
		dr->limit = (uint32_t)v;
		dr->limited = 1;
	}
	return n;
}

/* The flows @c would change, listed to @r with the totals; nothing
 * applied, saved, recorded or written to the fleet's bucket. */
static void dry_run(struct daemon *d, struct ctl_req *r, const struct change *c,
		    const struct dry *dr, const char *what)
{
	struct err_sink es = { r, 0 };
	struct diff_opts o = { dr->limit, DIFF_REPLY_BYTES, dr->json, emit_data,
			       r };
	struct change_candidate cc;
	char err[600];
	int rc;

	if (change_candidate(d, c, err_to_req, &es, &cc, err, sizeof(err)) !=
	    0) {
		ctl_err(r, "refused", "%s", err);
		return;
	}
	rc = diff_run(d, &cc, &o, err, sizeof(err));
	change_candidate_free(&cc);
	if (rc != 0) {
		ctl_err(r, "internal", "%s; nothing changed", err);
		return;
	}
	/* no change, so no audit record: the log's at debug */
	log_debug("control: uid %ld: diff of %s (nothing applied)", c->uid,
		  what);
	if (dr->json)
		ctl_ok(r, "%s", "");
	else
		ctl_ok(r, "%s: %s, nothing applied", what,
		       dr->on ? "dry run" : "diff");
}

/* The policy file the client sent with @r (FILE only names it), into
 * @c (text and length). Returns the text (the caller frees it), or NULL
 * with @r answered. */
static char *client_file(struct ctl_req *r, char **argv, struct change *c)
{
	char err[512], *text;

	/* The client opened the file with its own rights and passed it: the
	 * daemon never opens a path named by a client (a root-only file, a
	 * FIFO that blocks, /dev/zero). FILE only names it in messages. */
	if (ctl_req_fd(r) < 0) {
		ctl_err(r, "usage",
			"policy %s: send the file with the request (skyfencectl "
			"does; skyfenced opens no path for a client)",
			argv[1]);
		return NULL;
	}
	text = policy_read_fd(ctl_req_fd(r), argv[2], &c->len, err,
			      sizeof(err));
	c->text = text;
	if (!text)
		ctl_err(r, "refused", "%s; the running policy stays", err);
	return text;
}

/* Whether a read-only client's diff may run now (ro_diff_next_ms), and
 * its candidate (@len bytes; 0: not read yet) is small enough: 0, or -1
 * with @r answered. Admins' always may. */
static int ro_diff_allowed(struct daemon *d, struct ctl_req *r, size_t len)
{
	uint64_t now = runtime_clock_ms(0);
	size_t cap = DIFF_RO_FILE;
	char *run;

	if (req_role >= CTL_ADMIN)
		return 0;
	if (now < ro_diff_next_ms) {
		ctl_err(r, "busy",
			"policy diff: a read-only client's diff shares the "
			"control thread: try again in %" PRIu64 " ms",
			ro_diff_next_ms - now);
		return -1;
	}
	if (!len)
		return 0; /* the time alone, before the file is read */
	run = policy_format(d->run.pol);
	if (run && 2 * strlen(run) > cap)
		cap = 2 * strlen(run);
	free(run);
	if (len > cap) {
		ctl_err(r, "refused",
			"policy diff: a candidate of %zu bytes; a read-only "
			"client's is at most %zu (an admin's: as policy load)",
			len, cap);
		return -1;
	}
	return 0;
}

/* policy diff FILE [--limit N] [json] */
static void v_policy_diff(struct daemon *d, struct ctl_req *r, int argc,
			  char **argv)
{
	struct change c = change_by(r, CHANGE_LOAD, argv[2]);
	uint64_t t0 = runtime_clock_ms(0);
	struct dry dr;
	char *text;
	int json = argc > 3 && !strcmp(argv[argc - 1], "json");

	/* the format word skyfencectl adds last */
	if (argc > 3 && (json || !strcmp(argv[argc - 1], "text")))
		argc--;
	argc = dry_words(r, argc, argv, 3, &dr);
	if (argc < 0)
		return;
	if (argc != 3 || dr.on) {
		ctl_err(r, "usage", "policy diff FILE [--limit N] [json]");
		return;
	}
	dr.json = json;
	if (ro_diff_allowed(d, r, 0) != 0)
		return;
	text = client_file(r, argv, &c);
	if (!text)
		return;
	if (ro_diff_allowed(d, r, c.len) == 0)
		dry_run(d, r, &c, &dr, argv[2]);
	free(text);
	if (req_role < CTL_ADMIN)
		ro_diff_next_ms = runtime_clock_ms(0) +
				  DIFF_RO_SHARE * (runtime_clock_ms(0) - t0);
}

/* policy check FILE | policy load FILE */
static void v_policy_file(struct daemon *d, struct ctl_req *r, int argc,
			  char **argv)
{
	struct err_sink es = { r, 0 };
	struct change c = change_by(r, CHANGE_LOAD, argv[2]);
	struct policy *np;
	struct dry dr;
	unsigned nerr = 0;
	char err[512], *text;

	argc = dry_words(r, argc, argv, 3, &dr);
	if (argc < 0)
		return;
	if (argc != 3 || (dr.limited && !dr.on)) {
		ctl_err(r, "usage", "policy load FILE [--dry-run [--limit N]]");
		return;
	}
	text = client_file(r, argv, &c);
	if (!text)
		return;
	if (dr.on) {
		dry_run(d, r, &c, &dr, argv[2]);
		free(text);
		return;
	}
	if (!strcmp(argv[1], "check")) {
		np = loader_client_policy(d->run.cls, d->run.pol, argv[2],
					  c.text, c.len, err_to_req, &es,
					  &nerr);
		free(text);
		if (!np) {
			ctl_err(r, "refused",
				"%s: %u error(s); the running policy stays",
				argv[2], nerr);
			return;
		}
		if (np->has_dscp && !mark_has_dscp(&d->ml)) {
			/* what policy load would refuse (runtime.c) */
			ctl_err(r, "refused",
				"%s: mark dscp needs a mark mask of %d bits or "
				"more (--mark-mask); this daemon's has %d",
				argv[2], MARK_DSCP_MIN_BITS,
				__builtin_popcount(d->ml.mask));
			policy_free(np);
			return;
		}
		ctl_ok(r, "%s: valid (%u departments besides default)", argv[2],
		       np->n_depts - 1);
		policy_free(np);
		return;
	}
	if (d->fleet) {
		/* a fleet node's policy is the bucket's: written there,
		 * then applied here */
		char msg[1600];
		int rc = fleetd_policy(d, c.uid, argv[2], c.text, c.len,
				       err_to_req, &es, msg, sizeof(msg));

		free(text);
		if (rc != 0)
			ctl_err(r, "refused", "%s", msg);
		else
			ctl_ok(r, "%s%s", msg, unsaved(d));
		return;
	}
	if (change_apply(d, &c, err_to_req, &es, err, sizeof(err)) != 0) {
		free(text);
		ctl_err(r, "refused", "%s", err);
		return;
	}
	free(text);
	ctl_ok(r, "%s applied%s%s; established flows follow (conntrack walk)%s",
	       argv[2],
	       d->run.pol->killswitch[0] ? "; the kill switch stays on for "
					 : "",
	       d->run.pol->killswitch, unsaved(d));
}

/* A runtime edit (department, rule) through the change service. */
static void edit(struct daemon *d, struct ctl_req *r, int argc, char **argv,
		 const char *usage)
{
	struct err_sink es = { r, 0 };
	char what[CTL_MAX_REQUEST + 64], err[512];
	struct change c;
	struct dry dr;

	argc = dry_words(r, argc, argv, 2, &dr);
	if (argc < 0)
		return;
	if ((dr.limited && !dr.on) || change_edit_valid(argc, argv) != 0) {
		ctl_err(r, "usage", "%s", usage);
		return;
	}
	change_join(what, sizeof(what), argc, argv, 0);
	if (dr.on) {
		c = change_by(r, CHANGE_EDIT, what);
		dry_run(d, r, &c, &dr, what);
		return;
	}
	if (d->fleet) {
		char msg[1600];

		if (fleetd_edit(d, (long)ctl_req_uid(r), what, err_to_req, &es,
				msg, sizeof(msg)) != 0)
			ctl_err(r, "refused", "%s", msg);
		else
			ctl_ok(r, "%s%s", msg, unsaved(d));
		return;
	}
	c = change_by(r, CHANGE_EDIT, what);
	if (change_apply(d, &c, err_to_req, &es, err, sizeof(err)) != 0) {
		ctl_err(r, "refused", "%s", err);
		return;
	}
	ctl_ok(r, "%s; established flows follow (conntrack walk)%s", what,
	       unsaved(d));
}

static void v_edit(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	edit(d, r, argc, argv,
	     !strcmp(argv[0], "department")
		     ? "department add NAME hosts PREFIX... | department set NAME hosts PREFIX... | department del NAME"
		     : "rule set DEPARTMENT MATCH ACTION [OPTIONS] | rule del DEPARTMENT MATCH | rule add DEPARTMENT MATCH ACTION [OPTIONS] [for DURATION | until TIME] [cut|finish]");
}

static void v_killswitch(struct daemon *d, struct ctl_req *r, int argc,
			 char **argv)
{
	struct err_sink es = { r, 0 };
	const char *ks = d->run.pol->killswitch;
	char apps[256], next[520], err[512];
	struct change c;
	struct dry dr;
	int local;

	argc = dry_words(r, argc, argv, 1, &dr);
	if (argc < 0)
		return;
	if (argc == 1 && !dr.on && !dr.limited) {
		ctl_ok(r, "killswitch %s%s", ks[0] ? "on: " : "off", ks);
		return;
	}
	if (argc == 1 || (strcmp(argv[1], "on") && strcmp(argv[1], "off")) ||
	    (dr.limited && !dr.on)) {
		ctl_err(r, "usage",
			"killswitch [on|off] [--local] [APP...] (APP: skype, "
			"or an nDPI protocol name)");
		return;
	}
	/* --local: this node's own (a fleet node's; on a node alone, the
	 * kill switch is its own anyway) */
	local = argc > 2 && !strcmp(argv[2], "--local");
	change_join(apps, sizeof(apps), argc, argv, 2 + local);
	if (!apps[0] && !strcmp(argv[1], "on"))
		snprintf(apps, sizeof(apps), "%s", "skype");
	if (d->fleet && !dr.on) {
		char msg[1600];

		if (fleetd_killswitch(d, (long)ctl_req_uid(r),
				      !strcmp(argv[1], "on"), local, apps, msg,
				      sizeof(msg)) != 0)
			ctl_err(r, "refused", "%s", msg);
		else
			ctl_ok(r,
			       "%s; established flows follow (conntrack "
			       "walk)%s",
			       msg, unsaved(d));
		return;
	}
	if (!apps[0])
		snprintf(apps, sizeof(apps), "%s", "skype");
	if (!strcmp(argv[1], "on")) {
		/* on adds to what is on; an app already on stays once */
		char *save = NULL, *w;

		snprintf(next, sizeof(next), "%s", ks);
		for (w = strtok_r(apps, " ", &save); w;
		     w = strtok_r(NULL, " ", &save))
			if (!policy_word_listed(ks, w) &&
			    !policy_word_listed(next, w))
				snprintf(next + strlen(next),
					 sizeof(next) - strlen(next), "%s%s",
					 next[0] ? " " : "", w);
	} else if (argc == 2 + local) {
		next[0] = '\0'; /* off: all off */
	} else {
		/* off APP...: the others stay on */
		char *save = NULL, *w, cur[256];

		snprintf(cur, sizeof(cur), "%s", ks);
		next[0] = '\0';
		for (w = strtok_r(cur, " ", &save); w;
		     w = strtok_r(NULL, " ", &save)) {
			if (!policy_word_listed(apps, w))
				snprintf(next + strlen(next),
					 sizeof(next) - strlen(next), "%s%s",
					 next[0] ? " " : "", w);
		}
	}
	if (strlen(next) >= sizeof(d->run.pol->killswitch)) {
		ctl_err(r, "refused", "too many apps for the kill switch");
		return;
	}
	c = change_by(r, CHANGE_KILLSWITCH, next);
	if (dr.on) {
		/* next fits the kill switch's field (checked above) */
		snprintf(err, sizeof(err), "killswitch %s%.255s",
			 next[0] ? "on for " : "off", next);
		dry_run(d, r, &c, &dr, err);
		return;
	}
	if (change_apply(d, &c, err_to_req, &es, err, sizeof(err)) != 0) {
		ctl_err(r, "refused",
			"killswitch %s %s: %u error(s); nothing changed",
			argv[1], next, es.n);
		return;
	}
	ctl_ok(r,
	       "killswitch %s%s; established flows follow (conntrack walk)%s",
	       next[0] ? "on for " : "off", next, unsaved(d));
}

/* The chain's head as written to the file: what `skyfencectl audit
 * verify --head` compares the last line with. */
static void v_audit_head(struct daemon *d, struct ctl_req *r, int argc,
			 char **argv)
{
	struct auditlog_stats as;

	(void)argc;
	(void)argv;
	auditlog_get_stats(d->audit.log, &as);
	ctl_data(r, "node %s", d->audit.node);
	ctl_data(r, "seq %" PRIu64, as.seq);
	ctl_data(r, "sha256 %s", as.head);
	ctl_ok(r, "%s",
	       as.queued_bytes ? "records are waiting to be written: "
				 "the file is behind this head"
			       : "");
}

static const char *const log_levels[] = { "error", "warning", "info", "debug" };

static void v_log_show(struct daemon *d, struct ctl_req *r, int argc,
		       char **argv)
{
	(void)d;
	(void)argc;
	(void)argv;
	ctl_ok(r, "log level %s", log_levels[log_get_level() & 3]);
}

static void v_log_set(struct daemon *d, struct ctl_req *r, int argc,
		      char **argv)
{
	const char *const *lv = log_levels;
	int i;

	(void)d;
	(void)argc;
	for (i = 0; i < 4; i++) {
		if (!strcmp(argv[2], lv[i])) {
			log_set_level(i);
			ctl_ok(r, "log level %s", lv[i]);
			return;
		}
	}
	ctl_err(r, "usage",
		"unknown log level '%s' (error, warning, info, debug)",
		argv[2]);
}

/* A new nDPI module with the signatures file re-read, the running policy
 * resolved against it, then both swapped in. Flows still being inspected
 * start over (their nDPI state belonged to the old module); decided flows
 * keep their conntrack marks. */
static void v_signatures(struct daemon *d, struct ctl_req *r, int argc,
			 char **argv)
{
	struct err_sink es = { r, 0 };
	struct change c = change_by(r, CHANGE_SIGNATURES, "");
	char err[600];

	(void)argc;
	(void)argv;

	if (change_apply(d, &c, err_to_req, &es, err, sizeof(err)) != 0) {
		ctl_err(r, "refused", "%s", err);
		return;
	}
	ctl_ok(r, "signatures %s reloaded; flows being inspected start over",
	       d->run.pol->signatures);
}

/* skyfence-endpoints(8) after it wrote a version: read only, since the
 * daemon reads the one file its policy names, and does nothing when its
 * bytes are the ones running (so a member of the socket's group can
 * make it read a file, never change what it enforces). */
static void v_feed(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	struct err_sink es = { r, 0 };
	struct change c = change_by(r, CHANGE_FEED, "");
	const struct addrsig *s;
	char err[600];
	int cur;

	(void)argc;
	(void)argv;
	cur = change_feed_current(d, err, sizeof(err));
	if (cur < 0) {
		ctl_err(r, "refused", "%s; the running signatures stay", err);
		return;
	}
	s = d->run.pol->addrsig;
	if (cur == 1) {
		ctl_ok(r, "feed unchanged: version %s",
		       s->feed.present ? s->feed.version : "none");
		return;
	}
	if (change_apply(d, &c, err_to_req, &es, err, sizeof(err)) != 0) {
		ctl_err(r, "refused", "%s", err);
		return;
	}
	s = d->run.pol->addrsig;
	ctl_ok(r,
	       "feed version %s applied (was %s): %u IPv4 and %u IPv6 "
	       "prefixes, %u names with the address list; established flows "
	       "decided again",
	       s && s->feed.present ? s->feed.version : "none", d->run.feed_was,
	       s ? s->v4 : 0, s ? s->v6 : 0, s ? s->n_names : 0);
}

static void v_help(struct daemon *d, struct ctl_req *r, int argc, char **argv);

typedef void verb_fn(struct daemon *d, struct ctl_req *r, int argc,
		     char **argv);

/* The verbs (verbs.h), each with its handler. A request is served by the
 * first row that serves it (ctl_verb_serves), and only for a client with
 * the row's role: no handler checks a role. */
static const struct verb {
	struct ctl_verb v;
	verb_fn *fn;
} verbs[] = {
#define VERB_ROW(words, args, min, max, role, flags, help, fn) \
	{ { words, args, min, max, role, flags, help }, fn },
	CTL_VERBS(VERB_ROW)
#undef VERB_ROW
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

/* A row's usage as the daemon shows it: its words, what follows, and
 * the format word it takes. */
static const char *verb_usage(const struct ctl_verb *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", v->words, v->args[0] ? " " : "", v->args,
		 (v->flags & VERB_PROM)	  ? " [text|json|prometheus]"
		 : (v->flags & VERB_JSON) ? " [json]"
					  : "");
	return buf;
}

static void v_help(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	char u[160];
	size_t i;

	(void)d;
	(void)argc;
	(void)argv;
	for (i = 0; i < N_VERBS; i++)
		if (!(verbs[i].v.flags & VERB_CLIENT))
			ctl_data(r, "%s%s",
				 verb_usage(&verbs[i].v, u, sizeof(u)),
				 verbs[i].v.role == CTL_ADMIN	? "   (admin)"
				 : verbs[i].v.role == CTL_LEASE ? "   (dhcp)"
								: "");
	ctl_ok(r, "%s", "");
}

void control_request(void *ctx, struct ctl_req *r, enum ctl_role role, int argc,
		     char **argv)
{
	struct daemon *d = ctx;
	char usage[1024] = "", u[160];
	int known = 0, admin_only = 1;
	size_t i;

	for (i = 0; i < N_VERBS; i++) {
		const struct ctl_verb *v = &verbs[i].v;

		if (!ctl_verb_serves(v, argc, argv)) {
			if (!(v->flags & VERB_CLIENT) &&
			    !strncmp(argv[0], v->words, strlen(argv[0])) &&
			    (v->words[strlen(argv[0])] == ' ' ||
			     !v->words[strlen(argv[0])])) {
				known = 1;
				admin_only &= v->role == CTL_ADMIN;
				snprintf(usage + strlen(usage),
					 sizeof(usage) - strlen(usage), "%s%s",
					 usage[0] ? " | " : "",
					 verb_usage(v, u, sizeof(u)));
			}
			continue;
		}
		if (role < v->role) {
			ctl_err(r, "denied",
				"'%s%s%s' changes skyfenced: %s only", argv[0],
				argc > 1 ? " " : "", argc > 1 ? argv[1] : "",
				v->role == CTL_LEASE
					? "the DHCP server's (--lease-group) and admins"
					: "admins");
			return;
		}
		req_role = role;
		verbs[i].fn(d, r, argc, argv);
		return;
	}
	if (known && admin_only && role < CTL_ADMIN) {
		/* a read-only client learns no more of an admin's verb than
		 * that it is one, however it is written */
		ctl_err(r, "denied", "'%s' changes skyfenced: admins only",
			argv[0]);
	} else if (known) {
		ctl_err(r, "usage", "%s", usage);
	} else {
		char shown[64];

		status_json_str(shown, sizeof(shown), argv[0]);
		ctl_err(r, "usage", "unknown verb '%s' (try: help)", shown);
	}
}
