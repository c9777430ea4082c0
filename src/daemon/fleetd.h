/* A gateway of a fleet (fleetd.c): the bucket's updates applied through
 * the change service, the node's own report and audit head written back,
 * and the changes an admin makes here written to the bucket.
 *
 * The rules (skyfenced(8), "Many gateways"):
 * - Order comes from the bucket's revisions only. A node applies a
 *   key's revision once, in order, and keeps the revision it applied in
 *   the state directory (file "fleet"); at start it takes whatever it
 *   missed from the bucket. No clock decides anything.
 * - The policy is one document. An edit made here (rule, department,
 *   policy load) is validated whole, then written with compare-and-set
 *   against the revision this node applied: if another change came
 *   first, nothing is written and the admin reads both versions (a
 *   conflict). A document travels whole: its SHA-256 is checked on
 *   arrival, a refused or oversized one is applied nowhere.
 * - The kill switch is its own key. The running kill switch is the
 *   fleet's, plus this node's own (--local), plus an "on" made here that
 *   the bucket has not taken yet. An "on" is written as the union with
 *   what the bucket holds, retried until it holds: a concurrent on and
 *   off end on. An "off" is written only against the revision this node
 *   applied, so it wins only over an "on" it has seen. A node that cannot
 *   reach the store keeps enforcing its last state; its "on" takes effect
 *   here at once and is written when the store can be reached; its "off"
 *   is refused (safety over liveness).
 * - A node that cannot apply a revision (its nDPI lacks a protocol the
 *   document names, say) keeps what it runs and reports a conflict.
 */
#ifndef SKYFENCE_FLEETD_H
#define SKYFENCE_FLEETD_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/fleet.h"

struct daemon;
struct change;

#define FLEETD_FILE "fleet"	/* in the state directory */
#define FLEETD_REPORT_MS 2000u	/* the node's status, written */
#define FLEETD_SILENT_MS 10000u /* a node not heard for this long */
#define FLEETD_NODES 256	/* nodes `fleet` lists */

enum fleetd_state { FLEETD_OK, FLEETD_BEHIND, FLEETD_CONFLICT, FLEETD_SILENT };

/* One node as `fleet` shows it. */
struct fleetd_node {
	char id[FLEET_NODE_MAX + 1];
	struct fleet_status st;
	uint64_t rev;	  /* its status key's revision */
	uint64_t seen_ms; /* monotonic: when a new report came; 0 never */
	int self;
	enum fleetd_state state;
	uint64_t head_seq; /* its audit head as published; 0: none */
	uint64_t head_rev;
	/* its head was deleted or moved back while this node watched:
	 * what its log lost could be hidden (shown as a conflict) */
	int anchor_alarm;
};

/* What status, the metrics and `fleet` read. */
struct fleetd_view {
	struct fleet_stats fs;
	const char *bucket, *url, *node;
	uint64_t policy_rev, ks_rev;		   /* applied here */
	uint64_t bucket_policy_rev, bucket_ks_rev; /* latest seen */
	const char *fleet_ks, *local_ks, *pending_ks;
	const char *policy_by; /* "NODE uid U: WHAT" of the applied doc */
	unsigned n_conflicts;
	const char *conflict[FLEET_CONFLICTS];
	/* the audit anchor: 1 if this node's log ends before the head it
	 * published (cut), with both */
	int anchor_behind;
	uint64_t anchor_seq, local_seq;
	int has_admin;
	unsigned n_nodes;
	const struct fleetd_node *nodes;
};

/* --nats: checks the options and reads the password files (before
 * --user). 0 (nothing to do without --nats), or -1 (logged). */
int fleetd_open(struct daemon *d);
/* The revisions applied before the stop, from the state directory (the
 * runtime's restore calls it once the directory is open, as
 * d->run.on_state_dir): 0, or -1 (logged): a file that cannot be trusted
 * stops the start. Sets d->run.from_fleet. */
int fleetd_restore(struct daemon *d, int dfd);
/* Connects and starts the watch (after the fork). 0, or -1 (logged). */
int fleetd_start(struct daemon *d);
void fleetd_close(struct daemon *d);
int fleetd_fd(const struct daemon *d); /* -1: no fleet */
/* The bucket's updates waiting: applied. */
void fleetd_input(struct daemon *d);
/* Every second: the report, the audit head, an "on" not yet written. */
void fleetd_tick(struct daemon *d);

/* A control client's changes on a fleet node. Each returns 0 with the
 * reply's text in @msg, or -1 with why in @msg (nothing changed, or what
 * did). @on_error gets the policy's errors. */
int fleetd_policy(struct daemon *d, long uid, const char *what,
		  const char *text, size_t len,
		  void (*on_error)(void *ctx, const char *msg), void *ctx,
		  char *msg, size_t msglen);
int fleetd_edit(struct daemon *d, long uid, const char *what,
		void (*on_error)(void *ctx, const char *msg), void *ctx,
		char *msg, size_t msglen);
/* killswitch on|off [--local] APPS ("" with off: all) */
int fleetd_killswitch(struct daemon *d, long uid, int on, int local,
		      const char *apps, char *msg, size_t msglen);
/* fleet init [REPLICAS], fleet clear */
int fleetd_init_bucket(struct daemon *d, int replicas, char *msg,
		       size_t msglen);
int fleetd_clear_conflicts(struct daemon *d, long uid, char *msg,
			   size_t msglen);

void fleetd_get_view(struct daemon *d, struct fleetd_view *v);
const char *fleetd_state_name(enum fleetd_state s);

#endif
