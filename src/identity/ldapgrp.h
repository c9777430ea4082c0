/* A user's groups from a directory (ldapgrp.c): OpenLDAP's slapd or
 * Active Directory, through libldap, for the users whose RADIUS
 * accounting carries no groups. Never on the packet path and never
 * blocking the caller: the control thread asks (ldapgrp_get), a thread of
 * the module's own (the only user of its libldap handle) does the
 * lookups, and the answers come back through a descriptor the control
 * thread polls (ldapgrp_fd, ldapgrp_drain), into a cache with a lifetime.
 *
 * A lookup is two searches under @base, each bounded by @timeout_ms: the
 * user's entry by @user_filter, which must match exactly one entry, then
 * its groups by @group_filter. In the filters "%u" is the user name and
 * "%d" (@group_filter only) the user's DN, both escaped as RFC 4515
 * assertion values; "%%" is a "%". For Active Directory:
 * user_filter "(sAMAccountName=%u)", group_filter "(member=%d)", or
 * "(member:1.2.840.113556.1.4.1941:=%d)" for nested groups. Each group
 * is reported twice, as its @group_attr value(s) and as its DN, so that a
 * policy may name either.
 *
 * The connection is made at the first lookup and kept; a connection that
 * broke while idle is made again at once, one that cannot be made (or a
 * bind refused) is tried again after 1 s, then 2, 4, ... 30 s, and the
 * lookups in between fail at once with the last error. The thread blocks
 * all signals; a daemon ignores SIGPIPE.
 *
 * All functions but ldapgrp_open are for one thread (the control
 * thread), never for two at once. */
#ifndef SKYFENCE_LDAPGRP_H
#define SKYFENCE_LDAPGRP_H

#include <stddef.h>
#include <stdint.h>

/* lookups asked and not yet drained, at most */
#define LDAPGRP_QUEUE_MAX 1024
/* a user name's bytes, at most */
#define LDAPGRP_USER_MAX 256
/* a group's name or DN: longer ones are left out (counted as truncated) */
#define LDAPGRP_GROUP_MAX 1024

#define LDAPGRP_USER_FILTER "(uid=%u)"
#define LDAPGRP_GROUP_FILTER                                   \
	"(|(&(objectClass=groupOfNames)(member=%d))"           \
	"(&(objectClass=groupOfUniqueNames)(uniqueMember=%d))" \
	"(&(objectClass=posixGroup)(memberUid=%u)))"

/* A field left 0 or NULL takes its default. */
struct ldapgrp_opts {
	const char *uri;  /* "ldap://192.0.2.5:389", ldaps://, ldapi:// */
	const char *base; /* "dc=example,dc=org" */
	const char *user_filter;  /* default LDAPGRP_USER_FILTER */
	const char *group_filter; /* default LDAPGRP_GROUP_FILTER */
	const char *group_attr;	  /* default "cn" */
	const char *bind_dn;	  /* NULL: an anonymous bind */
	const char *bind_pw_file; /* with @bind_dn: its first line, read at
				   * open; a regular file of this user or
				   * root, mode 0600 or 0640 at most */
	unsigned lifetime_s;	  /* an answer is fresh this long (300); a
				   * failure is asked again after
				   * min(lifetime, 30 s) */
	unsigned timeout_ms;	  /* connect, bind, each search (2000) */
	unsigned max_users;	  /* the cache's entries (65536); the least
				   * recently asked or answered is evicted */
	unsigned max_groups;	  /* names and DNs per user (64), each
				   * counting one; more are left out */
};

struct ldapgrp_stats {
	uint64_t lookups;    /* lookups the thread finished */
	uint64_t failures;   /* of which failed (the error in last_error) */
	uint64_t hits;	     /* ldapgrp_get answered from the cache */
	uint64_t misses;     /* ldapgrp_get not answered (0, -EAGAIN) */
	uint64_t queue_full; /* ldapgrp_get refused, -ENOBUFS */
	uint64_t evicted;    /* entries evicted from a full cache */
	uint64_t truncated;  /* answers cut to max_groups */
	unsigned cached;     /* entries: answers, failures, lookups asked */
	int connected;	     /* the thread holds a bound connection */
	char last_error[160];
};

struct ldapgrp;

/* Checks @o, reads the password file, starts the thread; does not
 * connect. Returns the handle, or NULL with a message in @err (a bad
 * option; a password file that is missing, empty, not a regular file,
 * not root's or this user's, writable by its group or open to others). */
struct ldapgrp *ldapgrp_open(const struct ldapgrp_opts *o, char *err,
			     size_t errlen);

/* An eventfd, readable when answers wait for ldapgrp_drain. */
int ldapgrp_fd(const struct ldapgrp *g);

/* Asks for @user's groups; never blocks. Returns
 *   1 with *@groups, *@n: a fresh answer from the cache (n may be 0: the
 *     user is in no group); the strings are the module's, valid until the
 *     next call into it;
 *   0 when a lookup is queued, or one already is (any number of asks
 *     while it is under way make one lookup): the answer comes through
 *     ldapgrp_drain;
 *   -EAGAIN when the last lookup failed (reported through ldapgrp_drain)
 *     less than min(lifetime, 30 s) ago: nothing is queued;
 *   -ENOBUFS when LDAPGRP_QUEUE_MAX lookups wait already (counted);
 *   -EINVAL for an empty name or one of more than LDAPGRP_USER_MAX
 *     bytes; -ENOMEM.
 * *@groups and *@n are left unchanged unless 1 is returned. */
int ldapgrp_get(struct ldapgrp *g, const char *user, const char *const **groups,
		unsigned *n);

/* Calls @fn once for each lookup finished since the last drain, in the
 * order they finished, then caches the answers: @groups and @n as
 * ldapgrp_get gives them and @error NULL, or @groups NULL, @n 0 and
 * @error a message ("no such user", "ambiguous: ...", the directory's
 * error). The strings are valid during the call only; @fn must not call
 * into @g. Returns the number of lookups reported. */
unsigned ldapgrp_drain(struct ldapgrp *g,
		       void (*fn)(void *ctx, const char *user,
				  const char *const *groups, unsigned n,
				  const char *error),
		       void *ctx);

/* Drops @user's answer (its groups changed). A lookup under way is still
 * reported, but its answer is not kept fresh: the next ask looks again. */
void ldapgrp_forget(struct ldapgrp *g, const char *user);

void ldapgrp_get_stats(struct ldapgrp *g, struct ldapgrp_stats *s);

/* Stops the thread, within one operation's timeout even mid-lookup, and
 * frees everything; what was not drained is dropped. NULL is ignored. */
void ldapgrp_close(struct ldapgrp *g);

#endif
