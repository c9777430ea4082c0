/* The control socket: a unix stream socket with a versioned line
 * protocol, served from the daemon's event loop without blocking it.
 *
 *   server, on connect:   "SKYFENCE 1 admin" or "SKYFENCE 1 read-only"
 *   client:               one request per line: VERB ARG... (<= 4096 bytes)
 *   server, per request:  data lines "= TEXT", then one status line:
 *                         "OK [TEXT]" or "ERR KIND TEXT"
 *
 * KIND is usage (malformed or unknown request), denied (the role may not),
 * refused (a valid change that failed validation), busy or internal.
 * A request may carry one open descriptor (SCM_RIGHTS): policy check and
 * policy load read the policy from it.
 * Limits: request size, clients, queued reply bytes per client and for all
 * of them, idle time; per turn of the event loop, a bounded number of
 * requests and of microseconds (ctl.c).
 *
 * Slots (ctl_slot_admit): read-only clients cannot lock an admin out. Of
 * max_clients slots, one in 16 is kept for admins; read-only clients
 * together hold at most the rest, and one uid's read-only clients at most
 * one slot in 8 (512: 32 kept, 480 for read-only, 64 a uid). An admin
 * who finds every slot held (a client that has hung up is closed first)
 * takes the slot of the read-only client idle longest, which is told
 * "ERR busy" and closed; an admin is refused only when admins hold every
 * slot. Admins are not counted per uid: they may
 * change the policy anyway. A refused client gets "ERR busy TEXT" in
 * place of the greeting, TEXT saying which limit it met.
 */
#ifndef SKYFENCE_CTL_H
#define SKYFENCE_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_PROTO_VERSION 1
#define CTL_MAX_REQUEST 4096
#define CTL_MAX_ARGS 64

/* Read-only: status and the like; lease: that and the DHCP server's
 * "lease" verbs (--lease-group); admin: every change. */
enum ctl_role { CTL_READ_ONLY = 0, CTL_LEASE, CTL_ADMIN };

struct ctl_opts {
	const char *path;
	gid_t group;	   /* socket group (mode 0660) */
	gid_t admin_group; /* members are admins; (gid_t)-1: root only */
	gid_t lease_group; /* members may send leases; (gid_t)-1: none */
	unsigned max_clients;
	uint64_t idle_ms;	/* idle or not reading: closed after this */
	size_t max_reply_bytes; /* queued for one client */
	size_t max_total_bytes; /* queued for all clients; 0: no cap */
};

struct ctl_stats {
	uint64_t accepted, refused_peer, requests, errors;
	uint64_t refused_busy; /* no slot for the client's role */
	uint64_t refused_uid;  /* its uid held the read-only clients it may */
	uint64_t evicted;      /* read-only clients closed for an admin */
	uint64_t closed_idle, closed_overflow, closed_peer;
	unsigned clients;
	uint64_t queued_bytes; /* replies waiting for slow readers */
};

struct ctl;
struct ctl_req;

/* One request: @argv[0] is the verb. The handler replies with ctl_data()
 * lines and exactly one ctl_ok() or ctl_err(). */
typedef void (*ctl_fn)(void *ctx, struct ctl_req *r, enum ctl_role role,
		       int argc, char **argv);

void ctl_data(struct ctl_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_ok(struct ctl_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_err(struct ctl_req *r, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uid_t ctl_req_uid(const struct ctl_req *r);
/* A descriptor the client sent with the request (SCM_RIGHTS, in the same
 * sendmsg as its line), or -1. It stays the server's: closed once the
 * request is answered. The daemon opens no path on a client's behalf;
 * a client passes the file it opened itself. */
int ctl_req_fd(const struct ctl_req *r);

/* Creates the socket: its directory is made (0750, root, @o->group) or
 * must be root's and closed to group and others (else NULL, naming the
 * directory and the fix); bound under umask 0177, then owner root, group
 * @o->group, mode 0660, set through the directory without following a
 * link. An existing socket file nobody listens on is replaced, one in use
 * is not. NULL with a message in @err. */
struct ctl *ctl_open(const struct ctl_opts *o, ctl_fn fn, void *ctx, char *err,
		     size_t errlen);
/* An epoll descriptor for the caller's loop: readable when ctl_run() has
 * work. */
int ctl_fd(const struct ctl *c);
/* Accepts, reads (a bounded amount per client), answers, writes. */
void ctl_run(struct ctl *c, uint64_t now_ms);
/* Closes idle clients and those that stopped reading. */
void ctl_tick(struct ctl *c, uint64_t now_ms);
void ctl_get_stats(const struct ctl *c, struct ctl_stats *s);
/* Closes every client and removes the socket file. */
void ctl_close(struct ctl *c);

/* The slot policy, pure (the socket's clients are one table of these). */
struct ctl_slot {
	uid_t uid;
	enum ctl_role role;
	int used;
	uint64_t last_ms; /* last request, or last write progress */
};

struct ctl_limits {
	unsigned slots;	  /* clients in all */
	unsigned per_uid; /* read-only clients of one uid */
	unsigned reserve; /* slots only an admin takes */
};

enum ctl_admit {
	CTL_ADMIT,	      /* *slot is free */
	CTL_ADMIT_EVICT,      /* *slot holds the read-only client to close */
	CTL_REFUSE_UID,	      /* the uid holds per_uid read-only clients */
	CTL_REFUSE_READ_ONLY, /* read-only clients hold all but the reserve */
	CTL_REFUSE_FULL,      /* no slot free, none read-only to take */
};

/* The limits the socket applies to @max_clients slots (ctl.h's top). */
void ctl_limits_default(struct ctl_limits *l, unsigned max_clients);
/* Where a new client of @uid and @role goes among @l->slots slots @s: a
 * free slot (the first), or for an admin when none is free the
 * read-only client idle longest (the first of equals). *slot is set for
 * CTL_ADMIT and CTL_ADMIT_EVICT only. */
enum ctl_admit ctl_slot_admit(const struct ctl_slot *s,
			      const struct ctl_limits *l, uid_t uid,
			      enum ctl_role role, unsigned *slot);

/* Splits @line in place at blanks into at most CTL_MAX_ARGS words.
 * Returns the count, or -1 if there are more. */
int ctl_split(char *line, char **argv);

#endif
