/* diff.c - policy diff (diff.h): a conntrack snapshot decided again
 * against a candidate, the flows whose verdict changes listed. */
#define _GNU_SOURCE /* gettid */
#include "daemon/diff.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "audit/audit.h"
#include "core/action.h"
#include "core/pkt.h"
#include "core/verdict.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "daemon/worker.h"
#include "identity/idtab.h"

/* a dump that stalls this long is given up (the kernel answers a dump of
 * 100,000 entries in well under a second) */
#define DIFF_WAIT_MS 5000
/* dumps started again after the kernel lost one (ENOBUFS) */
#define DIFF_TRIES 3

struct dept_count {
	/* inspect: flows the kernel passed uninspected (an allow-only
	 * department's) that the candidate would have inspected again */
	uint64_t seen, changed, to[ACT_MAX], inspect;
};

struct diff {
	struct daemon *d;
	const struct diff_opts *o;
	struct engine *eng; /* the candidate's */
	const struct policy *cand;
	int cand_kill;	       /* its kill switch is on */
	struct dept_count *dc; /* by the running policy's departments */
	uint64_t entries, undecided, decided, changed, listed;
	/* verdict kept, mark rewritten all the same (another DSCP, or an app
	 * a new address signature names): not listed, counted */
	uint64_t remarked;
	int cut;     /* listing stopped: the limit or the bytes */
	char *lines; /* what is listed, emitted once the dump is whole */
	size_t len, cap;
	int oom;
};

static void put(struct diff *x, const char *s)
{
	size_t n = strlen(s) + 1;

	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 65536;
		char *p;

		while (cap < x->len + n)
			cap *= 2;
		p = realloc(x->lines, cap);
		if (!p) {
			x->oom = 1;
			return;
		}
		x->lines = p;
		x->cap = cap;
	}
	memcpy(x->lines + x->len, s, n);
	x->len += n;
}

/* "udp 198.51.100.10:40000" as a flow's end: [v6]:port, no port for a
 * protocol without. */
static void endpoint(const uint8_t a[16], uint16_t port, int has_ports,
		     char *out, size_t len)
{
	char s[PKT_ADDR_STRLEN];
	int v4 = pkt_addr_is_v4(a); /* as pkt_addr_format tells them */

	pkt_addr_format(a, 0, s, sizeof(s));
	if (!has_ports)
		snprintf(out, len, "%s", s);
	else
		snprintf(out, len, v4 ? "%s:%u" : "[%s]:%u", s, port);
}

static const char *proto_word(uint8_t l4, char *buf, size_t len)
{
	if (l4 == 6)
		return "tcp";
	if (l4 == 17)
		return "udp";
	if (l4 == 132)
		return "sctp";
	if (l4 == 1)
		return "icmp";
	if (l4 == 58)
		return "icmpv6";
	snprintf(buf, len, "%u", l4);
	return buf;
}

/* The rule that decided @pd in @p, "" if none. */
static const char *rule_text(const struct policy *p,
			     const struct policy_decision *pd)
{
	if (pd->rule >= 0)
		return p->depts[pd->dept].rules[pd->rule].text;
	return pd->rule == POLICY_RULE_KILLSWITCH ? "killswitch" : "";
}

/* One changed flow: @now by the running policy, @next by the candidate. */
static void list_flow(struct diff *x, const struct ct_entry *e,
		      const struct redecision *now,
		      const struct redecision *next)
{
	const struct daemon *d = x->d;
	const struct id_rec *who =
		id_snap_lookup(d->run.ids, next->inbound ? e->dst : e->src);
	const char *dept = d->run.pol->depts[now->pd.dept].name;
	const char *ndept = x->cand->depts[next->pd.dept].name;
	/* an uninspected flow is not decided: it is inspected again */
	const char *act = next->new_v == MARK_NONE
				  ? "inspect"
				  : action_name(next->pd.action);
	char src[64], dst[64], user[128], rule[POLICY_TEXT_LEN], p[8];
	char line[1024];
	int ports = e->sport || e->dport;

	if (x->listed >= x->o->limit) {
		x->cut = 1;
		return;
	}
	endpoint(e->src, e->sport, ports, src, sizeof(src));
	endpoint(e->dst, e->dport, ports, dst, sizeof(dst));
	audit_clean_text(who && who->user ? who->user : "", user, sizeof(user));
	audit_clean_text(rule_text(x->cand, &next->pd), rule, sizeof(rule));
	if (x->o->json)
		snprintf(line, sizeof(line),
			 "%s{\"department\":\"%s\",\"new_department\":\"%s\","
			 "\"user\":\"%s\",\"app\":\"%s\",\"app_id\":%u,"
			 "\"old_action\":\"%s\",\"action\":\"%s\","
			 "\"proto\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
			 "\"rule\":\"%s\"}",
			 x->listed ? "," : "", dept, ndept, user,
			 classifier_proto_name(d->run.cls, next->new_app),
			 next->new_app, verdict_mark_name(next->old_v), act,
			 proto_word(e->l4proto, p, sizeof(p)), src, dst,
			 strcmp(rule, "-") ? rule : "");
	else
		snprintf(line, sizeof(line),
			 "%s%s%s %s %s %s -> %s %s %s -> %s%s%s", dept,
			 strcmp(dept, ndept) ? "->" : "",
			 strcmp(dept, ndept) ? ndept : "", user,
			 classifier_proto_name(d->run.cls, next->new_app),
			 verdict_mark_name(next->old_v), act,
			 proto_word(e->l4proto, p, sizeof(p)), src, dst,
			 strcmp(rule, "-") ? " by " : "",
			 strcmp(rule, "-") ? rule : "");
	if (x->len + strlen(line) + 1 > x->o->max_bytes) {
		x->cut = 1;
		return;
	}
	put(x, line);
	x->listed++;
}

/* The dump's callback: never rewrites a mark. */
static int on_entry(void *ctx, const struct ct_entry *e, uint32_t *mark)
{
	struct diff *x = ctx;
	struct redecision now, next;
	struct dept_count *c;

	(void)mark;
	x->entries++;
	if (!runtime_redecide(x->d, x->eng, x->cand, x->cand_kill, e, &next)) {
		x->undecided++;
		return 0;
	}
	/* the department it is in now, by the running policy */
	runtime_redecide(x->d, x->d->run.eng, x->d->run.pol,
			 x->d->run.kill != NULL, e, &now);
	x->decided++;
	c = &x->dc[now.pd.dept];
	c->seen++;
	if (next.new_v == next.old_v) {
		x->remarked += next.changed != 0;
		return 0;
	}
	x->changed++;
	c->changed++;
	if (next.new_v == MARK_NONE)
		c->inspect++;
	else if (next.pd.action < ACT_MAX)
		c->to[next.pd.action]++;
	list_flow(x, e, &now, &next);
	return 0;
}

/* Everything counted so far forgotten: the dump starts again. */
static void reset(struct diff *x)
{
	memset(x->dc, 0, x->d->run.pol->n_depts * sizeof(*x->dc));
	x->entries = x->undecided = x->decided = x->changed = x->listed = 0;
	x->remarked = 0;
	x->cut = 0;
	x->len = 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The whole table through on_entry, on a socket of its own. */
static int dump(struct diff *x, char *err, size_t errlen)
{
	struct ct_stats st;
	struct ct *c = ct_open(err, errlen);
	uint64_t walks = 1, start = mono_ms();
	int rc = 0;

	if (!c)
		return -1;
	ct_walk(c);
	while (ct_run(c, on_entry, x)) {
		struct pollfd pfd = { ct_fd(c), POLLIN, 0 };

		ct_get_stats(c, &st);
		if (st.walks != walks) { /* the kernel lost this dump */
			walks = st.walks;
			reset(x);
		}
		if (walks > DIFF_TRIES || mono_ms() - start > DIFF_WAIT_MS ||
		    (poll(&pfd, 1, DIFF_WAIT_MS) <= 0 && errno != EINTR)) {
			snprintf(err, errlen,
				 "conntrack dump did not complete (%" PRIu64
				 " tries, %" PRIu64 " ms)",
				 walks, mono_ms() - start);
			rc = -1;
			break;
		}
	}
	ct_get_stats(c, &st);
	if (rc == 0 && st.errors) {
		snprintf(err, errlen,
			 "conntrack dump failed (%" PRIu64 " errors)",
			 st.errors);
		rc = -1;
	}
	ct_close(c);
	return rc;
}

/* The dump in a thread of its own at a lower CPU priority, the control
 * thread waiting for it (so it alone touches the control thread's state
 * meanwhile): on a machine whose CPUs are busy, a worker woken by a
 * packet takes the CPU from the diff, not the other way round. Measured
 * in the lab (tests/netns/test_diff.sh, 2 CPUs): see its figures. */
#define DIFF_NICE 10

struct dump_job {
	struct diff *x;
	char *err;
	size_t errlen;
	int rc;
};

static void *dump_thread(void *arg)
{
	struct dump_job *j = arg;

	/* raising one's own nice value needs no privilege; this thread's
	 * alone (Linux: a thread id is a PRIO_PROCESS target) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), DIFF_NICE) != 0) {
		/* the diff runs at the daemon's priority */
	}
	j->rc = dump(j->x, j->err, j->errlen);
	return NULL;
}

static int dump_low(struct diff *x, char *err, size_t errlen)
{
	struct dump_job j = { x, err, errlen, -1 };
	pthread_t th;

	if (pthread_create(&th, NULL, dump_thread, &j) != 0)
		return dump(x, err, errlen); /* here, then */
	pthread_join(th, NULL);
	return j.rc;
}

/* "(12 dropped, 3 allowed, 2 inspected again)" into @out; "" if none. */
static void to_words(const struct dept_count *c, char *out, size_t len)
{
	static const char *const w[ACT_MAX] = { "allowed", "dropped",
						"rejected", "throttled" };
	size_t o = 0;
	int a;

	out[0] = '\0';
	for (a = 0; a < ACT_MAX; a++)
		if (c->to[a] && o < len)
			o += (size_t)snprintf(out + o, len - o,
					      "%s%" PRIu64 " %s",
					      o ? ", " : " (", c->to[a], w[a]);
	if (c->inspect && o < len)
		o += (size_t)snprintf(out + o, len - o,
				      "%s%" PRIu64 " inspected again",
				      o ? ", " : " (", c->inspect);
	if (o && o < len)
		snprintf(out + o, len - o, ")");
}

/* Flows still being inspected, in each worker's thread (a count). */
static void count_inspecting(struct worker *w, void *arg)
{
	uint64_t *n = arg;

	*n += engine_foreach_inspecting(w->eng, NULL, NULL, 0);
}

static void totals_text(struct diff *x, uint64_t inspecting, uint64_t ms)
{
	const struct policy *p = x->d->run.pol;
	char line[512], to[160];
	uint32_t i;

	if (x->cut)
		snprintf(line, sizeof(line),
			 "... %" PRIu64 " more flows change (%" PRIu64
			 " listed: --limit %u, or the reply's size)",
			 x->changed - x->listed, x->listed, x->o->limit),
			x->o->emit(x->o->ctx, line);
	for (i = 0; i < p->n_depts; i++) {
		if (!x->dc[i].seen)
			continue;
		to_words(&x->dc[i], to, sizeof(to));
		snprintf(line, sizeof(line),
			 "totals: %s: %" PRIu64 " of %" PRIu64
			 " flows change%s",
			 p->depts[i].name, x->dc[i].changed, x->dc[i].seen, to);
		x->o->emit(x->o->ctx, line);
	}
	snprintf(line, sizeof(line),
		 "totals: all: %" PRIu64 " of %" PRIu64
		 " decided flows change, %" PRIu64 " listed (%" PRIu64
		 " conntrack entries read in %" PRIu64 " ms)",
		 x->changed, x->decided, x->listed, x->entries, ms);
	x->o->emit(x->o->ctx, line);
	/* what applying rewrites besides the verdicts listed: an admin is
	 * told, not surprised by the walk's redecided records */
	snprintf(line, sizeof(line),
		 "%" PRIu64 " flows keep their verdict, their mark changes all "
		 "the same (another DSCP, or app by a new address signature): "
		 "not listed",
		 x->remarked);
	x->o->emit(x->o->ctx, line);
	snprintf(line, sizeof(line),
		 "%" PRIu64 " flows still being inspected (not in the diff: "
		 "decided when named)",
		 inspecting);
	x->o->emit(x->o->ctx, line);
}

static void totals_json(struct diff *x, uint64_t inspecting, uint64_t ms)
{
	const struct policy *p = x->d->run.pol;
	char line[512];
	uint32_t i, k = 0;

	snprintf(line, sizeof(line),
		 "],\"listed\":%" PRIu64 ",\"changed\":%" PRIu64
		 ",\"truncated\":%s,\"limit\":%u,\"decided\":%" PRIu64
		 ",\"remarked\":%" PRIu64 ",\"inspecting\":%" PRIu64
		 ",\"entries\":%" PRIu64 ",\"ms\":%" PRIu64
		 ",\"departments\":[",
		 x->listed, x->changed, x->cut ? "true" : "false", x->o->limit,
		 x->decided, x->remarked, inspecting, x->entries, ms);
	x->o->emit(x->o->ctx, line);
	for (i = 0; i < p->n_depts; i++) {
		const struct dept_count *c = &x->dc[i];

		if (!c->seen)
			continue;
		snprintf(line, sizeof(line),
			 "%s{\"department\":\"%s\",\"flows\":%" PRIu64
			 ",\"changed\":%" PRIu64 ",\"allow\":%" PRIu64
			 ",\"drop\":%" PRIu64 ",\"reject\":%" PRIu64
			 ",\"throttle\":%" PRIu64 ",\"inspect\":%" PRIu64 "}",
			 k++ ? "," : "", p->depts[i].name, c->seen, c->changed,
			 c->to[ACT_ALLOW], c->to[ACT_DROP], c->to[ACT_REJECT],
			 c->to[ACT_THROTTLE], c->inspect);
		x->o->emit(x->o->ctx, line);
	}
	x->o->emit(x->o->ctx, "]}");
}

static void emit_all(struct diff *x, uint64_t ms)
{
	uint64_t inspecting = 0;
	size_t o;

	workers_call(x->d, count_inspecting, &inspecting);
	if (x->o->json)
		x->o->emit(x->o->ctx, "{\"flows\":[");
	for (o = 0; o < x->len; o += strlen(x->lines + o) + 1)
		x->o->emit(x->o->ctx, x->lines + o);
	if (x->o->json)
		totals_json(x, inspecting, ms);
	else
		totals_text(x, inspecting, ms);
}

/* The candidate's engine: as the control thread's (runtime.c), on the
 * same classifier, with the candidate's rules, today's identities and the
 * candidate's windows now. */
static struct engine *candidate_engine(struct daemon *d,
				       const struct change_candidate *cc)
{
	struct engine_opts eo = { 0 };
	struct engine_hooks h;
	struct engine *e;

	eo.max_flows = 16;
	eo.idle_ms = d->o->idle_ms;
	if (runtime_seed(&eo.seed) != 0)
		return NULL;
	engine_hooks_of(d->run.eng, &h);
	e = engine_create(&eo, d->run.cls, cc->pol, &h);
	if (!e)
		return NULL;
	engine_set_rules(e, cc->pol, cc->kill ? cc->kill->depts[0].rules : NULL,
			 cc->kill ? cc->kill->depts[0].n_rules : 0);
	engine_set_identity(e, d->run.ids);
	/* its windows and clock as applying the candidate now would set */
	runtime_engine_windows(d, e, cc->pol);
	return e;
}

int diff_run(struct daemon *d, const struct change_candidate *cc,
	     const struct diff_opts *o, char *err, size_t errlen)
{
	struct diff x;
	uint64_t t0 = mono_ms();
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.d = d;
	x.o = o;
	x.cand = cc->pol;
	x.cand_kill = cc->kill != NULL;
	x.dc = calloc(d->run.pol->n_depts, sizeof(*x.dc));
	x.eng = x.dc ? candidate_engine(d, cc) : NULL;
	if (!x.eng) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = dump_low(&x, err, errlen);
	if (rc == 0 && x.oom) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		emit_all(&x, mono_ms() - t0);
out:
	engine_destroy(x.eng);
	free(x.dc);
	free(x.lines);
	return rc;
}
