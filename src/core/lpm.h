/* Longest-prefix match: address prefixes as written in a policy or a
 * signatures file, and a binary trie over them (lpm.c). Pure. */
#ifndef SKYFENCE_LPM_H
#define SKYFENCE_LPM_H

#include <stddef.h>
#include <stdint.h>

/* An address prefix, IPv4 as ::ffff:a.b.c.d with 96 added to its
 * length, so it compares with flow addresses directly. */
struct lpm_prefix {
	uint8_t addr[16];
	uint8_t plen;
};

/* Parses "ADDR[/LEN]" into @out (IPv4 mapped, above); *v6 (may be NULL)
 * says which family was written. 0, or -1 with the message the policy
 * checker gives in @err: not an address, a bad length, host bits set, an
 * IPv4-mapped IPv6 prefix (it never matches IPv4 traffic). */
int lpm_prefix_parse(const char *text, struct lpm_prefix *out, int *v6,
		     char *err, size_t errlen);
/* Whether @p covers the prefix @a/@plen (16-byte form). */
int lpm_prefix_covers(const struct lpm_prefix *p, const uint8_t *a,
		      unsigned plen);

struct lpm;

/* Longest-prefix match over bit strings (IPv4: 32 bits, IPv6: 128). */
struct lpm *lpm_create(unsigned bits);
void lpm_destroy(struct lpm *l);
/* Returns 0, -EEXIST if the exact prefix is present (its value in *old), or
 * -ENOMEM. */
int lpm_insert(struct lpm *l, const uint8_t *addr, unsigned plen, int32_t value,
	       int32_t *old);
/* Value of the longest prefix covering @addr, or -1. */
int32_t lpm_lookup(const struct lpm *l, const uint8_t *addr);
/* Value of the longest prefix strictly shorter than or equal to @plen that
 * covers the prefix addr/plen, or -1. */
int32_t lpm_lookup_prefix(const struct lpm *l, const uint8_t *addr,
			  unsigned plen);

#endif
