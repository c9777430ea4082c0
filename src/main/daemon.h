/* The inline daemon: NFQUEUE in, verdicts and conntrack-mark offload out,
 * the same engine as the offline mode in between. */
#ifndef SKYFENCE_DAEMON_H
#define SKYFENCE_DAEMON_H

#include "daemon/daemon_opts.h"

/* Runs until SIGTERM/SIGINT. Returns the process exit status: 0 on a
 * clean stop, 1 if start-up failed (policy errors, queue busy, ...). */
int daemon_run(const struct daemon_opts *o);

#endif
