/* hostns.c - look-alike host names (hostns.h). libpsl answers "registered
 * domain" from Debian's publicsuffix data: the list changes every week,
 * and a hand-kept copy of its rules would be stale on the day it ships. */
#include "classify/hostns.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libpsl.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;

static void load(void)
{
	psl = psl_latest(NULL);
	if (!psl)
		psl = psl_builtin();
}

int hostns_init(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (!psl) {
		snprintf(
			err, errlen,
			"public suffix list: cannot load %s (install Debian's publicsuffix package)",
			psl_dist_filename() ? psl_dist_filename() : "it");
		return -1;
	}
	return 0;
}

/* @host under one of the extra suffixes: its registered domain is the
 * label before the suffix and the suffix (*self: @host is a suffix). */
static const char *extra_registered(const char *host, int *self)
{
	const char *s = HOSTNS_EXTRA_SUFFIXES;
	size_t hl = strlen(host);

	while (*s) {
		size_t n = strcspn(s, " ");

		if (hl == n && !strncmp(host, s, n))
			*self = 1;
		if (hl > n + 1 && host[hl - n - 1] == '.' &&
		    !strncmp(host + hl - n, s, n)) {
			const char *r = host + hl - n - 1;

			while (r > host && r[-1] != '.')
				r--;
			return r == host + hl - n - 1 ? NULL : r;
		}
		s += n;
		s += strspn(s, " ");
	}
	return NULL;
}

int hostns_registered(const char *host, char *out, size_t outlen)
{
	const char *r;
	int self = 0;

	if (hostns_init(out, outlen) != 0 || !host[0] || strlen(host) >= outlen)
		return -1;
	r = extra_registered(host, &self);
	if (self)
		return -1;
	if (!r)
		r = psl_registrable_domain(psl, host);
	if (!r || !r[0])
		return -1;
	snprintf(out, outlen, "%s", r);
	return 0;
}

int hostns_counts(const char *host, uint16_t app, hostns_match_fn match,
		  void *ctx)
{
	char buf[512], reg[256], name[256];
	size_t n = strlen(host);
	int have_reg;

	/* "api.skype.com." is the same name: a trailing dot, which an HTTP
	 * Host line may carry, must not make a real name look foreign */
	while (n && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, host, n);
	name[n] = '\0';
	host = name;
	if (snprintf(buf, sizeof(buf), "%s.invalid", host) >= (int)sizeof(buf))
		return 0;
	have_reg = hostns_registered(host, reg, sizeof(reg)) == 0;
	if (match(ctx, buf) != (int)app) {
		/* an end-anchored pattern: the shortest suffix nDPI still
		 * labels @app is the pattern itself. It counts when it
		 * covers the registered domain (its other labels are the
		 * owner's), or when it starts with '-': Microsoft's naming
		 * of its own tenants ("-teams.cloudapp.net"). One that
		 * starts inside the registered domain's first label does
		 * not: "xteams.cloudapp.net" is not "teams.cloudapp.net".
		 * The suffixes that match are nested (each contains the
		 * pattern), so the pattern's start is found by bisection:
		 * a few automaton runs whatever the name, not one per byte
		 * (a flood of long names must not cost more than nDPI). */
		size_t r, lo, hi;

		if (!have_reg || match(ctx, host) != (int)app)
			return 1; /* the label is not this name's */
		r = n - strlen(reg);
		if (match(ctx, host + r) != (int)app)
			return 1; /* it starts before the registered domain */
		/* match at lo; find the last start that still matches */
		lo = r;
		hi = n;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (match(ctx, host + mid) == (int)app)
				lo = mid;
			else
				hi = mid;
		}
		return lo == r || host[lo] == '-';
	}
	if (!have_reg)
		return 0;
	snprintf(buf, sizeof(buf), ".%s", reg);
	return match(ctx, buf) == (int)app;
}
