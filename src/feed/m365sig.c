/* m365sig.c - the Skype service area of a checked list as an address
 * signatures file (m365.h: m365_render, m365_render_check, m365_count). */
#include "feed/m365sig.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/m365_int.h"
#include "policy/addrsig.h"

#define SERVICE_AREA M365_SKYPE_AREA
#define APP "Teams"
#define LINE_MAX_BYTES 1000 /* addrsig.c reads lines of at most 1023 */
#define LINE_MAX_PREFIXES 64

/* A growing text; @nomem once any append failed. */
struct sbuf {
	char *p;
	size_t n, cap;
	int nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->nomem)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (b->n + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->nomem = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char buf[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		b->nomem = 1; /* never: the callers' lines are short */
	else
		sb_add(b, buf, (size_t)n);
}

/* The Skype sets of @l, by id (the order a changed list and a fetched one
 * share); their number in *@n. NULL if memory is short. */
static json_t **skype_sets(const struct m365_list *l, size_t *n)
{
	json_t **v = malloc((json_array_size(l->sets) + 1) * sizeof(*v));
	size_t i, k;
	json_t *s;

	*n = 0;
	if (!v)
		return NULL;
	json_array_foreach(l->sets, i, s)
	{
		const char *a =
			json_string_value(json_object_get(s, "serviceArea"));

		if (!a || strcmp(a, SERVICE_AREA))
			continue;
		/* insertion: a few dozen sets */
		for (k = *n; k > 0 && m365_set_id(v[k - 1]) > m365_set_id(s);
		     k--)
			v[k] = v[k - 1];
		v[k] = s;
		(*n)++;
	}
	return v;
}

/* The set's prefixes of one family, each once: NULL-terminated. */
static const char **family(json_t *set, int want_v6, unsigned *n)
{
	json_t *ips = json_object_get(set, "ips"), *x;
	const char **v = malloc((json_array_size(ips) + 1) * sizeof(*v));
	size_t i, k;

	*n = 0;
	if (!v)
		return NULL;
	json_array_foreach(ips, i, x)
	{
		const char *s = json_string_value(x);
		int v6;

		if (m365_prefix_check(s, &v6, NULL, 0) != 0 || v6 != want_v6)
			continue;
		for (k = 0; k < *n && strcmp(v[k], s); k++)
			;
		if (k == *n)
			v[(*n)++] = s;
	}
	v[*n] = NULL;
	return v;
}

/* "Teams PROTO PORTS P P ...": at most 64 prefixes and LINE_MAX_BYTES a
 * line, as many lines as it takes */
static void prefix_lines(struct sbuf *b, const char *proto, const char *ports,
			 size_t plen, const char **pfx, unsigned n,
			 unsigned *sigs)
{
	unsigned i = 0;

	while (i < n) {
		size_t len = strlen(APP) + 1 + strlen(proto) + 1 + plen;
		unsigned k = 0;

		sb_printf(b, "%s %s %.*s", APP, proto, (int)plen, ports);
		while (i < n && k < LINE_MAX_PREFIXES &&
		       len + 1 + strlen(pfx[i]) < LINE_MAX_BYTES) {
			sb_printf(b, " %s", pfx[i]);
			len += 1 + strlen(pfx[i]);
			i++;
			k++;
			(*sigs)++;
		}
		sb_add(b, "\n", 1);
	}
}

/* One set's address lines: UDP then TCP, IPv4 then IPv6; a port list of
 * more than POLICY_MAX_PORTS items on lines of its own runs. */
static void set_prefixes(struct sbuf *b, json_t *set, struct m365_counts *c)
{
	static const char *const protos[] = { "udp", "tcp" };
	const char **fam[2];
	unsigned nf[2], p, f;

	fam[0] = family(set, 0, &nf[0]);
	fam[1] = family(set, 1, &nf[1]);
	if (!fam[0] || !fam[1]) {
		b->nomem = 1;
		goto out;
	}
	c->v4 += nf[0];
	c->v6 += nf[1];
	for (p = 0; p < 2; p++) {
		const char *ports = json_string_value(
			json_object_get(set, p ? "tcpPorts" : "udpPorts"));

		while (ports && *ports) {
			size_t n;
			const char *next = m365_ports_chunk(ports, &n);

			for (f = 0; f < 2; f++)
				prefix_lines(b, protos[p], ports, n, fam[f],
					     nf[f], &c->sigs);
			ports = next;
		}
	}
out:
	free(fam[0]);
	free(fam[1]);
}

/* A URL's name: "*.x.y" gives x.y, one without '*' itself; NULL when a
 * '*' is elsewhere. Lowercase, into @out. */
static const char *url_name(const char *url, char *out, size_t outlen)
{
	size_t i;

	if (!strncmp(url, "*.", 2))
		url += 2;
	if (strchr(url, '*') || strlen(url) >= outlen)
		return NULL;
	for (i = 0; url[i]; i++)
		out[i] = (char)tolower((unsigned char)url[i]);
	out[i] = '\0';
	return out;
}

/* The names written so far, to write each once: an open-addressing hash
 * set (a feed of 60,000 URLs took seconds with a list scanned for each). */
struct seen {
	char **v; /* cap slots, NULL when free */
	size_t n, cap;
};

/* FNV-1a */
static size_t name_hash(const char *s)
{
	size_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* the slot of @name in @v (@cap slots, a power of two): where it is, or
 * the free one where it would go */
static size_t seen_slot(char *const *v, size_t cap, const char *name)
{
	size_t i = name_hash(name) & (cap - 1);

	while (v[i] && strcmp(v[i], name))
		i = (i + 1) & (cap - 1);
	return i;
}

/* @s with twice the slots (64 at first); 0 or -1 if memory is short */
static int seen_grow(struct seen *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, i;
	char **v = calloc(cap, sizeof(*v));

	if (!v)
		return -1;
	for (i = 0; i < s->cap; i++)
		if (s->v[i])
			v[seen_slot(v, cap, s->v[i])] = s->v[i];
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* 1 if @name is new (and now seen), 0 if seen, -1 if memory is short */
static int seen_add(struct seen *s, const char *name)
{
	size_t i;

	/* at most half full: short probes */
	if (2 * (s->n + 1) > s->cap && seen_grow(s) != 0)
		return -1;
	i = seen_slot(s->v, s->cap, name);
	if (s->v[i])
		return 0;
	s->v[i] = strdup(name);
	if (!s->v[i])
		return -1;
	s->n++;
	return 1;
}

static void seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
}

struct names_out {
	struct sbuf *b;
	struct seen seen;
	struct m365_counts *c;
	void (*on_skip)(void *ctx, const char *url);
	void *ctx;
};

/* One set's "Teams name" lines under @head; its skipped URLs in
 * comments after. */
static void set_names(struct names_out *o, json_t *set, const char *head)
{
	json_t *urls = json_object_get(set, "urls"), *x;
	size_t i, len = 0;
	unsigned open = 0;
	int headed = 0;

	json_array_foreach(urls, i, x)
	{
		char buf[ADDRSIG_NAME_LEN + 8];
		const char *name =
			url_name(json_string_value(x), buf, sizeof(buf));
		int r = name ? seen_add(&o->seen, name) : 0;

		if (r < 0)
			o->b->nomem = 1;
		if (r <= 0)
			continue;
		if (!headed++)
			sb_printf(o->b, "%s", head);
		if (open && (open == LINE_MAX_PREFIXES ||
			     len + 1 + strlen(name) >= LINE_MAX_BYTES)) {
			sb_add(o->b, "\n", 1);
			open = 0;
		}
		if (!open) {
			sb_printf(o->b, "%s name", APP);
			len = strlen(APP) + strlen(" name");
		}
		sb_printf(o->b, " %s", name);
		len += 1 + strlen(name);
		open++;
		o->c->names++;
	}
	if (open)
		sb_add(o->b, "\n", 1);
	json_array_foreach(urls, i, x)
	{
		char buf[ADDRSIG_NAME_LEN + 8];
		const char *u = json_string_value(x);

		if (url_name(u, buf, sizeof(buf)))
			continue;
		/* a few named, the rest counted: one comment each made a
		 * feed of 120,000 such URLs a file skyfenced refuses */
		if (o->c->skipped < M365_SKIPS_NAMED) {
			sb_printf(
				o->b,
				"# endpoint set %lld: skipped, a '*' inside: %.300s\n",
				(long long)m365_set_id(set), u);
			if (o->on_skip)
				o->on_skip(o->ctx, u);
		}
		o->c->skipped++;
	}
}

/* "# endpoint set 11 (Optimize, required): addresses" (nothing from the
 * feed's free text: a comment must stay one line) */
static void set_head(json_t *set, const char *what, char *out, size_t outlen)
{
	snprintf(out, outlen, "# endpoint set %lld (%s, %s): %s\n",
		 (long long)m365_set_id(set),
		 json_string_value(json_object_get(set, "category")),
		 json_is_true(json_object_get(set, "required"))
			 ? "required"
			 : "not required",
		 what);
}

/* the body: every set's addresses, then every set's names */
static void render_body(struct sbuf *b, json_t **sets, size_t n,
			struct m365_counts *c,
			void (*on_skip)(void *ctx, const char *url), void *ctx)
{
	struct names_out o = { .b = b, .c = c, .on_skip = on_skip, .ctx = ctx };
	char head[128];
	size_t i;

	for (i = 0; i < n; i++) {
		if (!json_array_size(json_object_get(sets[i], "ips")))
			continue;
		set_head(sets[i], "addresses", head, sizeof(head));
		sb_printf(b, "%s", head);
		set_prefixes(b, sets[i], c);
	}
	for (i = 0; i < n; i++) {
		set_head(sets[i], "names", head, sizeof(head));
		set_names(&o, sets[i], head);
	}
	if (c->skipped > M365_SKIPS_NAMED)
		sb_printf(b, "# and %u more URLs with a '*' inside skipped\n",
			  c->skipped - M365_SKIPS_NAMED);
	seen_free(&o.seen);
}

char *m365_render(const struct m365_list *l, const char *instance,
		  const char *version, int64_t fetched, struct m365_counts *c,
		  void (*on_skip)(void *ctx, const char *url), void *ctx)
{
	struct m365_counts cc = { 0 };
	struct sbuf body = { 0 }, b = { 0 };
	char when[32];
	size_t n;
	json_t **sets = skype_sets(l, &n);

	if (!sets)
		return NULL;
	cc.sets = (unsigned)n;
	render_body(&body, sets, n, &cc, on_skip, ctx);
	free(sets);
	m365_time_format(fetched, when, sizeof(when));
	sb_printf(&b, "feed instance=%s version=%s fetched=%s\n", instance,
		  version, when);
	sb_printf(
		&b,
		"# Microsoft 365's endpoints of the service area %s (Microsoft Teams),\n"
		"# from its IP address and URL web service, written by skyfence-endpoints(8),\n"
		"# which replaces this file at each update: do not edit it.\n"
		"# endpoint sets: %u; prefixes: %u IPv4, %u IPv6; names: %u; URLs skipped: %u.\n",
		SERVICE_AREA, cc.sets, cc.v4, cc.v6, cc.names, cc.skipped);
	if (body.n)
		sb_add(&b, body.p, body.n);
	b.nomem |= body.nomem;
	free(body.p);
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	if (c)
		*c = cc;
	return b.p;
}

void m365_count(const struct m365_list *l, struct m365_counts *c)
{
	char *t = m365_render(l, "Worldwide", "0000000000", 0, c, NULL, NULL);

	if (!t)
		memset(c, 0, sizeof(*c));
	free(t);
}

static int teams_only(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, APP) ? 0 : M365_TEAMS_ID;
}

struct first_error {
	char *err;
	size_t errlen;
	int seen;
};

static void keep_first(void *ctx, const char *msg)
{
	struct first_error *fe = ctx;

	if (!fe->seen++)
		m365_say(fe->err, fe->errlen, "%s", msg);
}

/* "feed instance=I version=V fetched=YYYY-MM-DDTHH:MM:SSZ" */
static int feed_line_ok(const char *text, size_t len)
{
	char inst[M365_INSTANCE_LEN], ver[16], when[32], line[128];
	size_t n = 0;
	int end = 0;

	while (n < len && n < sizeof(line) - 1 && text[n] != '\n')
		n++;
	memcpy(line, text, n);
	line[n] = '\0';
	if (sscanf(line, "feed instance=%31s version=%15s fetched=%31s%n", inst,
		   ver, when, &end) != 3 ||
	    (size_t)end != n)
		return 0;
	return m365_instance_ok(inst) && m365_version_ok(ver) &&
	       strlen(when) == 20 && when[4] == '-' && when[10] == 'T' &&
	       when[19] == 'Z';
}

int m365_render_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct policy_names names = { .proto_id = teams_only };
	struct first_error fe = { .err = err, .errlen = errlen };
	struct addrsig *s;
	unsigned nerr = 0;
	uint32_t n, names_n;
	int ok;

	if (len > M365_MAX_BYTES)
		return m365_fail(
			err, errlen,
			"signatures: %zu bytes, more than %u (1 MiB; skyfenced reads policy files of at most %u)",
			len, M365_MAX_BYTES, POLICY_MAX_FILE);
	if (!feed_line_ok(text, len))
		return m365_fail(
			err, errlen,
			"signatures:1: not a feed line (feed instance=I version=V fetched=T)");
	s = addrsig_parse("signatures", text, len, &names, keep_first, &fe,
			  &nerr);
	if (!s)
		return -1;
	ok = s->feed.present;
	n = s->n;
	names_n = s->n_names;
	addrsig_free(s);
	if (!ok)
		return m365_fail(err, errlen, "signatures: no feed line read");
	/* skyfenced takes ADDRSIG_MAX of each from the address list and the
	 * feed together: the feed keeps to half, the address list has the
	 * rest */
	if (n > M365_MAX_SIGS)
		return m365_fail(
			err, errlen,
			"signatures: %u prefix signatures, more than %u (half of skyfenced's %u: the other half is the address list's)",
			n, M365_MAX_SIGS, ADDRSIG_MAX);
	if (names_n > M365_MAX_NAMES)
		return m365_fail(
			err, errlen,
			"signatures: %u names, more than %u (half of skyfenced's %u: the other half is the address list's)",
			names_n, M365_MAX_NAMES, ADDRSIG_MAX);
	return 0;
}
