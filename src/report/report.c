/* report.c - the audit trail summed up (report.h): the chain checked as
 * `audit verify` checks it, each record in range summed into its
 * department, and what the report shows built at the end. */
#include "report/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/evidence.h"
#include "core/hash.h"
#include "policy/tz.h"
#include "report/record.h"

#define NONE UINT32_MAX
#define MINUTE_MS 60000LL
#define SERIES_MAX 400000 /* buckets kept before coarsening */
#define OTHERS "(others)"
/* the end of a flow whose decision is in no file read */
#define UNKNOWN_DEPT "(unknown)"

/* ---- strings to dense ids ---- */

struct names {
	char **key;
	size_t *len; /* a key may hold a NUL (a JSON \u0000) */
	uint64_t *hash;
	uint32_t n, cap;
	uint32_t *slot; /* 0: empty, else id + 1 */
	uint32_t mask;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* FNV-1a's low bits hang on the low bits of the bytes alone (a product
 * carries up, never down): keys that differ in a port's last digits
 * cluster in a table indexed by them, so every index here goes through
 * hash_mix64 (core/hash.h). */

static int names_grow(struct names *m)
{
	uint32_t nm = m->mask ? m->mask * 2 + 1 : 63, i;
	uint32_t *slot = calloc((size_t)nm + 1, sizeof(*slot));

	if (!slot)
		return -1;
	for (i = 0; i < m->n; i++) {
		uint32_t j = (uint32_t)m->hash[i] & nm;

		while (slot[j])
			j = (j + 1) & nm;
		slot[j] = i + 1;
	}
	free(m->slot);
	m->slot = slot;
	m->mask = nm;
	return 0;
}

/* The id of @s (@n bytes), added if new. -1: no memory. */
static int64_t names_id(struct names *m, const char *s, size_t n)
{
	uint64_t h = hash_mix64(hash_bytes(s, n, 0xcbf29ce484222325ULL));
	uint32_t j;
	char *k;

	if ((m->n + 1) * 2 > m->mask && names_grow(m) != 0)
		return -1;
	for (j = (uint32_t)h & m->mask; m->slot[j]; j = (j + 1) & m->mask) {
		uint32_t i = m->slot[j] - 1;

		if (m->hash[i] == h && m->len[i] == n &&
		    memcmp(m->key[i], s, n) == 0)
			return i;
	}
	if (m->n == m->cap) {
		uint32_t nc = m->cap ? m->cap * 2 : 16;
		char **nk = realloc(m->key, nc * sizeof(*nk));
		uint64_t *nh;
		size_t *nl;

		if (!nk)
			return -1;
		m->key = nk;
		nh = realloc(m->hash, nc * sizeof(*nh));
		if (!nh)
			return -1;
		m->hash = nh;
		nl = realloc(m->len, nc * sizeof(*nl));
		if (!nl)
			return -1;
		m->len = nl;
		m->cap = nc;
	}
	k = malloc(n + 1);
	if (!k)
		return -1;
	memcpy(k, s, n);
	k[n] = '\0';
	m->key[m->n] = k;
	m->len[m->n] = n;
	m->hash[m->n] = h;
	m->slot[j] = m->n + 1;
	return m->n++;
}

static void names_free(struct names *m)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		free(m->key[i]);
	free(m->key);
	free(m->len);
	free(m->hash);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* ---- a department's sums ---- */

struct tally {
	uint64_t sessions[REPORT_ACTIONS];
	uint64_t bytes;
};

struct keyed {
	struct names names;
	struct tally *t;
	uint32_t cap;
	uint32_t others; /* the id of OTHERS, or NONE */
};

struct dacc {
	struct report_dept out;
	struct keyed hosts, users, evidence;
	struct report_top *tops; /* hosts, users, evidence after finish */
	struct report_point *points;
	size_t n_points;
};

/* The id of @s in @k, OTHERS beyond REPORT_KEYS_MAX. -1: no memory. */
static int64_t keyed_id(struct keyed *k, const char *s, size_t n)
{
	int64_t id;

	if (k->names.n >= REPORT_KEYS_MAX) {
		if (k->others != NONE)
			return k->others;
		s = OTHERS;
		n = strlen(OTHERS);
	}
	id = names_id(&k->names, s, n);
	if (id < 0)
		return -1;
	if ((uint32_t)id >= k->cap) {
		uint32_t nc = k->cap ? k->cap * 2 : 16;
		struct tally *nt = realloc(k->t, nc * sizeof(*nt));

		if (!nt)
			return -1;
		memset(nt + k->cap, 0, (nc - k->cap) * sizeof(*nt));
		k->t = nt;
		k->cap = nc;
	}
	if (k->names.n >= REPORT_KEYS_MAX && k->others == NONE &&
	    strcmp(k->names.key[id], OTHERS) == 0)
		k->others = (uint32_t)id;
	return id;
}

static void keyed_free(struct keyed *k)
{
	names_free(&k->names);
	free(k->t);
}

/* ---- flows seen lately: a session counted once, with its last action ---- */

struct recent {
	uint64_t key; /* 0: a free entry */
	int64_t ts_ms;
	uint32_t dept, host, user, evid;
	uint8_t action; /* REPORT_ACTIONS: no session counted */
	uint8_t passed, cut;
	/* the end record counted: one from conntrack is the flow's whole
	 * count and wins over the daemon's table's (a throttled flow has
	 * both), whichever comes first */
	uint8_t end_kind, end_ct;
	uint64_t end_bytes;
};

enum { END_NONE, END_THROUGH, END_CUT, END_ATTEMPTED };

#define RECENT_SLOTS (REPORT_RECENT_FLOWS * 2)

struct recents {
	struct recent e[REPORT_RECENT_FLOWS];
	uint32_t slot[RECENT_SLOTS]; /* 0: empty, else index + 1 */
	uint32_t next;		     /* the oldest entry, reused next */
};

static uint32_t *recent_slot(struct recents *rs, uint64_t key)
{
	uint32_t j = (uint32_t)key & (RECENT_SLOTS - 1);

	while (rs->slot[j] && rs->e[rs->slot[j] - 1].key != key)
		j = (j + 1) & (RECENT_SLOTS - 1);
	return &rs->slot[j];
}

static struct recent *recent_find(struct recents *rs, uint64_t key)
{
	uint32_t *s = recent_slot(rs, key);

	return *s ? &rs->e[*s - 1] : NULL;
}

/* Linear probing's deletion: the entries after the hole that would not
 * be found past it move back. */
static void recent_unlink(struct recents *rs, uint64_t key)
{
	uint32_t i = (uint32_t)(recent_slot(rs, key) - rs->slot), j = i;

	if (!rs->slot[i])
		return;
	for (;;) {
		uint64_t k;
		uint32_t home;

		rs->slot[i] = 0;
		for (;;) {
			j = (j + 1) & (RECENT_SLOTS - 1);
			if (!rs->slot[j])
				return;
			k = rs->e[rs->slot[j] - 1].key;
			home = (uint32_t)k & (RECENT_SLOTS - 1);
			if (i <= j ? (home <= i || home > j)
				   : (home <= i && home > j))
				break;
		}
		rs->slot[i] = rs->slot[j];
		i = j;
	}
}

static struct recent *recent_add(struct recents *rs, uint64_t key,
				 uint64_t *evicted)
{
	struct recent *e = &rs->e[rs->next];

	if (e->key) {
		recent_unlink(rs, e->key);
		(*evicted)++;
	}
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->action = REPORT_ACTIONS;
	e->dept = e->host = e->user = e->evid = NONE;
	*recent_slot(rs, key) = rs->next + 1;
	rs->next = (rs->next + 1) % REPORT_RECENT_FLOWS;
	return e;
}

/* ---- sessions over time: per department and bucket ---- */

struct bucket {
	uint64_t key; /* dept << 40 | bucket index + 1; 0: empty */
	uint64_t n[REPORT_ACTIONS];
};

struct series {
	struct bucket *b;
	struct bucket overflow; /* sessions past the last coarsening */
	uint32_t mask, n;
	int64_t width_ms; /* a minute, 15 minutes, an hour */
};

static int series_rehash(struct series *s, uint32_t mask, int64_t factor)
{
	struct bucket *nb = calloc((size_t)mask + 1, sizeof(*nb)), *old = s->b;
	uint32_t i, oldmask = s->mask;

	if (!nb)
		return -1;
	s->b = nb;
	s->mask = mask;
	s->n = 0;
	for (i = 0; old && i <= oldmask; i++) {
		uint64_t d, idx, key, j;
		int a;

		if (!old[i].key)
			continue;
		d = old[i].key >> 40;
		idx = ((old[i].key & ((1ULL << 40) - 1)) - 1) /
		      (uint64_t)factor;
		key = (d << 40) | (idx + 1);
		j = hash_mix64(key) & mask;
		while (nb[j].key && nb[j].key != key)
			j = (j + 1) & mask;
		if (!nb[j].key) {
			nb[j].key = key;
			s->n++;
		}
		for (a = 0; a < REPORT_ACTIONS; a++)
			nb[j].n[a] += old[i].n[a];
	}
	free(old);
	return 0;
}

/* The bucket of @dept at @ts_ms (at or after 1970: earlier instants are
 * taken as 1970's first). NULL: no memory. */
/* The bucket of @dept at @ts_ms. Past SERIES_MAX buckets the series
 * coarsens (15 minutes, an hour, a day); past that, *@s's overflow
 * bucket, whose sessions the chart leaves out. NULL: no memory. */
static struct bucket *series_at(struct series *s, uint32_t dept, int64_t ts_ms,
				int *coarsened)
{
	static const int64_t factor[] = { 15, 4, 24 };
	uint64_t idx, key, j;

	if (s->n + 1 > SERIES_MAX && *coarsened < 3) {
		if (series_rehash(s, s->mask, factor[*coarsened]) != 0)
			return NULL;
		s->width_ms *= factor[*coarsened];
		(*coarsened)++;
	}
	idx = (uint64_t)(ts_ms / s->width_ms);
	if (idx >= (1ULL << 40) - 1)
		idx = (1ULL << 40) - 2;
	key = ((uint64_t)dept << 40) | (idx + 1);
	j = s->b ? hash_mix64(key) & s->mask : 0;
	while (s->b && s->b[j].key && s->b[j].key != key)
		j = (j + 1) & s->mask;
	if (s->b && s->b[j].key)
		return &s->b[j];
	if (s->n + 1 > SERIES_MAX)
		return &s->overflow;
	if ((s->n + 1) * 2 > s->mask) {
		if (series_rehash(s, s->mask ? s->mask * 2 + 1 : 1023, 1) != 0)
			return NULL;
		j = hash_mix64(key) & s->mask;
		while (s->b[j].key)
			j = (j + 1) & s->mask;
	}
	s->b[j].key = key;
	s->n++;
	return &s->b[j];
}

/* ---- the report ---- */

struct report {
	struct report_opts o;
	struct audit_verify v;
	char prev_where[300];
	struct report_chain chain;
	struct report_totals tot;
	struct names dept_names;
	struct names strings; /* the changes' nodes and texts */
	struct names seen;    /* every department named, for --department */
	struct names nodes;
	struct report_change ks; /* the last kill switch before the period */
	int64_t sess_first, sess_last; /* the sessions' times: the charts' */
	struct dacc *depts;
	uint32_t depts_cap;
	struct report_dept *dept_out; /* after finish, sorted */
	size_t n_dept_out;
	struct report_change *changes;
	size_t n_changes, changes_cap;
	struct series series;
	struct recents *recent;
	struct record rec;
	int oom;
};

static const char *const action_names[REPORT_ACTIONS] = {
	[REPORT_ALLOW] = "allow",
	[REPORT_DROP] = "drop",
	[REPORT_REJECT] = "reject",
	[REPORT_THROTTLE] = "throttle",
};

const char *report_action_name(enum report_action a)
{
	return (unsigned)a < REPORT_ACTIONS ? action_names[a] : "?";
}

static int action_of(const struct record_str *s)
{
	int a;

	for (a = 0; a < REPORT_ACTIONS; a++)
		if (record_is(s, action_names[a]))
			return a;
	return -1;
}

static int passes(int a)
{
	return a == REPORT_ALLOW || a == REPORT_THROTTLE;
}

struct report *report_create(const struct report_opts *o)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	if (!r->o.top)
		r->o.top = REPORT_TOP_DEFAULT;
	r->recent = calloc(1, sizeof(*r->recent));
	r->series.width_ms = MINUTE_MS;
	if (!r->recent) {
		free(r);
		return NULL;
	}
	r->chain.intact = 1;
	return r;
}

void report_destroy(struct report *r)
{
	uint32_t i;

	if (!r)
		return;
	for (i = 0; i < r->dept_names.n; i++) {
		keyed_free(&r->depts[i].hosts);
		keyed_free(&r->depts[i].users);
		keyed_free(&r->depts[i].evidence);
		free(r->depts[i].tops);
		free(r->depts[i].points);
	}
	names_free(&r->strings);
	names_free(&r->seen);
	names_free(&r->nodes);
	names_free(&r->dept_names);
	free(r->depts);
	free(r->dept_out);
	free(r->changes);
	free(r->series.b);
	free(r->recent);
	free(r);
}

static void note_break(struct report *r, const char *where, const char *why)
{
	struct report_break *b;

	r->chain.intact = 0;
	r->chain.breaks_total++;
	if (r->chain.n_breaks >= REPORT_BREAKS)
		return;
	b = &r->chain.breaks[r->chain.n_breaks++];
	snprintf(b->where, sizeof(b->where), "%s", where);
	snprintf(b->why, sizeof(b->why), "%s", why);
}

void report_note_file(struct report *r, int skipped)
{
	if (skipped)
		r->tot.files_skipped++;
	else
		r->tot.files_read++;
}

void report_note_break(struct report *r, const char *where, const char *why)
{
	note_break(r, where, why);
}

/* The verifier's gap counts into the chain's, and a fresh verifier. */
static void verify_flush(struct report *r)
{
	int c;

	for (c = 0; c < AUDIT_GAP_CAUSES; c++)
		r->chain.lost[c] += r->v.lost[c];
	r->chain.gaps += r->v.gaps;
	memset(&r->v, 0, sizeof(r->v));
}

/* The line as `audit verify` checks it; a break is listed (named as
 * audit verify names it) and the check starts again at this line, so
 * that what follows is checked too. */
static void check_chain(struct report *r, const char *file, unsigned long ln,
			const char *line, size_t len, int had_newline)
{
	char why[256], where[300];
	int rc;

	rc = audit_verify_line(&r->v, line, len, had_newline, why, sizeof(why));
	if (rc != 0) {
		if (rc == -2)
			snprintf(where, sizeof(where), "%s", r->prev_where);
		else
			snprintf(where, sizeof(where), "%s:%lu", file, ln);
		note_break(r, where, why);
		verify_flush(r);
		rc = audit_verify_line(&r->v, line, len, 1, why, sizeof(why));
	}
	if (rc == 0) {
		if (!r->chain.records)
			r->chain.first_seq = r->v.seq;
		r->chain.records++;
		r->chain.last_seq = r->v.seq;
	}
	snprintf(r->prev_where, sizeof(r->prev_where), "%s:%lu", file, ln);
}

static struct dacc *dept_of(struct report *r, const struct record_str *d,
			    uint32_t *id_out)
{
	const char *s = d->s ? d->s : "default";
	size_t n = d->s ? d->n : strlen("default");
	int64_t id;

	if (n == 0) {
		s = "default";
		n = strlen(s);
	}
	if (r->o.department && r->seen.n < REPORT_KEYS_MAX &&
	    names_id(&r->seen, s, n) < 0)
		r->oom = 1;
	if (r->o.department && (strlen(r->o.department) != n ||
				memcmp(r->o.department, s, n) != 0))
		return NULL;
	id = names_id(&r->dept_names, s, n);
	if (id < 0) {
		r->oom = 1;
		return NULL;
	}
	if ((uint32_t)id >= r->depts_cap) {
		uint32_t nc = r->depts_cap ? r->depts_cap * 2 : 8;
		struct dacc *nd = realloc(r->depts, nc * sizeof(*nd));

		if (!nd) {
			r->oom = 1;
			return NULL;
		}
		memset(nd + r->depts_cap, 0, (nc - r->depts_cap) * sizeof(*nd));
		r->depts = nd;
		r->depts_cap = nc;
	}
	if (!r->depts[id].out.name) {
		r->depts[id].out.name = r->dept_names.key[id];
		r->depts[id].hosts.others = NONE;
		r->depts[id].users.others = NONE;
		r->depts[id].evidence.others = NONE;
	}
	*id_out = (uint32_t)id;
	return &r->depts[id];
}

static int skype_family(const struct record *rec)
{
	int64_t a = rec->num[REC_APP_ID];

	return rec->has[REC_APP_ID] &&
	       (a == SF_PROTO_SKYPE_CALL || a == SF_PROTO_SKYPE_TEAMS ||
		a == SF_PROTO_TEAMS);
}

static uint64_t flow_key(const struct record *rec)
{
	const struct record_str *n = &rec->str[REC_NODE],
				*f = &rec->str[REC_FLOW];
	uint64_t h = hash_bytes(n->s, n->s ? n->n : 0, 0xcbf29ce484222325ULL);

	h = hash_bytes("|", 1, h);
	h = hash_mix64(hash_bytes(f->s, f->n, h));
	return h ? h : 1;
}

/* Field @i (from 0) of a flow key "TCP|a|p|b|q|vlan"; n 0 if absent. */
static struct record_str flow_field(const struct record_str *f, int i)
{
	struct record_str out = { NULL, 0 };
	const char *p = f->s, *end = f->s ? f->s + f->n : NULL, *bar;

	for (; p && p < end; i--) {
		bar = memchr(p, '|', (size_t)(end - p));
		if (i == 0) {
			out.s = p;
			out.n = (size_t)((bar ? bar : end) - p);
			return out;
		}
		if (!bar)
			break;
		p = bar + 1;
	}
	return out;
}

/* The inside host of a decision: the initiator, or for an inbound flow
 * the key's other address (keys are direction-free: either end may come
 * first). */
static struct record_str inside_host(const struct record *rec)
{
	struct record_str h = rec->str[REC_INITIATOR];

	if (record_is(&rec->str[REC_DIRECTION], "inbound")) {
		struct record_str a = flow_field(&rec->str[REC_FLOW], 1),
				  b = flow_field(&rec->str[REC_FLOW], 3);

		if (a.s && b.s)
			h = h.s && h.n == a.n && memcmp(h.s, a.s, a.n) == 0 ? b
									    : a;
	}
	if (!h.s || !h.n) {
		h.s = "?";
		h.n = 1;
	}
	return h;
}

static uint32_t tally_id(struct report *r, struct keyed *k,
			 const struct record_str *s)
{
	int64_t id;

	if (!s->s || !s->n)
		return NONE;
	id = keyed_id(k, s->s, s->n);
	if (id < 0) {
		r->oom = 1;
		return NONE;
	}
	return (uint32_t)id;
}

/* Adds @delta (+1 or -1) sessions of action @a to everything @e names. */
static void count_session(struct report *r, const struct recent *e, int a,
			  int delta)
{
	struct dacc *d = &r->depts[e->dept];
	struct bucket *b;

	d->out.sessions[a] += (uint64_t)(int64_t)delta;
	if (e->host != NONE)
		d->hosts.t[e->host].sessions[a] += (uint64_t)(int64_t)delta;
	if (e->user != NONE)
		d->users.t[e->user].sessions[a] += (uint64_t)(int64_t)delta;
	if (e->evid != NONE)
		d->evidence.t[e->evid].sessions[a] += (uint64_t)(int64_t)delta;
	b = series_at(&r->series, e->dept, e->ts_ms, &r->tot.coarsened);
	if (!b)
		r->oom = 1;
	else
		b->n[a] += (uint64_t)(int64_t)delta;
	if (delta > 0) {
		if (!r->sess_last || e->ts_ms < r->sess_first)
			r->sess_first = e->ts_ms;
		if (e->ts_ms > r->sess_last)
			r->sess_last = e->ts_ms;
	}
}

static void on_decision(struct report *r, const struct record *rec)
{
	int a = action_of(&rec->str[REC_ACTION]);
	struct recent *e;
	struct record_str host;
	struct dacc *d;
	uint32_t id;
	uint64_t key;

	d = dept_of(r, &rec->str[REC_DEPARTMENT], &id);
	if (!d)
		return;
	if (!skype_family(rec) || a < 0) {
		d->out.other_decisions++;
		return;
	}
	key = flow_key(rec);
	e = recent_find(r->recent, key);
	if (e && e->action < REPORT_ACTIONS && e->dept == id) {
		/* decided again: the session moves to its last action */
		count_session(r, e, e->action, -1);
	} else {
		if (!e)
			e = recent_add(r->recent, key, &r->tot.recent_evicted);
		e->dept = id;
		e->ts_ms = rec->num[REC_TS_MS];
		host = inside_host(rec);
		e->host = tally_id(r, &d->hosts, &host);
		e->user = tally_id(r, &d->users, &rec->str[REC_USER]);
	}
	e->evid = tally_id(r, &d->evidence, &rec->str[REC_EVIDENCE]);
	e->action = (uint8_t)a;
	if (passes(a))
		e->passed = 1;
	count_session(r, e, a, +1);
}

/* Adds (@sign 1) or takes back (-1) an end's @bytes of kind @kind. */
static void count_end(struct dacc *d, int kind, uint64_t bytes, uint32_t host,
		      uint32_t user, uint32_t evid, int sign)
{
	uint64_t flows = (uint64_t)(int64_t)sign,
		 b = sign > 0 ? bytes : (uint64_t)0 - bytes;

	if (kind == END_THROUGH) {
		d->out.flows_through += flows;
		d->out.bytes_through += b;
		if (host != NONE)
			d->hosts.t[host].bytes += b;
		if (user != NONE)
			d->users.t[user].bytes += b;
		if (evid != NONE)
			d->evidence.t[evid].bytes += b;
	} else if (kind == END_CUT) {
		d->out.flows_cut += flows;
		d->out.bytes_cut += b;
	} else if (kind == END_ATTEMPTED) {
		d->out.flows_attempted += flows;
		d->out.bytes_attempted += b;
	}
}

static void on_end(struct report *r, const struct record *rec)
{
	int a = action_of(&rec->str[REC_ACTION]), kind,
	    ct = record_is(&rec->str[REC_SOURCE], "conntrack");
	uint64_t bytes =
		rec->num[REC_BYTES] > 0 ? (uint64_t)rec->num[REC_BYTES] : 0;
	struct recent *e;
	struct dacc *d;
	uint32_t id, host, user, evid;

	if (!skype_family(rec) || a < 0)
		return;
	e = recent_find(r->recent, flow_key(rec));
	if (!rec->str[REC_DEPARTMENT].s || !rec->str[REC_DEPARTMENT].n) {
		/* an entry decided before this start ("lacks"): the
		 * department its decision named, if it is in the files */
		static const struct record_str unknown = {
			UNKNOWN_DEPT, sizeof(UNKNOWN_DEPT) - 1
		};

		if (e && e->dept != NONE) {
			id = e->dept;
			d = r->o.department &&
					    strcmp(r->o.department,
						   r->depts[id].out.name) != 0
				    ? NULL
				    : &r->depts[id];
		} else {
			d = dept_of(r, &unknown, &id);
		}
	} else {
		d = dept_of(r, &rec->str[REC_DEPARTMENT], &id);
	}
	if (!d)
		return;
	if (e && e->dept != id)
		e = NULL;
	host = e ? e->host : NONE;
	user = e ? e->user : NONE;
	evid = e ? e->evid : NONE;
	if (host == NONE) {
		/* no decision seen: an end record says no direction, and its
		 * initiator is the inside host but for inbound flows */
		struct record_str h = rec->str[REC_INITIATOR];

		host = tally_id(r, &d->hosts, &h);
		user = tally_id(r, &d->users, &rec->str[REC_USER]);
		evid = tally_id(r, &d->evidence, &rec->str[REC_EVIDENCE]);
		if (e) {
			e->host = host;
			e->user = user;
			e->evid = evid;
		}
	}
	if (passes(a))
		kind = END_THROUGH;
	else if (e && e->cut)
		kind = END_CUT;
	else
		kind = END_ATTEMPTED;
	if (e && e->end_kind != END_NONE) {
		if (e->end_ct && !ct)
			return; /* conntrack's count stands */
		count_end(d, e->end_kind, e->end_bytes, host, user, evid, -1);
	}
	count_end(d, kind, bytes, host, user, evid, +1);
	if (e) {
		e->end_kind = (uint8_t)kind;
		e->end_ct = (uint8_t)ct;
		e->end_bytes = bytes;
	}
}

/* @s kept for the report's life (the changes' nodes and texts). */
static const char *intern(struct report *r, const struct record_str *s)
{
	int64_t id = names_id(&r->strings, s->s ? s->s : "", s->s ? s->n : 0);

	return id < 0 ? NULL : r->strings.key[id];
}

static void on_change(struct report *r, const struct record *rec)
{
	struct report_change *c;

	if (r->n_changes >= REPORT_CHANGES_MAX) {
		r->tot.changes_left_out++;
		return;
	}
	if (r->n_changes == r->changes_cap) {
		size_t nc = r->changes_cap ? r->changes_cap * 2 : 32;
		struct report_change *n = realloc(r->changes, nc * sizeof(*n));

		if (!n) {
			r->oom = 1;
			return;
		}
		r->changes = n;
		r->changes_cap = nc;
	}
	c = &r->changes[r->n_changes];
	memset(c, 0, sizeof(*c));
	c->ts_ms = rec->num[REC_TS_MS];
	c->change =
		rec->num[REC_CHANGE] > 0 ? (uint64_t)rec->num[REC_CHANGE] : 0;
	c->uid = rec->has[REC_UID] ? rec->num[REC_UID] : -1;
	c->node = intern(r, &rec->str[REC_NODE]);
	c->what = intern(r, &rec->str[REC_WHAT]);
	if (!c->node || !c->what) {
		r->oom = 1;
		return;
	}
	c->kind = strncmp(c->what, "killswitch", 10) == 0
			  ? REPORT_CHANGE_KILLSWITCH
			  : REPORT_CHANGE_OTHER;
	r->n_changes++;
}

/* The change a redecided record belongs to: the latest with its id on
 * its node (ids count from 1 at each start, and records of one change
 * follow it). */
static struct report_change *change_of(struct report *r,
				       const struct record *rec)
{
	size_t k, lim = r->n_changes > 256 ? r->n_changes - 256 : 0;
	const struct record_str *n = &rec->str[REC_NODE];

	for (k = r->n_changes; k > lim; k--) {
		struct report_change *c = &r->changes[k - 1];

		if ((int64_t)c->change == rec->num[REC_CHANGE] &&
		    strlen(c->node) == (n->s ? n->n : 0) &&
		    (!n->s || memcmp(c->node, n->s, n->n) == 0))
			return c;
	}
	return NULL;
}

static void on_redecided(struct report *r, const struct record *rec)
{
	int a = action_of(&rec->str[REC_ACTION]),
	    old = action_of(&rec->str[REC_OLD_ACTION]);
	int cut = old >= 0 && passes(old) && a >= 0 && !passes(a);
	struct report_change *c = change_of(r, rec);
	struct recent *e;
	struct dacc *d;
	uint32_t id;

	if (c) {
		c->redecided++;
		c->cut += (uint64_t)cut;
	}
	if (!skype_family(rec))
		return;
	d = dept_of(r, &rec->str[REC_DEPARTMENT], &id);
	if (!d)
		return;
	e = recent_find(r->recent, flow_key(rec));
	if (e && e->dept != id)
		e = NULL;
	if (!e) {
		/* decided before the range or the files: remembered, so that
		 * a second cut and its end are counted as this one's */
		e = recent_add(r->recent, flow_key(rec),
			       &r->tot.recent_evicted);
		e->dept = id;
		e->ts_ms = rec->num[REC_TS_MS];
	}
	/* a session cut twice (a kill switch, then a rule) is one cut */
	if (cut && !e->cut)
		d->out.cut_by_change++;
	e->cut |= (uint8_t)cut;
	if (a >= 0 && passes(a))
		e->passed = 1;
}

static void on_suppressed(struct report *r, const struct record *rec)
{
	uint64_t n = rec->num[REC_SUPPRESSED] > 0
			     ? (uint64_t)rec->num[REC_SUPPRESSED]
			     : 0;
	struct dacc *d;
	uint32_t id;

	if (r->o.department && !rec->str[REC_DEPARTMENT].s)
		return;
	r->tot.suppressed += n;
	d = dept_of(r, &rec->str[REC_DEPARTMENT], &id);
	if (d)
		d->out.suppressed += n;
}

/* The kill switch as the period starts: the last change that turned it
 * on or off before it. */
/* A session decided before the period: remembered (not counted), so
 * that its end in the period is its department's, its host's and its
 * user's. */
static void remember_decision(struct report *r, const struct record *rec)
{
	struct record_str host;
	struct recent *e;
	struct dacc *d;
	uint32_t id;
	uint64_t key;

	if (!skype_family(rec) || action_of(&rec->str[REC_ACTION]) < 0)
		return;
	d = dept_of(r, &rec->str[REC_DEPARTMENT], &id);
	if (!d)
		return;
	key = flow_key(rec);
	e = recent_find(r->recent, key);
	if (!e)
		e = recent_add(r->recent, key, &r->tot.recent_evicted);
	e->dept = id;
	e->ts_ms = rec->num[REC_TS_MS];
	e->action = REPORT_ACTIONS;
	host = inside_host(rec);
	e->host = tally_id(r, &d->hosts, &host);
	e->user = tally_id(r, &d->users, &rec->str[REC_USER]);
	e->evid = tally_id(r, &d->evidence, &rec->str[REC_EVIDENCE]);
}

static void before_range(struct report *r, const struct record *rec)
{
	const struct record_str *w = &rec->str[REC_WHAT];
	const char *what;

	if (record_is(&rec->str[REC_EVENT], "decision")) {
		remember_decision(r, rec);
		return;
	}
	if (!record_is(&rec->str[REC_EVENT], "change") || !w->s ||
	    w->n < strlen("killswitch o") || memcmp(w->s, "killswitch o", 12))
		return;
	what = intern(r, w);
	if (!what) {
		r->oom = 1;
		return;
	}
	memset(&r->ks, 0, sizeof(r->ks));
	r->ks.ts_ms = rec->num[REC_TS_MS];
	r->ks.node = intern(r, &rec->str[REC_NODE]);
	r->ks.change =
		rec->num[REC_CHANGE] > 0 ? (uint64_t)rec->num[REC_CHANGE] : 0;
	r->ks.uid = rec->has[REC_UID] ? rec->num[REC_UID] : -1;
	r->ks.what = what;
	r->ks.kind = REPORT_CHANGE_KILLSWITCH;
}

static void on_gap(struct report *r, const char *line, size_t len)
{
	struct audit_gap g;

	if (audit_gap_of(line, len, &g) != 1)
		return;
	r->tot.gaps++;
	if ((unsigned)g.cause < AUDIT_GAP_CAUSES)
		r->tot.lost[g.cause] += g.lost;
}

static void sum_record(struct report *r, const struct record *rec,
		       const char *line, size_t len)
{
	const struct record_str *ev = &rec->str[REC_EVENT];
	int64_t ts = rec->num[REC_TS_MS];

	if (!rec->has[REC_TS_MS] || ts >= r->o.until_ms)
		return;
	if (ts < 0 || ts > REPORT_TS_MAX) {
		/* a clock before 1970 or past the year 9999: not summed */
		r->tot.bad_time++;
		return;
	}
	if (ts < r->o.since_ms) {
		before_range(r, rec);
		return;
	}
	r->tot.records_in_range++;
	if (rec->str[REC_NODE].s && r->nodes.n < 64 &&
	    names_id(&r->nodes, rec->str[REC_NODE].s, rec->str[REC_NODE].n) < 0)
		r->oom = 1;
	if (!r->tot.first_ms || ts < r->tot.first_ms)
		r->tot.first_ms = ts;
	if (ts > r->tot.last_ms)
		r->tot.last_ms = ts;
	if (record_is(ev, "decision"))
		on_decision(r, rec);
	else if (record_is(ev, "end"))
		on_end(r, rec);
	else if (record_is(ev, "redecided"))
		on_redecided(r, rec);
	else if (record_is(ev, "change"))
		on_change(r, rec);
	else if (record_is(ev, "suppressed"))
		on_suppressed(r, rec);
	else if (record_is(ev, "start"))
		r->tot.starts++;
	else if (record_is(ev, "gap"))
		on_gap(r, line, len);
	else if (record_is(ev, "ct_overrun")) {
		r->tot.ct_overruns++;
		r->tot.ct_lost += rec->num[REC_LOST] > 0
					  ? (uint64_t)rec->num[REC_LOST]
					  : 0;
	}
}

int report_line(struct report *r, const char *file, unsigned long ln,
		const char *line, size_t len, int had_newline)
{
	if (r->oom)
		return -1;
	r->tot.lines++;
	check_chain(r, file, ln, line, len, had_newline);
	if (record_scan(&r->rec, line, len) != 0) {
		r->tot.unreadable++;
		return 0;
	}
	sum_record(r, &r->rec, line, len);
	return r->oom ? -1 : 0;
}

/* ---- the end: tops, departments, series ---- */

static int32_t offset_at(const struct report *r, int64_t t)
{
	return r->o.tz ? tz_offset(r->o.tz, t, NULL) : 0;
}

static int64_t local_of(const struct report *r, int64_t t)
{
	return r->o.tz ? tz_local_of(r->o.tz, t) : t;
}

static int64_t utc_of(const struct report *r, int64_t local)
{
	return r->o.tz ? tz_utc_of(r->o.tz, local) : local;
}

static void civil(int64_t local, struct tm *tm)
{
	time_t t = (time_t)local;

	memset(tm, 0, sizeof(*tm));
	gmtime_r(&t, tm);
}

void report_time(const struct report *r, int64_t ts_ms, char *out, size_t len)
{
	int64_t t = ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000;
	const char *abbr = r->o.tz ? tz_abbr(r->o.tz, t) : "UTC";
	char buf[64];
	struct tm tm;

	civil(local_of(r, t), &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	if (abbr && *abbr)
		snprintf(out, len, "%s %s", buf, abbr);
	else
		snprintf(out, len, "%s %+03d%02d", buf, offset_at(r, t) / 3600,
			 abs(offset_at(r, t) / 60 % 60));
}

static int cmp_top(const void *a, const void *b)
{
	const struct report_top *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (x->bytes_through != y->bytes_through)
		return x->bytes_through < y->bytes_through ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* @k's entries with a session or bytes, the first @top after sorting,
 * into @out (room for k's count). Returns how many. */
static size_t top_of(const struct keyed *k, unsigned top,
		     struct report_top *out)
{
	size_t n = 0;
	uint32_t i;
	int a;

	for (i = 0; i < k->names.n; i++) {
		struct report_top *t = &out[n];

		memset(t, 0, sizeof(*t));
		t->key = k->names.key[i];
		for (a = 0; a < REPORT_ACTIONS; a++) {
			t->sessions[a] = k->t[i].sessions[a];
			t->total += t->sessions[a];
		}
		t->bytes_through = k->t[i].bytes;
		if (t->total || t->bytes_through)
			n++;
	}
	qsort(out, n, sizeof(*out), cmp_top);
	return n < top ? n : top;
}

static int finish_tops(struct report *r, struct dacc *d)
{
	size_t nh = d->hosts.names.n, nu = d->users.names.n,
	       ne = d->evidence.names.n;
	struct report_top *t = calloc(nh + nu + ne + 1, sizeof(*t));
	int a;

	if (!t)
		return -1;
	d->tops = t;
	d->out.n_hosts = top_of(&d->hosts, r->o.top, t);
	d->out.hosts = t;
	d->out.n_users = top_of(&d->users, r->o.top, t + nh);
	d->out.users = t + nh;
	d->out.n_evidence = top_of(&d->evidence, UINT32_MAX, t + nh + nu);
	d->out.evidence = t + nh + nu;
	d->out.hosts_seen = d->hosts.names.n;
	d->out.users_seen = d->users.names.n;
	d->out.total = 0;
	for (a = 0; a < REPORT_ACTIONS; a++)
		d->out.total += d->out.sessions[a];
	return 0;
}

/* The display unit from the span: local days over two days, hours over
 * two hours, else 5 minutes (in seconds of local time). */
static int64_t unit_of(int64_t span_ms)
{
	if (span_ms > 2 * 86400000LL)
		return 86400;
	if (span_ms > 2 * 3600000LL)
		return 3600;
	return 300;
}

static void point_label(const struct report *r, int64_t local, int64_t unit,
			int multi_day, char *out, size_t len)
{
	struct tm tm;

	civil(local, &tm);
	if (unit == 86400)
		strftime(out, len, "%Y-%m-%d", &tm);
	else if (multi_day)
		strftime(out, len, "%m-%d %H:%M", &tm);
	else
		strftime(out, len, "%H:%M", &tm);
	(void)r;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The buckets of the axis [@from_ms, @to_ms], in local units: a unit
 * that the zone skips (a spring gap's hour) has no bucket, a repeated
 * one (autumn) is one bucket as long as both. */
static struct report_point *axis(const struct report *r, int64_t from_ms,
				 int64_t to_ms, size_t *n)
{
	int64_t unit = unit_of(to_ms - from_ms);
	int64_t l0 = floor_div(local_of(r, floor_div(from_ms, 1000)), unit);
	int64_t l1 = floor_div(local_of(r, floor_div(to_ms, 1000)), unit);
	int multi_day =
		floor_div(local_of(r, floor_div(from_ms, 1000)), 86400) !=
		floor_div(local_of(r, floor_div(to_ms, 1000)), 86400);
	struct report_point *p;
	size_t k = 0;
	int64_t l;

	if (l1 - l0 > 5000)
		l1 = l0 + 5000; /* an axis of a year in days; more is noise */
	p = calloc((size_t)(l1 - l0 + 1), sizeof(*p));
	if (!p)
		return NULL;
	for (l = l0; l <= l1; l++) {
		int64_t s = utc_of(r, l * unit), e = utc_of(r, (l + 1) * unit);

		if (e <= s)
			continue;
		p[k].start_ms = s * 1000;
		p[k].end_ms = e * 1000;
		point_label(r, l * unit, unit, multi_day, p[k].label,
			    sizeof(p[k].label));
		if (unit < 86400 && e - s != unit) {
			/* the autumn's repeated hour: one bucket, said */
			size_t o = strlen(p[k].label);

			if ((e - s) % 3600 == 0)
				snprintf(p[k].label + o, sizeof(p[k].label) - o,
					 " (%d h)", (int)((e - s) / 3600));
			else
				snprintf(p[k].label + o, sizeof(p[k].label) - o,
					 " (%d min)", (int)((e - s) / 60));
		}
		k++;
	}
	*n = k;
	return p;
}

static struct report_point *point_of(struct report_point *p, size_t n,
				     int64_t ts_ms)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ts_ms < p[mid].start_ms)
			hi = mid;
		else if (ts_ms >= p[mid].end_ms)
			lo = mid + 1;
		else
			return &p[mid];
	}
	return NULL;
}

/* The chart's span: the period given (a year or less), else the
 * sessions' own, at most CHART_DAYS ending at the last (a record of a
 * clock years off would leave the real ones a sliver). */
#define CHART_DAYS 400
static void chart_span(const struct report *r, int64_t *from, int64_t *to)
{
	*from = r->sess_first;
	*to = r->sess_last;
	if (r->o.since_ms != INT64_MIN && r->o.until_ms != INT64_MAX &&
	    r->o.until_ms - r->o.since_ms <= CHART_DAYS * 86400000LL) {
		*from = r->o.since_ms;
		*to = r->o.until_ms - 1;
	} else if (*to - *from > CHART_DAYS * 86400000LL) {
		*from = *to - CHART_DAYS * 86400000LL;
	}
}

static int finish_series(struct report *r)
{
	int64_t from, to, w = r->series.width_ms;
	uint32_t i, d;
	int a;

	for (a = 0; a < REPORT_ACTIONS; a++)
		r->tot.sessions_off_chart += r->series.overflow.n[a];
	if (!r->sess_last)
		return 0;
	chart_span(r, &from, &to);
	for (d = 0; d < r->dept_names.n; d++) {
		if (!r->depts[d].out.total)
			continue;
		r->depts[d].points = axis(r, from, to, &r->depts[d].n_points);
		if (!r->depts[d].points)
			return -1;
	}
	for (i = 0; r->series.b && i <= r->series.mask; i++) {
		const struct bucket *b = &r->series.b[i];
		struct report_point *p = NULL, *pts;
		size_t np;
		int64_t t;

		if (!b->key)
			continue;
		d = (uint32_t)(b->key >> 40);
		pts = r->depts[d].points;
		np = r->depts[d].n_points;
		t = (int64_t)((b->key & ((1ULL << 40) - 1)) - 1) * w;
		if (np)
			p = point_of(pts, np, t);
		/* a coarse bucket that starts before the chart but reaches
		 * into it */
		if (!p && np && t < pts[0].start_ms && t + w > pts[0].start_ms)
			p = &pts[0];
		for (a = 0; a < REPORT_ACTIONS; a++) {
			if (p)
				p->sessions[a] += b->n[a];
			else
				r->tot.sessions_off_chart += b->n[a];
		}
	}
	return 0;
}

static int cmp_dept(const void *a, const void *b)
{
	const struct report_dept *x = a, *y = b;
	int dx = strcmp(x->name, "default") == 0,
	    dy = strcmp(y->name, "default") == 0;

	if (dx != dy)
		return dx - dy;
	return strcmp(x->name, y->name);
}

int report_finish(struct report *r)
{
	uint32_t d;

	verify_flush(r);
	if (r->oom)
		return -1;
	for (d = 0; d < r->dept_names.n; d++)
		if (finish_tops(r, &r->depts[d]) != 0)
			r->oom = 1;
	if (!r->oom && finish_series(r) != 0)
		r->oom = 1;
	r->dept_out = calloc(r->dept_names.n + 1, sizeof(*r->dept_out));
	if (!r->dept_out || r->oom) {
		r->oom = 1;
		return -1;
	}
	r->n_dept_out = 0;
	for (d = 0; d < r->dept_names.n; d++) {
		const struct report_dept *o = &r->depts[d].out;

		/* a department only remembered from before the period */
		if (!o->total && !o->other_decisions && !o->flows_through &&
		    !o->flows_cut && !o->flows_attempted && !o->suppressed &&
		    !o->cut_by_change)
			continue;
		r->dept_out[r->n_dept_out++] = *o;
	}
	qsort(r->dept_out, r->n_dept_out, sizeof(*r->dept_out), cmp_dept);
	return 0;
}

const struct report_opts *report_options(const struct report *r)
{
	return &r->o;
}

const struct report_chain *report_chain(const struct report *r)
{
	return &r->chain;
}

const struct report_totals *report_totals(const struct report *r)
{
	return &r->tot;
}

const struct report_dept *report_departments(const struct report *r, size_t *n)
{
	*n = r->n_dept_out;
	return r->dept_out;
}

const struct report_point *report_series(const struct report *r,
					 const struct report_dept *d, size_t *n)
{
	int64_t id = -1;
	uint32_t i;

	for (i = 0; i < r->dept_names.n; i++)
		if (r->dept_names.key[i] == d->name)
			id = i;
	if (id < 0 || !r->depts[id].points) {
		*n = 0;
		return NULL;
	}
	*n = r->depts[id].n_points;
	return r->depts[id].points;
}

const struct report_change *report_killswitch_before(const struct report *r)
{
	return r->ks.what && strncmp(r->ks.what, "killswitch on", 13) == 0
		       ? &r->ks
		       : NULL;
}

const char *report_node(const struct report *r, size_t *n)
{
	*n = r->nodes.n;
	return r->nodes.n ? r->nodes.key[0] : NULL;
}

const char *const *report_departments_named(const struct report *r, size_t *n)
{
	*n = r->seen.n;
	return (const char *const *)r->seen.key;
}

const struct report_change *report_changes(const struct report *r, size_t *n)
{
	*n = r->n_changes;
	return r->changes;
}
