/* NFQUEUE through libnetfilter_queue's libmnl-based API: bind, receive,
 * batched verdicts. The only user of libnetfilter_queue (with ct.c, libmnl).
 */
#ifndef SKYFENCE_QUEUE_H
#define SKYFENCE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Verdicts, equal to the kernel's NF_* values. */
#define QUEUE_DROP 0
#define QUEUE_ACCEPT 1
#define QUEUE_REPEAT 4

struct queue_opts {
	uint16_t num;	     /* queue number */
	uint32_t maxlen;     /* kernel queue length */
	uint32_t rcvbuf;     /* socket receive buffer, bytes */
	int fail_open;	     /* a full queue accepts instead of dropping */
	int gso;	     /* take GSO super-packets whole (else the kernel
			  * segments them before queueing) */
	uint32_t clear_mark; /* bits the safety net's accept clears */
};

/* Throttled flows come to their own queue, this far above the main one,
 * without GSO: the shaper then holds and drops single segments, and TCP
 * recovers from a loss by fast retransmit instead of a time-out (a lost
 * 64 KB super-packet is ~45 segments). Main queues are below it. */
#define QUEUE_THROTTLE_OFFSET 32768u
/* Fail-closed departments' flows come to queues of their own, this far
 * above the main one (and above the throttle queue), bound without
 * NFQA_CFG_F_FAIL_OPEN and fed by rules without --queue-bypass. */
#define QUEUE_FAILCLOSED_OFFSET 16384u
/* A daemon's queues, by index: bit 0 throttle, bit 1 fail-closed. */
#define QUEUE_KINDS 4
#define QUEUE_KIND_THROTTLE 1u
#define QUEUE_KIND_FAILCLOSED 2u
/* The queue number of kind @k for main queue @base. */
#define QUEUE_NUMBER(base, k)                                      \
	((unsigned)(base) +                                        \
	 (((k)&QUEUE_KIND_THROTTLE) ? QUEUE_THROTTLE_OFFSET : 0) + \
	 (((k)&QUEUE_KIND_FAILCLOSED) ? QUEUE_FAILCLOSED_OFFSET : 0))

struct queue_pkt {
	uint32_t id;
	const uint8_t *payload; /* the IP packet; valid during the callback */
	uint32_t len;
	uint32_t mark;		/* skb mark (0 if the kernel sent none) */
	uint16_t hw_proto;	/* ETH_P_IP / ETH_P_IPV6 */
	uint32_t indev, outdev; /* ifindex, 0 if unknown */
	uint8_t gso;		/* a GSO super-packet */
	uint8_t csum_partial;	/* its checksum is completed on the way out
				 * (NFQA_SKB_CSUMNOTREADY) */
};

struct queue_stats {
	uint64_t packets, verdicts, sends, send_errors;
	uint64_t batches;	/* batch verdict messages (a run of ids each) */
	uint64_t kernel_errors; /* error replies, e.g. a verdict for an unknown id */
	uint64_t malformed; /* messages without packet id */
	uint64_t missed; /* callback gave no verdict: accepted by the queue */
};

/* Called once per packet; must call queue_verdict() for @p->id. A packet
 * left without a verdict is accepted (and counted), its mark given back
 * without the opts' clear_mark bits. */
typedef void (*queue_pkt_fn)(void *ctx, const struct queue_pkt *p);

struct queue;

/* Binds queue @o->num (copy mode, GSO and fail-open as asked, raised maxlen,
 * large receive buffer, NETLINK_NO_ENOBUFS). Returns NULL and a message in
 * @err on failure (EBUSY: another process holds the queue). */
struct queue *queue_open(const struct queue_opts *o, char *err, size_t errlen);
void queue_close(struct queue *q);
int queue_fd(const struct queue *q);

/* Reads and dispatches everything pending, then sends the verdicts.
 * Returns the number of packets, or -errno on a socket error. */
int queue_receive(struct queue *q, queue_pkt_fn fn, void *ctx);
/* Whether the last queue_receive stopped at its budget with packets still
 * waiting; then *@waiting is what the socket holds now, and *@rcvbuf its
 * size, in bytes (SO_MEMINFO; both 0 if that read failed). */
int queue_backlog(const struct queue *q, uint32_t *waiting, uint32_t *rcvbuf);

/* Queues a verdict for the packet being handled or one received before it
 * in the same turn, in the order received (sent by queue_receive, or by
 * queue_flush; consecutive ones alike go as one batch). @mark is set on
 * the packet if @set_mark. */
void queue_verdict(struct queue *q, uint32_t id, int verdict, int set_mark,
		   uint32_t mark);
int queue_flush(struct queue *q);

/* The packet being handled gets its verdict later (the shaper holds it):
 * queue_verdict_held() for its id comes after this callback returns. While
 * a packet is held no batch verdict is sent (one would cover it). */
void queue_defer(struct queue *q, uint32_t id);
/* The verdict for a packet queue_defer() held. */
void queue_verdict_held(struct queue *q, uint32_t id, int verdict,
			uint32_t mark);

void queue_get_stats(const struct queue *q, struct queue_stats *s);

#endif
