/* Policy language parser. Lines are fed one by one (policy_parser_line) and
 * tokenized as they come; the grammar runs at policy_parser_finish over the
 * whole token stream, so a fuzzer or a test can drive it from strings.
 * Every error is collected with its position and reported in file order;
 * a file with any error yields no policy at all.
 *
 *   file     = { "options" "{" { option } "}" | "internal" prefixes ";"
 *              | "department" NAME "{" { dstmt } "}" | "default" "{" { dstmt } "}"
 *              | "window" NAME "{" { wstmt } "}"
 *              | "killswitch" APP { "," APP } ";" }
 *   wstmt    = "zone" ZONE ";" | "days" DAYS { "," DAYS } ";"
 *            | "time" HH:MM-HH:MM { "," HH:MM-HH:MM } ";"
 *            | ("dates" | "except") DATES { "," DATES } ";"
 *              (each once; "time" required; "zone" unless the options
 *               have one; a window may be used before it is defined)
 *   DAYS     = DAY | DAY "-" DAY     DAY = "mon" | ... | "sun"
 *   DATES    = YYYY-MM-DD | YYYY-MM-DD..YYYY-MM-DD
 *   ZONE     = STRING | WORD, an IANA zone name (tz.h)
 *   APP      = "skype" | an nDPI protocol NAME
 *   option   = ("teams-is-skype" | "skype-heuristic") ("yes"|"no") ";"
 *            | "min-confidence" CONF ";"
 *            | ("signatures" | "address-list" | "feed") PATH ";"
 *            | "media-ports" TYPE (PORTS | "none") { TYPE (PORTS | "none") } ";"
 *            | "zone" ZONE ";"
 *              (each TYPE once; the ranges may not overlap; a TYPE not
 *               written keeps 50000-50019, 50020-50039, 50040-50059;
 *               "none": no port says that type, stored as 0-0)
 *   PATH     = STRING | WORD, absolute
 *   dstmt    = "hosts" prefixes ";" | "log" ("all"|"rules"|"none") ";"
 *            | "fail-closed" ";" | "groups" GROUP { "," GROUP } ";"
 *            | "identity" "required" [ NAME | "default" ] ";" | rule
 *   GROUP    = STRING | NAME   (a RADIUS Class or Filter-Id, a directory
 *                               group's name or DN)
 *   rule     = [ "inbound" | "outbound" ] match { qualifier } action
 *              { "log" | "confidence" CONF | "evidence" KIND { "," KIND }
 *              | "mark" "dscp" DSCP (after "allow" only)
 *              | ("during" | "outside") WINDOW | "until" TIME
 *              | "cut" | "finish" } ";"
 *              (one window, one until; with either, cut or finish)
 *   TIME     = YYYY-MM-DD[THH:MM[:SS](Z | +HH:MM | -HH:MM)?]
 *              (no Z nor offset: local in the options' zone)
 *   match    = "skype" | "teams" | "any" | "protocol" NAME { "," NAME }
 *            | "category" NAME { "," NAME }
 *   qualifier = "to" PREFIX { "," PREFIX } | "port" PORTS { "," PORTS }
 *            | "media" TYPE { "," TYPE }   (skype and teams only)
 *   action   = "allow" | "drop" | "reject"
 *            | "throttle" RATE { "burst" SIZE | "latency" DURATION }
 *            | "mark" "dscp" DSCP          (allow, and the DSCP)
 *   TYPE     = "audio" | "video" | "screen-share"
 *   PORTS    = PORT | PORT "-" PORT
 *   DSCP     = 0..63 | "ef" | "va" | "be" | "default" | "cs0".."cs7"
 *            | "af11" | "af12" | ... | "af43"
 *   CONF     = "port" | "ip" | "cache" | "dpi"
 */
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include "policy/addrsig.h"
#include "policy/tz.h"
#include "policy/window.h"
#include "classify/classify.h"

#define MAX_TOKEN_LEN 255
#define MAX_ERRORS 100
#define MAX_TOKENS (1u << 20)
#define MAX_DEPTS 4096
#define MAX_RULES_PER_DEPT 1024
#define MAX_RATE_BPS 100000000000ULL /* 100 Gbit/s */
#define MIN_BURST 1500u
#define MAX_BURST (64u << 20)
#define DEFAULT_LATENCY_MS 200u
#define MAX_LATENCY_MS 10000u
#define CONF_UNSET 0xff

enum tok_type { T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_COMMA, T_EOF };

struct tok {
	uint8_t type;
	uint8_t timew; /* a rule's time word or its value (rule_set_source) */
	uint32_t line, col;
	char *text;
};

struct perr {
	uint32_t line, col, seq;
	char *msg;
};

struct pfx {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t plen, v6;
	uint16_t dept; /* UINT16_MAX: an "internal" prefix */
	uint32_t line, col;
	char text[64];
};

struct rule_extra {
	uint8_t skype; /* the skype group: ids fixed at finish */
	uint8_t teams; /* the teams group */
	uint32_t col;
	/* time words, resolved at finish (a window may be defined after
	 * the rules that use it, the options' zone after an "until"): the
	 * tokens of the window's name, of the until's time, of the first
	 * time word and of cut or finish; 0: none */
	uint32_t win_tok, until_tok, time_tok, bnd_tok;
};

/* A window as it is parsed: where, and what was written. */
struct winx {
	uint32_t line, col; /* its name's */
	uint32_t zone_tok;  /* its zone's token; 0: none written */
	uint8_t zone_bad;   /* the zone written does not load */
};

struct policy_parser {
	char filename[256];
	struct policy_names names;
	uint32_t lineno;
	struct tok *toks;
	uint32_t n_toks, cap_toks;
	struct perr *errs;
	uint32_t n_errs, cap_errs, seq;
	int too_many;
	char **formatted; /* "FILE:LINE:COL: message", after finish */
	char signatures[sizeof(((struct policy *)0)->signatures)]; /* finish */
	/* grammar state */
	uint32_t pos;
	struct policy *pol;
	struct rule_extra **rx; /* per department, per rule */
	struct pfx *pfx;
	uint32_t n_pfx, cap_pfx;
	int have_internal, have_options, have_default;
	uint32_t options_line, default_line, killswitch_line;
	uint32_t opt_line[8];	       /* opt_defs' */
	uint32_t n_rx;		       /* departments that have an rx entry */
	uint8_t hosts_seen[MAX_DEPTS]; /* a 'hosts' statement was written */
	/* the groups as written, and "identity required" departments' */
	struct pgroup {
		char *name;
		uint16_t dept;
		uint32_t line, col;
	} * grp;
	uint32_t n_grp, cap_grp;
	struct idreq {
		uint16_t dept;
		uint32_t line, col;
		char name[POLICY_NAME_LEN]; /* "" : default */
	} * idreq;
	uint32_t n_idreq, cap_idreq;
	uint32_t last_len; /* length of the last line, for EOF's column */
	uint32_t n_notes;
	int nomem, overflow;
	/* windows: pol->windows' extras, the named ones (the temporary
	 * rules' come after them, at finish); the clock checked against */
	struct winx winx[WIN_MAX];
	uint32_t n_named;
	int64_t now;
};

/* Makes room for one more element in a doubling array. Returns 0, or -1
 * with pp->nomem set. */
static int grow(struct policy_parser *pp, void *arrp, uint32_t *cap, uint32_t n,
		size_t elem, uint32_t first)
{
	void **arr = arrp;
	uint32_t nc;
	void *na;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : first;
	na = realloc(*arr, (size_t)nc * elem);
	if (!na) {
		pp->nomem = 1;
		return -1;
	}
	*arr = na;
	*cap = nc;
	return 0;
}

/* ---- errors ---- */

static void err_at(struct policy_parser *pp, uint32_t line, uint32_t col,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void err_at(struct policy_parser *pp, uint32_t line, uint32_t col,
		   const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (pp->n_errs >= MAX_ERRORS) {
		pp->too_many = 1;
		return;
	}
	if (grow(pp, &pp->errs, &pp->cap_errs, pp->n_errs, sizeof(*pp->errs),
		 16) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pp->errs[pp->n_errs].msg = strdup(buf);
	if (!pp->errs[pp->n_errs].msg) {
		pp->nomem = 1;
		return;
	}
	pp->errs[pp->n_errs].line = line;
	pp->errs[pp->n_errs].col = col;
	pp->errs[pp->n_errs].seq = pp->seq++;
	pp->n_errs++;
}

#define err_tok(pp, t, ...) err_at((pp), (t)->line, (t)->col, __VA_ARGS__)

static void add_note(struct policy_parser *pp, uint32_t line, uint32_t col,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* How a token is named in messages. */
static const char *tok_desc(const struct tok *t)
{
	switch (t->type) {
	case T_EOF:
		return "end of file";
	default:
		return t->text;
	}
}

/* ---- lexer ---- */

static int is_word_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == ':' || c == '/' || c == '-' ||
	       c == '_' || c == '+' || c == '*';
}

static void add_tok(struct policy_parser *pp, uint8_t type, uint32_t col,
		    const char *s, size_t n)
{
	struct tok *t;

	if (pp->n_toks >= MAX_TOKENS - 1 && type != T_EOF) {
		if (!pp->overflow)
			err_at(pp, pp->lineno, col,
			       "policy too large (more than %u tokens)",
			       MAX_TOKENS);
		pp->overflow = 1;
		return;
	}
	if (grow(pp, &pp->toks, &pp->cap_toks, pp->n_toks, sizeof(*pp->toks),
		 256) != 0)
		return;
	t = &pp->toks[pp->n_toks];
	t->type = type;
	t->timew = 0;
	t->line = pp->lineno;
	t->col = col;
	t->text = strndup(s, n);
	if (!t->text) {
		pp->nomem = 1;
		return;
	}
	pp->n_toks++;
}

static void lex_line(struct policy_parser *pp, const char *s, size_t n)
{
	size_t i = 0;

	pp->lineno++;
	pp->last_len = (uint32_t)n;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		pp->last_len = (uint32_t)--n;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		uint32_t col = (uint32_t)i + 1;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else if (c == '#') {
			break;
		} else if (c == '{' || c == '}' || c == ';' || c == ',') {
			add_tok(pp,
				c == '{'   ? T_LBRACE
				: c == '}' ? T_RBRACE
				: c == ';' ? T_SEMI
					   : T_COMMA,
				col, s + i, 1);
			i++;
		} else if (c == '"') {
			size_t j = i + 1;

			while (j < n && s[j] != '"' && s[j] != '\0')
				j++;
			if (j >= n || s[j] != '"') {
				err_at(pp, pp->lineno, col,
				       "unterminated string");
				return;
			}
			if (j - i - 1 > MAX_TOKEN_LEN)
				err_at(pp, pp->lineno, col,
				       "string longer than %d characters",
				       MAX_TOKEN_LEN);
			else
				add_tok(pp, T_STRING, col, s + i + 1,
					j - i - 1);
			i = j + 1;
		} else if (is_word_char(c)) {
			size_t j = i;

			while (j < n && is_word_char((unsigned char)s[j]))
				j++;
			if (j - i > MAX_TOKEN_LEN)
				err_at(pp, pp->lineno, col,
				       "word longer than %d characters",
				       MAX_TOKEN_LEN);
			else
				add_tok(pp, T_WORD, col, s + i, j - i);
			i = j;
		} else {
			if (isprint(c))
				err_at(pp, pp->lineno, col,
				       "unexpected character '%c'", c);
			else
				err_at(pp, pp->lineno, col,
				       "unexpected byte 0x%02x", c);
			i++;
		}
	}
}

struct policy_parser *policy_parser_create(const char *filename,
					   const struct policy_names *names)
{
	struct policy_parser *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return NULL;
	snprintf(pp->filename, sizeof(pp->filename), "%s", filename);
	pp->names = *names;
	return pp;
}

void policy_parser_line(struct policy_parser *pp, const char *line)
{
	lex_line(pp, line, strlen(line));
}

/* Like policy_parser_line, for a buffer that may hold NUL bytes. */
void policy_parser_line_n(struct policy_parser *pp, const char *line, size_t n);
void policy_parser_line_n(struct policy_parser *pp, const char *line, size_t n)
{
	lex_line(pp, line, n);
}

/* ---- token stream ---- */

static const struct tok *peek(struct policy_parser *pp)
{
	return &pp->toks[pp->pos]; /* the last token is always T_EOF */
}

static const struct tok *next(struct policy_parser *pp)
{
	const struct tok *t = &pp->toks[pp->pos];

	if (t->type != T_EOF)
		pp->pos++;
	return t;
}

/* Puts back @t, the token next() just returned (EOF is never consumed). */
static void unget(struct policy_parser *pp, const struct tok *t)
{
	if (t->type != T_EOF && pp->pos > 0)
		pp->pos--;
}

static int is_word(const struct tok *t, const char *w)
{
	return t->type == T_WORD && strcmp(t->text, w) == 0;
}

/* Skips the rest of a statement: through the next ';' at this level, or up
 * to (not through) the '}' that closes the enclosing block. */
static void sync_stmt(struct policy_parser *pp)
{
	int depth = 0;

	for (;;) {
		const struct tok *t = peek(pp);

		if (t->type == T_EOF)
			return;
		if (t->type == T_RBRACE) {
			if (depth == 0)
				return;
			depth--;
		} else if (t->type == T_LBRACE) {
			depth++;
		} else if (t->type == T_SEMI && depth == 0) {
			next(pp);
			return;
		}
		next(pp);
	}
}

/* Reports a missing ';' where it belongs: right after the previous token,
 * as compilers do, naming what came instead. */
static void err_missing_semi(struct policy_parser *pp)
{
	const struct tok *t = peek(pp),
			 *prev = pp->pos > 0 ? &pp->toks[pp->pos - 1] : t;
	uint32_t col = prev->col + (uint32_t)strlen(prev->text) +
		       (prev->type == T_STRING ? 2 : 0);

	err_at(pp, prev->line, col, "expected ';' after '%s', got '%s'",
	       prev->text, tok_desc(t));
}

/* Expects ';' ending a statement; reports and resynchronizes if absent. */
static int expect_semi(struct policy_parser *pp)
{
	if (peek(pp)->type == T_SEMI) {
		next(pp);
		return 0;
	}
	err_missing_semi(pp);
	sync_stmt(pp);
	return -1;
}

/* ---- values ---- */

static int parse_conf(const char *s)
{
	static const char *const names[] = { [CLS_CONF_PORT] = "port",
					     [CLS_CONF_IP] = "ip",
					     [CLS_CONF_CACHE] = "cache",
					     [CLS_CONF_DPI] = "dpi" };
	int i;

	for (i = CLS_CONF_PORT; i <= CLS_CONF_DPI; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Number with an optional k/M/G suffix (powers of 1000 for rates, 1024 for
 * sizes) followed by an optional unit word from @units. */
static int parse_scaled(const char *s, uint64_t base, const char *const *units,
			uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;
	int digits = 0;

	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
		digits++;
	}
	if (!digits)
		return -1;
	if (*p == 'k' || *p == 'K') {
		mult = base;
		p++;
	} else if (*p == 'M') {
		mult = base * base;
		p++;
	} else if (*p == 'G') {
		mult = base * base * base;
		p++;
	}
	if (*p) {
		const char *const *u;

		for (u = units; *u; u++)
			if (strcmp(p, *u) == 0)
				break;
		if (!*u)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int parse_rate(const char *s, uint64_t *bps)
{
	static const char *const units[] = { "bit", "bps", "bit/s", NULL };

	return parse_scaled(s, 1000, units, bps);
}

static int parse_size(const char *s, uint64_t *bytes)
{
	static const char *const units[] = { "B", "b", "byte", "bytes", NULL };

	return parse_scaled(s, 1024, units, bytes);
}

static int parse_duration_ms(const char *s, uint64_t *ms)
{
	static const char *const ms_units[] = { "ms", NULL };
	static const char *const s_units[] = { "s", NULL };
	size_t n = strlen(s);

	if (n > 2 && strcmp(s + n - 2, "ms") == 0)
		return parse_scaled(s, 1, ms_units, ms);
	if (n > 1 && s[n - 1] == 's') {
		if (parse_scaled(s, 1, s_units, ms) != 0 ||
		    *ms > UINT64_MAX / 1000)
			return -1;
		*ms *= 1000;
		return 0;
	}
	return parse_scaled(s, 1, ms_units, ms);
}

/* ---- prefixes ---- */

static int parse_prefix(struct policy_parser *pp, const struct tok *t,
			uint16_t dept)
{
	struct lpm_prefix pf;
	char err[512];
	struct pfx x;
	int v6;

	memset(&x, 0, sizeof(x));
	if (t->type != T_WORD) {
		err_tok(pp, t, "expected an address or prefix, got '%s'",
			tok_desc(t));
		return -1;
	}
	if (lpm_prefix_parse(t->text, &pf, &v6, err, sizeof(err)) != 0) {
		err_tok(pp, t, "%s", err);
		return -1;
	}
	x.v6 = (uint8_t)v6;
	if (v6) {
		memcpy(x.addr, pf.addr, 16);
		x.plen = pf.plen;
	} else {
		memcpy(x.addr, pf.addr + 12, 4);
		x.plen = (uint8_t)(pf.plen - 96);
	}
	x.dept = dept;
	x.line = t->line;
	x.col = t->col;
	snprintf(x.text, sizeof(x.text), "%s", t->text);
	if (grow(pp, &pp->pfx, &pp->cap_pfx, pp->n_pfx, sizeof(*pp->pfx), 64) !=
	    0)
		return -1;
	pp->pfx[pp->n_pfx++] = x;
	return 0;
}

/* prefixes ";" */
static void parse_prefix_list(struct policy_parser *pp, uint16_t dept,
			      const char *what)
{
	for (;;) {
		const struct tok *t = next(pp);

		if (parse_prefix(pp, t, dept) != 0 && t->type != T_WORD) {
			sync_stmt(pp);
			return;
		}
		t = peek(pp);
		if (t->type == T_COMMA) {
			next(pp);
			continue;
		}
		if (t->type == T_SEMI) {
			next(pp);
			return;
		}
		if (t->type == T_RBRACE || t->type == T_EOF ||
		    (t->line != pp->toks[pp->pos - 1].line)) {
			err_missing_semi(pp);
		} else {
			err_tok(pp, t,
				"expected ',' or ';' after %s address, got '%s'",
				what, tok_desc(t));
		}
		sync_stmt(pp);
		return;
	}
}

/* ---- names ---- */

static unsigned edit_distance(const char *a, const char *b)
{
	unsigned la = (unsigned)strlen(a), lb = (unsigned)strlen(b), i, j;
	unsigned row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		unsigned prev = row[0], tmp;

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) !=
					tolower((unsigned char)b[j - 1]);

			tmp = row[j];
			row[j] = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1
							     : row[j - 1] + 1;
			if (prev + cost < row[j])
				row[j] = prev + cost;
			prev = tmp;
		}
	}
	return row[lb];
}

static void report_unknown_proto(struct policy_parser *pp, const struct tok *t)
{
	const char *best = NULL;
	unsigned bestd = 3, i;

	if (strcasecmp(t->text, "skype") == 0 ||
	    edit_distance(t->text, "skype") <= 1) {
		err_tok(pp, t,
			"unknown protocol '%s' (for the Skype group write 'skype' without 'protocol'; nDPI's own names are SkypeCall and Skype_Teams)",
			t->text);
		return;
	}
	if (pp->names.proto_name) {
		for (i = 0; i < pp->names.n_protos; i++) {
			const char *n =
				pp->names.proto_name(pp->names.ctx, (int)i);
			unsigned d;

			if (!n || !n[0])
				continue;
			d = edit_distance(t->text, n);
			if (d < bestd) {
				bestd = d;
				best = n;
			}
		}
	}
	if (best)
		err_tok(pp, t, "unknown protocol '%s' (did you mean '%s'?)",
			t->text, best);
	else
		err_tok(pp, t, "unknown protocol '%s'", t->text);
}

/* ---- departments and rules ---- */

static void err_unclosed(struct policy_parser *pp, const struct tok *eof,
			 const struct tok *open)
{
	err_tok(pp, eof,
		"unexpected end of file: '{' opened at line %u is not closed",
		open->line);
}

static struct policy_dept *add_dept(struct policy_parser *pp, const char *name,
				    uint32_t line)
{
	struct policy *p = pp->pol;
	struct policy_dept *nd;
	struct rule_extra **nrx;

	nd = realloc(p->depts, (p->n_depts + 1) * sizeof(*nd));
	if (!nd) {
		pp->nomem = 1;
		return NULL;
	}
	p->depts = nd;
	nrx = realloc(pp->rx, (p->n_depts + 1) * sizeof(*nrx));
	if (!nrx) {
		pp->nomem = 1;
		return NULL;
	}
	pp->rx = nrx;
	pp->rx[p->n_depts] = NULL;
	pp->n_rx = p->n_depts + 1;
	nd = &p->depts[p->n_depts++];
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->name, sizeof(nd->name), "%s", name);
	nd->line = line;
	return nd;
}

static int valid_dept_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_LEN || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* The tokens [@from, @to) joined; without the time words if @skip_time
 * (the source gets them back in canonical form at finish). */
static void rule_text(struct policy_parser *pp, uint32_t from, uint32_t to,
		      int skip_time, char *buf, size_t len)
{
	size_t o = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = from; i < to && o + 1 < len; i++) {
		int n;

		if (skip_time && pp->toks[i].timew)
			continue;
		n = snprintf(buf + o, len - o, "%s%s",
			     (o == 0 || pp->toks[i].type == T_COMMA) ? "" : " ",
			     pp->toks[i].text);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	if (o >= len)
		buf[len - 1] = '\0';
}

/* match: fills r and rx; returns 0, or -1 with the rule unusable. */
static int parse_match(struct policy_parser *pp, struct policy_rule *r,
		       struct rule_extra *rx)
{
	const struct tok *t = next(pp);
	int bad = 0;

	if (is_word(t, "skype")) {
		r->match = MATCH_PROTOCOLS;
		rx->skype = 1;
		return 0;
	}
	if (is_word(t, "teams")) {
		r->match = MATCH_PROTOCOLS;
		rx->teams = 1;
		r->ids[r->n_ids++] = SF_PROTO_TEAMS;
		return 0;
	}
	if (is_word(t, "any")) {
		r->match = MATCH_ANY;
		return 0;
	}
	if (is_word(t, "protocol") || is_word(t, "category")) {
		int cat = is_word(t, "category");

		r->match = cat ? MATCH_CATEGORIES : MATCH_PROTOCOLS;
		for (;;) {
			const struct tok *n = next(pp);
			int id;

			if (n->type != T_WORD && n->type != T_STRING) {
				err_tok(pp, n, "expected a %s name, got '%s'",
					cat ? "category" : "protocol",
					tok_desc(n));
				return -1;
			}
			id = cat ? pp->names.category_id(pp->names.ctx, n->text)
				 : pp->names.proto_id(pp->names.ctx, n->text);
			if (id < 0) {
				if (cat)
					err_tok(pp, n, "unknown category '%s'",
						n->text);
				else
					report_unknown_proto(pp, n);
				bad = 1;
			} else if (r->n_ids == POLICY_MAX_IDS) {
				err_tok(pp, n,
					"too many %s in one rule (at most %d)",
					cat ? "categories" : "protocols",
					POLICY_MAX_IDS);
				bad = 1;
			} else {
				r->ids[r->n_ids++] = (uint16_t)id;
			}
			if (peek(pp)->type != T_COMMA)
				break;
			next(pp);
		}
		return bad ? -1 : 0;
	}
	err_tok(pp, t,
		"unknown keyword '%s' (expected hosts, log, inbound, outbound, "
		"skype, teams, protocol, category or any)",
		tok_desc(t));
	return -2;
}

/* "to" PREFIX { "," PREFIX } | "port" PORTS { "," PORTS }, after the
 * match; returns 0, or -1 (reported) with the rule unusable. */
static int parse_qualifier(struct policy_parser *pp, struct policy_rule *r,
			   int *seen_to, int *seen_port)
{
	const struct tok *kw = next(pp);
	int to = is_word(kw, "to"), bad = 0;
	char err[512];

	if ((to && (*seen_to)++) || (!to && (*seen_port)++)) {
		err_tok(pp, kw, "duplicate '%s' (list them after one '%s')",
			kw->text, kw->text);
		bad = 1;
	}
	for (;;) {
		const struct tok *t = next(pp);

		if (t->type != T_WORD) {
			err_tok(pp, t, "expected %s after '%s', got '%s'",
				to ? "an address or prefix"
				   : "a port or a port range",
				kw->text, tok_desc(t));
			if (t->type == T_SEMI || t->type == T_EOF ||
			    t->type == T_RBRACE) {
				unget(pp, t);
				return -2; /* the rule ends here */
			}
			return -1;
		}
		if (to) {
			struct lpm_prefix pf;

			if (lpm_prefix_parse(t->text, &pf, NULL, err,
					     sizeof(err)) != 0) {
				err_tok(pp, t, "%s", err);
				bad = 1;
			} else if (r->n_to == POLICY_MAX_TO) {
				err_tok(pp, t,
					"too many prefixes after 'to' (at most %d)",
					POLICY_MAX_TO);
				bad = 1;
			} else {
				r->to[r->n_to++] = pf;
			}
		} else {
			uint16_t lo[POLICY_MAX_PORTS], hi[POLICY_MAX_PORTS];

			/* one port or range: the lexer splits at ',' */
			if (addrsig_ports(t->text, lo, hi, err, sizeof(err)) !=
			    1) {
				err_tok(pp, t, "%s", err);
				bad = 1;
			} else if (r->n_ports == POLICY_MAX_PORTS) {
				err_tok(pp, t,
					"too many ports after 'port' (at most %d)",
					POLICY_MAX_PORTS);
				bad = 1;
			} else {
				r->port_lo[r->n_ports] = lo[0];
				r->port_hi[r->n_ports++] = hi[0];
			}
		}
		if (peek(pp)->type != T_COMMA)
			return bad ? -1 : 0;
		next(pp);
	}
}

/* "evidence" KIND { "," KIND }; the keyword is consumed. */
static int parse_evidence(struct policy_parser *pp, struct policy_rule *r)
{
	int bad = 0;

	for (;;) {
		const struct tok *t = next(pp);
		int ev = t->type == T_WORD ? cls_evidence_id(t->text) : -1;

		if (ev <= CLS_EV_NONE) {
			err_tok(pp, t,
				"invalid evidence '%s' (expected payload, sni, http-host, dns-name, certificate, stun, heuristic, address, port, cache, signature or mark)",
				tok_desc(t));
			if (t->type == T_SEMI || t->type == T_EOF ||
			    t->type == T_RBRACE)
				unget(pp, t);
			return -1;
		}
		r->ev_mask |= 1u << ev;
		if (peek(pp)->type != T_COMMA)
			return bad ? -1 : 0;
		next(pp);
	}
}

static int parse_throttle(struct policy_parser *pp, struct policy_rule *r)
{
	const struct tok *t = next(pp);
	int bad = 0, have_burst = 0, have_lat = 0;
	uint64_t v = 0; /* a rate refused is none */

	if (t->type != T_WORD || !isdigit((unsigned char)t->text[0])) {
		err_tok(pp, t,
			"throttle needs a rate, e.g. 'throttle 256kbit', got '%s'",
			tok_desc(t));
		if (t->type == T_SEMI)
			unget(pp, t); /* let the rule end normally */
		return -1;
	}
	if (parse_rate(t->text, &v) != 0) {
		err_tok(pp, t,
			"invalid rate '%s' (e.g. 256kbit, 1Mbit, 2000000)",
			t->text);
		bad = 1;
	} else if (v == 0) {
		err_tok(pp, t, "rate must be greater than 0");
		bad = 1;
	} else if (v > MAX_RATE_BPS) {
		err_tok(pp, t, "rate '%s' is above 100Gbit", t->text);
		bad = 1;
	}
	r->rate_bps = v;
	/* A default burst of 100 ms at the rate, never below one packet. */
	r->burst_bytes = (uint32_t)(v / 80 < MIN_BURST	 ? MIN_BURST
				    : v / 80 > MAX_BURST ? MAX_BURST
							 : v / 80);
	/* 200 ms, or the time six full-size packets take at the rate if
	 * longer: a hold queue of less than that makes TCP lose all the
	 * time (282 ms at 256 kbit/s); never more than the longest bound a
	 * rule may write (10 s; `throttle 1` would compute 20 hours). At
	 * 1 Mbit/s 100 ms held eight packets, four for each of two
	 * transfers, and a loss then cost one of them a time-out now and
	 * then: two hosts split the rate 0.75-0.81 at worst over 12 rounds
	 * (scripts/bench-fairness.sh), 0.87-0.92 with 200 ms. */
	r->latency_ms = DEFAULT_LATENCY_MS;
	if (v > 0 && 6ull * 1500 * 8 * 1000 / v + 1 > DEFAULT_LATENCY_MS)
		r->latency_ms =
			6ull * 1500 * 8 * 1000 / v + 1 > MAX_LATENCY_MS
				? MAX_LATENCY_MS
				: (uint32_t)(6ull * 1500 * 8 * 1000 / v + 1);
	for (;;) {
		const struct tok *k = peek(pp), *a;

		if (!is_word(k, "burst") && !is_word(k, "latency"))
			break;
		next(pp);
		a = next(pp);
		if (is_word(k, "burst")) {
			if (have_burst++) {
				err_tok(pp, k, "duplicate 'burst'");
				bad = 1;
			}
			if (a->type != T_WORD || parse_size(a->text, &v) != 0) {
				err_tok(pp, a,
					"invalid size '%s' (e.g. 64k, 1500)",
					tok_desc(a));
				bad = 1;
			} else if (v < MIN_BURST || v > MAX_BURST) {
				err_tok(pp, a,
					"burst must be between %u bytes and 64M",
					MIN_BURST);
				bad = 1;
			} else {
				r->burst_bytes = (uint32_t)v;
			}
		} else {
			if (have_lat++) {
				err_tok(pp, k, "duplicate 'latency'");
				bad = 1;
			}
			if (a->type != T_WORD ||
			    parse_duration_ms(a->text, &v) != 0) {
				err_tok(pp, a,
					"invalid duration '%s' (e.g. 50ms, 1s)",
					tok_desc(a));
				bad = 1;
			} else if (v < 1 || v > MAX_LATENCY_MS) {
				err_tok(pp, a,
					"latency must be between 1ms and 10s");
				bad = 1;
			} else {
				r->latency_ms = (uint32_t)v;
			}
		}
		if (a->type == T_SEMI || a->type == T_EOF)
			unget(pp, a);
	}
	return bad ? -1 : 0;
}

/* A rule as it is parsed. A part refused sets bad: the rule is then
 * dropped when its statement ends, every error in it reported. */
struct rule_state {
	uint16_t di;	     /* its department */
	uint32_t start;	     /* its first token */
	uint32_t action_tok; /* its action's token */
	const struct tok *first;
	struct policy_rule r;
	struct rule_extra rx;
	int bad;
	int seen_to, seen_port, seen_media, have_log, have_conf, have_ev;
	int have_mark;
};

static const char *const media_words[MEDIA_TYPES] = { "audio", "video",
						      "screen-share" };

/* The MEDIA_* bit a media type's word names, or 0. */
static uint8_t media_bit(const struct tok *t)
{
	unsigned i;

	for (i = 0; t->type == T_WORD && i < MEDIA_TYPES; i++)
		if (strcmp(t->text, media_words[i]) == 0)
			return (uint8_t)(1u << i);
	return 0;
}

/* Whether @t starts an action: an action word, or "mark". */
static int is_action_word(const struct tok *t)
{
	return t->type == T_WORD && (action_id(t->text, strlen(t->text)) >= 0 ||
				     strcmp(t->text, "mark") == 0);
}

/* One type of a "media" list, @t (consumed): 0, or -1 (reported). */
static int media_type(struct policy_parser *pp, struct rule_state *rs,
		      const struct tok *t)
{
	uint8_t b = media_bit(t);

	if (!b) {
		err_tok(pp, t,
			"unknown media type '%s' (expected audio, video or screen-share)",
			tok_desc(t));
		return -1;
	}
	if (rs->r.media & b) {
		err_tok(pp, t, "media type '%s' listed twice", t->text);
		return -1;
	}
	rs->r.media |= b;
	return 0;
}

/* "media" TYPE { "," TYPE } after the match, the keyword not consumed: the
 * media types a skype or teams rule is for. 0, or -1 (reported) with the
 * rule unusable, -2 when the rule ends here. */
static int parse_media(struct policy_parser *pp, struct rule_state *rs)
{
	const struct tok *kw = next(pp);
	int bad = 0;

	if (rs->seen_media++) {
		err_tok(pp, kw,
			"duplicate 'media' (list the types after one 'media')");
		bad = 1;
	} else if (!rs->rx.skype && !rs->rx.teams) {
		err_tok(pp, kw,
			"'media' goes with skype and teams rules only (the media types of a call)");
		bad = 1;
	}
	for (;;) {
		const struct tok *t = next(pp);

		if (t->type != T_WORD || is_action_word(t)) {
			err_tok(pp, t,
				"expected a media type (audio, video or screen-share) after 'media', got '%s'",
				tok_desc(t));
			unget(pp, t);
			if (t->type == T_WORD)
				return -1; /* the action comes next */
			return -2;
		}
		if (media_type(pp, rs, t) != 0)
			bad = 1;
		if (peek(pp)->type != T_COMMA)
			return bad ? -1 : 0;
		next(pp);
	}
}

/* [ "inbound" | "outbound" ] match { qualifier }: 0, or -1 when the
 * statement was skipped (reported). */
static int parse_rule_head(struct policy_parser *pp, struct rule_state *rs)
{
	int m;

	if (is_word(rs->first, "inbound") || is_word(rs->first, "outbound")) {
		rs->r.dir = is_word(rs->first, "inbound") ? RULE_DIR_INBOUND
							  : RULE_DIR_OUTBOUND;
		next(pp);
	}
	m = parse_match(pp, &rs->r, &rs->rx);
	if (m == -2) {
		sync_stmt(pp);
		return -1;
	}
	if (m != 0)
		rs->bad = 1;
	while (is_word(peek(pp), "to") || is_word(peek(pp), "port") ||
	       is_word(peek(pp), "media")) {
		int q = is_word(peek(pp), "media")
				? parse_media(pp, rs)
				: parse_qualifier(pp, &rs->r, &rs->seen_to,
						  &rs->seen_port);

		if (q == -2) {
			sync_stmt(pp);
			return -1;
		}
		if (q != 0)
			rs->bad = 1;
	}
	return 0;
}

static void report_unknown_action(struct policy_parser *pp, const struct tok *t)
{
	const char *best = NULL;
	unsigned i;

	for (i = 0; t->type == T_WORD && i < ACT_MAX; i++)
		if (edit_distance(t->text, action_name((uint8_t)i)) <= 2)
			best = action_name((uint8_t)i);
	if (best)
		err_tok(pp, t, "unknown action '%s' (did you mean '%s'?)",
			t->text, best);
	else
		err_tok(pp, t,
			"expected an action (allow, drop, reject, throttle or mark dscp), got '%s'",
			tok_desc(t));
}

/* A DSCP value: 0-63 in decimal, or its name (RFC 2474, 2597, 3246,
 * 5865); -1 if neither. */
static int dscp_value(const char *s)
{
	static const struct {
		const char *name;
		uint8_t v;
	} names[] = {
		{ "ef", 46 },	  { "va", 44 },	  { "be", 0 },
		{ "default", 0 }, { "cs0", 0 },	  { "cs1", 8 },
		{ "cs2", 16 },	  { "cs3", 24 },  { "cs4", 32 },
		{ "cs5", 40 },	  { "cs6", 48 },  { "cs7", 56 },
		{ "af11", 10 },	  { "af12", 12 }, { "af13", 14 },
		{ "af21", 18 },	  { "af22", 20 }, { "af23", 22 },
		{ "af31", 26 },	  { "af32", 28 }, { "af33", 30 },
		{ "af41", 34 },	  { "af42", 36 }, { "af43", 38 },
	};
	size_t i, n = strlen(s);

	if (n >= 1 && n <= 2 && strspn(s, "0123456789") == n) {
		int v = atoi(s);

		return v <= 63 ? v : -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].v;
	return -1;
}

/* "dscp" VALUE after "mark" (@kw, consumed): the rule's DSCP. Refusals
 * are reported and make the rule bad; 0 always (the rule goes on). */
static int parse_mark(struct policy_parser *pp, struct rule_state *rs,
		      const struct tok *kw)
{
	const struct tok *t = next(pp);
	int v;

	if (rs->have_mark++) {
		err_tok(pp, kw, "duplicate 'mark dscp'");
		rs->bad = 1;
	}
	if (!is_word(t, "dscp")) {
		err_tok(pp, t,
			"expected 'dscp' after 'mark' (e.g. mark dscp ef), got '%s'",
			tok_desc(t));
		/* "mark ef": the value is taken, the rest goes on */
		if (t->type != T_WORD || dscp_value(t->text) < 0)
			unget(pp, t);
		rs->bad = 1;
		return 0;
	}
	t = next(pp);
	v = t->type == T_WORD ? dscp_value(t->text) : -1;
	if (t->type != T_WORD) {
		err_tok(pp, t,
			"expected a DSCP value after 'mark dscp' (0 to 63, or a name such as ef), got '%s'",
			tok_desc(t));
		unget(pp, t);
		rs->bad = 1;
		return 0;
	}
	if (v < 0) {
		err_tok(pp, t,
			"invalid DSCP '%s' (0 to 63, or a name: ef, va, af11 to af43, cs0 to cs7, be)",
			t->text);
		rs->bad = 1;
		return 0;
	}
	rs->r.dscp = (uint8_t)(1 + v);
	return 0;
}

/* The action, with a throttle's arguments: 0, or -1 when the statement
 * was skipped (reported). "mark dscp VALUE" alone is allow and a DSCP. */
static int parse_rule_action(struct policy_parser *pp, struct rule_state *rs)
{
	const struct tok *t;
	int act;

	rs->action_tok = pp->pos;
	t = next(pp);
	if (is_word(t, "mark")) {
		rs->r.action = ACT_ALLOW;
		return parse_mark(pp, rs, t);
	}
	act = t->type == T_WORD ? action_id(t->text, strlen(t->text)) : -1;
	if (act < 0) {
		report_unknown_action(pp, t);
		if (t->type != T_SEMI)
			sync_stmt(pp);
		return -1;
	}
	rs->r.action = (uint8_t)act;
	if (act == ACT_THROTTLE && parse_throttle(pp, &rs->r) != 0)
		rs->bad = 1;
	return 0;
}

/* The words after the action, @t (not consumed) the one that names each:
 * 0 to go on with the rule, or -1 when the statement was skipped. */
static int rule_opt_log(struct policy_parser *pp, struct rule_state *rs,
			const struct tok *t)
{
	next(pp);
	if (rs->have_log++) {
		err_tok(pp, t, "duplicate 'log'");
		rs->bad = 1;
	}
	rs->r.log = 1;
	return 0;
}

static int rule_opt_confidence(struct policy_parser *pp, struct rule_state *rs,
			       const struct tok *t)
{
	const struct tok *c;
	int v;

	next(pp);
	c = next(pp);
	if (rs->have_conf++) {
		err_tok(pp, t, "duplicate 'confidence'");
		rs->bad = 1;
	}
	v = c->type == T_WORD ? parse_conf(c->text) : -1;
	if (v < 0) {
		err_tok(pp, c,
			"invalid confidence '%s' (expected dpi, cache, ip or port)",
			tok_desc(c));
		rs->bad = 1;
		if (c->type == T_SEMI || c->type == T_EOF)
			unget(pp, c);
	} else {
		rs->r.min_conf = (uint8_t)v;
	}
	return 0;
}

static int rule_opt_evidence(struct policy_parser *pp, struct rule_state *rs,
			     const struct tok *t)
{
	next(pp);
	if (rs->have_ev++) {
		err_tok(pp, t, "duplicate 'evidence'");
		rs->bad = 1;
	}
	if (parse_evidence(pp, &rs->r) != 0)
		rs->bad = 1;
	return 0;
}

/* "to" or "port" after the action. */
static int rule_opt_late_qualifier(struct policy_parser *pp,
				   struct rule_state *rs, const struct tok *t)
{
	(void)rs;
	err_tok(pp, t, "'%s' comes before the action ('skype %s ... drop;')",
		t->text, t->text);
	next(pp);
	sync_stmt(pp);
	return -1;
}

/* "mark dscp VALUE" after the action: allow's only. */
static int rule_opt_mark(struct policy_parser *pp, struct rule_state *rs,
			 const struct tok *t)
{
	next(pp);
	if (rs->r.action == ACT_THROTTLE) {
		err_tok(pp, t,
			"mark dscp goes with allow: a throttled flow stays in userspace, where the kernel does not mark it (write 'mark dscp VALUE' instead of 'throttle')");
		rs->bad = 1;
	} else if (rs->r.action != ACT_ALLOW) {
		err_tok(pp, t,
			"mark dscp goes with allow: a %s flow has no packets to mark",
			rs->r.action == ACT_DROP ? "dropped" : "rejected");
		rs->bad = 1;
	}
	return parse_mark(pp, rs, t);
}

/* "burst" or "latency" after an action other than throttle. */
static int rule_opt_not_throttle(struct policy_parser *pp,
				 struct rule_state *rs, const struct tok *t)
{
	const struct tok *a;

	err_tok(pp, t, "'%s' only applies to throttle", t->text);
	next(pp);
	a = next(pp);
	if (a->type == T_SEMI)
		unget(pp, a);
	rs->bad = 1;
	return 0;
}

/* Marks the next token a time word and takes it; its index. */
static uint32_t take_time_word(struct policy_parser *pp)
{
	uint32_t i = pp->pos;

	if (pp->toks[i].type != T_EOF)
		pp->toks[i].timew = 1;
	next(pp);
	return i;
}

/* Whether @t is a word a rule's tail names, not a value. */
static int is_tail_word(const struct tok *t)
{
	static const char *const w[] = { "log",	  "confidence", "evidence",
					 "mark",  "during",	"outside",
					 "until", "cut",	"finish",
					 "burst", "latency" };
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (is_word(t, w[i]))
			return 1;
	return 0;
}

/* The value after a time word @t (taken), a word: its index, or 0
 * (reported, not taken) when something else comes. */
static uint32_t time_value(struct policy_parser *pp, struct rule_state *rs,
			   const struct tok *t, const char *what)
{
	const struct tok *v = peek(pp);

	if (v->type != T_WORD || is_tail_word(v)) {
		err_tok(pp, v, "expected %s after '%s', got '%s'", what,
			t->text, tok_desc(v));
		rs->bad = 1;
		return 0;
	}
	return take_time_word(pp);
}

/* "during" WINDOW or "outside" WINDOW: the window's name, resolved at
 * finish (it may be defined after the rule). */
static int rule_opt_window(struct policy_parser *pp, struct rule_state *rs,
			   const struct tok *t)
{
	uint32_t ti = take_time_word(pp), v;

	if (!rs->rx.time_tok)
		rs->rx.time_tok = ti;
	v = time_value(pp, rs, t, "a window's name");
	if (rs->rx.win_tok) {
		err_tok(pp, t,
			"one window per rule: '%s' after '%s %s' (define a window that holds both)",
			t->text, rs->r.win_outside ? "outside" : "during",
			pp->toks[rs->rx.win_tok].text);
		rs->bad = 1;
		return 0;
	}
	if (v) {
		rs->rx.win_tok = v;
		rs->r.win_outside = (uint8_t)is_word(t, "outside");
	}
	return 0;
}

/* "until" TIME: checked at finish (a local time takes the options'
 * zone, which may be written after it). */
static int rule_opt_until(struct policy_parser *pp, struct rule_state *rs,
			  const struct tok *t)
{
	uint32_t ti = take_time_word(pp), v;

	if (!rs->rx.time_tok)
		rs->rx.time_tok = ti;
	v = time_value(pp, rs, t,
		       "a time (e.g. 2026-12-24T18:00:00Z or 2026-12-24)");
	if (rs->rx.until_tok) {
		err_tok(pp, t, "duplicate 'until'");
		rs->bad = 1;
	} else if (v) {
		rs->rx.until_tok = v;
	}
	return 0;
}

/* "cut" or "finish": what a boundary does to established flows. */
static int rule_opt_boundary(struct policy_parser *pp, struct rule_state *rs,
			     const struct tok *t)
{
	uint32_t ti = take_time_word(pp);

	if (rs->rx.bnd_tok) {
		err_tok(pp, t, "'%s' after '%s': a rule says one of them",
			t->text, pp->toks[rs->rx.bnd_tok].text);
		rs->bad = 1;
		return 0;
	}
	rs->rx.bnd_tok = ti;
	rs->r.boundary = is_word(t, "cut") ? BOUNDARY_CUT : BOUNDARY_FINISH;
	return 0;
}

/* A rule with time says what its boundary does; one without has none.
 * 0, or -1 (reported). */
static int rule_time_words(struct policy_parser *pp,
			   const struct rule_state *rs)
{
	if (rs->rx.time_tok && !rs->rx.bnd_tok) {
		err_tok(pp, &pp->toks[rs->rx.time_tok],
			"a rule with time says what its boundary does to established flows: add 'cut' (decided again at once) or 'finish' (they run on)");
		return -1;
	}
	if (rs->rx.bnd_tok && !rs->rx.time_tok) {
		err_tok(pp, &pp->toks[rs->rx.bnd_tok],
			"'%s' goes with a time (during WINDOW, outside WINDOW or until TIME): a rule without time has no boundary",
			pp->toks[rs->rx.bnd_tok].text);
		return -1;
	}
	return 0;
}

static const struct {
	const char *word;
	int (*parse)(struct policy_parser *pp, struct rule_state *rs,
		     const struct tok *t);
} rule_opts[] = {
	{ "during", rule_opt_window },
	{ "outside", rule_opt_window },
	{ "until", rule_opt_until },
	{ "cut", rule_opt_boundary },
	{ "finish", rule_opt_boundary },
	{ "log", rule_opt_log },
	{ "confidence", rule_opt_confidence },
	{ "evidence", rule_opt_evidence },
	{ "to", rule_opt_late_qualifier },
	{ "port", rule_opt_late_qualifier },
	{ "media", rule_opt_late_qualifier },
	{ "mark", rule_opt_mark },
	{ "burst", rule_opt_not_throttle },
	{ "latency", rule_opt_not_throttle },
};

/* { "log" | "confidence" CONF | "evidence" KINDS | "mark" "dscp" VALUE }
 * ";" after the action:
 * 0, or -1 when the statement was skipped (reported). */
static int parse_rule_tail(struct policy_parser *pp, struct rule_state *rs)
{
	for (;;) {
		const struct tok *t = peek(pp);
		size_t i;

		if (t->type == T_SEMI) {
			next(pp);
			return 0;
		}
		for (i = 0; i < sizeof(rule_opts) / sizeof(rule_opts[0]); i++)
			if (is_word(t, rule_opts[i].word))
				break;
		if (i < sizeof(rule_opts) / sizeof(rule_opts[0])) {
			if (rule_opts[i].parse(pp, rs, t) != 0)
				return -1;
			continue;
		}
		if (t->type == T_RBRACE || t->type == T_EOF ||
		    t->line != pp->toks[pp->pos - 1].line)
			err_missing_semi(pp);
		else
			err_tok(pp, t,
				"unexpected '%s' in rule (expected log, confidence, evidence, mark dscp, during, outside, until, cut, finish or ';')",
				tok_desc(t));
		sync_stmt(pp);
		return -1;
	}
}

/* The rule as written: r.text, cut to its size, and r.src whole, with the
 * offset of its action. -1 (nomem) if memory is short. */
static int rule_set_source(struct policy_parser *pp, struct rule_state *rs)
{
	char buf[4096];
	size_t at;

	rule_text(pp, rs->start, pp->pos - 1, 0, rs->r.text,
		  sizeof(rs->r.text));
	rule_text(pp, rs->start, rs->action_tok, 1, buf, sizeof(buf));
	at = strlen(buf) + 1;
	rule_text(pp, rs->start, pp->pos - 1, 1, buf, sizeof(buf));
	rs->r.src = strdup(buf);
	rs->r.action_at = (uint16_t)(at < strlen(buf) ? at : strlen(buf));
	if (!rs->r.src) {
		pp->nomem = 1;
		return -1;
	}
	return 0;
}

/* Appends the rule to its department; on nomem frees its src. */
static void rule_append(struct policy_parser *pp, struct rule_state *rs)
{
	struct policy_dept *d = &pp->pol->depts[rs->di];
	struct policy_rule *nr;
	struct rule_extra *nx;

	nr = realloc(d->rules, (d->n_rules + 1) * sizeof(*nr));
	if (!nr) {
		free(rs->r.src);
		pp->nomem = 1;
		return;
	}
	d->rules = nr;
	nx = realloc(pp->rx[rs->di], (d->n_rules + 1) * sizeof(*nx));
	if (!nx) {
		free(rs->r.src);
		pp->nomem = 1;
		return;
	}
	pp->rx[rs->di] = nx;
	d->rules[d->n_rules] = rs->r;
	pp->rx[rs->di][d->n_rules] = rs->rx;
	d->n_rules++;
}

/* rule = [ direction ] match { qualifier } action { option } ";" */
static void parse_rule(struct policy_parser *pp, uint16_t di)
{
	const struct policy_dept *d = &pp->pol->depts[di];
	struct rule_state rs;

	memset(&rs, 0, sizeof(rs));
	rs.di = di;
	rs.start = pp->pos;
	rs.first = peek(pp);
	rs.r.line = rs.first->line;
	rs.rx.col = rs.first->col;
	rs.r.min_conf = CONF_UNSET;
	rs.r.win = rs.r.tmp = -1;
	if (parse_rule_head(pp, &rs) != 0 || parse_rule_action(pp, &rs) != 0 ||
	    parse_rule_tail(pp, &rs) != 0 || rs.bad ||
	    rule_time_words(pp, &rs) != 0)
		return;
	if (d->n_rules >= MAX_RULES_PER_DEPT) {
		err_tok(pp, rs.first,
			"too many rules in department '%s' (at most %d)",
			d->name, MAX_RULES_PER_DEPT);
		return;
	}
	if (rule_set_source(pp, &rs) == 0)
		rule_append(pp, &rs);
}

/* "{" { dstmt } "}"; the '{' is already consumed. */
#define GROUP_MAX_LEN 253 /* a RADIUS attribute's value */
#define MAX_GROUPS_PER_DEPT 256

/* "groups G, G, ...;" after the keyword. */
static void parse_groups(struct policy_parser *pp, uint16_t di,
			 const struct tok *kw)
{
	uint32_t n = 0;

	if (di == POLICY_DEFAULT_DEPT) {
		err_tok(pp, kw,
			"'groups' is not allowed in the default block (it holds hosts in no department)");
		sync_stmt(pp);
		return;
	}
	for (;;) {
		const struct tok *t = next(pp), *sep;
		struct pgroup *g;

		if (t->type != T_STRING && t->type != T_WORD) {
			err_tok(pp, t,
				"expected a group (a name or a quoted DN), got '%s'",
				tok_desc(t));
			unget(pp, t);
			sync_stmt(pp);
			return;
		}
		if (!t->text[0] || strlen(t->text) > GROUP_MAX_LEN)
			err_tok(pp, t,
				"a group is 1 to %d characters (RADIUS's longest value)",
				GROUP_MAX_LEN);
		else if (++n > MAX_GROUPS_PER_DEPT)
			err_tok(pp, t, "too many groups (at most %d)",
				MAX_GROUPS_PER_DEPT);
		else if (!grow(pp, &pp->grp, &pp->cap_grp, pp->n_grp,
			       sizeof(*pp->grp), 16)) {
			g = &pp->grp[pp->n_grp];
			g->name = strdup(t->text);
			if (!g->name) {
				pp->nomem = 1;
				return;
			}
			g->dept = di;
			g->line = t->line;
			g->col = t->col;
			pp->n_grp++;
		}
		sep = next(pp);
		if (sep->type == T_SEMI)
			return;
		if (sep->type != T_COMMA) {
			err_tok(pp, sep,
				"expected ',' or ';' after a group, got '%s'",
				tok_desc(sep));
			unget(pp, sep);
			sync_stmt(pp);
			return;
		}
	}
}

/* "identity required [DEPT];" after the keyword. */
static void parse_identity(struct policy_parser *pp, uint16_t di,
			   const struct tok *kw)
{
	const struct tok *t = next(pp);
	struct idreq *r;
	uint32_t i;

	if (!is_word(t, "required")) {
		err_tok(pp, t, "expected 'identity required', got '%s'",
			tok_desc(t));
		unget(pp, t);
		sync_stmt(pp);
		return;
	}
	if (di == POLICY_DEFAULT_DEPT) {
		err_tok(pp, kw,
			"'identity required' is not allowed in the default block (it holds the hosts of no department)");
		sync_stmt(pp);
		return;
	}
	for (i = 0; i < pp->n_idreq; i++)
		if (pp->idreq[i].dept == di) {
			err_tok(pp, kw,
				"duplicate 'identity required' (first at line %u)",
				pp->idreq[i].line);
			sync_stmt(pp);
			return;
		}
	if (grow(pp, &pp->idreq, &pp->cap_idreq, pp->n_idreq,
		 sizeof(*pp->idreq), 8))
		return;
	r = &pp->idreq[pp->n_idreq++];
	memset(r, 0, sizeof(*r));
	r->dept = di;
	r->line = kw->line;
	r->col = kw->col;
	t = peek(pp);
	if (t->type == T_WORD) {
		next(pp);
		r->line = t->line;
		r->col = t->col;
		snprintf(r->name, sizeof(r->name), "%s", t->text);
	}
	expect_semi(pp);
}

static void parse_dept_body(struct policy_parser *pp, uint16_t di,
			    const struct tok *open)
{
	struct policy_dept *d;
	int have_log = 0;

	for (;;) {
		const struct tok *t = peek(pp);

		d = &pp->pol->depts[di];
		if (t->type == T_RBRACE) {
			next(pp);
			return;
		}
		if (t->type == T_EOF) {
			err_unclosed(pp, t, open);
			return;
		}
		if (t->type == T_SEMI) { /* stray ';' is harmless */
			next(pp);
			continue;
		}
		if (is_word(t, "hosts")) {
			next(pp);
			pp->hosts_seen[di] = 1;
			if (di == POLICY_DEFAULT_DEPT) {
				err_tok(pp, t,
					"'hosts' is not allowed in the default block (it holds hosts in no department)");
				sync_stmt(pp);
				continue;
			}
			parse_prefix_list(pp, di, "host");
		} else if (is_word(t, "groups")) {
			next(pp);
			pp->hosts_seen[di] = 1;
			parse_groups(pp, di, t);
		} else if (is_word(t, "identity")) {
			next(pp);
			parse_identity(pp, di, t);
		} else if (is_word(t, "log")) {
			const struct tok *v;

			next(pp);
			v = next(pp);
			if (have_log++)
				err_tok(pp, t,
					"duplicate 'log' setting in department '%s'",
					d->name);
			if (is_word(v, "all"))
				d->log = DEPT_LOG_ALL;
			else if (is_word(v, "rules"))
				d->log = DEPT_LOG_RULES;
			else if (is_word(v, "none"))
				d->log = DEPT_LOG_NONE;
			else {
				err_tok(pp, v,
					"invalid log setting '%s' (expected all, rules or none)",
					tok_desc(v));
				if (v->type == T_SEMI || v->type == T_RBRACE)
					unget(pp, v);
			}
			expect_semi(pp);
		} else if (is_word(t, "fail-closed")) {
			next(pp);
			if (di == POLICY_DEFAULT_DEPT)
				err_tok(pp, t,
					"'fail-closed' is not allowed in the default block "
					"(it names a department's hosts; to close every queue, "
					"use skyfence-rules.sh up --fail-closed)");
			else if (d->fail_closed++)
				err_tok(pp, t,
					"duplicate 'fail-closed' in department '%s'",
					d->name);
			expect_semi(pp);
		} else if (t->type == T_WORD) {
			parse_rule(pp, di);
		} else {
			err_tok(pp, t, "unexpected '%s' in department '%s'",
				tok_desc(t), d->name);
			next(pp);
			sync_stmt(pp);
		}
	}
}

/* Takes the '{' that opens a block after @after; NULL (reported, and the
 * statement skipped) if something else comes. */
static const struct tok *expect_lbrace(struct policy_parser *pp,
				       const char *after)
{
	const struct tok *open = next(pp);

	if (open->type == T_LBRACE)
		return open;
	err_tok(pp, open, "expected '{' after %s, got '%s'", after,
		tok_desc(open));
	if (open->type != T_EOF)
		sync_stmt(pp);
	return NULL;
}

static void parse_department(struct policy_parser *pp)
{
	const struct tok *kw = next(pp), *name = peek(pp), *open;
	struct policy_dept *d;
	uint32_t i;
	int ok = 1;

	if (name->type == T_LBRACE) {
		err_tok(pp, name, "missing department name");
		ok = 0;
	} else {
		next(pp);
		if (name->type != T_WORD || !valid_dept_name(name->text)) {
			err_tok(pp, name,
				"invalid department name '%s' (a letter, then letters, digits, '-' or '_'; at most %d)",
				tok_desc(name), POLICY_NAME_LEN - 1);
			ok = 0;
		} else if (strcmp(name->text, "default") == 0) {
			err_tok(pp, name,
				"department name 'default' is reserved (use a 'default { ... }' block)");
			ok = 0;
		} else if (strcasecmp(name->text, "default") == 0) {
			err_tok(pp, name,
				"department name '%s' differs from the reserved 'default' only in case",
				name->text);
			ok = 0;
		} else {
			for (i = 1; i < pp->pol->n_depts; i++) {
				const struct policy_dept *o =
					&pp->pol->depts[i];

				if (strcmp(o->name, name->text) == 0) {
					err_tok(pp, name,
						"duplicate department '%s' (first defined at line %u)",
						name->text, o->line);
					ok = 0;
					break;
				}
				if (strcasecmp(o->name, name->text) == 0) {
					err_tok(pp, name,
						"department '%s' differs from '%s' (line %u) only in case: names are exact, so these are two departments; use one spelling",
						name->text, o->name, o->line);
					ok = 0;
					break;
				}
			}
		}
	}
	open = expect_lbrace(pp, "department name");
	if (!open)
		return;
	if (pp->pol->n_depts >= MAX_DEPTS) {
		err_tok(pp, kw, "too many departments (at most %d)",
			MAX_DEPTS - 1);
		ok = 0;
	}
	d = add_dept(pp, ok ? name->text : "", kw->line);
	if (!d)
		return;
	parse_dept_body(pp, (uint16_t)(pp->pol->n_depts - 1), open);
	if (!ok)
		pp->pol->depts[pp->pol->n_depts - 1].name[0] = '\0';
}

static void parse_default(struct policy_parser *pp)
{
	const struct tok *kw = next(pp), *open = expect_lbrace(pp, "'default'");

	if (!open)
		return;
	if (pp->have_default)
		err_tok(pp, kw, "duplicate default block (first at line %u)",
			pp->default_line);
	else
		pp->pol->depts[POLICY_DEFAULT_DEPT].line = kw->line;
	pp->have_default = 1;
	pp->default_line = kw->line;
	parse_dept_body(pp, POLICY_DEFAULT_DEPT, open);
}

/* killswitch APP { "," APP } ";": the apps dropped before every
 * department's rules, at any confidence (skyfencectl killswitch on
 * writes it into the running policy). Kept as the words written, each
 * once, space-separated. */
static void parse_killswitch(struct policy_parser *pp)
{
	const struct tok *kw = next(pp);
	char *ks = pp->pol->killswitch;
	size_t cap = sizeof(pp->pol->killswitch);

	if (pp->killswitch_line)
		err_tok(pp, kw, "killswitch written twice (first at line %u)",
			pp->killswitch_line);
	pp->killswitch_line = kw->line;
	for (;;) {
		const struct tok *n = next(pp);

		if (n->type != T_WORD && n->type != T_STRING) {
			err_tok(pp, n,
				"killswitch needs an app (skype, or an nDPI protocol name), got '%s'",
				tok_desc(n));
			unget(pp, n);
			sync_stmt(pp);
			return;
		}
		if (strcmp(n->text, "skype") != 0 &&
		    (strchr(n->text, ' ') ||
		     pp->names.proto_id(pp->names.ctx, n->text) < 0)) {
			report_unknown_proto(pp, n);
		} else if (!policy_word_listed(ks, n->text)) {
			size_t o = strlen(ks);

			if (o + !!o + strlen(n->text) >= cap)
				err_tok(pp, n,
					"too many apps in the kill switch (at most %zu characters)",
					cap - 1);
			else {
				if (o)
					ks[o++] = ' ';
				memcpy(ks + o, n->text, strlen(n->text) + 1);
			}
		}
		if (peek(pp)->type != T_COMMA)
			break;
		next(pp);
	}
	expect_semi(pp);
}

/* ---- time: zones, dates, windows ---- */

/* Zones an admin is likely to mean, for a suggestion when one is
 * misspelt (the system's zone directory is not scanned: the policy reads
 * no directory). */
static const char *const common_zones[] = {
	"UTC",
	"Europe/Berlin",
	"Europe/London",
	"Europe/Paris",
	"Europe/Madrid",
	"Europe/Rome",
	"Europe/Amsterdam",
	"Europe/Brussels",
	"Europe/Vienna",
	"Europe/Zurich",
	"Europe/Stockholm",
	"Europe/Warsaw",
	"Europe/Prague",
	"Europe/Dublin",
	"Europe/Lisbon",
	"Europe/Helsinki",
	"Europe/Athens",
	"Europe/Istanbul",
	"Europe/Moscow",
	"America/New_York",
	"America/Chicago",
	"America/Denver",
	"America/Los_Angeles",
	"America/Toronto",
	"America/Sao_Paulo",
	"Asia/Tokyo",
	"Asia/Shanghai",
	"Asia/Kolkata",
	"Asia/Singapore",
	"Asia/Dubai",
	"Australia/Sydney",
	"Pacific/Auckland",
	"Africa/Johannesburg",
};

/* The zone @t names, loaded once per policy (policy.zones); NULL
 * (reported) if it does not load. */
static const struct tz *zone_load(struct policy_parser *pp, const struct tok *t)
{
	struct policy *p = pp->pol;
	const char *best = NULL;
	unsigned bestd = 4, d;
	struct tz *z, **nz;
	char err[256];
	size_t i;

	for (i = 0; i < p->n_zones; i++)
		if (strcmp(tz_name(p->zones[i]), t->text) == 0)
			return p->zones[i];
	z = tz_load(t->text, err, sizeof(err));
	if (!z) {
		for (i = 0; i < sizeof(common_zones) / sizeof(common_zones[0]);
		     i++) {
			d = edit_distance(t->text, common_zones[i]);
			if (d < bestd) {
				bestd = d;
				best = common_zones[i];
			}
		}
		if (best)
			err_tok(pp, t, "%s (did you mean '%s'?)", err, best);
		else
			err_tok(pp, t, "%s", err);
		return NULL;
	}
	nz = realloc(p->zones, (p->n_zones + 1) * sizeof(*nz));
	if (!nz) {
		tz_free(z);
		pp->nomem = 1;
		return NULL;
	}
	p->zones = nz;
	p->zones[p->n_zones++] = z;
	return z;
}

/* @n decimal digits at @s: the value, or -1. */
static int digits(const char *s, unsigned n)
{
	int v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30,
					  31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* "YYYY-MM-DD" at @s (10 characters): days since 1970-01-01 in *@out.
 * 0, or -1 if it is no such date. */
static int parse_date(const char *s, int32_t *out)
{
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);

	if (y < 1970 || m < 1 || m > 12 || d < 1 || s[4] != '-' ||
	    s[7] != '-' || (unsigned)d > days_in_month(y, (unsigned)m))
		return -1;
	*out = win_days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

/* "HH:MM" at @s: minutes from midnight (24:00 if @end), or -1. */
static int parse_hhmm(const char *s, int end)
{
	int h = digits(s, 2), m = digits(s + 3, 2);

	if (h < 0 || m < 0 || s[2] != ':' || m > 59)
		return -1;
	if (h == 24 && m == 0 && end)
		return 1440;
	return h <= 23 ? h * 60 + m : -1;
}

/* An "until" TIME @s: YYYY-MM-DD[THH:MM[:SS]] then "Z", "+HH:MM",
 * "-HH:MM" or nothing (a local time in @zone). The instant in *@out: 0,
 * -1 if it is no time, -2 if it is local and @zone NULL. */
static int parse_instant(const char *s, const struct tz *zone, int64_t *out)
{
	size_t n = strlen(s), o = 10;
	int32_t day;
	int h = 0, m = 0, sec = 0, off = 0, oh, om, local = 1;

	if (n < 10 || parse_date(s, &day) != 0 || day > 2932896 /* 9999 */)
		return -1;
	if (n > o && s[o] == 'T') {
		if (n < o + 6 || (h = parse_hhmm(s + o + 1, 0)) < 0)
			return -1;
		m = h % 60;
		h /= 60;
		o += 6;
		if (n > o && s[o] == ':') {
			sec = digits(s + o + 1, 2);
			if (n < o + 3 || sec < 0 || sec > 59)
				return -1;
			o += 3;
		}
		if (n == o + 1 && s[o] == 'Z') {
			local = 0;
			o++;
		} else if (n == o + 6 && (s[o] == '+' || s[o] == '-')) {
			oh = digits(s + o + 1, 2);
			om = digits(s + o + 4, 2);
			if (oh < 0 || om < 0 || s[o + 3] != ':' || oh > 14 ||
			    om > 59)
				return -1;
			off = (s[o] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
			local = 0;
			o += 6;
		}
	}
	if (o != n)
		return -1;
	*out = (int64_t)day * 86400 + h * 3600 + m * 60 + sec;
	if (!local)
		*out -= off;
	else if (!zone)
		return -2;
	else
		*out = tz_utc_of(zone, *out);
	/* written back as YYYY-MM-DDTHH:MM:SSZ, four digits of year */
	return *out >= 0 && *out < 253402300800LL /* 10000-01-01 */ ? 0 : -1;
}

int policy_until_instant(const char *s, const struct tz *zone, int64_t *out)
{
	return parse_instant(s, zone, out);
}

/* @t as YYYY-MM-DDTHH:MM:SSZ. */
static void format_instant(int64_t t, char *buf, size_t len)
{
	int32_t day = (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
	int64_t r = t - (int64_t)day * 86400;
	unsigned mo, d;
	int y;

	win_civil_from_days(day, &y, &mo, &d);
	snprintf(buf, len, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, mo, d,
		 (unsigned)(r / 3600), (unsigned)(r / 60 % 60),
		 (unsigned)(r % 60));
}

/* A window's statements, as they are parsed: which were written. */
struct win_body {
	struct window *w;
	struct winx *x;
	unsigned seen; /* 1 << index in win_stmts */
};

static const char *const day_words[7] = { "mon", "tue", "wed", "thu",
					  "fri", "sat", "sun" };

static int day_index(const char *s, size_t n)
{
	unsigned i;

	for (i = 0; i < 7; i++)
		if (strlen(day_words[i]) == n && !strncmp(s, day_words[i], n))
			return (int)i;
	return -1;
}

/* DAY or DAY-DAY (fri-mon runs over the weekend). */
static void win_day(struct policy_parser *pp, struct win_body *b,
		    const struct tok *t)
{
	const char *dash = strchr(t->text, '-');
	int lo = day_index(t->text,
			   dash ? (size_t)(dash - t->text) : strlen(t->text)),
	    hi = dash ? day_index(dash + 1, strlen(dash + 1)) : lo, i;

	if (lo < 0 || hi < 0) {
		err_tok(pp, t,
			"invalid day '%s' (mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri)",
			t->text);
		return;
	}
	for (i = lo;; i = (i + 1) % 7) {
		if (b->w->days & (1u << i)) {
			err_tok(pp, t, "day '%s' listed twice in window '%s'",
				day_words[i], b->w->name);
			return;
		}
		b->w->days |= (uint8_t)(1u << i);
		if (i == hi)
			break;
	}
}

/* Whether the time ranges @a and @b share a minute (either may run
 * across midnight). */
static int ranges_meet(const struct win_range *a, const struct win_range *b)
{
	int as = a->start, ae = a->end > a->start ? a->end : a->end + 1440;
	int bs = b->start, be = b->end > b->start ? b->end : b->end + 1440;
	int k;

	for (k = -1440; k <= 1440; k += 1440)
		if (as < be + k && bs + k < ae)
			return 1;
	return 0;
}

/* HH:MM-HH:MM */
static void win_time(struct policy_parser *pp, struct win_body *b,
		     const struct tok *t)
{
	struct window *w = b->w;
	struct win_range r;
	int s = -1, e = -1;
	unsigned i;

	if (strlen(t->text) == 11 && t->text[5] == '-') {
		s = parse_hhmm(t->text, 0);
		e = parse_hhmm(t->text + 6, 1);
	}
	if (s < 0 || e < 0) {
		err_tok(pp, t,
			"invalid time range '%s' (HH:MM-HH:MM, hours 00 to 23, e.g. 08:00-18:00; 24:00 may end one)",
			t->text);
		return;
	}
	if (s == e) {
		err_tok(pp, t,
			"empty time range '%s' (00:00-24:00 is the whole day)",
			t->text);
		return;
	}
	r.start = (uint16_t)s;
	r.end = (uint16_t)e;
	for (i = 0; i < w->n_ranges; i++)
		if (ranges_meet(&w->ranges[i], &r)) {
			err_tok(pp, t,
				"time range '%s' overlaps %02u:%02u-%02u:%02u in window '%s'",
				t->text, w->ranges[i].start / 60u,
				w->ranges[i].start % 60u,
				w->ranges[i].end / 60u, w->ranges[i].end % 60u,
				w->name);
			return;
		}
	if (w->n_ranges >= WIN_RANGES) {
		err_tok(pp, t,
			"too many time ranges in window '%s' (at most %d)",
			w->name, WIN_RANGES);
		return;
	}
	w->ranges[w->n_ranges++] = r;
}

/* DATE or DATE..DATE, into "dates" or "except" (@ex). */
static void win_date(struct policy_parser *pp, struct win_body *b,
		     const struct tok *t, int ex)
{
	struct window *w = b->w;
	struct win_dates *list = ex ? w->except : w->dates, d;
	uint8_t *n = ex ? &w->n_except : &w->n_dates;
	size_t len = strlen(t->text);
	unsigned i;
	int ok = 0;

	if (len == 10 && parse_date(t->text, &d.lo) == 0) {
		d.hi = d.lo;
		ok = 1;
	} else if (len == 22 && !strncmp(t->text + 10, "..", 2)) {
		ok = parse_date(t->text, &d.lo) == 0 &&
		     parse_date(t->text + 12, &d.hi) == 0;
	}
	if (!ok) {
		err_tok(pp, t,
			"invalid date '%s' (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, a day that exists)",
			t->text);
		return;
	}
	if (d.hi < d.lo) {
		err_tok(pp, t, "date range '%s' ends before it starts",
			t->text);
		return;
	}
	for (i = 0; i < *n; i++)
		if (list[i].lo <= d.hi && d.lo <= list[i].hi) {
			err_tok(pp, t,
				"'%s' overlaps another date of '%s' in window '%s'",
				t->text, ex ? "except" : "dates", w->name);
			return;
		}
	if (*n >= WIN_DATES) {
		err_tok(pp, t,
			"too many dates in '%s' of window '%s' (at most %d)",
			ex ? "except" : "dates", w->name, WIN_DATES);
		return;
	}
	list[(*n)++] = d;
}

static void win_dates_one(struct policy_parser *pp, struct win_body *b,
			  const struct tok *t)
{
	win_date(pp, b, t, 0);
}

static void win_except_one(struct policy_parser *pp, struct win_body *b,
			   const struct tok *t)
{
	win_date(pp, b, t, 1);
}

/* zone NAME: loaded now, once per policy. */
static void win_zone_one(struct policy_parser *pp, struct win_body *b,
			 const struct tok *t)
{
	b->x->zone_tok = (uint32_t)(t - pp->toks);
	b->w->tz = zone_load(pp, t);
	b->x->zone_bad = !b->w->tz;
}

static const struct {
	const char *word;
	void (*one)(struct policy_parser *pp, struct win_body *b,
		    const struct tok *t);
	int list; /* values separated by ',' */
	const char *example;
} win_stmts[] = {
	{ "zone", win_zone_one, 0, "a time zone (e.g. \"Europe/Berlin\")" },
	{ "days", win_day, 1, "days (e.g. mon-fri)" },
	{ "time", win_time, 1, "a time range (e.g. 08:00-18:00)" },
	{ "dates", win_dates_one, 1, "dates (e.g. 2026-12-01..2027-03-31)" },
	{ "except", win_except_one, 1, "dates (e.g. 2026-12-24)" },
};
#define N_WIN_STMTS (sizeof(win_stmts) / sizeof(win_stmts[0]))

/* The values of a window's statement @i after its keyword @kw (taken),
 * through the ';'. */
static void win_stmt(struct policy_parser *pp, struct win_body *b, unsigned i,
		     const struct tok *kw)
{
	if (b->seen & (1u << i))
		err_tok(pp, kw, "duplicate '%s' in window '%s'", kw->text,
			b->w->name);
	b->seen |= 1u << i;
	for (;;) {
		const struct tok *t = next(pp);

		if (t->type != T_WORD &&
		    !(t->type == T_STRING && i == 0 /* zone */)) {
			err_tok(pp, t, "expected %s after '%s', got '%s'",
				win_stmts[i].example, kw->text, tok_desc(t));
			unget(pp, t);
			if (t->type == T_SEMI)
				next(pp);
			else if (t->type != T_RBRACE && t->type != T_EOF)
				sync_stmt(pp);
			return;
		}
		win_stmts[i].one(pp, b, t);
		if (!win_stmts[i].list || peek(pp)->type != T_COMMA)
			break;
		next(pp);
	}
	expect_semi(pp);
}

/* "{" { wstmt } "}" of window @b; the '{' (@open) taken. */
static void parse_window_body(struct policy_parser *pp, struct win_body *b,
			      const struct tok *open)
{
	for (;;) {
		const struct tok *t = next(pp);
		unsigned i;

		if (t->type == T_RBRACE)
			break;
		if (t->type == T_EOF) {
			err_unclosed(pp, t, open);
			unget(pp, t);
			break;
		}
		if (t->type == T_SEMI)
			continue;
		for (i = 0; i < N_WIN_STMTS; i++)
			if (is_word(t, win_stmts[i].word))
				break;
		if (i == N_WIN_STMTS) {
			err_tok(pp, t,
				"unknown statement '%s' in window '%s' (expected zone, days, time, dates or except)",
				tok_desc(t), b->w->name);
			sync_stmt(pp);
			continue;
		}
		win_stmt(pp, b, i, t);
	}
	if (!(b->seen & (1u << 2)))
		err_at(pp, b->x->line, b->x->col,
		       "window '%s' has no 'time' (e.g. time 08:00-18:00;)",
		       b->w->name);
	if (!(b->seen & (1u << 1)))
		b->w->days = 0x7f;
}

/* The window named @name, or -1. */
static int window_index(const struct policy_parser *pp, const char *name)
{
	uint32_t i;

	for (i = 0; i < pp->n_named; i++)
		if (strcmp(pp->pol->windows[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* window NAME "{" { wstmt } "}" */
static void parse_window(struct policy_parser *pp)
{
	const struct tok *kw = next(pp), *name = peek(pp), *open;
	struct window scratch;
	struct winx sx;
	struct win_body b = { &scratch, &sx, 0 };
	int ok = 1, dup;

	memset(&scratch, 0, sizeof(scratch));
	memset(&sx, 0, sizeof(sx));
	if (name->type == T_LBRACE) {
		err_tok(pp, name, "missing window name");
		ok = 0;
	} else {
		next(pp);
		if (name->type != T_WORD || !valid_dept_name(name->text) ||
		    strlen(name->text) >= WIN_NAME_LEN) {
			err_tok(pp, name,
				"invalid window name '%s' (a letter, then letters, digits, '-' or '_'; at most %d)",
				tok_desc(name), WIN_NAME_LEN - 1);
			ok = 0;
		} else if ((dup = window_index(pp, name->text)) >= 0) {
			err_tok(pp, name,
				"duplicate window '%s' (first defined at line %u)",
				name->text, pp->winx[dup].line);
			ok = 0;
		}
	}
	open = expect_lbrace(pp, "window name");
	if (!open)
		return;
	if (ok && pp->n_named >= WIN_MAX) {
		err_tok(pp, kw, "too many windows (at most %d)", WIN_MAX);
		ok = 0;
	}
	if (ok && !pp->pol->windows) {
		pp->pol->windows = calloc(WIN_MAX, sizeof(struct window));
		if (!pp->pol->windows) {
			pp->nomem = 1;
			return;
		}
	}
	if (ok) {
		b.w = &pp->pol->windows[pp->n_named];
		b.x = &pp->winx[pp->n_named];
	}
	if (name->type == T_WORD)
		snprintf(b.w->name, sizeof(b.w->name), "%s", name->text);
	b.w->kind = WIN_RECUR;
	b.w->line = kw->line;
	b.x->line = name->line;
	b.x->col = name->col;
	parse_window_body(pp, &b, open);
	if (ok)
		pp->pol->n_windows = ++pp->n_named;
}

/* An option's statement: its handler takes the values after the keyword
 * @kw, not the ';'. Returns 0 when the ';' should come next, 1 when the
 * statement is over (reported: skipped, or cut short by '}' or the end of
 * the file, left for the block). */
struct opt_def {
	const char *word;
	int (*parse)(struct policy_parser *pp, const struct opt_def *o,
		     const struct tok *kw);
	size_t off; /* of its field in struct policy */
};

/* The one value of an option; NULL (put back) when the statement ends
 * there, *ended when it ends with the block or the file. */
static const struct tok *opt_value(struct policy_parser *pp, int *ended)
{
	const struct tok *v = next(pp);

	*ended = 0;
	if (v->type == T_SEMI || v->type == T_RBRACE || v->type == T_EOF) {
		unget(pp, v);
		*ended = v->type != T_SEMI;
	}
	return v;
}

static int opt_bool(struct policy_parser *pp, const struct opt_def *o,
		    const struct tok *kw)
{
	int ended;
	const struct tok *v = opt_value(pp, &ended);
	uint8_t *b = (uint8_t *)pp->pol + o->off;

	(void)kw;
	if (is_word(v, "yes"))
		*b = 1;
	else if (is_word(v, "no"))
		*b = 0;
	else
		err_tok(pp, v, "invalid boolean '%s' (expected yes or no)",
			tok_desc(v));
	return ended;
}

static int opt_conf(struct policy_parser *pp, const struct opt_def *o,
		    const struct tok *kw)
{
	int ended;
	const struct tok *v = opt_value(pp, &ended);
	int c = v->type == T_WORD ? parse_conf(v->text) : -1;

	(void)o;
	(void)kw;
	if (c < 0)
		err_tok(pp, v,
			"invalid confidence '%s' (expected dpi, cache, ip or port)",
			tok_desc(v));
	else
		pp->pol->min_conf = (uint8_t)c;
	return ended;
}

/* signatures, address-list, feed: an absolute path. */
static int opt_file(struct policy_parser *pp, const struct opt_def *o,
		    const struct tok *kw)
{
	int ended;
	const struct tok *v = opt_value(pp, &ended);
	char *f = (char *)pp->pol + o->off;
	size_t cap = sizeof(pp->pol->signatures);

	(void)kw;
	if (v->type != T_STRING && v->type != T_WORD)
		err_tok(pp, v, "expected a file name, got '%s'", tok_desc(v));
	else if (v->text[0] != '/')
		err_tok(pp, v, "%s file '%s' must be an absolute path", o->word,
			v->text);
	else if (strlen(v->text) >= cap)
		err_tok(pp, v, "file name too long (at most %zu bytes)",
			cap - 1);
	else
		snprintf(f, cap, "%s", v->text);
	return ended;
}

/* The media-ports ranges overlap-free, defaults included (a port says one
 * type). */
static void check_media_ports(struct policy_parser *pp, const struct tok *kw,
			      uint8_t written)
{
	const struct policy *p = pp->pol;
	unsigned i, j;

	for (i = 0; i < MEDIA_TYPES; i++)
		for (j = i + 1; j < MEDIA_TYPES; j++) {
			if (!p->media_hi[i] || !p->media_hi[j] ||
			    p->media_lo[i] > p->media_hi[j] ||
			    p->media_lo[j] > p->media_hi[i])
				continue;
			err_tok(pp, kw,
				"media-ports: the %s ports %u-%u%s overlap the %s ports %u-%u%s: a port names one media type",
				media_words[i], p->media_lo[i], p->media_hi[i],
				written & (1u << i) ? "" : " (the default)",
				media_words[j], p->media_lo[j], p->media_hi[j],
				written & (1u << j) ? "" : " (the default)");
		}
}

/* One "TYPE RANGE" or "TYPE none" of media-ports, @t its type (consumed):
 * 0, 1 when the statement is over (reported). "none" turns the type's
 * port hint off (stored as 0-0, which no port is in): Windows' ephemeral
 * ports, 49152-65535, cover Microsoft's default ranges, so a tenant
 * without media ports would have a call that happens to get such a port
 * taken for one type. */
static int media_port_range(struct policy_parser *pp, const struct tok *t,
			    uint8_t *written)
{
	uint8_t b = media_bit(t);
	const struct tok *r;
	uint16_t lo, hi;
	char err[512];

	if (!b) {
		err_tok(pp, t,
			"unknown media type '%s' in media-ports (expected audio, video or screen-share)",
			tok_desc(t));
		sync_stmt(pp);
		return 1;
	}
	if (*written & b)
		err_tok(pp, t, "duplicate '%s' in media-ports", t->text);
	*written |= b;
	r = next(pp);
	if (r->type != T_WORD || media_bit(r)) {
		err_tok(pp, r,
			"expected a port range or none after '%s' (e.g. 50000-50019), got '%s'",
			t->text, tok_desc(r));
		if (r->type == T_WORD || r->type == T_SEMI) {
			unget(pp, r);
			return 0;
		}
		if (r->type == T_RBRACE || r->type == T_EOF) {
			unget(pp, r);
			return 1;
		}
		sync_stmt(pp);
		return 1;
	}
	if (is_word(r, "none")) {
		lo = hi = 0;
	} else if (addrsig_ports(r->text, &lo, &hi, err, sizeof(err)) != 1) {
		err_tok(pp, r, "%s", err);
		return 0;
	}
	pp->pol->media_lo[__builtin_ctz(b)] = lo;
	pp->pol->media_hi[__builtin_ctz(b)] = hi;
	return 0;
}

/* media-ports TYPE RANGE { TYPE RANGE }: the inside endpoint's ports of
 * each type; a type not written keeps Microsoft's. */
static int opt_media_ports(struct policy_parser *pp, const struct opt_def *o,
			   const struct tok *kw)
{
	uint8_t written = 0;
	unsigned errs = pp->n_errs;

	(void)o;
	pp->pol->media_ports_set = 1;
	for (;;) {
		const struct tok *t = peek(pp);

		if (t->type == T_SEMI || t->type == T_RBRACE ||
		    t->type == T_EOF)
			break;
		next(pp);
		if (media_port_range(pp, t, &written) != 0)
			return 1;
	}
	if (!written)
		err_tok(pp, kw,
			"media-ports needs a media type and its ports (e.g. media-ports audio 50000-50019;)");
	else if (pp->n_errs == errs)
		check_media_ports(pp, kw, written);
	return 0;
}

/* zone NAME: of the windows that name none, and of "until" local times. */
static int opt_zone(struct policy_parser *pp, const struct opt_def *o,
		    const struct tok *kw)
{
	int ended;
	const struct tok *v = opt_value(pp, &ended);

	(void)o;
	(void)kw;
	if (v->type != T_STRING && v->type != T_WORD)
		err_tok(pp, v,
			"expected a time zone (e.g. \"Europe/Berlin\"), got '%s'",
			tok_desc(v));
	else
		pp->pol->zone = zone_load(pp, v);
	return ended;
}

static const struct opt_def opt_defs[] = {
	{ "teams-is-skype", opt_bool, offsetof(struct policy, teams_is_skype) },
	{ "min-confidence", opt_conf, 0 },
	{ "signatures", opt_file, offsetof(struct policy, signatures) },
	{ "skype-heuristic", opt_bool,
	  offsetof(struct policy, skype_heuristic) },
	{ "address-list", opt_file, offsetof(struct policy, address_list) },
	{ "feed", opt_file, offsetof(struct policy, feed) },
	{ "media-ports", opt_media_ports, 0 },
	{ "zone", opt_zone, 0 },
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))
_Static_assert(N_OPTS <= sizeof(((struct policy_parser *)0)->opt_line) /
				 sizeof(uint32_t),
	       "a line for each option");

static void parse_options(struct policy_parser *pp)
{
	const struct tok *kw = next(pp), *open = expect_lbrace(pp, "'options'");

	if (!open)
		return;
	if (pp->have_options)
		err_tok(pp, kw,
			"options block defined twice (first at line %u)",
			pp->options_line);
	pp->have_options = 1;
	pp->options_line = kw->line;
	for (;;) {
		const struct tok *t = next(pp);
		unsigned i;

		if (t->type == T_RBRACE)
			return;
		if (t->type == T_EOF) {
			err_unclosed(pp, t, open);
			return;
		}
		for (i = 0; i < N_OPTS; i++)
			if (is_word(t, opt_defs[i].word))
				break;
		if (i == N_OPTS) {
			err_tok(pp, t,
				"unknown option '%s' (expected teams-is-skype, skype-heuristic, min-confidence, signatures, address-list, feed, media-ports or zone)",
				tok_desc(t));
			sync_stmt(pp);
			continue;
		}
		if (pp->opt_line[i])
			err_tok(pp, t,
				"duplicate option '%s' (first set at line %u)",
				opt_defs[i].word, pp->opt_line[i]);
		pp->opt_line[i] = t->line;
		if (opt_defs[i].parse(pp, &opt_defs[i], t) == 0)
			expect_semi(pp);
	}
}

/* ---- finish: cross-statement checks and compilation ---- */

/* Whether every flow @b matches in direction @dir (inbound or outbound)
 * also matches @a: direction, confidence, ids, then the qualifiers
 * (a's prefixes cover b's, a's ports b's, a's evidence b's, a's media
 * types b's; none: all). A flow is decided for each of its media types
 * alone, so a's types need only hold b's. */
static int rule_covers(const struct policy_rule *a, const struct policy_rule *b,
		       uint8_t dir)
{
	unsigned i, j;

	if (a->dir != RULE_DIR_ANY && a->dir != dir)
		return 0;
	if (a->min_conf > b->min_conf)
		return 0;
	if (a->media && (!b->media || (b->media & ~a->media)))
		return 0;
	if (a->ev_mask && (!b->ev_mask || (b->ev_mask & ~a->ev_mask)))
		return 0;
	if (a->n_to) {
		if (!b->n_to)
			return 0;
		for (j = 0; j < b->n_to; j++) {
			for (i = 0; i < a->n_to; i++)
				if (lpm_prefix_covers(&a->to[i], b->to[j].addr,
						      b->to[j].plen))
					break;
			if (i == a->n_to)
				return 0;
		}
	}
	if (a->n_ports) {
		if (!b->n_ports)
			return 0;
		for (j = 0; j < b->n_ports; j++) {
			for (i = 0; i < a->n_ports; i++)
				if (a->port_lo[i] <= b->port_lo[j] &&
				    a->port_hi[i] >= b->port_hi[j])
					break;
			if (i == a->n_ports)
				return 0;
		}
	}
	if (a->match == MATCH_ANY)
		return 1;
	if (a->match != b->match)
		return 0;
	for (j = 0; j < b->n_ids; j++) {
		for (i = 0; i < a->n_ids; i++)
			if (a->ids[i] == b->ids[j])
				break;
		if (i == a->n_ids)
			return 0;
	}
	return 1;
}

/* ---- finish: time ---- */

/* Whether window @w is open at every instant from @now on. */
static int window_always_open(const struct window *w, int64_t now)
{
	return window_open_at(w, now) &&
	       window_next_change(w, now) == WIN_NEVER;
}

/* Each named window gets its zone (its own, or the options'), and opens
 * again after now. */
static void finish_windows(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;

	for (i = 0; i < pp->n_named; i++) {
		struct window *w = &p->windows[i];
		const struct winx *x = &pp->winx[i];

		if (x->zone_bad)
			continue;
		if (!w->tz && !x->zone_tok)
			w->tz = p->zone;
		if (!w->tz) {
			err_at(pp, x->line, x->col,
			       "window '%s' has no zone, nor do the options: its times are ambiguous (write zone \"Europe/Berlin\"; in the window or in the options)",
			       w->name);
			continue;
		}
		if (!w->n_ranges || window_open_at(w, pp->now) ||
		    window_next_change(w, pp->now) != WIN_NEVER)
			continue;
		if (pp->names.internal)
			add_note(
				pp, x->line, x->col,
				"window '%s' never opens again (its dates are past, or except covers them)",
				w->name);
		else
			err_at(pp, x->line, x->col,
			       "window '%s' never opens again after now (its dates are past, or except and days cover them)",
			       w->name);
	}
}

/* Rule @r's "during"/"outside" window, from its name (token @ti). */
static void resolve_window(struct policy_parser *pp, struct policy_rule *r,
			   uint32_t ti)
{
	const struct tok *t = &pp->toks[ti];
	const struct window *w;
	int wi = window_index(pp, t->text);

	if (wi < 0) {
		const char *best = NULL;
		unsigned bestd = 3, i, d;

		for (i = 0; i < pp->n_named; i++) {
			d = edit_distance(t->text, pp->pol->windows[i].name);
			if (d < bestd) {
				bestd = d;
				best = pp->pol->windows[i].name;
			}
		}
		if (best)
			err_tok(pp, t,
				"unknown window '%s' (did you mean '%s'?)",
				t->text, best);
		else
			err_tok(pp, t,
				"unknown window '%s' (define it: window %s { time 08:00-18:00; })",
				t->text, t->text);
		return;
	}
	r->win = (int8_t)wi;
	pp->pol->win_used |= 1ull << wi;
	w = &pp->pol->windows[wi];
	if (r->win_outside && w->tz && w->n_ranges &&
	    window_always_open(w, pp->now))
		err_tok(pp, t,
			"rule never applies: window '%s' is always open, so 'outside %s' never holds",
			t->text, t->text);
}

/* Rule @r's "until" (token @ti): a WIN_UNTIL window of its own. */
static void resolve_until(struct policy_parser *pp, struct policy_rule *r,
			  uint32_t ti)
{
	const struct tok *t = &pp->toks[ti];
	struct policy *p = pp->pol;
	char when[32], now[32];
	int64_t at;
	int rc = parse_instant(t->text, p->zone, &at);

	if (rc == -1) {
		err_tok(pp, t,
			"invalid time '%s' (YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, then Z, an offset such as +01:00, or nothing for the options' zone)",
			t->text);
		return;
	}
	if (rc == -2) {
		err_tok(pp, t,
			"'until %s' is a local time, and the options set no zone: it is ambiguous (add Z or an offset such as +01:00, or options { zone \"Europe/Berlin\"; })",
			t->text);
		return;
	}
	if (p->n_windows >= WIN_MAX) {
		err_tok(pp, t,
			"too many windows (at most %d, one per temporary rule included)",
			WIN_MAX);
		return;
	}
	format_instant(at, when, sizeof(when));
	format_instant(pp->now, now, sizeof(now));
	if (at <= pp->now && !pp->names.internal) {
		err_tok(pp, t,
			"rule never applies: 'until %s' (%s) is not after now (%s)",
			t->text, when, now);
		return;
	}
	if (at <= pp->now)
		add_note(
			pp, t->line, t->col,
			"temporary rule expired at %s (kept: flows a finish rule found running follow it)",
			when);
	if (!p->windows) {
		p->windows = calloc(WIN_MAX, sizeof(struct window));
		if (!p->windows) {
			pp->nomem = 1;
			return;
		}
	}
	memset(&p->windows[p->n_windows], 0, sizeof(struct window));
	p->windows[p->n_windows].kind = WIN_UNTIL;
	p->windows[p->n_windows].until = at;
	p->windows[p->n_windows].line = t->line;
	r->tmp = (int8_t)p->n_windows;
	p->win_used |= 1ull << p->n_windows;
	p->n_windows++;
}

/* The rule's source gets its time words back, canonical: " during W",
 * " until YYYY-MM-DDTHH:MM:SSZ", " cut". */
static void rule_time_source(struct policy_parser *pp, struct policy_rule *r)
{
	const struct policy *p = pp->pol;
	char tail[128], when[32];
	size_t o = 0, n;
	char *ns;

	if (r->win >= 0)
		o += (size_t)snprintf(tail + o, sizeof(tail) - o, " %s %s",
				      r->win_outside ? "outside" : "during",
				      p->windows[r->win].name);
	if (r->tmp >= 0) {
		format_instant(p->windows[r->tmp].until, when, sizeof(when));
		o += (size_t)snprintf(tail + o, sizeof(tail) - o, " until %s",
				      when);
	}
	snprintf(tail + o, sizeof(tail) - o, " %s",
		 r->boundary == BOUNDARY_CUT ? "cut" : "finish");
	n = strlen(r->src);
	ns = realloc(r->src, n + strlen(tail) + 1);
	if (!ns) {
		pp->nomem = 1;
		return;
	}
	memcpy(ns + n, tail, strlen(tail) + 1);
	r->src = ns;
}

/* A timed rule's window and until, resolved. */
static void finish_rule_time(struct policy_parser *pp, uint32_t di, uint32_t i)
{
	struct policy_rule *r = &pp->pol->depts[di].rules[i];
	const struct rule_extra *x = &pp->rx[di][i];

	if (r->boundary == BOUNDARY_NONE)
		return;
	if (x->win_tok)
		resolve_window(pp, r, x->win_tok);
	if (x->until_tok)
		resolve_until(pp, r, x->until_tok);
	if (r->src)
		rule_time_source(pp, r);
}

/* Whether @a applies whenever @b does, as far as time goes: @a has none,
 * or the same window in the same sense, the same boundary (a "finish"
 * rule asks the windows at a flow's start, a "cut" one now), and an
 * until no earlier than @b's. Anything else is not claimed. */
static int time_covers(const struct policy *p, const struct policy_rule *a,
		       const struct policy_rule *b)
{
	if (a->boundary == BOUNDARY_NONE)
		return 1;
	if (b->boundary != a->boundary)
		return 0;
	if (a->win >= 0 &&
	    (a->win != b->win || a->win_outside != b->win_outside))
		return 0;
	if (a->tmp >= 0 &&
	    (b->tmp < 0 || p->windows[a->tmp].until < p->windows[b->tmp].until))
		return 0;
	return 1;
}

/* The instants of [@from, @to) at which @r's time holds, sorted and
 * disjoint, malloc'd into *@out (NULL when none); how many, or -1 if
 * memory is short. */
static long rule_intervals(const struct policy *p, const struct policy_rule *r,
			   int64_t from, int64_t to, struct win_iv **out)
{
	const struct window *w = r->win >= 0 ? &p->windows[r->win] : NULL;
	struct win_iv *iv;
	size_t n = 0, m, i, k = 0;
	int64_t at = from;

	if (r->tmp >= 0 && p->windows[r->tmp].until < to)
		to = p->windows[r->tmp].until;
	*out = NULL;
	if (to <= from)
		return 0;
	if (w)
		n = window_intervals(w, from, to, NULL, 0);
	iv = malloc((n + 1) * sizeof(*iv));
	if (!iv)
		return -1;
	m = w ? window_intervals(w, from, to, iv, n) : 0;
	if (m > n)
		m = n;
	for (i = 0; i < m; i++) {
		if (iv[i].lo < from)
			iv[i].lo = from;
		if (iv[i].hi > to)
			iv[i].hi = to;
	}
	if (!w) {
		iv[0].lo = from;
		iv[0].hi = to;
		k = 1;
	} else if (!r->win_outside) {
		k = m;
	} else { /* the gaps, in place: gap i ends where interval i starts */
		for (i = 0; i <= m; i++) {
			int64_t lo = at, hi = i < m ? iv[i].lo : to;

			at = i < m ? iv[i].hi : to;
			if (hi > lo) {
				iv[k].lo = lo;
				iv[k++].hi = hi;
			}
		}
	}
	*out = iv;
	return (long)k;
}

static int64_t iv_length(const struct win_iv *v, long n)
{
	int64_t s = 0;
	long i;

	for (i = 0; i < n; i++)
		s += v[i].hi - v[i].lo;
	return s;
}

static int64_t iv_common(const struct win_iv *a, long na,
			 const struct win_iv *b, long nb)
{
	int64_t s = 0;
	long i = 0, j = 0;

	while (i < na && j < nb) {
		int64_t lo = a[i].lo > b[j].lo ? a[i].lo : b[j].lo;
		int64_t hi = a[i].hi < b[j].hi ? a[i].hi : b[j].hi;

		if (hi > lo)
			s += hi - lo;
		if (a[i].hi < b[j].hi)
			i++;
		else
			j++;
	}
	return s;
}

/* Whether rules @a and @b match the same flows: each covers the other in
 * each direction either takes. */
static int same_flows(const struct policy_rule *a, const struct policy_rule *b)
{
	uint8_t dir;

	if (a->dir != b->dir)
		return 0;
	for (dir = RULE_DIR_INBOUND; dir <= RULE_DIR_OUTBOUND; dir++) {
		if (a->dir != RULE_DIR_ANY && a->dir != dir)
			continue;
		if (!rule_covers(a, b, dir) || !rule_covers(b, a, dir))
			return 0;
	}
	return 1;
}

static int same_action(const struct policy_rule *a, const struct policy_rule *b)
{
	return a->action == b->action && a->dscp == b->dscp &&
	       a->rate_bps == b->rate_bps && a->burst_bytes == b->burst_bytes &&
	       a->latency_ms == b->latency_ms;
}

/* Whether @r has time that can be laid out: a window refused (no zone,
 * no time) is reported already, and not asked. */
static int timed_checkable(const struct policy *p, const struct policy_rule *r)
{
	if (r->boundary == BOUNDARY_NONE || (r->win < 0 && r->tmp < 0))
		return 0;
	return r->win < 0 ||
	       (p->windows[r->win].tz && p->windows[r->win].n_ranges);
}

/* Two timed rules of one match with different actions: their times must
 * nest (the exception first) or be disjoint over the next 366 days, or
 * which one decides depends on their order in a way nobody reads; but a
 * temporary rule without a window first says so. */
static void check_ambiguous(struct policy_parser *pp, uint32_t di, uint32_t i)
{
	const struct policy *p = pp->pol;
	const struct policy_dept *d = &p->depts[di];
	const struct policy_rule *r = &d->rules[i];
	int64_t to = pp->now + 366 * 86400LL;
	struct win_iv *a = NULL, *b = NULL;
	long na, nb = 0;
	uint32_t j;

	if (!timed_checkable(p, r))
		return;
	na = rule_intervals(p, r, pp->now, to, &a);
	for (j = 0; na >= 0 && j < i; j++) {
		const struct policy_rule *o = &d->rules[j];
		int64_t c, la, lb;

		/* an earlier temporary rule without a window is an
		 * exception to every rule after it while it lasts (rule add
		 * puts one first on purpose): its order is its meaning */
		if (!timed_checkable(p, o) || (o->win < 0 && o->tmp >= 0) ||
		    same_action(o, r) || !same_flows(o, r))
			continue;
		nb = rule_intervals(p, o, pp->now, to, &b);
		if (nb < 0)
			break;
		c = iv_common(a, na, b, nb);
		la = iv_length(a, na);
		lb = iv_length(b, nb);
		free(b);
		b = NULL;
		if (c > 0 && c < la && c < lb)
			err_at(pp, r->line, pp->rx[di][i].col,
			       "ambiguous: order decides: this rule and the rule at line %u match the same flows with other actions, and their times overlap in part (nest them, the exception first, or make them disjoint)",
			       o->line);
	}
	if (na < 0 || nb < 0)
		pp->nomem = 1;
	free(a);
}

/* The first rule before @i of @d covering rule @i in direction @dir, or
 * -1. */
static int first_cover(const struct policy *p, const struct policy_dept *d,
		       uint32_t i, uint8_t dir)
{
	uint32_t j;

	for (j = 0; j < i; j++)
		if (rule_covers(&d->rules[j], &d->rules[i], dir) &&
		    time_covers(p, &d->rules[j], &d->rules[i]))
			return (int)j;
	return -1;
}

/* Rule @i can never match when, in each direction it takes, an earlier
 * rule already matches all of its flows: one rule, or two (one inbound,
 * one outbound: "outbound skype drop; inbound skype drop; skype allow;"). */
static void check_shadowed(struct policy_parser *pp, uint32_t di, uint32_t i)
{
	const struct policy_dept *d = &pp->pol->depts[di];
	const struct policy_rule *r = &d->rules[i];
	int in = -1, out = -1;

	/* an expired temporary rule (kept, with its note, in the running
	 * policy's text) matches no new flow whatever comes before it: were
	 * it reported, rule add of its match would be refused from its end
	 * on ("rule add sales teams allow for 2h" again the next day) */
	if (r->tmp >= 0 && pp->pol->windows[r->tmp].until <= pp->now)
		return;
	if (r->dir != RULE_DIR_OUTBOUND)
		in = first_cover(pp->pol, d, i, RULE_DIR_INBOUND);
	if (r->dir != RULE_DIR_INBOUND)
		out = first_cover(pp->pol, d, i, RULE_DIR_OUTBOUND);
	if ((r->dir != RULE_DIR_OUTBOUND && in < 0) ||
	    (r->dir != RULE_DIR_INBOUND && out < 0))
		return;
	if (in < 0 || out < 0 || in == out)
		err_at(pp, r->line, pp->rx[di][i].col,
		       "rule can never match: the rule at line %u already matches all of its flows",
		       d->rules[in >= 0 ? in : out].line);
	else
		err_at(pp, r->line, pp->rx[di][i].col,
		       "rule can never match: the rules at lines %u (inbound) and %u (outbound) already match all of its flows",
		       d->rules[in].line, d->rules[out].line);
}

static void finish_rules(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t di, i;

	for (di = 0; di < p->n_depts; di++) {
		struct policy_dept *d = &p->depts[di];

		for (i = 0; i < d->n_rules; i++) {
			struct policy_rule *r = &d->rules[i];

			if (pp->rx[di][i].skype) {
				r->n_ids = 0;
				r->ids[r->n_ids++] = SF_PROTO_SKYPE_CALL;
				r->ids[r->n_ids++] = SF_PROTO_SKYPE_TEAMS;
				if (p->teams_is_skype)
					r->ids[r->n_ids++] = SF_PROTO_TEAMS;
			}
			if (r->min_conf == CONF_UNSET)
				r->min_conf = p->min_conf;
			d->has_media |= r->media != 0;
			d->has_dscp |= r->dscp != 0;
			p->has_dscp |= r->dscp != 0;
			if (r->ev_mask & (1u << CLS_EV_HEURISTIC) &&
			    !p->skype_heuristic)
				err_at(pp, r->line, pp->rx[di][i].col,
				       "'evidence heuristic' needs 'skype-heuristic yes;' in the options (the heuristic's labels reach no rule without it)");
			finish_rule_time(pp, di, i);
		}
		for (i = 0; i < d->n_rules; i++) {
			check_shadowed(pp, di, i);
			check_ambiguous(pp, di, i);
		}
	}
}

static void add_note(struct policy_parser *pp, uint32_t line, uint32_t col,
		     const char *fmt, ...)
{
	struct policy *p = pp->pol;
	size_t old = p->notes ? strlen(p->notes) : 0, n;
	char msg[512], *nn;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(pp->filename) + strlen(msg) + 40;
	nn = realloc(p->notes, old + n);
	if (!nn) {
		pp->nomem = 1;
		return;
	}
	p->notes = nn;
	snprintf(nn + old, n, "%s:%u:%u: note: %s\n", pp->filename, line, col,
		 msg);
}

static int pfx_covers(const struct pfx *a, const struct pfx *b)
{
	unsigned i;

	if (a->v6 != b->v6 || a->plen >= b->plen)
		return 0;
	for (i = 0; i < a->plen; i++)
		if ((a->addr[i / 8] ^ b->addr[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/* A department's prefix inside another department's: legal (the longest
 * prefix decides), but a note names both places. */
static void note_overlap(struct policy_parser *pp, const struct pfx *x)
{
	const struct pfx *best = NULL;
	int32_t v;
	uint32_t i;

	if (x->dept == UINT16_MAX || x->plen == 0)
		return;
	/* the tree says whether another department covers it; the scan for
	 * its text runs for the first MAX_ERRORS overlaps only */
	v = lpm_lookup_prefix(x->v6 ? pp->pol->dept6 : pp->pol->dept4, x->addr,
			      x->plen - 1u);
	if (v < 0 || v == x->dept)
		return;
	if (pp->n_notes++ >= MAX_ERRORS) {
		if (pp->n_notes == MAX_ERRORS + 1)
			add_note(
				pp, x->line, x->col,
				"more prefixes overlap other departments' (%d shown)",
				MAX_ERRORS);
		return;
	}
	for (i = 0; i < pp->n_pfx; i++) {
		const struct pfx *o = &pp->pfx[i];

		if (o->dept != UINT16_MAX && pfx_covers(o, x) &&
		    (!best || o->plen > best->plen))
			best = o;
	}
	if (best && best->dept != x->dept)
		add_note(
			pp, x->line, x->col,
			"%s of department '%s' lies inside %s of department '%s' (line %u): its hosts are in '%s', the longest prefix decides",
			x->text, pp->pol->depts[x->dept].name, best->text,
			pp->pol->depts[best->dept].name, best->line,
			pp->pol->depts[x->dept].name);
}

static void finish_prefixes(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;
	uint32_t *has_hosts;

	has_hosts = calloc(p->n_depts, sizeof(*has_hosts));
	if (!has_hosts) {
		pp->nomem = 1;
		return;
	}
	for (i = 0; i < pp->n_pfx; i++) {
		struct pfx *x = &pp->pfx[i];
		struct lpm *l;
		int32_t old = -1;
		int rc;

		if (x->dept == UINT16_MAX) {
			l = x->v6 ? p->internal6 : p->internal4;
			rc = lpm_insert(l, x->addr, x->plen, 0, &old);
			if (rc == -EEXIST)
				err_at(pp, x->line, x->col,
				       "duplicate internal prefix %s", x->text);
		} else {
			l = x->v6 ? p->dept6 : p->dept4;
			has_hosts[x->dept] = 1;
			rc = lpm_insert(l, x->addr, x->plen, x->dept, &old);
			if (rc == -EEXIST && old == x->dept)
				err_at(pp, x->line, x->col,
				       "duplicate prefix %s", x->text);
			else if (rc == -EEXIST)
				err_at(pp, x->line, x->col,
				       "%s is already in department '%s' (line %u)",
				       x->text, p->depts[old].name,
				       p->depts[old].line);
		}
		if (rc == -ENOMEM)
			pp->nomem = 1;
	}
	for (i = 0; i < pp->n_pfx; i++)
		note_overlap(pp, &pp->pfx[i]);
	for (i = 0; i < pp->n_pfx; i++) {
		struct pfx *x = &pp->pfx[i];

		if (x->dept == UINT16_MAX)
			continue;
		if (!pp->have_internal) {
			lpm_insert(x->v6 ? p->internal6 : p->internal4, x->addr,
				   x->plen, 0, NULL);
		} else if (lpm_lookup_prefix(x->v6 ? p->internal6
						   : p->internal4,
					     x->addr, x->plen) < 0) {
			err_at(pp, x->line, x->col,
			       "%s of department '%s' is outside the internal networks",
			       x->text, p->depts[x->dept].name);
		}
	}
	for (i = 1; i < p->n_depts; i++)
		if (!has_hosts[i] && !pp->hosts_seen[i] && p->depts[i].name[0])
			err_at(pp, p->depts[i].line, 1,
			       "department '%s' has no hosts and no groups: it can never match",
			       p->depts[i].name);
	free(has_hosts);
}

static int pgroup_cmp(const void *a, const void *b)
{
	const struct pgroup *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	if (c)
		return c;
	return x->line != y->line ? (x->line < y->line ? -1 : 1)
				  : (x->col < y->col ? -1 : x->col > y->col);
}

/* Each department's groups, packed as written, in order. */
static void pack_groups(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;

	for (i = 0; i < pp->n_grp; i++) {
		struct policy_dept *d = &p->depts[pp->grp[i].dept];
		size_t have = 0, n = strlen(pp->grp[i].name) + 1;
		const char *g;
		char *ng;

		for (g = d->groups; g && *g; g += strlen(g) + 1)
			;
		have = d->groups ? (size_t)(g - d->groups) : 0;
		ng = realloc(d->groups, have + n + 1);
		if (!ng) {
			pp->nomem = 1;
			return;
		}
		memcpy(ng + have, pp->grp[i].name, n);
		ng[have + n] = '\0';
		d->groups = ng;
		d->n_groups++;
	}
}

/* The group index, refusing a group two departments claim (a member
 * would be in both) or one written twice. */
static void index_groups(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;

	if (!pp->n_grp)
		return;
	qsort(pp->grp, pp->n_grp, sizeof(*pp->grp), pgroup_cmp);
	p->groups = calloc(pp->n_grp, sizeof(*p->groups));
	if (!p->groups) {
		pp->nomem = 1;
		return;
	}
	for (i = 0; i < pp->n_grp; i++) {
		const struct pgroup *g = &pp->grp[i], *f = g - 1;

		if (i && strcasecmp(f->name, g->name) == 0) {
			if (f->dept == g->dept)
				err_at(pp, g->line, g->col,
				       "duplicate group '%s' in department '%s' (line %u; groups compare without regard to case)",
				       g->name, p->depts[g->dept].name,
				       f->line);
			else
				err_at(pp, g->line, g->col,
				       "group '%s' of department '%s' is already claimed by department '%s' (line %u): its members would be in two departments",
				       g->name, p->depts[g->dept].name,
				       p->depts[f->dept].name, f->line);
			continue;
		}
		p->groups[p->n_groups].dept = g->dept;
		p->groups[p->n_groups++].name = NULL;
	}
}

/* The names in the index point into the departments' packed groups. */
static void name_groups(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i, k = 0;

	for (i = 0; i < pp->n_grp && k < p->n_groups; i++) {
		const struct pgroup *g = &pp->grp[i];
		const char *n;

		if (i && strcasecmp(pp->grp[i - 1].name, g->name) == 0)
			continue;
		for (n = p->depts[g->dept].groups; *n; n += strlen(n) + 1)
			if (strcmp(n, g->name) == 0)
				break;
		p->groups[k++].name = n;
	}
}

/* "identity required": the department its unidentified hosts get. */
static void resolve_idreq(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i, j;

	for (i = 0; i < pp->n_idreq; i++) {
		const struct idreq *r = &pp->idreq[i];
		struct policy_dept *d = &p->depts[r->dept];
		uint16_t to = POLICY_DEFAULT_DEPT;

		if (r->name[0] && strcmp(r->name, "default")) {
			for (j = 1; j < p->n_depts; j++)
				if (strcmp(p->depts[j].name, r->name) == 0)
					break;
			if (j == p->n_depts) {
				err_at(pp, r->line, r->col,
				       "unknown department '%s' for the unidentified hosts of '%s'",
				       r->name, d->name);
				continue;
			}
			to = (uint16_t)j;
		}
		if (to == r->dept) {
			err_at(pp, r->line, r->col,
			       "department '%s' cannot take its own unidentified hosts (name a stricter department, or none for the default block)",
			       d->name);
			continue;
		}
		d->identity_required = 1;
		d->unidentified = to;
	}
	for (i = 0; i < pp->n_idreq; i++) {
		const struct idreq *r = &pp->idreq[i];
		const struct policy_dept *d = &p->depts[r->dept];

		if (d->identity_required &&
		    p->depts[d->unidentified].identity_required)
			err_at(pp, r->line, r->col,
			       "the unidentified hosts of '%s' go to '%s', which requires identity too: name a department that does not",
			       d->name, p->depts[d->unidentified].name);
	}
}

/* A fail-closed department's members by group are not in the kernel's
 * sets (they hold prefixes): worth a note. */
static void note_fail_closed_groups(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;

	for (i = 1; i < p->n_depts; i++)
		if (p->depts[i].fail_closed && p->depts[i].groups)
			add_note(
				pp, p->depts[i].line, 1,
				"department '%s' is fail-closed and claims groups: the kernel's fail-closed sets hold its prefixes, not its members' addresses elsewhere (a member on another department's address is as fail-open as that department)",
				p->depts[i].name);
}

/* Groups and "identity required", checked whole. */
static void finish_identity(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i, j;

	pack_groups(pp);
	if (pp->nomem)
		return;
	index_groups(pp);
	if (pp->nomem)
		return;
	name_groups(pp);
	resolve_idreq(pp);
	note_fail_closed_groups(pp);
	for (i = 0; i < pp->n_idreq; i++) {
		const struct idreq *r = &pp->idreq[i];

		for (j = 0; j < pp->n_pfx; j++)
			if (pp->pfx[j].dept == r->dept)
				break;
		if (j == pp->n_pfx)
			err_at(pp, r->line, r->col,
			       "'identity required' in department '%s', which has no hosts: it has no unidentified hosts to hand over",
			       p->depts[r->dept].name);
	}
}

/* The prefixes as written, for policy_format(). */
static void keep_prefix_text(struct policy_parser *pp)
{
	struct policy *p = pp->pol;
	uint32_t i;

	p->explicit_internal = (uint8_t)pp->have_internal;
	if (pp->n_pfx == 0)
		return;
	p->pfx_text = calloc(pp->n_pfx, sizeof(*p->pfx_text));
	p->pfx_dept = calloc(pp->n_pfx, sizeof(*p->pfx_dept));
	if (!p->pfx_text || !p->pfx_dept) {
		pp->nomem = 1;
		return;
	}
	for (i = 0; i < pp->n_pfx; i++) {
		snprintf(p->pfx_text[i], sizeof(p->pfx_text[i]), "%s",
			 pp->pfx[i].text);
		p->pfx_dept[i] = pp->pfx[i].dept;
	}
	p->n_pfx = pp->n_pfx;
}

static int perr_cmp(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void format_errors(struct policy_parser *pp)
{
	uint32_t i,
		n = pp->n_errs + (pp->too_many ? 1 : 0) + (pp->nomem ? 1 : 0);

	if (pp->n_errs)
		qsort(pp->errs, pp->n_errs, sizeof(*pp->errs), perr_cmp);
	pp->formatted = calloc(n ? n : 1, sizeof(char *));
	if (!pp->formatted)
		return;
	for (i = 0; i < pp->n_errs; i++) {
		size_t len =
			strlen(pp->filename) + strlen(pp->errs[i].msg) + 32;

		pp->formatted[i] = malloc(len);
		if (pp->formatted[i])
			snprintf(pp->formatted[i], len, "%s:%u:%u: %s",
				 pp->filename, pp->errs[i].line,
				 pp->errs[i].col, pp->errs[i].msg);
	}
	if (pp->too_many) {
		size_t len = strlen(pp->filename) + 64;

		pp->formatted[i] = malloc(len);
		if (pp->formatted[i])
			snprintf(pp->formatted[i++], len,
				 "%s: too many errors (%d shown), stopping",
				 pp->filename, MAX_ERRORS);
	}
	if (pp->nomem) {
		size_t len = strlen(pp->filename) + 64;

		pp->formatted[i] = malloc(len);
		if (pp->formatted[i])
			snprintf(pp->formatted[i], len, "%s: out of memory",
				 pp->filename);
	}
}

struct policy *policy_parser_finish(struct policy_parser *pp)
{
	struct policy *p;
	uint32_t i;

	if (pp->formatted) /* finish runs once */
		return NULL;
	add_tok(pp, T_EOF, 1, "", 0);
	if (pp->nomem || pp->overflow) {
		format_errors(pp);
		return NULL;
	}
	/* End of file is where the last line ends. */
	pp->toks[pp->n_toks - 1].line = pp->lineno ? pp->lineno : 1;
	pp->toks[pp->n_toks - 1].col = pp->last_len + 1;
	p = pp->pol = calloc(1, sizeof(*p));
	if (!p) {
		pp->nomem = 1;
		format_errors(pp);
		return NULL;
	}
	p->min_conf = CLS_CONF_CACHE;
	/* in 2026 what an admin means by Skype is Teams (README) */
	p->teams_is_skype = 1;
	/* Microsoft's QoS guide's client source ports for Teams media */
	p->media_lo[0] = 50000;
	p->media_hi[0] = 50019;
	p->media_lo[1] = 50020;
	p->media_hi[1] = 50039;
	p->media_lo[2] = 50040;
	p->media_hi[2] = 50059;
	snprintf(p->source, sizeof(p->source), "%s", pp->filename);
	pp->now = pp->names.now ? pp->names.now : (int64_t)time(NULL);
	p->dept4 = lpm_create(32);
	p->dept6 = lpm_create(128);
	p->internal4 = lpm_create(32);
	p->internal6 = lpm_create(128);
	if (!p->dept4 || !p->dept6 || !p->internal4 || !p->internal6 ||
	    !add_dept(pp, "default", 0))
		pp->nomem = 1;
	while (!pp->nomem && peek(pp)->type != T_EOF) {
		const struct tok *t = peek(pp);

		if (is_word(t, "department")) {
			parse_department(pp);
		} else if (is_word(t, "default")) {
			parse_default(pp);
		} else if (is_word(t, "options")) {
			parse_options(pp);
		} else if (is_word(t, "killswitch")) {
			parse_killswitch(pp);
		} else if (is_word(t, "window")) {
			parse_window(pp);
		} else if (is_word(t, "internal")) {
			next(pp);
			pp->have_internal = 1;
			parse_prefix_list(pp, UINT16_MAX, "internal");
		} else if (t->type == T_SEMI) {
			next(pp);
		} else {
			err_tok(pp, t,
				"unknown statement '%s' (expected department, default, internal, options, window or killswitch)",
				tok_desc(t));
			next(pp);
			sync_stmt(pp);
			if (peek(pp)->type == T_RBRACE)
				next(pp);
		}
	}
	if (!pp->nomem) {
		finish_windows(pp);
		finish_rules(pp);
		finish_prefixes(pp);
		finish_identity(pp);
		keep_prefix_text(pp);
	}
	for (i = 0; i < pp->n_rx; i++)
		free(pp->rx[i]);
	free(pp->rx);
	pp->rx = NULL;
	pp->n_rx = 0;
	pp->pol = NULL;
	snprintf(pp->signatures, sizeof(pp->signatures), "%s", p->signatures);
	format_errors(pp);
	if (pp->n_errs || pp->nomem || pp->too_many) {
		policy_free(p);
		return NULL;
	}
	return p;
}

const char *policy_parser_signatures(const struct policy_parser *pp)
{
	return pp->signatures;
}

unsigned policy_parser_error_count(const struct policy_parser *pp)
{
	return pp->n_errs + (pp->too_many ? 1 : 0) + (pp->nomem ? 1 : 0);
}

const char *policy_parser_error(const struct policy_parser *pp, unsigned i)
{
	if (!pp->formatted || i >= policy_parser_error_count(pp))
		return NULL;
	return pp->formatted[i] ? pp->formatted[i] : "out of memory";
}

void policy_parser_destroy(struct policy_parser *pp)
{
	uint32_t i, n;

	if (!pp)
		return;
	n = policy_parser_error_count(pp);
	for (i = 0; i < pp->n_toks; i++)
		free(pp->toks[i].text);
	free(pp->toks);
	for (i = 0; i < pp->n_errs; i++)
		free(pp->errs[i].msg);
	free(pp->errs);
	if (pp->formatted)
		for (i = 0; i < n; i++)
			free(pp->formatted[i]);
	free(pp->formatted);
	for (i = 0; i < pp->n_rx; i++)
		free(pp->rx[i]);
	free(pp->rx);
	for (i = 0; i < pp->n_grp; i++)
		free(pp->grp[i].name);
	free(pp->grp);
	free(pp->idreq);
	policy_free(pp->pol);
	free(pp->pfx);
	free(pp);
}

/* Feeds @text to a new parser and finishes it. */
static struct policy_parser *parse_all(const char *name, const char *text,
				       size_t len,
				       const struct policy_names *names,
				       struct policy **out)
{
	struct policy_parser *pp = policy_parser_create(name, names);
	const char *s = text, *end = text + len;

	*out = NULL;
	if (!pp)
		return NULL;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s + 1) : (size_t)(end - s);

		policy_parser_line_n(pp, s, n);
		s += n;
	}
	*out = policy_parser_finish(pp);
	return pp;
}

struct policy *policy_parse_text(const char *name, const char *text, size_t len,
				 const struct policy_names *names,
				 void (*on_error)(void *ctx, const char *msg),
				 void *ctx, unsigned *nerr)
{
	struct policy *p;
	struct policy_parser *pp = parse_all(name, text, len, names, &p);
	char msg[512];
	unsigned i;

	if (!pp) {
		snprintf(msg, sizeof(msg), "%s: out of memory", name);
		if (on_error)
			on_error(ctx, msg);
		*nerr = 1;
		return NULL;
	}
	*nerr = policy_parser_error_count(pp);
	for (i = 0; i < *nerr; i++)
		if (on_error)
			on_error(ctx, policy_parser_error(pp, i));
	policy_parser_destroy(pp);
	/* the address signatures file is part of the policy: one that does
	 * not load fails it; the feed's file is read with it */
	if (p && (p->address_list[0] || p->feed[0]) && names->load_addrsig) {
		unsigned n = 0;

		p->addrsig = names->load_addrsig(names->ctx, p->address_list,
						 p->feed, on_error, ctx, &n);
		p->addrsig_free = addrsig_free;
		if (!p->addrsig) {
			*nerr += n ? n : 1;
			policy_free(p);
			return NULL;
		}
	}
	return p;
}

/* Any name is some protocol: only the options matter here. */
static int any_id(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 0;
}

void policy_text_signatures(const char *name, const char *text, size_t len,
			    char *out, size_t outlen)
{
	struct policy_names any = { any_id, any_id, NULL, NULL, 0, NULL, 0, 0 };
	struct policy *p;
	struct policy_parser *pp = parse_all(name, text, len, &any, &p);

	snprintf(out, outlen, "%s", pp ? policy_parser_signatures(pp) : "");
	policy_free(p);
	policy_parser_destroy(pp);
}
