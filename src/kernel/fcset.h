/* The fail-closed departments' hosts, as the kernel sees them: the ipsets
 * skyfence-fc4 and skyfence-fc6 (hash:net) that the SKYFENCE chain sends
 * to the fail-closed queues (no fail-open, no --queue-bypass). skyfenced
 * rewrites them whenever its policy changes, atomically: a new set is
 * filled and swapped in. Prefixes of other departments go in as
 * "nomatch", so a longer prefix of a fail-open department inside a
 * fail-closed one stays fail-open, as longest-prefix match decides. The
 * sets keep their members while no daemon runs. The only libipset user.
 */
#ifndef SKYFENCE_FCSET_H
#define SKYFENCE_FCSET_H

#include <stddef.h>

#define FCSET_V4 "skyfence-fc4"
#define FCSET_V6 "skyfence-fc6"

struct policy;

/* Makes the sets hold the fail-closed departments of @p (created if
 * missing). The set being filled is named after @tag (the daemon's queue
 * number), so daemons of a --queue-balance range, which write the same
 * sets, never fill one another's. Returns the number of fail-closed
 * prefixes written, or -1 with a message in @err; on failure the sets the
 * kernel had stay in place. */
int fcset_apply(const struct policy *p, unsigned tag, char *err, size_t errlen);

#endif
