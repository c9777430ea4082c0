/* The runtime layer (runtime.c): the only code that changes skyfenced's
 * shared state. The event loop (daemon.c) and the control verbs
 * (control.c) call down into it; it calls neither. */
#ifndef SKYFENCE_RUNTIME_H
#define SKYFENCE_RUNTIME_H

#include "daemon/daemon_int.h"

/* The fail-closed sets are written again every FCSET_REFRESH_S seconds
 * (runtime_refresh_fcset): a hand-made flush, or skyfence-rules.sh down
 * and up while the daemon runs, would leave a department fail-open. */
#define FCSET_REFRESH_S 5

/* Makes @np (owned from now on) the running policy: the kernel's sets of
 * fail-closed and allow-only hosts (before the walk), buckets, engine (with @np's windows as they are now:
 * d->run.win_mask, .win_at, .win_gen counted), kill switch, a conntrack
 * walk so established flows follow, the state file. Returns 0, or -EIO (the
 * sets could not be written, and @np or the running policy has a
 * fail-closed department, or the allow-only sets could not even be
 * emptied), -ENOSPC (too many throttle rules), -ENOTSUP (it
 * marks DSCP and the mark mask has no room for it) or -ENOMEM with @np
 * freed and nothing changed. */
int runtime_apply_policy(struct daemon *d, struct policy *np);
/* Why runtime_apply_policy() or runtime_set_killswitch() refused, for a
 * person. */
const char *runtime_error(int rc);
/* The kill switch's rules for @apps (space-separated, as in
 * policy.killswitch), resolved through @c: a default block of "APP drop
 * confidence port" rules. NULL if out of memory or a name does not
 * resolve (each error passed to @on_error). */
struct policy *runtime_kill_rules(struct classifier *c, const char *apps,
				  void (*on_error)(void *ctx, const char *msg),
				  void *ctx);
/* The engine's kill switch from @k (runtime_kill_rules; NULL: off), which
 * d->run.kill becomes. */
void runtime_install_kill(struct daemon *d, struct policy *k);
/* Sets the kill switch to @apps ("" off) on the running policy, without
 * touching its departments: the engine's rules, pol->killswitch, the
 * kernel's sets (on: no department is allow-only), a conntrack walk, the
 * state file. Returns 0, or -EINVAL (a name does not
 * resolve, too many) with nothing changed. */
/* Who is behind an address from now on: @s (taken over) into every
 * worker and the control thread's engine, the old one freed, conntrack
 * walked so established flows follow (the change service's step for an
 * identity change, change.h). */
struct id_snap;
void runtime_set_identity(struct daemon *d, struct id_snap *s);
int runtime_set_killswitch(struct daemon *d, const char *apps,
			   void (*on_error)(void *ctx, const char *msg),
			   void *ctx);
/* Adds @apps (the running kill switch's) to @np's: a policy loaded from a
 * file never lifts the kill switch (only killswitch off does). Returns 0,
 * or -EINVAL if they do not fit. */
int runtime_keep_killswitch(struct policy *np, const char *apps);
/* Writes the running policy to the state file, if one is kept. Returns 0,
 * or -1 (state_dirty set: retried every second; state_err says why). */
int runtime_save_state(struct daemon *d);
/* At start, before the first verdict: the state directory opened and
 * locked, and the running policy saved there restored (see runtime.c).
 * Returns 0, or -1 (logged): do not start. */
int runtime_restore(struct daemon *d);
/* Writes the fail-closed and the allow-only sets again (FCSET_REFRESH_S)
 * while the running policy has such departments, or a write failed. */
void runtime_refresh_fcset(struct daemon *d);
/* At start, before the first conntrack walk and the first queue: the
 * kernel's sets written from the running policy (fcset.h). Returns 0, or
 * -1 (logged: do not start) when a policy with a fail-closed department
 * cannot have them. */
int runtime_start_sets(struct daemon *d);
/* Swaps in a new nDPI module with the policy's signatures file read
 * again, the running policy and kill switch resolved through it. Returns
 * 0, or -1 with @err set and nothing changed. */
int runtime_signatures_reload(struct daemon *d,
			      void (*on_error)(void *ctx, const char *msg),
			      void *ctx, char *err, size_t errlen);
/* What deciding a conntrack entry again gives (runtime_redecide). */
struct redecision {
	enum mark_verdict old_v, new_v; /* the mark's verdict, the new one */
	uint16_t old_app, new_app;	/* the mark's app, the decision's */
	uint8_t media;			/* MEDIA_* the decision was for */
	uint8_t dscp;			/* 1 + DSCP, 0: none (the new one) */
	struct policy_decision pd;
	uint8_t inbound; /* the responder was taken as the inside host */
	/* the verdict, the app or the DSCP is not the mark's any more */
	int changed;
};

/* Decides the established flow @e again with @eng (the control thread's
 * engine, or a candidate's: policy diff), which runs policy @p with the
 * kill switch on if @kill, from its addresses, the app id and media types
 * in its mark, and when it started (its conntrack timestamp, in the
 * schedule's clock). A flow the kernel passed uninspected
 * (MARK_UNINSPECTED) keeps its mark while its initiator's department is
 * allow-only under @p and @kill (as skyfence-rules.sh's rule would pass it
 * new), else gets new_v MARK_NONE (inspected again: its skyfence bits
 * cleared), pd the initiator's department, rule -1, allow. Returns 1 with
 * @out filled, or 0 for an entry without a decided mark (still inspected:
 * whichever policy runs when it is named decides it). Changes nothing. */
int runtime_redecide(const struct daemon *d, const struct engine *eng,
		     const struct policy *p, int kill, const struct ct_entry *e,
		     struct redecision *out);
/* The schedule's windows (sched.h): @mask applied at @at in every
 * worker's engine and the control thread's, then a conntrack walk (the
 * change service's step for CHANGE_SCHEDULE). */
void runtime_set_windows(struct daemon *d, uint64_t mask, int64_t at);
/* What turns a packet time (CLOCK_MONOTONIC ms) into the schedule's wall
 * clock, into every engine (engine_set_clock): at start, and after the
 * wall clock stepped. */
void runtime_set_clock(struct daemon *d, int64_t wall_minus_mono_ms);
/* A candidate engine @e running @p (policy diff): its windows and clock
 * as applying @p now would set them. */
void runtime_engine_windows(const struct daemon *d, struct engine *e,
			    const struct policy *p);
/* The conntrack walk's callback (ct.h): an established flow's new mark
 * from runtime_redecide with the running engine, and its redecided
 * record. */
int runtime_ct_entry(void *ctx, const struct ct_entry *e, uint32_t *mark);
/* Sets the rules' buckets in the shaper for @p (buckets.h). Returns 0, or
 * -ENOMEM / -ENOSPC with the running mapping untouched. */
int runtime_map_buckets(struct daemon *d, const struct policy *p);
/* A log line per policy error (the loader's and parser's callback). */
void runtime_log_line(void *ctx, const char *msg);
/* A policy's notes (policy.h) and its address signatures, to the log. */
void runtime_log_notes(const struct policy *p);
/* Milliseconds of CLOCK_REALTIME (@realtime) or CLOCK_MONOTONIC. */
uint64_t runtime_clock_ms(int realtime);
/* The schedule's wall clock (sched.h): CLOCK_REALTIME plus
 * --clock-offset, in ms and in seconds since the epoch. */
int64_t runtime_sched_ms(const struct daemon *d);
int64_t runtime_sched_now(const struct daemon *d);
/* A hash seed from getrandom(2). Returns 0, or -1 with errno set (then
 * there is no seed: nothing falls back to a guessable one). */
int runtime_seed(uint64_t *seed);

#endif
