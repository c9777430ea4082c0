/* The daemon's audit sink (auditrec.c): where its records go. The
 * workers write a decision through it, never through the daemon; the
 * control thread writes the kernel's flow ends, re-decisions and changes.
 * A decided flow's facts are kept in the side table for its end. */
#ifndef SKYFENCE_AUDITREC_H
#define SKYFENCE_AUDITREC_H

#include <stdint.h>

#include "audit/chain.h"
#include "core/mark.h"

struct auditlog;
struct classifier;
struct ct_end;
struct ct_entry;
struct ct_events;
struct flow;
struct policy;
struct policy_decision;
struct sidetab;

struct audit_sink {
	struct auditlog *log;	      /* the writer (auditlog.h) */
	struct sidetab *side;	      /* decisions kept for the flow ends */
	struct ct_events *ctev;	      /* NULL: ends from the flow table */
	const struct mark_layout *ml; /* to read a conntrack mark */
	struct classifier *cls;	      /* the control thread's: app names */
	int fd;			      /* --audit-log, opened before --user */
	char node[AUDIT_NODE_LEN];    /* --node-id */
	/* the control thread's: the change being carried out (its id in the
	 * "change" record and the "redecided" ones it causes, and who made
	 * it, -1 nobody), and conntrack's destroy events accounted */
	uint64_t change_id;
	long change_uid;
	uint64_t ct_unmatched;	   /* events of ours with no decision kept */
	uint64_t ct_overruns_new;  /* not yet in a record */
	uint64_t ct_lost_reported; /* destroy events lost, in records */
};

/* A decided flow's facts kept for its end (a worker's call; @p its
 * policy, @c its module). */
void auditrec_flow_decided(struct audit_sink *s, const struct flow *f,
			   const struct policy *p, struct classifier *c,
			   uint64_t wall_now_ms, uint64_t mono_now_ms);
/* A destroy event's record (ct.h's callback; @ctx the sink). */
void auditrec_ct_end(void *ctx, const struct ct_end *e);
/* A change accepted, by @uid (-1: nobody), before the walk it starts:
 * its record; its id returned. */
uint64_t auditrec_change(struct audit_sink *s, long uid, const char *what);
/* @p becomes the running policy: its digest into @digest and on the
 * records from now on. */
void auditrec_policy(struct audit_sink *s, const struct policy *p,
		     char digest[AUDIT_HEX]);
/* A flow the conntrack walk re-decided under @p, for app @app and media
 * types @media (the entry's mark has the ones before). */
struct id_rec;
void auditrec_redecided(struct audit_sink *s, const struct policy *p,
			const struct ct_entry *e, enum mark_verdict old,
			const struct policy_decision *pd, uint16_t app,
			uint8_t media, const struct id_rec *who);

#endif
