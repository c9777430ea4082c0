/* m365_int.h - what m365.c shares with m365sig.c, its renderer: the list
 * as jansson holds it and the checks both make. */
#ifndef SKYFENCE_M365_INT_H
#define SKYFENCE_M365_INT_H

#include <stddef.h>

#include <jansson.h>

#define M365_SKYPE_AREA "Skype" /* where Microsoft still lists Teams */

struct m365_list {
	json_t *sets; /* the endpoint sets, a JSON array, checked */
};

/* @fmt's message into @err (nothing when @errlen is 0). */
void m365_say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, returning -1. */
int m365_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* @err emptied (memory short); returns M365_REFUSED. */
int m365_nomem(char *err, size_t errlen);

/* A prefix of the service: lpm_prefix_parse'd, no shorter than /8 (IPv4)
 * or /16 (IPv6), in none of the ranges where no server is. 0 (*@v6 says
 * the family), or -1 with the reason. */
int m365_prefix_check(const char *s, int *v6, char *err, size_t errlen);

/* The first run of at most POLICY_MAX_PORTS items of the port list
 * @ports: its length in *@n; returns where the next run starts (the end
 * of @ports when none). */
const char *m365_ports_chunk(const char *ports, size_t *n);

/* A set's id. */
json_int_t m365_set_id(json_t *set);

#endif
