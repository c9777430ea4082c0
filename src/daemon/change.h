/* The change service (change.c): every change to what skyfenced enforces
 * goes through change_apply(), whoever asks: a control client, SIGHUP, the
 * fleet's bucket, an identity source, and the schedule and feed updates
 * to come.
 * It validates the change whole, applies it to the workers (runtime.h:
 * the new immutable policy swapped in, the kernel's sets, the shaper's
 * buckets), walks conntrack so established flows follow, saves the state
 * file, writes one audit "change" record (who, what; the record has the
 * time), logs it, and tells the change hook. Nothing below it calls back
 * up: the control socket learns of a change through the hook the event
 * loop set (change_hook). On a fleet node (fleetd.h) a client's change is
 * written to the fleet's bucket first, and applied here through this
 * service like every node's. */
#ifndef SKYFENCE_CHANGE_H
#define SKYFENCE_CHANGE_H

#include <stddef.h>

#include "daemon/daemon_int.h"

/* Who asked. */
enum change_origin {
	CHANGE_CLIENT, /* a control client (uid) */
	CHANGE_SIGNAL, /* SIGHUP (the sender's uid) */
	CHANGE_FLEET,  /* a revision of the fleet's bucket (@note says
			* which, and who made it where) */
	CHANGE_SOURCE, /* an identity source: RADIUS accounting, the
			* directory, a lapse (identity.h) */
	/* the schedule's clock (sched.h): no uid */
	CHANGE_SCHEDULE_CLOCK,
};

enum change_kind {
	CHANGE_EDIT,   /* "rule set|del ...", "department add|set|del ..." */
	CHANGE_LOAD,   /* a policy's text replaces the departments */
	CHANGE_RELOAD, /* the --policy file read again (SIGHUP) */
	CHANGE_KILLSWITCH, /* the kill switch becomes @apps ("" off) */
	CHANGE_SIGNATURES, /* the signatures file read again */
	/* the endpoints feed's file the policy names read again (with the
	 * address list): skyfence-endpoints(8) after it wrote a version */
	CHANGE_FEED,
	/* who is behind some addresses changed (identity.h): @what says
	 * who, where; the identity table's snapshot is swapped in */
	CHANGE_IDENTITY,
	/* the windows' state changed (sched.h): @win_mask applied at
	 * @win_at to every engine, conntrack walked; @what says which
	 * windows and rules, and why now (a step, a stop) */
	CHANGE_SCHEDULE,
};

struct change {
	enum change_kind kind;
	enum change_origin origin;
	long uid;	  /* CLIENT, SIGNAL: who; -1 unknown */
	const char *note; /* FLEET: "fleet revision N by NODE uid U" */
	/* EDIT: the words, as a client typed them; KILLSWITCH: the apps
	 * after the change; LOAD: the file's name (in messages only) */
	const char *what;
	const char *text; /* LOAD: the file's text (the client opened it) */
	size_t len;
	struct id_snap *snap; /* IDENTITY: the new snapshot (taken over) */
	uint64_t win_mask;    /* SCHEDULE */
	int64_t win_at;
};

/* Applies @c. Returns 0, or -1 with nothing changed and why in @err
 * (for a person: "... ; nothing changed" or "...; the running policy
 * stays"); each policy error found on the way goes to @on_error (may be
 * NULL: the log). */
int change_apply(struct daemon *d, const struct change *c,
		 void (*on_error)(void *ctx, const char *msg), void *ctx,
		 char *err, size_t errlen);

/* What a change would run, built as change_apply() builds it (the same
 * parse and checks: the running kill switch kept by a LOAD), nothing
 * applied: policy diff and --dry-run (diff.h). */
struct change_candidate {
	struct policy *pol;  /* owned, unless @borrowed (the running one) */
	struct policy *kill; /* its kill switch's rules (owned); NULL: none */
	int borrowed;
};

/* The candidate of @c, of kind EDIT, LOAD or KILLSWITCH, into @out.
 * Returns 0, or -1 with why in @err (as change_apply() would refuse it)
 * and each policy error to @on_error (NULL: the log). Writes nothing:
 * no state, no audit, no fleet. */
int change_candidate(struct daemon *d, const struct change *c,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     struct change_candidate *out, char *err, size_t errlen);
void change_candidate_free(struct change_candidate *cc);

/* The running policy's text after the EDIT @what, without the kill
 * switch (the fleet's document): malloc'd, or NULL with why in @err. */
char *change_edit_text(struct daemon *d, const char *what, char *err,
		       size_t errlen);

/* Whether the feed's file the running policy names holds the bytes it
 * was read with: 1 (a reload would change nothing), 0 (changed, or not
 * read yet), -1 with why in @err (the policy names none, or the file
 * cannot be read). */
int change_feed_current(const struct daemon *d, char *err, size_t errlen);

/* "a b c" from @argv[@from..@argc) into @out (cut to @len). */
void change_join(char *out, size_t len, int argc, char **argv, int from);
/* The words of an EDIT ("department add NAME hosts P...", "rule set
 * DEPT MATCH ACTION ...") split in @argc/@argv: 0 if they are one, -1
 * if not (a usage error). */
int change_edit_valid(int argc, char **argv);

#endif
