/* sched.c - the schedule (sched.h): the windows' state on the wall clock,
 * each change of it applied through the change service, kept in the
 * state directory across restarts. */
#include "daemon/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>

#include "daemon/change.h"
#include "daemon/runtime.h"
#include "policy/state.h"
#include "policy/tz.h"
#include "sys/log.h"

/* The timer's longest wait: the one-second tick arms it again anyway,
 * and a wait this short never meets timerfd's limits. */
#define SCHED_MAX_WAIT_MS 3600000

struct sched {
	struct win_clock clk; /* the state applied (window.h) */
	int tfd;	      /* one-shot, CLOCK_MONOTONIC */
	/* the next change of a window some rule uses (WIN_NEVER: none),
	 * computed at @next_from, and the windows that change then */
	int64_t next, next_from;
	uint64_t next_flips;
	uint64_t boundaries;	/* changes applied */
	uint64_t steps;		/* steps of the wall clock seen */
	unsigned gen;		/* d->run.win_gen the state is of */
	struct log_limit limit; /* warnings of failed saves */
	int64_t clock_ms;	/* the engines' clock (engine_set_clock) */
};

/* The engines' clock (a flow's start is its first packet's monotonic
 * time made wall clock) set again when the difference between the two
 * clocks moved: a step, even one too small to count as one. */
#define SCHED_CLOCK_SLACK_MS 50

static void set_clock(struct daemon *d, int64_t now_ms, uint64_t mono)
{
	d->sched->clock_ms = now_ms - (int64_t)mono;
	runtime_set_clock(d, d->sched->clock_ms);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t sched_now_ms(const struct daemon *d)
{
	return runtime_sched_ms(d);
}

int64_t sched_now(const struct daemon *d)
{
	return runtime_sched_now(d);
}

int sched_fd(const struct daemon *d)
{
	return d->sched ? d->sched->tfd : -1;
}

/* "2026-12-07T17:00:00Z" */
static const char *utc_of(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
	return buf;
}

/* A window as the saved state, status and the metrics name it: its name,
 * or a temporary rule's "until 2026-12-07T17:00:00Z". */
static const char *win_key(const struct window *w, char *buf, size_t len)
{
	char u[40];

	if (w->kind == WIN_UNTIL)
		snprintf(buf, len, "until %s", utc_of(w->until, u, sizeof(u)));
	else
		snprintf(buf, len, "%s", w->name);
	return buf;
}

static uint64_t mask_now(const struct policy *p, int64_t t)
{
	return p->n_windows ? windows_mask_at(p->windows, p->n_windows, t) : 0;
}

/* ---- the state on disk ---- */

/* Writes the state applied, with the time it was written: "missed while
 * skyfenced was down since" that time. Best effort: a schedule is
 * computed again at start anyway; only the record of what was missed
 * would be lost. */
static void save(struct daemon *d, const struct policy *p, uint64_t mask)
{
	char text[WIN_MAX * 80 + 256], key[48], err[300];
	const char *parts[1] = { text };
	size_t o;
	uint32_t i;

	if (d->run.state_dfd < 0)
		return;
	/* no window, nothing to miss: a state left from an earlier policy
	 * would make a later one's start report boundaries never missed */
	if (!p->n_windows) {
		if (unlinkat(d->run.state_dfd, SCHED_FILE, 0) != 0 &&
		    errno != ENOENT)
			log_limited(&d->sched->limit, d->now_ms,
				    "state: %s/" SCHED_FILE ": %s",
				    d->o->state_dir, strerror(errno));
		return;
	}
	o = (size_t)snprintf(text, sizeof(text),
			     "# skyfenced schedule 1: the windows' state "
			     "applied (skyfenced(8))\nat %" PRId64 "\n",
			     sched_now(d));
	for (i = 0; i < p->n_windows && o < sizeof(text); i++)
		o += (size_t)snprintf(
			text + o, sizeof(text) - o, "%s %s\n",
			mask >> i & 1 ? "open" : "closed",
			win_key(&p->windows[i], key, sizeof(key)));
	if (state_replace(d->run.state_dfd, SCHED_FILE, parts, 1, err,
			  sizeof(err)) != 0)
		log_limited(&d->sched->limit, d->now_ms,
			    "state: %s/%s: the schedule's state is not saved "
			    "(a boundary missed while skyfenced is down would "
			    "be applied without its record)",
			    d->o->state_dir, err);
}

/* The saved state of window @key in @text: 1 open, 0 closed, -1 not
 * there. */
static int saved_state(const char *text, const char *key)
{
	const char *s = text;

	while (*s) {
		size_t n = strcspn(s, "\n");
		int open = !strncmp(s, "open ", 5);
		size_t w = open ? 5 : !strncmp(s, "closed ", 7) ? 7 : 0;

		if (w && n - w == strlen(key) && !strncmp(s + w, key, n - w))
			return open;
		s += n;
		s += *s == '\n';
	}
	return -1;
}

/* The state saved before the stop, in @p's windows: a window it does
 * not name (new in the policy) is taken as it is now, so only a boundary
 * that was really missed shows. Returns 1 with *@mask and *@since (when
 * it was saved), or 0 if nothing usable is saved. */
static int load(struct daemon *d, const struct policy *p, int64_t now,
		uint64_t *mask, int64_t *since)
{
	char text[WIN_MAX * 80 + 256], key[48], err[300];
	const char *at;
	uint64_t m = mask_now(p, now);
	ssize_t n;
	uint32_t i;

	if (d->run.state_dfd < 0)
		return 0;
	n = state_read_small(d->run.state_dfd, SCHED_FILE, text, sizeof(text),
			     err, sizeof(err));
	if (n < 0) {
		if (errno != ENOENT)
			log_warnx("state: %s/%s: ignored (the schedule starts "
				  "from now)",
				  d->o->state_dir, err);
		return 0;
	}
	at = strstr(text, "\nat ");
	if (!at || sscanf(at + 4, "%" SCNd64, since) != 1)
		return 0;
	for (i = 0; i < p->n_windows; i++) {
		int st = saved_state(text,
				     win_key(&p->windows[i], key, sizeof(key)));

		if (st >= 0)
			m = (m & ~(1ull << i)) | (uint64_t)st << i;
	}
	*mask = m;
	return 1;
}

/* ---- words ---- */

/* The rules window @i switches, "sales: teams allow during office
 * finish; ..." (@status: "sales teams allow ... (line 12); ..."). */
static size_t rules_of(const struct policy *p, uint32_t i, int status,
		       char *out, size_t len)
{
	size_t o = 0;
	uint32_t k, j;

	out[0] = '\0';
	for (k = 0; k < p->n_depts && o < len; k++) {
		const struct policy_dept *dp = &p->depts[k];

		for (j = 0; j < dp->n_rules && o < len; j++) {
			const struct policy_rule *r = &dp->rules[j];

			if (r->win != (int)i && r->tmp != (int)i)
				continue;
			if (status)
				o += (size_t)snprintf(out + o, len - o,
						      "%s%s %s (line %u)",
						      o ? "; " : "", dp->name,
						      r->text, r->line);
			else
				o += (size_t)snprintf(out + o, len - o,
						      "%s%s: %s", o ? "; " : "",
						      dp->name, r->text);
		}
	}
	return o < len ? o : len - 1;
}

void sched_describe(const struct policy *p, const struct win_tick *t,
		    int64_t since, char *out, size_t len)
{
	char rules[1024], u[40];
	size_t o = (size_t)snprintf(out, len, "schedule:");
	uint64_t f = t->flips & p->win_used;
	uint32_t i;
	int n = 0;

	for (i = 0; i < p->n_windows && o < len; i++) {
		const struct window *w = &p->windows[i];

		if (!(f >> i & 1))
			continue;
		rules_of(p, i, 0, rules, sizeof(rules));
		if (w->kind == WIN_UNTIL)
			o += (size_t)snprintf(out + o, len - o,
					      "%s temporary rule ended at %s "
					      "(%s)",
					      n++ ? "," : "",
					      utc_of(w->until, u, sizeof(u)),
					      rules);
		else
			o += (size_t)snprintf(
				out + o, len - o, "%s window %s %s (%s)",
				n++ ? "," : "", w->name,
				t->mask >> i & 1 ? "opened" : "closed", rules);
	}
	if (o >= len)
		return;
	if (t->stepped)
		o += (size_t)snprintf(out + o, len - o,
				      " (the clock stepped %s %" PRId64 " s",
				      t->stepped > 0 ? "forwards" : "backwards",
				      t->stepped > 0 ? t->stepped
						     : -t->stepped);
	else if (t->passed > 1)
		o += (size_t)snprintf(out + o, len - o, " (");
	if (o < len && t->passed > 1)
		o += (size_t)snprintf(out + o, len - o,
				      "%s%u boundaries passed, applied as one",
				      t->stepped ? "; " : "", t->passed);
	if (o < len && (t->stepped || t->passed > 1))
		o += (size_t)snprintf(out + o, len - o, ")");
	if (o < len && since)
		snprintf(out + o, len - o,
			 " (at start: missed while skyfenced was down since "
			 "%s)",
			 utc_of(since, u, sizeof(u)));
}

/* ---- the clock ---- */

/* The next change of a window some rule uses after @now (a window no
 * rule uses changes nothing): the earliest of theirs, and in *@flips
 * the windows that change then; WIN_NEVER if none does. One pass over
 * the used windows: a search through every window's changes stopped
 * after a few, and an unused window changing often hid the next
 * boundary behind "none". */
static int64_t next_used(const struct policy *p, int64_t now, uint64_t *flips)
{
	int64_t best = WIN_NEVER, at;
	uint64_t f = 0;
	uint32_t i;

	for (i = 0; i < p->n_windows && i < WIN_MAX; i++) {
		if (!(p->win_used >> i & 1))
			continue;
		at = window_next_change(&p->windows[i], now);
		if (at == WIN_NEVER || at > best)
			continue;
		if (at < best) {
			best = at;
			f = 0;
		}
		f |= 1ull << i;
	}
	*flips = f;
	return best;
}

/* The one-shot timer armed for the next change of a window a rule of @p
 * uses (a wall-clock instant made a monotonic delay: a step is met by
 * the one-second tick, which arms it again; an unused window's state is
 * followed by that tick). The instant is kept for status (view_next)
 * until it passes, so a request for status or the metrics does not
 * search the windows again. */
static void arm(struct daemon *d, const struct policy *p, int64_t now_ms,
		int recompute)
{
	struct sched *s = d->sched;
	struct itimerspec it;
	int64_t ms, now = floor_div(now_ms, 1000);

	if (recompute || now < s->next_from || now >= s->next) {
		s->next = next_used(p, now, &s->next_flips);
		s->next_from = now;
	}
	memset(&it, 0, sizeof(it));
	if (s->next != WIN_NEVER) {
		ms = s->next > INT64_MAX / 1000 - 1 ? SCHED_MAX_WAIT_MS
						    : s->next * 1000 - now_ms;
		ms = ms < 1		      ? 1
		     : ms > SCHED_MAX_WAIT_MS ? SCHED_MAX_WAIT_MS
					      : ms;
		it.it_value.tv_sec = (time_t)(ms / 1000);
		it.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	}
	if (timerfd_settime(s->tfd, 0, &it, NULL) != 0)
		log_limited(&d->bad_limit, d->now_ms, "schedule timer: %s",
			    strerror(errno));
}

/* A change of the windows' state applied: the engines, conntrack, the
 * record (change.c), the state saved. */
static void apply(struct daemon *d, const struct win_tick *t, int64_t now,
		  int64_t since)
{
	char what[2048], err[600];
	struct change c;

	memset(&c, 0, sizeof(c));
	sched_describe(d->run.pol, t, since, what, sizeof(what));
	c.kind = CHANGE_SCHEDULE;
	c.origin = CHANGE_SCHEDULE_CLOCK;
	c.uid = -1;
	c.what = what;
	c.win_mask = t->mask;
	c.win_at = now;
	if (change_apply(d, &c, NULL, NULL, err, sizeof(err)) == 0)
		d->sched->boundaries++;
	save(d, d->run.pol, t->mask);
}

/* A new running policy (runtime_apply_policy): its windows' state as it
 * was applied with, by its own indices, is the schedule's from now on:
 * nothing to apply (the policy's change is the record), no step to see;
 * the timer armed for its next boundary. */
static void adopt(struct daemon *d)
{
	struct sched *s = d->sched;

	s->gen = d->run.win_gen;
	s->clk.mask = d->run.win_mask;
	s->clk.real = d->run.win_at;
	s->clk.mono_ms = runtime_clock_ms(0);
	save(d, d->run.pol, s->clk.mask);
	arm(d, d->run.pol, sched_now_ms(d), 1);
}

void sched_changed(struct daemon *d, const struct change *c)
{
	if (d->sched && c->kind != CHANGE_SCHEDULE &&
	    d->sched->gen != d->run.win_gen)
		adopt(d);
}

void sched_tick(struct daemon *d)
{
	struct sched *s = d->sched;
	const struct policy *p = d->run.pol;
	int64_t now_ms, now;
	struct win_tick t;
	uint64_t mono, n;

	if (!s)
		return;
	if (s->gen != d->run.win_gen)
		adopt(d);
	if (read(s->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_limited(&d->bad_limit, d->now_ms, "schedule timer: %s",
			    strerror(errno));
	now_ms = sched_now_ms(d);
	mono = runtime_clock_ms(0);
	now = floor_div(now_ms, 1000);
	win_clock_tick(&s->clk, p->windows, p->n_windows, now, mono, &t);
	if (llabs(now_ms - (int64_t)mono - s->clock_ms) > SCHED_CLOCK_SLACK_MS)
		set_clock(d, now_ms, mono);
	if (t.stepped) {
		s->steps++;
		log_warnx("schedule: the wall clock stepped %s %" PRId64
			  " s; %u boundaries passed",
			  t.stepped > 0 ? "forwards" : "backwards",
			  t.stepped > 0 ? t.stepped : -t.stepped, t.passed);
	}
	if (t.flips & p->win_used)
		apply(d, &t, now, 0);
	arm(d, p, now_ms, t.stepped || t.flips);
}

int sched_open(struct daemon *d)
{
	const struct policy *p = d->run.pol;
	struct sched *s = calloc(1, sizeof(*s));
	int64_t now_ms = sched_now_ms(d), now = floor_div(now_ms, 1000);
	int64_t since = 0;
	uint64_t mono = runtime_clock_ms(0), saved = 0;
	struct win_tick t;
	char u[40];

	if (!s || (s->tfd = timerfd_create(CLOCK_MONOTONIC,
					   TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		log_warn("schedule timer");
		free(s);
		return -1;
	}
	d->sched = s;
	s->gen = d->run.win_gen;
	s->limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	if (d->o->clock_offset)
		log_warnx("schedule: the wall clock is taken %+" PRId64
			  " s from the machine's (--clock-offset: tests "
			  "only): now %s",
			  d->o->clock_offset, utc_of(now, u, sizeof(u)));
	set_clock(d, now_ms, mono);
	s->clk.mask = mask_now(p, now);
	if (load(d, p, now, &saved, &since))
		s->clk.mask = saved;
	/* the first tick compares the state saved with now's */
	win_clock_tick(&s->clk, p->windows, p->n_windows, now, mono, &t);
	runtime_set_windows(d, t.mask, now);
	if (t.flips & p->win_used)
		apply(d, &t, now, since);
	else
		save(d, p, t.mask);
	arm(d, p, now_ms, 1);
	if (p->n_windows)
		log_info("schedule: %u window(s), next boundary %s",
			 p->n_windows,
			 s->next == WIN_NEVER ? "never"
					      : utc_of(s->next, u, sizeof(u)));
	return 0;
}

void sched_close(struct daemon *d)
{
	struct sched *s = d->sched;

	if (!s)
		return;
	save(d, d->run.pol, s->clk.mask);
	close(s->tfd);
	free(s);
	d->sched = NULL;
}

/* ---- what status shows ---- */

/* "2h 3m" */
static void span(int64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%" PRId64 "d %" PRId64 "h", s / 86400,
			 s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%" PRId64 "h %" PRId64 "m", s / 3600,
			 s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, len, "%" PRId64 "s", s);
}

/* "2026-12-07 18:00:00 CET" in the zone of the first window that changes
 * then (the options' zone, else UTC, for a temporary rule's end). */
static void local_of(const struct policy *p, uint64_t flips, int64_t t,
		     char *out, size_t len)
{
	const struct tz *z = p->zone;
	const char *abbr;
	char day[32];
	struct tm tm;
	time_t lt;
	int32_t off;
	uint32_t i;

	for (i = 0; i < p->n_windows; i++)
		if (flips >> i & 1 && p->windows[i].kind == WIN_RECUR) {
			z = p->windows[i].tz;
			break;
		}
	off = z ? tz_offset(z, t, NULL) : 0;
	abbr = z ? tz_abbr(z, t) : "UTC";
	lt = (time_t)(t + off);
	if (!gmtime_r(&lt, &tm) ||
	    !strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(day, sizeof(day), "?");
	if (abbr[0])
		snprintf(out, len, "%s %s", day, abbr);
	else /* a zone file without abbreviations: its offset */
		snprintf(out, len, "%s %c%02d:%02d", day, off < 0 ? '-' : '+',
			 abs(off) / 3600, abs(off) % 3600 / 60);
}

static void view_next(const struct daemon *d, int64_t now, uint64_t mask,
		      struct sched_view *v)
{
	const struct policy *p = d->run.pol;
	const struct sched *s = d->sched;
	char rules[1024], in[32];
	uint64_t flips = 0;
	size_t o;
	uint32_t i;
	int n = 0;

	/* the timer's, while it holds (the policy it was computed for, and
	 * a clock that has not gone back before it or past it) */
	if (s && s->gen == d->run.win_gen && now >= s->next_from &&
	    now < s->next) {
		v->next = s->next;
		flips = s->next_flips;
	} else {
		v->next = next_used(p, now, &flips);
	}
	if (v->next == WIN_NEVER)
		return;
	local_of(p, flips, v->next, v->next_local, sizeof(v->next_local));
	span(v->next - now, in, sizeof(in));
	o = (size_t)snprintf(v->switches, sizeof(v->switches), "in %s", in);
	for (i = 0; i < p->n_windows && o < sizeof(v->switches); i++) {
		if (!((flips & p->win_used) >> i & 1))
			continue;
		rules_of(p, i, 1, rules, sizeof(rules));
		o += (size_t)snprintf(v->switches + o, sizeof(v->switches) - o,
				      "%s %s %s: %s", n++ ? ";" : ":",
				      v->w[i].name,
				      p->windows[i].kind == WIN_UNTIL ? "ends"
				      : mask >> i & 1		      ? "closes"
								      : "opens",
				      rules);
	}
}

void sched_get_view(const struct daemon *d, struct sched_view *v)
{
	const struct policy *p = d->run.pol;
	uint64_t mask = d->sched ? d->sched->clk.mask : 0;
	size_t o = 0;
	uint32_t i;

	memset(v, 0, sizeof(*v));
	v->now = sched_now(d);
	v->next = WIN_NEVER;
	v->boundaries = d->sched ? d->sched->boundaries : 0;
	v->steps = d->sched ? d->sched->steps : 0;
	v->on = p->n_windows > 0;
	v->n = p->n_windows < WIN_MAX ? p->n_windows : WIN_MAX;
	for (i = 0; i < v->n; i++) {
		win_key(&p->windows[i], v->w[i].name, sizeof(v->w[i].name));
		v->w[i].open = mask >> i & 1;
		if (o < sizeof(v->windows))
			o += (size_t)snprintf(v->windows + o,
					      sizeof(v->windows) - o, "%s%s %s",
					      i ? ", " : "", v->w[i].name,
					      v->w[i].open ? "open" : "closed");
	}
	if (v->on)
		view_next(d, v->now, mask, v);
}
