/* The fleet's verbs and lines (fleetctl.c): "fleet [json]" lists every
 * node of the bucket (applied revisions, kill switch, last seen, state);
 * "fleet init [REPLICAS]" makes the bucket; "fleet clear" forgets this
 * node's conflicts; and the fleet's part of `status` and /metrics. */
#ifndef SKYFENCE_FLEETCTL_H
#define SKYFENCE_FLEETCTL_H

#include "control/ctl.h"
#include "daemon/fleetd.h"

struct daemon;

void control_fleet(struct daemon *d, struct ctl_req *r, int argc, char **argv);
void control_fleet_init(struct daemon *d, struct ctl_req *r, int argc,
			char **argv);
void control_fleet_clear(struct daemon *d, struct ctl_req *r, int argc,
			 char **argv);

/* status: text lines; @v->bucket NULL (standalone) writes nothing */
void fleetctl_status_text(const struct fleetd_view *v,
			  void (*emit)(void *ctx, const char *line), void *ctx);
/* status json: the value of "fleet" (null when standalone) */
void fleetctl_status_json(const struct fleetd_view *v, char *out, size_t len);
/* /metrics: the skyfence_fleet_* families */
void fleetctl_prometheus(const struct fleetd_view *v,
			 void (*emit)(void *ctx, const char *line), void *ctx);

#endif
