/* Least privilege without systemd: skyfenced started as root with --user
 * keeps CAP_NET_ADMIN only (queues, conntrack, ipset, nfacct) and becomes
 * that user, before any thread exists (capabilities are per thread). */
#ifndef SKYFENCE_PRIVDROP_H
#define SKYFENCE_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* @name's uid and primary gid; -1 with a message in @err if there is no
 * such user or it is root. */
int priv_lookup(const char *name, uid_t *uid, gid_t *gid, char *err,
		size_t errlen);
/* Becomes @uid/@gid (with @name's supplementary groups) keeping only
 * CAP_NET_ADMIN, effective and permitted, and only it in the bounding
 * set; no ambient capabilities, no_new_privs set. Must be root and have
 * no other thread. 0, or -1 with a message in @err: nothing is left half
 * done that would let the daemon run as root. */
int priv_drop(const char *name, uid_t uid, gid_t gid, char *err, size_t errlen);
/* 1 if the calling thread's effective set is CAP_NET_ADMIN alone. */
int priv_only_net_admin(void);

#endif
