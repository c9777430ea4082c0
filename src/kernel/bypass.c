/* nfacct counters over libmnl (see skyfence/bypass.h). nfnetlink_acct is
 * per network namespace, like the rules that feed it. */
#include "kernel/bypass.h"
#include "kernel/nlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_acct.h>

/* A dump of a few objects fits in one receive of this size. */
#define RX_SIZE (64 * 1024)
/* recv() calls per bypass_run(), so a flood of messages cannot hold the
 * event loop */
#define RECV_BUDGET 8

struct bypass {
	struct mnl_socket *nl;
	uint32_t seq;
	char *rx;
	unsigned n;
	struct bypass_counter c[BYPASS_MAX];
	int nostate_seen;
	uint64_t nostate_pkts;
	int allowonly_seen;
	uint64_t allowonly_pkts;
};

struct bypass *bypass_open(char *err, size_t errlen)
{
	struct bypass *b = calloc(1, sizeof(*b));

	if (!b || !(b->rx = malloc(RX_SIZE))) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto err;
	}
	b->nl = nlsock_open("nfacct", err, errlen);
	if (!b->nl)
		goto err;
	b->seq = (uint32_t)time(NULL);
	return b;
err:
	bypass_close(b);
	return NULL;
}

void bypass_close(struct bypass *b)
{
	if (!b)
		return;
	if (b->nl)
		mnl_socket_close(b->nl);
	free(b->rx);
	free(b);
}

int bypass_fd(const struct bypass *b)
{
	return mnl_socket_get_fd(b->nl);
}

void bypass_poll(struct bypass *b)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ACCT << 8) | NFNL_MSG_ACCT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++b->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	/* a failed send leaves the counters as they were; the next tick asks
	 * again */
	mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len);
}

struct run_ctx {
	struct bypass *b;
	uint64_t now_ms, grew;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NFACCT_MAX) < 0)
		return MNL_CB_OK;
	if ((type == NFACCT_PKTS || type == NFACCT_BYTES) &&
	    mnl_attr_validate(a, MNL_TYPE_U64) < 0)
		return MNL_CB_OK;
	if (type == NFACCT_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct run_ctx *rc = data;
	struct bypass *b = rc->b;
	const struct nlattr *tb[NFACCT_MAX + 1] = { NULL };
	const char *name;
	uint64_t pkts, bytes;
	unsigned i;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 ||
	    !tb[NFACCT_NAME] || !tb[NFACCT_PKTS] || !tb[NFACCT_BYTES])
		return MNL_CB_OK;
	name = mnl_attr_get_str(tb[NFACCT_NAME]);
	/* the kernel sends both in network byte order */
	pkts = be64toh(mnl_attr_get_u64(tb[NFACCT_PKTS]));
	bytes = be64toh(mnl_attr_get_u64(tb[NFACCT_BYTES]));
	if (strcmp(name, NOSTATE_ACCT) == 0) {
		b->nostate_seen = 1;
		b->nostate_pkts = pkts;
		return MNL_CB_OK;
	}
	if (strcmp(name, ALLOWONLY_ACCT) == 0) {
		b->allowonly_seen = 1;
		b->allowonly_pkts = pkts;
		return MNL_CB_OK;
	}
	if (strncmp(name, BYPASS_PREFIX, strlen(BYPASS_PREFIX)) != 0)
		return MNL_CB_OK;
	name += strlen(BYPASS_PREFIX);
	for (i = 0; i < b->n && strcmp(b->c[i].queue, name) != 0; i++)
		;
	if (i == b->n) {
		if (b->n == BYPASS_MAX)
			return MNL_CB_OK;
		b->n++;
		snprintf(b->c[i].queue, sizeof(b->c[i].queue), "%s", name);
	} else if (pkts > b->c[i].pkts) {
		rc->grew += pkts - b->c[i].pkts;
		b->c[i].grew_ms = rc->now_ms;
	}
	b->c[i].pkts = pkts;
	b->c[i].bytes = bytes;
	return MNL_CB_OK;
}

uint64_t bypass_run(struct bypass *b, uint64_t now_ms)
{
	struct run_ctx rc = { b, now_ms, 0 };
	int budget = RECV_BUDGET;

	while (budget-- > 0) {
		int n = (int)mnl_socket_recvfrom(b->nl, b->rx, RX_SIZE);

		if (n <= 0)
			break;
		/* replies to an older request are as good as any */
		mnl_cb_run(b->rx, (size_t)n, 0, mnl_socket_get_portid(b->nl),
			   msg_cb, &rc);
	}
	return rc.grew;
}

unsigned bypass_get(const struct bypass *b, struct bypass_counter *out,
		    unsigned max)
{
	unsigned n = b->n < max ? b->n : max;

	memcpy(out, b->c, n * sizeof(*out));
	return n;
}

int bypass_nostate(const struct bypass *b, uint64_t *pkts)
{
	*pkts = b->nostate_pkts;
	return b->nostate_seen;
}

int bypass_allowonly(const struct bypass *b, uint64_t *flows)
{
	*flows = b->allowonly_pkts;
	return b->allowonly_seen;
}

uint64_t bypass_total(const struct bypass *b, uint64_t now_ms,
		      uint64_t within_ms, int *growing)
{
	uint64_t t = 0;
	unsigned i;

	*growing = 0;
	for (i = 0; i < b->n; i++) {
		t += b->c[i].pkts;
		if (b->c[i].grew_ms && now_ms - b->c[i].grew_ms <= within_ms)
			*growing = 1;
	}
	return t;
}
