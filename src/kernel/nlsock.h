/* A netfilter netlink socket over libmnl, as the queue, conntrack and
 * nfacct modules use it: bound, non-blocking, close-on-exec. */
#ifndef SKYFENCE_NLSOCK_H
#define SKYFENCE_NLSOCK_H

#include <stddef.h>

struct mnl_socket;

/* Returns NULL and "WHAT socket: strerror" in @err on failure. */
struct mnl_socket *nlsock_open(const char *what, char *err, size_t errlen);

#endif
