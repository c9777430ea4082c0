/* Flow table: direction-free keys, a fixed pool sized at start-up, idle
 * expiry and eviction of the least recently used flow when full.
 * Pure: time comes in as an argument; the only allocation is at create.
 */
#ifndef SKYFENCE_FLOW_H
#define SKYFENCE_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include "core/appmsg.h"
#include "core/evidence.h"
#include "core/stream.h"

struct pkt;

/* Endpoints ordered (address bytes, then port): "lo" sorts first. */
struct flow_key {
	uint8_t lo[16], hi[16];
	uint16_t lo_port, hi_port;
	uint16_t vlan;
	uint8_t l4proto;
	uint8_t family;
};

enum flow_state {
	FLOW_INSPECTING = 0, /* classifier still wants packets */
	FLOW_DECIDED,	     /* classification final, action chosen */
};

/* When a flow's decision was made. At a packet (DEC_PACKET: the app was
 * named, DEC_LIMIT: the packet limit gave up, DEC_MARK: from the app id in
 * a mark), the verdict went on that packet; at its end (idle, evicted,
 * flushed) the decision was never enforced on the live flow. */
enum flow_decided_at {
	DEC_NONE = 0,
	DEC_PACKET,
	DEC_LIMIT,
	DEC_MARK,
	DEC_IDLE,
	DEC_EVICTED,
	DEC_FLUSH,
	DEC_MAX,
};

/* "packet", "limit", "mark", "idle", "evicted", "end"; "-" for DEC_NONE. */
const char *flow_decided_at_name(uint8_t at);

/* What a decided flow's label rested on, as the TSV, the audit and
 * `flows` show it: an evidence kind ("sni", "heuristic", ...,
 * classify.h), "NAME-rejected" for a look-alike name, "heuristic-ignored"
 * when the policy's skype-heuristic is off. */
#define FLOW_EVIDENCE_LEN 32
struct flow;
char *flow_evidence_format(const struct flow *f, char *buf, size_t len);

/* Packet direction relative to the flow's initiator. */
enum flow_dir { FLOW_DIR_ORIG = 0, FLOW_DIR_REPLY = 1 };

struct flow {
	struct flow_key key;
	uint64_t id; /* creation order, never reused */
	uint64_t first_ms, last_ms;
	uint64_t pkts[2], bytes[2]; /* by enum flow_dir */
	uint8_t init_is_lo;	    /* the first packet seen came from key.lo */
	uint8_t state;		    /* enum flow_state */
	/* filled by the engine */
	int32_t cls_slot; /* classifier state, -1 once released */
	struct cls_result cls;
	uint16_t dept;
	/* who the inside host was at the decision: the engine's reference
	 * to an identity/idtab.h struct id_rec, NULL if nobody */
	void *ident;
	int16_t rule;	 /* -1: no rule matched */
	uint8_t action;	 /* enum policy_action */
	uint8_t inbound; /* opened from outside the internal networks */
	uint8_t logged;
	uint8_t decided_at;   /* enum flow_decided_at */
	uint8_t relabeled;    /* nDPI changed the ids after the decision */
	uint32_t decided_pkt; /* packets seen (both directions) at decision */
	uint16_t decided_master, decided_app; /* the ids it was decided on */
	uint16_t decided_alt; /* cls.alt_app then: a change to it is no relabel */
	/* what the policy saw (engine.c, flow_facts_of): nDPI's ids, or the
	 * master protocol for a rejected name, nothing for the heuristic
	 * when it is off, the signature's app; the mark carries pol_app */
	uint16_t pol_master, pol_app;
	uint8_t pol_evidence; /* enum cls_evidence */
	uint16_t sig_app;     /* an address signature's app (addrsig.h), 0 */
	/* a Teams (Skype) call's media (engine.c, media_of): the MEDIA_*
	 * bits (policy.h) RTP payload types showed in the datagrams
	 * skyfenced saw, or the ones the mark gave a flow known from it;
	 * the flow's media and the DSCP (1 + value, 0 none) it was decided
	 * for, which the mark carries */
	uint8_t media_seen;
	uint8_t media, dscp;
	/* TCP: the normalizer and the initiator's messages (engine.c) */
	struct stream st;
	struct appmsg am;
	int32_t buf;	  /* the engine's buffer of a message in part, -1 */
	uint32_t buf_len; /* bytes in it */
	uint32_t buf_off; /* the stream offset of its first byte */
	uint32_t am_off;  /* ... of the first byte the readers have not used */
	uint32_t urg_shift; /* urgent bytes taken out (offsets above are the
			     * readers', not the sequence's, past them) */
	uint32_t fed;	    /* packets given to nDPI: handshake and new data */
	/* the strictest of the names skyfence's own readers found (SNI,
	 * Host, DNS, proxy targets, STUN over TCP, nDPI's names in their
	 * normal form): the policy sees it when it decides harder than
	 * nDPI's label */
	uint16_t nm_master, nm_app;
	uint8_t nm_evidence; /* enum cls_evidence */
	uint8_t nm_rank;     /* 0 none, 1 allow, 2 throttle, 3 drop/reject */
	uint8_t unread;	     /* enum cls_evidence: midstream, ...; 0 */
	uint8_t overload;    /* started while the queue backed up: read by
			      * the policy's dissectors only */
	uint8_t nm_ndpi;     /* nDPI's own name was read in normal form */
	uint8_t answered;    /* UDP: the responder has sent a datagram */
	/* UDP to port 443: QUIC connection ids seen in long headers, keyed
	 * hashes (engine.c, 0 none): the client's first Destination
	 * Connection ID, then the Source ones the server chose (newest
	 * last); a client long header with none of them is another
	 * connection on the tuple */
	uint32_t quic_cid[3];
	/* TCP, a flow still read: a SYN of another connection on its tuple
	 * came (its direction plus one, 0 none; its sequence number), kept
	 * until the server answers it (engine.c, end_reused) */
	uint8_t reopen_dir;
	uint32_t reopen_seq;
	uint64_t wait_ms; /* TCP: since when a message is in part, 0 */
	uint8_t watched;  /* decided, allowed, but another name may come: it
			  * stays in userspace and is read on */
	/* the engine's list of flows being inspected */
	struct flow *insp_prev, *insp_next;
	/* table internals */
	uint32_t hnext, lru_prev, lru_next;
	uint8_t in_use;
};

struct flow_table;

/* Called for a flow the table is about to reuse (eviction) or has expired,
 * before it is freed. */
typedef void (*flow_end_fn)(void *ctx, struct flow *f, int reason);
/* FLOW_END_REUSED: a new connection took its tuple (engine.c) */
enum flow_end_reason {
	FLOW_END_IDLE = 1,
	FLOW_END_EVICTED,
	FLOW_END_FLUSH,
	FLOW_END_REUSED
};

struct flow_table_stats {
	uint64_t created, expired, evicted, lookups;
	uint32_t active, capacity;
};

/* Returns NULL if @capacity is 0 or too large, or memory is short.
 * @seed keys the hash so a flood cannot aim at one bucket. */
struct flow_table *flow_table_create(uint32_t capacity, uint64_t idle_ms,
				     uint64_t seed, flow_end_fn on_end,
				     void *ctx);
/* Puts up to @chunk more bytes of the pool in memory ahead of use
 * (bigmem.h); 1 while some is left. */
int flow_table_warm(struct flow_table *t, size_t chunk);
void flow_table_destroy(struct flow_table *t);

/* Finds the flow of @p, or creates it (evicting the least recently used flow
 * if the pool is full). Sets *dir to the packet's direction and *created.
 * Never fails: a full table always has a least recently used flow. */
struct flow *flow_table_get(struct flow_table *t, const struct pkt *p,
			    uint64_t now_ms, enum flow_dir *dir, int *created);

/* Looks a flow up without creating it; NULL if absent. */
struct flow *flow_table_find(struct flow_table *t, const struct pkt *p,
			     enum flow_dir *dir);

/* Ends flow @f of @t now (tells the owner, as the others do). */
void flow_table_end(struct flow_table *t, struct flow *f, int reason);

/* Ends flows idle for longer than the table's idle time. Returns how many. */
unsigned flow_table_expire(struct flow_table *t, uint64_t now_ms);

/* Ends every flow, oldest first (FLOW_END_FLUSH). */
void flow_table_flush(struct flow_table *t);

/* Visits live flows, least recently used first. */
void flow_table_foreach(struct flow_table *t,
			void (*fn)(void *ctx, struct flow *f), void *ctx);

void flow_table_get_stats(const struct flow_table *t,
			  struct flow_table_stats *s);

void flow_key_from_pkt(const struct pkt *p, struct flow_key *k, int *src_is_lo);

/* Writes the direction-free key "L4|lowIP|lowPort|highIP|highPort|vlan" as
 * ndpi_oracle.sh does: L4 named as ndpiReader names it, endpoints ordered by
 * address text (ndpiReader's IPv6 spelling), then port. Returns @buf. */
char *flow_key_format(const struct flow_key *k, char *buf, size_t len);
#define FLOW_KEY_STRLEN 128
const char *flow_l4_name(uint8_t l4proto, char buf[8]);

/* The initiator's and responder's addresses and ports. */
const uint8_t *flow_initiator(const struct flow *f, uint16_t *port);
const uint8_t *flow_responder(const struct flow *f, uint16_t *port);

#endif
