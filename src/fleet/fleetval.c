/* fleetval.c - the fleet bucket's values (fleetval.h). */
#include "fleet/fleetval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ---- pieces ---- */

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int fleetval_node_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > FLEET_NODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!id_char(id[i]))
			return 0;
	return 1;
}

int fleetval_apps_ok(const char *apps)
{
	size_t n = strlen(apps), i;

	if (n > FLEET_APPS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = apps[i];

		if (c == ' ') {
			if (i == 0 || i + 1 == n || apps[i + 1] == ' ')
				return 0;
		} else if (!id_char(c) && c != '.') {
			return 0;
		}
	}
	return 1;
}

int fleetval_node_key(const char *key, char id[FLEET_NODE_MAX + 1])
{
	const char *s, *dot;
	size_t n;

	if (strncmp(key, "node.", 5) != 0)
		return 0;
	s = key + 5;
	dot = strchr(s, '.');
	if (!dot)
		return 0;
	n = (size_t)(dot - s);
	if (n == 0 || n > FLEET_NODE_MAX)
		return 0;
	memcpy(id, s, n);
	id[n] = '\0';
	if (!fleetval_node_ok(id))
		return 0;
	if (!strcmp(dot + 1, "status"))
		return 's';
	if (!strcmp(dot + 1, "head"))
		return 'h';
	return 0;
}

void fleetval_node_key_of(const char *id, int kind, char out[FLEET_KEY_MAX])
{
	snprintf(out, FLEET_KEY_MAX, "node.%.*s.%s", FLEET_NODE_MAX, id,
		 kind == 'h' ? "head" : "status");
}

static int hex_ok(const char *s)
{
	size_t i;

	if (strlen(s) != FLEET_HEX_LEN)
		return 0;
	for (i = 0; i < FLEET_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int sha256_hex(const char *data, size_t len, char out[FLEET_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned n = 0, i;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* A decimal number without a sign or a leading zero. */
static int number(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* -1 or 0 to 2^31-1: what uid_of reads, so what the encoders write */
static int uid_ok(long uid)
{
	return uid >= -1 && uid <= 0x7fffffffL;
}

/* "-1" or a number, as a uid. */
static int uid_of(const char *s, long *uid)
{
	uint64_t v;

	if (!strcmp(s, "-1")) {
		*uid = -1;
		return 0;
	}
	if (number(s, &v) != 0 || v > 0x7fffffffu)
		return -1;
	*uid = (long)v;
	return 0;
}

/* ---- a reader of lines ---- */

struct lines {
	const char *p, *end;
	char line[FLEET_WHAT_MAX + 64];
	char *err;
	size_t errlen;
};

/* The next line into l->line (without its newline); 0, 1 at the end, -1
 * with @err set (no newline, too long, a control byte). */
static int next_line(struct lines *l)
{
	const char *nl;
	size_t n, i;

	if (l->p >= l->end)
		return 1;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	if (!nl) {
		snprintf(l->err, l->errlen, "a line without its newline");
		return -1;
	}
	n = (size_t)(nl - l->p);
	if (n >= sizeof(l->line)) {
		snprintf(l->err, l->errlen, "a line over %zu bytes",
			 sizeof(l->line) - 1);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)l->p[i] < 0x20 ||
		    (unsigned char)l->p[i] >= 0x7f) {
			snprintf(l->err, l->errlen,
				 "a control byte (0x%02x) in a line",
				 (unsigned char)l->p[i]);
			return -1;
		}
	memcpy(l->line, l->p, n);
	l->line[n] = '\0';
	l->p = nl + 1;
	return 0;
}

/* The next line, which must be "@name" alone or "@name VALUE"; *@val
 * points at VALUE ("" for the name alone). 0, or -1 with @err set. */
static int field(struct lines *l, const char *name, const char **val)
{
	size_t n = strlen(name);
	int r = next_line(l);

	if (r > 0)
		snprintf(l->err, l->errlen, "'%s' missing", name);
	if (r != 0)
		return -1;
	if (strncmp(l->line, name, n) != 0 ||
	    (l->line[n] != '\0' && l->line[n] != ' ')) {
		snprintf(l->err, l->errlen, "'%s' expected, got '%.40s'", name,
			 l->line);
		return -1;
	}
	/* an empty value is written as the name alone: a value has one
	 * form, the encoder's */
	if (l->line[n] == ' ' && !l->line[n + 1]) {
		snprintf(l->err, l->errlen, "'%s' ends in a space", name);
		return -1;
	}
	*val = l->line[n] ? l->line + n + 1 : l->line + n;
	return 0;
}

static void lines_init(struct lines *l, const char *buf, size_t len, char *err,
		       size_t errlen)
{
	l->p = buf;
	l->end = buf + len;
	l->err = err;
	l->errlen = errlen;
}

static int header(struct lines *l, const char *kind)
{
	if (next_line(l) != 0 || strcmp(l->line, kind) != 0) {
		if (l->p <= l->end && !l->err[0])
			snprintf(l->err, l->errlen, "not a %s value", kind);
		return -1;
	}
	return 0;
}

/* "by NODE UID" */
static int by_field(struct lines *l, char by[FLEET_NODE_MAX + 1], long *uid)
{
	const char *v, *sp;

	if (field(l, "by", &v) != 0)
		return -1;
	sp = strchr(v, ' ');
	if (!sp || (size_t)(sp - v) > FLEET_NODE_MAX) {
		snprintf(l->err, l->errlen, "'by' needs a node and a uid");
		return -1;
	}
	memcpy(by, v, (size_t)(sp - v));
	by[sp - v] = '\0';
	if (!fleetval_node_ok(by) || uid_of(sp + 1, uid) != 0) {
		snprintf(l->err, l->errlen,
			 "'by %.80s' is not a node and a uid", v);
		return -1;
	}
	return 0;
}

static int num_field(struct lines *l, const char *name, uint64_t *v)
{
	const char *s;

	if (field(l, name, &s) != 0)
		return -1;
	if (number(s, v) != 0) {
		snprintf(l->err, l->errlen, "'%s %.40s' is not a number", name,
			 s);
		return -1;
	}
	return 0;
}

static int apps_field(struct lines *l, const char *s, char *out)
{
	if (!fleetval_apps_ok(s)) {
		snprintf(l->err, l->errlen, "'%.80s' is not a list of apps", s);
		return -1;
	}
	snprintf(out, FLEET_APPS_MAX + 1, "%s", s);
	return 0;
}

static int end_of(struct lines *l)
{
	if (l->p != l->end) {
		snprintf(l->err, l->errlen, "more after the last field");
		return -1;
	}
	return 0;
}

/* ---- policy ---- */

char *fleetval_policy_encode(const struct fleet_policy *p, size_t *len,
			     char *err, size_t errlen)
{
	char head[FLEET_WHAT_MAX + 512], sha[FLEET_HEX_LEN + 1];
	size_t i;
	char *out;
	int n;

	if (!fleetval_node_ok(p->by) || !uid_ok(p->uid) ||
	    !text_ok(p->what, FLEET_WHAT_MAX) || p->len > FLEET_POLICY_MAX) {
		snprintf(err, errlen,
			 p->len > FLEET_POLICY_MAX
				 ? "the policy is over the fleet's bound"
				 : "a field the fleet would refuse");
		return NULL;
	}
	for (i = 0; i < p->len; i++)
		if (!p->text[i]) {
			snprintf(err, errlen, "a NUL byte in the policy");
			return NULL;
		}
	if (sha256_hex(p->text, p->len, sha) != 0) {
		snprintf(err, errlen, "SHA-256 (OpenSSL) failed");
		return NULL;
	}
	n = snprintf(head, sizeof(head),
		     "skyfence-policy 1\nsha256 %s\nby %s %ld\nwhat%s%s\n"
		     "base %llu\n\n",
		     sha, p->by, p->uid, p->what[0] ? " " : "", p->what,
		     (unsigned long long)p->base);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(err, errlen, "a field the fleet would refuse");
		return NULL;
	}
	out = malloc((size_t)n + p->len + 1);
	if (!out) {
		snprintf(err, errlen, "no memory");
		return NULL;
	}
	memcpy(out, head, (size_t)n);
	if (p->len) /* an empty document may be text NULL */
		memcpy(out + n, p->text, p->len);
	out[(size_t)n + p->len] = '\0';
	*len = (size_t)n + p->len;
	return out;
}

int fleetval_policy_decode(const char *buf, size_t len, struct fleet_policy *p,
			   char *err, size_t errlen)
{
	struct lines l;
	const char *v;
	char sha[FLEET_HEX_LEN + 1];
	size_t i;

	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	lines_init(&l, buf, len, err, errlen);
	if (header(&l, "skyfence-policy 1") != 0)
		return -1;
	if (field(&l, "sha256", &v) != 0)
		return -1;
	if (!hex_ok(v)) {
		snprintf(err, errlen,
			 "'sha256' is not 64 lowercase hex digits");
		return -1;
	}
	memcpy(p->sha256, v, FLEET_HEX_LEN + 1);
	if (by_field(&l, p->by, &p->uid) != 0 || field(&l, "what", &v) != 0)
		return -1;
	if (strlen(v) > FLEET_WHAT_MAX) {
		snprintf(err, errlen, "'what' is over %d bytes",
			 FLEET_WHAT_MAX);
		return -1;
	}
	snprintf(p->what, sizeof(p->what), "%s", v);
	if (num_field(&l, "base", &p->base) != 0)
		return -1;
	if (next_line(&l) != 0 || l.line[0]) {
		if (!err[0])
			snprintf(err, errlen,
				 "no empty line before the policy");
		return -1;
	}
	p->text = l.p;
	p->len = (size_t)(l.end - l.p);
	if (p->len > FLEET_POLICY_MAX) {
		snprintf(err, errlen, "the policy is over the fleet's bound");
		return -1;
	}
	for (i = 0; i < p->len; i++)
		if (!p->text[i]) {
			snprintf(err, errlen, "a NUL byte in the policy");
			return -1;
		}
	if (sha256_hex(p->text, p->len, sha) != 0) {
		snprintf(err, errlen, "SHA-256 (OpenSSL) failed");
		return -1;
	}
	if (strcmp(sha, p->sha256) != 0) {
		snprintf(err, errlen,
			 "the policy's SHA-256 is not the one it names: cut "
			 "or changed on the way");
		return -1;
	}
	return 0;
}

/* ---- kill switch ---- */

int fleetval_ks_encode(const struct fleet_ks *k, char *out, size_t size)
{
	int n;

	if (!fleetval_apps_ok(k->apps) || !fleetval_node_ok(k->by) ||
	    !uid_ok(k->uid))
		return -1;
	n = snprintf(out, size, "skyfence-killswitch 1\napps%s%s\nby %s %ld\n",
		     k->apps[0] ? " " : "", k->apps, k->by, k->uid);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int fleetval_ks_decode(const char *buf, size_t len, struct fleet_ks *k,
		       char *err, size_t errlen)
{
	struct lines l;
	const char *v;

	memset(k, 0, sizeof(*k));
	err[0] = '\0';
	lines_init(&l, buf, len, err, errlen);
	if (header(&l, "skyfence-killswitch 1") != 0 ||
	    field(&l, "apps", &v) != 0 || apps_field(&l, v, k->apps) != 0 ||
	    by_field(&l, k->by, &k->uid) != 0)
		return -1;
	return end_of(&l);
}

/* ---- status ---- */

int fleetval_status_encode(const struct fleet_status *s, char *out, size_t size)
{
	size_t o;
	unsigned i;
	int n;

	if (!fleetval_apps_ok(s->ks) || !fleetval_apps_ok(s->local) ||
	    !hex_ok(s->digest) || !s->health[0] ||
	    !text_ok(s->health, FLEET_HEALTH_MAX) ||
	    s->n_conflicts > FLEET_CONFLICTS)
		return -1;
	n = snprintf(out, size,
		     "skyfence-status 1\nbeat %llu\npolicy %llu\n"
		     "killswitch %llu%s%s\nlocal%s%s\ndigest %s\nhealth %s\n",
		     (unsigned long long)s->beat,
		     (unsigned long long)s->policy_rev,
		     (unsigned long long)s->ks_rev, s->ks[0] ? " " : "", s->ks,
		     s->local[0] ? " " : "", s->local, s->digest, s->health);
	if (n < 0 || (size_t)n >= size)
		return -1;
	o = (size_t)n;
	for (i = 0; i < s->n_conflicts; i++) {
		if (!s->conflict[i][0] ||
		    !text_ok(s->conflict[i], FLEET_CONFLICT_MAX))
			return -1;
		n = snprintf(out + o, size - o, "conflict %s\n",
			     s->conflict[i]);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	return (int)o;
}

int fleetval_status_decode(const char *buf, size_t len, struct fleet_status *s,
			   char *err, size_t errlen)
{
	struct lines l;
	const char *v, *sp;
	uint64_t rev;

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	lines_init(&l, buf, len, err, errlen);
	if (header(&l, "skyfence-status 1") != 0 ||
	    num_field(&l, "beat", &s->beat) != 0 ||
	    num_field(&l, "policy", &s->policy_rev) != 0 ||
	    field(&l, "killswitch", &v) != 0)
		return -1;
	sp = strchr(v, ' ');
	{
		char num[24];
		size_t n = sp ? (size_t)(sp - v) : strlen(v);

		if (n >= sizeof(num) || (memcpy(num, v, n), num[n] = '\0',
					 number(num, &rev)) != 0) {
			snprintf(err, errlen,
				 "'killswitch' needs a revision first");
			return -1;
		}
	}
	if (sp && !sp[1]) {
		snprintf(err, errlen, "'killswitch' ends in a space");
		return -1;
	}
	s->ks_rev = rev;
	if (apps_field(&l, sp ? sp + 1 : "", s->ks) != 0 ||
	    field(&l, "local", &v) != 0 || apps_field(&l, v, s->local) != 0 ||
	    field(&l, "digest", &v) != 0)
		return -1;
	if (!hex_ok(v)) {
		snprintf(err, errlen,
			 "'digest' is not 64 lowercase hex digits");
		return -1;
	}
	memcpy(s->digest, v, FLEET_HEX_LEN + 1);
	if (field(&l, "health", &v) != 0)
		return -1;
	if (!v[0] || strlen(v) > FLEET_HEALTH_MAX) {
		snprintf(err, errlen, "'health' is empty or too long");
		return -1;
	}
	snprintf(s->health, sizeof(s->health), "%s", v);
	while (l.p < l.end) {
		if (s->n_conflicts == FLEET_CONFLICTS) {
			snprintf(err, errlen, "more than %d conflicts",
				 FLEET_CONFLICTS);
			return -1;
		}
		if (field(&l, "conflict", &v) != 0)
			return -1;
		if (!v[0] || strlen(v) > FLEET_CONFLICT_MAX) {
			snprintf(err, errlen, "a conflict empty or too long");
			return -1;
		}
		snprintf(s->conflict[s->n_conflicts++], FLEET_CONFLICT_MAX + 1,
			 "%s", v);
	}
	return 0;
}

/* ---- audit head ---- */

int fleetval_head_encode(const struct fleet_head *h, char *out, size_t size)
{
	int n;

	if (!hex_ok(h->sha256))
		return -1;
	n = snprintf(out, size, "skyfence-head 1\nseq %llu\nsha256 %s\n",
		     (unsigned long long)h->seq, h->sha256);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int fleetval_head_decode(const char *buf, size_t len, struct fleet_head *h,
			 char *err, size_t errlen)
{
	struct lines l;
	const char *v;

	memset(h, 0, sizeof(*h));
	err[0] = '\0';
	lines_init(&l, buf, len, err, errlen);
	if (header(&l, "skyfence-head 1") != 0 ||
	    num_field(&l, "seq", &h->seq) != 0 || field(&l, "sha256", &v) != 0)
		return -1;
	if (!hex_ok(v)) {
		snprintf(err, errlen,
			 "'sha256' is not 64 lowercase hex digits");
		return -1;
	}
	memcpy(h->sha256, v, FLEET_HEX_LEN + 1);
	return end_of(&l);
}

/* ---- apps ---- */

static int listed(const char *list, const char *w, size_t n)
{
	while (*list) {
		size_t m = strcspn(list, " ");

		if (m == n && !strncmp(list, w, n))
			return 1;
		list += m;
		list += *list == ' ';
	}
	return 0;
}

int fleetval_apps_union(const char *a, const char *b,
			char out[FLEET_APPS_MAX + 1])
{
	char all[2 * FLEET_APPS_MAX + 2];
	const char *list[2] = { a, b }, *w;
	size_t o = 0;
	unsigned i;

	all[0] = '\0';
	for (i = 0; i < 2; i++)
		for (w = list[i]; *w;) {
			size_t n = strcspn(w, " ");

			if (n && !listed(all, w, n)) {
				if (o + n + 2 > sizeof(all))
					return -1;
				o += (size_t)snprintf(all + o, sizeof(all) - o,
						      "%s%.*s", o ? " " : "",
						      (int)n, w);
			}
			w += n;
			w += *w == ' ';
		}
	if (o > FLEET_APPS_MAX)
		return -1;
	memcpy(out, all, o + 1);
	return 0;
}

void fleetval_apps_minus(const char *a, const char *b,
			 char out[FLEET_APPS_MAX + 1])
{
	char res[FLEET_APPS_MAX + 1];
	size_t o = 0;

	res[0] = '\0';
	if (*b) {
		while (*a) {
			size_t n = strcspn(a, " ");

			if (n && !listed(b, a, n) &&
			    o + (o != 0) + n < sizeof(res))
				o += (size_t)snprintf(res + o, sizeof(res) - o,
						      "%s%.*s", o ? " " : "",
						      (int)n, a);
			a += n;
			a += *a == ' ';
		}
	}
	memcpy(out, res, sizeof(res));
}
