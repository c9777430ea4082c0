/* ctnetlink over libmnl (ct.h): a dump socket read from the event loop,
 * and a second socket for the rewrites, so replies to the rewrites never
 * mix with the dump. A rewrite carries the entry's original tuple as the
 * dump gave it, and the whole new mark (skyfence's bits changed, the others
 * as dumped), which needs no CTA_MARK_MASK support. */
#include "skyfence/ct.h"
#include "skyfence/nlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
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

/* Fills @e from a CTA_TUPLE_ORIG. Returns 0 if it had addresses. */
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
