/* runtime.c - the only code that changes skyfenced's shared state: a
 * policy applied (the kernel's fail-closed and allow-only sets, the
 * shaper's buckets, the engine, a conntrack walk, the state file), the
 * kill switch, SIGHUP's reload, the state restored at start, and the
 * conntrack re-decision of established flows (runtime.h). */
#include "daemon/runtime.h"
#include "policy/addrsig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/stats.h"
#include "daemon/worker.h"
#include "daemon/buckets.h"
#include "identity/idtab.h"
#include "kernel/fcset.h"
#include "policy/loader.h"
#include "policy/window.h"
#include "sys/log.h"
#include "sys/safedir.h"
#include "core/verdict.h"

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t runtime_clock_ms(int realtime)
{
	return clock_ms(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
}

int64_t runtime_sched_ms(const struct daemon *d)
{
	return (int64_t)clock_ms(CLOCK_REALTIME) + d->o->clock_offset * 1000;
}

int64_t runtime_sched_now(const struct daemon *d)
{
	int64_t ms = runtime_sched_ms(d);

	return ms / 1000 - (ms % 1000 < 0);
}

int runtime_seed(uint64_t *seed)
{
	ssize_t n;

	/* no fallback to the clock or the pid: a seed an attacker can guess
	 * lets a flood of flows aim at one hash bucket */
	do
		n = getrandom(seed, sizeof(*seed), 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*seed) ? 0 : -1;
}

int runtime_map_buckets(struct daemon *d, const struct policy *p)
{
	struct bucket_map *nm;
	int rc = throttle_map(d->th, p, &nm);

	if (rc != 0)
		return rc;
	throttle_swap(d->th, nm);
	return 0;
}

/* What a worker takes in its own thread (worker_call): a policy with its
 * bucket map, a kill switch, an engine on a new nDPI module. */
struct adopt {
	const struct policy *pol;
	const struct bucket_map *bm;
	int kill_set;
	const struct policy *kill;
	struct engine **eng; /* per worker, or NULL */
	struct classifier **cls;
	/* the new policy's windows, set before its rules */
	int win_set;
	uint64_t win_mask;
	int64_t win_at;
};

static const struct policy_rule *kill_rules(const struct policy *k)
{
	return k ? k->depts[0].rules : NULL;
}

static uint32_t kill_n(const struct policy *k)
{
	return k ? k->depts[0].n_rules : 0;
}

static void adopt(struct worker *w, void *arg)
{
	const struct adopt *a = arg;

	if (a->eng) {
		/* its flows' nDPI state is the old module's: they end */
		engine_flush(w->eng);
		engine_destroy(w->eng);
		classifier_close(w->cls);
		w->eng = a->eng[w->idx];
		w->cls = a->cls[w->idx];
		/* the queue may be backing up: the new engine reads as the
		 * old did; its memory is put in place in idle time */
		worker_overload_apply(w);
		w->warm = 1;
	}
	if (a->pol) {
		stats_remap(w->sc.apps, a->pol);
		w->pol = a->pol;
		w->bm = a->bm;
	}
	if (a->win_set)
		engine_stage_windows(w->eng, a->win_mask, a->win_at);
	/* the worker's flows decided again, once for both */
	if (a->pol && a->kill_set)
		engine_set_rules(w->eng, a->pol, kill_rules(a->kill),
				 kill_n(a->kill));
	else if (a->pol)
		engine_set_policy(w->eng, a->pol);
	else if (a->kill_set)
		engine_set_killswitch(w->eng, kill_rules(a->kill),
				      kill_n(a->kill));
}

/* What this daemon knows of the kernel's sets (one daemon, one pair of
 * each): @sets_stale, the last write failed (the refresh writes them until
 * one succeeds); @allow_written, the allow-only sets may hold a prefix
 * (written from a policy with an allow-only department, and neither
 * emptied nor written since). */
static int sets_stale, allow_written;

/* After a change: a word in the log when the lean dissector set no longer
 * serves the policy (skyfenced.8, --dissectors). */
static void lean_note(const struct daemon *d)
{
	if (worker_lean_short(d))
		log_warnx("the policy or kill switch names a protocol the lean "
			  "dissector set lacks: every new flow is read by all "
			  "dissectors until skyfenced restarts or reloads its "
			  "signatures; flows already read keep their labels");
}

/* fcset_apply() for @p, and what the kernel's sets are now. */
static int write_sets(struct daemon *d, const struct policy *p, char *err,
		      size_t errlen)
{
	int rc = fcset_apply(p, d->o->queue_num, err, errlen);

	sets_stale = rc < 0;
	if (rc >= 0)
		allow_written = policy_has_allow_only(p);
	else if (rc == -1)
		allow_written = 0; /* emptied */
	return rc;
}

int runtime_start_sets(struct daemon *d)
{
	char err[256];
	int rc = write_sets(d, d->run.pol, err, sizeof(err));

	if (rc < 0 && policy_has_fail_closed(d->run.pol)) {
		log_warnx("fail-closed departments: %s (is ipset available?); "
			  "not starting",
			  err);
		return -1;
	}
	if (rc == -2)
		log_warnx("allow-only departments: %s; the sets %s and %s "
			  "could not be emptied either: hosts an earlier "
			  "skyfenced put there pass uninspected (empty them: "
			  "ipset flush)",
			  err, ALLOWSET_V4, ALLOWSET_V6);
	else if (rc < 0)
		log_warnx("fail-closed and allow-only departments: %s (the "
			  "policy has no fail-closed one; allow-only ones are "
			  "inspected)",
			  err);
	/* a policy with an allow-only department is refused while its sets
	 * cannot be written as it says (runtime_apply_policy) */
	if (rc == -2)
		allow_written = 1;
	return 0;
}

/* The sets are the kernel's: a hand-made flush, or skyfence-rules.sh down
 * and up while the daemon runs, would leave them empty and the department
 * fail-open (an allow-only one inspected). They are written again every
 * FCSET_REFRESH_S seconds. */
void runtime_refresh_fcset(struct daemon *d)
{
	char err[256];

	if (((sets_stale && allow_written) ||
	     policy_has_fail_closed(d->run.pol) ||
	     policy_has_allow_only(d->run.pol)) &&
	    write_sets(d, d->run.pol, err, sizeof(err)) < 0)
		log_limited(&d->bad_limit, d->now_ms,
			    "fail-closed and allow-only departments: %s", err);
}

struct policy *runtime_kill_rules(struct classifier *c, const char *apps,
				  void (*on_error)(void *ctx, const char *msg),
				  void *ctx)
{
	char text[8192];
	struct policy_names n;
	const char *s = apps;
	unsigned nerr;
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "default {\n");
	while (*s) {
		size_t w = strcspn(s, " ");

		/* names the parser took (a word or a protocol name); one
		 * that would end the rule does not resolve */
		if (memchr(s, ';', w) || memchr(s, '{', w) ||
		    memchr(s, '}', w) || memchr(s, '"', w) || memchr(s, '#', w))
			return NULL;
		if (w == 5 && !strncmp(s, "skype", 5))
			o += (size_t)snprintf(
				text + o, sizeof(text) - o,
				"\tskype drop confidence port;\n");
		else if (w)
			o += (size_t)snprintf(
				text + o, sizeof(text) - o,
				"\tprotocol \"%.*s\" drop confidence port;\n",
				(int)w, s);
		if (o >= sizeof(text))
			return NULL;
		s += w;
		s += strspn(s, " ");
	}
	snprintf(text + o, sizeof(text) - o, "}\n");
	loader_names(c, &n);
	return policy_parse_text("killswitch", text, strlen(text), &n, on_error,
				 ctx, &nerr);
}

void runtime_install_kill(struct daemon *d, struct policy *k)
{
	struct adopt a = { NULL, NULL, 1, k, NULL, NULL, 0, 0, 0 };

	workers_call(d, adopt, &a);
	engine_set_killswitch(d->run.eng, kill_rules(k), kill_n(k));
	/* no worker holds the old rules any more */
	policy_free(d->run.kill);
	d->run.kill = k;
}

/* runtime_error's text for -ENOTSUP: a daemon's mask never changes, so
 * the last refusal's text is every refusal's */
static char dscp_why[128];

/* Whether @p marks DSCP where the mark has no room for it (mark.h): the
 * kernel would never see the DSCP, the admin would think it does. */
static int dscp_refused(const struct daemon *d, const struct policy *p)
{
	if (!p->has_dscp || mark_has_dscp(&d->ml))
		return 0;
	snprintf(dscp_why, sizeof(dscp_why),
		 "mark dscp needs a mark mask of %d bits or more "
		 "(--mark-mask); this daemon's has %d",
		 MARK_DSCP_MIN_BITS, __builtin_popcount(d->ml.mask));
	return 1;
}

int runtime_apply_policy(struct daemon *d, struct policy *np)
{
	struct adopt a = { NULL, NULL, 0, NULL, NULL, NULL, 0, 0, 0 };
	struct policy *nk = NULL;
	struct bucket_map *nm;
	char err[256];
	int rc;

	if (dscp_refused(d, np)) {
		policy_free(np);
		return -ENOTSUP;
	}
	if (np->killswitch[0]) {
		nk = runtime_kill_rules(d->run.cls, np->killswitch, NULL, NULL);
		if (!nk) {
			policy_free(np);
			return -ENOMEM;
		}
	}
	/* the kernel's sets first, before the walk below: a policy whose
	 * fail-closed departments the kernel cannot hold is not applied;
	 * nor one while the kernel may still pass uninspected, by the
	 * running policy's allow-only set that could not be emptied, flows
	 * it would inspect */
	rc = write_sets(d, np, err, sizeof(err));
	if (rc < 0 &&
	    (policy_has_fail_closed(np) || policy_has_fail_closed(d->run.pol) ||
	     (rc == -2 && allow_written))) {
		log_warnx("fail-closed and allow-only departments: %s; the "
			  "running policy stays",
			  err);
		policy_free(nk);
		policy_free(np);
		return -EIO;
	}
	if (rc < 0)
		log_warnx("allow-only departments: %s; their flows are "
			  "inspected until the sets are written",
			  err);
	rc = throttle_map(d->th, np, &nm);
	if (rc != 0) {
		/* the sets back as the running policy has them, and the
		 * flows @np's allow-only set let by meanwhile inspected again
		 * if the running policy inspects them */
		if (write_sets(d, d->run.pol, err, sizeof(err)) < 0)
			log_warnx("fail-closed and allow-only departments: %s",
				  err);
		if (d->ct)
			ct_walk(d->ct);
		policy_free(nk);
		policy_free(np);
		return rc;
	}
	/* every worker takes the new policy, one after the other, each
	 * between two of its loop turns; the old one is freed after the
	 * last has */
	a.pol = np;
	a.bm = nm;
	a.kill_set = 1;
	a.kill = nk;
	/* the new policy's windows as they are now, before its first
	 * decision (its windows are its own: indices, zones) */
	a.win_set = 1;
	a.win_at = runtime_sched_now(d);
	a.win_mask = np->n_windows ? windows_mask_at(np->windows, np->n_windows,
						     a.win_at)
				   : 0;
	workers_call(d, adopt, &a);
	engine_stage_windows(d->run.eng, a.win_mask, a.win_at);
	engine_set_rules(d->run.eng, np, kill_rules(nk), kill_n(nk));
	throttle_swap(d->th, nm);
	/* no worker holds the old policy or kill switch rules any more */
	policy_free(d->run.kill);
	d->run.kill = nk;
	policy_free(d->run.pol);
	d->run.pol = np;
	/* the schedule takes this state as applied (sched.h) */
	d->run.win_mask = a.win_mask;
	d->run.win_at = a.win_at;
	d->run.win_gen++;
	auditrec_policy(&d->audit, d->run.pol, d->run.digest);
	lean_note(d);
	/* flows the kernel carries on its own follow the new decisions */
	if (d->ct)
		ct_walk(d->ct);
	runtime_save_state(d);
	return 0;
}

struct windows {
	uint64_t mask;
	int64_t at;
};

static void adopt_windows(struct worker *w, void *arg)
{
	const struct windows *ws = arg;

	engine_set_windows(w->eng, ws->mask, ws->at);
}

void runtime_set_windows(struct daemon *d, uint64_t mask, int64_t at)
{
	struct windows ws = { mask, at };

	workers_call(d, adopt_windows, &ws);
	engine_set_windows(d->run.eng, mask, at);
	/* "cut" rules reach the flows the kernel carries on its own */
	if (d->ct)
		ct_walk(d->ct);
}

static void adopt_clock(struct worker *w, void *arg)
{
	engine_set_clock(w->eng, *(const int64_t *)arg);
}

void runtime_set_clock(struct daemon *d, int64_t wall_minus_mono_ms)
{
	workers_call(d, adopt_clock, &wall_minus_mono_ms);
	if (d->run.eng)
		engine_set_clock(d->run.eng, wall_minus_mono_ms);
}

void runtime_engine_windows(const struct daemon *d, struct engine *e,
			    const struct policy *p)
{
	int64_t now_ms = runtime_sched_ms(d), now = runtime_sched_now(d);

	engine_set_clock(e, now_ms - (int64_t)runtime_clock_ms(0));
	engine_set_windows(
		e,
		p->n_windows ? windows_mask_at(p->windows, p->n_windows, now)
			     : 0,
		now);
}

static void adopt_ident(struct worker *w, void *arg)
{
	engine_set_identity(w->eng, arg);
}

void runtime_set_identity(struct daemon *d, struct id_snap *s)
{
	workers_call(d, adopt_ident, s);
	if (d->run.eng)
		engine_set_identity(d->run.eng, s);
	/* no engine holds the old one; flows keep their own records */
	id_snap_free(d->run.ids);
	d->run.ids = s;
	if (d->ct)
		ct_walk(d->ct);
}

/* The sets for the running policy after a kill switch change. Failing,
 * the switch applies all the same (it is the stricter state); emptied,
 * the allow-only sets pass nothing. */
static void set_kill_sets(struct daemon *d)
{
	char err[256];
	int rc = write_sets(d, d->run.pol, err, sizeof(err));

	if (rc == -2)
		log_warnx(
			"allow-only departments: %s; they could not be "
			"emptied: new flows of their hosts still pass "
			"uninspected, out of the kill switch's reach (retried "
			"every %d s)",
			err, FCSET_REFRESH_S);
	else if (rc < 0)
		log_warnx("fail-closed and allow-only departments: %s (retried "
			  "every %d s)",
			  err, FCSET_REFRESH_S);
}

int runtime_set_killswitch(struct daemon *d, const char *apps,
			   void (*on_error)(void *ctx, const char *msg),
			   void *ctx)
{
	struct policy *k = NULL;

	if (strlen(apps) >= sizeof(d->run.pol->killswitch))
		return -EINVAL;
	if (apps[0]) {
		k = runtime_kill_rules(d->run.cls, apps, on_error, ctx);
		if (!k)
			return -EINVAL;
	}
	runtime_install_kill(d, k);
	snprintf(d->run.pol->killswitch, sizeof(d->run.pol->killswitch), "%s",
		 apps);
	/* on, the allow-only sets empty (the kill switch drops in every
	 * department: none is allow-only); off, filled again; before the
	 * walk, which inspects again the flows they passed */
	set_kill_sets(d);
	auditrec_policy(&d->audit, d->run.pol, d->run.digest);
	lean_note(d);
	if (d->ct)
		ct_walk(d->ct);
	runtime_save_state(d);
	return 0;
}

int runtime_keep_killswitch(struct policy *np, const char *apps)
{
	char all[sizeof(np->killswitch)];
	const char *s = apps;
	int n = snprintf(all, sizeof(all), "%s", np->killswitch);

	while (*s) {
		size_t w = strcspn(s, " ");
		char one[sizeof(all)];

		snprintf(one, sizeof(one), "%.*s", (int)w, s);
		if (!policy_word_listed(all, one))
			n += snprintf(all + strlen(all),
				      sizeof(all) - strlen(all), "%s%s",
				      all[0] ? " " : "", one);
		if ((size_t)n >= sizeof(all))
			return -EINVAL;
		s += w;
		s += strspn(s, " ");
	}
	memcpy(np->killswitch, all, sizeof(all));
	return 0;
}

int runtime_save_state(struct daemon *d)
{
	char err[200];
	char *text;
	int was = d->run.state_dirty;

	if (d->run.state_dfd < 0)
		return 0;
	text = policy_format(d->run.pol);
	if (!text || state_save(d->run.state_dfd, text, d->run.base, err,
				sizeof(err)) != 0) {
		if (!text)
			snprintf(err, sizeof(err), "%s", strerror(ENOMEM));
		free(text);
		d->run.state_dirty = 1;
		snprintf(d->run.state_err, sizeof(d->run.state_err),
			 "%.300s/%s", d->o->state_dir, err);
		log_limited(&d->run.state_limit, d->now_ms,
			    "state: %s: the running policy is not saved (a "
			    "restart would undo its runtime changes); "
			    "retried every second",
			    d->run.state_err);
		return -1;
	}
	free(text);
	d->run.state_dirty = 0;
	d->run.state_err[0] = '\0';
	d->run.state_saved_ms = runtime_clock_ms(1);
	if (was)
		log_info("state: saved in %s/" STATE_FILE " after all",
			 d->o->state_dir);
	return 0;
}

const char *runtime_error(int rc)
{
	switch (rc) {
	case -EIO:
		return "the kernel's sets of fail-closed and allow-only hosts "
		       "could not be written (see the log)";
	case -ENOSPC:
		return "too many throttle rules (at most " MAX_THROTTLE_RULES_TEXT
		       ")";
	case -EINVAL:
		return "the kill switch's apps do not resolve or are too many";
	case -ENOTSUP:
		return dscp_why;
	default:
		return "out of memory";
	}
}

void runtime_log_line(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}

void runtime_log_notes(const struct policy *p)
{
	const char *s = p->notes;

	while (s && *s) {
		size_t n = strcspn(s, "\n");

		log_info("%.*s", (int)n, s);
		s += n;
		s += *s == '\n';
	}
	if (p->addrsig)
		log_info("%s: %u IPv4 and %u IPv6 address signatures, %u "
			 "domain(s), from %s%s%s",
			 p->source, p->addrsig->v4, p->addrsig->v6,
			 p->addrsig->n_names,
			 p->address_list[0] ? p->address_list : "",
			 p->address_list[0] && p->feed[0] ? " and " : "",
			 p->feed);
	if (p->feed[0] && (!p->addrsig || !p->addrsig->feed.present))
		log_warnx("%s: the feed's file %s is not written yet or has no "
			  "feed line (skyfence-endpoints(8)): Teams is known "
			  "from the address list and nDPI alone",
			  p->source, p->feed);
	else if (p->feed[0])
		log_info("%s: feed %s version %s", p->source,
			 p->addrsig->feed.instance, p->addrsig->feed.version);
}

/* The state directory, and the running policy saved there, restored
 * before the first verdict: if the --policy file is the one it was derived
 * from, the saved policy (runtime changes and kill switch) is the running
 * one; if the file changed since, the file's, with the saved kill switch
 * kept. A state file that cannot be trusted or parsed stops the start:
 * skipping it would silently undo a kill switch. */
int runtime_restore(struct daemon *d)
{
	const char *dir = d->o->state_dir;
	uint8_t base[STATE_DIGEST];
	struct policy_names n;
	struct policy *sp;
	char err[512], name[4200], *text;
	unsigned nerr = 0;
	size_t len;

	d->run.state_dfd = safedir_open(dir, 0700, getegid(), "state directory",
					"the saved policy", "--state-dir", err,
					sizeof(err));
	if (d->run.state_dfd < 0) {
		log_warnx("%s; not starting", err);
		return -1;
	}
	/* one daemon per state directory (one per queue with
	 * --queue-balance): held until the process ends, kill -9 included */
	if (flock(d->run.state_dfd, LOCK_EX | LOCK_NB) != 0) {
		log_warnx("state directory %s: %s; not starting (give each "
			  "skyfenced its own --state-dir)",
			  dir,
			  errno == EWOULDBLOCK ? "in use by another skyfenced"
					       : strerror(errno));
		return -1;
	}
	/* a fleet node's revisions applied before the stop (fleetd.h) */
	if (d->run.on_state_dir &&
	    d->run.on_state_dir(d, d->run.state_dfd) != 0)
		return -1;
	snprintf(name, sizeof(name), "%s/%s", dir, STATE_FILE);
	text = state_read(d->run.state_dfd, &len, base, err, sizeof(err));
	if (!text && errno == ENOENT)
		return 0; /* nothing saved: the policy file alone */
	if (text) {
		loader_names(d->run.cls, &n);
		n.internal = 1; /* the running policy, saved */
		sp = policy_parse_text(name, text, len, &n, runtime_log_line,
				       NULL, &nerr);
		free(text);
	} else {
		sp = NULL;
	}
	if (!sp) {
		char why[4400];

		if (nerr)
			snprintf(why, sizeof(why), "%s has %u error(s)", name,
				 nerr);
		else
			snprintf(why, sizeof(why), "%s/%s", dir, err);
		log_warnx("state: %s; not starting: move it away to start "
			  "from %s alone (losing the runtime changes and the "
			  "kill switch saved there)",
			  why, d->o->policy_path);
		return -1;
	}
	/* the fleet's policy is kept whatever the --policy file says: it
	 * is the revision this node applied */
	if ((d->run.from_fleet ||
	     memcmp(base, d->run.base, sizeof(base)) == 0) &&
	    strcmp(sp->signatures, d->run.pol->signatures) == 0) {
		snprintf(sp->source, sizeof(sp->source), "%s",
			 d->run.pol->source);
		policy_free(d->run.pol);
		d->run.pol = sp;
		log_info("state: the running policy restored from %s (runtime "
			 "changes kept%s%s)",
			 name, sp->killswitch[0] ? "; kill switch on for " : "",
			 sp->killswitch);
		return 0;
	}
	if (runtime_keep_killswitch(d->run.pol, sp->killswitch) != 0) {
		log_warnx("state: the kill switch saved in %s and the one of "
			  "%s together are too many apps; not starting",
			  name, d->o->policy_path);
		policy_free(sp);
		return -1;
	}
	log_warnx("state: %s changed since %s was saved: the department and "
		  "rule changes saved there are dropped%s%s",
		  d->o->policy_path, name,
		  sp->killswitch[0] ? "; its kill switch stays on for " : "",
		  sp->killswitch);
	policy_free(sp);
	return 0;
}

/* ---- conntrack walk ---- */

/* A flow the kernel passed uninspected (skyfence-rules.sh's
 * SKYFENCE-ALLOW) stays so while the rule would pass it as a new flow:
 * its initiator (the original source) allow-only by longest prefix, as
 * the allow-only set holds it, its responder outside or allow-only too,
 * as the inspected inside hosts' set holds them, no kill switch. Else its
 * skyfence bits are cleared: its next packets are queued and inspected
 * from the middle of the flow. */
static int redecide_uninspected(const struct policy *p, int kill,
				const struct ct_entry *e,
				struct redecision *out)
{
	uint16_t di = policy_dept_of(p, e->src);
	uint16_t dd = policy_dept_of(p, e->dst);

	out->pd.dept = di;
	out->pd.rule = -1;
	out->pd.action = ACT_ALLOW;
	out->new_v = !kill && policy_dept_allow_only(p, di) &&
				     (!policy_is_internal(p, e->dst) ||
				      policy_dept_allow_only(p, dd))
			     ? MARK_UNINSPECTED
			     : MARK_NONE;
	out->changed = out->new_v != out->old_v;
	return 1;
}

/* An entry's mark says its verdict, app, media types and DSCP: decided
 * again from them (and the address signatures: a flow to an address a new
 * feed lists becomes its app), and rewritten if the verdict, the app or
 * the DSCP is not the mark's any more. */
int runtime_redecide(const struct daemon *d, const struct engine *eng,
		     const struct policy *p, int kill, const struct ct_entry *e,
		     struct redecision *out)
{
	int64_t start = 0;

	memset(out, 0, sizeof(*out));
	out->old_v = mark_verdict_of(&d->ml, e->mark);
	if (out->old_v == MARK_NONE)
		return 0; /* still inspected: decided by the new policy */
	if (out->old_v == MARK_UNINSPECTED)
		return redecide_uninspected(p, kill, e, out);
	out->old_app = mark_app_of(&d->ml, e->mark);
	out->media = mark_media_of(&d->ml, e->mark);
	/* conntrack's clock is the machine's: into the schedule's frame */
	if (e->start_ns)
		start = (int64_t)(e->start_ns / 1000000000u) +
			d->o->clock_offset;
	out->new_app = engine_decide_app(
		eng, e->src, e->sport, e->dst, e->dport, e->l4proto,
		out->old_app, start, &out->media, &out->pd, &out->inbound);
	out->new_v = verdict_mark_of_action(out->pd.action);
	out->dscp = out->pd.dscp;
	out->changed = out->new_v != out->old_v ||
		       out->new_app != out->old_app ||
		       out->dscp != mark_dscp_of(&d->ml, e->mark);
	return 1;
}

int runtime_ct_entry(void *ctx, const struct ct_entry *e, uint32_t *mark)
{
	struct daemon *d = ctx;
	struct redecision r;

	if (!runtime_redecide(d, d->run.eng, d->run.pol, d->run.kill != NULL, e,
			      &r) ||
	    !r.changed)
		return 0;
	*mark = mark_encode_flow(&d->ml, e->mark, r.new_v, r.new_app, r.media,
				 r.dscp);
	auditrec_redecided(
		&d->audit, d->run.pol, e, r.old_v, &r.pd, r.new_app, r.media,
		id_snap_lookup(d->run.ids, r.inbound ? e->dst : e->src));
	return 1;
}

/* A new nDPI module with the signatures file re-read, the running policy
 * resolved against it, then both swapped in. Flows still being inspected
 * start over (their nDPI state belonged to the old module); decided flows
 * keep their conntrack marks. */
int runtime_signatures_reload(struct daemon *d,
			      void (*on_error)(void *ctx, const char *msg),
			      void *ctx, char *err, size_t errlen)
{
	struct cls_opts co = { 16, 80, 24, 0, NULL, NULL, 0 };
	struct engine *ne[MAX_WORKERS + 1];
	uint8_t *lean = NULL;
	struct classifier *nc[MAX_WORKERS + 1];
	struct adopt a = { NULL, NULL, 0, NULL, ne + 1, nc + 1, 0, 0, 0 };
	struct engine_hooks h;
	struct engine_opts eo = { 0 };
	struct policy *np = NULL, *nk = NULL;
	struct policy_names n;
	unsigned nerr = 0, i, ok = 0;
	char *text;
	int rc;

	if (!d->run.pol->signatures[0]) {
		snprintf(err, errlen,
			 "the policy names no signatures file (options { "
			 "signatures \"/path\"; })");
		return -1;
	}
	memset(ne, 0, sizeof(ne));
	memset(nc, 0, sizeof(nc));
	co.protos_file = d->run.pol->signatures;
	/* the control thread's module first (names, few flows), then one
	 * per worker */
	nc[0] = classifier_open(&co, err, errlen);
	if (!nc[0]) {
		snprintf(err + strlen(err), errlen - strlen(err),
			 "; the running signatures stay");
		return -1;
	}
	/* the running policy and kill switch, with names resolved through
	 * the new module: custom protocol ids may have moved */
	text = policy_format(d->run.pol);
	loader_names(nc[0], &n);
	n.internal = 1; /* the running policy's own text */
	if (text)
		np = policy_parse_text("(running policy)", text, strlen(text),
				       &n, on_error, ctx, &nerr);
	free(text);
	if (np && np->killswitch[0])
		nk = runtime_kill_rules(nc[0], np->killswitch, on_error, ctx);
	if (np && (nk || !np->killswitch[0]) && runtime_seed(&eo.seed) == 0) {
		snprintf(np->source, sizeof(np->source), "%s",
			 d->run.pol->source);
		eo.max_flows = 16;
		eo.idle_ms = d->o->idle_ms;
		engine_hooks_of(d->run.eng, &h);
		/* created on the running policy, which stays valid until
		 * runtime_apply_policy() below replaces it */
		ne[0] = engine_create(&eo, nc[0], d->run.pol, &h);
		ok = ne[0] != NULL;
		co.max_flows = d->o->max_flows;
		eo.max_flows = d->o->max_flows;
		/* the workers' lean modules for the policy as the new
		 * signatures name it */
		lean = worker_lean_for(d, np, nk, nc[0], &co.n_lean);
		co.lean = lean;
		for (i = 0; ok && i < d->n_workers; i++) {
			nc[i + 1] = classifier_open(&co, err, errlen);
			if (nc[i + 1] && runtime_seed(&eo.seed) == 0) {
				engine_hooks_of(d->w[i].eng, &h);
				ne[i + 1] = engine_create(&eo, nc[i + 1],
							  d->run.pol, &h);
			}
			ok = ne[i + 1] != NULL;
		}
	}
	free(lean);
	if (!ok) {
		for (i = 0; i <= d->n_workers; i++) {
			engine_destroy(ne[i]);
			classifier_close(nc[i]);
		}
		policy_free(np);
		policy_free(nk);
		snprintf(err, errlen,
			 "the running policy or kill switch does not resolve "
			 "against the new signatures, or memory is short (%u "
			 "error(s)); nothing changed",
			 nerr);
		return -1;
	}
	/* the new engines know who is behind an address, as the old did,
	 * and the schedule's clock (runtime_apply_policy below sets the
	 * windows) */
	for (i = 0; i <= d->n_workers; i++) {
		engine_set_identity(ne[i], d->run.ids);
		engine_set_clock(ne[i], runtime_sched_ms(d) -
						(int64_t)runtime_clock_ms(0));
	}
	/* each worker swaps its engine and module in its own thread (and
	 * frees the old ones there) */
	workers_call(d, adopt, &a);
	engine_destroy(d->run.eng);
	classifier_close(d->run.cls);
	d->run.eng = ne[0];
	d->run.cls = nc[0];
	d->audit.cls = d->run.cls;
	runtime_install_kill(d, nk);
	rc = runtime_apply_policy(d, np);
	if (rc != 0)
		log_warnx("signatures reload: %s; the policy stays as parsed "
			  "before",
			  runtime_error(rc));
	return 0;
}
