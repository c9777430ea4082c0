/* Worker threads (worker.c): each serves its main queues with their
 * throttle and fail-closed queues, with an nDPI module, a flow table,
 * verdict batches and counters of its own. The kernel spreads flows over
 * the queues of a --queue-balance range by a hash of the two addresses
 * (both directions alike), so a flow stays with one worker. The packet
 * path takes no lock: the policy a worker runs is handed to it in its own
 * thread between two loop turns (worker_call), and the old one is freed
 * once every worker has taken the new one. */
#ifndef SKYFENCE_WORKER_H
#define SKYFENCE_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "daemon/daemon_int.h"
#include "daemon/stats.h"

/* A verdict for a worker's held packet given by another thread (the
 * shaper releasing or dropping it): the worker sends it, then frees the
 * hold record. */
struct posted_verdict {
	uint32_t id, mark;
	int32_t record;
	uint16_t slot;
	uint8_t verdict;
};

struct worker;

/* A worker's event loop source (epoll_event.data.ptr points here): one
 * of its queues, by slot, or the eventfd that wakes it. */
struct wsource {
	void (*run)(struct worker *w, unsigned slot);
	unsigned slot;
};

struct worker {
	const struct daemon_opts *o; /* NULL: not set up */
	unsigned idx;
	pthread_t th;
	int started; /* the thread runs (the control thread's to read) */
	int ep, efd; /* its epoll, and the eventfd that wakes it */
	/* the worker thread's own: nothing else touches them while it runs
	 * except inside worker_call */
	struct classifier *cls;
	struct engine *eng;
	const struct policy *pol;    /* the policy its engine runs */
	const struct bucket_map *bm; /* that policy's bucket map */
	struct throttle *throttle;   /* shared by the workers */
	struct audit_sink *sink;     /* where its records go */
	const struct mark_layout *ml;
	unsigned n_q;		   /* queues: n main queues x QUEUE_KINDS */
	uint16_t qnum[MAX_QUEUES]; /* main queue numbers */
	struct queue **q;	   /* slot = main * QUEUE_KINDS + kind */
	struct wsource *src;	   /* per slot, then the eventfd's */
	unsigned cur;		   /* the slot being handled */
	uint64_t now_ms;	   /* this turn's clock (the flow table's) */
	int running;
	int warm; /* its engine's memory is still being put in place */
	struct daemon_stats st;
	struct stats_counts sc; /* per department and app; recent decisions */
	struct log_limit bad_limit;
	/* the queues' backlog (overload_check): per slot, the turns in a
	 * row that stopped at their budget with the socket full enough;
	 * whether a queue backs up, since when, the last turn that said so */
	uint8_t *ovl_turns;
	int ovl_on;
	uint64_t ovl_since_ms, ovl_seen_ms;
	uint64_t ovl_flows; /* the engine's flows_overload then */
	struct log_limit ovl_limit;
	struct posted_verdict *drain; /* a copy of posted, being sent */
	/* shared with the control and shaper threads, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*call)(struct worker *w, void *arg);
	void *call_arg;
	int call_done;
	struct posted_verdict *posted;
	uint32_t n_posted; /* at most max_held + 1: one per record */
};

/* Sets up worker @w (its module, engine, event loop) for the main queues
 * listed in @w->qnum; runs in the control thread before any worker
 * starts. Returns 0, or -1 with a message logged. */
/* The lean module's dissectors for the running policy and kill switch
 * (engine_dissectors; *@n protocol ids), to free; NULL with *@n 0 under
 * --dissectors all, NULL with *@n > 0 if memory is short. */
uint8_t *worker_lean_set(const struct daemon *d, uint32_t *n);
/* Whether the running policy and kill switch name a protocol the workers'
 * lean modules lack a dissector for (then no flow is lean: engine_lean).
 * The control thread's, between workers_calls. */
int worker_lean_short(const struct daemon *d);
/* The same for policy @p and kill switch @k (NULL: none), ids of @c. */
uint8_t *worker_lean_for(const struct daemon *d, const struct policy *p,
			 const struct policy *k, struct classifier *c,
			 uint32_t *n);
int worker_init(struct daemon *d, struct worker *w, unsigned idx,
		uint64_t seed);
/* Tells @w's engine whether its queues back up (after an engine swap).
 * Its thread's, or inside a worker_call. */
void worker_overload_apply(struct worker *w);
/* Its queues have drained if none backed up for a while (worker.c,
 * OVL_HOLD_MS): before each receive turn, and every second, so the first
 * new flows after a flood are read as ever. Its thread's. */
void worker_overload_expire(struct worker *w);
/* Binds @w's queues (worker_init first; every worker set up before any
 * binds, so no packet waits for a module still loading). Returns 0, or
 * -1 with a message logged. */
int worker_bind(struct worker *w);
int worker_start(struct worker *w);
/* Runs @fn(w, arg) in @w's thread between two of its loop turns and
 * returns when it has run (in the caller's thread if @w is not started). */
void worker_call(struct worker *w, void (*fn)(struct worker *w, void *arg),
		 void *arg);
/* worker_call on every worker, one after the other. */
void workers_call(struct daemon *d, void (*fn)(struct worker *w, void *arg),
		  void *arg);
/* Ends @w's thread (after its flows are flushed: worker_flush) and frees
 * what it owns. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);
/* Every flow of @w ends (the audit's end records): worker_call-able. */
void worker_flush(struct worker *w, void *arg);

/* The throttle's release function (throttle.h; @ctx the workers, d->w):
 * a held packet of worker @self's gets its verdict at once, another
 * worker's is posted to it (worker_post). */
int worker_release(void *ctx, uint32_t self, int32_t record,
		   const struct throttle_held *h, uint32_t id, int pass);

/* Every counter now, read once: each worker hands over its own in its
 * thread (worker_call), its per department counters merged into
 * d->apps; then the control thread's (stats_finish). */
void workers_stats(struct daemon *d, struct stats_snap *s);

/* A verdict for a held packet of @w, from another thread (under the
 * throttle's lock). */
void worker_post(struct worker *w, int32_t record, uint16_t slot, uint32_t id,
		 int verdict, uint32_t mark);

#endif
