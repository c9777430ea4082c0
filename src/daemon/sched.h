/* The schedule (sched.c): the running policy's time windows (window.h)
 * followed on the wall clock. Each change of the windows' state is one
 * change through the change service (CHANGE_SCHEDULE): every engine
 * gets the new state (engine_set_windows), conntrack is walked so
 * established flows a "cut" rule decides follow at once, and the audit
 * has its "change" record. The state applied is kept in the state
 * directory, so one missed while skyfenced was down is applied at start.
 *
 * The schedule's clock is CLOCK_REALTIME plus --clock-offset (tests
 * only: a lab tries a boundary without moving the machine's clock); every
 * schedule computation in the daemon reads it through sched_now(). A
 * boundary is met by a one-shot monotonic timer armed for it (within
 * milliseconds), and the one-second tick looks again (a step of the
 * wall clock is noticed within a second: win_clock_tick). */
#ifndef SKYFENCE_SCHED_H
#define SKYFENCE_SCHED_H

#include <stdint.h>

#include "daemon/daemon_int.h"
#include "policy/window.h"

/* The state applied, in the state directory (mode 0600, replaced
 * atomically: state.h). */
#define SCHED_FILE "schedule"

/* The schedule's wall clock: seconds (and ms) since the epoch, UTC
 * (runtime_sched_now: runtime.c keeps it, so what applies a policy
 * reads it too). */
int64_t sched_now(const struct daemon *d);
int64_t sched_now_ms(const struct daemon *d);

/* At start, after the workers are set up and before the first verdict:
 * the windows' state at sched_now() into every engine, the state saved
 * before the stop compared with it (a difference is applied as a change,
 * its record saying what was missed while skyfenced was down), the timer
 * made. Returns 0, or -1 (logged). */
int sched_open(struct daemon *d);
/* The one-shot timer's descriptor for the event loop (sched_tick when
 * readable); -1 before sched_open. */
int sched_fd(const struct daemon *d);
/* Looks at the clock: the windows' state applied if it changed, the
 * engines' clock set again after a step, the timer armed for the next
 * boundary. From the one-second tick and the timer. */
void sched_tick(struct daemon *d);
/* Told of each change applied (the event loop's change hook): after a
 * new policy (runtime_apply_policy set d->run.win_*), its windows' state
 * is the schedule's, and the timer is armed for its next boundary. */
struct change;
void sched_changed(struct daemon *d, const struct change *c);
/* Saves the state applied (the stop: "missed since" then says when
 * skyfenced stopped) and frees the schedule. */
void sched_close(struct daemon *d);

/* The change record's text for tick @t of @p's windows: "schedule:
 * window office closed (sales: teams allow during office cut), window
 * lunch opened (...)", a temporary rule's "temporary rule ended at
 * 2026-12-07T17:00:00Z (sales: ...)", then why now: " (the clock stepped
 * forwards 604800 s; 10 boundaries passed, applied as one)", or with
 * @since (not 0) " (at start: missed while skyfenced was down since
 * 2026-12-07T17:00:00Z)". Only windows some rule uses are named. */
void sched_describe(const struct policy *p, const struct win_tick *t,
		    int64_t since, char *out, size_t len);

/* What status and the metrics show. */
struct sched_view {
	int on;		     /* the running policy has windows */
	int64_t now;	     /* sched_now() */
	int64_t next;	     /* the next boundary; WIN_NEVER: none */
	char next_local[96]; /* "2026-12-07 18:00:00 CET", its zone's */
	/* "office closes: sales teams allow during office finish (line
	 * 12); ..." */
	char switches[1536];
	char windows[1024]; /* "office open, lunch closed" */
	uint64_t boundaries, steps;
	uint32_t n; /* windows, in the policy's order */
	struct {
		char name[48]; /* "office", "until 2026-12-07T17:00:00Z" */
		uint8_t open;
	} w[WIN_MAX];
};

void sched_get_view(const struct daemon *d, struct sched_view *v);

#endif
