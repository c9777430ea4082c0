/* lpm.c - address prefixes parsed and a longest-prefix trie (lpm.h). */
#include "core/lpm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pkt.h"

#include <arpa/inet.h>

/* ---- longest-prefix match: a binary trie, built once, read-only after ---- */

struct lpm_node {
	uint32_t child[2]; /* 0 = none (the root is never a child) */
	int32_t value;	   /* -1 = no prefix ends here */
};

struct lpm {
	struct lpm_node *nodes;
	uint32_t n, cap;
	unsigned bits;
};

struct lpm *lpm_create(unsigned bits)
{
	struct lpm *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->bits = bits;
	l->cap = 64;
	l->nodes = calloc(l->cap, sizeof(*l->nodes));
	if (!l->nodes) {
		free(l);
		return NULL;
	}
	l->n = 1;
	l->nodes[0].value = -1;
	return l;
}

void lpm_destroy(struct lpm *l)
{
	if (!l)
		return;
	free(l->nodes);
	free(l);
}

static inline unsigned bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

int lpm_insert(struct lpm *l, const uint8_t *addr, unsigned plen, int32_t value,
	       int32_t *old)
{
	uint32_t cur = 0;
	unsigned i;

	if (plen > l->bits)
		return -EINVAL;
	for (i = 0; i < plen; i++) {
		unsigned b = bit_at(addr, i);

		if (l->nodes[cur].child[b] == 0) {
			if (l->n == l->cap) {
				struct lpm_node *nn;

				nn = realloc(l->nodes,
					     2 * l->cap * sizeof(*nn));
				if (!nn)
					return -ENOMEM;
				l->nodes = nn;
				l->cap *= 2;
			}
			l->nodes[l->n].child[0] = l->nodes[l->n].child[1] = 0;
			l->nodes[l->n].value = -1;
			l->nodes[cur].child[b] = l->n++;
		}
		cur = l->nodes[cur].child[b];
	}
	if (l->nodes[cur].value >= 0) {
		if (old)
			*old = l->nodes[cur].value;
		return -EEXIST;
	}
	l->nodes[cur].value = value;
	return 0;
}

int32_t lpm_lookup_prefix(const struct lpm *l, const uint8_t *addr,
			  unsigned plen)
{
	uint32_t cur = 0;
	int32_t best = l->nodes[0].value;
	unsigned i;

	if (plen > l->bits)
		plen = l->bits;
	for (i = 0; i < plen; i++) {
		cur = l->nodes[cur].child[bit_at(addr, i)];
		if (cur == 0)
			break;
		if (l->nodes[cur].value >= 0)
			best = l->nodes[cur].value;
	}
	return best;
}

int32_t lpm_lookup(const struct lpm *l, const uint8_t *addr)
{
	return lpm_lookup_prefix(l, addr, l->bits);
}

int lpm_prefix_parse(const char *text, struct lpm_prefix *out, int *v6,
		     char *err, size_t errlen)
{
	char buf[256], *slash, sugg[INET6_ADDRSTRLEN];
	uint8_t a[16];
	unsigned long plen;
	unsigned i, bytes;
	int is6, host_bits = 0;

	memset(a, 0, sizeof(a));
	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "invalid address '%.64s...'", text);
		return -1;
	}
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		is6 = 0;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		is6 = 1;
	} else {
		snprintf(err, errlen, "invalid address '%s'", text);
		return -1;
	}
	if (slash) {
		char *end;

		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || errno ||
		    plen > (is6 ? 128u : 32u)) {
			snprintf(err, errlen,
				 "invalid prefix length in '%s' (0-%u for %s)",
				 text, is6 ? 128u : 32u, is6 ? "IPv6" : "IPv4");
			return -1;
		}
	} else {
		plen = is6 ? 128 : 32;
	}
	bytes = is6 ? 16 : 4;
	for (i = (unsigned)plen; i < bytes * 8; i++) {
		if (a[i / 8] & (0x80 >> (i % 8))) {
			host_bits = 1;
			a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		}
	}
	if (host_bits) {
		inet_ntop(is6 ? AF_INET6 : AF_INET, a, sugg, sizeof(sugg));
		snprintf(err, errlen,
			 "host bits set in '%s' (did you mean %s/%lu?)", text,
			 sugg, plen);
		return -1;
	}
	if (is6 && plen >= 96 && pkt_addr_is_v4(a)) {
		inet_ntop(AF_INET, a + 12, sugg, sizeof(sugg));
		snprintf(
			err, errlen,
			"'%s' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write %s/%lu)",
			text, sugg, plen - 96);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (is6) {
		memcpy(out->addr, a, 16);
		out->plen = (uint8_t)plen;
	} else {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, a, 4);
		out->plen = (uint8_t)(plen + 96);
	}
	if (v6)
		*v6 = is6;
	return 0;
}

int lpm_prefix_covers(const struct lpm_prefix *p, const uint8_t *a,
		      unsigned plen)
{
	unsigned i;

	if (plen < p->plen)
		return 0;
	for (i = 0; i < p->plen; i++)
		if ((p->addr[i / 8] ^ a[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}
