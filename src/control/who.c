/* who.c - the identity verbs (who.h): who is behind an address, and the
 * DHCP server's leases. */
#include "control/who.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/status.h"
#include "core/lpm.h"
#include "core/pkt.h"
#include "daemon/daemon_int.h"
#include "daemon/identity.h"
#include "daemon/runtime.h"
#include "identity/idtab.h"

#define WHO_SHOWN 4096 /* lines in one reply; the count says the rest */

static const char *source_name(uint8_t s)
{
	return s == ID_SRC_DHCP ? "radius+dhcp" : "radius";
}

static const char *from_name(uint8_t f)
{
	switch (f) {
	case ID_GROUPS_RADIUS:
		return "radius";
	case ID_GROUPS_LDAP:
		return "ldap";
	case ID_GROUPS_PENDING:
		return "pending";
	default:
		return "none";
	}
}

/* @s with what a terminal or a parser would trip on replaced by '?'. */
static char *plain(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] =
			(unsigned char)s[i] < 0x21 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

struct who_ctx {
	struct daemon *d;
	struct ctl_req *r;
	int json;
	unsigned shown, total;
	uint64_t now;
};

static void who_line(struct who_ctx *x, const uint8_t addr[16], uint8_t plen,
		     const struct id_rec *r)
{
	struct policy_ident pi = { r->groups };
	const struct policy *p = x->d->run.pol;
	uint16_t di = policy_dept_for(p, addr, &pi);
	char a[80], u[2 * ID_USER_MAX], g[600], gq[1300], uq[600];
	uint64_t age = x->now > r->since_wall_ms
			       ? (x->now - r->since_wall_ms) / 1000
			       : 0;
	const char *q;

	pkt_addr_format(addr, 0, a, sizeof(a));
	if (plen < 128 && !pkt_addr_is_v4(addr))
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", plen);
	if (!x->json) {
		id_rec_groups_text(r, g, sizeof(g));
		ctl_data(x->r,
			 "%s user %s mac %s groups %s department %s source %s "
			 "age %" PRIu64 "s",
			 a, plain(r->user, u, sizeof(u)),
			 r->mac[0] ? r->mac : "-",
			 g[0] ? plain(g, gq, sizeof(gq)) : "-",
			 p->depts[di].name, source_name(r->source), age);
		return;
	}
	gq[0] = '\0';
	for (q = r->groups; *q; q += strlen(q) + 1) {
		char one[600];

		status_json_str(one, sizeof(one), q);
		if (strlen(gq) + strlen(one) + 4 >= sizeof(gq))
			break;
		snprintf(gq + strlen(gq), sizeof(gq) - strlen(gq), "%s\"%s\"",
			 gq[0] ? "," : "", one);
	}
	status_json_str(uq, sizeof(uq), r->user);
	ctl_data(x->r,
		 "%s{\"address\":\"%s\",\"user\":\"%s\",\"mac\":\"%s\","
		 "\"groups\":[%s],\"groups_from\":\"%s\",\"department\":\"%s\","
		 "\"source\":\"%s\",\"age_s\":%" PRIu64 "}",
		 x->shown ? "," : "", a, uq, r->mac, gq,
		 from_name(r->groups_from), p->depts[di].name,
		 source_name(r->source), age);
}

static int who_each(void *ctx, const uint8_t addr[16], uint8_t plen,
		    const struct id_rec *r)
{
	struct who_ctx *x = ctx;

	x->total++;
	if (x->shown < WHO_SHOWN) {
		who_line(x, addr, plen, r);
		x->shown++;
	}
	return 0;
}

/* One address: who, or nobody and the department of its prefix. */
static void who_one(struct who_ctx *x, const char *arg)
{
	const struct id_snap *s = identity_snap(x->d);
	const struct policy *p = x->d->run.pol;
	const struct id_rec *r;
	struct lpm_prefix pf;
	char e[128];
	uint16_t di;

	if (lpm_prefix_parse(arg, &pf, NULL, e, sizeof(e)) != 0 ||
	    pf.plen != 128) {
		ctl_err(x->r, "usage",
			"who [ADDR] [json]: '%s' is not an "
			"address",
			arg);
		return;
	}
	r = id_snap_lookup(s, pf.addr);
	if (r) {
		if (x->json)
			ctl_data(x->r, "[");
		who_line(x, pf.addr, 128, r);
		if (x->json)
			ctl_data(x->r, "]");
		ctl_ok(x->r, "%s", "");
		return;
	}
	di = policy_dept_for(p, pf.addr, NULL);
	if (x->json)
		ctl_data(x->r,
			 "[{\"address\":\"%s\",\"user\":null,\"department\":"
			 "\"%s\"}]",
			 arg, p->depts[di].name);
	else
		ctl_data(x->r, "%s user - department %s (nobody known: %s)",
			 arg, p->depts[di].name,
			 di != policy_dept_of(p, pf.addr)
				 ? "its department requires identity"
				 : "by its address");
	ctl_ok(x->r, "%s", "");
}

void control_who(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	struct who_ctx x = { d, r, 0, 0, 0, runtime_clock_ms(1) };

	if (argc > 1 && !strcmp(argv[argc - 1], "json")) {
		x.json = 1;
		argc--;
	}
	if (argc > 2) {
		ctl_err(r, "usage", "who [ADDR] [json]");
		return;
	}
	if (argc == 2) {
		who_one(&x, argv[1]);
		return;
	}
	if (x.json)
		ctl_data(r, "[");
	id_snap_foreach(identity_snap(d), who_each, &x);
	if (x.json)
		ctl_data(r, "]");
	else if (x.total > x.shown)
		ctl_data(r, "... %u addresses, %u shown", x.total, x.shown);
	else if (!x.total)
		ctl_data(r, "nobody known%s",
			 d->ident ? ""
				  : " (no identity source: --radius-listen)");
	ctl_ok(r, "%s", "");
}

void control_lease(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	int add = !strcmp(argv[1], "add");
	unsigned long secs = 0;
	char err[256], *end;

	if (add && argc == 5) {
		errno = 0;
		secs = strtoul(argv[4], &end, 10);
		if (*end || !secs || errno || secs > 4294967295UL) {
			ctl_err(r, "usage",
				"lease add ADDR MAC [SECONDS]: '%s' is not 1 "
				"to 4294967295 seconds",
				argv[4]);
			return;
		}
		/* Kea's infinite lifetime (0xffffffff) and the like: ten
		 * years, which the table can count in milliseconds */
		if (secs > 86400UL * 3650)
			secs = 86400UL * 3650;
	} else if (add) {
		secs = 86400;
	}
	if (identity_lease(d, (long)ctl_req_uid(r), argv[2],
			   argc > 3 ? argv[3] : "", (unsigned)secs, add, err,
			   sizeof(err)) != 0) {
		ctl_err(r, "refused", "%s", err);
		return;
	}
	ctl_ok(r, "lease %s %s", add ? "added" : "ended", argv[2]);
}
