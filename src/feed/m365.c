/* m365.c - Microsoft 365's endpoints web service: its answers read,
 * checked and applied (m365.h). The rendering is in m365sig.c. */
#define _DEFAULT_SOURCE /* timegm */
#include "feed/m365.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libpsl.h>
#include <pthread.h>

#include "core/lpm.h"
#include "feed/m365_int.h"
#include "policy/addrsig.h"

/* more than any instance has had (about 150): a bound for the quadratic
 * duplicate check on whatever a fuzzer or a broken proxy sends */
#define M365_MAX_SETS 4096
#define M365_MAX_RECORDS 65536
/* the widest port range taken: Microsoft's are a few ports (3478-3481),
 * its media ports 20 each; a wider one is a feed saying "any port" */
#define M365_MAX_PORT_SPAN 16384u
/* the shortest prefixes of the Skype service area, which the file turns
 * into signatures: Microsoft's relays are in a /14, a /15, a /18 and
 * /38s; a /8 would label a twelfth of a provider's customers Teams */
#define SKYPE_MIN_V4 12u
#define SKYPE_MIN_V6 32u

void m365_say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int m365_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int m365_nomem(char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	return M365_REFUSED;
}

int m365_version_ok(const char *v)
{
	size_t i;

	for (i = 0; i < M365_VERSION_LEN; i++)
		if (!isdigit((unsigned char)v[i]))
			return 0;
	return v[i] == '\0';
}

int m365_instance_ok(const char *name)
{
	static const char *const known[] = { "Worldwide", "USGovDoD",
					     "USGovGCCHigh", "China" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i]))
			return 1;
	return 0;
}

/* @text as JSON (after a UTF-8 byte order mark, which some servers and
 * proxies put first), or NULL with the reason */
static json_t *load(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
		text += 3;
		len -= 3;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!j)
		m365_say(err, errlen, "not JSON (line %d, column %d: %s)",
			 je.line, je.column, je.text);
	return j;
}

int m365_version_parse(const char *text, size_t len, const char *instance,
		       char version[M365_VERSION_LEN + 1], char *err,
		       size_t errlen)
{
	json_t *j = load(text, len, err, errlen), *in, *latest;
	int rc = -1;

	if (!j)
		return -1;
	in = json_object_get(j, "instance");
	latest = json_object_get(j, "latest");
	if (!json_is_object(j) || !json_is_string(in) ||
	    !json_is_string(latest))
		m365_say(
			err, errlen,
			"not a version answer (an object with the strings \"instance\" and \"latest\")");
	else if (strcmp(json_string_value(in), instance))
		m365_say(err, errlen,
			 "the answer is for the instance '%.31s', not %s",
			 json_string_value(in), instance);
	else if (!m365_version_ok(json_string_value(latest)))
		m365_say(err, errlen,
			 "version '%.31s' is not ten digits (YYYYMMDDNN)",
			 json_string_value(latest));
	else
		rc = 0;
	if (rc == 0)
		memcpy(version, json_string_value(latest),
		       M365_VERSION_LEN + 1);
	json_decref(j);
	return rc;
}

/* the special-purpose ranges that never hold Microsoft's public relays
 * and servers: "this" network, private (RFC 1918), shared (RFC 6598),
 * loopback, link-local, IETF protocol assignments, benchmarking,
 * multicast, reserved; IPv6's unspecified/mapped block (::/8, which
 * holds NAT64's 64:ff9b::/96 too), Teredo, 6to4, unique local,
 * link-local and multicast. A feed naming one, or a prefix holding one
 * (2001::/16), would label a site's own or unrelated traffic as Teams.
 * Not here: the
 * documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32), which route nowhere, so a feed naming them labels
 * nothing real, and which the lab's stand-in feeds use. */
static const char *const forbidden[] = {
	"0.0.0.0/8",	  "10.0.0.0/8",	   "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
	"198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4",   "::/8",
	"2001::/32",	  "2002::/16",	   "fc00::/7",	    "fe80::/10",
	"ff00::/8",
};

int m365_prefix_check(const char *s, int *v6, char *err, size_t errlen)
{
	struct lpm_prefix p, b;
	unsigned plen, i;
	int bv6;

	if (lpm_prefix_parse(s, &p, v6, err, errlen) != 0)
		return -1;
	plen = *v6 ? p.plen : p.plen - 96u;
	if (plen < (*v6 ? 16u : 8u)) {
		m365_say(err, errlen, "'%s' is shorter than /%u", s,
			 *v6 ? 16u : 8u);
		return -1;
	}
	/* in one, or holding one (2001::/16 holds Teredo's 2001::/32) */
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		int in;

		if (lpm_prefix_parse(forbidden[i], &b, &bv6, NULL, 0) != 0 ||
		    bv6 != *v6)
			continue;
		in = lpm_prefix_covers(&b, p.addr, p.plen);
		if (!in && !lpm_prefix_covers(&p, b.addr, b.plen))
			continue;
		m365_say(err, errlen, "'%s' %s %s, where no server is", s,
			 in ? "is in" : "holds", forbidden[i]);
		return -1;
	}
	return 0;
}

const char *m365_ports_chunk(const char *ports, size_t *n)
{
	const char *p = ports;
	int items = 0;

	while (*p && items < POLICY_MAX_PORTS) {
		p += strcspn(p, ",");
		items++;
		if (*p && items < POLICY_MAX_PORTS)
			p++;
	}
	*n = (size_t)(p - ports);
	return *p == ',' ? p + 1 : p;
}

/* A port list: addrsig_ports on each run of POLICY_MAX_PORTS items (the
 * rendering splits a longer list so), no range wider than
 * M365_MAX_PORT_SPAN (1-65535 would be "any port") */
static int check_ports(const char *s, char *err, size_t errlen)
{
	uint16_t lo[POLICY_MAX_PORTS], hi[POLICY_MAX_PORTS];
	const char *p = s;

	for (;;) {
		char buf[256];
		size_t n;
		const char *next = m365_ports_chunk(p, &n);
		int k, i;

		if (n >= sizeof(buf))
			return m365_fail(err, errlen,
					 "invalid port list '%.64s'", s);
		memcpy(buf, p, n);
		buf[n] = '\0';
		k = addrsig_ports(buf, lo, hi, err, errlen);
		if (k < 0)
			return -1;
		for (i = 0; i < k; i++)
			if (hi[i] - lo[i] + 1u > M365_MAX_PORT_SPAN)
				return m365_fail(
					err, errlen,
					"port range %u-%u: %u ports, more than %u",
					lo[i], hi[i], hi[i] - lo[i] + 1u,
					M365_MAX_PORT_SPAN);
		if (next == p + n) /* the end: no comma after the run */
			return 0;
		p = next;
	}
}

/* A URL of the service: a host name, "*." before it meaning "any name
 * under it", '*' elsewhere standing for part of a label (such URLs are
 * skipped when rendered). What follows a leading "*." is a name addrsig.c
 * takes: letters, digits, '-' (and '*'), two labels at least, none
 * empty, shorter than ADDRSIG_NAME_LEN. */
static int check_url(const char *s, char *err, size_t errlen)
{
	const char *h = strncmp(s, "*.", 2) ? s : s + 2;
	size_t n = strlen(h), i;
	int dots = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (i == 0 || h[i - 1] == '.' || i + 1 == n)
				break;
			dots++;
		} else if (!isalnum(c) && c != '-' && c != '*') {
			break;
		}
	}
	if (n == 0 || n >= ADDRSIG_NAME_LEN || i < n || !dots)
		return m365_fail(err, errlen, "'%.64s' is not a host name", s);
	return 0;
}

enum ftype { F_ID, F_STR, F_BOOL, F_CATEGORY, F_PORTS, F_URLS, F_IPS };

struct field {
	const char *name;
	enum ftype type;
	int required;
};

/* an endpoint set; a change record's previous and current (the set's
 * attributes: the same without id, urls, ips and nothing required) */
static const struct field set_fields[] = {
	{ "id", F_ID, 1 },
	{ "serviceArea", F_STR, 1 },
	{ "category", F_CATEGORY, 1 },
	{ "required", F_BOOL, 1 },
	{ "serviceAreaDisplayName", F_STR, 0 },
	{ "urls", F_URLS, 0 },
	{ "ips", F_IPS, 0 },
	{ "tcpPorts", F_PORTS, 0 },
	{ "udpPorts", F_PORTS, 0 },
	{ "expressRoute", F_BOOL, 0 },
	{ "notes", F_STR, 0 },
};
#define N_SET_FIELDS (sizeof(set_fields) / sizeof(set_fields[0]))

static const char *type_name(enum ftype t)
{
	switch (t) {
	case F_ID:
		return "a positive integer";
	case F_BOOL:
		return "true or false";
	case F_URLS:
	case F_IPS:
		return "a list of strings";
	default:
		return "a string";
	}
}

/* the strings of the list @v, each a URL or a prefix as @t says */
static int check_items(const char *name, json_t *v, enum ftype t, char *err,
		       size_t errlen)
{
	char why[384];
	size_t i;
	json_t *x;
	int v6;

	json_array_foreach(v, i, x)
	{
		const char *s = json_string_value(x);

		if (!s) {
			m365_say(err, errlen, "%s[%zu] is not a string", name,
				 i);
			return -1;
		}
		if ((t == F_URLS ? check_url(s, why, sizeof(why))
				 : m365_prefix_check(s, &v6, why,
						     sizeof(why))) != 0) {
			m365_say(err, errlen, "%s[%zu]: %s", name, i, why);
			return -1;
		}
	}
	return 0;
}

static int check_field(const struct field *f, json_t *v, char *err,
		       size_t errlen)
{
	char why[384];
	int ok;

	switch (f->type) {
	case F_ID:
		ok = json_is_integer(v) && json_integer_value(v) > 0 &&
		     json_integer_value(v) <= INT32_MAX;
		break;
	case F_BOOL:
		ok = json_is_boolean(v);
		break;
	case F_URLS:
	case F_IPS:
		ok = json_is_array(v);
		break;
	default:
		ok = json_is_string(v);
	}
	if (!ok) {
		m365_say(err, errlen, "%s is not %s", f->name,
			 type_name(f->type));
		return -1;
	}
	if (f->type == F_URLS || f->type == F_IPS)
		return check_items(f->name, v, f->type, err, errlen);
	if (f->type == F_CATEGORY && strcmp(json_string_value(v), "Optimize") &&
	    strcmp(json_string_value(v), "Allow") &&
	    strcmp(json_string_value(v), "Default")) {
		m365_say(err, errlen,
			 "category '%.32s' is not Optimize, Allow or Default",
			 json_string_value(v));
		return -1;
	}
	if (f->type == F_PORTS &&
	    check_ports(json_string_value(v), why, sizeof(why)) != 0) {
		m365_say(err, errlen, "%s: %s", f->name, why);
		return -1;
	}
	return 0;
}

/* @o's fields of the table, the required ones when @required; @attrs:
 * only a set's attributes are allowed (no id, urls, ips) */
static int check_fields(json_t *o, int required, int attrs, char *err,
			size_t errlen)
{
	size_t i;

	for (i = 0; i < N_SET_FIELDS; i++) {
		const struct field *f = &set_fields[i];
		json_t *v = json_object_get(o, f->name);

		if (attrs &&
		    (f->type == F_ID || f->type == F_URLS || f->type == F_IPS))
			continue;
		if (!v && f->required && required) {
			m365_say(err, errlen, "no %s", f->name);
			return -1;
		}
		if (v && check_field(f, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* the public suffix list: the system's (Debian's publicsuffix, kept
 * current by Debian), else libpsl's own; as classify/hostns.c loads it */
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;

static void psl_load(void)
{
	psl = psl_latest(NULL);
	if (!psl)
		psl = psl_builtin();
}

/* A Skype URL's name (what the file would match: "*.x.y" gives x.y) is
 * no public suffix: *.co.uk would make every name under co.uk Teams. A
 * URL with an inner '*' gives no name (it is skipped). */
static int check_skype_url(const char *url, char *err, size_t errlen)
{
	const char *h = strncmp(url, "*.", 2) ? url : url + 2;
	char name[ADDRSIG_NAME_LEN];
	size_t i;

	if (strchr(h, '*') || strlen(h) >= sizeof(name))
		return 0;
	for (i = 0; h[i]; i++)
		name[i] = (char)tolower((unsigned char)h[i]);
	name[i] = '\0';
	pthread_once(&psl_once, psl_load);
	if (!psl)
		return m365_fail(
			err, errlen,
			"cannot check the name %s: no public suffix list (install Debian's publicsuffix package)",
			name);
	if (psl_is_public_suffix2(psl, name, PSL_TYPE_ANY))
		return m365_fail(err, errlen,
				 "'%s' gives the name %s, a public suffix", url,
				 name);
	return 0;
}

/* A Skype prefix (m365_prefix_check'd) is /12 or longer (IPv4), /32 or
 * longer (IPv6) */
static int check_skype_prefix(const char *s, char *err, size_t errlen)
{
	struct lpm_prefix p;
	unsigned plen;
	int v6;

	if (lpm_prefix_parse(s, &p, &v6, err, errlen) != 0)
		return -1;
	plen = v6 ? p.plen : p.plen - 96u;
	if (plen < (v6 ? SKYPE_MIN_V6 : SKYPE_MIN_V4))
		return m365_fail(
			err, errlen,
			"'%s' is shorter than /%u, the shortest the Skype service area may have",
			s, v6 ? SKYPE_MIN_V6 : SKYPE_MIN_V4);
	return 0;
}

/* what the Skype service area's sets must be beyond any set: these
 * become signatures */
static int check_skype(json_t *set, char *err, size_t errlen)
{
	const char *a = json_string_value(json_object_get(set, "serviceArea"));
	char why[384];
	size_t i;
	json_t *x;

	if (strcmp(a, M365_SKYPE_AREA))
		return 0;
	json_array_foreach(json_object_get(set, "ips"), i, x)
	{
		if (check_skype_prefix(json_string_value(x), why,
				       sizeof(why)) != 0)
			return m365_fail(err, errlen, "ips[%zu]: %s", i, why);
	}
	json_array_foreach(json_object_get(set, "urls"), i, x)
	{
		if (check_skype_url(json_string_value(x), why, sizeof(why)) !=
		    0)
			return m365_fail(err, errlen, "urls[%zu]: %s", i, why);
	}
	return 0;
}

static int check_set(json_t *set, char *err, size_t errlen)
{
	json_t *ips = json_object_get(set, "ips");

	if (!json_is_object(set)) {
		m365_say(err, errlen, "not an object");
		return -1;
	}
	if (check_fields(set, 1, 0, err, errlen) != 0 ||
	    check_skype(set, err, errlen) != 0)
		return -1;
	if (json_array_size(ips) && !json_object_get(set, "tcpPorts") &&
	    !json_object_get(set, "udpPorts")) {
		m365_say(err, errlen, "ips without tcpPorts or udpPorts");
		return -1;
	}
	return 0;
}

json_int_t m365_set_id(json_t *set)
{
	return json_integer_value(json_object_get(set, "id"));
}

/* every set valid, no id twice */
static int check_list(json_t *sets, char *err, size_t errlen)
{
	char why[512];
	size_t i, k;
	json_t *set;

	if (!json_is_array(sets)) {
		m365_say(err, errlen,
			 "not a list of endpoint sets (a JSON array)");
		return -1;
	}
	if (json_array_size(sets) == 0 ||
	    json_array_size(sets) > M365_MAX_SETS) {
		m365_say(err, errlen, "%zu endpoint sets (1 to %d expected)",
			 json_array_size(sets), M365_MAX_SETS);
		return -1;
	}
	json_array_foreach(sets, i, set)
	{
		if (check_set(set, why, sizeof(why)) != 0) {
			if (m365_set_id(set) > 0)
				m365_say(err, errlen, "endpoint set %lld: %s",
					 (long long)m365_set_id(set), why);
			else
				m365_say(err, errlen, "endpoints[%zu]: %s", i,
					 why);
			return -1;
		}
		for (k = 0; k < i; k++)
			if (m365_set_id(json_array_get(sets, k)) ==
			    m365_set_id(set)) {
				m365_say(err, errlen,
					 "endpoint set %lld is listed twice",
					 (long long)m365_set_id(set));
				return -1;
			}
	}
	return 0;
}

struct m365_list *m365_endpoints_parse(const char *text, size_t len, char *err,
				       size_t errlen)
{
	struct m365_list *l;
	json_t *j = load(text, len, err, errlen);

	if (!j)
		return NULL;
	if (check_list(j, err, errlen) != 0) {
		json_decref(j);
		return NULL;
	}
	l = malloc(sizeof(*l));
	if (!l) {
		m365_nomem(err, errlen);
		json_decref(j);
		return NULL;
	}
	l->sets = j;
	return l;
}

void m365_list_free(struct m365_list *l)
{
	if (!l)
		return;
	json_decref(l->sets);
	free(l);
}

/* @s (malloc'd) ending in a newline, as a text file does; NULL (and @s
 * freed) if memory is short */
static char *with_newline(char *s)
{
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);

	if (!t) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return t;
}

char *m365_list_dump(const struct m365_list *l)
{
	char *s = json_dumps(l->sets, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	return s ? with_newline(s) : NULL;
}

/* ---- the change log ---- */

/* a change record's previous or current: a set's attributes */
static int check_attrs(json_t *r, const char *key, char *err, size_t errlen)
{
	json_t *a = json_object_get(r, key);

	if (!a)
		return 0;
	if (!json_is_object(a))
		return m365_fail(err, errlen, "%s is not an object", key);
	return check_fields(a, 0, 1, err, errlen);
}

/* a change record's add or remove: lists of prefixes and URLs */
static int check_lists(json_t *r, const char *key, char *err, size_t errlen)
{
	json_t *a = json_object_get(r, key), *ips, *urls;

	if (!a)
		return 0;
	ips = json_object_get(a, "ips");
	urls = json_object_get(a, "urls");
	if (!json_is_object(a) || (ips && !json_is_array(ips)) ||
	    (urls && !json_is_array(urls)))
		return m365_fail(err, errlen,
				 "%s is not an object of lists ips and urls",
				 key);
	if (ips && check_items("ips", ips, F_IPS, err, errlen) != 0)
		return -1;
	if (urls && check_items("urls", urls, F_URLS, err, errlen) != 0)
		return -1;
	return 0;
}

/* a change record's fields, checked */
static int check_record(json_t *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(r, "version");
	json_t *set = json_object_get(r, "endpointSetId");
	const char *d = json_string_value(json_object_get(r, "disposition"));

	if (!json_is_object(r))
		return m365_fail(err, errlen, "not an object");
	if (!json_is_integer(json_object_get(r, "id")) ||
	    !json_is_integer(set) || json_integer_value(set) <= 0)
		return m365_fail(err, errlen,
				 "no id or endpointSetId (integers)");
	if (!d || (strcasecmp(d, "change") && strcasecmp(d, "add") &&
		   strcasecmp(d, "remove")))
		return m365_fail(err, errlen,
				 "disposition is not change, add or remove");
	if (!json_is_string(v) || !m365_version_ok(json_string_value(v)))
		return m365_fail(err, errlen,
				 "version is not ten digits (YYYYMMDDNN)");
	if (json_object_get(r, "impact") &&
	    !json_is_string(json_object_get(r, "impact")))
		return m365_fail(err, errlen, "impact is not a string");
	if (check_attrs(r, "previous", err, errlen) != 0 ||
	    check_attrs(r, "current", err, errlen) != 0 ||
	    check_lists(r, "add", err, errlen) != 0 ||
	    check_lists(r, "remove", err, errlen) != 0)
		return -1;
	return 0;
}

static json_t *find_set(json_t *sets, json_int_t id, size_t *at)
{
	size_t i;

	for (i = 0; i < json_array_size(sets); i++) {
		json_t *s = json_array_get(sets, i);

		if (m365_set_id(s) != id)
			continue;
		if (at)
			*at = i;
		return s;
	}
	return NULL;
}

static size_t find_string(json_t *list, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++)
		if (!strcmp(json_string_value(json_array_get(list, i)), s))
			return i;
	return (size_t)-1;
}

/* @set's list @key loses the strings of @remove (each must be there),
 * then gains those of @add it lacks: 0, M365_INCOHERENT, or
 * M365_REFUSED with @err empty when memory is short */
static int edit_items(json_t *set, const char *key, json_t *add, json_t *remove,
		      char *err, size_t errlen)
{
	json_t *list = json_object_get(set, key), *x;
	size_t i;

	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(set, key, list) != 0)
			return m365_nomem(err, errlen);
	}
	json_array_foreach(remove, i, x)
	{
		size_t at = find_string(list, json_string_value(x));

		if (at == (size_t)-1) {
			m365_say(err, errlen,
				 "removes %s '%s', which set %lld lacks", key,
				 json_string_value(x),
				 (long long)m365_set_id(set));
			return M365_INCOHERENT;
		}
		json_array_remove(list, at);
	}
	json_array_foreach(add, i, x)
	{
		if (find_string(list, json_string_value(x)) != (size_t)-1)
			continue;
		if (json_array_append(list, x) != 0)
			return m365_nomem(err, errlen);
	}
	return 0;
}

/* a "change" record's previous values are @set's */
static int check_previous(json_t *set, json_t *prev, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(prev, k, v)
	{
		json_t *ours = json_object_get(set, k);

		if (!ours || !json_equal(ours, v)) {
			char *a = json_dumps(v, JSON_ENCODE_ANY);

			m365_say(
				err, errlen,
				"set %lld's previous %s (%.64s) is not what the list has",
				(long long)m365_set_id(set), k, a ? a : "?");
			free(a);
			return M365_INCOHERENT;
		}
	}
	return 0;
}

/* a record's "current": the set's attributes it names (never its id, its
 * addresses or names: those change through add and remove) */
static int copy_attrs(json_t *set, json_t *cur)
{
	size_t i;

	for (i = 0; cur && i < N_SET_FIELDS; i++) {
		const struct field *f = &set_fields[i];
		json_t *v = json_object_get(cur, f->name);

		if (!v || f->type == F_ID || f->type == F_URLS ||
		    f->type == F_IPS)
			continue;
		if (json_object_set(set, f->name, v) != 0)
			return -1;
	}
	return 0;
}

static int apply_add(json_t *sets, json_t *r, json_int_t id, char *err,
		     size_t errlen)
{
	json_t *set, *cur = json_object_get(r, "current");
	json_t *add = json_object_get(r, "add");
	int rc;

	if (find_set(sets, id, NULL)) {
		m365_say(err, errlen,
			 "adds endpoint set %lld, which the list has",
			 (long long)id);
		return M365_INCOHERENT;
	}
	set = json_object();
	if (!set || json_object_set_new(set, "id", json_integer(id)) != 0 ||
	    copy_attrs(set, cur) != 0 ||
	    json_array_append_new(sets, set) != 0) {
		json_decref(set);
		return m365_nomem(err, errlen);
	}
	rc = edit_items(set, "ips", json_object_get(add, "ips"), NULL, err,
			errlen);
	if (rc == 0)
		rc = edit_items(set, "urls", json_object_get(add, "urls"), NULL,
				err, errlen);
	return rc;
}

static int apply_change(json_t *set, json_t *r, char *err, size_t errlen)
{
	json_t *prev = json_object_get(r, "previous");
	json_t *cur = json_object_get(r, "current");
	json_t *add = json_object_get(r, "add");
	json_t *rem = json_object_get(r, "remove");
	int rc;

	if (prev && (rc = check_previous(set, prev, err, errlen)) != 0)
		return rc;
	if (copy_attrs(set, cur) != 0)
		return m365_nomem(err, errlen);
	rc = edit_items(set, "ips", json_object_get(add, "ips"),
			json_object_get(rem, "ips"), err, errlen);
	if (rc == 0)
		rc = edit_items(set, "urls", json_object_get(add, "urls"),
				json_object_get(rem, "urls"), err, errlen);
	return rc;
}

static int apply_record(json_t *sets, json_t *r, char *err, size_t errlen)
{
	const char *d = json_string_value(json_object_get(r, "disposition"));
	json_int_t id = json_integer_value(json_object_get(r, "endpointSetId"));
	size_t at;
	json_t *set;

	if (!strcasecmp(d, "add"))
		return apply_add(sets, r, id, err, errlen);
	set = find_set(sets, id, &at);
	if (!set) {
		m365_say(err, errlen,
			 "%s endpoint set %lld, which the list lacks",
			 strcasecmp(d, "remove") ? "changes" : "removes",
			 (long long)id);
		return M365_INCOHERENT;
	}
	if (strcasecmp(d, "remove"))
		return apply_change(set, r, err, errlen);
	if (json_array_remove(sets, at) != 0)
		return m365_nomem(err, errlen);
	return 0;
}

static json_t *sort_key_list; /* qsort has no context */

static int by_version_id(const void *a, const void *b)
{
	json_t *x = json_array_get(sort_key_list, *(const size_t *)a);
	json_t *y = json_array_get(sort_key_list, *(const size_t *)b);
	int c = strcmp(json_string_value(json_object_get(x, "version")),
		       json_string_value(json_object_get(y, "version")));
	json_int_t i = json_integer_value(json_object_get(x, "id"));
	json_int_t k = json_integer_value(json_object_get(y, "id"));

	return c ? c : (i > k) - (i < k);
}

/* every record valid; their order (version, id) in @order */
static int check_records(json_t *recs, size_t *order, char *err, size_t errlen)
{
	char why[512];
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r)
	{
		if (check_record(r, why, sizeof(why)) != 0) {
			if (json_is_integer(json_object_get(r, "id")))
				m365_say(err, errlen, "change record %lld: %s",
					 (long long)json_integer_value(
						 json_object_get(r, "id")),
					 why);
			else
				m365_say(err, errlen, "changes[%zu]: %s", i,
					 why);
			return -1;
		}
		order[i] = i;
	}
	sort_key_list = recs;
	qsort(order, json_array_size(recs), sizeof(*order), by_version_id);
	sort_key_list = NULL;
	return 0;
}

/* the records after @from applied to @sets, in @order; the last one's
 * version must be @to */
static int apply_records(json_t *sets, json_t *recs, const size_t *order,
			 const char *from, const char *to, char *err,
			 size_t errlen)
{
	const char *last = from;
	char why[512];
	size_t i, n = json_array_size(recs);

	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(recs, order[i]);
		const char *v =
			json_string_value(json_object_get(r, "version"));
		int rc;

		if (strcmp(v, from) <= 0)
			continue;
		rc = apply_record(sets, r, why, sizeof(why));
		if (rc != 0) {
			m365_say(err, errlen, "change record %lld (%s): %s",
				 (long long)json_integer_value(
					 json_object_get(r, "id")),
				 v, why[0] ? why : "out of memory");
			return why[0] ? rc : M365_REFUSED;
		}
		last = v;
	}
	if (strcmp(last, to)) {
		m365_say(err, errlen,
			 "the changes since %s end at version %s, not %s", from,
			 last, to);
		return M365_INCOHERENT;
	}
	return 0;
}

int m365_changes_apply(struct m365_list *l, const char *text, size_t len,
		       const char *from, const char *to, char *err,
		       size_t errlen)
{
	json_t *recs = load(text, len, err, errlen), *copy = NULL;
	size_t *order = NULL;
	char why[512];
	int rc = M365_REFUSED;

	if (!recs)
		return M365_REFUSED;
	if (!json_is_array(recs) || json_array_size(recs) > M365_MAX_RECORDS) {
		m365_say(
			err, errlen,
			"not a list of change records (a JSON array of at most %d)",
			M365_MAX_RECORDS);
		goto out;
	}
	order = malloc((json_array_size(recs) + 1) * sizeof(*order));
	copy = json_deep_copy(l->sets);
	if (!order || !copy) {
		m365_nomem(err, errlen);
		goto out;
	}
	if (check_records(recs, order, err, errlen) != 0)
		goto out;
	rc = apply_records(copy, recs, order, from, to, err, errlen);
	if (rc != 0)
		goto out;
	if (check_list(copy, why, sizeof(why)) != 0) {
		m365_say(err, errlen, "the list the changes make: %s", why);
		rc = M365_INCOHERENT;
		goto out;
	}
	json_decref(l->sets);
	l->sets = copy;
	copy = NULL;
out:
	json_decref(copy);
	json_decref(recs);
	free(order);
	return rc;
}

int m365_shrink_check(const struct m365_state *st,
		      const struct m365_counts *now, char *err, size_t errlen)
{
	unsigned b = now->v4 + now->v6;

	if (2u * b < st->high_prefixes) {
		m365_say(
			err, errlen,
			"the Skype service area would go from %u prefixes (its most since the last --accept-shrink) to %u: fewer than half (--accept-shrink takes it)",
			st->high_prefixes, b);
		return -1;
	}
	if (2u * now->names < st->high_names) {
		m365_say(
			err, errlen,
			"the Skype service area would go from %u names (its most since the last --accept-shrink) to %u: fewer than half (--accept-shrink takes it)",
			st->high_names, now->names);
		return -1;
	}
	return 0;
}

void m365_mark_update(struct m365_state *st, const struct m365_counts *now,
		      int reset)
{
	unsigned p = now->v4 + now->v6;

	if (reset || p > st->high_prefixes)
		st->high_prefixes = p;
	if (reset || now->names > st->high_names)
		st->high_names = now->names;
}

/* the first eight digits of the version @v as a day (00:00 UTC, epoch
 * seconds), or -1 if they are not a date */
static int64_t version_day(const char *v)
{
	struct tm tm = { 0 };
	int y, m, d;
	time_t t;

	if (sscanf(v, "%4d%2d%2d", &y, &m, &d) != 3 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	/* timegm normalizes 2026-02-31 to March: not a date */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;
	return (int64_t)t;
}

int m365_version_ahead(const char *v, int64_t now)
{
	int64_t day = version_day(v);

	if (day < 0)
		return -1;
	return day > now + M365_AHEAD_MAX;
}

/* ---- the importer's state ---- */

int m365_state_parse(const char *text, size_t len, struct m365_state *st,
		     char *err, size_t errlen)
{
	json_t *j = load(text, len, err, errlen);
	const char *in, *v;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (!j)
		return -1;
	in = json_string_value(json_object_get(j, "instance"));
	v = json_string_value(json_object_get(j, "version"));
	if (!in || !v || strlen(in) >= sizeof(st->instance) ||
	    (*v && !m365_version_ok(v))) {
		m365_say(err, errlen, "not a state of skyfence-endpoints");
		goto out;
	}
	strcpy(st->instance, in);
	strcpy(st->version, v);
	st->checked = json_integer_value(json_object_get(j, "checked"));
	st->fetched = json_integer_value(json_object_get(j, "fetched"));
	st->counts.sets =
		(unsigned)json_integer_value(json_object_get(j, "sets"));
	st->counts.v4 =
		(unsigned)json_integer_value(json_object_get(j, "ipv4"));
	st->counts.v6 =
		(unsigned)json_integer_value(json_object_get(j, "ipv6"));
	st->counts.names =
		(unsigned)json_integer_value(json_object_get(j, "names"));
	st->counts.skipped =
		(unsigned)json_integer_value(json_object_get(j, "skipped"));
	st->counts.sigs =
		(unsigned)json_integer_value(json_object_get(j, "signatures"));
	/* a state of before the mark: the last good counts */
	st->high_prefixes =
		json_object_get(j, "high_prefixes")
			? (unsigned)json_integer_value(
				  json_object_get(j, "high_prefixes"))
			: st->counts.v4 + st->counts.v6;
	st->high_names = json_object_get(j, "high_names")
				 ? (unsigned)json_integer_value(
					   json_object_get(j, "high_names"))
				 : st->counts.names;
	st->handover_failed =
		json_is_true(json_object_get(j, "handover_failed"));
	rc = 0;
out:
	json_decref(j);
	return rc;
}

char *m365_state_format(const struct m365_state *st)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
		"instance", st->instance, "version", st->version, "checked",
		(json_int_t)st->checked, "fetched", (json_int_t)st->fetched,
		"sets", (json_int_t)st->counts.sets, "ipv4",
		(json_int_t)st->counts.v4, "ipv6", (json_int_t)st->counts.v6,
		"names", (json_int_t)st->counts.names, "skipped",
		(json_int_t)st->counts.skipped, "signatures",
		(json_int_t)st->counts.sigs, "high_prefixes",
		(json_int_t)st->high_prefixes, "high_names",
		(json_int_t)st->high_names, "handover_failed",
		st->handover_failed ? 1 : 0);
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s ? with_newline(s) : NULL;
}

void m365_time_format(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "@%lld", (long long)t);
}
