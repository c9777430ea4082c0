/* The Skype service area of Microsoft 365's endpoints (m365.h), where
 * Microsoft lists Teams, as an address-signatures file of skyfenced
 * (policy/addrsig.h) with its "feed" line, and that file read back as
 * skyfenced reads it. Pure. */
#ifndef SKYFENCE_M365SIG_H
#define SKYFENCE_M365SIG_H

#include <stddef.h>
#include <stdint.h>

#include "feed/m365.h"

/* What a rendered file may hold: skyfenced reads at most ADDRSIG_MAX
 * (4096) prefix signatures and as many names from the address list and
 * the feed together, and policy files of at most POLICY_MAX_FILE (4 MiB):
 * the feed keeps to half of each count (the address list has the other
 * half) and to 1 MiB. m365_render_check refuses a file over them. */
#define M365_MAX_BYTES (1u << 20)
#define M365_MAX_SIGS 2048u
#define M365_MAX_NAMES 2048u
/* URLs with an inner '*' named in comments (and passed to on_skip); the
 * others are counted in one comment */
#define M365_SKIPS_NAMED 8u

/* The signatures file of @l's Skype service area: the feed line (@instance,
 * @version, @fetched in epoch seconds), then per endpoint set (by id) its
 * "Teams udp|tcp PORTS PREFIX..." lines, IPv4 then IPv6, at most 64
 * prefixes and under 1024 bytes a line, then its "Teams name DOMAIN..."
 * lines, each group under a comment naming the set. A URL "*.x.y" gives
 * the name x.y; one with a '*' elsewhere is skipped and counted, and the
 * first M365_SKIPS_NAMED of them named in a comment and passed to
 * @on_skip (may be NULL). Counts in *@c (may be NULL). No limit is
 * checked here: m365_render_check does.
 * Returns the text (malloc'd, NUL-terminated), or NULL if memory is
 * short. */
char *m365_render(const struct m365_list *l, const char *instance,
		  const char *version, int64_t fetched, struct m365_counts *c,
		  void (*on_skip)(void *ctx, const char *url), void *ctx);

/* The proto id the check gives "Teams" (nDPI 4.2's NDPI_PROTOCOL_MSTEAMS) */
#define M365_TEAMS_ID 250

/* Reads a rendered file back as skyfenced would (addrsig_parse, with
 * "Teams" as M365_TEAMS_ID), checks its feed line and the limits above
 * (M365_MAX_BYTES, M365_MAX_SIGS, M365_MAX_NAMES). 0, or -1 with the
 * first error in @err ("NAME:LINE: message", "signatures: ..."). */
int m365_render_check(const char *text, size_t len, char *err, size_t errlen);

/* The counts m365_render would give @l. */
void m365_count(const struct m365_list *l, struct m365_counts *c);

#endif
