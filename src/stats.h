/* Counters per department and app, and the last RECENT decisions
 * (stats.c); read by the control verbs. */
#ifndef SKYFENCE_STATS_H
#define SKYFENCE_STATS_H

#include "daemon_int.h"

/* A packet of @f skyfenced handled, @bytes long. */
void stats_count_packet(struct daemon *d, const struct flow *f, uint32_t bytes);
/* @f was decided: its department and app's decision counter, and the
 * ring of recent decisions. */
void stats_count_decision(struct daemon *d, const struct flow *f);

#endif
