/* skyfenced's state, shared by daemon.c (packets, signals, the loop) and
 * control.c (the control socket's verbs). Not a public interface. */
#ifndef SKYFENCE_DAEMON_INT_H
#define SKYFENCE_DAEMON_INT_H

#include <stdint.h>
#include <stdio.h>

#include "skyfence/buckets.h"
#include "skyfence/bypass.h"
#include "skyfence/classify.h"
#include "skyfence/ct.h"
#include "skyfence/ctl.h"
#include "skyfence/daemon_opts.h"
#include "skyfence/engine.h"
#include "skyfence/log.h"
#include "skyfence/mark.h"
#include "skyfence/policy.h"
#include "skyfence/queue.h"
#include "skyfence/shaper.h"
#include "skyfence/state.h"

#define MAX_BUCKETS (2 * BUCKET_PAIRS) /* buckets.h */
#define MAX_THROTTLE_RULES_TEXT BUCKET_PAIRS_TEXT

struct daemon_stats {
	uint64_t packets, inspected_accept, repeats, marked, throttled;
	uint64_t no_payload, bad;
	uint64_t reloads, reload_failures;
	uint64_t held_no_slot; /* throttled packets passed: no hold record */
};

/* A held packet's queue and the mark its verdict gives back. */
struct held {
	uint32_t mark;
	uint8_t queue;
	int32_t next_free;
};

struct daemon {
	const struct daemon_opts *o;
	struct classifier *cls;
	struct policy *pol;
	struct engine *eng;
	/* by kind (queue.h): 0 main (GSO), 1 throttled flows (no GSO),
	 * 2 and 3 the same for fail-closed departments (no fail-open) */
	struct queue *q[QUEUE_KINDS];
	unsigned cur; /* the queue whose packets are being handled */
	struct mark_layout ml;
	FILE *audit;
	int audit_dirty; /* records written since the last flush */
	uint64_t now_ms, now_us;
	int running;	/* the event loop goes on */
	unsigned ticks; /* seconds of the loop's timer */
	struct shaper *sh;
	int shaper_tfd;
	struct held *held; /* hold records, indexed by the tag's high half */
	int32_t held_free;
	struct bypass *bypass; /* NULL if nfacct is not available */
	struct log_limit bypass_limit;
	uint64_t bypass_new;  /* bypassed since the last warning */
	struct bucket_map bm; /* throttle rules to bucket pairs */
	struct log_limit bad_limit;
	struct daemon_stats st;
	/* runtime control */
	struct ctl *ctl;
	struct ct *ct;
	uint64_t started_ms;
	/* kill switch rules, for pol->killswitch: their default block */
	struct policy *kill;
	/* the running policy on disk (state.h) */
	int state_dfd;		      /* the state directory; -1: not kept */
	uint8_t base[STATE_DIGEST];   /* SHA-256 of the --policy file read */
	int state_dirty;	      /* the last save failed: retried */
	char state_err[512];	      /* why */
	uint64_t state_saved_ms;      /* wall clock of the last save */
	struct log_limit state_limit; /* warnings of failed saves */
	struct app_stat *apps;	      /* per department and app */
	struct recent *recent;	      /* the last decisions, a ring */
	uint32_t recent_next;
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

struct recent {
	uint64_t ts_ms;
	char key[128];
	char dept[POLICY_NAME_LEN];
	char app[64];
	uint8_t action;
	char rule[POLICY_TEXT_LEN];
};

/* control.c: a request on the control socket (ctl.h's callback) */
void control_request(void *ctx, struct ctl_req *r, enum ctl_role role, int argc,
		     char **argv);

#endif
