/* sidetab.c - the audit's side table (sidetab.h): 4-way sets, a mutex per
 * stripe of sets, the oldest entry of a full set replaced. */
#include "audit/sidetab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define STRIPES 64

struct slot {
	struct side_key k;
	struct side_val v;
	uint64_t stamp; /* 0: free */
};

struct sidetab {
	struct slot *slots;
	uint32_t n_sets;
	uint64_t seed;
	pthread_mutex_t mu[STRIPES];
	uint64_t stamp[STRIPES];
	struct sidetab_stats st[STRIPES];
};

struct sidetab *sidetab_create(uint32_t capacity, uint64_t seed)
{
	struct sidetab *t;
	unsigned i;

	if (capacity < WAYS || capacity > (1u << 28))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n_sets = capacity / WAYS;
	t->slots = calloc((size_t)t->n_sets * WAYS, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->seed = seed;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&t->mu[i], NULL);
	return t;
}

void sidetab_destroy(struct sidetab *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&t->mu[i]);
	free(t->slots);
	free(t);
}

static uint32_t set_of(const struct sidetab *t, const struct side_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = t->seed;
	size_t i;

	_Static_assert(sizeof(struct side_key) % 8 == 0, "key is padded");
	memcpy(w, k, sizeof(w));
	for (i = 0; i < sizeof(w) / 8; i++) {
		h ^= w[i];
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return (uint32_t)(h % t->n_sets);
}

void sidetab_put(struct sidetab *t, const struct side_key *k,
		 const struct side_val *v)
{
	uint32_t set = set_of(t, k), m = set % STRIPES;
	struct slot *s = &t->slots[(size_t)set * WAYS], *use = NULL;
	unsigned i;

	pthread_mutex_lock(&t->mu[m]);
	for (i = 0; i < WAYS && !use; i++)
		if (s[i].stamp && !memcmp(&s[i].k, k, sizeof(*k)))
			use = &s[i];
	for (i = 0; i < WAYS && !use; i++)
		if (!s[i].stamp)
			use = &s[i];
	if (!use) {
		use = &s[0];
		for (i = 1; i < WAYS; i++)
			if (s[i].stamp < use->stamp)
				use = &s[i];
		t->st[m].evicted++;
	}
	use->k = *k;
	use->v = *v;
	use->stamp = ++t->stamp[m];
	t->st[m].put++;
	pthread_mutex_unlock(&t->mu[m]);
}

static struct slot *find(struct sidetab *t, const struct side_key *k,
			 uint32_t set)
{
	struct slot *s = &t->slots[(size_t)set * WAYS];
	unsigned i;

	for (i = 0; i < WAYS; i++)
		if (s[i].stamp && !memcmp(&s[i].k, k, sizeof(*k)))
			return &s[i];
	return NULL;
}

int sidetab_get(struct sidetab *t, const struct side_key *k, struct side_val *v,
		int remove)
{
	uint32_t set = set_of(t, k), m = set % STRIPES;
	struct slot *s;

	pthread_mutex_lock(&t->mu[m]);
	s = find(t, k, set);
	if (s) {
		*v = s->v;
		if (remove)
			s->stamp = 0;
		t->st[m].hits++;
	} else {
		t->st[m].misses++;
	}
	pthread_mutex_unlock(&t->mu[m]);
	return s != NULL;
}

void sidetab_redecide(struct sidetab *t, const struct side_key *k,
		      const char *rule, uint8_t action)
{
	uint32_t set = set_of(t, k), m = set % STRIPES;
	struct slot *s;

	pthread_mutex_lock(&t->mu[m]);
	s = find(t, k, set);
	if (s) {
		strncpy(s->v.rule, rule, sizeof(s->v.rule) - 1);
		s->v.rule[sizeof(s->v.rule) - 1] = '\0';
		s->v.action = action;
	}
	pthread_mutex_unlock(&t->mu[m]);
}

void sidetab_get_stats(struct sidetab *t, struct sidetab_stats *s)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	if (!t)
		return;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&t->mu[i]);
		s->put += t->st[i].put;
		s->hits += t->st[i].hits;
		s->misses += t->st[i].misses;
		s->evicted += t->st[i].evicted;
		pthread_mutex_unlock(&t->mu[i]);
	}
	s->capacity = t->n_sets * WAYS;
}
