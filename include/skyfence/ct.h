/* Conntrack over ctnetlink (libmnl): walks the table and rewrites the mark
 * of entries whose decision changed, so a policy change, a rule change or
 * the kill switch reaches flows the kernel is already carrying on its own.
 * The walk is a dump read as the event loop finds it readable, so a large
 * table never stalls verdicts.
 */
#ifndef SKYFENCE_CT_H
#define SKYFENCE_CT_H

#include <stddef.h>
#include <stdint.h>

struct ct_entry {
	uint8_t family;	 /* AF_INET, AF_INET6 */
	uint8_t l4proto; /* IPPROTO_* */
	uint8_t src[16],
		dst[16];       /* original direction; IPv4 as ::ffff:a.b.c.d */
	uint16_t sport, dport; /* host order; 0 if the protocol has none */
	uint32_t mark;
};

/* Returns 1 and the new mark in *mark to rewrite the entry's mark. */
typedef int (*ct_fn)(void *ctx, const struct ct_entry *e, uint32_t *mark);

struct ct_stats {
	uint64_t walks, entries, rewritten, errors;
	int running;
};

struct ct;

struct ct *ct_open(char *err, size_t errlen);
void ct_close(struct ct *c);
/* The descriptor to watch (readable while a walk is under way). */
int ct_fd(const struct ct *c);
/* Starts a walk; if one runs, it is started again once it ends (the
 * change it was for may have missed entries it had passed). */
void ct_walk(struct ct *c); /* NULL: nothing to walk */
/* Reads what is ready (bounded), calls @fn per entry and sends the
 * rewrites. Returns 1 while the walk goes on, 0 when it is over. */
int ct_run(struct ct *c, ct_fn fn, void *ctx);
void ct_get_stats(const struct ct *c, struct ct_stats *s); /* NULL: zeros */

#endif
