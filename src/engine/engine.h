/* One packet's path: pkt -> flow -> classify -> policy -> verdict.
 * The inline daemon and the offline mode both drive this; they differ only
 * in where packets come from and where verdicts go.
 */
#ifndef SKYFENCE_ENGINE_H
#define SKYFENCE_ENGINE_H

#include <stdint.h>
#include "core/flow.h"
#include "core/pkt.h"
#include "policy/policy.h"
#include "core/stream.h"

struct classifier;

struct engine_opts {
	uint32_t max_flows; /* flow table pool size */
	uint64_t idle_ms;   /* idle time after which a flow is forgotten */
	uint64_t seed;	    /* hash seed */
	/* packets come from a capture (the offline mode): what the
	 * normalizer would drop is counted and read on instead, since no
	 * sender will resend it, and checksums are not verified (a capture
	 * taken at the sender has them unfilled by its offload) */
	uint8_t capture;
};

struct engine_hooks {
	/* A flow's classification is final and its action chosen, or a
	 * flow still passing through is decided again (flow.action, .rule,
	 * .media, .dscp). */
	void (*on_decision)(void *ctx, const struct flow *f);
	/* A flow leaves the table (idle, evicted, flushed). */
	void (*on_flow_end)(void *ctx, const struct flow *f, int reason);
	void *ctx;
};

struct engine_stats {
	uint64_t pkts, bytes;	      /* packets that reached a flow */
	uint64_t bad[PKT_STATUS_MAX]; /* packets that did not, by reason */
	uint64_t inspected;	      /* packets fed to the classifier */
	uint64_t decisions[ACT_MAX];  /* flows decided, by action */
	uint64_t cls_exhausted;	      /* flows decided unclassified: no slot */
	uint64_t decided_at[DEC_MAX]; /* flows decided, by enum flow_decided_at */
	uint64_t relabeled; /* decided flows whose ids nDPI changed later */
	uint64_t named;	    /* decided on CLS_NAMED, nDPI still reading */
	uint64_t signature; /* decided at the first packet by a signature */
	uint64_t midstream; /* TCP flows first seen without their SYN */
	uint64_t reused;    /* flows ended by a new connection on their tuple */
	/* the normalizer (stream.h): TCP segments of flows under
	 * inspection by result; those past STREAM_DUP were dropped */
	uint64_t stream[STREAM_RES_MAX];
	uint64_t no_buffer;  /* dropped: no buffer free for a message in part */
	uint64_t names;	     /* names skyfence's own readers found */
	uint64_t one_shot;   /* datagrams read alone after junk (watched) */
	uint64_t unreadable; /* flows refused as unreadable (evidence
			      * midstream, quic-version, unreadable) */
	uint64_t redecided;  /* watched flows a later name decided again */
	uint64_t watched;    /* flows decided, then watched for more names */
	uint64_t unnamed;    /* flows decided with nothing named: their
			      * department's rule for Unknown */
	uint64_t lean;	     /* flows read with the lean module */
	uint64_t overload;   /* of them, started while the queue backed up
			      * (engine_set_overload) */
	uint64_t lean_short; /* policies or kill switches the lean module
			      * lacked a dissector for (then none is lean) */
};

struct engine_verdict {
	/* this packet must not pass: the normalizer refused it (stream.h);
	 * the flow is still inspected, and the sender resends */
	uint8_t drop;
	uint8_t final;	/* the flow's action is decided (and not watched) */
	uint8_t action; /* enum policy_action; ACT_ALLOW while inspecting */
	uint8_t from_inside; /* the packet leaves the inside endpoint */
	struct flow *flow;
};

/* Returns NULL if memory is short. The classifier and policy stay owned by
 * the caller and must outlive the engine (or be replaced first). */
struct engine *engine_create(const struct engine_opts *o, struct classifier *c,
			     const struct policy *p,
			     const struct engine_hooks *h);
void engine_destroy(struct engine *e);

/* Sets @want[id] (id < @n) for every protocol whose dissector the policy
 * @p and the kill switch rules @kill need: those its rules name, those of
 * the categories they name, and classifier_lean_base()'s; every one if a
 * rule names Unknown or its category (a flow a missing dissector leaves
 * unnamed would then be decided otherwise). The classifier gives the
 * categories and nothing else. */
void engine_dissectors(const struct policy *p, const struct policy_rule *kill,
		       uint32_t n_kill, struct classifier *c, uint8_t *want,
		       uint32_t n);
/* Whether new flows of departments without `log all` are read with the
 * classifier's lean module: it has one, some department does not log
 * all, and it runs every dissector the engine's policy and kill switch
 * need (else every new flow takes the full one, until a policy it serves
 * again or a classifier opened for this policy: a restart, a signatures
 * reload). Flows already read lean keep their labels. */
int engine_lean(const struct engine *e);
/* The queue backs up (@on) or has drained: while it does, new flows of
 * every department are read with the lean module, if it covers the
 * policy and the kill switch (what decides a flow is read as before;
 * labels of protocols no rule names may be missing, and the flow's
 * records carry "dissectors":"policy"). Returns whether new flows are now
 * read so. The worker's, between packets. */
int engine_set_overload(struct engine *e, int on);
/* engine_stats' overload: the flows read lean because of it so far. */
uint64_t engine_overload_flows(const struct engine *e);
/* Whether every department of @p records every flow with its label
 * (`log all`, or a rule for any flow with `log`): then none is read lean. */
int engine_policy_labels_all(const struct policy *p);

/* Replaces the policy. Decided flows in the table are decided again under
 * it (their fields only: the kernel's marks are the caller's business), so
 * the old policy may be freed on return. When its address signatures are
 * others (a new feed), every flow's signature is looked up again first: a
 * flow still inspected that a UDP signature now names is decided at its
 * next packet. */
void engine_set_policy(struct engine *e, const struct policy *p);
/* Both at once, with one walk of the table (engine_set_policy, then
 * engine_set_killswitch, walk it twice). */
void engine_set_rules(struct engine *e, const struct policy *p,
		      const struct policy_rule *rules, uint32_t n);
/* The schedule's windows (policy.h's flow_facts): bit i of @mask set when
 * window i of the engine's policy is open, applied at @at (seconds since
 * the epoch, in the schedule's clock). Decided flows in the table are
 * decided again if a window a rule uses changed (their fields only). */
void engine_set_windows(struct engine *e, uint64_t mask, int64_t at);
/* The same without deciding any flow again: for a policy about to be set
 * (engine_set_rules then decides them under it with these windows). */
void engine_stage_windows(struct engine *e, uint64_t mask, int64_t at);
/* What to add to a packet time (engine_packet's @now_ms) to get the
 * schedule's wall clock in ms: a flow started at its first packet's.
 * The inline daemon's packet times are CLOCK_MONOTONIC's (the offset
 * moves when the wall clock steps: set again then); a capture's are
 * wall clock already (0, the default). */
void engine_set_clock(struct engine *e, int64_t wall_minus_pkt_ms);
/* Who is behind an address from now on (identity/idtab.h; NULL: nobody
 * known). A flow keeps a reference to the identity it was decided for,
 * so @s may go once no decision is being made with it. Decided flows
 * whose inside host is someone else now are decided again. */
struct id_snap;
void engine_set_identity(struct engine *e, const struct id_snap *s);
/* Kill switch: flows matching any of @rules (their match part; @n may be
 * 0) are dropped in every department, before the policy's rules. The
 * rules stay the caller's; decided flows in the table are decided again. */
void engine_set_killswitch(struct engine *e, const struct policy_rule *rules,
			   uint32_t n);
/* The decision for a flow known only by its endpoints (initiator first,
 * ports in host order), app id and media types, as a conntrack entry's
 * mark gives them (kill switch included; evidence "mark"). The policy's
 * address signature for the outside endpoint decides the app of a UDP
 * flow, and of a TCP one whose mark has no app, as at a new flow's first
 * packet: a flow to an address a new feed lists becomes its app. *media:
 * in, the mark's MEDIA_* bits, which are the flow's (0: no call's media,
 * as for every flow marked before media types; neither its app nor its
 * port retypes it); recomputed only for a flow the signature relabels
 * (its inside port's type, else every type, as a new flow's); out, the
 * ones the decision was for. @start: when the flow started (seconds
 * since the epoch in the schedule's clock, flow_facts.start; 0: not
 * known). *inbound tells which endpoint was taken as inside (may be
 * NULL). Returns the app the decision was for (@app or the signature's).
 */
uint16_t engine_decide_app(const struct engine *e, const uint8_t ini[16],
			   uint16_t iport, const uint8_t resp[16],
			   uint16_t rport, uint8_t l4proto, uint16_t app,
			   int64_t start, uint8_t *media,
			   struct policy_decision *d, uint8_t *inbound);
/* Visits the flows being inspected, newest first, at most @max of them,
 * without walking the table (a list the engine keeps). Returns how many
 * flows are being inspected in all. */
uint32_t engine_foreach_inspecting(struct engine *e,
				   void (*fn)(void *ctx, const struct flow *f),
				   void *ctx, uint32_t max);
void engine_hooks_of(const struct engine *e, struct engine_hooks *h);

/* Processes one parsed packet. Packets of a flow under inspection are
 * allowed (nDPI needs both directions) unless the flow is decided. A flow
 * is decided at the packet on which nDPI names an application it will not
 * change (classify.h, CLS_NAMED), or when nDPI is done; a flow decided
 * while nDPI still had metadata to read is fed on, for the record only:
 * its decision never changes, and a change of ids is counted. The media
 * types RTP shows (core/rtp.h) count until the decision, and on a watched
 * flow, decided again if they decide harder (flow.media, flow.dscp). */
void engine_packet(struct engine *e, const struct pkt *p, uint64_t now_ms,
		   struct engine_verdict *v);
/* As engine_packet, for a packet whose mark already names its app and
 * media types (a throttled flow, or one decided before a restart): a flow
 * the engine does not know, or still inspects, is decided at once from
 * @app and @media without nDPI (@media is the flow's types, 0 for no
 * call's media, as engine_decide_app takes them); a known one is decided
 * again if the media types RTP shows decide harder. */
void engine_packet_known(struct engine *e, const struct pkt *p, uint64_t now_ms,
			 uint16_t app, uint8_t media, struct engine_verdict *v);

/* Counts a packet that pkt_parse_* rejected. */
void engine_count_bad(struct engine *e, enum pkt_status s);

/* Ends idle flows; flows still inspected are given up and decided first. */
void engine_expire(struct engine *e, uint64_t now_ms);
/* Puts up to @chunk more bytes of the flow table's and the classifier's
 * per-flow memory in memory ahead of use, so a flood's new flows wait for
 * no page fault (core/bigmem.h); 1 while some is left. Idle time's. */
int engine_warm(struct engine *e, size_t chunk);
/* Ends every flow (end of a capture, shutdown). */
void engine_flush(struct engine *e);

void engine_get_stats(const struct engine *e, struct engine_stats *s);
void engine_get_flow_stats(const struct engine *e, struct flow_table_stats *s);

#endif
