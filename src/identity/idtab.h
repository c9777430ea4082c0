/* Who is behind an address (idtab.c): the identity table the control
 * thread keeps from RADIUS accounting sessions, DHCP leases and the
 * directory's groups, and the immutable snapshots of it the workers read.
 *
 * The master table holds:
 *   - sessions, by NAS and Acct-Session-Id: a user, a MAC, groups and the
 *     addresses the accounting named (Framed-IP-Address,
 *     Framed-IPv6-Address, Framed-IPv6-Prefix), or none (wired 802.1X:
 *     the NAS knows the MAC, the DHCP server the address);
 *   - leases, by address: the MAC a DHCP server gave it to;
 *   - tombstones: sessions stopped or expired, kept one lifetime so that
 *     a replayed Start or Interim-Update cannot bring them back.
 * An address is bound to the session that named it, else to the newest
 * live session of its lease's MAC that names no address of its own. A snapshot is the address view of that
 * at one moment: an open-addressing hash of addresses and a trie of IPv6
 * prefixes, each pointing to a refcounted, immutable id_rec that a flow
 * may keep after the snapshot is gone.
 *
 * Order: a session's messages apply in Event-Timestamp order (an older
 * one is refused as stale); a Start or Interim-Update for an address
 * another session holds takes it only if it is not older; a Stop unbinds
 * only its own session's addresses. Messages stamped more than
 * ID_FUTURE_S ahead of the wall clock, or older than one lifetime, are
 * refused: a NAS with a wrong clock cannot pin an address.
 *
 * Pure but for the state file (idtab_save, idtab_load). Not thread-safe:
 * one thread (the control thread) owns the table; snapshots are shared.
 */
#ifndef SKYFENCE_IDTAB_H
#define SKYFENCE_IDTAB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ID_USER_MAX 253	 /* RADIUS's longest User-Name */
#define ID_GROUP_MAX 253 /* ... Class or Filter-Id; a DN from LDAP */
#define ID_MAX_GROUPS 32
#define ID_PREFIX6_MIN 48 /* a Framed-IPv6-Prefix shorter: invalid */
#define ID_SESSION_MAX 253
#define ID_FUTURE_S 300 /* how far ahead of us a NAS's clock may run */

enum id_source {
	ID_SRC_RADIUS = 1, /* the accounting named the address */
	ID_SRC_DHCP, /* the accounting named the MAC, a lease the address */
};

/* Where a session's groups came from. */
enum id_groups_from {
	ID_GROUPS_NONE = 0, /* nowhere: the accounting had none, no directory */
	ID_GROUPS_RADIUS,   /* the accounting (Class or Filter-Id) */
	ID_GROUPS_LDAP,	    /* the directory */
	ID_GROUPS_PENDING,  /* the directory has been asked */
};

/* One identity as a flow sees it. Immutable once published. */
struct id_rec {
	atomic_uint ref;
	uint8_t source;	     /* enum id_source */
	uint8_t groups_from; /* enum id_groups_from */
	uint8_t n_groups;
	char mac[18];		/* "" if unknown */
	uint64_t since_wall_ms; /* the session's first message */
	uint64_t seen_wall_ms;	/* its latest */
	const char *user;
	const char *groups; /* packed: "a\0b\0\0" ("\0" if none) */
	char data[];
};

void id_rec_get(struct id_rec *r);
void id_rec_put(struct id_rec *r);
/* The groups as "a,b" into @out (cut with "..." if long); @out. */
char *id_rec_groups_text(const struct id_rec *r, char *out, size_t len);

/* ---- the snapshot the workers read ---- */

struct id_snap;

/* The identity of the inside host @addr (16 bytes, IPv4 mapped): an exact
 * address first, then the longest IPv6 prefix; NULL if none. Valid while
 * @s is (take a reference to keep it longer). @s may be NULL. */
struct id_rec *id_snap_lookup(const struct id_snap *s, const uint8_t addr[16]);
unsigned id_snap_count(const struct id_snap *s);
/* Calls @fn for each address (prefix length 128 for an address; IPv4
 * mapped, 128 too) in no particular order; stops when it returns non-0. */
void id_snap_foreach(const struct id_snap *s,
		     int (*fn)(void *ctx, const uint8_t addr[16], uint8_t plen,
			       const struct id_rec *r),
		     void *ctx);
void id_snap_free(struct id_snap *s);

/* ---- the master table ---- */

struct idtab_opts {
	unsigned max;	     /* sessions + tombstones, and leases (each) */
	unsigned lifetime_s; /* a session with no message this long ends */
};

/* One accounting message, as the RADIUS receiver read it. */
enum id_status { ID_START = 1, ID_STOP = 2, ID_INTERIM = 3 };
struct id_acct {
	int status; /* enum id_status */
	const char *nas;
	const char *session;
	const char *user; /* "" if none */
	const char *mac;  /* normalised, "" if none */
	int has_ts;
	uint32_t ts; /* Event-Timestamp */
	int has_ip4, has_ip6, has_prefix6;
	uint8_t ip4[4], ip6[16], prefix6[16], prefix6_len;
	int groups_known;   /* the message carried groups (even none) */
	const char *groups; /* packed "a\0b\0\0" */
};

/* Why a message was refused: metric labels. */
enum id_refusal {
	ID_REF_STALE = 0, /* older than what the session or address has */
	ID_REF_REPLAYED,  /* for a session that has ended */
	ID_REF_FUTURE,	  /* stamped ahead of the wall clock */
	ID_REF_FULL,	  /* the table holds its maximum */
	ID_REF_INVALID,	  /* no session id, no user, nothing to bind */
	ID_REF_MAX,
};
const char *id_refusal_name(int why);

struct idtab_stats {
	uint64_t updates;   /* messages that changed something */
	uint64_t unchanged; /* ... that only refreshed a session */
	uint64_t refused[ID_REF_MAX];
	uint64_t leases, expired; /* lease updates; sessions/leases timed out */
	unsigned sessions, tombstones, n_leases;
};

struct idtab;

struct idtab *idtab_create(const struct idtab_opts *o, uint64_t seed);
void idtab_free(struct idtab *t);

/* Applies @m at @now_ms (monotonic) and @wall_ms (the wall clock).
 * Returns 1 if an address's identity changed, 0 if nothing did (a
 * refresh, a duplicate), or -1 - enum id_refusal. */
int idtab_account(struct idtab *t, const struct id_acct *m, uint64_t now_ms,
		  uint64_t wall_ms);
/* Accounting-On or -Off @m (its nas, its Event-Timestamp if any): every
 * session of the NAS not heard of since ends (a Stop each). Returns 1 if
 * an identity changed, 0, or -1 - enum id_refusal (its time). */
int idtab_nas_reset(struct idtab *t, const struct id_acct *m, uint64_t now_ms,
		    uint64_t wall_ms);
/* A DHCP lease: @addr given to @mac for @seconds (@add), or taken back.
 * Returns like idtab_account. */
int idtab_lease(struct idtab *t, const uint8_t addr[16], const char *mac,
		unsigned seconds, int add, uint64_t now_ms, uint64_t wall_ms);
/* The directory's answer for @user: every live session of @user whose
 * groups the accounting did not give takes @groups (packed). Returns 1 if
 * an identity changed. */
int idtab_set_groups(struct idtab *t, const char *user, const char *groups,
		     uint64_t wall_ms);
/* Whether a directory answers for groups: a session whose accounting
 * gave none is then ID_GROUPS_PENDING until idtab_set_groups(), not
 * ID_GROUPS_NONE (the caller asks the directory after each message). */
void idtab_want_groups(struct idtab *t, int want);
/* Ends sessions and leases idle or lapsed at @now_ms; returns 1 if an
 * identity changed. */
int idtab_expire(struct idtab *t, uint64_t now_ms, uint64_t wall_ms);

/* Whether anything changed since the last snapshot, and a summary of it
 * for the audit's change record ("192.0.2.10 alice (finance) login; ..."):
 * @out is cut at @len with the count of the rest. */
int idtab_dirty(const struct idtab *t);
/* A count that moves with every change to what the state file holds. */
uint64_t idtab_generation(const struct idtab *t);
void idtab_changes(const struct idtab *t, char *out, size_t len);
/* The address view now; clears the dirty flag and the change summary.
 * NULL if memory is short (the table stays dirty). */
struct id_snap *idtab_snapshot(struct idtab *t);
void idtab_get_stats(const struct idtab *t, struct idtab_stats *s);

/* The state file: every session, tombstone and lease, with wall-clock
 * times, so a restart keeps the table (what expired meanwhile is dropped
 * at load). idtab_save writes @path atomically (a temporary file renamed),
 * mode 0600; idtab_load reads it into an empty table and returns the
 * entries read, or -1 with @err. */
int idtab_save(const struct idtab *t, int dirfd, const char *name,
	       uint64_t now_ms, uint64_t wall_ms, char *err, size_t errlen);
int idtab_load(struct idtab *t, int dirfd, const char *name, uint64_t now_ms,
	       uint64_t wall_ms, char *err, size_t errlen);

#endif
