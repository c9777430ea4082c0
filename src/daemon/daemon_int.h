/* skyfenced's state: the control thread's (daemon.c's loop, runtime.c,
 * control.c's verbs) and what the workers share (worker.h holds a
 * worker's own). Not a public interface. */
#ifndef SKYFENCE_DAEMON_INT_H
#define SKYFENCE_DAEMON_INT_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/audit.h"
#include "daemon/buckets.h"
#include "kernel/bypass.h"
#include "classify/classify.h"
#include "kernel/ct.h"
#include "daemon/auditrec.h"
#include "daemon/daemon_opts.h"
#include "engine/engine.h"
#include "sys/log.h"
#include "core/mark.h"
#include "policy/policy.h"
#include "kernel/queue.h"
#include "daemon/throttle.h"
#include "policy/state.h"

#define MAX_THROTTLE_RULES_TEXT BUCKET_PAIRS_TEXT

struct daemon_stats {
	uint64_t packets, inspected_accept, repeats, marked, throttled;
	uint64_t no_payload, bad;
	uint64_t normalized;  /* dropped by the normalizer (stream.h) */
	uint64_t quic_reread; /* QUIC long headers of allowed flows read */
	uint64_t reloads, reload_failures;
	uint64_t held_no_slot; /* throttled packets passed: no hold record */
	/* times a worker's queues began to back up, the milliseconds
	 * they did (a running episode included), whether they do now
	 * (worker.c, overload_check) */
	uint64_t overloads, overload_ms, overloaded;
};

struct ctl;
struct worker;
struct stats_snap;
struct flow_line;

struct change;
struct daemon;
struct sched;

/* Told of every change applied (the event loop's). */
struct change_hook {
	void (*applied)(void *ctx, const struct change *c);
	void *ctx;
};

/* The running policy: what the change service replaces (change.h,
 * runtime.h), the control thread's. The workers hold their own pointers
 * to the policy and rules they run (worker.h). */
struct running {
	/* the control thread's nDPI module (names, categories; no flows)
	 * and engine (conntrack entries' decisions; no flows) */
	struct classifier *cls;
	struct engine *eng;
	struct policy *pol;
	/* kill switch rules, for pol->killswitch: their default block */
	struct policy *kill;
	/* who is behind an address (identity/idtab.h): the snapshot every
	 * engine runs with; NULL: nobody known */
	struct id_snap *ids;
	/* audit_policy_digest of pol, kill switch included: set at the
	 * start and by auditrec_policy at each change (status, metrics and
	 * the fleet's report read it often; formatting the policy each time
	 * would cost a policy's worth of text) */
	char digest[AUDIT_HEX];
	/* the running policy is a fleet's revision (fleetd.h): kept at
	 * start whatever the --policy file says, not read again by SIGHUP */
	int from_fleet;
	/* told of the state directory once open, before the saved policy
	 * is read (the event loop's: the fleet's revisions); 0 or -1 */
	int (*on_state_dir)(struct daemon *d, int dfd);
	/* the windows' state @pol was applied with (runtime_apply_policy)
	 * and when, and how many policies were: the schedule (sched.h)
	 * takes it as its own when the count moves */
	uint64_t win_mask;
	int64_t win_at;
	unsigned win_gen;
	/* the running policy on disk (state.h) */
	int state_dfd;		    /* the state directory; -1: not kept */
	uint8_t base[STATE_DIGEST]; /* SHA-256 of the --policy file read */
	int state_dirty;	    /* the last save failed: retried */
	char state_err[512];	    /* why */
	char feed_was[16];	 /* the feed's version a feed reload replaces */
	uint64_t state_saved_ms; /* wall clock of the last save */
	struct log_limit state_limit; /* warnings of failed saves */
};

/* The control thread's state, and what the workers share: the options,
 * the mark layout, the audit file (stdio locks it), and the throttle
 * (throttle.h, with its own lock). The workers' own state is theirs
 * (worker.h); the control thread reaches it only through worker_call. */
struct daemon {
	const struct daemon_opts *o;
	struct running run; /* what every change replaces */
	struct worker *w;
	unsigned n_workers;
	struct mark_layout ml;
	struct audit_sink audit; /* auditrec.h */
	uint64_t now_ms;	 /* the control thread's clock, this turn */
	int running;		 /* the event loop goes on */
	unsigned ticks;		 /* seconds of the loop's timer */
	/* the shaper every worker's throttled flows share, its thread and
	 * hold records, and the running policy's bucket map */
	struct throttle *th;
	struct bypass *bypass; /* NULL if nfacct is not available */
	struct log_limit bypass_limit;
	uint64_t bypass_new; /* bypassed since the last warning */
	struct log_limit bad_limit;
	struct daemon_stats st; /* the control thread's: reloads */
	/* runtime control */
	struct ctl *ctl;
	struct change_hook change_hook; /* told of each change applied */
	struct ct *ct;
	struct sched *sched;	 /* the schedule (sched.h); NULL: not yet */
	struct metrics *metrics; /* --metrics-listen; NULL: off */
	struct fleetd *fleet;	 /* --nats (fleetd.h); NULL: standalone */
	struct identity *ident;	 /* identity.h; NULL: no source configured */
	uint64_t started_ms;
	uint64_t watchdog_us; /* systemd's WatchdogSec; 0: none */
	int pid_fd;	      /* --pidfile, opened before --user's change */
	/* the workers' counters per department and app, merged by the
	 * last workers_stats(); the renderers read them */
	struct app_stat *apps;
	/* the control verbs' buffers, reused request after request (a
	 * barrage of `flows` or `status` allocates nothing): a snapshot,
	 * the flows being inspected and every worker's recent decisions
	 * (control.c makes them at first use) */
	struct stats_snap *snap;
	struct flow_line *flow_lines;
	struct recent *flow_recent;
};

#define APP_STATS 4096
#define APP_STAT_GONE UINT16_MAX
#define RECENT 64

/* Counters of one department and app, found by the department's index in
 * the running policy (no name hashed per packet); stats_remap() keeps them
 * with their department across policy changes. */
struct app_stat {
	char dept[POLICY_NAME_LEN]; /* "": free */
	uint16_t dept_idx;	    /* APP_STAT_GONE: not in the policy now */
	uint16_t app;
	uint64_t pkts, bytes, decisions[ACT_MAX];
};

/* What a worker counts per department and app, and its ring of recent
 * decisions (stats.c counts into them). */
struct stats_counts {
	struct app_stat *apps;
	struct recent *recent;
	uint32_t recent_next;
};

struct recent {
	uint64_t ts_ms;
	char key[128];
	char dept[POLICY_NAME_LEN];
	char app[64];
	char evidence[FLOW_EVIDENCE_LEN];
	uint8_t action;
	char rule[POLICY_TEXT_LEN];
};

#endif
