/* libipset: the fail-closed and the allow-only departments' sets
 * (fcset.h). */
#include "kernel/fcset.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libipset/ipset.h>

#include "policy/policy.h"

struct run {
	struct ipset *is;
	char *err;
	size_t errlen;
	int failed;
};

/* libipset's default error handlers exit the process: these record. */
static int on_custom_error(struct ipset *is, void *p, int status,
			   const char *msg, ...)
	__attribute__((format(printf, 4, 5)));

static int on_custom_error(struct ipset *is, void *p, int status,
			   const char *msg, ...)
{
	struct run *r = p;
	va_list ap;

	(void)is;
	if (status == IPSET_NO_PROBLEM)
		return 0;
	va_start(ap, msg);
	if (!r->failed)
		vsnprintf(r->err, r->errlen, msg, ap);
	va_end(ap);
	r->failed = 1;
	return -1;
}

static int on_standard_error(struct ipset *is, void *p)
{
	struct run *r = p;
	const char *m = ipset_session_report_msg(ipset_session(is));

	if (m && *m && !r->failed) {
		snprintf(r->err, r->errlen, "%s", m);
		r->failed = 1;
	}
	ipset_session_report_reset(ipset_session(is));
	return r->failed ? -1 : 0;
}

static int on_print(struct ipset_session *s, void *p, const char *fmt, ...)
{
	(void)s;
	(void)p;
	(void)fmt;
	return 0;
}

static int cmd(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int cmd(struct run *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (r->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ipset_parse_line(r->is, line) != 0 && !r->failed) {
		snprintf(r->err, r->errlen, "ipset %s: failed", line);
		r->failed = 1;
	}
	return r->failed ? -1 : 0;
}

/* hash:net takes prefix lengths from 1: a /0 goes in as its two halves
 * (written first, so a /1 of another department written after it
 * replaces its half: -exist rewrites the nomatch flag). */
static void add_prefix(struct run *r, const char *set, const char *pfx,
		       int nomatch)
{
	const char *flag = nomatch ? " nomatch" : "";
	const char *slash = strrchr(pfx, '/');

	if (slash && strcmp(slash, "/0") == 0) {
		int v6 = strchr(pfx, ':') != NULL;

		cmd(r, "add %s %s -exist%s", set, v6 ? "::/1" : "0.0.0.0/1",
		    flag);
		cmd(r, "add %s %s -exist%s", set,
		    v6 ? "8000::/1" : "128.0.0.0/1", flag);
		return;
	}
	cmd(r, "add %s %s -exist%s", set, pfx, flag);
}

static int is_fail_closed(const struct policy *p, uint16_t di)
{
	return p->depts[di].fail_closed;
}

static int is_inspected(const struct policy *p, uint16_t di)
{
	return !policy_dept_allow_only(p, di);
}

static int any_allow_only(const struct policy *p)
{
	uint32_t i;

	for (i = 1; i < p->n_depts; i++)
		if (policy_dept_allow_only(p, (uint16_t)i))
			return 1;
	return 0;
}

/* A pair of sets (IPv4, IPv6) and the departments whose prefixes match
 * in them; every other department's prefixes go in as "nomatch".
 * @internal: the policy's internal prefixes too, as members, and the set
 * is written when @needed says (else when a department is a member). */
struct kind {
	const char *set[2];
	int (*member)(const struct policy *p, uint16_t di);
	int internal;
	int (*needed)(const struct policy *p);
};

/* In the order they are swapped in: the inside hosts an allow-only host's
 * flow must not reach uninspected before the allow-only hosts. */
static const struct kind kinds[] = {
	{ { FCSET_V4, FCSET_V6 }, is_fail_closed, 0, NULL },
	{ { INSPSET_V4, INSPSET_V6 }, is_inspected, 1, any_allow_only },
	{ { ALLOWSET_V4, ALLOWSET_V6 }, policy_dept_allow_only, 0, NULL },
};
#define KIND_ALLOW 2
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const fams[2] = { "inet", "inet6" };

/* Fills the new sets of @k (@tmp, made empty) from @p, longest prefix
 * last where it matters (add_prefix). None at all when no department is
 * a member: an empty set is looked up at no cost. Returns the members'
 * prefixes. */
static int fill(struct run *r, const struct policy *p, const struct kind *k,
		char tmp[2][32])
{
	uint32_t i;
	int n = 0, any = 0, pass;

	if (k->needed)
		any = k->needed(p);
	for (i = 1; !k->needed && i < p->n_depts && !any; i++)
		any = k->member(p, (uint16_t)i);
	for (pass = 0; any && pass < 2; pass++) {
		for (i = 0; i < p->n_pfx && !r->failed; i++) {
			uint16_t di = p->pfx_dept[i];
			const char *t = p->pfx_text[i];
			const char *slash = strrchr(t, '/');
			int zero = slash && strcmp(slash, "/0") == 0;
			int m;

			/* an "internal" prefix is no department's */
			if ((!k->internal &&
			     (di >= p->n_depts || di == POLICY_DEFAULT_DEPT)) ||
			    zero != (pass == 0))
				continue;
			m = di >= p->n_depts || di == POLICY_DEFAULT_DEPT ||
			    k->member(p, di) != 0;
			add_prefix(r, tmp[strchr(t, ':') != NULL], t, !m);
			n += m;
		}
	}
	return n;
}

/* The allow-only sets emptied, in a session of their own: after a
 * failure, a set that passes flows uninspected must not outlive the
 * policy that made it. */
static int flush_allow(void)
{
	char scratch[256];
	struct run r = { NULL, scratch, sizeof(scratch), 0 };
	int f;

	r.is = ipset_init();
	if (!r.is)
		return -1;
	ipset_custom_printf(r.is, on_custom_error, on_standard_error, on_print,
			    &r);
	for (f = 0; f < 2; f++) {
		cmd(&r, "create %s hash:net family %s -exist",
		    kinds[KIND_ALLOW].set[f], fams[f]);
		cmd(&r, "flush %s", kinds[KIND_ALLOW].set[f]);
	}
	ipset_fini(r.is);
	return r.failed ? -1 : 0;
}

int fcset_apply(const struct policy *p, unsigned tag, char *err, size_t errlen)
{
	char tmp[N_KINDS][2][32];
	struct run r = { NULL, err, errlen, 0 };
	size_t k;
	int n = 0, f, filled;

	ipset_load_types();
	r.is = ipset_init();
	if (!r.is) {
		snprintf(err, errlen, "ipset: out of memory");
		return flush_allow() == 0 ? -1 : -2;
	}
	ipset_custom_printf(r.is, on_custom_error, on_standard_error, on_print,
			    &r);
	/* every new set filled before any is swapped in: a failure while
	 * filling (most are) leaves the kernel's sets as they were */
	for (k = 0; k < N_KINDS; k++) {
		for (f = 0; f < 2; f++) {
			snprintf(tmp[k][f], sizeof(tmp[k][f]), "%s-new%u",
				 kinds[k].set[f], tag);
			cmd(&r, "create %s hash:net family %s -exist",
			    kinds[k].set[f], fams[f]);
			cmd(&r, "create %s hash:net family %s -exist",
			    tmp[k][f], fams[f]);
			cmd(&r, "flush %s", tmp[k][f]);
		}
		filled = fill(&r, p, &kinds[k], tmp[k]);
		if (k == 0)
			n = filled;
	}
	for (k = 0; k < N_KINDS; k++)
		for (f = 0; f < 2; f++) {
			cmd(&r, "swap %s %s", tmp[k][f], kinds[k].set[f]);
			cmd(&r, "destroy %s", tmp[k][f]);
		}
	ipset_fini(r.is);
	if (!r.failed)
		return n;
	return flush_allow() == 0 ? -1 : -2;
}
