/* idtab.c - the identity table and its snapshots (idtab.h). */
#include "identity/idtab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lpm.h"
#include "core/pkt.h"

/* ---- records ---- */

void id_rec_get(struct id_rec *r)
{
	atomic_fetch_add_explicit(&r->ref, 1, memory_order_relaxed);
}

void id_rec_put(struct id_rec *r)
{
	if (r &&
	    atomic_fetch_sub_explicit(&r->ref, 1, memory_order_acq_rel) == 1)
		free(r);
}

static size_t packed_len(const char *g)
{
	const char *p = g;

	while (*p)
		p += strlen(p) + 1;
	return (size_t)(p - g) + 1;
}

static unsigned packed_count(const char *g)
{
	unsigned n = 0;

	for (; *g; g += strlen(g) + 1)
		n++;
	return n;
}

static struct id_rec *rec_new(uint8_t source, uint8_t from, const char *user,
			      const char *mac, const char *groups,
			      uint64_t since, uint64_t seen)
{
	size_t ul = strlen(user) + 1, gl = packed_len(groups);
	struct id_rec *r = malloc(sizeof(*r) + ul + gl);

	if (!r)
		return NULL;
	atomic_init(&r->ref, 1);
	r->source = source;
	r->groups_from = from;
	r->n_groups = (uint8_t)packed_count(groups);
	snprintf(r->mac, sizeof(r->mac), "%s", mac);
	r->since_wall_ms = since;
	r->seen_wall_ms = seen;
	memcpy(r->data, user, ul);
	memcpy(r->data + ul, groups, gl);
	r->user = r->data;
	r->groups = r->data + ul;
	return r;
}

char *id_rec_groups_text(const struct id_rec *r, char *out, size_t len)
{
	size_t o = 0;
	const char *g;

	out[0] = '\0';
	for (g = r->groups; *g; g += strlen(g) + 1) {
		size_t n = strlen(g);

		if (o + n + 2 + 4 > len) {
			if (len >= 4)
				snprintf(out + (o + 4 > len ? len - 4 : o), 4,
					 "...");
			break;
		}
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "",
				      g);
	}
	return out;
}

/* ---- a small hash map, keys as bytes ---- */

struct hent {
	struct hent *next;
	uint32_t h;
	uint16_t klen;
	void *val;
	uint8_t key[];
};

struct hmap {
	struct hent **b;
	uint32_t nb, n;
	uint64_t seed;
};

static uint32_t hash_bytes(uint64_t seed, const void *k, size_t n)
{
	const uint8_t *p = k;
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static int hmap_init(struct hmap *m, uint64_t seed)
{
	m->nb = 64;
	m->n = 0;
	m->seed = seed;
	m->b = calloc(m->nb, sizeof(*m->b));
	return m->b ? 0 : -1;
}

static struct hent **hmap_slot(const struct hmap *m, const void *k, size_t n,
			       uint32_t h)
{
	struct hent **pp = &m->b[h & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h && (*pp)->klen == n &&
		    memcmp((*pp)->key, k, n) == 0)
			break;
	return pp;
}

static void *hmap_get(const struct hmap *m, const void *k, size_t n)
{
	struct hent *e = *hmap_slot(m, k, n, hash_bytes(m->seed, k, n));

	return e ? e->val : NULL;
}

static void hmap_grow(struct hmap *m)
{
	uint32_t nb = m->nb * 2, i;
	struct hent **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i < m->nb; i++) {
		struct hent *e = m->b[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			e->next = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* Sets @k to @v. 0, or -1 if memory is short. */
static int hmap_put(struct hmap *m, const void *k, size_t n, void *v)
{
	uint32_t h = hash_bytes(m->seed, k, n);
	struct hent **pp = hmap_slot(m, k, n, h), *e;

	if (*pp) {
		(*pp)->val = v;
		return 0;
	}
	e = malloc(sizeof(*e) + n);
	if (!e)
		return -1;
	e->next = NULL;
	e->h = h;
	e->klen = (uint16_t)n;
	e->val = v;
	memcpy(e->key, k, n);
	*pp = e;
	if (++m->n > m->nb)
		hmap_grow(m);
	return 0;
}

static void *hmap_del(struct hmap *m, const void *k, size_t n)
{
	struct hent **pp = hmap_slot(m, k, n, hash_bytes(m->seed, k, n)), *e;
	void *v;

	if (!*pp)
		return NULL;
	e = *pp;
	v = e->val;
	*pp = e->next;
	free(e);
	m->n--;
	return v;
}

static void hmap_free(struct hmap *m)
{
	uint32_t i;

	for (i = 0; m->b && i < m->nb; i++) {
		struct hent *e = m->b[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(m->b);
	m->b = NULL;
}

/* ---- the table ---- */

enum { ENDED_NO = 0, ENDED_STOP, ENDED_EXPIRED };

/* An address a session holds: 16 bytes and a length (128 for an
 * address), the hash key of the address index. */
struct akey {
	uint8_t a[16];
	uint8_t plen;
};

#define SESS_ADDRS 3 /* Framed-IP-Address, -IPv6-Address, -IPv6-Prefix */

struct sess {
	char *key; /* nas "\x1f" session */
	size_t klen;
	char *user;
	char mac[18];
	char *groups; /* packed */
	uint8_t groups_from;
	uint8_t ended;
	uint8_t n_addr;
	struct akey addr[SESS_ADDRS];
	int has_ts;
	uint32_t ts;
	uint64_t since_wall, seen_wall;
	/* monotonic; before this boot (read back from the state file) they
	 * are negative */
	int64_t seen_mono, ended_mono;
	uint64_t order; /* arrival, for the newest session of a MAC */
	struct id_rec *rec, *rec_dhcp;
	struct sess *tprev, *tnext; /* tombstones, oldest first */
	struct sess *uprev, *unext; /* the sessions of its user */
};

struct lease {
	uint8_t addr[16];
	char mac[18];
	uint64_t expires_mono, expires_wall;
};

struct idtab {
	struct idtab_opts o;
	struct hmap sess;  /* key -> sess */
	struct hmap addr;  /* akey -> sess */
	struct hmap mac;   /* mac -> newest live sess */
	struct hmap lease; /* addr[16] -> lease */
	struct hmap lmac;  /* mac -> its count of leases */
	struct hmap user;  /* user -> first of its sessions (uprev/unext) */
	struct sess *thead, *ttail;
	unsigned n_sess, n_tomb;
	uint64_t order;
	int want_groups;
	int dirty;
	uint64_t gen; /* every change, for the state file */
	char chg[1024];
	size_t chg_len;
	unsigned chg_n, chg_more;
	struct idtab_stats st;
};

static const char *const refusal_names[ID_REF_MAX] = {
	"stale", "replayed", "future", "full", "invalid",
};

const char *id_refusal_name(int why)
{
	return why >= 0 && why < ID_REF_MAX ? refusal_names[why] : "?";
}

struct idtab *idtab_create(const struct idtab_opts *o, uint64_t seed)
{
	struct idtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	if (!t->o.max)
		t->o.max = 65536;
	if (!t->o.lifetime_s)
		t->o.lifetime_s = 3600;
	if (hmap_init(&t->sess, seed) || hmap_init(&t->addr, seed * 3 + 1) ||
	    hmap_init(&t->mac, seed * 5 + 2) ||
	    hmap_init(&t->lease, seed * 7 + 3) ||
	    hmap_init(&t->lmac, seed * 11 + 4) ||
	    hmap_init(&t->user, seed * 13 + 5)) {
		idtab_free(t);
		return NULL;
	}
	return t;
}

static void sess_free(struct sess *s)
{
	free(s->key);
	free(s->user);
	free(s->groups);
	id_rec_put(s->rec);
	id_rec_put(s->rec_dhcp);
	free(s);
}

void idtab_free(struct idtab *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; t->sess.b && i < t->sess.nb; i++) {
		struct hent *e;

		for (e = t->sess.b[i]; e; e = e->next)
			sess_free(e->val);
	}
	for (i = 0; t->lease.b && i < t->lease.nb; i++) {
		struct hent *e;

		for (e = t->lease.b[i]; e; e = e->next)
			free(e->val);
	}
	hmap_free(&t->sess);
	hmap_free(&t->addr);
	hmap_free(&t->mac);
	hmap_free(&t->lease);
	hmap_free(&t->lmac);
	hmap_free(&t->user);
	free(t);
}

void idtab_want_groups(struct idtab *t, int want)
{
	t->want_groups = want;
}

static void akey_text(const struct akey *k, char *out, size_t len)
{
	char a[64];

	pkt_addr_format(k->a, 0, a, sizeof(a));
	if (k->plen < 128)
		snprintf(out, len, "%s/%u", a, k->plen);
	else
		snprintf(out, len, "%s", a);
}

/* One line of the change summary. */
static void note(struct idtab *t, const char *where, const char *user,
		 const char *groups, const char *what)
{
	char line[600], g[256] = "";
	const char *p;
	size_t n;

	t->dirty = 1;
	t->gen++;
	for (p = groups; p && *p; p += strlen(p) + 1) {
		n = strlen(g);
		if (n + strlen(p) + 2 >= sizeof(g))
			break;
		snprintf(g + n, sizeof(g) - n, "%s%s", n ? "," : "", p);
	}
	n = (size_t)snprintf(line, sizeof(line), "%s%s %s%s%s%s %s",
			     t->chg_n ? "; " : "", where,
			     user && *user ? user : "-", g[0] ? " (" : "", g,
			     g[0] ? ")" : "", what);
	if (n >= sizeof(line))
		n = sizeof(line) - 1; /* cut */
	t->chg_n++;
	if (t->chg_more || t->chg_len + n + 40 >= sizeof(t->chg)) {
		t->chg_more++;
		return;
	}
	memcpy(t->chg + t->chg_len, line, n + 1);
	t->chg_len += n;
}

static void note_sess(struct idtab *t, const struct sess *s, const char *what)
{
	char w[80];
	unsigned i;

	if (!s->n_addr) {
		snprintf(w, sizeof(w), "mac %s", s->mac[0] ? s->mac : "-");
		note(t, w, s->user, s->groups, what);
		return;
	}
	for (i = 0; i < s->n_addr; i++) {
		akey_text(&s->addr[i], w, sizeof(w));
		note(t, w, s->user, s->groups, what);
	}
}

uint64_t idtab_generation(const struct idtab *t)
{
	return t->gen;
}

int idtab_dirty(const struct idtab *t)
{
	return t->dirty;
}

void idtab_changes(const struct idtab *t, char *out, size_t len)
{
	if (t->chg_more)
		snprintf(out, len, "identity: %s; and %u more", t->chg,
			 t->chg_more);
	else
		snprintf(out, len, "identity: %s", t->chg_len ? t->chg : "-");
}

static void tomb_unlink(struct idtab *t, struct sess *s)
{
	if (s->tprev)
		s->tprev->tnext = s->tnext;
	else
		t->thead = s->tnext;
	if (s->tnext)
		s->tnext->tprev = s->tprev;
	else
		t->ttail = s->tprev;
	s->tprev = s->tnext = NULL;
	t->n_tomb--;
}

static void tomb_link(struct idtab *t, struct sess *s)
{
	s->tnext = NULL;
	s->tprev = t->ttail;
	if (t->ttail)
		t->ttail->tnext = s;
	else
		t->thead = s;
	t->ttail = s;
	t->n_tomb++;
}

/* The user index: every session of a user, for the directory's answer. */
static void user_unlink(struct idtab *t, struct sess *s)
{
	size_t n = strlen(s->user);

	if (!n)
		return;
	if (s->uprev)
		s->uprev->unext = s->unext;
	else if (s->unext)
		hmap_put(&t->user, s->user, n, s->unext);
	else
		hmap_del(&t->user, s->user, n);
	if (s->unext)
		s->unext->uprev = s->uprev;
	s->uprev = s->unext = NULL;
}

static void user_link(struct idtab *t, struct sess *s)
{
	size_t n = strlen(s->user);
	struct sess *h;

	if (!n)
		return;
	h = hmap_get(&t->user, s->user, n);
	s->uprev = NULL;
	s->unext = h;
	if (hmap_put(&t->user, s->user, n, s) != 0) {
		s->unext = NULL; /* out of memory: not found by user */
		return;
	}
	if (h)
		h->uprev = s;
}

static void sess_remove(struct idtab *t, struct sess *s)
{
	if (s->ended)
		tomb_unlink(t, s);
	user_unlink(t, s);
	hmap_del(&t->sess, s->key, s->klen);
	t->n_sess--;
	sess_free(s);
}

/* Whether a lease joins @s (a live session with a MAC): some lease of
 * its MAC, on an address no session names. */
static int has_lease_binding(const struct idtab *t, const struct sess *s)
{
	if (s->n_addr || !s->mac[0] ||
	    hmap_get(&t->mac, s->mac, strlen(s->mac)) != s)
		return 0;
	return hmap_get(&t->lmac, s->mac, strlen(s->mac)) != NULL;
}

/* The count of leases per MAC, up or down by one. */
static void lmac_count(struct idtab *t, const char *mac, int by)
{
	uintptr_t n = (uintptr_t)hmap_get(&t->lmac, mac, strlen(mac));

	n = by > 0 ? n + 1 : n ? n - 1 : 0;
	if (n)
		hmap_put(&t->lmac, mac, strlen(mac), (void *)n);
	else
		hmap_del(&t->lmac, mac, strlen(mac));
}

/* @gone leaves @mac: the MAC has no session until one speaks again (an
 * older live session of the same MAC, rare, takes it at its next
 * message; a scan for it here would make a mass expiry quadratic). */
static void mac_reindex(struct idtab *t, const char *mac,
			const struct sess *gone)
{
	if (hmap_get(&t->mac, mac, strlen(mac)) == gone)
		hmap_del(&t->mac, mac, strlen(mac));
}

/* @s holds its MAC's leases unless a newer session (by its first
 * message) of the same MAC does. */
static int mac_take(struct idtab *t, struct sess *s)
{
	const struct sess *h;

	if (!s->mac[0])
		return 0;
	h = hmap_get(&t->mac, s->mac, strlen(s->mac));
	if (h == s)
		return 0;
	if (!h || h->ended || h->order < s->order) {
		hmap_put(&t->mac, s->mac, strlen(s->mac), s);
		return 1;
	}
	return 0;
}

static void unbind_addrs(struct idtab *t, struct sess *s)
{
	unsigned i;

	for (i = 0; i < s->n_addr; i++)
		if (hmap_get(&t->addr, &s->addr[i], sizeof(s->addr[i])) == s)
			hmap_del(&t->addr, &s->addr[i], sizeof(s->addr[i]));
}

/* @s ends (a Stop, or no message for a lifetime): its addresses are
 * free, it stays as a tombstone one lifetime. */
static void sess_end(struct idtab *t, struct sess *s, int how, uint64_t now_ms)
{
	int bound = s->n_addr || has_lease_binding(t, s);

	if (bound)
		note_sess(t, s, how == ENDED_STOP ? "logout" : "expired");
	unbind_addrs(t, s);
	s->n_addr = 0; /* a tombstone holds no address */
	if (s->mac[0])
		mac_reindex(t, s->mac, s);
	s->ended = (uint8_t)how;
	s->ended_mono = (int64_t)now_ms;
	tomb_link(t, s);
}

/* Room for one more session: the oldest tombstone goes if the table is
 * full. */
static int make_room(struct idtab *t)
{
	if (t->n_sess < t->o.max)
		return 0;
	if (!t->thead)
		return -1;
	sess_remove(t, t->thead);
	return 0;
}

static int same_groups(const char *a, const char *b)
{
	size_t la = packed_len(a);

	return la == packed_len(b) && memcmp(a, b, la) == 0;
}

static int set_str(char **dst, const char *src, size_t n)
{
	char *c = malloc(n);

	if (!c)
		return -1;
	memcpy(c, src, n);
	free(*dst);
	*dst = c;
	return 0;
}

static int rebuild_recs(struct sess *s)
{
	struct id_rec *r, *rd;

	r = rec_new(ID_SRC_RADIUS, s->groups_from, s->user, s->mac, s->groups,
		    s->since_wall, s->seen_wall);
	rd = rec_new(ID_SRC_DHCP, s->groups_from, s->user, s->mac, s->groups,
		     s->since_wall, s->seen_wall);
	if (!r || !rd) {
		id_rec_put(r);
		id_rec_put(rd);
		return -1;
	}
	id_rec_put(s->rec);
	id_rec_put(s->rec_dhcp);
	s->rec = r;
	s->rec_dhcp = rd;
	return 0;
}

/* The addresses @m names. */
static unsigned msg_addrs(const struct id_acct *m, struct akey *out)
{
	unsigned n = 0;

	if (m->has_ip4) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].a[10] = out[n].a[11] = 0xff;
		memcpy(out[n].a + 12, m->ip4, 4);
		out[n++].plen = 128;
	}
	if (m->has_ip6) {
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].a, m->ip6, 16);
		out[n++].plen = 128;
	}
	if (m->has_prefix6) {
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].a, m->prefix6, 16);
		out[n++].plen = m->prefix6_len ? m->prefix6_len : 128;
	}
	return n;
}

/* Whether some address of @k is held by a session newer than @m. */
static int addr_newer(const struct idtab *t, const struct sess *self,
		      const struct akey *k, unsigned n, const struct id_acct *m)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct sess *o = hmap_get(&t->addr, &k[i], sizeof(k[i]));

		if (!o || o == self)
			continue;
		if (m->has_ts && o->has_ts && o->ts > m->ts)
			return 1;
		/* a live session does not take back an address from one
		 * that began after it (the address was given again): no
		 * flapping at each of the two's Interim-Updates */
		if (self && !self->ended && o->order > self->order)
			return 1;
	}
	return 0;
}

static int check_time(const struct idtab *t, const struct id_acct *m,
		      uint64_t wall_ms)
{
	uint64_t now_s = wall_ms / 1000;

	if (!m->has_ts)
		return 0;
	if ((uint64_t)m->ts > now_s + ID_FUTURE_S)
		return -1 - ID_REF_FUTURE;
	if ((uint64_t)m->ts + t->o.lifetime_s < now_s)
		return -1 - ID_REF_STALE;
	return 0;
}

static struct sess *sess_new(struct idtab *t, const char *key, size_t klen)
{
	struct sess *s = calloc(1, sizeof(*s));

	if (!s || !(s->key = malloc(klen + 1)) || set_str(&s->groups, "", 1) ||
	    set_str(&s->user, "", 1)) {
		if (s)
			sess_free(s);
		return NULL;
	}
	memcpy(s->key, key, klen);
	s->key[klen] = '\0';
	s->klen = klen;
	if (hmap_put(&t->sess, s->key, klen, s)) {
		sess_free(s);
		return NULL;
	}
	t->n_sess++;
	return s;
}

/* The session's addresses become @k: the ones it gives up are free, the
 * new ones taken (from another session if need be). */
static void take_addrs(struct idtab *t, struct sess *s, const struct akey *k,
		       unsigned n)
{
	unsigned i;

	unbind_addrs(t, s);
	for (i = 0; i < n; i++) {
		struct sess *o = hmap_get(&t->addr, &k[i], sizeof(k[i]));

		if (o && o != s) {
			unsigned j, w = 0;

			for (j = 0; j < o->n_addr; j++)
				if (memcmp(&o->addr[j], &k[i], sizeof(k[i])))
					o->addr[w++] = o->addr[j];
			o->n_addr = (uint8_t)w;
		}
		hmap_put(&t->addr, &k[i], sizeof(k[i]), s);
		s->addr[i] = k[i];
	}
	s->n_addr = (uint8_t)n;
}

static int bind_update(struct idtab *t, struct sess *s, const struct id_acct *m,
		       const struct akey *k, unsigned n, uint64_t now_ms,
		       uint64_t wall_ms)
{
	int changed = 0, fresh = s->user[0] == '\0';
	const char *groups = s->groups;
	uint8_t from = s->groups_from;

	if (m->groups_known) {
		groups = m->groups;
		from = ID_GROUPS_RADIUS;
	} else if (s->groups_from == ID_GROUPS_RADIUS || fresh) {
		groups = "";
		from = t->want_groups ? ID_GROUPS_PENDING : ID_GROUPS_NONE;
	}
	if (strcmp(s->user, m->user) || strcmp(s->mac, m->mac) ||
	    !same_groups(s->groups, groups) || s->groups_from != from ||
	    s->n_addr != n || memcmp(s->addr, k, n * sizeof(*k)))
		changed = 1;
	if (changed) {
		char *ng = NULL;

		if (set_str(&ng, groups, packed_len(groups)))
			return -1 - ID_REF_FULL;
		if (strcmp(s->user, m->user)) {
			user_unlink(t, s);
			if (set_str(&s->user, m->user, strlen(m->user) + 1)) {
				free(ng);
				return -1 - ID_REF_FULL;
			}
			user_link(t, s);
		}
		free(s->groups);
		s->groups = ng;
		s->groups_from = from;
		if (strcmp(s->mac, m->mac)) {
			if (s->mac[0])
				mac_reindex(t, s->mac, s);
			snprintf(s->mac, sizeof(s->mac), "%s", m->mac);
		}
		take_addrs(t, s, k, n);
	}
	if (fresh)
		s->order = ++t->order;
	/* the MAC's leases are this session's now: an identity changed */
	if (mac_take(t, s) && has_lease_binding(t, s))
		changed = 1;
	if (m->has_ts) {
		s->has_ts = 1;
		s->ts = m->ts;
	}
	if (fresh)
		s->since_wall = wall_ms;
	s->seen_wall = wall_ms;
	s->seen_mono = (int64_t)now_ms;
	if (changed || !s->rec) {
		if (rebuild_recs(s))
			return -1 - ID_REF_FULL;
		if (s->n_addr || has_lease_binding(t, s))
			note_sess(t, s, fresh ? "login" : "update");
		else
			changed = 0;
	}
	return changed;
}

/* The time a tombstone keeps: the Stop's Event-Timestamp, else its
 * arrival. A Start or Interim-Update of the session later than that is a
 * new one (a NAS that reuses session ids after a reboot); one not later,
 * or without a stamp, is a replay. */
static void stop_time(struct sess *s, const struct id_acct *m, uint64_t wall_ms)
{
	uint32_t now_s = (uint32_t)(wall_ms / 1000);

	if (m->has_ts) {
		s->ts = m->ts;
	} else if (!s->has_ts || s->ts < now_s) {
		s->ts = now_s;
	}
	s->has_ts = 1;
}

static int stop(struct idtab *t, struct sess *s, const struct id_acct *m,
		uint64_t now_ms, uint64_t wall_ms)
{
	int had;

	if (s->ended)
		return 0;
	if (m->has_ts && s->has_ts && m->ts < s->ts) {
		t->st.refused[ID_REF_STALE]++;
		return -1 - ID_REF_STALE;
	}
	had = s->n_addr || has_lease_binding(t, s);
	stop_time(s, m, wall_ms);
	sess_end(t, s, ENDED_STOP, now_ms);
	t->gen++;
	t->st.updates++;
	return had;
}

int idtab_account(struct idtab *t, const struct id_acct *m, uint64_t now_ms,
		  uint64_t wall_ms)
{
	char key[2 * ID_SESSION_MAX + 2];
	struct akey k[SESS_ADDRS];
	struct sess *s;
	unsigned n;
	int rc, klen;

	rc = check_time(t, m, wall_ms);
	/* a prefix shorter than /48 is no subscriber's: it would name whole
	 * networks */
	if (rc == 0 &&
	    (!m->session[0] || strlen(m->session) > ID_SESSION_MAX ||
	     strlen(m->nas) > ID_SESSION_MAX || strlen(m->user) > ID_USER_MAX ||
	     (m->has_prefix6 && m->prefix6_len < ID_PREFIX6_MIN)))
		rc = -1 - ID_REF_INVALID;
	if (rc) {
		t->st.refused[-1 - rc]++;
		return rc;
	}
	klen = snprintf(key, sizeof(key), "%s\x1f%s", m->nas, m->session);
	s = hmap_get(&t->sess, key, (size_t)klen);
	if (m->status == ID_STOP) {
		if (!s) {
			/* a Stop before its Start: the Start, if it comes
			 * late, finds the session ended */
			if (make_room(t) ||
			    !(s = sess_new(t, key, (size_t)klen)))
				return 0;
			stop_time(s, m, wall_ms);
			s->ended = ENDED_STOP;
			s->ended_mono = (int64_t)now_ms;
			tomb_link(t, s);
			t->gen++;
			return 0;
		}
		return stop(t, s, m, now_ms, wall_ms);
	}
	n = msg_addrs(m, k);
	if (!m->user[0] || (!n && !m->mac[0]))
		rc = -1 - ID_REF_INVALID;
	else if (s && s->ended &&
		 !(m->has_ts &&
		   (s->has_ts ? m->ts > s->ts : s->ended == ENDED_EXPIRED)))
		rc = -1 - ID_REF_REPLAYED;
	else if (s && m->has_ts && s->has_ts && m->ts < s->ts)
		rc = -1 - ID_REF_STALE;
	else if (addr_newer(t, s, k, n, m))
		rc = -1 - ID_REF_STALE;
	else if (!s && (make_room(t) || !(s = sess_new(t, key, (size_t)klen))))
		rc = -1 - ID_REF_FULL;
	if (rc) {
		t->st.refused[-1 - rc]++;
		return rc;
	}
	if (s->ended) {
		/* an expired session heard of again: a login anew */
		tomb_unlink(t, s);
		s->ended = ENDED_NO;
		user_unlink(t, s);
		s->user[0] = '\0';
	}
	rc = bind_update(t, s, m, k, n, now_ms, wall_ms);
	if (rc < 0)
		t->st.refused[-1 - rc]++;
	else if (rc)
		t->st.updates++;
	else
		t->st.unchanged++;
	return rc;
}

int idtab_nas_reset(struct idtab *t, const struct id_acct *m, uint64_t now_ms,
		    uint64_t wall_ms)
{
	size_t n = strlen(m->nas);
	int changed = 0, rc = check_time(t, m, wall_ms);
	uint32_t i, at;

	if (rc) {
		t->st.refused[-1 - rc]++;
		return rc;
	}
	/* the reset's time: a session heard of after it goes on */
	at = m->has_ts ? m->ts : (uint32_t)(wall_ms / 1000);
	for (i = 0; i < t->sess.nb; i++) {
		struct hent *e;

		for (e = t->sess.b[i]; e; e = e->next) {
			struct sess *s = e->val;

			if (s->ended || s->klen <= n || s->key[n] != '\x1f' ||
			    memcmp(s->key, m->nas, n) ||
			    (s->has_ts && s->ts > at))
				continue;
			changed |= s->n_addr || has_lease_binding(t, s);
			s->has_ts = 1;
			s->ts = at;
			sess_end(t, s, ENDED_STOP, now_ms);
			t->gen++;
		}
	}
	if (changed)
		t->st.updates++;
	return changed;
}

int idtab_lease(struct idtab *t, const uint8_t addr[16], const char *mac,
		unsigned seconds, int add, uint64_t now_ms, uint64_t wall_ms)
{
	int changed = 0;
	struct lease *l = hmap_get(&t->lease, addr, 16);
	struct sess *s;
	char w[64];
	int bound;

	s = mac[0] ? hmap_get(&t->mac, mac, strlen(mac)) : NULL;
	if (!add) {
		if (!l || (mac[0] && strcmp(l->mac, mac)))
			return 0;
		s = hmap_get(&t->mac, l->mac, strlen(l->mac));
		lmac_count(t, l->mac, -1);
		hmap_del(&t->lease, addr, 16);
		t->st.leases++;
		pkt_addr_format(addr, 0, w, sizeof(w));
		bound = s != NULL;
		if (bound)
			note(t, w, s->user, s->groups, "lease ended");
		free(l);
		return bound;
	}
	if (!mac[0] || !seconds) {
		t->st.refused[ID_REF_INVALID]++;
		return -1 - ID_REF_INVALID;
	}
	if (!l) {
		if (t->lease.n >= t->o.max) {
			t->st.refused[ID_REF_FULL]++;
			return -1 - ID_REF_FULL;
		}
		l = calloc(1, sizeof(*l));
		if (!l || hmap_put(&t->lease, addr, 16, l)) {
			free(l);
			t->st.refused[ID_REF_FULL]++;
			return -1 - ID_REF_FULL;
		}
		memcpy(l->addr, addr, 16);
	} else if (strcmp(l->mac, mac) == 0) {
		l->expires_mono = now_ms + (uint64_t)seconds * 1000;
		l->expires_wall = wall_ms + (uint64_t)seconds * 1000;
		t->st.leases++;
		t->gen++; /* its end moved: the state file keeps it */
		return 0; /* a renewal */
	}
	pkt_addr_format(addr, 0, w, sizeof(w));
	if (l->mac[0]) {
		/* the address changes hands: whoever held it by lease lets
		 * it go */
		struct sess *o = hmap_get(&t->mac, l->mac, strlen(l->mac));

		if (o && !o->ended) {
			note(t, w, o->user, o->groups, "lease ended");
			changed = 1;
		}
		lmac_count(t, l->mac, -1);
	}
	snprintf(l->mac, sizeof(l->mac), "%s", mac);
	lmac_count(t, l->mac, 1);
	l->expires_mono = now_ms + (uint64_t)seconds * 1000;
	l->expires_wall = wall_ms + (uint64_t)seconds * 1000;
	t->st.leases++;
	if (s)
		note(t, w, s->user, s->groups, "lease");
	else
		t->dirty = 1;
	t->gen++;
	return s != NULL || changed;
}

int idtab_set_groups(struct idtab *t, const char *user, const char *groups,
		     uint64_t wall_ms)
{
	struct sess *s = hmap_get(&t->user, user, strlen(user));
	int changed = 0;

	for (; s; s = s->unext) {
		if (s->ended || s->groups_from == ID_GROUPS_RADIUS)
			continue;
		if (s->groups_from == ID_GROUPS_LDAP &&
		    same_groups(s->groups, groups))
			continue;
		if (set_str(&s->groups, groups, packed_len(groups)))
			continue;
		s->groups_from = ID_GROUPS_LDAP;
		s->seen_wall = s->seen_wall ? s->seen_wall : wall_ms;
		if (rebuild_recs(s))
			continue;
		if (s->n_addr || has_lease_binding(t, s)) {
			note_sess(t, s, "groups");
			changed = 1;
		}
	}
	if (changed)
		t->st.updates++;
	return changed;
}

int idtab_expire(struct idtab *t, uint64_t now_ms, uint64_t wall_ms)
{
	uint64_t life = (uint64_t)t->o.lifetime_s * 1000;
	int changed = 0;
	uint32_t i;

	(void)wall_ms;
	while (t->thead &&
	       t->thead->ended_mono + (int64_t)life <= (int64_t)now_ms)
		sess_remove(t, t->thead);
	for (i = 0; i < t->sess.nb; i++) {
		struct hent *e;

		for (e = t->sess.b[i]; e; e = e->next) {
			struct sess *s = e->val;

			if (s->ended ||
			    s->seen_mono + (int64_t)life > (int64_t)now_ms)
				continue;
			changed |= s->n_addr || has_lease_binding(t, s);
			sess_end(t, s, ENDED_EXPIRED, now_ms);
			t->st.expired++;
		}
	}
	for (i = 0; i < t->lease.nb; i++) {
		struct hent *e, *nx;

		for (e = t->lease.b[i]; e; e = nx) {
			struct lease *l = e->val;

			nx = e->next;
			if (l->expires_mono > now_ms)
				continue;
			changed |= idtab_lease(t, l->addr, l->mac, 0, 0, now_ms,
					       wall_ms) > 0;
			t->st.expired++;
		}
	}
	return changed;
}

void idtab_get_stats(const struct idtab *t, struct idtab_stats *s)
{
	*s = t->st;
	s->sessions = t->n_sess - t->n_tomb;
	s->tombstones = t->n_tomb;
	s->n_leases = t->lease.n;
}

/* ---- snapshots ---- */

struct snap_slot {
	uint8_t a[16];
	struct id_rec *r; /* NULL: empty */
};

struct id_snap {
	uint32_t mask, n;
	uint64_t seed;
	struct snap_slot *slot;
	struct lpm *pfx; /* IPv6 prefixes -> index in prec */
	struct akey *pkey;
	struct id_rec **prec;
	uint32_t n_pfx, cap_pfx;
};

struct id_rec *id_snap_lookup(const struct id_snap *s, const uint8_t addr[16])
{
	uint32_t i;
	int32_t v;

	if (!s)
		return NULL;
	if (s->n) {
		for (i = hash_bytes(s->seed, addr, 16) & s->mask;;
		     i = (i + 1) & s->mask) {
			if (!s->slot[i].r)
				break;
			if (memcmp(s->slot[i].a, addr, 16) == 0)
				return s->slot[i].r;
		}
	}
	if (!s->n_pfx || pkt_addr_is_v4(addr))
		return NULL;
	v = lpm_lookup(s->pfx, addr);
	return v < 0 ? NULL : s->prec[v];
}

unsigned id_snap_count(const struct id_snap *s)
{
	return s ? s->n + s->n_pfx : 0;
}

void id_snap_foreach(const struct id_snap *s,
		     int (*fn)(void *ctx, const uint8_t addr[16], uint8_t plen,
			       const struct id_rec *r),
		     void *ctx)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; s->n && i <= s->mask; i++)
		if (s->slot[i].r && fn(ctx, s->slot[i].a, 128, s->slot[i].r))
			return;
	for (i = 0; i < s->n_pfx; i++)
		if (fn(ctx, s->pkey[i].a, s->pkey[i].plen, s->prec[i]))
			return;
}

void id_snap_free(struct id_snap *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; s->slot && i <= s->mask; i++)
		id_rec_put(s->slot[i].r);
	for (i = 0; i < s->n_pfx; i++)
		id_rec_put(s->prec[i]);
	free(s->slot);
	free(s->pkey);
	free(s->prec);
	lpm_destroy(s->pfx);
	free(s);
}

static void snap_put_addr(struct id_snap *s, const uint8_t a[16],
			  struct id_rec *r)
{
	uint32_t i;

	for (i = hash_bytes(s->seed, a, 16) & s->mask;; i = (i + 1) & s->mask) {
		if (!s->slot[i].r)
			break;
		if (memcmp(s->slot[i].a, a, 16) == 0)
			return; /* the first binding stands */
	}
	memcpy(s->slot[i].a, a, 16);
	id_rec_get(r);
	s->slot[i].r = r;
	s->n++;
}

static int snap_put_prefix(struct id_snap *s, const struct akey *k,
			   struct id_rec *r)
{
	if (s->n_pfx == s->cap_pfx) {
		uint32_t c = s->cap_pfx ? s->cap_pfx * 2 : 16;
		struct akey *nk = realloc(s->pkey, c * sizeof(*nk));
		struct id_rec **nr;

		if (!nk)
			return -1;
		s->pkey = nk;
		nr = realloc(s->prec, c * sizeof(*nr));
		if (!nr)
			return -1;
		s->prec = nr;
		s->cap_pfx = c;
	}
	if (lpm_insert(s->pfx, k->a, k->plen, (int32_t)s->n_pfx, NULL) != 0)
		return 0; /* -EEXIST: one session per prefix */
	s->pkey[s->n_pfx] = *k;
	id_rec_get(r);
	s->prec[s->n_pfx++] = r;
	return 0;
}

static int snap_fill(struct idtab *t, struct id_snap *s)
{
	uint32_t i;

	for (i = 0; i < t->addr.nb; i++) {
		const struct hent *e;

		for (e = t->addr.b[i]; e; e = e->next) {
			const struct akey *k = (const void *)e->key;
			struct sess *ss = e->val;

			if (k->plen == 128)
				snap_put_addr(s, k->a, ss->rec);
			else if (snap_put_prefix(s, k, ss->rec))
				return -1;
		}
	}
	for (i = 0; i < t->lease.nb; i++) {
		const struct hent *e;

		for (e = t->lease.b[i]; e; e = e->next) {
			const struct lease *l = e->val;
			struct sess *ss =
				hmap_get(&t->mac, l->mac, strlen(l->mac));

			/* only a session that names no address of its own
			 * (wired 802.1X) takes its MAC's leases */
			if (ss && !ss->ended && !ss->n_addr)
				snap_put_addr(s, l->addr, ss->rec_dhcp);
		}
	}
	return 0;
}

struct id_snap *idtab_snapshot(struct idtab *t)
{
	struct id_snap *s = calloc(1, sizeof(*s));
	uint32_t want = 16;

	if (!s)
		return NULL;
	while (want < 2 * (t->addr.n + t->lease.n) + 2)
		want *= 2;
	s->mask = want - 1;
	s->seed = t->sess.seed ^ 0x9e3779b97f4a7c15ULL;
	s->slot = calloc(want, sizeof(*s->slot));
	s->pfx = lpm_create(128);
	if (!s->slot || !s->pfx || snap_fill(t, s)) {
		id_snap_free(s);
		return NULL;
	}
	t->dirty = 0;
	t->chg_len = 0;
	t->chg[0] = '\0';
	t->chg_n = t->chg_more = 0;
	return s;
}

/* ---- the state file ---- */

/* Writes @s with '%', tab, newline and control bytes as %XX. */
static void put_esc(FILE *f, const char *s)
{
	if (!*s) {
		fputc('-', f);
		return;
	}
	if (*s == '-')
		fputs("%2D", f), s++;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == '%' || c == 0x7f)
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

static int unesc(char *s)
{
	char *o = s;

	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return 0;
	}
	for (; *s; s++) {
		unsigned v;

		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (!isxdigit((unsigned char)s[1]) ||
		    !isxdigit((unsigned char)s[2]) ||
		    sscanf(s + 1, "%2x", &v) != 1 || !v)
			return -1;
		*o++ = (char)v;
		s += 2;
	}
	*o = '\0';
	return 0;
}

static uint64_t wall_of(int64_t mono, uint64_t now_ms, uint64_t wall_ms)
{
	return (uint64_t)((int64_t)wall_ms + (mono - (int64_t)now_ms));
}

static void save_sess(FILE *f, const struct sess *s, uint64_t now_ms,
		      uint64_t wall_ms)
{
	const char *g;
	unsigned i;

	fputs("S\t", f);
	put_esc(f, s->key);
	fputc('\t', f);
	put_esc(f, s->user);
	fprintf(f,
		"\t%s\t%d\t%" PRIu32 "\t%" PRIu64 "\t%" PRIu64 "\t%u\t%" PRIu64
		"\t%u\t%u",
		s->mac[0] ? s->mac : "-", s->has_ts, s->ts, s->since_wall,
		wall_of(s->seen_mono, now_ms, wall_ms), s->ended,
		wall_of(s->ended_mono, now_ms, wall_ms), s->groups_from,
		s->n_addr);
	for (i = 0; i < s->n_addr; i++) {
		char a[80];

		akey_text(&s->addr[i], a, sizeof(a));
		fprintf(f, "\t%s", a);
	}
	for (g = s->groups; *g; g += strlen(g) + 1) {
		fputc('\t', f);
		put_esc(f, g);
	}
	fputc('\n', f);
}

int idtab_save(const struct idtab *t, int dirfd, const char *name,
	       uint64_t now_ms, uint64_t wall_ms, char *err, size_t errlen)
{
	char tmp[256];
	FILE *f;
	uint32_t i;
	int fd, bad;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "# skyfenced identity table; written %" PRIu64 "\n",
		wall_ms);
	for (i = 0; i < t->sess.nb; i++) {
		const struct hent *e;

		for (e = t->sess.b[i]; e; e = e->next)
			save_sess(f, e->val, now_ms, wall_ms);
	}
	for (i = 0; i < t->lease.nb; i++) {
		const struct hent *e;

		for (e = t->lease.b[i]; e; e = e->next) {
			const struct lease *l = e->val;
			char a[64];

			pkt_addr_format(l->addr, 0, a, sizeof(a));
			fprintf(f, "L\t%s\t%s\t%" PRIu64 "\n", a, l->mac,
				l->expires_wall);
		}
	}
	bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || renameat(dirfd, tmp, dirfd, name) != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int parse_addr(const char *txt, struct akey *k)
{
	struct lpm_prefix p;
	char e[128];

	if (lpm_prefix_parse(txt, &p, NULL, e, sizeof(e)) != 0)
		return -1;
	memcpy(k->a, p.addr, 16);
	k->plen = p.plen;
	return 0;
}

/* The monotonic time of wall-clock time @wall: negative before this
 * boot. */
static int64_t mono_of(uint64_t wall, uint64_t now_ms, uint64_t wall_ms)
{
	if (wall >= wall_ms)
		return (int64_t)now_ms; /* a clock that went back: as if now */
	return (int64_t)now_ms - (int64_t)(wall_ms - wall);
}

static int load_sess(struct idtab *t, char **f, int nf, uint64_t now_ms,
		     uint64_t wall_ms)
{
	uint64_t life = (uint64_t)t->o.lifetime_s * 1000;
	char groups[ID_MAX_GROUPS * (ID_GROUP_MAX + 1) + 1];
	struct akey k[SESS_ADDRS];
	unsigned ended, from, n_addr, i;
	size_t gl = 0;
	struct sess *s;

	if (nf < 12 || unesc(f[1]) || unesc(f[2]) ||
	    strlen(f[1]) > 2 * ID_SESSION_MAX + 1 || strlen(f[2]) > ID_USER_MAX)
		return -1;
	ended = (unsigned)strtoul(f[8], NULL, 10);
	from = (unsigned)strtoul(f[10], NULL, 10);
	n_addr = (unsigned)strtoul(f[11], NULL, 10);
	if (ended > ENDED_EXPIRED || from > ID_GROUPS_PENDING ||
	    n_addr > SESS_ADDRS || nf < 12 + (int)n_addr)
		return -1;
	for (i = 0; i < n_addr; i++)
		if (parse_addr(f[12 + i], &k[i]))
			return -1;
	for (i = 12 + n_addr;
	     i < (unsigned)nf && i < 12 + n_addr + ID_MAX_GROUPS; i++) {
		size_t n;

		if (unesc(f[i]) || !(n = strlen(f[i])) || n > ID_GROUP_MAX)
			return -1;
		memcpy(groups + gl, f[i], n + 1);
		gl += n + 1;
	}
	groups[gl] = '\0';
	if (t->n_sess >= t->o.max)
		return -1;
	s = sess_new(t, f[1], strlen(f[1]));
	if (!s || set_str(&s->user, f[2], strlen(f[2]) + 1) ||
	    set_str(&s->groups, groups, gl + 1))
		return -1;
	user_link(t, s);
	if (strcmp(f[3], "-"))
		snprintf(s->mac, sizeof(s->mac), "%s", f[3]);
	s->has_ts = atoi(f[4]) != 0;
	s->ts = (uint32_t)strtoul(f[5], NULL, 10);
	s->since_wall = strtoull(f[6], NULL, 10);
	s->seen_wall = strtoull(f[7], NULL, 10);
	s->seen_mono = mono_of(s->seen_wall, now_ms, wall_ms);
	s->groups_from = (uint8_t)(from == ID_GROUPS_PENDING && !t->want_groups
					   ? ID_GROUPS_NONE
					   : from);
	s->order = ++t->order;
	if (ended || s->seen_wall + life <= wall_ms) {
		s->ended = ended ? (uint8_t)ended : ENDED_EXPIRED;
		s->ended_mono = ended ? mono_of(strtoull(f[9], NULL, 10),
						now_ms, wall_ms)
				      : (int64_t)now_ms;
		tomb_link(t, s);
		return 0;
	}
	if (rebuild_recs(s))
		return -1;
	take_addrs(t, s, k, n_addr);
	mac_take(t, s);
	t->dirty = 1;
	t->gen++;
	return 0;
}

static int load_lease(struct idtab *t, char **f, int nf, uint64_t now_ms,
		      uint64_t wall_ms)
{
	struct akey k;
	uint64_t exp;

	if (nf != 4 || parse_addr(f[1], &k) || k.plen != 128 ||
	    strlen(f[2]) != 17)
		return -1;
	exp = strtoull(f[3], NULL, 10);
	if (exp <= wall_ms)
		return 0;
	return idtab_lease(t, k.a, f[2], (unsigned)((exp - wall_ms) / 1000) + 1,
			   1, now_ms, wall_ms) < 0
		       ? -1
		       : 0;
}

/* Reads the open state file @f into @t; the entries read, or -1. */
static int load_lines(struct idtab *t, FILE *f, const char *name,
		      uint64_t now_ms, uint64_t wall_ms, char *err,
		      size_t errlen)
{
	char line[32768]; /* the longest entry, escaped, is under 28000 */
	int n = 0, lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		char *fld[13 + SESS_ADDRS + ID_MAX_GROUPS + 1], *p = line, *tok;
		int nf = 0, rc;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		while ((tok = strsep(&p, "\t")) != NULL &&
		       nf < (int)(sizeof(fld) / sizeof(fld[0])))
			fld[nf++] = tok;
		if (line[0] == 'S' && !line[1])
			rc = load_sess(t, fld, nf, now_ms, wall_ms);
		else if (line[0] == 'L' && !line[1])
			rc = load_lease(t, fld, nf, now_ms, wall_ms);
		else
			rc = -1;
		if (rc) {
			snprintf(err, errlen, "%s:%d: unreadable entry", name,
				 lineno);
			return -1;
		}
		n++;
	}
	return n;
}

int idtab_load(struct idtab *t, int dirfd, const char *name, uint64_t now_ms,
	       uint64_t wall_ms, char *err, size_t errlen)
{
	struct idtab *nt, old;
	int fd, n;
	FILE *f;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	/* into a table of its own: a file that fails half way changes
	 * nothing */
	nt = idtab_create(&t->o, t->sess.seed ^ 0x5bd1e995u);
	if (!nt) {
		fclose(f);
		snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
		return -1;
	}
	nt->want_groups = t->want_groups;
	n = load_lines(nt, f, name, now_ms, wall_ms, err, errlen);
	fclose(f);
	if (n < 0) {
		idtab_free(nt);
		return -1;
	}
	nt->chg_len = 0;
	nt->chg[0] = '\0';
	nt->chg_n = nt->chg_more = 0;
	nt->st = t->st;
	old = *t;
	*t = *nt;
	*nt = old;
	idtab_free(nt);
	return n;
}
