/* ctnetlink over libmnl (ct.h): a dump socket read from the event loop,
 * and a second socket for the rewrites, so replies to the rewrites never
 * mix with the dump. A rewrite carries the entry's original tuple as the
 * dump gave it, and the whole new mark (skyfence's bits changed, the others
 * as dumped), which needs no CTA_MARK_MASK support. */
#include "kernel/ct.h"
#include "kernel/nlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

/* recv() calls per ct_run(): a bounded slice of the walk per wake-up */
#define RUN_BUDGET 8
#define BUF_SIZE (4 * 8192u)

struct ct {
	struct mnl_socket *dump, *upd;
	char *rx, *tx;
	size_t txlen;
	uint32_t seq;
	int running, again;
	struct ct_stats st;
};

struct ct *ct_open(char *err, size_t errlen)
{
	struct ct *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	c->rx = malloc(BUF_SIZE);
	c->tx = malloc(BUF_SIZE);
	c->dump = nlsock_open("ctnetlink", err, errlen);
	c->upd = c->dump ? nlsock_open("ctnetlink", err, errlen) : NULL;
	if (!c->rx || !c->tx || !c->upd) {
		if (!c->rx || !c->tx)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		ct_close(c);
		return NULL;
	}
	c->seq = (uint32_t)time(NULL);
	return c;
}

void ct_close(struct ct *c)
{
	if (!c)
		return;
	if (c->dump)
		mnl_socket_close(c->dump);
	if (c->upd)
		mnl_socket_close(c->upd);
	free(c->rx);
	free(c->tx);
	free(c);
}

int ct_fd(const struct ct *c)
{
	return mnl_socket_get_fd(c->dump);
}

static void start(struct ct *c)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++c->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC; /* every family */
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	if (mnl_socket_sendto(c->dump, nlh, nlh->nlmsg_len) < 0) {
		c->st.errors++;
		return;
	}
	c->running = 1;
	c->st.walks++;
}

void ct_walk(struct ct *c)
{
	if (!c)
		return;
	if (c->running)
		c->again = 1;
	else
		start(c);
}

static void flush_updates(struct ct *c)
{
	int n;

	if (c->txlen && mnl_socket_sendto(c->upd, c->tx, c->txlen) < 0)
		c->st.errors++;
	c->txlen = 0;
	/* errors for rewrites (an entry that ended meanwhile: ENOENT) */
	while ((n = (int)mnl_socket_recvfrom(c->upd, c->rx, BUF_SIZE)) > 0) {
		const struct nlmsghdr *h = (const void *)c->rx;

		for (; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n))
			if (h->nlmsg_type == NLMSG_ERROR &&
			    ((const struct nlmsgerr *)mnl_nlmsg_get_payload(h))
				    ->error)
				c->st.errors++;
	}
}

static void put_addr(const struct nlattr *a, uint8_t out[16], int v6)
{
	if (v6 && mnl_attr_get_payload_len(a) == 16) {
		memcpy(out, mnl_attr_get_payload(a), 16);
	} else if (!v6 && mnl_attr_get_payload_len(a) == 4) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, mnl_attr_get_payload(a), 4);
	}
}

/* Fills @e's addresses and ports from a tuple (CTA_TUPLE_ORIG or
 * _REPLY). Returns 0 if it had addresses. */
static int parse_tuple(const struct nlattr *t, struct ct_entry *e)
{
	const struct nlattr *a, *b;
	int have = 0;

	mnl_attr_for_each_nested(a, t)
	{
		if (mnl_attr_get_type(a) == CTA_TUPLE_IP) {
			mnl_attr_for_each_nested(b, a)
			{
				switch (mnl_attr_get_type(b)) {
				case CTA_IP_V4_SRC:
					put_addr(b, e->src, 0);
					have |= 1;
					break;
				case CTA_IP_V4_DST:
					put_addr(b, e->dst, 0);
					have |= 2;
					break;
				case CTA_IP_V6_SRC:
					put_addr(b, e->src, 1);
					have |= 1;
					break;
				case CTA_IP_V6_DST:
					put_addr(b, e->dst, 1);
					have |= 2;
					break;
				}
			}
		} else if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO) {
			mnl_attr_for_each_nested(b, a)
			{
				uint16_t t16 = mnl_attr_get_type(b);

				if (t16 == CTA_PROTO_NUM &&
				    mnl_attr_get_payload_len(b) >= 1)
					e->l4proto = mnl_attr_get_u8(b);
				else if (t16 == CTA_PROTO_SRC_PORT &&
					 mnl_attr_get_payload_len(b) >= 2)
					e->sport = ntohs(mnl_attr_get_u16(b));
				else if (t16 == CTA_PROTO_DST_PORT &&
					 mnl_attr_get_payload_len(b) >= 2)
					e->dport = ntohs(mnl_attr_get_u16(b));
			}
		}
	}
	return have == 3 ? 0 : -1;
}

static uint64_t be64(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a) >= 8 ? be64toh(mnl_attr_get_u64(a))
						: 0;
}

/* CTA_COUNTERS_* or CTA_TIMESTAMP: its two u64s. */
static void two_u64(const struct nlattr *n, uint16_t ta, uint16_t tb,
		    uint64_t *a, uint64_t *b)
{
	const struct nlattr *x;

	mnl_attr_for_each_nested(x, n)
	{
		if (mnl_attr_get_type(x) == ta)
			*a = be64(x);
		else if (mnl_attr_get_type(x) == tb)
			*b = be64(x);
	}
}

static void entry(struct ct *c, const struct nlmsghdr *h, ct_fn fn, void *ctx)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
	const struct nlattr *a, *orig = NULL, *zone = NULL;
	struct ct_entry e;
	struct nlmsghdr *u;
	struct nfgenmsg *ug;
	uint32_t mark;

	memset(&e, 0, sizeof(e));
	e.family = g->nfgen_family;
	mnl_attr_for_each(a, h, sizeof(*g))
	{
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			orig = a;
			break;
		case CTA_ZONE:
			zone = a;
			break;
		case CTA_MARK:
			if (mnl_attr_get_payload_len(a) >= 4)
				e.mark = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_TIMESTAMP: {
			uint64_t stop = 0;

			/* a finish rule keeps what it found running */
			two_u64(a, CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP,
				&e.start_ns, &stop);
			break;
		}
		}
	}
	if (!orig || parse_tuple(orig, &e) != 0)
		return;
	c->st.entries++;
	mark = e.mark;
	if (!fn(ctx, &e, &mark) || mark == e.mark)
		return;
	if (c->txlen + MNL_ALIGN(orig->nla_len) + 256 > BUF_SIZE)
		flush_updates(c);
	u = mnl_nlmsg_put_header(c->tx + c->txlen);
	u->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	u->nlmsg_flags = NLM_F_REQUEST; /* no CREATE: update only */
	u->nlmsg_seq = ++c->seq;
	ug = mnl_nlmsg_put_extra_header(u, sizeof(*ug));
	ug->nfgen_family = e.family;
	ug->version = NFNETLINK_V0;
	ug->res_id = 0;
	/* the tuple exactly as dumped: nested flag and all */
	memcpy((char *)u + u->nlmsg_len, orig, orig->nla_len);
	u->nlmsg_len += MNL_ALIGN(orig->nla_len);
	if (zone) {
		memcpy((char *)u + u->nlmsg_len, zone, zone->nla_len);
		u->nlmsg_len += MNL_ALIGN(zone->nla_len);
	}
	mnl_attr_put_u32(u, CTA_MARK, htonl(mark));
	c->txlen += u->nlmsg_len;
	c->st.rewritten++;
}

int ct_run(struct ct *c, ct_fn fn, void *ctx)
{
	int budget = RUN_BUDGET;

	while (c->running && budget--) {
		int n = (int)mnl_socket_recvfrom(c->dump, c->rx, BUF_SIZE);
		const struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* ENOBUFS and the like: this walk is lost; another */
			c->st.errors++;
			c->running = 0;
			c->again = 1;
			break;
		}
		h = (const void *)c->rx;
		for (; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				if (h->nlmsg_type == NLMSG_ERROR)
					c->st.errors++;
				c->running = 0;
				break;
			}
			if ((h->nlmsg_type & 0xff) == IPCTNL_MSG_CT_NEW &&
			    (h->nlmsg_type >> 8) == NFNL_SUBSYS_CTNETLINK)
				entry(c, h, fn, ctx);
		}
	}
	flush_updates(c);
	if (!c->running && c->again) {
		c->again = 0;
		start(c);
	}
	return c->running;
}

void ct_get_stats(const struct ct *c, struct ct_stats *s)
{
	if (!c) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = c->st;
	s->running = c->running;
}

/* ---- destroy events ---- */

/* events read per ct_events_run(): a slice, the rest next turn */
#define EVENTS_BUDGET 256

struct ct_events {
	struct mnl_socket *nl;
	char *rx;
	struct ct_events_stats st;
};

struct ct_events *ct_events_open(int rcvbuf, int reliable, char *err,
				 size_t errlen)
{
	struct ct_events *c = calloc(1, sizeof(*c));
	int on = 1, fd;

	if (!c || !(c->rx = malloc(BUF_SIZE))) {
		free(c);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	c->nl = mnl_socket_open2(NETLINK_NETFILTER,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!c->nl ||
	    mnl_socket_bind(c->nl, 1u << (NFNLGRP_CONNTRACK_DESTROY - 1),
			    MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "ctnetlink destroy events: %s",
			 strerror(errno));
		ct_events_close(c);
		return NULL;
	}
	fd = mnl_socket_get_fd(c->nl);
	/* beyond rmem_max: CAP_NET_ADMIN's to ask */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (reliable && setsockopt(fd, SOL_NETLINK, NETLINK_BROADCAST_ERROR,
				   &on, sizeof(on)) != 0) {
		snprintf(err, errlen,
			 "ctnetlink destroy events: reliable delivery "
			 "(NETLINK_BROADCAST_ERROR): %s",
			 strerror(errno));
		ct_events_close(c);
		return NULL;
	}
	c->st.reliable = reliable;
	return c;
}

void ct_events_close(struct ct_events *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->rx);
	free(c);
}

int ct_events_fd(const struct ct_events *c)
{
	return mnl_socket_get_fd(c->nl);
}

static int parse_end(const struct nlmsghdr *h, struct ct_end *d)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;
	struct ct_entry rep;
	int have_orig = 0;

	memset(d, 0, sizeof(*d));
	memset(&rep, 0, sizeof(rep));
	d->e.family = g->nfgen_family;
	mnl_attr_for_each(a, h, sizeof(*g))
	{
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			have_orig = parse_tuple(a, &d->e) == 0;
			break;
		case CTA_TUPLE_REPLY:
			if (parse_tuple(a, &rep) == 0) {
				memcpy(d->reply_src, rep.src, 16);
				d->reply_sport = rep.sport;
			}
			break;
		case CTA_MARK:
			if (mnl_attr_get_payload_len(a) >= 4)
				d->e.mark = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_COUNTERS_ORIG:
			two_u64(a, CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES,
				&d->pkts[0], &d->bytes[0]);
			d->have_acct = 1;
			break;
		case CTA_COUNTERS_REPLY:
			two_u64(a, CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES,
				&d->pkts[1], &d->bytes[1]);
			d->have_acct = 1;
			break;
		case CTA_TIMESTAMP:
			two_u64(a, CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP,
				&d->start_ns, &d->stop_ns);
			d->have_ts = d->start_ns != 0;
			break;
		}
	}
	return have_orig ? 0 : -1;
}

/* Events the kernel could not queue on the socket: its drop counter. */
static void count_drops(struct ct_events *c)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (!c->st.reliable &&
	    getsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_MEMINFO, mi,
		       &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(mi[0]))
		c->st.lost = mi[SK_MEMINFO_DROPS];
}

unsigned ct_events_run(struct ct_events *c,
		       void (*fn)(void *ctx, const struct ct_end *e), void *ctx)
{
	unsigned overruns = 0, budget = EVENTS_BUDGET;
	struct ct_end d;

	while (budget--) {
		int n = (int)mnl_socket_recvfrom(c->nl, c->rx, BUF_SIZE);
		const struct nlmsghdr *h;

		if (n < 0) {
			if (errno == ENOBUFS) {
				c->st.overruns++;
				overruns++;
				continue;
			}
			break; /* EAGAIN: all read */
		}
		h = (const void *)c->rx;
		for (; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
			if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK ||
			    (h->nlmsg_type & 0xff) != IPCTNL_MSG_CT_DELETE)
				continue;
			c->st.events++;
			if (parse_end(h, &d) == 0)
				fn(ctx, &d);
		}
	}
	count_drops(c);
	return overruns;
}

void ct_events_get_stats(const struct ct_events *c, struct ct_events_stats *s)
{
	if (!c) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = c->st;
}
