/* Who is behind an address, kept by the control thread (identity.c):
 * RADIUS accounting received on --radius-listen from the clients of
 * --radius-clients, DHCP leases from the control verb "lease" (Kea's
 * run_script hook), the directory's groups (--ldap-uri), all into one
 * identity table (identity/idtab.h). A change of who is behind an
 * address goes through the change service (change.h) like any other:
 * the table's snapshot is swapped into every worker and the control
 * thread's engine, conntrack is walked so that established flows follow,
 * one audit "change" record says what changed. Snapshots are published
 * at most every IDENTITY_PUBLISH_MS, so a flood of accounting costs a
 * bounded number of walks. The table is saved in the state directory
 * ("identity") and read back at start. */
#ifndef SKYFENCE_IDENTITY_H
#define SKYFENCE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define IDENTITY_PUBLISH_MS 100
#define IDENTITY_FILE "identity"

struct daemon;
struct id_snap;

/* RADIUS refusals before the table: metric labels. */
enum identity_refusal {
	IDR_UNKNOWN_CLIENT = 0, /* a source --radius-clients does not list */
	IDR_BAD_AUTH,		/* the authenticator does not verify */
	IDR_MALFORMED,		/* not a RADIUS datagram we can read */
	IDR_NOT_ACCOUNTING,	/* RADIUS, not an Accounting-Request */
	IDR_OVERFLOW, /* lost by the kernel: the socket's buffer was full */
	IDR_MAX,
};
const char *identity_refusal_name(int why);

struct identity_stats {
	int enabled; /* an identity source is configured */
	uint64_t received, answered;
	uint64_t refused[IDR_MAX];
	uint64_t lease_updates;
	uint64_t published, ldap_asked;
	unsigned addresses; /* in the published snapshot */
	char ldap_error[160];
	int ldap_on, ldap_connected;
};

/* Before --user's change: the RADIUS socket bound (a port below 1024
 * needs root) and the clients file read. 0, or -1 (logged). */
int identity_open_early(struct daemon *d);
/* The table (read back from the state directory) and its first snapshot,
 * the directory's thread. 0, or -1 (logged). */
int identity_start(struct daemon *d);
/* The directory's thread (after daemonizing: a thread does not survive
 * the fork; as --user: the password file must be readable by it). 0, or
 * -1 (logged). */
int identity_start_ldap(struct daemon *d);
/* The snapshot the workers run with (NULL: nobody known). */
const struct id_snap *identity_snap(const struct daemon *d);
/* Descriptors for the event loop: the RADIUS socket, the directory's
 * answers, the publish timer; -1 if none. */
int identity_radius_fd(const struct daemon *d);
int identity_ldap_fd(const struct daemon *d);
int identity_timer_fd(const struct daemon *d);
void identity_on_radius(struct daemon *d);
void identity_on_ldap(struct daemon *d);
void identity_on_timer(struct daemon *d);
/* Each second: sessions and leases that lapsed end; the state saved if
 * it changed. */
void identity_tick(struct daemon *d);
/* A DHCP lease (the control verb): @addr given to @mac for @seconds
 * (@add) or taken back. 0, or -1 with why in @err. */
int identity_lease(struct daemon *d, long uid, const char *addr,
		   const char *mac, unsigned seconds, int add, char *err,
		   size_t errlen);
void identity_get_stats(const struct daemon *d, struct identity_stats *s);
struct idtab_stats;
void identity_table_stats(const struct daemon *d, struct idtab_stats *s);
/* Saved, closed, freed (the workers have stopped). */
void identity_close(struct daemon *d);

#endif
