/* sf-ctfill: N conntrack entries at once, through ctnetlink, for the
 * audit's "entries expiring at once" test.
 *
 *   sf-ctfill COUNT MARK TIMEOUT_S
 *
 * UDP entries 198.51.100.1-.250:SPORT -> 203.0.113.1-.250:DPORT (every
 * entry its own tuple), with conntrack mark MARK and TIMEOUT_S seconds to
 * live, so they all expire together. Prints "created=N failed=F". Run it
 * in the namespace whose table it fills. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

static void tuple(struct nlmsghdr *h, uint16_t type, uint32_t src, uint32_t dst,
		  uint16_t sp, uint16_t dp)
{
	struct nlattr *t = mnl_attr_nest_start(h, type), *n;

	n = mnl_attr_nest_start(h, CTA_TUPLE_IP);
	mnl_attr_put_u32(h, CTA_IP_V4_SRC, src);
	mnl_attr_put_u32(h, CTA_IP_V4_DST, dst);
	mnl_attr_nest_end(h, n);
	n = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(h, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(h, CTA_PROTO_SRC_PORT, htons(sp));
	mnl_attr_put_u16(h, CTA_PROTO_DST_PORT, htons(dp));
	mnl_attr_nest_end(h, n);
	mnl_attr_nest_end(h, t);
}

int main(int argc, char **argv)
{
	static char buf[1u << 20], rx[1u << 16];
	unsigned long count, mark, timeout, i, created = 0, failed = 0;
	unsigned long sent = 0;
	struct mnl_socket *nl;
	size_t off = 0;
	uint32_t seq = (uint32_t)time(NULL);

	if (argc != 4) {
		fprintf(stderr, "usage: sf-ctfill COUNT MARK TIMEOUT_S\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 0);
	mark = strtoul(argv[2], NULL, 0);
	timeout = strtoul(argv[3], NULL, 0);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("sf-ctfill: netlink");
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct nlmsghdr *h;
		struct nfgenmsg *g;
		uint32_t src = htonl(0xc6336400u + 1 + (uint32_t)(i % 250));
		uint32_t dst =
			htonl(0xcb007100u + 1 + (uint32_t)((i / 250) % 250));
		uint16_t sp = (uint16_t)(1024 + i / 62500);
		uint16_t dp = (uint16_t)(20000 + (i / 250) / 250);

		if (off + 512 > sizeof(buf)) {
			if (mnl_socket_sendto(nl, buf, off) < 0) {
				perror("sf-ctfill: send");
				return 1;
			}
			off = 0;
		}
		h = mnl_nlmsg_put_header(buf + off);
		h->nlmsg_type =
			(NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
		/* an ack only on failure: NLM_F_ACK off */
		h->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
		h->nlmsg_seq = ++seq;
		g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
		g->nfgen_family = AF_INET;
		g->version = NFNETLINK_V0;
		g->res_id = 0;
		tuple(h, CTA_TUPLE_ORIG, src, dst, sp, dp);
		tuple(h, CTA_TUPLE_REPLY, dst, src, dp, sp);
		mnl_attr_put_u32(h, CTA_TIMEOUT, htonl((uint32_t)timeout));
		mnl_attr_put_u32(h, CTA_MARK, htonl((uint32_t)mark));
		off += h->nlmsg_len;
		sent++;
		/* read errors as they come: the socket never fills */
		if (i % 1000 == 999 || i + 1 == count) {
			int n;

			if (off && mnl_socket_sendto(nl, buf, off) < 0) {
				perror("sf-ctfill: send");
				return 1;
			}
			off = 0;
			while ((n = (int)recv(mnl_socket_get_fd(nl), rx,
					      sizeof(rx), MSG_DONTWAIT)) > 0) {
				const struct nlmsghdr *r = (const void *)rx;

				for (; mnl_nlmsg_ok(r, n);
				     r = mnl_nlmsg_next(r, &n))
					if (r->nlmsg_type == NLMSG_ERROR &&
					    ((const struct nlmsgerr *)
						     mnl_nlmsg_get_payload(r))
						    ->error)
						failed++;
			}
		}
	}
	created = sent - failed;
	printf("created=%lu failed=%lu\n", created, failed);
	mnl_socket_close(nl);
	return failed ? 1 : 0;
}
