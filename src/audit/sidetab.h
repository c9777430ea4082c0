/* What a decision knew that conntrack does not keep, for the audit's
 * record when the kernel's entry ends (sidetab.c): department, rule, app,
 * SNI/host, times. Keyed by the conntrack tuple's endpoints (initiator
 * first), bounded: a full set gives its oldest entry up (counted), and
 * the end record then says what it lacks. Any thread: locks per stripe
 * of sets, held for a copy. */
#ifndef SKYFENCE_SIDETAB_H
#define SKYFENCE_SIDETAB_H

#include <stdint.h>

#include "classify/classify.h"
#include "core/flow.h"
#include "policy/policy.h"

struct side_key {
	uint8_t ini[16], resp[16]; /* IPv4 as ::ffff:a.b.c.d */
	uint16_t ini_port, resp_port;
	uint8_t l4proto;
	uint8_t pad[3];
};

struct side_val {
	uint64_t first_ms, decided_ms; /* wall clock */
	char dept[POLICY_NAME_LEN];
	char rule[POLICY_TEXT_LEN];
	char app[64];
	char host[CLS_HOST_LEN];
	char evidence[FLOW_EVIDENCE_LEN];
	/* who the inside host was (identity/idtab.h), "" if nobody; the
	 * groups packed "a\0b\0\0", cut at a whole group */
	char user[96];
	char groups[160];
	uint16_t app_id;
	uint8_t action, logged, inbound;
	uint8_t confidence;
	uint8_t overload; /* read by the policy's dissectors (flow.h) */
};

struct sidetab_stats {
	uint64_t put, hits, misses, evicted;
	uint32_t capacity;
};

struct sidetab;

/* NULL if @capacity is 0 or memory is short. */
struct sidetab *sidetab_create(uint32_t capacity, uint64_t seed);
void sidetab_destroy(struct sidetab *t);
void sidetab_put(struct sidetab *t, const struct side_key *k,
		 const struct side_val *v);
/* Copies the entry of @k into @v; @remove: and forgets it. Returns 1 if
 * there was one. */
int sidetab_get(struct sidetab *t, const struct side_key *k, struct side_val *v,
		int remove);
/* The entry of @k, if any, takes @rule and @action (a re-decision). */
void sidetab_redecide(struct sidetab *t, const struct side_key *k,
		      const char *rule, uint8_t action);
void sidetab_get_stats(struct sidetab *t, struct sidetab_stats *s);

#endif
