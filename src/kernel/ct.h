/* Conntrack over ctnetlink (libmnl): walks the table and rewrites the mark
 * of entries whose decision changed, so a policy change, a rule change or
 * the kill switch reaches flows the kernel is already carrying on its own.
 * The walk is a dump read as the event loop finds it readable, so a large
 * table never stalls verdicts.
 */
#ifndef SKYFENCE_CT_H
#define SKYFENCE_CT_H

#include <stddef.h>
#include <stdint.h>

struct ct_entry {
	uint8_t family;	 /* AF_INET, AF_INET6 */
	uint8_t l4proto; /* IPPROTO_* */
	uint8_t src[16],
		dst[16];       /* original direction; IPv4 as ::ffff:a.b.c.d */
	uint16_t sport, dport; /* host order; 0 if the protocol has none */
	uint32_t mark;
	/* when the flow started, wall clock ns (CTA_TIMESTAMP_START, with
	 * nf_conntrack_timestamp on); 0: not known */
	uint64_t start_ns;
};

/* Returns 1 and the new mark in *mark to rewrite the entry's mark. */
typedef int (*ct_fn)(void *ctx, const struct ct_entry *e, uint32_t *mark);

struct ct_stats {
	uint64_t walks, entries, rewritten, errors;
	int running;
};

struct ct;

struct ct *ct_open(char *err, size_t errlen);
void ct_close(struct ct *c);
/* The descriptor to watch (readable while a walk is under way). */
int ct_fd(const struct ct *c);
/* Starts a walk; if one runs, it is started again once it ends (the
 * change it was for may have missed entries it had passed). */
void ct_walk(struct ct *c); /* NULL: nothing to walk */
/* Reads what is ready (bounded), calls @fn per entry and sends the
 * rewrites. Returns 1 while the walk goes on, 0 when it is over. */
int ct_run(struct ct *c, ct_fn fn, void *ctx);
void ct_get_stats(const struct ct *c, struct ct_stats *s); /* NULL: zeros */

/* ---- destroy events (the audit's flow ends) ----
 *
 * A socket subscribed to NFNLGRP_CONNTRACK_DESTROY. By default an event
 * that does not fit in its buffer is lost, and counted exactly: the
 * socket's drop counter (SO_MEMINFO's SK_MEMINFO_DROPS), read after each
 * slice; skyfenced asks for a 64 MiB buffer (about 130,000 events). @reliable sets NETLINK_BROADCAST_ERROR: the kernel then keeps an
 * entry whose event it could not deliver and delivers it again later,
 * so nothing is lost, but while skyfenced does not read (stalled, under
 * a debugger) the dead entries stay in the table, and a busy gateway's
 * table fills: new flows are dropped, every department's (measured: 200,000
 * entries expiring while it was stopped kept 173,786 in the table, and
 * 1,536 of 100,000 new entries were refused). conntrackd's
 * NetlinkEventsReliable makes the same trade and is off by default too. */
struct ct_end {
	struct ct_entry e;     /* the original tuple, the mark */
	uint8_t reply_src[16]; /* the reply's source (DNAT: the real peer) */
	uint16_t reply_sport;
	uint64_t pkts[2], bytes[2]; /* original, reply (nf_conntrack_acct) */
	uint64_t start_ns, stop_ns; /* wall clock (nf_conntrack_timestamp) */
	int have_acct, have_ts;
};

struct ct_events_stats {
	uint64_t events;   /* destroy events read */
	uint64_t overruns; /* ENOBUFS on the socket */
	uint64_t lost;	   /* events lost (not reliable): the socket's drops */
	int reliable;
};

struct ct_events;

/* Returns NULL with @err set. @rcvbuf: the socket's buffer (bytes). */
struct ct_events *ct_events_open(int rcvbuf, int reliable, char *err,
				 size_t errlen);
void ct_events_close(struct ct_events *c);
int ct_events_fd(const struct ct_events *c);
/* Reads what is ready (bounded), @fn per destroy event. Returns the
 * overruns met (each one also counted). */
unsigned ct_events_run(struct ct_events *c,
		       void (*fn)(void *ctx, const struct ct_end *e),
		       void *ctx);
void ct_events_get_stats(const struct ct_events *c,
			 struct ct_events_stats *s); /* NULL: zeros */

#endif
