/* mkaudit.c - a synthetic audit trail for skyfencectl report's scale test
 * (scripts/bench-report.sh): a valid chain (audit/chain.h) of records laid
 * out field by field as skyfenced writes them (audit.c, auditrec.c,
 * auditlog.c), a week of a gateway in an office:
 *
 *   sf-mkaudit [--records N] [--start EPOCH_MS] [--days D]
 *              [--departments K] [--hosts H] [--users U] [--seed S]
 *              [--rotate-every N] [--out PREFIX]
 *
 * N records (5,000,000) over D days (7) from EPOCH_MS (2026-11-30 00:00
 * UTC), more in office hours (CET) than at night and on weekends, in time
 * order. Departments dept1..K (8) and "default", H inside hosts (2000), U
 * users (1500) behind most of them. Flows: a decision each (Skype,
 * Teams, TLS, DNS, HTTP), then the kernel's end with conntrack's bytes
 * (an "end" of the daemon's table for some UDP drops, one that "lacks"
 * the decision after a restart); a flow decided again by a later name;
 * the changes of a week with their uid (kill switch on and off, rule
 * set, the feed, a reload), the flows they redecided; "suppressed" at the
 * peaks, a full disk's "gap" (the records of its minutes really left
 * out), a restart (a stop's "gap", a "start", change ids from 1 again,
 * the ends in the downtime lost), a "ct_overrun" whose lost ends are
 * missing, an unwritable record's "gap". The same --seed, the same bytes.
 *
 * Output: stdout, or the file PREFIX; with --rotate-every N, N records a
 * file named as logrotate names them: PREFIX the newest, PREFIX.1 the one
 * before, the highest number the oldest. A summary goes to stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/chain.h"

#define DAY_MS 86400000LL
#define MIN_MS 60000LL

enum act { A_ALLOW, A_DROP, A_REJECT, A_THROTTLE };
static const char *const act_name[] = { "allow", "drop", "reject", "throttle" };
static const char *const fam_rule[] = { "skype allow", "skype drop",
					"skype reject",
					"skype throttle 1Mbit" };

/* ---- randomness: splitmix64, the same stream for the same seed ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static uint64_t rnd_in(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/* 1 with probability @num / @den */
static int chance(unsigned num, unsigned den)
{
	return rnd() % den < num;
}

/* log-uniform in [2^lo, 2^(hi+1)): bytes and durations (no libm) */
static uint64_t rnd_log(unsigned lo, unsigned hi)
{
	unsigned m = (unsigned)rnd_in(lo, hi);

	return (1ULL << m) + rnd() % (1ULL << m);
}

/* ---- what the gateway sees ---- */

struct app {
	const char *name;  /* the record's "app" (master.app) */
	const char *proto; /* classifier_proto_name: redecided, lacks */
	unsigned id;
	int udp;
	unsigned port;
	const char *evidence, *media;
	int family;		  /* Skype/Teams: the rules act on it */
	const char *const *hosts; /* NULL-ended; NULL: "" */
	const char *net;	  /* the servers' /16 */
	unsigned weight;
};

static const char *const skype_hosts[] = { "api.skype.com",
					   "login.skype.com",
					   "config.edge.skype.com",
					   "teams.microsoft.com",
					   "presence.teams.microsoft.com",
					   NULL };
static const char *const teams_hosts[] = { "teams.microsoft.com",
					   "statics.teams.cdn.office.net",
					   "teams.live.com",
					   "api.flightproxy.teams.microsoft.com",
					   "teams.events.data.microsoft.com",
					   NULL };
static const char *const web_hosts[] = { "www.example.org",
					 "login.microsoftonline.com",
					 "outlook.office365.com",
					 "www.google.com",
					 "github.com",
					 "api.github.com",
					 "slack.com",
					 "zoom.us",
					 "cdn.jsdelivr.net",
					 "update.googleapis.com",
					 "www.wikipedia.org",
					 "s3.amazonaws.com",
					 "caf\xc3\xa9.example.net",
					 "intranet.corp.example",
					 NULL };
static const char *const dns_names[] = {
	"www.example.org",     "teams.microsoft.com",
	"github.com",	       "outlook.office365.com",
	"time.cloudflare.com", "ntp.ubuntu.com",
	"wpad.corp.example",   NULL
};

static const struct app apps[] = {
	{ "STUN.SkypeCall", "SkypeCall", 38, 1, 3478, "stun",
	  "audio,video,screen-share", 1, NULL, "52.113", 9 },
	{ "TLS.Skype_Teams", "Skype_Teams", 125, 0, 443, "sni", "none", 1,
	  skype_hosts, "52.112", 14 },
	{ "TLS.Teams", "Teams", 250, 0, 443, "sni", "none", 1, teams_hosts,
	  "52.114", 12 },
	{ "STUN.Teams", "Teams", 250, 1, 3479, "stun", "audio,video", 1, NULL,
	  "52.115", 5 },
	{ "TLS", "TLS", 91, 0, 443, "sni", "none", 0, web_hosts, "198.51", 35 },
	{ "DNS", "DNS", 5, 1, 53, "payload", "none", 0, dns_names, "192.0",
	  17 },
	{ "HTTP", "HTTP", 7, 0, 80, "http-host", "none", 0, web_hosts, "203.0",
	  5 },
	{ "QUIC", "QUIC", 188, 1, 443, "sni", "none", 0, web_hosts, "142.250",
	  3 },
};
#define N_APPS (sizeof(apps) / sizeof(apps[0]))
#define APP_TLS 4

struct dept {
	char name[32];
	enum act base, cur; /* the family's action: the policy's, now */
	int dscp;	    /* allowed calls marked EF */
};

struct host {
	char addr[16];
	unsigned dept;
	int user; /* -1: nobody known */
};

enum end_kind { END_CT, END_DAEMON, END_LACKS, END_NONE };

struct flow {
	int64_t start_ms, decided_ms, end_ms;
	uint32_t host, srv;
	uint16_t sport, dport;
	uint8_t app, action, kind, killed, cut, udp;
	const char *net; /* the key's: a flow decided again keeps it */
	const char *rule, *name;
	unsigned decided_pkt;
};

static struct opts {
	uint64_t records;
	int64_t start_ms;
	unsigned days, depts, hosts, users;
	uint64_t seed, rotate;
	const char *out;
} o = { 5000000, 1795996800000LL, 7, 8, 2000, 1500, 1, 0, NULL };

static struct dept *depts; /* o.depts + 1: "default" last */
static struct host *hosts;
static char (*users)[48];

/* ---- the output: the chain, the files ---- */

static struct audit_chain chain;
static FILE *out;
static uint64_t written, file_no, n_files;
static char *iobuf;
#define IOBUF (16u << 20)

static void open_next(void)
{
	char path[4096];
	uint64_t k;

	if (out && out != stdout && fclose(out) != 0) {
		perror("sf-mkaudit: close");
		exit(1);
	}
	if (!o.out) {
		out = stdout;
	} else {
		/* chunk file_no of n_files: the oldest has the highest
		 * number, the newest none */
		k = n_files - 1 - file_no;
		if (k)
			snprintf(path, sizeof(path), "%s.%" PRIu64, o.out, k);
		else
			snprintf(path, sizeof(path), "%s", o.out);
		out = fopen(path, "we");
		if (!out) {
			fprintf(stderr, "sf-mkaudit: %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
	}
	setvbuf(out, iobuf, _IOFBF, IOBUF);
	file_no++;
}

/* Set by a full disk's minutes: records made but never written. */
static int losing;
static uint64_t lost_now;

static void emit(const char *fields)
{
	char line[AUDIT_LINE_MAX + 2];
	int n;

	if (written >= o.records)
		return;
	if (losing) {
		lost_now++;
		return;
	}
	if (o.rotate && written && written % o.rotate == 0)
		open_next();
	n = audit_chain_line(&chain, fields, line, sizeof(line));
	if (n < 0) {
		fprintf(stderr, "sf-mkaudit: a record too long: %.200s\n",
			fields);
		exit(1);
	}
	line[n++] = '\n';
	if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
		perror("sf-mkaudit: write");
		exit(1);
	}
	written++;
}

/* ---- a record's fields, appended ---- */

struct rec {
	char b[AUDIT_LINE_MAX];
	size_t n;
};

static void put(struct rec *r, const char *s)
{
	size_t k = strlen(s);

	if (r->n + k >= sizeof(r->b)) {
		fprintf(stderr, "sf-mkaudit: a record over 4096 bytes\n");
		exit(1);
	}
	memcpy(r->b + r->n, s, k + 1);
	r->n += k;
}

static void put_u(struct rec *r, const char *key, uint64_t v)
{
	char t[96];

	snprintf(t, sizeof(t), ",\"%s\":%" PRIu64, key, v);
	put(r, t);
}

static void put_i(struct rec *r, const char *key, int64_t v)
{
	char t[96];

	snprintf(t, sizeof(t), ",\"%s\":%" PRId64, key, v);
	put(r, t);
}

/* a string the daemon writes as it is (no escaping needed) */
static void put_s(struct rec *r, const char *key, const char *v)
{
	put(r, ",\"");
	put(r, key);
	put(r, "\":\"");
	put(r, v);
	put(r, "\"");
}

/* a name kept exactly, escaped as the daemon escapes it */
static void put_j(struct rec *r, const char *key, const char *v)
{
	if (audit_json_member(r->b, sizeof(r->b), key, v) != 0) {
		fprintf(stderr, "sf-mkaudit: a record over 4096 bytes\n");
		exit(1);
	}
	r->n = strlen(r->b);
}

static void rec_start(struct rec *r, int64_t ts, const char *event)
{
	r->n = (size_t)snprintf(r->b, sizeof(r->b),
				"\"ts_ms\":%" PRId64 ",\"event\":\"%s\"", ts,
				event);
}

/* the flow's key (direction-free: the lower address text first), its
 * initiator, the department and who (audit_flow_fields' order) */
static void put_flow(struct rec *r, const struct flow *f)
{
	const struct host *h = &hosts[f->host];
	char srv[24], key[96];

	snprintf(srv, sizeof(srv), "%s.%u.%u", f->net, f->srv >> 8,
		 (f->srv & 0xff) + 1);
	if (strcmp(h->addr, srv) <= 0)
		snprintf(key, sizeof(key), "%s|%s|%u|%s|%u|0",
			 f->udp ? "UDP" : "TCP", h->addr, f->sport, srv,
			 f->dport);
	else
		snprintf(key, sizeof(key), "%s|%s|%u|%s|%u|0",
			 f->udp ? "UDP" : "TCP", srv, f->dport, h->addr,
			 f->sport);
	put_s(r, "flow", key);
	put_s(r, "initiator", h->addr);
	put_u(r, "initiator_port", f->sport);
}

static void put_dept_who(struct rec *r, const struct flow *f)
{
	const struct host *h = &hosts[f->host];
	const struct dept *d = &depts[h->dept];

	put_j(r, "department", d->name);
	if (h->user >= 0) {
		char esc[160];

		put_j(r, "user", users[h->user]);
		if (h->dept < o.depts) {
			audit_json_escape(esc, sizeof(esc), d->name);
			put(r, ",\"groups\":[\"");
			put(r, esc);
			put(r, "\",\"staff\"]");
		} else {
			put(r, ",\"groups\":[\"staff\"]");
		}
	}
}

static void put_media(struct rec *r, const struct flow *f)
{
	const struct app *a = &apps[f->app];

	put_s(r, "media", a->media);
	if (a->family && depts[hosts[f->host].dept].dscp &&
	    f->action == A_ALLOW)
		put_u(r, "dscp", 46);
}

/* "decision", or "end" of the daemon's table (the same fields) */
static void rec_decision(const struct flow *f, const char *event, int64_t ts,
			 uint64_t pkts, uint64_t bytes)
{
	const struct app *a = &apps[f->app];
	struct rec r;

	rec_start(&r, ts, event);
	put_flow(&r, f);
	put_dept_who(&r, f);
	put_j(&r, "rule", f->rule);
	put_s(&r, "app", a->name);
	put_u(&r, "app_id", a->id);
	put_s(&r, "confidence", "DPI");
	put_s(&r, "evidence", a->evidence);
	put_s(&r, "decided_as", a->name);
	put_j(&r, "host", f->name);
	put_s(&r, "direction", "outbound");
	put_s(&r, "action", act_name[f->action]);
	put_s(&r, "decided_at", "packet");
	put_u(&r, "decided_pkt", f->decided_pkt);
	put(&r, ",\"enforced\":true");
	put_u(&r, "pkts", pkts);
	put_u(&r, "bytes", bytes);
	put_media(&r, f);
	emit(r.b);
}

/* A flow's first packets when it was decided. */
static void decided_size(const struct flow *f, uint64_t *pkts, uint64_t *bytes)
{
	*pkts = f->decided_pkt;
	*bytes = apps[f->app].udp ? 60 + rnd_in(0, 60) * f->decided_pkt
				  : 60 * f->decided_pkt + rnd_in(190, 620);
}

/* ---- the flows in flight: a heap by end ---- */

static struct flow *heap;
static size_t n_heap, cap_heap;

static void sift_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct flow t;

		if (l < n_heap && heap[l].end_ms < heap[m].end_ms)
			m = l;
		if (l + 1 < n_heap && heap[l + 1].end_ms < heap[m].end_ms)
			m = l + 1;
		if (m == i)
			return;
		t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

static void heap_push(const struct flow *f)
{
	size_t i;

	if (n_heap == cap_heap) {
		cap_heap = cap_heap ? 2 * cap_heap : 4096;
		heap = realloc(heap, cap_heap * sizeof(*heap));
		if (!heap) {
			perror("sf-mkaudit");
			exit(1);
		}
	}
	i = n_heap++;
	heap[i] = *f;
	while (i && heap[(i - 1) / 2].end_ms > heap[i].end_ms) {
		struct flow t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void heap_pop(struct flow *f)
{
	*f = heap[0];
	heap[0] = heap[--n_heap];
	sift_down(0);
}

static void heapify(void)
{
	size_t i;

	for (i = n_heap / 2; i-- > 0;)
		sift_down(i);
}

/* The kernel's end of @f: conntrack's counts, or the daemon's table's. */
static void end_flow(const struct flow *f)
{
	const struct app *a = &apps[f->app];
	uint64_t b[2], p[2], dur_s;
	int64_t start = f->start_ms;
	struct rec r;

	if (f->kind == END_NONE)
		return;
	dur_s = (uint64_t)(f->end_ms - start) / 1000 + 1;
	if (f->action == A_DROP || f->action == A_REJECT) {
		/* what the host tried, before the drop; after a cut, what
		 * got through before it too */
		p[0] = rnd_in(f->decided_pkt, f->decided_pkt + 8);
		b[0] = p[0] * rnd_in(60, 240);
		p[1] = f->action == A_REJECT ? 1 : rnd_in(0, 6);
		b[1] = p[1] * 60;
		if (f->cut) {
			b[0] += rnd_log(14, 22);
			b[1] += rnd_log(16, 24);
			p[0] += b[0] / 900;
			p[1] += b[1] / 1100;
		}
	} else if (a->id == 5) {
		p[0] = p[1] = 1;
		b[0] = rnd_in(40, 90);
		b[1] = rnd_in(80, 320);
	} else if (a->family && a->udp) {
		/* a call's media: 4 KB/s to 256 KB/s each way */
		uint64_t rate = f->action == A_THROTTLE ? rnd_log(11, 14)
							: rnd_log(11, 16);

		b[0] = dur_s * rate;
		b[1] = dur_s * rate / 4 * rnd_in(2, 6);
		p[0] = b[0] / 180 + 1;
		p[1] = b[1] / 180 + 1;
	} else {
		b[0] = rnd_log(10, a->family ? 19 : 22);
		b[1] = rnd_log(11, a->family ? 21 : 25);
		p[0] = b[0] / 600 + 3;
		p[1] = b[1] / 1200 + 2;
	}
	if (f->kind == END_DAEMON) {
		rec_decision(f, "end", f->end_ms, p[0] + p[1], b[0] + b[1]);
		return;
	}
	rec_start(&r, f->end_ms, "end");
	put_flow(&r, f);
	if (f->kind == END_LACKS) {
		put_s(&r, "app", a->proto);
		put_u(&r, "app_id", a->id);
		put_s(&r, "lacks",
		      "department rule host decided_ms: no decision kept "
		      "(decided before this start, or given up by a full "
		      "side table)");
	} else {
		put_dept_who(&r, f);
		put_j(&r, "rule", f->rule);
		put_s(&r, "app", a->name);
		put_u(&r, "app_id", a->id);
		put_j(&r, "host", f->name);
		put_s(&r, "evidence", a->evidence);
	}
	put_s(&r, "action", act_name[f->action]);
	put_s(&r, "source", "conntrack");
	put_i(&r, "start_ms", start);
	put_i(&r, "end_ms", f->end_ms);
	put_i(&r, "duration_ms", f->end_ms - start);
	if (f->kind != END_LACKS)
		put_i(&r, "decided_ms", f->decided_ms);
	put_u(&r, "orig_pkts", p[0]);
	put_u(&r, "orig_bytes", b[0]);
	put_u(&r, "reply_pkts", p[1]);
	put_u(&r, "reply_bytes", b[1]);
	put_u(&r, "pkts", p[0] + p[1]);
	put_u(&r, "bytes", b[0] + b[1]);
	emit(r.b);
}

/* ---- changes, restarts, losses: the week's events ---- */

enum ev_kind {
	EV_KILL_ON,
	EV_KILL_OFF,
	EV_RULE_SET,
	EV_RULE_BACK,
	EV_FEED,
	EV_RELOAD,
	EV_DISK_FULL,
	EV_DISK_BACK,
	EV_STOP,
	EV_START,
	EV_OVERRUN,
	EV_UNWRITABLE,
};

struct ev {
	int64_t ts;
	enum ev_kind kind;
	unsigned arg;
	long uid;
};

static struct ev *evs;
static size_t n_evs, next_ev;
static uint64_t change_id, policy_no, ct_lost_total;
static int kill_on, down;
static int64_t stop_ms;

static void add_ev(int64_t ts, enum ev_kind k, unsigned arg, long uid)
{
	evs = realloc(evs, (n_evs + 1) * sizeof(*evs));
	if (!evs) {
		perror("sf-mkaudit");
		exit(1);
	}
	evs[n_evs++] = (struct ev){ ts, k, arg, uid };
}

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* @h:@m UTC on the day a fraction @num / @den into the span */
static int64_t at_day(unsigned num, unsigned den, int h, int m)
{
	return o.start_ms + (int64_t)(o.days * num / den) * DAY_MS +
	       (h * 60 + m) * MIN_MS;
}

static void plan_events(void)
{
	int64_t t0 = o.start_ms;
	unsigned d;

	for (d = 0; d < o.days; d++) {
		int64_t day = t0 + (int64_t)d * DAY_MS;
		/* 1970-01-01 was a Thursday */
		int dow = (int)(((day / DAY_MS) + 4) % 7);
		long admin = 1000 + (long)(d % 3);

		add_ev(day + 7 * 3600000LL + (int64_t)rnd_in(0, 40) * MIN_MS,
		       EV_FEED, 0, -1);
		if (dow == 0 || dow == 6)
			continue;
		if (d % 3 == 1) {
			int64_t on = day + 13 * 3600000LL +
				     (int64_t)rnd_in(0, 120) * MIN_MS;

			add_ev(on, EV_KILL_ON, 0, 0);
			add_ev(on + (int64_t)rnd_in(10, 90) * MIN_MS,
			       EV_KILL_OFF, 0, 0);
		}
		if (o.depts && d % 2 == 0) {
			int64_t at = day + 8 * 3600000LL +
				     (int64_t)rnd_in(0, 180) * MIN_MS;
			unsigned k = (unsigned)rnd_in(0, o.depts - 1);

			add_ev(at, EV_RULE_SET, k, admin);
			add_ev(at + (int64_t)rnd_in(60, 300) * MIN_MS,
			       EV_RULE_BACK, k, admin);
		}
		if (d % 4 == 3)
			add_ev(day + 17 * 3600000LL +
				       (int64_t)rnd_in(0, 59) * MIN_MS,
			       EV_RELOAD, 0, 0);
	}
	/* in office hours: a full disk for minutes, a restart, overruns, a
	 * record too long */
	add_ev(at_day(3, 10, 10, 12), EV_DISK_FULL, 0, 0);
	add_ev(at_day(3, 10, 10, 12) + (int64_t)rnd_in(2, 6) * MIN_MS,
	       EV_DISK_BACK, 0, 0);
	add_ev(at_day(55, 100, 12, 40), EV_STOP, 0, 0);
	add_ev(at_day(55, 100, 12, 40) + (int64_t)rnd_in(1, 4) * MIN_MS,
	       EV_START, 0, 0);
	add_ev(at_day(3, 4, 15, 5), EV_OVERRUN, 0, 0);
	add_ev(at_day(17, 20, 16, 30), EV_UNWRITABLE, 0, 0);
	qsort(evs, n_evs, sizeof(*evs), ev_cmp);
}

static void new_policy(void)
{
	char text[64];
	uint8_t h[AUDIT_HASH];

	snprintf(text, sizeof(text), "policy %" PRIu64 " %" PRIu64, o.seed,
		 policy_no++);
	audit_sha256(text, strlen(text), h);
	audit_hex(h, AUDIT_HASH, chain.policy);
}

static void rec_start_record(int64_t ts, const char *how)
{
	struct rec r;

	rec_start(&r, ts, "start");
	put_s(&r, "version", "0.1.0");
	put_u(&r, "pid", rnd_in(600, 40000));
	put_s(&r, "chain", how);
	put_u(&r, "repaired_bytes", 0);
	put_u(&r, "rate", 200);
	put_u(&r, "burst", 2000);
	emit(r.b);
}

static uint64_t rec_change(int64_t ts, long uid, const char *what)
{
	struct rec r;

	new_policy();
	rec_start(&r, ts, "change");
	put_u(&r, "change", ++change_id);
	put_i(&r, "uid", uid);
	put_j(&r, "what", what);
	emit(r.b);
	return change_id;
}

/* @f redecided by change @id to @to with @rule. */
static void redecide(struct flow *f, int64_t ts, uint64_t id, long uid,
		     enum act to, const char *rule)
{
	const struct app *a = &apps[f->app];
	struct rec r;
	int passing = f->action == A_ALLOW || f->action == A_THROTTLE;

	rec_start(&r, ts, "redecided");
	put_flow(&r, f);
	put_dept_who(&r, f);
	put_j(&r, "rule", rule);
	put_s(&r, "app", a->proto);
	if (f->kind != END_LACKS)
		put_j(&r, "host", f->name);
	put_u(&r, "app_id", a->id);
	put_s(&r, "old_action", act_name[f->action]);
	put_s(&r, "action", act_name[to]);
	put_u(&r, "change", id);
	put_i(&r, "uid", uid);
	f->action = (uint8_t)to;
	f->rule = rule;
	put_media(&r, f);
	emit(r.b);
	if (passing && (to == A_DROP || to == A_REJECT)) {
		/* the host tries a while longer, then gives up; a call's
		 * media often keeps trying until it passes again */
		f->cut = 1;
		if (f->end_ms > ts + 150000 && !(a->udp && chance(1, 2)))
			f->end_ms = ts + (int64_t)rnd_in(20000, 150000);
	}
}

static void run_event(const struct ev *e)
{
	char what[1024];
	uint64_t id;
	size_t i;

	switch (e->kind) {
	case EV_KILL_ON:
		id = rec_change(e->ts, e->uid, "killswitch on for skype,teams");
		kill_on = 1;
		for (i = 0; i < n_heap; i++)
			if (apps[heap[i].app].family &&
			    heap[i].action != A_DROP) {
				heap[i].killed = 1;
				redecide(&heap[i], e->ts, id, e->uid, A_DROP,
					 "killswitch");
			}
		heapify();
		break;
	case EV_KILL_OFF:
		id = rec_change(e->ts, e->uid, "killswitch off");
		kill_on = 0;
		for (i = 0; i < n_heap; i++) {
			struct flow *f = &heap[i];
			const struct dept *d = &depts[hosts[f->host].dept];

			if (f->killed && d->cur != A_DROP)
				redecide(f, e->ts, id, e->uid, d->cur,
					 fam_rule[d->cur]);
			f->killed = 0;
		}
		break;
	case EV_RULE_SET:
	case EV_RULE_BACK: {
		struct dept *d = &depts[e->arg];
		enum act to = e->kind == EV_RULE_SET
				      ? (d->base == A_DROP ? A_ALLOW : A_DROP)
				      : d->base;

		snprintf(what, sizeof(what), "rule set %s skype %s", d->name,
			 to == A_DROP ? "drop" : "allow");
		id = rec_change(e->ts, e->uid, what);
		d->cur = to;
		if (kill_on)
			break;
		for (i = 0; i < n_heap; i++)
			if (hosts[heap[i].host].dept == e->arg &&
			    apps[heap[i].app].family && heap[i].action != to)
				redecide(&heap[i], e->ts, id, e->uid, to,
					 fam_rule[to]);
		heapify();
		break;
	}
	case EV_FEED:
		snprintf(what, sizeof(what),
			 "feed reload: Worldwide version 2026%02u%02u00 (was "
			 "2026%02u%02u00), published 2026-12-01, fetched "
			 "2026-12-07T08:00:00Z: %u prefix(es), %u name(s) new",
			 11 + (unsigned)(policy_no % 2),
			 1 + (unsigned)(policy_no % 28), 11, 1,
			 (unsigned)rnd_in(0, 12), (unsigned)rnd_in(0, 4));
		rec_change(e->ts, -1, what);
		break;
	case EV_RELOAD:
		rec_change(e->ts, 0,
			   "reload /etc/skyfence/skyfence.policy (SIGHUP)");
		break;
	case EV_DISK_FULL:
		losing = 1;
		lost_now = 0;
		stop_ms = e->ts;
		break;
	case EV_DISK_BACK: {
		struct audit_gap g = { .lost = lost_now,
				       .since_ms = (uint64_t)stop_ms,
				       .until_ms = (uint64_t)e->ts,
				       .cause = AUDIT_GAP_BUFFER };
		struct rec r;

		losing = 0;
		audit_gap_fields(r.b, sizeof(r.b), (uint64_t)e->ts, &g,
				 "No space left on device");
		emit(r.b);
		break;
	}
	case EV_STOP:
		/* the ends in the downtime are lost, the rest lack their
		 * decision after the start */
		down = 1;
		stop_ms = e->ts;
		for (i = 0; i < n_heap; i++)
			heap[i].kind = END_LACKS;
		break;
	case EV_START: {
		struct audit_gap g = { .lost = rnd_in(3, 40),
				       .since_ms = (uint64_t)stop_ms - 4000,
				       .until_ms = (uint64_t)stop_ms,
				       .cause = AUDIT_GAP_STOP };
		struct rec r;

		down = 0;
		change_id = 0;
		kill_on = 0;
		audit_gap_fields(r.b, sizeof(r.b), (uint64_t)e->ts, &g,
				 "not written at the stop: the disk was full");
		emit(r.b);
		rec_start_record(e->ts, "continued from the file");
		break;
	}
	case EV_OVERRUN: {
		uint64_t lost = 0;
		struct rec r;

		for (i = 0; i < n_heap && lost < 40; i += 3)
			if (heap[i].kind != END_NONE) {
				heap[i].kind = END_NONE;
				lost++;
			}
		ct_lost_total += lost;
		rec_start(&r, e->ts, "ct_overrun");
		put_u(&r, "overruns", 1);
		put(&r, ",\"reliable\":false");
		put_u(&r, "lost", lost);
		put_u(&r, "lost_total", ct_lost_total);
		put_s(&r, "note",
		      "destroy events lost (the socket's drops): their flows "
		      "have no end record");
		emit(r.b);
		break;
	}
	case EV_UNWRITABLE: {
		struct audit_gap g = { .lost = 1,
				       .since_ms = (uint64_t)e->ts,
				       .until_ms = (uint64_t)e->ts,
				       .cause = AUDIT_GAP_UNWRITABLE };
		struct rec r;

		audit_gap_fields(r.b, sizeof(r.b), (uint64_t)e->ts, &g,
				 "a record of 4391 bytes: longer than a line");
		emit(r.b);
		break;
	}
	}
}

/* ---- the office's rhythm: how busy each minute is ---- */

static double *cdf; /* per minute, rising to 1 */
static size_t n_min;

static unsigned busy(int64_t minute_ms)
{
	/* CET: office hours by the local clock */
	int64_t local = minute_ms + 3600000LL;
	int dow = (int)(((local / DAY_MS) + 4) % 7);
	int h = (int)((local % DAY_MS) / 3600000LL);
	static const unsigned w[24] = { 4,  3,	 3,   3,  3,  5,  12,  40,
					95, 100, 100, 90, 60, 95, 100, 100,
					85, 55,	 25,  15, 10, 8,  6,   5 };

	return dow == 0 || dow == 6 ? w[h] / 8 + 2 : w[h];
}

static void plan_rhythm(void)
{
	double sum = 0;
	size_t i;

	n_min = (size_t)o.days * 1440;
	cdf = malloc(n_min * sizeof(*cdf));
	if (!cdf) {
		perror("sf-mkaudit");
		exit(1);
	}
	for (i = 0; i < n_min; i++) {
		sum += busy(o.start_ms + (int64_t)i * MIN_MS);
		cdf[i] = sum;
	}
	for (i = 0; i < n_min; i++)
		cdf[i] /= sum;
}

/* The instant a fraction @u of the span's flows have started by. */
static int64_t instant_of(double u)
{
	size_t lo = 0, hi = n_min - 1;
	double before, frac;

	if (u >= 1.0)
		return o.start_ms + (int64_t)((double)n_min * MIN_MS * u);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	before = lo ? cdf[lo - 1] : 0;
	frac = cdf[lo] > before ? (u - before) / (cdf[lo] - before) : 0;
	return o.start_ms + (int64_t)lo * MIN_MS + (int64_t)(frac * MIN_MS);
}

/* ---- a new flow ---- */

static unsigned app_weight_total;

static void new_flow(int64_t now)
{
	struct flow f;
	const struct app *a;
	const struct dept *d;
	unsigned w = (unsigned)rnd_in(0, app_weight_total - 1), i;
	uint64_t p, b;

	memset(&f, 0, sizeof(f));
	for (i = 0; w >= apps[i].weight; i++)
		w -= apps[i].weight;
	f.app = (uint8_t)i;
	a = &apps[i];
	f.host = (uint32_t)rnd_in(0, o.hosts - 1);
	/* a few servers take most flows */
	f.srv = (uint32_t)(chance(3, 4) ? rnd_in(0, 15) : rnd_in(0, 4000));
	f.sport = (uint16_t)rnd_in(32768, 60999);
	f.dport = (uint16_t)a->port;
	f.udp = (uint8_t)a->udp;
	f.net = a->net;
	f.name = "";
	if (a->hosts) {
		unsigned n = 0;

		while (a->hosts[n])
			n++;
		f.name = a->hosts[chance(1, 2) ? 0 : rnd_in(0, n - 1)];
	}
	d = &depts[hosts[f.host].dept];
	f.decided_pkt = a->udp ? 1 : a->id == 91 || a->id == 7 ? 6 : 4;
	f.start_ms = now - (int64_t)rnd_in(2, 40 * f.decided_pkt);
	f.decided_ms = now;
	if (!a->family) {
		f.action = A_ALLOW;
		f.rule = "";
	} else if (kill_on) {
		f.action = A_DROP;
		f.rule = "killswitch";
	} else {
		f.action = (uint8_t)d->cur;
		f.rule = fam_rule[d->cur];
	}
	/* how long it lasts, and the conntrack GC's delay after */
	if (f.action == A_DROP || f.action == A_REJECT)
		f.end_ms = now + (int64_t)rnd_in(1000, 120000);
	else if (a->id == 5)
		f.end_ms = now + 30000 + (int64_t)rnd_in(0, 60000);
	else if (a->family && a->udp)
		f.end_ms = now + (int64_t)rnd_log(16, 21) + 30000;
	else
		f.end_ms = now + (int64_t)rnd_log(10, 19) +
			   (int64_t)rnd_in(0, 120000);
	f.kind = a->udp && (f.action == A_DROP || f.action == A_REJECT) &&
				 chance(1, 3)
			 ? END_DAEMON
			 : END_CT;
	/* a name read on decides a flow again, harder */
	if (a->family && !a->udp && f.action != A_ALLOW && chance(1, 25)) {
		struct flow first = f;

		first.app = APP_TLS;
		first.action = A_ALLOW;
		first.rule = "";
		first.name = "";
		first.decided_pkt = 3;
		decided_size(&first, &p, &b);
		rec_decision(&first, "decision", now, p, b);
	} else if (a->id == 125 && f.action == A_THROTTLE && chance(1, 20)) {
		struct flow first = f;

		decided_size(&first, &p, &b);
		rec_decision(&first, "decision", now, p, b);
		f.app = 2; /* TLS.Teams: the department drops Teams */
		f.action = A_DROP;
		f.rule = "teams drop";
		f.name = "teams.microsoft.com";
		f.decided_pkt = 7;
	}
	decided_size(&f, &p, &b);
	rec_decision(&f, "decision", now, p, b);
	heap_push(&f);
	/* records over --audit-rate at the peaks */
	if (busy(now - now % MIN_MS) >= 95 && chance(1, 4000)) {
		struct rec r;

		rec_start(&r, now, "suppressed");
		put_u(&r, "suppressed", rnd_in(1, 900));
		put_i(&r, "since_ms", now - (int64_t)rnd_in(1000, 3000));
		put_i(&r, "until_ms", now - (int64_t)rnd_in(0, 999));
		put_u(&r, "rate", 200);
		put_u(&r, "burst", 2000);
		put_j(&r, "department", d->name);
		emit(r.b);
	}
}

/* ---- set-up ---- */

static void make_world(void)
{
	static const char *const first[] = {
		"anna",	  "ben",     "clara",	    "david",	  "emma",
		"felix",  "greta",   "hannah",	    "ivan",	  "jonas",
		"katrin", "lena",    "marco",	    "nina",	  "oskar",
		"paula",  "quentin", "rosa",	    "sven",	  "tanja",
		"ulrich", "vera",    "j\xc3\xb6rg", "zo\xc3\xab",
	};
	static const char *const last[] = {
		"berg",	      "schmidt",       "keller",   "wagner",  "becker",
		"hoffmann",   "klein",	       "wolf",	   "neumann", "braun",
		"zimmermann", "kr\xc3\xbcger", "hartmann", "lange",   "werner",
		"krause",     "meier",	       "lehmann",  "koch",    "richter",
	};
	const unsigned nf = sizeof(first) / sizeof(first[0]),
		       nl = sizeof(last) / sizeof(last[0]);
	unsigned i;

	depts = calloc(o.depts + 1, sizeof(*depts));
	hosts = calloc(o.hosts, sizeof(*hosts));
	users = calloc(o.users ? o.users : 1, sizeof(*users));
	if (!depts || !hosts || !users) {
		perror("sf-mkaudit");
		exit(1);
	}
	for (i = 0; i <= o.depts; i++) {
		static const enum act pattern[] = { A_ALLOW, A_THROTTLE, A_DROP,
						    A_REJECT, A_ALLOW };

		if (i < o.depts) {
			snprintf(depts[i].name, sizeof(depts[i].name), "dept%u",
				 i + 1);
			depts[i].base = pattern[i % 5];
			depts[i].dscp = i % 5 == 4;
		} else {
			snprintf(depts[i].name, sizeof(depts[i].name),
				 "default");
			depts[i].base = A_REJECT;
		}
		depts[i].cur = depts[i].base;
	}
	for (i = 0; i < o.users; i++) {
		unsigned k = i % (nf * nl), gen = i / (nf * nl);

		/* some as Windows names them, DOMAIN\user */
		snprintf(users[i], sizeof(users[i]), "%s%s.%s%.0u",
			 i % 10 == 3 ? "CORP\\" : "", first[k % nf],
			 last[k / nf], gen);
	}
	for (i = 0; i < o.hosts; i++) {
		struct host *h = &hosts[i];

		/* a tenth in no department */
		h->dept = i % 10 == 9 || !o.depts ? o.depts
						  : (i * 7 / 10) % o.depts;
		snprintf(h->addr, sizeof(h->addr), "10.%u.%u.%u", h->dept + 1,
			 i / 250 % 250, i % 250 + 1);
		h->user = o.users && i % 5 != 4 ? (int)(rnd() % o.users) : -1;
	}
	for (i = 0; i < N_APPS; i++)
		app_weight_total += apps[i].weight;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sf-mkaudit [--records N] [--start EPOCH_MS] [--days D] "
		"[--departments K]\n"
		"                  [--hosts H] [--users U] [--seed S] "
		"[--rotate-every N] [--out PREFIX]\n");
	exit(2);
}

static uint64_t num(const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "sf-mkaudit: bad number '%s'\n", s);
		usage();
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "departments", required_argument, NULL, 'k' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "users", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 'S' },
		{ "rotate-every", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	double flows = 0, wflows = 0, want;
	int64_t last_now = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.records = num(optarg, 1, UINT64_MAX / 2);
			break;
		case 's':
			o.start_ms = (int64_t)num(optarg, 0, 1ULL << 50);
			break;
		case 'd':
			o.days = (unsigned)num(optarg, 1, 3660);
			break;
		case 'k':
			o.depts = (unsigned)num(optarg, 0, 254);
			break;
		case 'H':
			o.hosts = (unsigned)num(optarg, 1, 62500);
			break;
		case 'u':
			o.users = (unsigned)num(optarg, 0, 10000000);
			break;
		case 'S':
			o.seed = num(optarg, 0, UINT64_MAX);
			break;
		case 'r':
			o.rotate = num(optarg, 1, UINT64_MAX);
			break;
		case 'o':
			o.out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (o.rotate && !o.out))
		usage();
	rng = o.seed;
	n_files = o.rotate ? (o.records + o.rotate - 1) / o.rotate : 1;
	iobuf = malloc(IOBUF);
	if (!iobuf) {
		perror("sf-mkaudit");
		return 1;
	}
	snprintf(chain.node, sizeof(chain.node), "gw1");
	new_policy();
	make_world();
	plan_rhythm();
	plan_events();
	open_next();
	rec_start_record(o.start_ms, "new");
	/* the flows' starts follow the rhythm, so many that the records
	 * reach N about at the span's end (what a flow writes, measured
	 * as it goes) */
	want = (double)o.records / 2.05;
	while (written < o.records) {
		int64_t now = instant_of(flows / want);
		struct flow f;

		if (now < last_now)
			now = last_now;
		last_now = now;
		flows += 1;
		/* the records a flow writes, measured over the flows that
		 * were written (none while down or losing) */
		if (!down && !losing)
			wflows += 1;
		if (written > 20000)
			want = wflows * (double)o.records / (double)written;
		for (;;) {
			int64_t te = n_heap ? heap[0].end_ms : INT64_MAX,
				tv = next_ev < n_evs ? evs[next_ev].ts
						     : INT64_MAX;

			if (te > now && tv > now)
				break;
			if (tv <= te) {
				run_event(&evs[next_ev++]);
				continue;
			}
			heap_pop(&f);
			if (down) /* nobody listening */
				continue;
			end_flow(&f);
		}
		if (!down)
			new_flow(now);
	}
	if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
		perror("sf-mkaudit: write");
		return 1;
	}
	fprintf(stderr,
		"sf-mkaudit: %" PRIu64 " records, seq 1 to %" PRIu64
		", %" PRIu64 " file(s), %.0f flows\n",
		written, chain.seq, n_files, flows);
	return 0;
}
