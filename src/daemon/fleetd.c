/* fleetd.c - a gateway of a fleet (fleetd.h): the bucket's revisions
 * through the change service, the node's report and audit head, and the
 * changes made here written with compare-and-set. */
#include "daemon/fleetd.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/auditlog.h"
#include "daemon/change.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "policy/loader.h"
#include "policy/state.h"
#include "sys/log.h"

#define STATE_MAGIC "skyfence-fleet-state 1"
#define KS_TRIES 8 /* an "on" written again when another write came first */

struct fleetd {
	struct fleet *f;
	int dfd; /* the state directory; -1: revisions in memory only */
	uint64_t policy_rev, ks_rev;		   /* applied here */
	uint64_t bucket_policy_rev, bucket_ks_rev; /* latest seen */
	char fleet_ks[FLEET_APPS_MAX + 1];
	char local_ks[FLEET_APPS_MAX + 1];   /* --local */
	char pending_ks[FLEET_APPS_MAX + 1]; /* on here, not yet written */
	char policy_by[FLEET_WHAT_MAX + 128];
	unsigned n_conflicts;
	char conflict[FLEET_CONFLICTS][FLEET_CONFLICT_MAX + 1];
	/* 'p', 'k': a revision of the policy, the kill switch refused here
	 * (gone once a later one applies); 'c': a change made here not
	 * written (kept until fleet clear) */
	char conflict_kind[FLEET_CONFLICTS];
	uint64_t refused_policy_rev, refused_ks_rev; /* 0: none */
	uint64_t beat, next_report_ms, next_head_ms;
	int report_now;
	struct fleetd_node nodes[FLEETD_NODES];
	unsigned n_nodes;
	uint64_t nodes_left_out;
	/* the audit anchor: checked once the watch gave every key */
	int anchor_checked, anchor_behind;
	int restored; /* the state file was there: a fleet node before */
	uint64_t next_anchor_ms;
	char self[FLEET_NODE_MAX + 1]; /* this node's id */
	uint64_t anchor_seq, local_seq, head_sent_seq;
	char head_sent[AUDIT_HEX];
	struct log_limit warn;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *fleetd_state_name(enum fleetd_state s)
{
	switch (s) {
	case FLEETD_OK:
		return "ok";
	case FLEETD_BEHIND:
		return "behind";
	case FLEETD_CONFLICT:
		return "conflict";
	case FLEETD_SILENT:
		return "silent";
	}
	return "?";
}

/* ---- conflicts ---- */

static void add_conflict(struct fleetd *fd, char kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_conflict(struct fleetd *fd, char kind, const char *fmt, ...)
{
	char text[FLEET_CONFLICT_MAX + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; text[i]; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] >= 0x7f)
			text[i] = '?';
	if (!text[0])
		return;
	/* the newest FLEET_CONFLICTS are kept */
	if (fd->n_conflicts == FLEET_CONFLICTS) {
		memmove(fd->conflict[0], fd->conflict[1],
			sizeof(fd->conflict[0]) * (FLEET_CONFLICTS - 1));
		memmove(fd->conflict_kind, fd->conflict_kind + 1,
			FLEET_CONFLICTS - 1);
		fd->n_conflicts--;
	}
	fd->conflict_kind[fd->n_conflicts] = kind;
	memcpy(fd->conflict[fd->n_conflicts++], text, sizeof(text));
	fd->report_now = 1;
	log_warnx("fleet: conflict: %s", text);
}

/* The conflicts of @kind gone: a later revision applied. */
static void drop_conflicts(struct fleetd *fd, char kind)
{
	unsigned i, o = 0;

	for (i = 0; i < fd->n_conflicts; i++) {
		if (fd->conflict_kind[i] == kind)
			continue;
		if (o != i) {
			memcpy(fd->conflict[o], fd->conflict[i],
			       sizeof(fd->conflict[0]));
			fd->conflict_kind[o] = fd->conflict_kind[i];
		}
		o++;
	}
	if (o != fd->n_conflicts)
		fd->report_now = 1;
	fd->n_conflicts = o;
}

/* ---- the state file ---- */

static void save(struct daemon *d)
{
	struct fleetd *fd = d->fleet;
	char text[4 * FLEET_APPS_MAX + 256], err[300];
	const char *parts[1] = { text };

	if (fd->dfd < 0)
		return;
	snprintf(text, sizeof(text),
		 STATE_MAGIC "\npolicy %" PRIu64 "\nkillswitch %" PRIu64
			     "%s%s\nlocal%s%s\npending%s%s\n",
		 fd->policy_rev, fd->ks_rev, fd->fleet_ks[0] ? " " : "",
		 fd->fleet_ks, fd->local_ks[0] ? " " : "", fd->local_ks,
		 fd->pending_ks[0] ? " " : "", fd->pending_ks);
	if (state_replace(fd->dfd, FLEETD_FILE, parts, 1, err, sizeof(err)) !=
	    0)
		log_limited(&fd->warn, mono_ms(),
			    "fleet: %s: the revisions applied are not saved "
			    "(a restart takes them from the bucket again)",
			    err);
}

/* "NAME N" or "NAME N ..." (@name with its space): N, decimal, without
 * a sign or a leading zero, into *@v. 0, or -1. */
static int state_number(const char *line, const char *name, uint64_t *v)
{
	size_t n = strlen(name), k;
	uint64_t x = 0;

	if (strncmp(line, name, n) != 0)
		return -1;
	line += n;
	k = strspn(line, "0123456789");
	if (!k || k > 19 || (k > 1 && line[0] == '0') ||
	    (line[k] && line[k] != ' '))
		return -1;
	while (k--)
		x = x * 10 + (uint64_t)(*line++ - '0');
	*v = x;
	return 0;
}

/* "NAME[ APPS]" at the start of @line: APPS into @out. */
static int state_apps(const char *line, const char *name, char *out)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) != 0 || (line[n] && line[n] != ' '))
		return -1;
	line += n + (line[n] == ' ');
	if (!fleetval_apps_ok(line))
		return -1;
	snprintf(out, FLEET_APPS_MAX + 1, "%s", line);
	return 0;
}

int fleetd_restore(struct daemon *d, int dfd)
{
	struct fleetd *fd = d->fleet;
	char buf[4 * FLEET_APPS_MAX + 256], err[300], *save_p = NULL;
	char *lines[5], *l;
	unsigned n = 0;
	ssize_t len;
	int ok;

	if (!fd)
		return 0;
	fd->dfd = dfd;
	len = state_read_small(dfd, FLEETD_FILE, buf, sizeof(buf), err,
			       sizeof(err));
	if (len < 0 && errno == ENOENT)
		return 0;
	if (len < 0) {
		log_warnx("fleet: state %s: %s; not starting (move it away: "
			  "the node then takes everything from the bucket)",
			  FLEETD_FILE, err);
		return -1;
	}
	for (l = strtok_r(buf, "\n", &save_p); l && n < 5;
	     l = strtok_r(NULL, "\n", &save_p))
		lines[n++] = l;
	ok = n == 5 && !strtok_r(NULL, "\n", &save_p) &&
	     !strcmp(lines[0], STATE_MAGIC) &&
	     state_number(lines[1], "policy ", &fd->policy_rev) == 0 &&
	     state_number(lines[2], "killswitch ", &fd->ks_rev) == 0 &&
	     state_apps(lines[3], "local", fd->local_ks) == 0 &&
	     state_apps(lines[4], "pending", fd->pending_ks) == 0;
	if (ok) {
		const char *sp = strchr(lines[2] + strlen("killswitch "), ' ');

		ok = fleetval_apps_ok(sp ? sp + 1 : "");
		snprintf(fd->fleet_ks, sizeof(fd->fleet_ks), "%s",
			 sp ? sp + 1 : "");
	}
	if (!ok) {
		log_warnx("fleet: state %s/%s is not one skyfenced wrote; not "
			  "starting (move it away: the node then takes "
			  "everything from the bucket)",
			  d->o->state_dir, FLEETD_FILE);
		return -1;
	}
	fd->bucket_policy_rev = fd->policy_rev;
	fd->bucket_ks_rev = fd->ks_rev;
	fd->restored = 1;
	d->run.from_fleet = fd->policy_rev > 0;
	log_info("fleet: restored: policy revision %" PRIu64
		 ", kill switch revision %" PRIu64 "%s%s%s%s",
		 fd->policy_rev, fd->ks_rev,
		 fd->local_ks[0] ? "; local kill switch on for " : "",
		 fd->local_ks,
		 fd->pending_ks[0] ? "; not yet written to the fleet: on for "
				   : "",
		 fd->pending_ks);
	return 0;
}

/* ---- open, start, close ---- */

int fleetd_open(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	char node[AUDIT_NODE_LEN];
	struct fleet_opts fo = {
		.urls = o->nats_urls,
		.bucket = o->nats_bucket ? o->nats_bucket : "skyfence",
		.node = node,
		.user = o->nats_user,
		.password_file = o->nats_password_file,
		.admin_user = o->nats_admin_user,
		.admin_password_file = o->nats_admin_password_file,
		.ca = o->nats_ca,
		.cert = o->nats_cert,
		.key = o->nats_key,
	};
	char err[512];

	if (!o->nats_urls)
		return 0;
	/* the audit's node, as start_audit() will name it */
	audit_default_node(o->node_id, node);
	d->fleet = calloc(1, sizeof(*d->fleet));
	if (!d->fleet) {
		log_warnx("out of memory");
		return -1;
	}
	d->fleet->dfd = -1;
	/* the revisions applied before, read with the saved policy */
	d->run.on_state_dir = fleetd_restore;
	snprintf(d->fleet->self, sizeof(d->fleet->self), "%s", node);
	d->fleet->f = fleet_open(&fo, err, sizeof(err));
	if (!d->fleet->f) {
		log_warnx("fleet: %s; not starting", err);
		free(d->fleet);
		d->fleet = NULL;
		return -1;
	}
	log_info("fleet: node %s, bucket %s on %s%s", node, fo.bucket,
		 o->nats_urls,
		 fleet_has_admin(d->fleet->f)
			 ? "; admins here write the fleet's changes"
			 : "; no admin credentials: changes made here stay "
			   "local or are refused");
	return 0;
}

int fleetd_start(struct daemon *d)
{
	char err[512];

	if (!d->fleet)
		return 0;
	if (fleet_start(d->fleet->f, err, sizeof(err)) != 0) {
		log_warnx("fleet: %s; not starting", err);
		return -1;
	}
	d->fleet->report_now = 1;
	/* a kill switch on from before this node joined a fleet stays on,
	 * as its own: the fleet's first revision must not lift it */
	if (!d->fleet->restored && d->run.pol->killswitch[0]) {
		snprintf(d->fleet->local_ks, sizeof(d->fleet->local_ks), "%s",
			 d->run.pol->killswitch);
		log_warnx("fleet: the kill switch on for %s from before this "
			  "node joined the fleet stays on as its own "
			  "(killswitch off --local lifts it)",
			  d->fleet->local_ks);
		add_conflict(d->fleet, 'c',
			     "the kill switch on for %s ran here before the "
			     "fleet's state was known (no state file %s): kept "
			     "as this node's own; killswitch off --local lifts "
			     "it",
			     d->fleet->local_ks, FLEETD_FILE);
		save(d);
	}
	return 0;
}

void fleetd_close(struct daemon *d)
{
	if (!d->fleet)
		return;
	fleet_close(d->fleet->f);
	fleet_shutdown();
	free(d->fleet);
	d->fleet = NULL;
}

int fleetd_fd(const struct daemon *d)
{
	return d->fleet ? fleet_fd(d->fleet->f) : -1;
}

/* ---- the kill switch here ---- */

/* The running kill switch: the fleet's, this node's own, and an "on"
 * not yet written. */
static int effective(const struct fleetd *fd, char out[FLEET_APPS_MAX + 1])
{
	char a[FLEET_APPS_MAX + 1];

	/* too many apps together: refused by the caller, never fewer run
	 * than status says */
	if (fleetval_apps_union(fd->fleet_ks, fd->local_ks, a) != 0 ||
	    fleetval_apps_union(a, fd->pending_ks, out) != 0)
		return -1;
	return 0;
}

/* The kill switch as it should run, applied if it changed. */
static int apply_ks(struct daemon *d, enum change_origin origin, long uid,
		    const char *note, char *err, size_t errlen)
{
	char apps[FLEET_APPS_MAX + 1];
	struct change c = { .kind = CHANGE_KILLSWITCH,
			    .origin = origin,
			    .uid = uid,
			    .note = note };

	if (effective(d->fleet, apps) != 0) {
		snprintf(err, errlen,
			 "the fleet's kill switch, this node's own and the one "
			 "not yet written are too many apps together (%d "
			 "bytes at most)",
			 FLEET_APPS_MAX);
		return -1;
	}
	if (!strcmp(apps, d->run.pol->killswitch)) {
		err[0] = '\0';
		return 0;
	}
	c.what = apps;
	return change_apply(d, &c, NULL, NULL, err, errlen);
}

/* ---- the bucket's updates ---- */

static struct fleetd_node *node_of(struct fleetd *fd, const char *id)
{
	unsigned i;

	for (i = 0; i < fd->n_nodes; i++)
		if (!strcmp(fd->nodes[i].id, id))
			return &fd->nodes[i];
	/* the last slot is this node's, whoever else reports */
	if (fd->n_nodes >= FLEETD_NODES - 1 &&
	    (fd->n_nodes == FLEETD_NODES || strcmp(id, fd->self))) {
		fd->nodes_left_out++;
		return NULL;
	}
	memset(&fd->nodes[fd->n_nodes], 0, sizeof(fd->nodes[0]));
	snprintf(fd->nodes[fd->n_nodes].id, sizeof(fd->nodes[0].id), "%s", id);
	return &fd->nodes[fd->n_nodes++];
}

/* The bucket's latest @e, read again, older than a revision it gave
 * before: the bucket was made again, or restored from an old copy. The
 * node keeps what it runs (@applied), shown once as a conflict of @kind
 * (*@refused: that revision). 1 if @e was that, 0 if not. */
static int older(struct fleetd *fd, const struct fleet_entry *e, char kind,
		 const char *what, uint64_t applied, uint64_t *refused)
{
	if (!e->older)
		return 0;
	if (e->rev != *refused) {
		*refused = e->rev;
		add_conflict(fd, kind,
			     "the bucket's %s is at revision %" PRIu64
			     ", older than revision %" PRIu64
			     " applied here (the bucket made again?): this "
			     "node keeps what it runs; skyfencectl fleet clear "
			     "makes it take the bucket's",
			     what, e->rev, applied);
	}
	return 1;
}

static void on_policy(struct daemon *d, const struct fleet_entry *e)
{
	struct fleetd *fd = d->fleet;
	struct fleet_policy p;
	char err[600], what[FLEET_WHAT_MAX + 200], note[FLEET_WHAT_MAX + 160];
	struct policy *np;
	unsigned nerr = 0;
	struct change c = { .kind = CHANGE_LOAD, .origin = CHANGE_FLEET };

	if (e->rev > fd->bucket_policy_rev)
		fd->bucket_policy_rev = e->rev;
	if (older(fd, e, 'p', "policy", fd->policy_rev,
		  &fd->refused_policy_rev))
		return;
	/* given again, or one this node passed already (its own write
	 * applied before the watch brought the ones in between) */
	if (e->rev <= fd->policy_rev || e->rev == fd->refused_policy_rev)
		return;
	if (e->deleted) {
		log_warnx("fleet: the policy was deleted from the bucket "
			  "(revision %" PRIu64 "): this node keeps running "
			  "revision %" PRIu64,
			  e->rev, fd->policy_rev);
		return;
	}
	if (fleetval_policy_decode(e->val, e->len, &p, err, sizeof(err)) != 0) {
		fd->refused_policy_rev = e->rev;
		add_conflict(fd, 'p',
			     "policy revision %" PRIu64
			     " refused here: %s; running revision %" PRIu64,
			     e->rev, err, fd->policy_rev);
		return;
	}
	snprintf(note, sizeof(note), "fleet revision %" PRIu64 " by %s uid %ld",
		 e->rev, p.by, p.uid);
	snprintf(what, sizeof(what), "policy revision %" PRIu64 ": %s", e->rev,
		 p.what[0] ? p.what : "-");
	/* a document with a kill switch of its own is not the fleet's: its
	 * kill switch is a key apart, which only "off" lifts */
	/* checked as the running policy is: a revision written before a
	 * temporary rule in it expired is still the fleet's policy */
	np = loader_running_policy(d->run.cls, d->run.pol, what, p.text, p.len,
				   runtime_log_line, NULL, &nerr);
	if (np && np->killswitch[0]) {
		snprintf(err, sizeof(err),
			 "it holds a killswitch statement (the fleet's kill "
			 "switch is a key of its own)");
		policy_free(np);
		np = NULL;
	} else if (!np) {
		snprintf(err, sizeof(err), "%u error(s) (in the log)", nerr);
	}
	if (np) {
		policy_free(np);
		c.what = what;
		c.note = note;
		c.text = p.text;
		c.len = p.len;
		c.uid = -1;
	}
	if (!np || change_apply(d, &c, NULL, NULL, err, sizeof(err)) != 0) {
		fd->refused_policy_rev = e->rev;
		add_conflict(fd, 'p',
			     "policy revision %" PRIu64
			     " (by %s uid %ld) refused here: %s; running "
			     "revision %" PRIu64,
			     e->rev, p.by, p.uid, err, fd->policy_rev);
		return;
	}
	fd->policy_rev = e->rev;
	fd->refused_policy_rev = 0;
	d->run.from_fleet = 1;
	drop_conflicts(fd, 'p');
	snprintf(fd->policy_by, sizeof(fd->policy_by), "%s uid %ld: %s", p.by,
		 p.uid, p.what[0] ? p.what : "-");
	fd->report_now = 1;
	save(d);
}

static void on_killswitch(struct daemon *d, const struct fleet_entry *e)
{
	struct fleetd *fd = d->fleet;
	struct fleet_ks k;
	char err[600], note[200], old[FLEET_APPS_MAX + 1];

	if (e->rev > fd->bucket_ks_rev)
		fd->bucket_ks_rev = e->rev;
	if (older(fd, e, 'k', "kill switch", fd->ks_rev, &fd->refused_ks_rev))
		return;
	if (e->rev <= fd->ks_rev || e->rev == fd->refused_ks_rev)
		return;
	memset(&k, 0, sizeof(k));
	if (e->deleted)
		snprintf(err, sizeof(err),
			 "deleted (an off is a revision written over an on, "
			 "not a deletion)");
	if (e->deleted ||
	    fleetval_ks_decode(e->val, e->len, &k, err, sizeof(err)) != 0) {
		/* the running kill switch stays: a value nobody can read
		 * lifts nothing */
		fd->refused_ks_rev = e->rev;
		add_conflict(fd, 'k',
			     "kill switch revision %" PRIu64
			     " refused here: %s; running revision %" PRIu64,
			     e->rev, err, fd->ks_rev);
		return;
	}
	snprintf(note, sizeof(note), "fleet revision %" PRIu64 " by %s uid %ld",
		 e->rev, k.by, k.uid);
	memcpy(old, fd->fleet_ks, sizeof(old));
	snprintf(fd->fleet_ks, sizeof(fd->fleet_ks), "%s", k.apps);
	if (apply_ks(d, CHANGE_FLEET, -1, note, err, sizeof(err)) != 0) {
		memcpy(fd->fleet_ks, old, sizeof(old));
		fd->refused_ks_rev = e->rev;
		add_conflict(fd, 'k',
			     "kill switch revision %" PRIu64
			     " refused here: %s; running revision %" PRIu64,
			     e->rev, err, fd->ks_rev);
		return;
	}
	fd->ks_rev = e->rev;
	fd->refused_ks_rev = 0;
	drop_conflicts(fd, 'k');
	fd->report_now = 1;
	save(d);
}

/* The heads this node published, as the bucket keeps them (64
 * revisions), walked oldest first. */
struct anchor_walk {
	uint64_t open_seq;
	const char *open_head;
	uint64_t max_seq, last_seq, rev;
	int have, deleted, down, changed, bad;
};

static void anchor_one(void *ctx, uint64_t rev, const char *val, size_t len)
{
	struct anchor_walk *w = ctx;
	struct fleet_head h;
	char err[200];

	if (!val) {
		/* a deletion: nobody but this node (or an admin) may, and
		 * it would hide a cut */
		if (w->have && !w->deleted) {
			w->deleted = 1;
			w->rev = rev;
		}
		return;
	}
	if (fleetval_head_decode(val, len, &h, err, sizeof(err)) != 0) {
		w->bad++;
		return;
	}
	if (w->have && h.seq < w->last_seq && !w->down) {
		w->down = 1;
		w->rev = rev;
	}
	if (h.seq == w->open_seq && strcmp(h.sha256, w->open_head) != 0 &&
	    !w->changed) {
		w->changed = 1;
		w->rev = rev;
	}
	if (h.seq > w->max_seq)
		w->max_seq = h.seq;
	w->last_seq = h.seq;
	w->have = 1;
}

/* At start, once: the log as it was opened (records written since must
 * not hide a cut) against every head the bucket keeps of this node.
 * 0 checked, -1 to try again (the store did not answer). */
static int check_anchor(struct daemon *d)
{
	struct fleetd *fd = d->fleet;
	struct auditlog_stats as;
	struct anchor_walk w;
	char key[FLEET_KEY_MAX], err[300], what[400];

	auditlog_get_stats(d->audit.log, &as);
	memset(&w, 0, sizeof(w));
	w.open_seq = as.open_seq;
	w.open_head = as.open_head;
	fleetval_node_key_of(fd->self, 'h', key);
	if (fleet_history(fd->f, key, anchor_one, &w, err, sizeof(err)) != 0)
		return -1;
	fd->anchor_checked = 1;
	fd->anchor_seq = w.max_seq;
	fd->local_seq = as.open_seq;
	if (w.max_seq > as.open_seq)
		snprintf(what, sizeof(what),
			 "ends at seq %" PRIu64
			 " but this node published seq %" PRIu64
			 ": the log's tail is gone (cut, or restored from an "
			 "old copy)",
			 as.open_seq, w.max_seq);
	else if (w.changed)
		snprintf(what, sizeof(what),
			 "its seq %" PRIu64 " is not the record this node "
			 "published (revision %" PRIu64
			 "): the log was changed",
			 as.open_seq, w.rev);
	else if (w.deleted || w.down)
		snprintf(what, sizeof(what),
			 "its anchor in the bucket was %s at revision %" PRIu64
			 " (with this node's or an admin's credentials): what "
			 "the log lost cannot be told",
			 w.deleted ? "deleted" : "moved back", w.rev);
	else
		return 0;
	fd->anchor_behind = 1;
	log_warnx("AUDIT: this node's log %s; its head is no longer written "
		  "to the bucket until `skyfencectl fleet clear`",
		  what);
	snprintf(err, sizeof(err), "audit log against its anchor: %.250s",
		 what);
	auditrec_change(&d->audit, -1, err);
	fd->report_now = 1;
	return 0;
}

static void on_node(struct daemon *d, const struct fleet_entry *e, int kind,
		    const char *id)
{
	struct fleetd *fd = d->fleet;
	struct fleetd_node *n = node_of(fd, id);
	char err[300];

	if (!n)
		return;
	n->self = !strcmp(id, d->audit.node);
	if (kind == 's') {
		struct fleet_status st;

		if (e->deleted || e->rev <= n->rev ||
		    fleetval_status_decode(e->val, e->len, &st, err,
					   sizeof(err)) != 0)
			return;
		/* the first report seen may be an old one (a node gone
		 * long ago): alive once a newer one comes */
		if (n->rev)
			n->seen_ms = mono_ms();
		n->st = st;
		n->rev = e->rev;
		return;
	}
	{
		struct fleet_head h;

		/* a head deleted or moved back: what that node's log lost
		 * could be hidden (every node watching sees it) */
		if (e->deleted || e->rev <= n->head_rev) {
			if (e->deleted && n->head_seq && !n->anchor_alarm) {
				n->anchor_alarm = 1;
				log_warnx("AUDIT: node %s's audit anchor was "
					  "deleted (revision %" PRIu64 ")",
					  id, e->rev);
			}
			return;
		}
		if (fleetval_head_decode(e->val, e->len, &h, err,
					 sizeof(err)) != 0)
			return;
		if (h.seq < n->head_seq && !n->anchor_alarm) {
			n->anchor_alarm = 1;
			log_warnx(
				"AUDIT: node %s's audit anchor moved back from "
				"seq %" PRIu64 " to %" PRIu64
				" (revision %" PRIu64 ")",
				id, n->head_seq, h.seq, e->rev);
		}
		n->head_seq = h.seq;
		n->head_rev = e->rev;
	}
}

void fleetd_input(struct daemon *d)
{
	struct fleet_entry e;
	char id[FLEET_NODE_MAX + 1];
	unsigned n = 0;

	if (!d->fleet)
		return;
	/* bounded per turn: the loop serves the others too */
	while (n++ < 256 && fleet_next(d->fleet->f, &e)) {
		int kind;

		if (!strcmp(e.key, FLEET_KEY_POLICY))
			on_policy(d, &e);
		else if (!strcmp(e.key, FLEET_KEY_KILLSWITCH))
			on_killswitch(d, &e);
		else if ((kind = fleetval_node_key(e.key, id)))
			on_node(d, &e, kind, id);
		free(e.val);
	}
}

/* ---- writing ---- */

/* "on" for @apps in the bucket: the union with what it holds, written
 * with compare-and-set, again if another write came first. FLEET_OK with
 * the revision and the apps written, or an enum fleet_err. */
static int write_on(struct fleetd *fd, const char *node, long uid,
		    const char *apps, uint64_t *rev,
		    char out[FLEET_APPS_MAX + 1], char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < KS_TRIES; i++) {
		struct fleet_entry e;
		struct fleet_ks cur, k;
		char val[FLEET_APPS_MAX + 2 * FLEET_NODE_MAX + 64], why[200];
		uint64_t last = 0;
		int r = fleet_get(fd->f, FLEET_KEY_KILLSWITCH, &e, err, errlen);
		int n;

		if (r < 0)
			return r;
		memset(&cur, 0, sizeof(cur));
		if (r == 1) {
			last = e.rev;
			if (!e.deleted &&
			    fleetval_ks_decode(e.val, e.len, &cur, why,
					       sizeof(why)) != 0)
				cur.apps[0] = '\0'; /* unreadable: replaced */
			free(e.val);
		}
		memset(&k, 0, sizeof(k));
		if (fleetval_apps_union(cur.apps, apps, k.apps) != 0) {
			snprintf(err, errlen,
				 "too many apps for the kill switch");
			return FLEET_E_OTHER;
		}
		/* written even when already on: the revision moves, so an
		 * off made on the one read loses (a concurrent on and off
		 * end on), and a stale read fails the compare-and-set */
		snprintf(k.by, sizeof(k.by), "%s", node);
		k.uid = uid;
		n = fleetval_ks_encode(&k, val, sizeof(val));
		if (n < 0) {
			snprintf(err, errlen, "the kill switch's value");
			return FLEET_E_OTHER;
		}
		r = fleet_update(fd->f, FLEET_KEY_KILLSWITCH, val, (size_t)n,
				 last, rev, err, errlen);
		if (r == FLEET_OK) {
			memcpy(out, k.apps, sizeof(k.apps));
			return FLEET_OK;
		}
		if (r != FLEET_E_CONFLICT)
			return r;
	}
	snprintf(err, errlen,
		 "the kill switch kept changing under %d writes; retried",
		 KS_TRIES);
	return FLEET_E_TIMEOUT;
}

/* The bucket's kill switch, in words, for a conflict's message. */
static void ks_now(struct fleetd *fd, char *out, size_t len)
{
	struct fleet_entry e;
	struct fleet_ks k;
	char err[200];
	int r = fleet_get(fd->f, FLEET_KEY_KILLSWITCH, &e, err, sizeof(err));

	if (r != 1) {
		snprintf(out, len, "%s", r == 0 ? "none" : err);
		return;
	}
	if (e.deleted ||
	    fleetval_ks_decode(e.val, e.len, &k, err, sizeof(err)) != 0)
		snprintf(out, len, "revision %" PRIu64 ": %s", e.rev,
			 e.deleted ? "deleted" : err);
	else
		snprintf(out, len, "revision %" PRIu64 " by %s uid %ld: %s%s",
			 e.rev, k.by, k.uid, k.apps[0] ? "on for " : "off",
			 k.apps);
	free(e.val);
}

/* killswitch on (not --local): on here at once, as not yet written,
 * then written as a union. 1: written (the caller applies and says so);
 * 0: done, not written (@msg says why and what runs); -1: refused. */
static int ks_on(struct daemon *d, long uid, const char *apps, char *msg,
		 size_t msglen)
{
	struct fleetd *fd = d->fleet;
	char err[600], now[700], written[FLEET_APPS_MAX + 1];
	char old_p[FLEET_APPS_MAX + 1];
	uint64_t rev = 0;
	int r;

	memcpy(old_p, fd->pending_ks, sizeof(old_p));
	if (fleetval_apps_union(fd->pending_ks, apps, fd->pending_ks) != 0) {
		snprintf(msg, msglen,
			 "too many apps for the kill switch; nothing changed");
		return -1;
	}
	if (apply_ks(d, CHANGE_CLIENT, uid,
		     "here at once; being written to the fleet", err,
		     sizeof(err)) != 0) {
		memcpy(fd->pending_ks, old_p, sizeof(old_p));
		snprintf(msg, msglen, "%s; nothing changed", err);
		return -1;
	}
	save(d);
	fd->report_now = 1;
	r = write_on(fd, d->audit.node, uid, apps, &rev, written, err,
		     sizeof(err));
	if (r == FLEET_OK) {
		if (rev > fd->ks_rev) {
			snprintf(fd->fleet_ks, sizeof(fd->fleet_ks), "%s",
				 written);
			fd->ks_rev = rev;
			if (rev > fd->bucket_ks_rev)
				fd->bucket_ks_rev = rev;
			drop_conflicts(fd, 'k');
		}
		fleetval_apps_minus(fd->pending_ks, apps, fd->pending_ks);
		snprintf(now, sizeof(now),
			 "killswitch on for %s written to the fleet: revision "
			 "%" PRIu64 " (on for %s)",
			 apps, rev, written);
		auditrec_change(&d->audit, uid, now);
		return 1;
	}
	if (r == FLEET_E_NOADMIN || r == FLEET_E_DENIED) {
		/* never written: this node's own, and it says so */
		fleetval_apps_minus(fd->pending_ks, apps, fd->pending_ks);
		if (fleetval_apps_union(fd->local_ks, apps, fd->local_ks) != 0)
			/* stays as not written: still on here */
			fleetval_apps_union(fd->pending_ks, apps,
					    fd->pending_ks);
	}
	save(d);
	snprintf(msg, msglen, "killswitch on for %s here now; %s: %s",
		 d->run.pol->killswitch,
		 r == FLEET_E_NOADMIN || r == FLEET_E_DENIED
			 ? "kept to this node (not the fleet's)"
			 : "written to the fleet when its store can be reached",
		 err);
	return 0;
}

/* killswitch off (not --local): only against the revision applied here
 * (or one refused here, the bucket's latest), so that it wins over an
 * "on" this node has seen, never over one it has not. 1: written; -1:
 * refused, @msg says why. */
static int ks_off(struct daemon *d, long uid, const char *apps, char *msg,
		  size_t msglen)
{
	struct fleetd *fd = d->fleet;
	char val[FLEET_APPS_MAX + 2 * FLEET_NODE_MAX + 64];
	char err[600], now[700];
	struct fleet_ks k;
	uint64_t rev = 0;
	int n, r;

	if (!fleet_has_admin(fd->f)) {
		snprintf(msg, msglen,
			 "this node holds no admin credentials for the fleet: "
			 "the fleet's kill switch stays (killswitch off "
			 "--local lifts this node's own)");
		return -1;
	}
	memset(&k, 0, sizeof(k));
	fleetval_apps_minus(fd->fleet_ks, apps, k.apps);
	snprintf(k.by, sizeof(k.by), "%s", d->audit.node);
	k.uid = uid;
	n = fleetval_ks_encode(&k, val, sizeof(val));
	r = n < 0 ? FLEET_E_OTHER
		  : fleet_update(fd->f, FLEET_KEY_KILLSWITCH, val, (size_t)n,
				 fd->refused_ks_rev > fd->ks_rev
					 ? fd->refused_ks_rev
					 : fd->ks_rev,
				 &rev, err, sizeof(err));
	if (r == FLEET_E_CONFLICT) {
		ks_now(fd, now, sizeof(now));
		add_conflict(fd, 'c',
			     "killswitch off%s%s by uid %ld here, made on "
			     "revision %" PRIu64
			     ", not written: the fleet's is now %s",
			     apps[0] ? " " : "", apps, uid, fd->ks_rev, now);
		snprintf(msg, msglen,
			 "conflict: the fleet's kill switch changed since this "
			 "node applied revision %" PRIu64
			 " (now %s); an off is written only over an on it has "
			 "seen: nothing changed anywhere",
			 fd->ks_rev, now);
		return -1;
	}
	if (r != FLEET_OK) {
		snprintf(msg, msglen,
			 r == FLEET_E_TIMEOUT
				 ? "%s: the off may or may not be written "
				   "(skyfencectl fleet shows which); the kill "
				   "switch stays on here until the bucket says "
				   "off"
				 : "%s: the kill switch stays on (an off needs "
				   "the fleet's store; killswitch off --local "
				   "lifts this node's own)",
			 err);
		return -1;
	}
	memcpy(fd->fleet_ks, k.apps, sizeof(k.apps));
	fd->ks_rev = rev;
	if (rev > fd->bucket_ks_rev)
		fd->bucket_ks_rev = rev;
	fleetval_apps_minus(fd->pending_ks, apps, fd->pending_ks);
	return 1;
}

int fleetd_killswitch(struct daemon *d, long uid, int on, int local,
		      const char *apps, char *msg, size_t msglen)
{
	struct fleetd *fd = d->fleet;
	char err[600], note[64];
	char old_l[FLEET_APPS_MAX + 1], old_p[FLEET_APPS_MAX + 1];
	int r;

	if (!fleetval_apps_ok(apps) || (on && !apps[0])) {
		snprintf(msg, msglen,
			 "'%.100s': apps are words of letters, digits, '_', "
			 "'-' or '.'",
			 apps);
		return -1;
	}
	memcpy(old_l, fd->local_ks, sizeof(old_l));
	memcpy(old_p, fd->pending_ks, sizeof(old_p));
	if (local && on &&
	    fleetval_apps_union(fd->local_ks, apps, fd->local_ks) != 0) {
		snprintf(msg, msglen,
			 "too many apps for the kill switch; nothing changed");
		return -1;
	} else if (local && !on) {
		fleetval_apps_minus(fd->local_ks, apps, fd->local_ks);
	} else if (!local) {
		r = on ? ks_on(d, uid, apps, msg, msglen)
		       : ks_off(d, uid, apps, msg, msglen);
		if (r <= 0)
			return r;
	}
	snprintf(note, sizeof(note), "fleet revision %" PRIu64, fd->ks_rev);
	if (apply_ks(d, CHANGE_CLIENT, uid, local ? "this node only" : note,
		     err, sizeof(err)) != 0) {
		memcpy(fd->local_ks, old_l, sizeof(old_l));
		memcpy(fd->pending_ks, old_p, sizeof(old_p));
		snprintf(msg, msglen, "%s; nothing changed here", err);
		return -1;
	}
	save(d);
	fd->report_now = 1;
	if (local)
		snprintf(msg, msglen,
			 "this node's own kill switch %s%s; running: %s%s",
			 fd->local_ks[0] ? "on for " : "off", fd->local_ks,
			 d->run.pol->killswitch[0] ? "on for " : "off",
			 d->run.pol->killswitch);
	else
		snprintf(msg, msglen,
			 "the fleet's kill switch %s%s (revision %" PRIu64
			 "); running here: %s%s",
			 fd->fleet_ks[0] ? "on for " : "off", fd->fleet_ks,
			 fd->ks_rev,
			 d->run.pol->killswitch[0] ? "on for " : "off",
			 d->run.pol->killswitch);
	return 0;
}

/* A document made here not written: another came first. Both versions
 * said, to the admin and as a conflict. -1. */
static int doc_conflict(struct fleetd *fd, long uid, const char *what,
			char *msg, size_t msglen)
{
	struct fleet_entry e;
	struct fleet_policy h;
	char now[FLEET_WHAT_MAX + 200], why[200] = "";
	int g = fleet_get(fd->f, FLEET_KEY_POLICY, &e, why, sizeof(why));

	if (g == 1 && !e.deleted &&
	    fleetval_policy_decode(e.val, e.len, &h, why, sizeof(why)) == 0)
		snprintf(now, sizeof(now),
			 "revision %" PRIu64 " by %s uid %ld: %s", e.rev, h.by,
			 h.uid, h.what);
	else if (g == 1)
		snprintf(now, sizeof(now),
			 "revision %" PRIu64 ", which this node cannot read "
			 "(%s)",
			 e.rev, why);
	else
		snprintf(now, sizeof(now), "not readable (%s)", why);
	if (g == 1)
		free(e.val);
	add_conflict(fd, 'c',
		     "'%s' by uid %ld here, made on revision %" PRIu64
		     ", not written: the fleet's policy is now %s",
		     what, uid, fd->policy_rev, now);
	snprintf(msg, msglen,
		 "conflict: the fleet's policy is now %s; this node's change "
		 "'%s' was made on revision %" PRIu64
		 " and is written nowhere: run it again once this node runs "
		 "the latest (skyfencectl fleet)",
		 now, what, fd->policy_rev);
	return -1;
}

/* The text of a document made here, checked as the fleet's: parsed
 * whole, no kill switch of its own, the signatures this node runs. A
 * client's whole file (@whole) is checked as a client's; an edit of the
 * running document as the running policy is (a temporary rule in it that
 * expired is kept). 0, or -1 with why in @msg. */
static int doc_valid(struct daemon *d, const char *what, int whole,
		     const char *text, size_t len,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     char *msg, size_t msglen)
{
	unsigned nerr = 0;
	struct policy *np =
		whole ? loader_client_policy(d->run.cls, d->run.pol, what, text,
					     len, on_error, ctx, &nerr)
		      : loader_running_policy(d->run.cls, d->run.pol, what,
					      text, len, on_error, ctx, &nerr);

	if (!np) {
		snprintf(msg, msglen,
			 "%s: %u error(s); nothing changed anywhere", what,
			 nerr);
		return -1;
	}
	if (np->killswitch[0] ||
	    strcmp(np->signatures, d->run.pol->signatures) != 0) {
		snprintf(msg, msglen,
			 np->killswitch[0]
				 ? "%s has a killswitch statement: a fleet's "
				   "kill switch is a key of its own "
				   "(skyfencectl killswitch on); nothing "
				   "changed anywhere"
				 : "%s names another signatures file than the "
				   "one this node runs; nothing changed "
				   "anywhere",
			 what);
		policy_free(np);
		return -1;
	}
	policy_free(np);
	return 0;
}

/* A document made here: validated whole, written with compare-and-set
 * against the revision applied here, then applied here. */
static int write_doc(struct daemon *d, long uid, const char *what, int whole,
		     const char *text, size_t len,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     char *msg, size_t msglen)
{
	struct fleetd *fd = d->fleet;
	struct fleet_policy p;
	char err[600], note[200], awhat[FLEET_WHAT_MAX + 64];
	uint64_t rev = 0;
	size_t vlen = 0;
	char *val;
	int r;

	if (doc_valid(d, what, whole, text, len, on_error, ctx, msg, msglen) !=
	    0)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.by, sizeof(p.by), "%s", d->audit.node);
	p.uid = uid;
	snprintf(p.what, sizeof(p.what), "%s", what);
	/* an edit is made on the revision applied here; a whole document
	 * (policy load) on the latest this node has seen, a revision it
	 * refused included: it replaces that one, which nobody here could
	 * run (the admin sees it as a conflict first) */
	p.base = whole && fd->refused_policy_rev > fd->policy_rev
			 ? fd->refused_policy_rev
			 : fd->policy_rev;
	p.text = text;
	p.len = len;
	val = fleetval_policy_encode(&p, &vlen, err, sizeof(err));
	if (!val) {
		snprintf(msg, msglen, "%s: %s; nothing changed anywhere", what,
			 err);
		return -1;
	}
	r = fleet_update(fd->f, FLEET_KEY_POLICY, val, vlen, p.base, &rev, err,
			 sizeof(err));
	free(val);
	if (r == FLEET_E_CONFLICT)
		return doc_conflict(fd, uid, what, msg, msglen);
	if (r != FLEET_OK) {
		snprintf(msg, msglen, "%s: %s; %s", what, err,
			 r == FLEET_E_TIMEOUT
				 ? "see skyfencectl fleet for whether it "
				   "arrived"
				 : "nothing changed anywhere");
		return -1;
	}
	/* written: applied here at once (the watch brings it again, and
	 * finds it applied) */
	{
		struct change c = { .kind = CHANGE_LOAD,
				    .origin = CHANGE_CLIENT,
				    .uid = uid,
				    .text = text,
				    .len = len };

		snprintf(note, sizeof(note), "fleet revision %" PRIu64, rev);
		snprintf(awhat, sizeof(awhat), "%s", what);
		c.what = awhat;
		c.note = note;
		if (change_apply(d, &c, on_error, ctx, err, sizeof(err)) != 0) {
			fd->refused_policy_rev = rev;
			add_conflict(fd, 'p',
				     "policy revision %" PRIu64
				     " written from here but refused here: %s",
				     rev, err);
			snprintf(msg, msglen,
				 "written to the fleet as revision %" PRIu64
				 " but refused here: %s",
				 rev, err);
			return -1;
		}
	}
	fd->policy_rev = rev;
	if (rev > fd->bucket_policy_rev)
		fd->bucket_policy_rev = rev;
	fd->refused_policy_rev = 0;
	d->run.from_fleet = 1;
	drop_conflicts(fd, 'p');
	snprintf(fd->policy_by, sizeof(fd->policy_by), "%s uid %ld: %s",
		 d->audit.node, uid, what);
	fd->report_now = 1;
	save(d);
	snprintf(msg, msglen,
		 "%s: written to the fleet as policy revision %" PRIu64
		 " and applied here; established flows follow (conntrack "
		 "walk)",
		 what, rev);
	return 0;
}

int fleetd_policy(struct daemon *d, long uid, const char *what,
		  const char *text, size_t len,
		  void (*on_error)(void *ctx, const char *msg), void *ctx,
		  char *msg, size_t msglen)
{
	char w[FLEET_WHAT_MAX + 1];

	snprintf(w, sizeof(w), "load %s", what);
	return write_doc(d, uid, w, 1, text, len, on_error, ctx, msg, msglen);
}

int fleetd_edit(struct daemon *d, long uid, const char *what,
		void (*on_error)(void *ctx, const char *msg), void *ctx,
		char *msg, size_t msglen)
{
	char err[600];
	char *text = change_edit_text(d, what, err, sizeof(err));
	int r;

	if (!text) {
		snprintf(msg, msglen, "%s; nothing changed anywhere", err);
		return -1;
	}
	r = write_doc(d, uid, what, 0, text, strlen(text), on_error, ctx, msg,
		      msglen);
	free(text);
	return r;
}

int fleetd_init_bucket(struct daemon *d, int replicas, char *msg, size_t msglen)
{
	char err[512];
	int r = fleet_create_bucket(d->fleet->f, replicas, err, sizeof(err));

	if (r != FLEET_OK) {
		snprintf(msg, msglen, "bucket %s: %s",
			 fleet_bucket(d->fleet->f), err);
		return -1;
	}
	snprintf(msg, msglen, "bucket %s ready (%d replica%s, history 64)",
		 fleet_bucket(d->fleet->f), replicas, replicas == 1 ? "" : "s");
	return 0;
}

int fleetd_clear_conflicts(struct daemon *d, long uid, char *msg, size_t msglen)
{
	struct fleetd *fd = d->fleet;
	char what[200];

	snprintf(what, sizeof(what), "fleet clear: %u conflict(s)%s cleared",
		 fd->n_conflicts,
		 fd->anchor_behind ? " and the audit anchor's alarm" : "");
	auditrec_change(&d->audit, uid, what);
	log_info("control: uid %ld: %s", uid, what);
	fd->n_conflicts = 0;
	for (unsigned i = 0; i < fd->n_nodes; i++)
		fd->nodes[i].anchor_alarm = 0;
	/* a bucket made again: its revisions are taken from the start, as
	 * the bucket holds them (an admin's decision: this command) */
	if ((fd->refused_policy_rev &&
	     fd->refused_policy_rev < fd->policy_rev) ||
	    (fd->refused_ks_rev && fd->refused_ks_rev < fd->ks_rev)) {
		fd->policy_rev = fd->ks_rev = 0;
		fd->bucket_policy_rev = fd->bucket_ks_rev = 0;
		save(d);
	}
	if (fd->anchor_behind) {
		fd->anchor_behind = 0;
		fd->head_sent_seq = 0;
	}
	fd->refused_policy_rev = fd->refused_ks_rev = 0;
	/* every key's latest again: a revision refused before is tried
	 * again */
	fleet_rewatch(fd->f);
	fd->report_now = 1;
	snprintf(msg, msglen, "%s", what);
	return 0;
}

/* ---- every second ---- */

static void health(const struct daemon *d, char *out, size_t len)
{
	const struct fleetd *fd = d->fleet;
	size_t o = 0;

	out[0] = '\0';
	if (fd->anchor_behind)
		o += (size_t)snprintf(out + o, len - o, "%saudit-behind-anchor",
				      o ? " " : "");
	if (d->run.state_dirty && o < len)
		o += (size_t)snprintf(out + o, len - o, "%sstate-not-saved",
				      o ? " " : "");
	if (fd->pending_ks[0] && o < len)
		o += (size_t)snprintf(out + o, len - o,
				      "%skillswitch-not-written", o ? " " : "");
	if (!out[0])
		snprintf(out, len, "ok");
}

static void report(struct daemon *d)
{
	struct fleetd *fd = d->fleet;
	struct fleet_status s;
	char val[8192];
	unsigned i;

	memset(&s, 0, sizeof(s));
	s.beat = ++fd->beat;
	s.policy_rev = fd->policy_rev;
	s.ks_rev = fd->ks_rev;
	snprintf(s.ks, sizeof(s.ks), "%s", fd->fleet_ks);
	if (fleetval_apps_union(fd->local_ks, fd->pending_ks, s.local) != 0)
		snprintf(s.local, sizeof(s.local), "%s", fd->local_ks);
	snprintf(s.digest, sizeof(s.digest), "%s", d->run.digest);
	health(d, s.health, sizeof(s.health));
	s.n_conflicts = fd->n_conflicts;
	for (i = 0; i < fd->n_conflicts; i++)
		memcpy(s.conflict[i], fd->conflict[i], sizeof(s.conflict[i]));
	if (fleetval_status_encode(&s, val, sizeof(val)) < 0) {
		log_limited(&fd->warn, mono_ms(),
			    "fleet: this node's report does not encode");
		return;
	}
	fleet_set_status(fd->f, val);
}

static void write_pending(struct daemon *d)
{
	struct fleetd *fd = d->fleet;
	char err[600], written[FLEET_APPS_MAX + 1];
	struct fleet_stats fs;
	uint64_t rev = 0;
	int r;

	fleet_get_stats(fd->f, &fs);
	if (fs.admin_connected != 1)
		return;
	r = write_on(fd, d->audit.node, -1, fd->pending_ks, &rev, written, err,
		     sizeof(err));
	if (r != FLEET_OK) {
		log_limited(&fd->warn, mono_ms(),
			    "fleet: the kill switch on for %s made here is "
			    "not written yet: %s",
			    fd->pending_ks, err);
		if (r == FLEET_E_NOADMIN || r == FLEET_E_DENIED) {
			if (fleetval_apps_union(fd->local_ks, fd->pending_ks,
						fd->local_ks) == 0)
				fd->pending_ks[0] = '\0';
			save(d);
		}
		return;
	}
	log_warnx("fleet: the kill switch on for %s made here while the "
		  "store could not be reached is written (revision %" PRIu64
		  ")",
		  fd->pending_ks, rev);
	if (rev > fd->ks_rev) {
		snprintf(fd->fleet_ks, sizeof(fd->fleet_ks), "%s", written);
		fd->ks_rev = rev;
		if (rev > fd->bucket_ks_rev)
			fd->bucket_ks_rev = rev;
	}
	fd->pending_ks[0] = '\0';
	if (apply_ks(d, CHANGE_FLEET, -1, "written after a partition", err,
		     sizeof(err)) != 0)
		log_warnx("fleet: %s", err);
	save(d);
	fd->report_now = 1;
}

static void write_head(struct daemon *d, uint64_t now)
{
	struct fleetd *fd = d->fleet;
	struct auditlog_stats as;
	struct fleet_head h;
	char val[256];

	if (!fd->anchor_checked || fd->anchor_behind || now < fd->next_head_ms)
		return;
	auditlog_get_stats(d->audit.log, &as);
	if (as.seq == 0 ||
	    (as.seq == fd->head_sent_seq && !strcmp(as.head, fd->head_sent)))
		return;
	h.seq = as.seq;
	snprintf(h.sha256, sizeof(h.sha256), "%s", as.head);
	if (fleetval_head_encode(&h, val, sizeof(val)) < 0)
		return;
	fleet_set_head(fd->f, val);
	fd->head_sent_seq = as.seq;
	snprintf(fd->head_sent, sizeof(fd->head_sent), "%s", as.head);
	fd->next_head_ms = now + FLEETD_REPORT_MS;
}

void fleetd_tick(struct daemon *d)
{
	struct fleetd *fd = d->fleet;
	struct fleet_stats fs;
	uint64_t now = mono_ms();

	if (!fd)
		return;
	fleet_get_stats(fd->f, &fs);
	/* the watch gave every key's latest: a head this node published
	 * before would have come with it */
	if (fs.watching && !fs.queued && !fd->anchor_checked &&
	    now >= fd->next_anchor_ms) {
		if (check_anchor(d) != 0)
			fd->next_anchor_ms = now + 5000;
	}
	if (fd->pending_ks[0])
		write_pending(d);
	if (fd->report_now || now >= fd->next_report_ms) {
		report(d);
		fd->report_now = 0;
		fd->next_report_ms = now + FLEETD_REPORT_MS;
	}
	write_head(d, now);
}

/* ---- what status and `fleet` read ---- */

static enum fleetd_state state_of(const struct fleetd *fd,
				  const struct fleetd_node *n, uint64_t now)
{
	if (!n->seen_ms || now - n->seen_ms > FLEETD_SILENT_MS)
		return FLEETD_SILENT;
	if (n->st.n_conflicts || n->anchor_alarm)
		return FLEETD_CONFLICT;
	if (n->st.policy_rev < fd->bucket_policy_rev ||
	    n->st.ks_rev < fd->bucket_ks_rev)
		return FLEETD_BEHIND;
	return FLEETD_OK;
}

void fleetd_get_view(struct daemon *d, struct fleetd_view *v)
{
	struct fleetd *fd = d->fleet;
	uint64_t now = mono_ms();
	unsigned i;

	memset(v, 0, sizeof(*v));
	if (!fd)
		return;
	fleet_get_stats(fd->f, &v->fs);
	v->bucket = fleet_bucket(fd->f);
	v->url = v->fs.server[0] ? v->fs.server : fleet_urls(fd->f);
	v->node = d->audit.node;
	v->policy_rev = fd->policy_rev;
	v->ks_rev = fd->ks_rev;
	v->bucket_policy_rev = fd->bucket_policy_rev;
	v->bucket_ks_rev = fd->bucket_ks_rev;
	v->fleet_ks = fd->fleet_ks;
	v->local_ks = fd->local_ks;
	v->pending_ks = fd->pending_ks;
	v->policy_by = fd->policy_by;
	v->n_conflicts = fd->n_conflicts;
	for (i = 0; i < fd->n_conflicts; i++)
		v->conflict[i] = fd->conflict[i];
	v->anchor_behind = fd->anchor_behind;
	v->anchor_seq = fd->anchor_seq;
	v->local_seq = fd->local_seq;
	v->has_admin = fleet_has_admin(fd->f);
	{
		/* this node: what it runs now, not its last report */
		struct fleetd_node *me = node_of(fd, d->audit.node);

		if (me) {
			me->self = 1;
			me->seen_ms = now;
			me->st.policy_rev = fd->policy_rev;
			me->st.ks_rev = fd->ks_rev;
			snprintf(me->st.ks, sizeof(me->st.ks), "%s",
				 fd->fleet_ks);
			if (fleetval_apps_union(fd->local_ks, fd->pending_ks,
						me->st.local) != 0)
				snprintf(me->st.local, sizeof(me->st.local),
					 "%s", fd->local_ks);
			snprintf(me->st.digest, sizeof(me->st.digest), "%s",
				 d->run.digest);
			health(d, me->st.health, sizeof(me->st.health));
			me->st.n_conflicts = fd->n_conflicts;
			memcpy(me->st.conflict, fd->conflict,
			       sizeof(me->st.conflict));
		}
	}
	for (i = 0; i < fd->n_nodes; i++) {
		struct fleetd_node *n = &fd->nodes[i];

		n->state = state_of(fd, n, now);
	}
	v->n_nodes = fd->n_nodes;
	v->nodes = fd->nodes;
}
