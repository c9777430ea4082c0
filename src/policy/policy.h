/* Compiled policy: departments matched by longest prefix, rules, decisions.
 * A struct policy is immutable once built: swap a new one in, never edit.
 * Pure: no I/O, no nDPI.
 */
#ifndef SKYFENCE_POLICY_H
#define SKYFENCE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/lpm.h"

enum rule_dir { RULE_DIR_ANY = 0, RULE_DIR_INBOUND, RULE_DIR_OUTBOUND };

enum rule_match {
	MATCH_PROTOCOLS = 0, /* master or app id in ids[] (also groups) */
	MATCH_CATEGORIES,    /* flow category in ids[] */
	MATCH_ANY,
};

#define POLICY_MAX_IDS 16
#define POLICY_MAX_TO 8	   /* prefixes after "to" */
#define POLICY_MAX_PORTS 8 /* ports or ranges after "port" */
#define POLICY_NAME_LEN 32
#define POLICY_TEXT_LEN 96

/* The media types a Teams (Skype) call's flow may carry, as bits: a
 * rule's "media" condition, a flow's facts, a decision, the mark. */
#define MEDIA_AUDIO 1u
#define MEDIA_VIDEO 2u
#define MEDIA_SCREEN 4u /* screen sharing */
#define MEDIA_ALL 7u
#define MEDIA_TYPES 3
/* "audio", "video", "screen-share" joined by ',' into @buf; "none" for
 * 0. */
const char *policy_media_name(uint8_t media, char *buf, size_t len);

struct policy_rule {
	uint8_t match;	/* enum rule_match */
	uint8_t dir;	/* enum rule_dir */
	uint8_t action; /* enum policy_action */
	uint8_t log;
	uint8_t min_conf; /* enum cls_confidence */
	uint8_t n_ids;
	uint16_t ids[POLICY_MAX_IDS];
	/* qualifiers on the outside endpoint: "to" prefixes, "port" ranges
	 * (none: any), and the evidence the label must rest on (bits of
	 * enum cls_evidence; 0: any) */
	uint8_t n_to, n_ports;
	struct lpm_prefix to[POLICY_MAX_TO];
	uint16_t port_lo[POLICY_MAX_PORTS], port_hi[POLICY_MAX_PORTS];
	uint32_t ev_mask;
	/* "media TYPE, ...": MEDIA_* bits; the rule matches a media flow
	 * that may carry any of them (skype and teams rules only); 0: any
	 * flow, media or not */
	uint8_t media;
	/* "mark dscp VALUE" (allow only): 1 + the DSCP the kernel writes
	 * into the flow's packets, both directions; 0: none */
	uint8_t dscp;
	uint64_t rate_bps; /* throttle: bit/s */
	uint32_t burst_bytes;
	uint32_t latency_ms;
	uint32_t line;		    /* where it was written */
	char text[POLICY_TEXT_LEN]; /* the rule as written, for audit */
	char *src; /* the whole rule, tokens joined (NULL: built in code) */
	uint16_t action_at; /* offset of the action in src */
	/* time (window.h): "during W" or "outside W" (@win the window's
	 * index in policy.windows, -1 none), "until TIME" (@tmp the index of
	 * its WIN_UNTIL window, -1 none); both: the rule applies when both
	 * say so. @boundary: what a change of either does to established
	 * flows the rule decides or would decide (enum rule_boundary; 0 for
	 * a rule without time) */
	int8_t win, tmp;
	uint8_t win_outside;
	uint8_t boundary;
};

enum rule_boundary {
	BOUNDARY_NONE = 0,
	BOUNDARY_CUT,	 /* "cut": established flows decided again at once */
	BOUNDARY_FINISH, /* "finish": new flows only; established ones keep
			  * the rule as it was when they started */
};

enum dept_log { DEPT_LOG_RULES = 0, DEPT_LOG_ALL, DEPT_LOG_NONE };

struct policy_dept {
	char name[POLICY_NAME_LEN];
	uint32_t line;
	uint8_t log; /* enum dept_log */
	/* its hosts' flows go to a queue without fail-open, from a rule
	 * without --queue-bypass (an ipset kept by skyfenced): neither a
	 * full queue nor a dead daemon lets them pass uninspected */
	uint8_t fail_closed;
	uint32_t n_rules;
	struct policy_rule *rules;
	uint8_t has_media; /* a rule has a media condition */
	uint8_t has_dscp;  /* a rule marks DSCP */
	/* identity: the groups (RADIUS Class or Filter-Id, the directory's
	 * names and DNs) whose members are in this department wherever
	 * their address is, packed "a\0b\0\0" as written; NULL: none */
	char *groups;
	uint16_t n_groups;
	/* "identity required [DEPT];": a host of this department's
	 * prefixes that no identity names is decided as department
	 * @unidentified (default: the default block) */
	uint8_t identity_required;
	uint16_t unidentified;
};

/* A group a department claims, for the lookup by name (sorted,
 * compared without regard to ASCII case, as LDAP compares names). */
struct policy_group {
	const char *name;
	uint16_t dept;
};

struct lpm;
struct addrsig;
struct window;
struct tz;

struct policy {
	/* depts[0] is "default": hosts in no department */
	uint32_t n_depts;
	struct policy_dept *depts;
	struct lpm *dept4, *dept6; /* address -> department index */
	struct lpm *internal4, *internal6;
	struct policy_group *groups; /* sorted by name */
	uint32_t n_groups;
	uint8_t teams_is_skype;
	/* nDPI 4.2's Skype UDP payload heuristic counts (classify.h,
	 * CLS_EV_HEURISTIC); off: such a flow is unclassified to the rules */
	uint8_t skype_heuristic;
	uint8_t min_conf;     /* default minimum confidence for rules */
	char signatures[256]; /* nDPI protocols file, "" if none */
	/* skyfence's address signatures file (addrsig.h), "" if none; the
	 * loader reads it into addrsig, freed with the policy */
	char address_list[256];
	/* the endpoints feed's signatures file (skyfence-endpoints(8)), ""
	 * if none: read with the address list into addrsig; a file not yet
	 * written is no error (the address list alone) */
	char feed[256];
	struct addrsig *addrsig;
	void (*addrsig_free)(struct addrsig *s); /* addrsig.h's, set with it */
	/* "FILE:LINE:COL: note: ..." lines for things legal but worth a
	 * look (overlapping prefixes), "\n"-separated; NULL if none */
	char *notes;
	/* the kill switch: apps ("skype", nDPI protocol names) dropped before
	 * every rule, space-separated; "" when off */
	char killswitch[256];
	char source[256]; /* file it was loaded from */
	/* every prefix as written, in order, for policy_format(): the
	 * department index, or UINT16_MAX for an "internal" prefix */
	uint32_t n_pfx;
	char (*pfx_text)[64];
	uint16_t *pfx_dept;
	uint8_t explicit_internal; /* an "internal" statement was written */
	/* options { media-ports ...; }: the inside endpoint's port ranges
	 * of each media type, [0] audio, [1] video, [2] screen sharing
	 * (default Microsoft's 50000-50019, 50020-50039, 50040-50059); a
	 * range 0-0 is none ("media-ports audio none"): no port says that
	 * type (policy_media_of_port never returns it) */
	uint16_t media_lo[MEDIA_TYPES], media_hi[MEDIA_TYPES];
	uint8_t media_ports_set; /* written in the policy (else default) */
	uint8_t has_dscp;	 /* any department's rule marks DSCP */
	/* time windows (window.h): the named ones in the order written,
	 * then one WIN_UNTIL per temporary rule; a rule's bit is its index.
	 * zones: every zone a window names, loaded once (tz.h), freed with
	 * the policy. zone: options { zone NAME; }, the zone of windows
	 * without one and of local "until" times; NULL: none */
	uint32_t n_windows;
	struct window *windows;
	uint32_t n_zones;
	struct tz **zones;
	const struct tz *zone;
	/* the bits of windows some rule uses (a window no rule uses is
	 * still checked, but its boundaries change nothing) */
	uint64_t win_used;
};

#define POLICY_DEFAULT_DEPT 0

/* What the policy needs to know about a classified flow. */
struct flow_facts {
	const uint8_t *internal; /* 16-byte address of the inside endpoint */
	const uint8_t *external; /* the outside one; NULL: unknown */
	uint16_t ext_port;	 /* its port, 0 for protocols without */
	uint8_t l4proto;	 /* IPPROTO_* */
	uint8_t inbound;	 /* opened by the outside endpoint */
	uint16_t master, app, category;
	uint8_t confidence;
	uint8_t evidence; /* enum cls_evidence */
	/* who the inside host is (identity/idtab.h); NULL: nobody known */
	const struct policy_ident *ident;
	/* MEDIA_* bits the flow may carry: 0 for a flow that is no call's
	 * media (a rule with a media condition does not match it); one
	 * bit when the inside port says which; MEDIA_ALL when nothing
	 * does (Teams then multiplexes every type on one flow) */
	uint8_t media;
	/* time: the windows' state the running schedule applied (bit i:
	 * window i open) and when (seconds since the epoch, UTC), and when
	 * the flow started (0: unknown, taken as now). A "cut" rule asks
	 * @win_mask; a "finish" rule asks it for a flow that started at or
	 * after @win_at, and for one that started before, the windows at
	 * its start (windows_mask_at), so a boundary never changes what a
	 * finish rule does to flows it found running. */
	uint64_t win_mask;
	int64_t win_at;
	int64_t start;
};

struct policy_decision {
	uint16_t dept;
	int16_t rule; /* index in depts[dept].rules, -1 if none */
	uint8_t action;
	uint8_t log;
	uint8_t dscp; /* 1 + DSCP the kernel writes, 0: none (allow only) */
};

/* Whether @word is one of the space-separated words of @list. */
int policy_word_listed(const char *list, const char *word);

/* Department of a 16-byte address (IPv4 as ::ffff:a.b.c.d) by longest
 * prefix; POLICY_DEFAULT_DEPT if none. */
uint16_t policy_dept_of(const struct policy *p, const uint8_t addr[16]);
/* The department of the inside host @addr when its identity is @id
 * (NULL: no identity). In this order: the first department, in the
 * policy's order, that claims one of the identity's groups; the
 * department of the address's prefix; for a host no identity names in a
 * department that says "identity required", the department it names. */
struct policy_ident {
	const char *groups; /* packed "a\0b\0\0" */
};
uint16_t policy_dept_for(const struct policy *p, const uint8_t addr[16],
			 const struct policy_ident *id);
/* The department that claims @group, or -1. */
int policy_group_dept(const struct policy *p, const char *group);
int policy_is_internal(const struct policy *p, const uint8_t addr[16]);

/* Whether @r matches the flow (direction, confidence, ids, outside
 * endpoint, evidence). */
int policy_rule_matches(const struct policy_rule *r,
			const struct flow_facts *f);

/* A decision's rule when the kill switch decided it. */
#define POLICY_RULE_KILLSWITCH (-2)
/* ... when skyfence could not read the flow (evidence midstream,
 * quic-version, unreadable) in a department that drops something, or a
 * fail-closed one: dropped, never allowed blind (engine.c). */
#define POLICY_RULE_UNREADABLE (-3)

/* Whether a rule of the flow's department that drops, rejects or
 * throttles could apply to it whatever its app: its direction, outside
 * prefix and port match (its evidence and confidence are not asked). Such
 * a flow, unnamed or unreadable, is watched or refused (engine.c); one no
 * such rule could touch is not. */
int policy_may_refuse(const struct policy *p, const struct flow_facts *f);

/* First rule of the flow's department that matches; allow if none. A
 * flow that may carry several media types (f->media) is decided for
 * each, and gets the strictest of those decisions: the highest action
 * (drop, reject > throttle > allow); among allows, one without a DSCP
 * mark before one with, then the lowest DSCP value. */
void policy_decide(const struct policy *p, const struct flow_facts *f,
		   struct policy_decision *d);

/* Whether rule @r applies to the flow @f at its time (the rule's window
 * and temporary end, its boundary; see flow_facts). 1 for a rule without
 * time. policy_decide skips a rule that does not. */
int policy_rule_active(const struct policy *p, const struct policy_rule *r,
		       const struct flow_facts *f);
/* The windows' state at @t, of the windows rules use (win_used). */
uint64_t policy_windows_at(const struct policy *p, int64_t t);

/* The media type (one MEDIA_* bit) the inside endpoint's @port says, by
 * the policy's media-ports; 0 if none. */
uint8_t policy_media_of_port(const struct policy *p, uint16_t port);

void policy_free(struct policy *p);
/* Whether any department of @p is fail-closed. */
int policy_has_fail_closed(const struct policy *p);
/* Whether department @di of @p needs no inspection: 1 iff it is not the
 * default block, not fail-closed, does not log all, and every rule of it
 * allows without log, DSCP mark or throttle, and the policy has no kill
 * switch, no department claiming groups and none saying "identity
 * required". Its hosts' new flows may then pass without skyfenced (the
 * kernel's allow-only sets, fcset.h). */
int policy_dept_allow_only(const struct policy *p, uint16_t di);
/* Whether any department of @p is allow-only. */
int policy_has_allow_only(const struct policy *p);
/* "dpi", "cache", "ip", "port" for enum cls_confidence; "?" otherwise. */
const char *policy_conf_name(uint8_t conf);
/* Writes "drop", "throttle 1000000bit", ... */
char *policy_rule_describe(const struct policy_rule *r, char *buf, size_t len);

/* ---- writing and changing (policy_edit.c) ---- */

/* The policy in the policy language, canonical: comments and layout are
 * gone, and parsing it gives the same policy. malloc'd; NULL if memory is
 * short. */
char *policy_format(const struct policy *p);

enum policy_change_kind {
	PCH_DEPT_ADD = 0, /* dept, arg: its hosts "A, B" */
	PCH_DEPT_DEL,	  /* dept */
	PCH_DEPT_HOSTS,	  /* dept, arg: its new hosts */
	PCH_RULE_SET,	  /* dept ("default" too), arg: "MATCH ACTION ..." */
	PCH_RULE_DEL,	  /* dept, arg: "MATCH" */
	/* dept, arg: "MATCH ACTION ... [for DURATION | until TIME]
	 * [cut|finish]": a new rule put first, whatever the department
	 * has (a temporary exception); "for D" is written "until @now+D" */
	PCH_RULE_ADD,
};

struct policy_change {
	enum policy_change_kind kind;
	const char *dept;
	const char *arg;
	int64_t now; /* PCH_RULE_ADD's "for": the wall clock (UTC s; 0:
		      * time(NULL)) */
};

/* The text of @p with @c applied, for the parser to validate in full.
 * rule set replaces the action of the department's rules written with the
 * same match (direction included), or puts a new rule first; rule del
 * removes them (given a whole rule, as policy_format writes it, only that
 * one: a temporary rule's match is often its department's other rules'
 * too). rule add refuses an "until" not after @c->now. NULL with a message in @err when the change cannot be
 * written (no such department, a department that exists, no action, ...).
 */
char *policy_format_change(const struct policy *p,
			   const struct policy_change *c, char *err,
			   size_t errlen);
/* The same (@c may be NULL) without the kill switch: a fleet's document,
 * whose kill switch is a key of its own (fleetd.h). */
char *policy_format_doc(const struct policy *p, const struct policy_change *c,
			char *err, size_t errlen);

/* ---- parsing (policy_parse.c) ---- */

/* A rule's "until" TIME @s (YYYY-MM-DD[THH:MM[:SS]], then Z, +HH:MM,
 * -HH:MM or nothing: local in @zone) as seconds since the epoch: 0, -1
 * if it is no time, -2 if it is local and @zone is NULL. */
int policy_until_instant(const char *s, const struct tz *zone, int64_t *out);

/* How names in the policy are resolved: nDPI's tables through the
 * classifier, or a fake one in tests. Each returns an id >= 0 or -1. */
struct policy_names {
	int (*proto_id)(void *ctx, const char *name);
	int (*category_id)(void *ctx, const char *name);
	/* Canonical spelling of a known id, for suggestions; may be NULL. */
	const char *(*proto_name)(void *ctx, int id);
	/* Reads and parses the address-list file @path and the feed's file
	 * @feed (addrsig.h; either may be "": none), their errors to
	 * @on_error, their count in *nerr; NULL on any. NULL: the files
	 * are not read (the policy then has no signatures). */
	struct addrsig *(*load_addrsig)(void *ctx, const char *path,
					const char *feed,
					void (*on_error)(void *, const char *),
					void *ectx, unsigned *nerr);
	unsigned n_protos;
	void *ctx;
	/* the wall clock the policy is checked at (seconds since the epoch,
	 * UTC; 0: time(NULL)): an "until" before it, a window that never
	 * opens again after it, are errors */
	int64_t now;
	/* the running policy's own text parsed again (a runtime change, a
	 * feed reload, the state restored): a temporary rule that expired
	 * is kept with a note, not refused (established flows a "finish"
	 * rule found running still follow it) */
	int internal;
};

struct policy_parser;

/* Streaming parser: create, feed lines (without or with their '\n'), finish.
 * @filename is used in messages only. NULL if memory is short. */
struct policy_parser *policy_parser_create(const char *filename,
					   const struct policy_names *names);
void policy_parser_line(struct policy_parser *pp, const char *line);
/* Returns the policy, or NULL if any error was found: then every error is
 * available, in file order, as "FILE:LINE:COL: message". */
struct policy *policy_parser_finish(struct policy_parser *pp);
unsigned policy_parser_error_count(const struct policy_parser *pp);
const char *policy_parser_error(const struct policy_parser *pp, unsigned i);
void policy_parser_destroy(struct policy_parser *pp);

/* The signatures option as parsed, even when the policy had errors ("" if
 * none); after policy_parser_finish. */
const char *policy_parser_signatures(const struct policy_parser *pp);

/* A policy file is at most this large. */
#define POLICY_MAX_FILE (4u << 20)

/* Reads a policy whole from @fd (@name for messages). Refused, before any
 * read, unless it is a regular file of at most POLICY_MAX_FILE bytes (a
 * FIFO, a device or a directory is never read); any read error refuses it.
 * Returns the text, NUL-terminated, its length in *len; or NULL with
 * "NAME: reason" in @err. */
char *policy_read_fd(int fd, const char *name, size_t *len, char *err,
		     size_t errlen);
/* The same for @path, opened without blocking and without a controlling
 * terminal. */
char *policy_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* Parses @len bytes of @text as the file @name; as policy_load_file. */
struct policy *policy_parse_text(const char *name, const char *text, size_t len,
				 const struct policy_names *names,
				 void (*on_error)(void *ctx, const char *msg),
				 void *ctx, unsigned *nerr);
/* The signatures option of @text, whatever errors the rest has, read
 * without resolving any name ("" if none). */
void policy_text_signatures(const char *name, const char *text, size_t len,
			    char *out, size_t outlen);

/* The same for the endpoints feed's file, which another user writes
 * (skyfence-endpoints): a symbolic link there is refused, so that user
 * cannot make skyfenced read, and echo in its errors, a file of its
 * choosing. */
char *policy_read_feed(const char *path, size_t *len, char *err, size_t errlen);
/* Reads (policy_read_file) and parses a whole file. On failure returns
 * NULL and passes each message to @on_error; a file that cannot be read is
 * reported as "FILE: reason". Returns the number of errors in *nerr. */
struct policy *policy_load_file(const char *path,
				const struct policy_names *names,
				void (*on_error)(void *ctx, const char *msg),
				void *ctx, unsigned *nerr);

#endif
