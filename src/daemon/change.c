/* change.c - the change service (change.h): one way in for every change,
 * one record of who, what and when. */
#include "daemon/change.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/buckets.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "daemon/throttle.h"
#include "policy/addrsig.h"
#include "policy/loader.h"
#include "policy/state.h"
#include "policy/window.h"
#include "sys/log.h"

#define CHANGE_WORDS 64
#define CHANGE_TEXT_MAX 4096

void change_join(char *out, size_t len, int argc, char **argv, int from)
{
	size_t o = 0;
	int i;

	out[0] = '\0';
	for (i = from; i < argc && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s",
				      i > from ? " " : "", argv[i]);
}

/* The words of "department ..." or "rule ..." as a policy change; 0, or
 * -1 (not one). @buf holds what @pc points to. */
static int edit_of(int argc, char **argv, struct policy_change *pc, char *buf,
		   size_t len)
{
	memset(pc, 0, sizeof(*pc));
	if (argc >= 3 && !strcmp(argv[0], "department")) {
		if (argc == 3 && !strcmp(argv[1], "del")) {
			pc->kind = PCH_DEPT_DEL;
		} else if (argc >= 5 &&
			   (!strcmp(argv[1], "add") ||
			    !strcmp(argv[1], "set")) &&
			   !strcmp(argv[3], "hosts")) {
			pc->kind = !strcmp(argv[1], "add") ? PCH_DEPT_ADD
							   : PCH_DEPT_HOSTS;
			change_join(buf, len, argc, argv, 4);
			pc->arg = buf;
		} else {
			return -1;
		}
	} else if (argc >= 4 && !strcmp(argv[0], "rule") &&
		   (!strcmp(argv[1], "set") || !strcmp(argv[1], "del"))) {
		pc->kind =
			!strcmp(argv[1], "set") ? PCH_RULE_SET : PCH_RULE_DEL;
		change_join(buf, len, argc, argv, 3);
		pc->arg = buf;
	} else if (argc >= 5 && !strcmp(argv[0], "rule") &&
		   !strcmp(argv[1], "add")) {
		/* a temporary exception: its "for" made an absolute "until"
		 * with the schedule's clock (callers set pc->now), before a
		 * fleet's document carries it to every node */
		pc->kind = PCH_RULE_ADD;
		change_join(buf, len, argc, argv, 3);
		pc->arg = buf;
	} else {
		return -1;
	}
	pc->dept = argv[2];
	return 0;
}

/* @what split at blanks into @argv (pointing into @copy); the count, or
 * -1 if there are more than CHANGE_WORDS or it does not fit. */
static int split(const char *what, char *copy, size_t len, char **argv)
{
	char *save = NULL, *w;
	int argc = 0;

	if (snprintf(copy, len, "%s", what) >= (int)len)
		return -1;
	for (w = strtok_r(copy, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (argc == CHANGE_WORDS)
			return -1;
		argv[argc++] = w;
	}
	return argc;
}

int change_edit_valid(int argc, char **argv)
{
	struct policy_change pc;
	char buf[CHANGE_TEXT_MAX];

	return edit_of(argc, argv, &pc, buf, sizeof(buf));
}

char *change_edit_text(struct daemon *d, const char *what, char *err,
		       size_t errlen)
{
	char copy[CHANGE_TEXT_MAX], buf[CHANGE_TEXT_MAX];
	char *argv[CHANGE_WORDS];
	struct policy_change pc;
	int argc = split(what, copy, sizeof(copy), argv);

	if (argc < 0 || edit_of(argc, argv, &pc, buf, sizeof(buf)) != 0) {
		snprintf(err, errlen, "change '%.200s' is not a runtime change",
			 what);
		return NULL;
	}
	pc.now = runtime_sched_now(d);
	return policy_format_doc(d->run.pol, &pc, err, errlen);
}

/* A runtime edit written into the running policy's text and validated as
 * a whole against it: the policy it makes (malloc'd), or NULL with why in
 * @err. Nothing is applied. */
static struct policy *build_edit(struct daemon *d, const struct change *c,
				 void (*on_error)(void *ctx, const char *msg),
				 void *ctx, char *err, size_t errlen)
{
	char copy[CHANGE_TEXT_MAX], buf[CHANGE_TEXT_MAX], name[300];
	char *argv[CHANGE_WORDS];
	struct policy_change pc;
	struct policy *np;
	unsigned nerr = 0;
	char *text;
	int argc = split(c->what, copy, sizeof(copy), argv);

	if (argc < 0 || edit_of(argc, argv, &pc, buf, sizeof(buf)) != 0) {
		snprintf(err, errlen, "change '%.200s' is not a runtime change",
			 c->what);
		return NULL;
	}
	pc.now = runtime_sched_now(d);
	text = policy_format_change(d->run.pol, &pc, err, errlen);
	if (!text)
		return NULL;
	snprintf(name, sizeof(name), "(running policy after: %.200s)", c->what);
	np = loader_running_policy(d->run.cls, d->run.pol, name, text,
				   strlen(text), on_error, ctx, &nerr);
	free(text);
	if (!np) {
		snprintf(err, errlen, "%s: %u error(s); nothing changed",
			 c->what, nerr);
		return NULL;
	}
	snprintf(np->source, sizeof(np->source), "%s", d->run.pol->source);
	return np;
}

/* A runtime edit, built (build_edit) and applied. */
static int apply_edit(struct daemon *d, const struct change *c,
		      void (*on_error)(void *ctx, const char *msg), void *ctx,
		      char *err, size_t errlen)
{
	struct policy *np = build_edit(d, c, on_error, ctx, err, errlen);
	int rc;

	if (!np)
		return -1;
	rc = runtime_apply_policy(d, np);
	if (rc != 0) {
		snprintf(err, errlen, "%s; nothing changed", runtime_error(rc));
		return -1;
	}
	return 0;
}

/* Whether @np may replace the running departments and rules: it names
 * the same signatures file, and it keeps the running kill switch (only
 * killswitch off lifts it: added to @np's here). 0, or -1 with why in
 * @err and @np freed. */
static int check_replacement(struct daemon *d, struct policy *np,
			     const char *name, char *err, size_t errlen)
{
	if (strcmp(np->signatures, d->run.pol->signatures) != 0) {
		policy_free(np);
		snprintf(err, errlen,
			 "%s names another signatures file: restart "
			 "skyfenced, or signatures reload after a policy that "
			 "names it; the running policy stays",
			 name);
		return -1;
	}
	if (runtime_keep_killswitch(np, d->run.pol->killswitch) != 0) {
		policy_free(np);
		snprintf(err, errlen,
			 "%s: its kill switch and the running one together are "
			 "too many apps; the running policy stays",
			 name);
		return -1;
	}
	return 0;
}

/* @np (owned) replaces the running departments and rules
 * (check_replacement first). */
static int replace_policy(struct daemon *d, struct policy *np, const char *name,
			  char *err, size_t errlen)
{
	int rc;

	if (check_replacement(d, np, name, err, errlen) != 0)
		return -1;
	rc = runtime_apply_policy(d, np);
	if (rc != 0) {
		snprintf(err, errlen, "%s; the running policy stays",
			 runtime_error(rc));
		return -1;
	}
	return 0;
}

/* A client's policy file, which it opened and sent, parsed and checked
 * as a replacement: the policy (malloc'd), or NULL with why in @err. */
static struct policy *build_load(struct daemon *d, const struct change *c,
				 void (*on_error)(void *ctx, const char *msg),
				 void *ctx, char *err, size_t errlen)
{
	unsigned nerr = 0;
	struct policy *np =
		loader_client_policy(d->run.cls, d->run.pol, c->what, c->text,
				     c->len, on_error, ctx, &nerr);

	if (!np) {
		snprintf(err, errlen,
			 "%s: %u error(s); the running policy stays", c->what,
			 nerr);
		return NULL;
	}
	return check_replacement(d, np, c->what, err, errlen) == 0 ? np : NULL;
}

/* A client's policy file, built (build_load) and applied. */
static int apply_load(struct daemon *d, const struct change *c,
		      void (*on_error)(void *ctx, const char *msg), void *ctx,
		      char *err, size_t errlen)
{
	struct policy *np = build_load(d, c, on_error, ctx, err, errlen);
	int rc;

	if (!np)
		return -1;
	rc = runtime_apply_policy(d, np);
	if (rc != 0) {
		snprintf(err, errlen, "%s; the running policy stays",
			 runtime_error(rc));
		return -1;
	}
	return 0;
}

/* SIGHUP: the --policy file replaces the running departments and rules
 * (runtime changes included); the kill switch stays. The state saved from
 * now on is derived from this file. Not on a node whose policy is the
 * fleet's (fleetd.h). */
static int apply_reload(struct daemon *d,
			void (*on_error)(void *ctx, const char *msg), void *ctx,
			char *err, size_t errlen)
{
	const char *path = d->o->policy_path;
	uint8_t digest[STATE_DIGEST], old[STATE_DIGEST];
	struct policy_names n;
	struct policy *np = NULL;
	unsigned nerr = 0;
	char why[512], *text;
	size_t len;

	if (d->run.from_fleet) {
		snprintf(err, errlen,
			 "this node's policy is the fleet's: %s is not read "
			 "again; skyfencectl policy load FILE writes a policy "
			 "for every node",
			 path);
		return -1;
	}
	loader_names(d->run.cls, &n);
	text = policy_read_file(path, &len, why, sizeof(why));
	if (text && state_digest(text, len, digest) == 0)
		np = policy_parse_text(path, text, len, &n, on_error, ctx,
				       &nerr);
	else if (text)
		snprintf(why, sizeof(why), "SHA-256 (OpenSSL) failed");
	free(text);
	if (!np) {
		if (nerr)
			snprintf(err, errlen,
				 "%s has %u error(s); the running policy stays",
				 path, nerr);
		else
			snprintf(err, errlen, "%s; the running policy stays",
				 why);
		return -1;
	}
	runtime_log_notes(np);
	memcpy(old, d->run.base, sizeof(old));
	memcpy(d->run.base, digest, sizeof(digest));
	if (replace_policy(d, np, path, err, errlen) != 0) {
		memcpy(d->run.base, old, sizeof(old));
		return -1;
	}
	return 0;
}

int change_feed_current(const struct daemon *d, char *err, size_t errlen)
{
	const struct policy *p = d->run.pol;
	uint8_t sha[STATE_DIGEST];
	char *text;
	size_t len;
	int same;

	if (!p->feed[0]) {
		snprintf(err, errlen,
			 "the policy names no feed file (options { feed "
			 "\"/path\"; })");
		return -1;
	}
	text = policy_read_feed(p->feed, &len, err, errlen);
	if (!text)
		return -1;
	if (state_digest(text, len, sha) != 0) {
		free(text);
		snprintf(err, errlen, "SHA-256 (OpenSSL) failed");
		return -1;
	}
	free(text);
	same = p->addrsig && p->addrsig->feed.read &&
	       memcmp(sha, p->addrsig->feed.sha256, sizeof(sha)) == 0;
	return same;
}

/* The feed's version of @p into @out ("none" if it has none). */
static void feed_version(const struct policy *p, char *out, size_t len)
{
	const struct addrsig_feed *f = p->addrsig ? &p->addrsig->feed : NULL;

	snprintf(out, len, "%s", f && f->present ? f->version : "none");
}

/* The running policy parsed again from its own text, so the address
 * list and the feed's file are read anew; applied whole or not at all.
 * The version it replaces is kept for the record (describe). */
static int apply_feed(struct daemon *d,
		      void (*on_error)(void *ctx, const char *msg), void *ctx,
		      char *err, size_t errlen)
{
	struct policy_names n;
	struct policy *np;
	unsigned nerr = 0;
	char *text;
	int rc;

	if (!d->run.pol->feed[0]) {
		snprintf(err, errlen,
			 "the policy names no feed file (options { feed "
			 "\"/path\"; }); nothing changed");
		return -1;
	}
	feed_version(d->run.pol, d->run.feed_was, sizeof(d->run.feed_was));
	text = policy_format(d->run.pol);
	if (!text) {
		snprintf(err, errlen, "out of memory; nothing changed");
		return -1;
	}
	loader_names(d->run.cls, &n);
	n.internal = 1; /* the running policy's own text */
	np = policy_parse_text("(running policy)", text, strlen(text), &n,
			       on_error, ctx, &nerr);
	free(text);
	if (!np) {
		snprintf(err, errlen,
			 "%s or the address list: %u error(s); the running "
			 "signatures stay",
			 d->run.pol->feed, nerr);
		return -1;
	}
	snprintf(np->source, sizeof(np->source), "%s", d->run.pol->source);
	rc = runtime_apply_policy(d, np);
	if (rc != 0) {
		snprintf(err, errlen, "%s; the running signatures stay",
			 runtime_error(rc));
		return -1;
	}
	return 0;
}

/* "feed reload: Worldwide version V (was W), published D, fetched T:
 * N IPv4 and M IPv6 prefixes, K names (all lists)". */
static void describe_feed(const struct daemon *d, char *out, size_t len)
{
	const struct addrsig *s = d->run.pol->addrsig;
	const struct addrsig_feed *f = s ? &s->feed : NULL;
	char pub[16] = "?", at[32] = "?";
	struct tm tm;
	time_t t;

	if (!f || !f->present) {
		snprintf(out, len,
			 "feed reload: %s has no feed line (was version %s): "
			 "%u IPv4 and %u IPv6 prefixes, %u names",
			 d->run.pol->feed, d->run.feed_was, s ? s->v4 : 0,
			 s ? s->v6 : 0, s ? s->n_names : 0);
		return;
	}
	t = (time_t)f->version_date;
	if (gmtime_r(&t, &tm))
		strftime(pub, sizeof(pub), "%Y-%m-%d", &tm);
	t = (time_t)f->fetched;
	if (gmtime_r(&t, &tm))
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, len,
		 "feed reload: %s version %s (was %s), published %s, fetched "
		 "%s: %u IPv4 and %u IPv6 prefixes, %u names (with the "
		 "address list)",
		 f->instance, f->version, d->run.feed_was, pub, at, s->v4,
		 s->v6, s->n_names);
}

static int apply_killswitch(struct daemon *d, const struct change *c,
			    void (*on_error)(void *ctx, const char *msg),
			    void *ctx, char *err, size_t errlen)
{
	int rc = runtime_set_killswitch(d, c->what, on_error, ctx);

	if (rc != 0) {
		snprintf(err, errlen, "killswitch %s%s: %s; nothing changed",
			 c->what[0] ? "on for " : "off", c->what,
			 runtime_error(rc));
		return -1;
	}
	return 0;
}

/* "rule add DEPT ... for D ...": the instant its "for" became, from the
 * rule it put first (" (until 2026-12-07T17:00:00Z)"), so the record
 * says when it ends; "" otherwise. */
static void describe_until(const struct daemon *d, const char *what, char *out,
			   size_t len)
{
	const struct policy *p = d->run.pol;
	char dept[POLICY_NAME_LEN + 1], at[32];
	const struct policy_rule *r;
	struct tm tm;
	time_t t;
	uint32_t k;

	out[0] = '\0';
	if (strncmp(what, "rule add ", 9) || !strstr(what, " for ") ||
	    sscanf(what + 9, "%32s", dept) != 1)
		return;
	for (k = 0; k < p->n_depts; k++) {
		if (strcmp(p->depts[k].name, dept) || !p->depts[k].n_rules)
			continue;
		r = &p->depts[k].rules[0];
		t = r->tmp >= 0 ? (time_t)p->windows[r->tmp].until : 0;
		if (t && gmtime_r(&t, &tm) &&
		    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(out, len, " (until %s)", at);
		return;
	}
}

/* What was done, in words. */
static void describe(const struct daemon *d, const struct change *c, char *out,
		     size_t len)
{
	char what[CHANGE_TEXT_MAX];

	switch (c->kind) {
	case CHANGE_LOAD:
		snprintf(what, sizeof(what), "%s%s",
			 c->origin == CHANGE_FLEET || c->note ? "" : "load ",
			 c->what);
		break;
	case CHANGE_RELOAD:
		snprintf(what, sizeof(what), "reload %s (SIGHUP)",
			 d->o->policy_path);
		break;
	case CHANGE_KILLSWITCH:
		snprintf(what, sizeof(what), "killswitch %s%s",
			 c->what[0] ? "on for " : "off", c->what);
		break;
	case CHANGE_SIGNATURES:
		snprintf(what, sizeof(what), "signatures reload");
		break;
	case CHANGE_FEED:
		describe_feed(d, what, sizeof(what));
		break;
	case CHANGE_EDIT: {
		char until[64];

		describe_until(d, c->what, until, sizeof(until));
		snprintf(what, sizeof(what), "%s%s", c->what, until);
		break;
	}
	default:
		snprintf(what, sizeof(what), "%s", c->what);
		break;
	}
	snprintf(out, len, "%s", what);
}

/* The log's line for an applied change. */
static void log_applied(const struct daemon *d, const struct change *c,
			const char *what)
{
	if (c->kind == CHANGE_IDENTITY) {
		/* one a login: the audit has each, the log at debug */
		log_debug("%s", what);
		return;
	}
	switch (c->origin) {
	case CHANGE_FLEET:
		if (c->kind == CHANGE_KILLSWITCH)
			log_warnx("fleet: %s (%s)", what,
				  c->note ? c->note : "-");
		else
			log_info("fleet: %s (%s)", what,
				 c->note ? c->note : "-");
		break;
	case CHANGE_SCHEDULE_CLOCK:
		log_info("%s", what);
		break;
	case CHANGE_SIGNAL:
		log_info(
			"reload: %s applied (%u departments besides default)%s%s",
			d->o->policy_path, d->run.pol->n_depts - 1,
			d->run.pol->killswitch[0]
				? "; the kill switch stays on for "
				: "",
			d->run.pol->killswitch);
		break;
	default:
		if (c->kind == CHANGE_KILLSWITCH)
			log_warnx("control: uid %ld: %s", c->uid, what);
		else
			log_info("control: uid %ld: %s", c->uid, what);
		break;
	}
}

/* A change refused: a client reads why in its reply; SIGHUP's and the
 * fleet's go to the log (the fleet's shows as a conflict, fleetd.c). */
static void log_refused(struct daemon *d, const struct change *c,
			const char *err)
{
	if (c->origin == CHANGE_FLEET)
		log_warnx("fleet: %s: %s", c->note ? c->note : "-", err);
	else if (c->origin == CHANGE_SIGNAL)
		log_warnx("reload: %s", err);
	if (c->kind == CHANGE_RELOAD)
		d->st.reload_failures++;
}

int change_apply(struct daemon *d, const struct change *c,
		 void (*on_error)(void *ctx, const char *msg), void *ctx,
		 char *err, size_t errlen)
{
	char what[CHANGE_TEXT_MAX + 1400], was[16], now[16];
	int rc;

	if (!on_error)
		on_error = runtime_log_line;
	err[0] = '\0';
	feed_version(d->run.pol, was, sizeof(was));
	switch (c->kind) {
	case CHANGE_EDIT:
		rc = apply_edit(d, c, on_error, ctx, err, errlen);
		break;
	case CHANGE_LOAD:
		rc = apply_load(d, c, on_error, ctx, err, errlen);
		break;
	case CHANGE_RELOAD:
		rc = apply_reload(d, on_error, ctx, err, errlen);
		break;
	case CHANGE_KILLSWITCH:
		rc = apply_killswitch(d, c, on_error, ctx, err, errlen);
		break;
	case CHANGE_SIGNATURES:
		rc = runtime_signatures_reload(d, on_error, ctx, err, errlen);
		break;
	case CHANGE_FEED:
		rc = apply_feed(d, on_error, ctx, err, errlen);
		break;
	case CHANGE_IDENTITY:
		runtime_set_identity(d, c->snap);
		rc = 0;
		break;
	case CHANGE_SCHEDULE:
		runtime_set_windows(d, c->win_mask, c->win_at);
		rc = 0;
		break;
	default:
		snprintf(err, errlen, "unknown change");
		rc = -1;
		break;
	}
	if (rc != 0) {
		log_refused(d, c, err);
		return -1;
	}
	if (c->kind == CHANGE_RELOAD)
		d->st.reloads++;
	describe(d, c, what, sizeof(what));
	log_applied(d, c, what);
	/* a change that read the policy again read the feed's file too: a
	 * version it brought is in its record, never silent */
	feed_version(d->run.pol, now, sizeof(now));
	if (c->kind != CHANGE_FEED && strcmp(was, now) != 0)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 " (the feed's file read again: version %s, was %s)",
			 now, was);
	/* the record says where a change came from if not from here */
	if (c->note)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 " (%s)", c->note);
	auditrec_change(&d->audit, c->origin == CHANGE_FLEET ? -1 : c->uid,
			what);
	if (d->change_hook.applied)
		d->change_hook.applied(d->change_hook.ctx, c);
	return 0;
}

/* killswitch on|off as a candidate: the running policy with @c's apps
 * (the checks runtime_set_killswitch makes). */
static int build_killswitch(struct daemon *d, const struct change *c,
			    void (*on_error)(void *ctx, const char *msg),
			    void *ctx, struct change_candidate *out, char *err,
			    size_t errlen)
{
	if (strlen(c->what) < sizeof(d->run.pol->killswitch) && c->what[0])
		out->kill =
			runtime_kill_rules(d->run.cls, c->what, on_error, ctx);
	if (strlen(c->what) >= sizeof(d->run.pol->killswitch) ||
	    (c->what[0] && !out->kill)) {
		snprintf(err, errlen, "killswitch %s%s: %s; nothing changed",
			 c->what[0] ? "on for " : "off", c->what,
			 runtime_error(-EINVAL));
		return -1;
	}
	out->pol = d->run.pol;
	out->borrowed = 1;
	return 0;
}

/* Whether runtime_apply_policy() would find @p a pair of shaper buckets
 * per throttle rule (the running map's pairs as there): 0, or -ENOSPC /
 * -ENOMEM as it would refuse @p. Nothing is set in the shaper. */
static int buckets_fit(struct daemon *d, const struct policy *p)
{
	struct bucket_map *bm = calloc(1, sizeof(*bm));
	int rc = bm ? buckets_map(p, throttle_buckets(d->th), bm) : -ENOMEM;

	if (rc == 0)
		buckets_free(bm);
	free(bm);
	return rc;
}

int change_candidate(struct daemon *d, const struct change *c,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     struct change_candidate *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!on_error)
		on_error = runtime_log_line;
	err[0] = '\0';
	if (c->kind == CHANGE_KILLSWITCH)
		return build_killswitch(d, c, on_error, ctx, out, err, errlen);
	if (c->kind == CHANGE_EDIT)
		out->pol = build_edit(d, c, on_error, ctx, err, errlen);
	else if (c->kind == CHANGE_LOAD)
		out->pol = build_load(d, c, on_error, ctx, err, errlen);
	else
		snprintf(err, errlen,
			 "no dry run of this change (a runtime edit, a "
			 "policy load or the kill switch)");
	if (!out->pol)
		return -1;
	/* what runtime_apply_policy() would refuse, before the kernel */
	if (out->pol->has_dscp && !mark_has_dscp(&d->ml)) {
		snprintf(err, errlen,
			 "mark dscp needs a mark mask of %d bits or more "
			 "(--mark-mask); this daemon's has %d; nothing changed",
			 MARK_DSCP_MIN_BITS, __builtin_popcount(d->ml.mask));
		change_candidate_free(out);
		return -1;
	}
	rc = buckets_fit(d, out->pol);
	if (rc != 0) {
		snprintf(err, errlen, "%s; nothing changed", runtime_error(rc));
		change_candidate_free(out);
		return -1;
	}
	if (out->pol->killswitch[0]) {
		out->kill = runtime_kill_rules(d->run.cls, out->pol->killswitch,
					       NULL, NULL);
		if (!out->kill) {
			snprintf(err, errlen, "%s; nothing changed",
				 runtime_error(-ENOMEM));
			change_candidate_free(out);
			return -1;
		}
	}
	return 0;
}

void change_candidate_free(struct change_candidate *cc)
{
	if (!cc->borrowed)
		policy_free(cc->pol);
	policy_free(cc->kill);
	memset(cc, 0, sizeof(*cc));
}
