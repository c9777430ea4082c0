/* Which shaper buckets a policy's throttle rules use. A throttle rule has
 * two buckets, one per direction (from the inside hosts, to them), each at
 * the rule's rate, so a transfer's ACKs never wait behind its data: pair k
 * is buckets 2k (from inside) and 2k + 1. A rule's pair is found by
 * department name and the rule's place among the department's throttle
 * rules, so a reload that changes a rate, or adds and removes other
 * departments, keeps the buckets, their tokens and their held packets.
 *
 * Pure: the caller (daemon.c) sets the shaper from the map.
 */
#ifndef SKYFENCE_BUCKETS_H
#define SKYFENCE_BUCKETS_H

#include <stdint.h>

#include "policy/policy.h"

#define BUCKET_PAIRS 512 /* 1024 buckets */
#define BUCKET_PAIRS_TEXT "512"

struct bucket_key {
	char dept[POLICY_NAME_LEN];
	uint32_t ordinal; /* among the department's throttle rules */
};

struct bucket_map {
	struct bucket_key keys[BUCKET_PAIRS]; /* of the pairs in use */
	uint8_t used[BUCKET_PAIRS];
	int32_t *of;	 /* per rule of the policy, flattened; -1: none */
	uint32_t *base;	 /* per department: its first rule's index in of */
	uint32_t n_dept; /* entries of base */
};

/* Maps every throttle rule of @p to a pair: the pair @old used for the
 * same department and ordinal if there is one, else a pair @old does not
 * use. @old may be NULL (nothing in use). Returns 0 with @out filled (free
 * with buckets_free), or -ENOMEM, or -ENOSPC (more than BUCKET_PAIRS
 * throttle rules) with @out empty. */
int buckets_map(const struct policy *p, const struct bucket_map *old,
		struct bucket_map *out);
void buckets_free(struct bucket_map *m);
/* The pair of rule @rule of department @dept, or -1 (no throttle rule). */
int32_t buckets_pair_of(const struct bucket_map *m, uint32_t dept,
			int16_t rule);

#endif
