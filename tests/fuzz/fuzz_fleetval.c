/* libFuzzer: the fleet bucket's values (fleet/fleetval.c), as any writer
 * of the bucket could leave them. Each input is read as each of the four
 * kinds from a buffer of its exact size (ASan sees a read past the end);
 * a value taken must come out of the encoder as the same bytes (a value
 * has one form) and read the same again. An input that starts as a
 * policy is read a second time with the SHA-256 of what follows its
 * first empty line written into it, so that the fields and the text
 * behind the digest are reached. The input is also a key, and
 * two lists of apps (split at the first newline) for the union and the
 * difference, which must hold what fleetval.h promises. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleetval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char err[256];
static char again[16384];

static void same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen))
		__builtin_trap();
}

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		__builtin_trap();
}

static void policy(const char *v, size_t len)
{
	struct fleet_policy p, p2;
	size_t n = 0;
	char *e;

	if (fleetval_policy_decode(v, len, &p, err, sizeof(err)) != 0) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	check_str(p.by, sizeof(p.by));
	check_str(p.what, sizeof(p.what));
	if (!fleetval_node_ok(p.by) || p.text < v || p.text + p.len != v + len)
		__builtin_trap();
	e = fleetval_policy_encode(&p, &n, err, sizeof(err));
	if (!e)
		__builtin_trap();
	same_bytes(v, len, e, n);
	if (fleetval_policy_decode(e, n, &p2, err, sizeof(err)) != 0 ||
	    strcmp(p.sha256, p2.sha256) || strcmp(p.by, p2.by) ||
	    p.uid != p2.uid || strcmp(p.what, p2.what) || p.base != p2.base ||
	    p.len != p2.len || memcmp(p.text, p2.text, p.len))
		__builtin_trap();
	free(e);
}

static void ks(const char *v, size_t len)
{
	struct fleet_ks k, k2;
	int n;

	if (fleetval_ks_decode(v, len, &k, err, sizeof(err)) != 0) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	if (!fleetval_apps_ok(k.apps) || !fleetval_node_ok(k.by))
		__builtin_trap();
	n = fleetval_ks_encode(&k, again, sizeof(again));
	if (n < 0)
		__builtin_trap();
	same_bytes(v, len, again, (size_t)n);
	if (fleetval_ks_decode(again, (size_t)n, &k2, err, sizeof(err)) != 0 ||
	    strcmp(k.apps, k2.apps) || strcmp(k.by, k2.by) || k.uid != k2.uid)
		__builtin_trap();
}

static void status(const char *v, size_t len)
{
	struct fleet_status s, s2;
	unsigned i;
	int n;

	if (fleetval_status_decode(v, len, &s, err, sizeof(err)) != 0) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	if (!fleetval_apps_ok(s.ks) || !fleetval_apps_ok(s.local) ||
	    s.n_conflicts > FLEET_CONFLICTS)
		__builtin_trap();
	check_str(s.health, sizeof(s.health));
	for (i = 0; i < s.n_conflicts; i++)
		check_str(s.conflict[i], sizeof(s.conflict[i]));
	n = fleetval_status_encode(&s, again, sizeof(again));
	if (n < 0)
		__builtin_trap();
	same_bytes(v, len, again, (size_t)n);
	if (fleetval_status_decode(again, (size_t)n, &s2, err, sizeof(err)) !=
		    0 ||
	    s.beat != s2.beat || s.policy_rev != s2.policy_rev ||
	    s.ks_rev != s2.ks_rev || strcmp(s.ks, s2.ks) ||
	    strcmp(s.local, s2.local) || strcmp(s.digest, s2.digest) ||
	    strcmp(s.health, s2.health) || s.n_conflicts != s2.n_conflicts)
		__builtin_trap();
	for (i = 0; i < s.n_conflicts; i++)
		if (strcmp(s.conflict[i], s2.conflict[i]))
			__builtin_trap();
}

static void head(const char *v, size_t len)
{
	struct fleet_head h, h2;
	int n;

	if (fleetval_head_decode(v, len, &h, err, sizeof(err)) != 0) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	n = fleetval_head_encode(&h, again, sizeof(again));
	if (n < 0)
		__builtin_trap();
	same_bytes(v, len, again, (size_t)n);
	if (fleetval_head_decode(again, (size_t)n, &h2, err, sizeof(err)) !=
		    0 ||
	    h.seq != h2.seq || strcmp(h.sha256, h2.sha256))
		__builtin_trap();
}

#define POLICY_HEAD "skyfence-policy 1\nsha256 "

/* @v with the right digest, if it has room for one and an empty line */
static void sealed(const char *v, size_t len)
{
	size_t h = strlen(POLICY_HEAD);
	struct fleet_policy p = { .by = "x" };
	const char *nn;
	char *copy, *e;
	size_t n;

	if (len < h + FLEET_HEX_LEN || memcmp(v, POLICY_HEAD, h))
		return;
	nn = memmem(v + h + FLEET_HEX_LEN, len - h - FLEET_HEX_LEN, "\n\n", 2);
	if (!nn)
		return;
	p.text = nn + 2;
	p.len = len - (size_t)(p.text - v);
	e = fleetval_policy_encode(&p, &n, err, sizeof(err));
	if (!e)
		return;
	copy = malloc(len);
	if (copy) {
		memcpy(copy, v, len);
		memcpy(copy + h, e + h, FLEET_HEX_LEN);
		policy(copy, len);
		free(copy);
	}
	free(e);
}

/* @key (a C string) named a node's key: the id is a node's and gives
 * the same key back */
static void key(const char *k)
{
	char id[FLEET_NODE_MAX + 1], back[FLEET_KEY_MAX];
	int kind = fleetval_node_key(k, id);

	if (!kind)
		return;
	if ((kind != 's' && kind != 'h') || !fleetval_node_ok(id))
		__builtin_trap();
	fleetval_node_key_of(id, kind, back);
	if (strcmp(back, k))
		__builtin_trap();
}

/* is the app @w (@n bytes) in @list? */
static int has(const char *list, const char *w, size_t n)
{
	while (*list) {
		size_t m = strcspn(list, " ");

		if (m == n && !memcmp(list, w, n))
			return 1;
		list += m;
		list += *list == ' ';
	}
	return 0;
}

/* each app of @a in @b (@in) or not in @b (!@in) */
static void each_in(const char *a, const char *b, int in)
{
	while (*a) {
		size_t n = strcspn(a, " ");

		if (has(b, a, n) != in)
			__builtin_trap();
		a += n;
		a += *a == ' ';
	}
}

/* no app twice in @a */
static void once(const char *a)
{
	while (*a) {
		size_t n = strcspn(a, " ");

		if (a[n] && has(a + n + 1, a, n))
			__builtin_trap();
		a += n;
		a += *a == ' ';
	}
}

static void apps(const char *a, const char *b)
{
	char out[FLEET_APPS_MAX + 1];

	if (!fleetval_apps_ok(a) || !fleetval_apps_ok(b))
		return;
	if (fleetval_apps_union(a, b, out) == 0) {
		if (!fleetval_apps_ok(out))
			__builtin_trap();
		once(out);
		each_in(a, out, 1);
		each_in(b, out, 1);
		/* nothing but @a's and @b's */
		{
			const char *w = out;

			while (*w) {
				size_t n = strcspn(w, " ");

				if (!has(a, w, n) && !has(b, w, n))
					__builtin_trap();
				w += n;
				w += *w == ' ';
			}
		}
	}
	fleetval_apps_minus(a, b, out);
	if (!fleetval_apps_ok(out))
		__builtin_trap();
	if (!*b && *out)
		__builtin_trap();
	each_in(out, a, 1);
	each_in(out, b, 0);
	/* every app of @a not in @b is kept */
	if (*b) {
		const char *w = a;

		while (*w) {
			size_t n = strcspn(w, " ");

			if (!has(b, w, n) && !has(out, w, n))
				__builtin_trap();
			w += n;
			w += *w == ' ';
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size ? size : 1), *s, *nl;

	if (!v)
		return 0;
	memcpy(v, data, size);
	policy(v, size);
	sealed(v, size);
	ks(v, size);
	status(v, size);
	head(v, size);
	free(v);

	if (memchr(data, '\0', size) || size > 4 * FLEET_APPS_MAX)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	key(s);
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		apps(s, nl + 1);
	}
	free(s);
	return 0;
}
