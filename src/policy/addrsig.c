/* addrsig.c - address signatures (addrsig.h). */
#define _GNU_SOURCE /* strptime, timegm */
#include "policy/addrsig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

static int build_trees(struct addrsig *s);
static void sort_names(struct addrsig *s);

/* One port or range "P" / "P-Q"; 0, or -1 with a message. */
static int port_range(const char *s, size_t n, uint16_t *lo, uint16_t *hi,
		      char *err, size_t errlen)
{
	unsigned long a, b;
	char buf[32], *end;

	if (n == 0 || n >= sizeof(buf))
		goto bad;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		goto bad;
	errno = 0;
	a = strtoul(buf, &end, 10);
	b = a;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			goto bad;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || errno || a < 1 || a > 65535 || b < 1 || b > 65535)
		goto bad;
	if (b < a) {
		snprintf(
			err, errlen,
			"port range '%s' runs backwards (did you mean %lu-%lu?)",
			buf, b, a);
		return -1;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	snprintf(
		err, errlen,
		"invalid port '%.*s' (expected 1-65535 or a range such as 3478-3481)",
		(int)(n < 32 ? n : 32), s);
	return -1;
}

int addrsig_ports(const char *text, uint16_t *lo, uint16_t *hi, char *err,
		  size_t errlen)
{
	int n = 0;

	for (;;) {
		size_t w = strcspn(text, ",");

		if (n == POLICY_MAX_PORTS) {
			snprintf(err, errlen, "too many ports (at most %d)",
				 POLICY_MAX_PORTS);
			return -1;
		}
		if (port_range(text, w, &lo[n], &hi[n], err, errlen) != 0)
			return -1;
		n++;
		if (!text[w])
			return n;
		text += w + 1;
	}
}

/* A domain for a name signature: letters, digits, '-' and '.', two labels
 * at least, none empty. 0; -1 with a message in @err, or with @err empty
 * when memory is short. */
static int add_name(struct addrsig *s, uint32_t *cap, const char *d,
		    uint16_t app, uint32_t line, char *err, size_t errlen)
{
	struct addrsig_name *x;
	size_t n = strlen(d), i;
	int dots = 0;

	err[0] = '\0';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (i == 0 || d[i - 1] == '.')
				break;
			dots++;
		} else if (!isalnum(c) && c != '-') {
			break;
		}
	}
	if (i < n || n == 0 || n >= ADDRSIG_NAME_LEN || !dots ||
	    d[n - 1] == '.') {
		snprintf(
			err, errlen,
			"invalid domain '%.64s' (letters, digits, '-' and '.', two labels at least, at most %d bytes)",
			d, ADDRSIG_NAME_LEN - 1);
		return -1;
	}
	if (s->n_names == ADDRSIG_MAX) {
		snprintf(err, errlen, "too many names (at most %d)",
			 ADDRSIG_MAX);
		return -1;
	}
	if (s->n_names == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 16;
		struct addrsig_name *nn = realloc(s->names, nc * sizeof(*nn));

		if (!nn)
			return -1;
		s->names = nn;
		*cap = nc;
	}
	x = &s->names[s->n_names++];
	for (i = 0; i <= n; i++)
		x->name[i] = (char)tolower((unsigned char)d[i]);
	x->app = app;
	x->line = line;
	return 0;
}

/* A signatures file as it is read: each error is reported and counted,
 * and the file read on; memory short stops it. */
struct sig_reader {
	const char *name;
	const struct policy_names *names;
	void (*on_error)(void *ctx, const char *msg);
	void *ctx;
	struct addrsig *s;
	uint32_t lineno, cap, cap_names;
	unsigned errs;
	int nomem;
	int sigs_in_file; /* signature lines read so far in this file */
	int feed_seen;	  /* a "feed" line, in any file */
};

/* the words of a line: APP PROTO PORTS and its prefixes */
#define SIG_MAX_WORDS (2 + 1 + 1 + 64)

static void report(struct sig_reader *rd, const char *msg)
{
	char buf[768];

	snprintf(buf, sizeof(buf), "%s:%u: %s", rd->name, rd->lineno, msg);
	if (rd->on_error)
		rd->on_error(rd->ctx, buf);
	rd->errs++;
}

/* Splits @line at blanks into at most @max words, NUL-terminated in place. */
static int words(char *line, char **w, int max)
{
	int n = 0;

	for (;;) {
		line += strspn(line, " \t\r");
		if (!*line)
			return n;
		if (n == max)
			return max + 1;
		w[n++] = line;
		line += strcspn(line, " \t\r");
		if (*line)
			*line++ = '\0';
	}
}

/* The next line of @text from *@o into @line, without its comment; 0, or
 * -1 when it is refused (reported). *@o moves past it either way. */
static int next_line(struct sig_reader *rd, const char *text, size_t len,
		     size_t *o, char *line, size_t linelen)
{
	size_t n = 0;

	rd->lineno++;
	while (*o + n < len && text[*o + n] != '\n')
		n++;
	if (n >= linelen) {
		report(rd, "line too long (at most 1023 bytes)");
		*o += n + 1;
		return -1;
	}
	memcpy(line, text + *o, n);
	line[n] = '\0';
	*o += n + 1;
	if (memchr(line, '\0', n)) {
		report(rd, "NUL byte in the line");
		return -1;
	}
	line[strcspn(line, "#")] = '\0';
	return 0;
}

/* APP name DOMAIN...: each domain added, or reported. */
static void add_names(struct sig_reader *rd, uint16_t app, char **w, int nw)
{
	char err[512];
	int i;

	for (i = 2; i < nw; i++)
		if (add_name(rd->s, &rd->cap_names, w[i], app, rd->lineno, err,
			     sizeof(err)) != 0) {
			if (!err[0]) {
				rd->nomem = 1;
				return;
			}
			report(rd, err);
		}
}

/* PROTO PORTS into @base: 0, or -1 (reported). */
static int parse_transport(struct sig_reader *rd, struct addrsig_entry *base,
			   char **w)
{
	char err[512];
	int n;

	if (!strcmp(w[1], "udp")) {
		base->l4proto = IPPROTO_UDP;
	} else if (!strcmp(w[1], "tcp")) {
		base->l4proto = IPPROTO_TCP;
	} else {
		snprintf(err, sizeof(err),
			 "unknown transport '%s' (expected tcp, udp or name)",
			 w[1]);
		report(rd, err);
		return -1;
	}
	n = addrsig_ports(w[2], base->port_lo, base->port_hi, err, sizeof(err));
	if (n < 0) {
		report(rd, err);
		return -1;
	}
	base->n_ports = (uint8_t)n;
	return 0;
}

/* An entry of @base for each PREFIX..., or an error reported. */
static void add_prefixes(struct sig_reader *rd, struct addrsig_entry *base,
			 char **w, int nw)
{
	struct addrsig *s = rd->s;
	char err[512];
	int i;

	for (i = 3; i < nw; i++) {
		int v6;

		if (lpm_prefix_parse(w[i], &base->pfx, &v6, err, sizeof(err)) !=
		    0) {
			report(rd, err);
			continue;
		}
		if (s->n == ADDRSIG_MAX) {
			report(rd, "too many signatures (at most 4096)");
			return;
		}
		if (s->n == rd->cap) {
			uint32_t nc = rd->cap ? rd->cap * 2 : 32;
			struct addrsig_entry *ne =
				realloc(s->e, nc * sizeof(*ne));

			if (!ne) {
				rd->nomem = 1;
				return;
			}
			s->e = ne;
			rd->cap = nc;
		}
		s->e[s->n++] = *base;
		if (v6)
			s->v6++;
		else
			s->v4++;
	}
}

/* "YYYY-MM-DDTHH:MM:SSZ" as epoch seconds; -1 if it is not one. */
static int64_t utc_time(const char *v)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(v) != 20)
		return -1;
	end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	return (int64_t)timegm(&tm);
}

/* "YYYYMMDDNN": the day's 00:00 UTC as epoch seconds; -1 if it is not
 * one (the month and day are checked by a round trip through timegm). */
static int64_t version_day(const char *v)
{
	struct tm tm;
	int64_t t;
	size_t i;

	if (strlen(v) != 10)
		return -1;
	for (i = 0; i < 10; i++)
		if (!isdigit((unsigned char)v[i]))
			return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 +
		     (v[2] - '0') * 10 + (v[3] - '0') - 1900;
	tm.tm_mon = (v[4] - '0') * 10 + (v[5] - '0') - 1;
	tm.tm_mday = (v[6] - '0') * 10 + (v[7] - '0');
	if (tm.tm_year < 100 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1)
		return -1;
	t = (int64_t)timegm(&tm);
	if (tm.tm_mday != (v[6] - '0') * 10 + (v[7] - '0'))
		return -1; /* 20260231 rolled over */
	return t;
}

/* "feed instance=I version=V fetched=T": the feed's stamp (addrsig.h). */
static void parse_feed_line(struct sig_reader *rd, char **w, int nw)
{
	struct addrsig_feed *fd = &rd->s->feed;
	const char *inst = NULL, *ver = NULL, *at = NULL;
	int i;

	if (rd->feed_seen++) {
		report(rd, "a second 'feed' line (one per list)");
		return;
	}
	if (rd->sigs_in_file) {
		report(rd,
		       "the 'feed' line comes before the file's signatures");
		return;
	}
	for (i = 1; i < nw; i++) {
		if (!strncmp(w[i], "instance=", 9) && !inst)
			inst = w[i] + 9;
		else if (!strncmp(w[i], "version=", 8) && !ver)
			ver = w[i] + 8;
		else if (!strncmp(w[i], "fetched=", 8) && !at)
			at = w[i] + 8;
		else
			break;
	}
	if (i < nw || !inst || !ver || !at) {
		report(rd,
		       "expected 'feed instance=NAME version=YYYYMMDDNN fetched=YYYY-MM-DDTHH:MM:SSZ'");
		return;
	}
	for (i = 0; inst[i]; i++)
		if (!isalnum((unsigned char)inst[i]))
			break;
	if (inst[i] || !i || (size_t)i >= sizeof(fd->instance)) {
		report(rd, "invalid feed instance (letters and digits, at "
			   "most 31)");
		return;
	}
	fd->version_date = version_day(ver);
	fd->fetched = utc_time(at);
	if (fd->version_date < 0 || fd->fetched < 0) {
		report(rd,
		       fd->version_date < 0
			       ? "invalid feed version (YYYYMMDDNN)"
			       : "invalid fetch time (YYYY-MM-DDTHH:MM:SSZ, UTC)");
		return;
	}
	snprintf(fd->instance, sizeof(fd->instance), "%s", inst);
	snprintf(fd->version, sizeof(fd->version), "%s", ver);
	fd->present = 1;
}

/* One line, without its comment: APP PROTO PORTS PREFIX... or APP name
 * DOMAIN..., a feed's stamp, or nothing. */
static void parse_sig_line(struct sig_reader *rd, char *line)
{
	char *w[SIG_MAX_WORDS], err[512];
	struct addrsig_entry base;
	int nw, app;

	nw = words(line, w, SIG_MAX_WORDS);
	if (nw == 0)
		return;
	if (!strcmp(w[0], "feed") && nw <= 8) {
		parse_feed_line(rd, w, nw);
		return;
	}
	rd->sigs_in_file++;
	if (nw > SIG_MAX_WORDS) {
		report(rd, "too many prefixes on one line (at most 64)");
		return;
	}
	if (nw < 4 && !(nw == 3 && !strcmp(w[1], "name"))) {
		report(rd,
		       "expected APP PROTO PORTS PREFIX... or APP name DOMAIN... (for example 'Teams udp 3478-3481 13.107.64.0/18')");
		return;
	}
	memset(&base, 0, sizeof(base));
	base.line = rd->lineno;
	app = rd->names->proto_id(rd->names->ctx, w[0]);
	if (app <= 0) {
		snprintf(err, sizeof(err), "unknown protocol '%s'", w[0]);
		report(rd, err);
		return;
	}
	base.app = (uint16_t)app;
	if (!strcmp(w[1], "name")) {
		add_names(rd, base.app, w, nw);
		return;
	}
	if (parse_transport(rd, &base, w) != 0)
		return;
	add_prefixes(rd, &base, w, nw);
}

struct addrsig *addrsig_parse(const char *name, const char *text, size_t len,
			      const struct policy_names *names,
			      void (*on_error)(void *ctx, const char *msg),
			      void *ctx, unsigned *nerr)
{
	struct addrsig_file f = { name, text, len };

	return addrsig_parse_files(&f, 1, names, on_error, ctx, nerr);
}

struct addrsig *addrsig_parse_files(const struct addrsig_file *f, unsigned n,
				    const struct policy_names *names,
				    void (*on_error)(void *ctx,
						     const char *msg),
				    void *ctx, unsigned *nerr)
{
	struct sig_reader rd = { .names = names,
				 .on_error = on_error,
				 .ctx = ctx };
	unsigned i;

	rd.s = calloc(1, sizeof(*rd.s));
	if (!rd.s)
		goto nomem;
	for (i = 0; i < n && !rd.nomem; i++) {
		size_t o = 0;

		rd.name = f[i].name;
		rd.lineno = 0;
		rd.sigs_in_file = 0;
		while (o < f[i].len && !rd.nomem) {
			char line[1024];

			if (next_line(&rd, f[i].text, f[i].len, &o, line,
				      sizeof(line)) == 0)
				parse_sig_line(&rd, line);
		}
	}
	if (rd.nomem)
		goto nomem;
	if (nerr)
		*nerr = rd.errs;
	if (rd.errs) {
		addrsig_free(rd.s);
		return NULL;
	}
	if (build_trees(rd.s) != 0)
		goto nomem;
	sort_names(rd.s);
	return rd.s;
nomem:
	if (on_error)
		on_error(ctx, "address signatures: out of memory");
	if (nerr)
		*nerr = rd.errs + 1;
	addrsig_free(rd.s);
	return NULL;
}

void addrsig_free(struct addrsig *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < 4; i++)
		lpm_destroy(s->tree[i]);
	free(s->e);
	free(s->names);
	free(s);
}

static unsigned tree_of(int v4, uint8_t l4proto)
{
	return (v4 ? 0u : 2u) + (l4proto == IPPROTO_TCP ? 1u : 0u);
}

static int is_v4(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, mapped, 12) == 0;
}

/* Each prefix once in its tree; entries of the same prefix chained in
 * file order. */
static int build_trees(struct addrsig *s)
{
	uint32_t i;
	unsigned t;

	for (t = 0; t < 4; t++) {
		s->tree[t] = lpm_create(t < 2 ? 32 : 128);
		if (!s->tree[t])
			return -1;
	}
	for (i = 0; i < s->n; i++) {
		struct addrsig_entry *e = &s->e[i];
		int v4 = is_v4(e->pfx.addr) && e->pfx.plen >= 96;
		struct lpm *l = s->tree[tree_of(v4, e->l4proto)];
		int32_t old = -1;
		int rc;

		e->next_same = -1;
		rc = lpm_insert(l, v4 ? e->pfx.addr + 12 : e->pfx.addr,
				v4 ? e->pfx.plen - 96u : e->pfx.plen,
				(int32_t)i, &old);
		if (rc == -EEXIST) {
			while (s->e[old].next_same >= 0)
				old = s->e[old].next_same;
			s->e[old].next_same = (int32_t)i;
		} else if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

uint16_t addrsig_match(const struct addrsig *s, const uint8_t addr[16],
		       uint16_t port, uint8_t l4proto)
{
	const struct lpm *l;
	const uint8_t *a;
	int v4 = is_v4(addr);
	int32_t v;
	unsigned k;

	if (!s || !port || (l4proto != IPPROTO_UDP && l4proto != IPPROTO_TCP))
		return 0;
	l = s->tree[tree_of(v4, l4proto)];
	a = v4 ? addr + 12 : addr;
	/* the longest covering prefix first, then the shorter ones */
	for (v = lpm_lookup(l, a); v >= 0;) {
		const struct addrsig_entry *e;
		int32_t i;
		unsigned plen = s->e[v].pfx.plen - (v4 ? 96u : 0u);

		for (i = v; i >= 0; i = s->e[i].next_same) {
			e = &s->e[i];
			for (k = 0; k < e->n_ports; k++)
				if (port >= e->port_lo[k] &&
				    port <= e->port_hi[k])
					return e->app;
		}
		if (plen == 0)
			break;
		v = lpm_lookup_prefix(l, a, plen - 1);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	const struct addrsig_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* the same name twice: the first line wins */
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Sorted by name, so a host's suffixes are looked up, never the list
 * scanned: a flood of named flows costs a few binary searches each. */
static void sort_names(struct addrsig *s)
{
	if (s->n_names > 1)
		qsort(s->names, s->n_names, sizeof(*s->names), name_cmp);
}

uint16_t addrsig_match_name(const struct addrsig *s, const char *host)
{
	char buf[ADDRSIG_NAME_LEN];
	size_t hl, i;

	if (!s || !s->n_names || !host[0])
		return 0;
	hl = strlen(host);
	while (hl && host[hl - 1] == '.')
		hl--;
	/* each suffix of the host at a label boundary, longest first */
	for (i = 0; i < hl; i++) {
		size_t n = hl - i, k, lo = 0, hi = s->n_names;

		if (i > 0 && host[i - 1] != '.')
			continue;
		if (n >= sizeof(buf))
			continue;
		for (k = 0; k < n; k++)
			buf[k] = (char)tolower((unsigned char)host[i + k]);
		buf[n] = '\0';
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(s->names[mid].name, buf);

			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->n_names && !strcmp(s->names[lo].name, buf))
			return s->names[lo].app;
	}
	return 0;
}
