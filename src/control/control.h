/* The control verbs (control.c): what the control socket, /metrics and
 * SIGUSR1 show and do, on top of the daemon's layers. */
#ifndef SKYFENCE_CONTROL_H
#define SKYFENCE_CONTROL_H

#include "control/ctl.h"

struct daemon;

/* A request on the control socket (ctl.h's callback; @ctx the daemon). */
void control_request(void *ctx, struct ctl_req *r, enum ctl_role role, int argc,
		     char **argv);
/* GET /metrics's body (metrics.h's callback; @ctx the daemon). */
int control_metrics(void *ctx, void (*emit)(void *ectx, const char *line),
		    void *ectx);
/* Every counter as one log line (SIGUSR1, and at the stop). */
void control_log_stats(struct daemon *d);

#endif
