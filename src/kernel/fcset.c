/* libipset: the fail-closed departments' sets (see skyfence/fcset.h). */
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

/* hash:net takes prefix lengths from 1: a /0 goes in as its two halves. */
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

int fcset_apply(const struct policy *p, unsigned tag, char *err, size_t errlen)
{
	char tmp[2][32];
	static const char *const sets[2] = { FCSET_V4, FCSET_V6 };
	static const char *const fams[2] = { "inet", "inet6" };
	struct run r = { NULL, err, errlen, 0 };
	uint32_t i;
	int n = 0, f;

	ipset_load_types();
	r.is = ipset_init();
	if (!r.is) {
		snprintf(err, errlen, "ipset: out of memory");
		return -1;
	}
	ipset_custom_printf(r.is, on_custom_error, on_standard_error, on_print,
			    &r);
	for (f = 0; f < 2; f++) {
		snprintf(tmp[f], sizeof(tmp[f]), "%s-new%u", sets[f], tag);
		cmd(&r, "create %s hash:net family %s -exist", sets[f],
		    fams[f]);
		cmd(&r, "create %s hash:net family %s -exist", tmp[f], fams[f]);
		cmd(&r, "flush %s", tmp[f]);
	}
	for (i = 0; i < p->n_pfx && !r.failed; i++) {
		uint16_t di = p->pfx_dept[i];
		int v6 = strchr(p->pfx_text[i], ':') != NULL;

		if (di >= p->n_depts || di == POLICY_DEFAULT_DEPT)
			continue; /* an "internal" prefix */
		add_prefix(&r, tmp[v6], p->pfx_text[i],
			   !p->depts[di].fail_closed);
		n += p->depts[di].fail_closed;
	}
	for (f = 0; f < 2; f++) {
		cmd(&r, "swap %s %s", tmp[f], sets[f]);
		cmd(&r, "destroy %s", tmp[f]);
	}
	ipset_fini(r.is);
	return r.failed ? -1 : n;
}
