/* The identity verbs (who.c): "who [ADDR]" lists who is behind each
 * address (user, MAC, groups, department, source, age); "lease add|del"
 * are the DHCP server's (Kea's run_script hook, dist/kea). */
#ifndef SKYFENCE_WHO_H
#define SKYFENCE_WHO_H

#include "control/ctl.h"

struct daemon;

void control_who(struct daemon *d, struct ctl_req *r, int argc, char **argv);
void control_lease(struct daemon *d, struct ctl_req *r, int argc, char **argv);

#endif
