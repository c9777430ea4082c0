/* The kernel's count of packets it passed without skyfenced: the SKYFENCE
 * chain sets the mark's queued bit on every packet it sends to NFQUEUE,
 * every verdict of skyfenced clears it, and a rule after the forward hook
 * counts the packets that still carry it in nfacct objects named
 * "skyfence-bypass-QUEUE" (skyfence-rules.sh). Such a packet was accepted
 * by the kernel on a full queue (NFQA_CFG_F_FAIL_OPEN) or by
 * --queue-bypass while no daemon was bound. Besides, the counters of the
 * --ha INVALID drop and of the flows of allow-only departments, which
 * the kernel passes uninspected by design. nfacct over libmnl: the only
 * nfnetlink_acct user.
 */
#ifndef SKYFENCE_BYPASS_H
#define SKYFENCE_BYPASS_H

#include <stddef.h>
#include <stdint.h>

#define BYPASS_PREFIX "skyfence-bypass-"
#define BYPASS_MAX 8 /* counters followed (one per queue path) */
/* The nfacct object of `skyfence-rules.sh --ha`'s rule that drops INVALID
 * packets: on an HA backup, the packets of TCP flows it has no conntrack
 * entry for (conntrackd down or behind), dropped, not inspected mid-way. */
#define NOSTATE_ACCT "skyfence-nostate"
/* The nfacct object of skyfence-rules.sh's SKYFENCE-ALLOW chain: the
 * first packet of every flow a host of an allow-only department opened,
 * which the kernel passed uninspected (fcset.h, mark.h
 * MARK_UNINSPECTED): its packets are the flows. */
#define ALLOWONLY_ACCT "skyfence-allowonly"

struct bypass_counter {
	char queue[32]; /* the name after BYPASS_PREFIX: "0", "32768", "0-1" */
	uint64_t pkts, bytes;
	uint64_t grew_ms; /* when pkts last grew (monotonic ms), 0: never */
};

struct bypass;

/* Returns NULL and a message in @err if nfnetlink_acct cannot be used. */
struct bypass *bypass_open(char *err, size_t errlen);
void bypass_close(struct bypass *b);
int bypass_fd(const struct bypass *b);
/* Asks the kernel for every counter (a dump, answered on the fd). */
void bypass_poll(struct bypass *b);
/* Reads what is ready. Returns the packets the counters grew by (0 the
 * first time a counter is seen: it counts from before this daemon). */
uint64_t bypass_run(struct bypass *b, uint64_t now_ms);
/* The counters seen so far; returns how many. */
unsigned bypass_get(const struct bypass *b, struct bypass_counter *out,
		    unsigned max);
/* The NOSTATE_ACCT counter: returns 0 if the kernel has none (no --ha). */
int bypass_nostate(const struct bypass *b, uint64_t *pkts);
/* The ALLOWONLY_ACCT counter's packets (new flows): returns 0 if the
 * kernel has none (rules of an older skyfence-rules.sh). */
int bypass_allowonly(const struct bypass *b, uint64_t *flows);
/* Sum of the counters, and whether any grew in the last @within_ms. */
uint64_t bypass_total(const struct bypass *b, uint64_t now_ms,
		      uint64_t within_ms, int *growing);

#endif
