/* The only user of libnetfilter_queue. Packets come in by recvmmsg(), up
 * to RX_BATCH a call; the verdicts of one receive turn go to the kernel in
 * one sendto() (netlink processes every message of a send in order), and
 * a run of consecutive packet ids with the same verdict and mark goes as
 * one NFQNL_MSG_VERDICT_BATCH message: the kernel then finds and reinjects
 * them in one pass instead of parsing and looking up one message each. A
 * batch verdict applies to every packet of the queue up to its id, so it is
 * sent only while no packet below the run waits for a verdict: none held by
 * the shaper (queue_defer) and none whose id skyfenced could not read. */
#define _GNU_SOURCE /* recvmmsg */
#include "kernel/queue.h"
#include "kernel/nlsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* A packet (copy range 0xffff, GSO super-packets included) plus headers:
 * 8 KiB, libmnl's MNL_SOCKET_BUFFER_SIZE at most, as a constant (that
 * macro calls sysconf() twice each time it is read, and a receive turn
 * read it for every buffer: a quarter of a microsecond a packet) */
#define RX_SIZE (0xffff + 8192)
#define TX_SIZE (64 * 1024)
/* One verdict message with a mark attribute is under 64 bytes. */
#define VERDICT_ROOM 64
/* Messages per queue_receive(), so signals and timers are not starved. */
#define RECV_BUDGET 64
/* Messages per recvmmsg(): each needs a buffer of RX_SIZE (a copy of a
 * GSO super-packet does not fit a smaller one), 1.1 MiB for 16, touched
 * only as deep as a queue's bursts go. */
#define RX_BATCH 16
/* Where each of them starts: netlink messages are 4-byte aligned, and so
 * must every buffer be (RX_SIZE is odd) */
#define RX_STRIDE (((size_t)RX_SIZE + 4095) & ~(size_t)4095)

/* Verdicts not written yet: ids first .. last, all @verdict and @mark. */
struct run {
	uint32_t first, last, mark;
	int verdict, set_mark, n;
};

struct queue {
	struct mnl_socket *nl;
	uint16_t num;
	char *rx, *tx;
	size_t txlen;
	uint32_t cur_id;
	int cur_done;
	struct run run;
	/* packets received and not verdicted in the turn's order: held by
	 * the shaper; @nobatch: a packet may wait in the kernel with no
	 * verdict coming (a message whose id skyfenced could not read, a
	 * send of verdicts that failed), below every later id: a batch
	 * would give it its own verdict, so none is sent any more */
	uint32_t held;
	int nobatch;
	uint32_t clear_mark;
	int backlog; /* the last turn stopped at its budget, packets waiting */
	struct queue_stats st;
};

static int wait_ack(struct queue *q, uint32_t seq, char *err, size_t errlen)
{
	struct pollfd pfd = { mnl_socket_get_fd(q->nl), POLLIN, 0 };
	int n;

	for (;;) {
		if (poll(&pfd, 1, 2000) <= 0) {
			snprintf(err, errlen, "no answer from nfnetlink_queue");
			return -ETIMEDOUT;
		}
		n = (int)mnl_socket_recvfrom(q->nl, q->rx, RX_SIZE);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, errlen, "recv: %s", strerror(errno));
			return -errno;
		}
		n = mnl_cb_run(q->rx, (size_t)n, seq,
			       mnl_socket_get_portid(q->nl), NULL, NULL);
		if (n == MNL_CB_ERROR) {
			int e = errno;

			snprintf(
				err, errlen, "binding queue %u: %s%s", q->num,
				strerror(e),
				e == EPERM || e == EBUSY
					? " (is another skyfenced or NFQUEUE reader bound to it?)"
					: "");
			return -e;
		}
		if (n == MNL_CB_STOP || n == MNL_CB_OK)
			return 0;
	}
}

struct queue *queue_open(const struct queue_opts *o, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct nlmsghdr *nlh;
	uint32_t flags, seq = 1;
	int fd, one = 1, rcv = (int)o->rcvbuf;

	if (!q) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	q->num = o->num;
	q->clear_mark = o->clear_mark;
	q->rx = malloc(RX_STRIDE * RX_BATCH);
	q->tx = malloc(TX_SIZE);
	if (!q->rx || !q->tx) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto err;
	}
	q->nl = nlsock_open("nfnetlink_queue", err, errlen);
	if (!q->nl)
		goto err;
	fd = mnl_socket_get_fd(q->nl);
	/* SO_RCVBUFFORCE goes past rmem_max (CAP_NET_ADMIN, which we have). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* ENOBUFS only says packets were lost on the kernel side; the loss is
	 * visible in /proc/net/netfilter/nfnetlink_queue, and the socket
	 * stays usable. */
	mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	/* Bind, copy mode, queue length and flags in one message: the kernel
	 * applies them in that order, and its ack precedes any packet. */
	nlh = nfq_nlmsg_put(q->tx, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, o->maxlen);
	flags = (o->gso ? NFQA_CFG_F_GSO : 0) |
		(o->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "binding queue %u: %s", q->num,
			 strerror(errno));
		goto err;
	}
	if (wait_ack(q, seq, err, errlen) != 0)
		goto err;
	return q;
err:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->nl) {
		queue_flush(q);
		mnl_socket_close(q->nl);
	}
	free(q->rx);
	free(q->tx);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

/* The send buffer to the kernel, which takes every message of it or none
 * (the send fails before any is read): one retry of a send the kernel
 * refused for want of memory; then its packets stay in the queue with no
 * verdict, counted, and batching ends on this queue. */
static int send_tx(struct queue *q)
{
	int tries = 2, e;

	if (q->txlen == 0)
		return 0;
	q->st.sends++;
	while (mnl_socket_sendto(q->nl, q->tx, q->txlen) < 0) {
		e = errno;
		if (--tries > 0 &&
		    (e == EINTR || e == ENOBUFS || e == ENOMEM || e == EAGAIN))
			continue;
		/* with fail-open and bypass the flows go on, and the
		 * counter says it happened */
		q->st.send_errors++;
		q->nobatch = 1;
		q->txlen = 0;
		return -e;
	}
	q->txlen = 0;
	return 0;
}

/* One verdict message, or a batch one for ids up to @id. */
static void put_verdict(struct queue *q, uint16_t type, uint32_t id,
			int verdict, int set_mark, uint32_t mark)
{
	struct nlmsghdr *nlh;

	if (q->txlen + VERDICT_ROOM > TX_SIZE)
		send_tx(q);
	nlh = nfq_nlmsg_put(q->tx + q->txlen, type, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (set_mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	q->txlen += MNL_ALIGN(nlh->nlmsg_len);
}

/* The pending run into the send buffer: one batch message when nothing
 * below it waits (see the top of the file), else one message a packet. */
static void write_run(struct queue *q)
{
	struct run r = q->run;
	uint32_t id;

	if (r.n == 0)
		return;
	q->run.n = 0; /* taken: a send on the way does not write it again */
	if (r.n > 1 && q->held == 0 && !q->nobatch) {
		put_verdict(q, NFQNL_MSG_VERDICT_BATCH, r.last, r.verdict,
			    r.set_mark, r.mark);
		q->st.batches++;
	} else {
		for (id = r.first; id != r.last + 1; id++)
			put_verdict(q, NFQNL_MSG_VERDICT, id, r.verdict,
				    r.set_mark, r.mark);
	}
}

void queue_verdict(struct queue *q, uint32_t id, int verdict, int set_mark,
		   uint32_t mark)
{
	struct run *r = &q->run;

	q->st.verdicts++;
	if (id == q->cur_id)
		q->cur_done = 1;
	if (r->n > 0 && id == r->last + 1 && verdict == r->verdict &&
	    set_mark == r->set_mark && (!set_mark || mark == r->mark)) {
		r->last = id;
		r->n++;
		return;
	}
	write_run(q);
	r->first = r->last = id;
	r->verdict = verdict;
	r->set_mark = set_mark;
	r->mark = mark;
	r->n = 1;
}

void queue_verdict_held(struct queue *q, uint32_t id, int verdict,
			uint32_t mark)
{
	/* after the run: a held packet's id is below or above it, and its
	 * own message sits before any batch that could cover it */
	write_run(q);
	if (q->held > 0)
		q->held--;
	q->st.verdicts++;
	put_verdict(q, NFQNL_MSG_VERDICT, id, verdict, 1, mark);
}

void queue_defer(struct queue *q, uint32_t id)
{
	if (id == q->cur_id)
		q->cur_done = 1;
	q->held++;
}

int queue_flush(struct queue *q)
{
	write_run(q);
	return send_tx(q);
}

static void handle_packet(struct queue *q, const struct nlmsghdr *nlh,
			  queue_pkt_fn fn, void *ctx)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct queue_pkt p;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		q->st.malformed++;
		q->nobatch = 1;
		return;
	}
	memset(&p, 0, sizeof(p));
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	p.id = ntohl(ph->packet_id);
	p.hw_proto = ntohs(ph->hw_protocol);
	if (attr[NFQA_PAYLOAD]) {
		p.payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	if (attr[NFQA_MARK])
		p.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_IFINDEX_INDEV])
		p.indev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (attr[NFQA_IFINDEX_OUTDEV])
		p.outdev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	if (attr[NFQA_SKB_INFO]) {
		uint32_t info = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));

		p.gso = (info & NFQA_SKB_GSO) != 0;
		p.csum_partial = (info & NFQA_SKB_CSUMNOTREADY) != 0;
	}
	q->st.packets++;
	q->cur_id = p.id;
	q->cur_done = 0;
	fn(ctx, &p);
	if (!q->cur_done) {
		q->st.missed++;
		queue_verdict(q, p.id, QUEUE_ACCEPT, 1,
			      p.mark & ~q->clear_mark);
	}
}

/* The messages of one datagram: packets to @fn, error replies counted. */
static void dispatch(struct queue *q, const char *buf, int len, queue_pkt_fn fn,
		     void *ctx)
{
	const struct nlmsghdr *nlh;

	for (nlh = (const struct nlmsghdr *)(const void *)buf;
	     mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (e->error)
				q->st.kernel_errors++;
		} else if (NFNL_SUBSYS_ID(nlh->nlmsg_type) ==
				   NFNL_SUBSYS_QUEUE &&
			   NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET) {
			handle_packet(q, nlh, fn, ctx);
		}
	}
}

int queue_receive(struct queue *q, queue_pkt_fn fn, void *ctx)
{
	struct mmsghdr mm[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_nl sa[RX_BATCH];
	int budget = RECV_BUDGET, fd = mnl_socket_get_fd(q->nl), i, n;
	uint64_t before = q->st.packets;

	q->backlog = 0;
	while (budget > 0) {
		int want = budget < RX_BATCH ? budget : RX_BATCH;

		memset(mm, 0, sizeof(mm[0]) * (size_t)want);
		for (i = 0; i < want; i++) {
			iov[i].iov_base = q->rx + (size_t)i * RX_STRIDE;
			iov[i].iov_len = RX_SIZE;
			mm[i].msg_hdr.msg_name = &sa[i];
			mm[i].msg_hdr.msg_namelen = sizeof(sa[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, (unsigned)want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS) {
				budget--;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			queue_flush(q);
			return -errno;
		}
		for (i = 0; i < n; i++) {
			/* what libmnl's recvfrom refuses: a cut message, one
			 * not from the kernel */
			if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    mm[i].msg_hdr.msg_namelen != sizeof(sa[i]) ||
			    sa[i].nl_pid != 0) {
				q->st.malformed++;
				q->nobatch = 1;
				continue;
			}
			dispatch(q, iov[i].iov_base, (int)mm[i].msg_len, fn,
				 ctx);
		}
		budget -= n;
		if (q->txlen + (RX_BATCH + 16) * VERDICT_ROOM > TX_SIZE)
			queue_flush(q);
		if (n < want)
			break; /* the socket is empty */
	}
	q->backlog = budget <= 0;
	queue_flush(q);
	return (int)(q->st.packets - before);
}

int queue_backlog(const struct queue *q, uint32_t *waiting, uint32_t *rcvbuf)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t l = sizeof(mi);

	*waiting = *rcvbuf = 0;
	if (!q->backlog)
		return 0;
	memset(mi, 0, sizeof(mi));
	if (getsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_MEMINFO, mi,
		       &l) != 0)
		return 1;
	*waiting = mi[SK_MEMINFO_RMEM_ALLOC];
	*rcvbuf = mi[SK_MEMINFO_RCVBUF];
	return 1;
}

void queue_get_stats(const struct queue *q, struct queue_stats *s)
{
	*s = q->st;
}
