/* flow.c - the flow table: a fixed pool, direction-free keys, idle expiry
 * and LRU eviction (flow.h). */
#include "core/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigmem.h"
#include "core/hash.h"
#include "core/pkt.h"

#define NIL UINT32_MAX
#define FLOW_MAX_CAPACITY (1u << 26)

struct flow_table {
	struct flow *pool;
	uint32_t *buckets;
	uint32_t capacity, mask;
	uint32_t free_head;
	uint32_t lru_head, lru_tail; /* head: least recently used */
	uint64_t idle_ms, seed, next_id;
	flow_end_fn on_end;
	void *ctx;
	struct flow_table_stats st;
	size_t warm; /* bytes of the pool in memory (bigmem_warm) */
};

void flow_key_from_pkt(const struct pkt *p, struct flow_key *k, int *src_is_lo)
{
	int c = memcmp(p->src, p->dst, 16);

	if (c == 0)
		c = (int)p->sport - (int)p->dport;
	memset(k, 0, sizeof(*k));
	if (c <= 0) {
		memcpy(k->lo, p->src, 16);
		memcpy(k->hi, p->dst, 16);
		k->lo_port = p->sport;
		k->hi_port = p->dport;
		*src_is_lo = 1;
	} else {
		memcpy(k->lo, p->dst, 16);
		memcpy(k->hi, p->src, 16);
		k->lo_port = p->dport;
		k->hi_port = p->sport;
		*src_is_lo = 0;
	}
	k->vlan = p->vlan;
	k->l4proto = p->l4proto;
	k->family = p->family;
}

static uint32_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = t->seed;
	size_t i;

	_Static_assert(sizeof(struct flow_key) % 8 == 0, "key is padded");
	memcpy(w, k, sizeof(w));
	for (i = 0; i < sizeof(w) / 8; i++)
		h = hash_mix64(h ^ w[i]) + i;
	return (uint32_t)(h & t->mask);
}

struct flow_table *flow_table_create(uint32_t capacity, uint64_t idle_ms,
				     uint64_t seed, flow_end_fn on_end,
				     void *ctx)
{
	struct flow_table *t;
	uint32_t nb = 1, i;

	if (capacity == 0 || capacity > FLOW_MAX_CAPACITY)
		return NULL;
	while (nb < capacity * 2u)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pool = bigmem_alloc(capacity, sizeof(*t->pool));
	t->capacity = capacity; /* what the pool's free needs */
	t->buckets = malloc((size_t)nb * sizeof(*t->buckets));
	if (!t->pool || !t->buckets) {
		flow_table_destroy(t);
		return NULL;
	}
	for (i = 0; i < nb; i++)
		t->buckets[i] = NIL;
	for (i = 0; i < capacity; i++)
		t->pool[i].hnext = i + 1 < capacity ? i + 1 : NIL;
	t->capacity = capacity;
	t->mask = nb - 1;
	t->free_head = 0;
	t->lru_head = t->lru_tail = NIL;
	t->idle_ms = idle_ms;
	t->seed = hash_mix64(seed ^ 0x736b7966656e6365ULL);
	t->on_end = on_end;
	t->ctx = ctx;
	t->st.capacity = capacity;
	return t;
}

int flow_table_warm(struct flow_table *t, size_t chunk)
{
	return bigmem_warm(t->pool, t->capacity, sizeof(*t->pool), &t->warm,
			   chunk);
}

void flow_table_destroy(struct flow_table *t)
{
	if (!t)
		return;
	bigmem_free(t->pool, t->capacity, sizeof(*t->pool));
	free(t->buckets);
	free(t);
}

static void lru_unlink(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->pool[i];

	if (f->lru_prev != NIL)
		t->pool[f->lru_prev].lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next != NIL)
		t->pool[f->lru_next].lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
}

static void lru_append(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->pool[i];

	f->lru_next = NIL;
	f->lru_prev = t->lru_tail;
	if (t->lru_tail != NIL)
		t->pool[t->lru_tail].lru_next = i;
	else
		t->lru_head = i;
	t->lru_tail = i;
}

static uint32_t bucket_find(const struct flow_table *t, uint32_t b,
			    const struct flow_key *k)
{
	uint32_t i;

	for (i = t->buckets[b]; i != NIL; i = t->pool[i].hnext)
		if (memcmp(&t->pool[i].key, k, sizeof(*k)) == 0)
			return i;
	return NIL;
}

/* Ends flow @i: tells the owner, unlinks it, returns it to the free list. */
static void flow_end(struct flow_table *t, uint32_t i, int reason)
{
	struct flow *f = &t->pool[i];
	uint32_t b = key_hash(t, &f->key), *pp;

	if (t->on_end)
		t->on_end(t->ctx, f, reason);
	for (pp = &t->buckets[b]; *pp != NIL; pp = &t->pool[*pp].hnext) {
		if (*pp == i) {
			*pp = f->hnext;
			break;
		}
	}
	lru_unlink(t, i);
	f->in_use = 0;
	f->hnext = t->free_head;
	t->free_head = i;
	t->st.active--;
}

static enum flow_dir dir_of(const struct flow *f, int src_is_lo)
{
	return (src_is_lo == f->init_is_lo) ? FLOW_DIR_ORIG : FLOW_DIR_REPLY;
}

struct flow *flow_table_find(struct flow_table *t, const struct pkt *p,
			     enum flow_dir *dir)
{
	struct flow_key k;
	int src_is_lo;
	uint32_t i;

	flow_key_from_pkt(p, &k, &src_is_lo);
	i = bucket_find(t, key_hash(t, &k), &k);
	if (i == NIL)
		return NULL;
	*dir = dir_of(&t->pool[i], src_is_lo);
	return &t->pool[i];
}

struct flow *flow_table_get(struct flow_table *t, const struct pkt *p,
			    uint64_t now_ms, enum flow_dir *dir, int *created)
{
	struct flow_key k;
	struct flow *f;
	int src_is_lo;
	uint32_t b, i;

	t->st.lookups++;
	flow_key_from_pkt(p, &k, &src_is_lo);
	b = key_hash(t, &k);
	i = bucket_find(t, b, &k);
	if (i != NIL) {
		f = &t->pool[i];
		*dir = dir_of(f, src_is_lo);
		*created = 0;
		if (now_ms > f->last_ms)
			f->last_ms = now_ms;
		lru_unlink(t, i);
		lru_append(t, i);
		return f;
	}
	if (t->free_head == NIL) {
		flow_end(t, t->lru_head, FLOW_END_EVICTED);
		t->st.evicted++;
	}
	i = t->free_head;
	f = &t->pool[i];
	t->free_head = f->hnext;
	memset(f, 0, sizeof(*f));
	f->key = k;
	f->id = t->next_id++;
	f->first_ms = f->last_ms = now_ms;
	f->init_is_lo = (uint8_t)src_is_lo;
	f->cls_slot = -1;
	f->buf = -1;
	f->rule = -1;
	f->in_use = 1;
	f->hnext = t->buckets[b];
	t->buckets[b] = i;
	lru_append(t, i);
	t->st.created++;
	t->st.active++;
	*dir = FLOW_DIR_ORIG;
	*created = 1;
	return f;
}

void flow_table_end(struct flow_table *t, struct flow *f, int reason)
{
	flow_end(t, (uint32_t)(f - t->pool), reason);
}

unsigned flow_table_expire(struct flow_table *t, uint64_t now_ms)
{
	unsigned n = 0;

	while (t->lru_head != NIL &&
	       t->pool[t->lru_head].last_ms + t->idle_ms < now_ms) {
		flow_end(t, t->lru_head, FLOW_END_IDLE);
		t->st.expired++;
		n++;
	}
	return n;
}

void flow_table_flush(struct flow_table *t)
{
	while (t->lru_head != NIL)
		flow_end(t, t->lru_head, FLOW_END_FLUSH);
}

void flow_table_foreach(struct flow_table *t,
			void (*fn)(void *ctx, struct flow *f), void *ctx)
{
	uint32_t i, next;

	for (i = t->lru_head; i != NIL; i = next) {
		next = t->pool[i].lru_next;
		fn(ctx, &t->pool[i]);
	}
}

void flow_table_get_stats(const struct flow_table *t,
			  struct flow_table_stats *s)
{
	*s = t->st;
}

const uint8_t *flow_initiator(const struct flow *f, uint16_t *port)
{
	if (port)
		*port = f->init_is_lo ? f->key.lo_port : f->key.hi_port;
	return f->init_is_lo ? f->key.lo : f->key.hi;
}

const uint8_t *flow_responder(const struct flow *f, uint16_t *port)
{
	if (port)
		*port = f->init_is_lo ? f->key.hi_port : f->key.lo_port;
	return f->init_is_lo ? f->key.hi : f->key.lo;
}

const char *flow_l4_name(uint8_t l4proto, char buf[8])
{
	switch (l4proto) {
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 1:
		return "ICMP";
	case 58:
		return "ICMPV6";
	case 112:
		return "VRRP";
	case 2:
		return "IGMP";
	default:
		snprintf(buf, 8, "%u", l4proto);
		return buf;
	}
}

/* @s, then @sep, at @o of @buf (@len): the new end, or @len if full. */
static size_t key_put(char *buf, size_t len, size_t o, const char *s, char sep)
{
	size_t n = strlen(s);

	if (o >= len || n + 2 > len - o)
		return len;
	memcpy(buf + o, s, n);
	buf[o + n] = sep;
	return o + n + 1;
}

static const char *key_port(unsigned v, char t[8])
{
	int i = 7;

	t[i] = '\0';
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && i > 0);
	return t + i;
}

char *flow_key_format(const struct flow_key *k, char *buf, size_t len)
{
	char a[PKT_ADDR_STRLEN], b[PKT_ADDR_STRLEN], l4[8], pt[8];
	unsigned pa = k->lo_port, pb = k->hi_port;
	const char *x = a, *y = b;
	unsigned px = pa, py = pb;
	size_t o = 0;
	int c;

	if (len == 0)
		return buf;
	pkt_addr_format(k->lo, 1, a, sizeof(a));
	pkt_addr_format(k->hi, 1, b, sizeof(b));
	c = strcmp(a, b);
	if (c > 0 || (c == 0 && pa > pb)) {
		x = b, y = a;
		px = pb, py = pa;
	}
	/* L4|X|PX|Y|PY|VLAN, without printf (a record a flow) */
	o = key_put(buf, len, o, flow_l4_name(k->l4proto, l4), '|');
	o = key_put(buf, len, o, x, '|');
	o = key_put(buf, len, o, key_port(px, pt), '|');
	o = key_put(buf, len, o, y, '|');
	o = key_put(buf, len, o, key_port(py, pt), '|');
	o = key_put(buf, len, o, key_port(k->vlan, pt), '\0');
	if (o >= len)
		snprintf(buf, len, "%s|%s|%u|%s|%u|%u",
			 flow_l4_name(k->l4proto, l4), x, px, y, py, k->vlan);
	return buf;
}

const char *flow_decided_at_name(uint8_t at)
{
	static const char *const names[DEC_MAX] = {
		"-", "packet", "limit", "mark", "idle", "evicted", "end",
	};

	return at < DEC_MAX ? names[at] : "-";
}

char *flow_evidence_format(const struct flow *f, char *buf, size_t len)
{
	const char *kind = cls_evidence_name(f->pol_evidence);

	if (f->cls.rejected && f->pol_evidence == f->cls.evidence)
		snprintf(buf, len, "%s-rejected", kind);
	else if (f->pol_evidence == CLS_EV_HEURISTIC && !f->pol_app)
		snprintf(buf, len, "heuristic-ignored");
	else
		snprintf(buf, len, "%s", kind);
	return buf;
}
