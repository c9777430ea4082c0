/* ldapgrp.c - a user's groups from a directory (ldapgrp.h): the control
 * thread's cache and queue, and the thread that alone uses the libldap
 * handle. The two meet in two lists under one mutex: the lookups asked,
 * and the lookups done, which the eventfd announces. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <ldap.h>

#include "identity/ldapgrp.h"
#include "sys/secret.h"

#define LIFETIME_S 300
#define TIMEOUT_MS 2000
#define MAX_USERS 65536
#define MAX_GROUPS 64 /* names and DNs: 32 groups, as ID_MAX_GROUPS keeps */
#define USERS_LIMIT (1u << 22)
#define GROUPS_LIMIT 4096
#define RETRY_MAX_S 30
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define PW_MAX 1024
#define ERR_MAX 160

/* An answer in one allocation: the pointers, then the strings. */
struct groups {
	unsigned n;
	const char *v[];
};

/* A lookup: asked by the control thread, done by the module's. */
struct job {
	struct job *next;
	struct groups *groups; /* NULL: failed, @error says why */
	int truncated;
	char error[ERR_MAX];
	char user[];
};

enum entry_state { ENTRY_ASKED, ENTRY_FRESH, ENTRY_FAILED };

struct entry {
	struct entry *chain;	   /* the bucket's */
	struct entry *prev, *next; /* by recency, the least recent first */
	enum entry_state state;
	int forgotten;	   /* while asked: the answer is not kept fresh */
	uint64_t until_ms; /* FRESH: fresh until; FAILED: asked again from */
	struct groups *groups; /* FRESH */
	uint32_t hash;
	char user[];
};

struct ldapgrp {
	/* set at open */
	char *uri, *base, *user_filter, *group_filter, *group_attr, *bind_dn;
	char *pw;
	unsigned lifetime_s, timeout_ms, max_users, max_groups;
	uint64_t seed;
	int efd;
	int started;

	/* the control thread's */
	struct entry **buckets;
	uint32_t mask;
	struct entry *oldest, *newest;
	unsigned n_entries, outstanding;
	uint64_t hits, misses, queue_full, evicted, truncated;

	/* both threads', under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *asked, **asked_tail;
	struct job *done, **done_tail;
	uint64_t lookups, failures;
	char last_error[ERR_MAX];
	atomic_int stop, connected;

	/* the module thread's */
	pthread_t th;
	LDAP *ld;
	uint64_t retry_at_ms;
	unsigned backoff_ms;
	char conn_error[ERR_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int stopping(struct ldapgrp *g)
{
	return atomic_load(&g->stop);
}

/* The module's thread: the directory. */

/* @tmpl with "%u" and "%d" replaced by @user and @dn as RFC 4515
 * assertion values, "%%" by "%". The escaping is libldap's own
 * (ldap_bv2escaped_filter_value: "*", "(", ")", "\" and NUL as "\2a",
 * ...), not ours: no user name can widen the filter. Returns a malloc'd
 * filter, or NULL (no memory). */
static char *filter_expand(const char *tmpl, const char *user, const char *dn)
{
	struct berval in, eu = { 0, NULL }, ed = { 0, NULL }, *v;
	char *out = NULL;
	const char *t;
	size_t k = 0;
	int pass;

	ber_str2bv(user, 0, 0, &in);
	if (ldap_bv2escaped_filter_value(&in, &eu) != 0)
		goto out;
	ber_str2bv(dn ? dn : "", 0, 0, &in);
	if (ldap_bv2escaped_filter_value(&in, &ed) != 0)
		goto out;
	for (pass = 0; pass < 2; pass++) {
		for (k = 0, t = tmpl; *t; t++) {
			v = NULL;
			if (*t == '%' && (t[1] == 'u' || t[1] == 'd'))
				v = *++t == 'u' ? &eu : &ed;
			else if (*t == '%' && t[1] == '%')
				t++;
			if (v && pass)
				memcpy(out + k, v->bv_val, v->bv_len);
			else if (pass)
				out[k] = *t;
			k += v ? v->bv_len : 1;
		}
		if (!pass && !(out = malloc(k + 1)))
			goto out;
	}
	out[k] = '\0';
out:
	ber_memfree(eu.bv_val);
	ber_memfree(ed.bv_val);
	return out;
}

/* "@what: Invalid credentials (49): <the server's message>" */
static void dir_error(struct ldapgrp *g, int rc, const char *what, char *err,
		      size_t errlen)
{
	char *diag = NULL;

	if (g->ld)
		ldap_get_option(g->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(err, errlen, "%s: %s (%d)%s%s", what, ldap_err2string(rc), rc,
		 diag && *diag ? ": " : "", diag && *diag ? diag : "");
	ldap_memfree(diag);
}

/* Codes after which the connection is of no more use: libldap's own for
 * a connection lost, never made or timed out (a synchronous call that
 * times out leaves its request behind), and the server's "go away". */
static int conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	       rc == LDAP_CONNECT_ERROR || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_DECODING_ERROR || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

static void dir_disconnect(struct ldapgrp *g)
{
	if (g->ld)
		ldap_unbind_ext_s(g->ld, NULL, NULL);
	g->ld = NULL;
	atomic_store(&g->connected, 0);
}

/* A handle, connected and bound. ldap_initialize() does not connect; the
 * bind does, within LDAP_OPT_NETWORK_TIMEOUT, and waits for its answer
 * within LDAP_OPT_TIMEOUT (the synchronous calls' bound). Returns 0, or
 * -1 with a message in @err. */
static int dir_connect(struct ldapgrp *g, char *err, size_t errlen)
{
	struct timeval tv = { (time_t)(g->timeout_ms / 1000),
			      (suseconds_t)(g->timeout_ms % 1000) * 1000 };
	int v3 = LDAP_VERSION3, rc;
	struct berval cred;

	rc = ldap_initialize(&g->ld, g->uri);
	if (rc != LDAP_SUCCESS) {
		g->ld = NULL;
		dir_error(g, rc, g->uri, err, errlen);
		return -1;
	}
	/* no referral chasing: Active Directory answers a search from the
	 * domain's root with references, which would be followed with an
	 * anonymous bind, each with a timeout of its own */
	if (ldap_set_option(g->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ldap_set_option(g->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) ||
	    ldap_set_option(g->ld, LDAP_OPT_TIMEOUT, &tv) ||
	    ldap_set_option(g->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) {
		snprintf(err, errlen, "%s: cannot set libldap's options",
			 g->uri);
		dir_disconnect(g);
		return -1;
	}
	if (stopping(g)) {
		snprintf(err, errlen, "stopping");
		dir_disconnect(g);
		return -1;
	}
	ber_str2bv(g->pw ? g->pw : "", 0, 0, &cred);
	rc = ldap_sasl_bind_s(g->ld, g->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
			      NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		char what[ERR_MAX];

		snprintf(what, sizeof(what), "%s: bind as %s", g->uri,
			 g->bind_dn ? g->bind_dn : "anonymous");
		dir_error(g, rc, what, err, errlen);
		dir_disconnect(g);
		return -1;
	}
	atomic_store(&g->connected, 1);
	return 0;
}

/* The next connection is tried after 1 s, 2 s, 4 s, ... 30 s. */
static void dir_backoff(struct ldapgrp *g)
{
	g->backoff_ms = g->backoff_ms ? 2 * g->backoff_ms : BACKOFF_MIN_MS;
	if (g->backoff_ms > BACKOFF_MAX_MS)
		g->backoff_ms = BACKOFF_MAX_MS;
	g->retry_at_ms = now_ms() + g->backoff_ms;
}

/* A connection: made now, unless the last try failed less than the
 * backoff ago. Returns 0, or -1 with a message in @err. */
static int dir_ready(struct ldapgrp *g, char *err, size_t errlen)
{
	uint64_t now = now_ms();

	if (now < g->retry_at_ms) {
		/* a message cut short at @errlen is still the message */
		if (snprintf(err, errlen, "next try in %u ms: %s",
			     (unsigned)(g->retry_at_ms - now),
			     g->conn_error) >= (int)errlen)
			err[errlen - 1] = '\0';
		return -1;
	}
	if (dir_connect(g, g->conn_error, sizeof(g->conn_error)) < 0) {
		dir_backoff(g);
		snprintf(err, errlen, "%s", g->conn_error);
		return -1;
	}
	g->backoff_ms = 0;
	return 0;
}

/* Under the base, in its whole subtree, at most @limit entries. The
 * timeout is libldap's wait and the server's time limit (whole seconds,
 * at least one). */
static int dir_search(struct ldapgrp *g, const char *filter, char **attrs,
		      int limit, LDAPMessage **res)
{
	struct timeval tv = { (time_t)(g->timeout_ms / 1000),
			      (suseconds_t)(g->timeout_ms % 1000) * 1000 };

	*res = NULL;
	if (stopping(g))
		return LDAP_TIMEOUT;
	return ldap_search_ext_s(g->ld, g->base, LDAP_SCOPE_SUBTREE, filter,
				 attrs, 0, NULL, NULL, &tv, limit, res);
}

/* The DN of @user's one entry (ldap_memfree). Returns LDAP_SUCCESS, or
 * another code with a message in @err: LDAP_NO_RESULTS_RETURNED when no
 * entry matches, LDAP_MORE_RESULTS_TO_RETURN when several do. */
static int find_user(struct ldapgrp *g, const char *user, char **dn, char *err,
		     size_t errlen)
{
	char no_attrs[] = LDAP_NO_ATTRS, *attrs[] = { no_attrs, NULL };
	LDAPMessage *res = NULL;
	char *filter;
	int rc, n;

	filter = filter_expand(g->user_filter, user, NULL);
	if (!filter) {
		snprintf(err, errlen, "no memory");
		return LDAP_NO_MEMORY;
	}
	rc = dir_search(g, filter, attrs, 2, &res);
	free(filter);
	n = rc == LDAP_SUCCESS ? ldap_count_entries(g->ld, res) : 0;
	if (rc == LDAP_SIZELIMIT_EXCEEDED || n > 1) {
		snprintf(err, errlen,
			 "ambiguous: more than one entry matches the user");
		rc = LDAP_MORE_RESULTS_TO_RETURN;
	} else if (rc != LDAP_SUCCESS) {
		dir_error(g, rc, "the user's search", err, errlen);
	} else if (n == 0) {
		snprintf(err, errlen, "no such user");
		rc = LDAP_NO_RESULTS_RETURNED;
	} else if (!(*dn = ldap_get_dn(g->ld, ldap_first_entry(g->ld, res)))) {
		snprintf(err, errlen, "the user's entry has no DN");
		rc = LDAP_DECODING_ERROR;
	}
	ldap_msgfree(res);
	return rc;
}

/* The strings of an answer while it is collected. */
struct collect {
	char **s;
	unsigned n, max;
	int truncated, nomem;
};

static void collect_add(struct collect *c, const char *s, size_t len)
{
	if (len == 0 || len > LDAPGRP_GROUP_MAX || memchr(s, '\0', len)) {
		c->truncated = 1;
		return;
	}
	if (!(c->s[c->n] = strndup(s, len)))
		c->nomem = 1;
	else
		c->n++;
}

/* One group entry: its @attr values and its DN, all or none. */
static void collect_group(struct ldapgrp *g, struct collect *c, LDAPMessage *e,
			  const char *attr)
{
	struct berval **vals = ldap_get_values_len(g->ld, e, attr);
	unsigned nv = vals ? (unsigned)ldap_count_values_len(vals) : 0, i;
	char *dn = ldap_get_dn(g->ld, e);

	if (!dn) {
		c->truncated = 1;
	} else if (c->n + nv + 1 > c->max) {
		c->truncated = 1;
	} else {
		for (i = 0; i < nv; i++)
			collect_add(c, vals[i]->bv_val, vals[i]->bv_len);
		collect_add(c, dn, strlen(dn));
	}
	ldap_memfree(dn);
	ldap_value_free_len(vals);
}

static struct groups *groups_pack(char *const *s, unsigned n)
{
	size_t size = sizeof(struct groups) + n * sizeof(char *), len;
	struct groups *gs;
	unsigned i;
	char *p;

	for (i = 0; i < n; i++)
		size += strlen(s[i]) + 1;
	if (!(gs = malloc(size)))
		return NULL;
	gs->n = n;
	p = (char *)&gs->v[n];
	for (i = 0; i < n; i++) {
		len = strlen(s[i]) + 1;
		memcpy(p, s[i], len);
		gs->v[i] = p;
		p += len;
	}
	return gs;
}

/* @j's groups: those of entries @group_filter finds for @user and @dn. */
static int find_groups(struct ldapgrp *g, const char *dn, struct job *j)
{
	char *attrs[] = { g->group_attr, NULL };
	struct collect c = { NULL, 0, g->max_groups, 0, 0 };
	LDAPMessage *res = NULL, *e;
	char *filter;
	unsigned i;
	int rc;

	filter = filter_expand(g->group_filter, j->user, dn);
	c.s = calloc(g->max_groups, sizeof(*c.s));
	if (!filter || !c.s) {
		rc = LDAP_NO_MEMORY;
		goto out;
	}
	/* one more than can be kept: more is a truncated answer */
	rc = dir_search(g, filter, attrs, (int)g->max_groups + 1, &res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		c.truncated = 1;
		rc = LDAP_SUCCESS;
	}
	if (rc != LDAP_SUCCESS) {
		dir_error(g, rc, "the groups' search", j->error,
			  sizeof(j->error));
		goto out;
	}
	for (e = ldap_first_entry(g->ld, res); e && !c.nomem;
	     e = ldap_next_entry(g->ld, e))
		collect_group(g, &c, e, g->group_attr);
	if (c.nomem || !(j->groups = groups_pack(c.s, c.n)))
		rc = LDAP_NO_MEMORY;
	j->truncated = c.truncated;
out:
	if (rc == LDAP_NO_MEMORY)
		snprintf(j->error, sizeof(j->error), "no memory");
	for (i = 0; c.s && i < c.n; i++)
		free(c.s[i]);
	free(c.s);
	free(filter);
	ldap_msgfree(res);
	return rc;
}

static int lookup_once(struct ldapgrp *g, struct job *j)
{
	char *dn = NULL;
	int rc;

	rc = find_user(g, j->user, &dn, j->error, sizeof(j->error));
	if (rc == LDAP_SUCCESS)
		rc = find_groups(g, dn, j);
	ldap_memfree(dn);
	return rc;
}

/* @j answered: its groups, or an error. A connection that was made
 * earlier and is found broken (the server restarted, or dropped it while
 * idle) is made again at once, once; one made for this lookup that fails
 * starts the backoff. */
static void lookup(struct ldapgrp *g, struct job *j)
{
	int rc, fresh = 0, tries;

	for (tries = 0; tries < 2; tries++) {
		if (!g->ld) {
			if (dir_ready(g, j->error, sizeof(j->error)) < 0)
				return;
			fresh = 1;
		}
		j->error[0] = '\0';
		rc = lookup_once(g, j);
		if (!conn_lost(rc))
			return;
		dir_disconnect(g);
		if (fresh || rc != LDAP_SERVER_DOWN || stopping(g)) {
			snprintf(g->conn_error, sizeof(g->conn_error), "%s",
				 j->error);
			dir_backoff(g);
			return;
		}
	}
}

static void *ldapgrp_main(void *arg)
{
	struct ldapgrp *g = arg;
	uint64_t one = 1;
	struct job *j;
	ssize_t w;

	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (!g->asked && !stopping(g))
			pthread_cond_wait(&g->cv, &g->mu);
		j = stopping(g) ? NULL : g->asked;
		if (j && !(g->asked = j->next))
			g->asked_tail = &g->asked;
		pthread_mutex_unlock(&g->mu);
		if (!j)
			break;
		j->next = NULL;
		lookup(g, j);
		pthread_mutex_lock(&g->mu);
		*g->done_tail = j;
		g->done_tail = &j->next;
		g->lookups++;
		if (!j->groups) {
			g->failures++;
			snprintf(g->last_error, sizeof(g->last_error), "%s",
				 j->error);
		}
		pthread_mutex_unlock(&g->mu);
		/* fails only when the counter would pass 2^64 - 2 */
		w = write(g->efd, &one, sizeof(one));
		(void)w;
	}
	dir_disconnect(g);
	return NULL;
}

/* The control thread: the cache. */

static uint32_t user_hash(const struct ldapgrp *g, const char *user, size_t len)
{
	uint64_t h = g->seed ^ len, w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, user + i, len - i < 8 ? len - i : 8);
		h ^= w;
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ (h >> 33));
}

static struct entry *entry_find(struct ldapgrp *g, const char *user,
				uint32_t hash)
{
	struct entry *e;

	for (e = g->buckets[hash & g->mask]; e; e = e->chain)
		if (e->hash == hash && !strcmp(e->user, user))
			return e;
	return NULL;
}

static void recency_unlink(struct ldapgrp *g, struct entry *e)
{
	*(e->prev ? &e->prev->next : &g->oldest) = e->next;
	*(e->next ? &e->next->prev : &g->newest) = e->prev;
	e->prev = e->next = NULL;
}

static void recency_append(struct ldapgrp *g, struct entry *e)
{
	e->prev = g->newest;
	*(g->newest ? &g->newest->next : &g->oldest) = e;
	g->newest = e;
}

static void recency_touch(struct ldapgrp *g, struct entry *e)
{
	recency_unlink(g, e);
	recency_append(g, e);
}

static void entry_remove(struct ldapgrp *g, struct entry *e)
{
	struct entry **pp = &g->buckets[e->hash & g->mask];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	recency_unlink(g, e);
	g->n_entries--;
	free(e->groups);
	free(e);
}

/* A new entry for @user, the least recent one evicted from a full
 * cache. An entry asked may go: its answer makes a new one. */
static struct entry *entry_add(struct ldapgrp *g, const char *user, size_t len,
			       uint32_t hash)
{
	struct entry *e;

	if (g->n_entries >= g->max_users && g->oldest) {
		entry_remove(g, g->oldest);
		g->evicted++;
	}
	if (!(e = calloc(1, sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->user, user, len + 1);
	e->hash = hash;
	e->chain = g->buckets[hash & g->mask];
	g->buckets[hash & g->mask] = e;
	recency_append(g, e);
	g->n_entries++;
	return e;
}

static int ask(struct ldapgrp *g, const char *user, size_t len)
{
	struct job *j = calloc(1, sizeof(*j) + len + 1);

	if (!j)
		return -ENOMEM;
	memcpy(j->user, user, len + 1);
	pthread_mutex_lock(&g->mu);
	*g->asked_tail = j;
	g->asked_tail = &j->next;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	g->outstanding++;
	return 0;
}

int ldapgrp_get(struct ldapgrp *g, const char *user, const char *const **groups,
		unsigned *n)
{
	size_t len = strnlen(user, LDAPGRP_USER_MAX + 1);
	uint32_t hash;
	struct entry *e;
	uint64_t now;

	if (len == 0 || len > LDAPGRP_USER_MAX)
		return -EINVAL;
	hash = user_hash(g, user, len);
	e = entry_find(g, user, hash);
	now = now_ms();
	if (e && e->state == ENTRY_FRESH && now < e->until_ms) {
		g->hits++;
		recency_touch(g, e);
		*groups = e->groups->v;
		*n = e->groups->n;
		return 1;
	}
	if (e && (e->state == ENTRY_ASKED ||
		  (e->state == ENTRY_FAILED && now < e->until_ms))) {
		g->misses++;
		return e->state == ENTRY_ASKED ? 0 : -EAGAIN;
	}
	if (g->outstanding >= LDAPGRP_QUEUE_MAX) {
		g->queue_full++;
		return -ENOBUFS;
	}
	if (!e && !(e = entry_add(g, user, len, hash)))
		return -ENOMEM;
	free(e->groups);
	e->groups = NULL;
	e->state = ENTRY_ASKED;
	e->forgotten = 0;
	recency_touch(g, e);
	if (ask(g, user, len) < 0) {
		entry_remove(g, e);
		return -ENOMEM;
	}
	g->misses++;
	return 0;
}

/* @j's answer into the cache (its groups taken). */
static void keep(struct ldapgrp *g, struct job *j, uint64_t now)
{
	size_t len = strlen(j->user);
	uint32_t hash = user_hash(g, j->user, len);
	struct entry *e = entry_find(g, j->user, hash);
	unsigned retry_s;

	if (!e && !(e = entry_add(g, j->user, len, hash)))
		return;
	free(e->groups);
	e->groups = j->groups;
	j->groups = NULL;
	retry_s = g->lifetime_s < RETRY_MAX_S ? g->lifetime_s : RETRY_MAX_S;
	e->state = e->groups ? ENTRY_FRESH : ENTRY_FAILED;
	e->until_ms = now + 1000ull * (e->groups ? g->lifetime_s : retry_s);
	if (e->forgotten)
		e->until_ms = now;
	e->forgotten = 0;
	recency_touch(g, e);
}

unsigned ldapgrp_drain(struct ldapgrp *g,
		       void (*fn)(void *ctx, const char *user,
				  const char *const *groups, unsigned n,
				  const char *error),
		       void *ctx)
{
	struct job *list, *j;
	unsigned k = 0;
	uint64_t v;

	/* the count is reset first: a lookup done after it wakes the
	 * caller again */
	if (read(g->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&g->mu);
	list = g->done;
	g->done = NULL;
	g->done_tail = &g->done;
	pthread_mutex_unlock(&g->mu);
	while ((j = list)) {
		list = j->next;
		g->outstanding--;
		g->truncated += j->truncated != 0;
		fn(ctx, j->user, j->groups ? j->groups->v : NULL,
		   j->groups ? j->groups->n : 0, j->groups ? NULL : j->error);
		keep(g, j, now_ms());
		free(j->groups);
		free(j);
		k++;
	}
	return k;
}

void ldapgrp_forget(struct ldapgrp *g, const char *user)
{
	size_t len = strnlen(user, LDAPGRP_USER_MAX + 1);
	struct entry *e;

	if (len == 0 || len > LDAPGRP_USER_MAX)
		return;
	e = entry_find(g, user, user_hash(g, user, len));
	if (e && e->state == ENTRY_ASKED)
		e->forgotten = 1;
	else if (e)
		entry_remove(g, e);
}

int ldapgrp_fd(const struct ldapgrp *g)
{
	return g->efd;
}

void ldapgrp_get_stats(struct ldapgrp *g, struct ldapgrp_stats *s)
{
	_Static_assert(sizeof(s->last_error) == ERR_MAX, "one message size");
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&g->mu);
	s->lookups = g->lookups;
	s->failures = g->failures;
	memcpy(s->last_error, g->last_error, sizeof(s->last_error));
	pthread_mutex_unlock(&g->mu);
	s->hits = g->hits;
	s->misses = g->misses;
	s->queue_full = g->queue_full;
	s->evicted = g->evicted;
	s->truncated = g->truncated;
	s->cached = g->n_entries;
	s->connected = atomic_load(&g->connected);
}

/* Opening. */

/* NULL if @tmpl has only "%u", "%%" and, if @dn_ok, "%d"; else what is
 * wrong with it. */
static const char *filter_check(const char *tmpl, int dn_ok)
{
	const char *t;

	if (tmpl[0] != '(' || tmpl[strlen(tmpl) - 1] != ')')
		return "not in parentheses";
	for (t = tmpl; *t; t++) {
		if (*t != '%')
			continue;
		if (t[1] == 'd' && !dn_ok)
			return "%d (the user's DN) is known in group_filter only";
		if (t[1] != 'u' && t[1] != 'd' && t[1] != '%')
			return "a % other than %u, %d or %%";
		t++;
	}
	return NULL;
}

/* The password: @path's first line (secret.h's rules). */
static int read_password(const char *path, char **pw, char *err, size_t errlen)
{
	return secret_read_line(path, "bind_pw_file", PW_MAX, pw, err, errlen);
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

/* @o checked and copied into @g. Returns 0, or -1 with a message. */
static int opts_take(struct ldapgrp *g, const struct ldapgrp_opts *o, char *err,
		     size_t errlen)
{
	const char *why;
	LDAP *ld = NULL;
	int rc;

	if (!o->uri || !o->base) {
		snprintf(err, errlen,
			 "ldap: a URI and a search base are needed");
		return -1;
	}
	if (!o->bind_dn != !o->bind_pw_file) {
		snprintf(
			err, errlen,
			"ldap: a bind DN needs a password file, and a password file a bind DN");
		return -1;
	}
	/* parses the URI list, connects nowhere; the first libldap call,
	 * which reads ldap.conf, made here and not in the thread */
	rc = ldap_initialize(&ld, o->uri);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "ldap: %s: %s", o->uri,
			 ldap_err2string(rc));
		return -1;
	}
	g->lifetime_s = o->lifetime_s ? o->lifetime_s : LIFETIME_S;
	g->timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_MS;
	g->max_users = o->max_users ? o->max_users : MAX_USERS;
	g->max_groups = o->max_groups ? o->max_groups : MAX_GROUPS;
	if (g->max_users > USERS_LIMIT || g->max_groups > GROUPS_LIMIT) {
		snprintf(err, errlen,
			 "ldap: max_users is %u at most, max_groups %u",
			 USERS_LIMIT, GROUPS_LIMIT);
		return -1;
	}
	g->uri = strdup(o->uri);
	g->base = strdup(o->base);
	g->user_filter = dup_or(o->user_filter, LDAPGRP_USER_FILTER);
	g->group_filter = dup_or(o->group_filter, LDAPGRP_GROUP_FILTER);
	g->group_attr = dup_or(o->group_attr, "cn");
	g->bind_dn = o->bind_dn ? strdup(o->bind_dn) : NULL;
	if (!g->uri || !g->base || !g->user_filter || !g->group_filter ||
	    !g->group_attr || (o->bind_dn && !g->bind_dn)) {
		snprintf(err, errlen, "no memory");
		return -1;
	}
	if ((why = filter_check(g->user_filter, 0))) {
		snprintf(err, errlen, "ldap: user_filter %s: %s",
			 g->user_filter, why);
		return -1;
	}
	if ((why = filter_check(g->group_filter, 1))) {
		snprintf(err, errlen, "ldap: group_filter %s: %s",
			 g->group_filter, why);
		return -1;
	}
	if (o->bind_pw_file &&
	    read_password(o->bind_pw_file, &g->pw, err, errlen) < 0)
		return -1;
	return 0;
}

static void jobs_free(struct job *j)
{
	struct job *next;

	for (; j; j = next) {
		next = j->next;
		free(j->groups);
		free(j);
	}
}

static void ldapgrp_free(struct ldapgrp *g)
{
	while (g->oldest)
		entry_remove(g, g->oldest);
	free(g->buckets);
	jobs_free(g->asked);
	jobs_free(g->done);
	if (g->pw)
		explicit_bzero(g->pw, strlen(g->pw));
	free(g->pw);
	free(g->uri);
	free(g->base);
	free(g->user_filter);
	free(g->group_filter);
	free(g->group_attr);
	free(g->bind_dn);
	if (g->efd >= 0)
		close(g->efd);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* The thread, with every signal blocked: the daemon's signals go to its
 * own threads, and a write to a connection the server closed cannot
 * stop the process (SIGPIPE stays pending in this thread). */
static int thread_start(struct ldapgrp *g)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&g->th, NULL, ldapgrp_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	g->started = rc == 0;
	return rc;
}

struct ldapgrp *ldapgrp_open(const struct ldapgrp_opts *o, char *err,
			     size_t errlen)
{
	struct ldapgrp *g = calloc(1, sizeof(*g));
	uint32_t nb = 16;
	int rc;

	if (!g) {
		snprintf(err, errlen, "no memory");
		return NULL;
	}
	g->efd = -1;
	g->asked_tail = &g->asked;
	g->done_tail = &g->done;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (opts_take(g, o, err, errlen) < 0)
		goto err;
	while (nb < g->max_users && nb < (1u << 20))
		nb <<= 1;
	g->mask = nb - 1;
	if (!(g->buckets = calloc(nb, sizeof(*g->buckets)))) {
		snprintf(err, errlen, "no memory");
		goto err;
	}
	if (getrandom(&g->seed, sizeof(g->seed), 0) != sizeof(g->seed)) {
		snprintf(err, errlen, "ldap: getrandom: %s", strerror(errno));
		goto err;
	}
	if ((g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "ldap: eventfd: %s", strerror(errno));
		goto err;
	}
	if ((rc = thread_start(g)) != 0) {
		snprintf(err, errlen, "ldap: pthread_create: %s", strerror(rc));
		goto err;
	}
	return g;
err:
	ldapgrp_free(g);
	return NULL;
}

void ldapgrp_close(struct ldapgrp *g)
{
	if (!g)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->mu);
		atomic_store(&g->stop, 1);
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->th, NULL);
	}
	ldapgrp_free(g);
}
