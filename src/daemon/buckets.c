/* buckets.c - throttle rules to shaper bucket pairs (buckets.h). */
#include "daemon/buckets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buckets_map(const struct policy *p, const struct bucket_map *old,
		struct bucket_map *out)
{
	uint32_t i, j, total = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < p->n_depts; i++)
		total += p->depts[i].n_rules;
	out->of = malloc((total ? total : 1) * sizeof(*out->of));
	out->base = malloc((p->n_depts ? p->n_depts : 1) * sizeof(*out->base));
	if (!out->of || !out->base) {
		buckets_free(out);
		return -ENOMEM;
	}
	out->n_dept = p->n_depts;
	total = 0;
	for (i = 0; i < p->n_depts; i++) {
		uint32_t ordinal = 0;

		out->base[i] = total;
		for (j = 0; j < p->depts[i].n_rules; j++, total++) {
			int32_t b = -1, k;

			out->of[total] = -1;
			if (p->depts[i].rules[j].action != ACT_THROTTLE)
				continue;
			/* the pair this department's rule had, then any pair
			 * the old map did not use and this one does not yet */
			for (k = 0; old && k < BUCKET_PAIRS && b < 0; k++)
				if (old->used[k] && !out->used[k] &&
				    old->keys[k].ordinal == ordinal &&
				    !strcmp(old->keys[k].dept,
					    p->depts[i].name))
					b = k;
			for (k = 0; k < BUCKET_PAIRS && b < 0; k++)
				if (!(old && old->used[k]) && !out->used[k])
					b = k;
			if (b < 0) {
				buckets_free(out);
				return -ENOSPC;
			}
			out->used[b] = 1;
			snprintf(out->keys[b].dept, sizeof(out->keys[b].dept),
				 "%s", p->depts[i].name);
			out->keys[b].ordinal = ordinal++;
			out->of[total] = b;
		}
	}
	return 0;
}

void buckets_free(struct bucket_map *m)
{
	free(m->of);
	free(m->base);
	m->of = NULL;
	m->base = NULL;
	m->n_dept = 0;
	memset(m->used, 0, sizeof(m->used));
}

int32_t buckets_pair_of(const struct bucket_map *m, uint32_t dept, int16_t rule)
{
	if (rule < 0 || dept >= m->n_dept || !m->of)
		return -1;
	return m->of[m->base[dept] + (uint32_t)rule];
}
