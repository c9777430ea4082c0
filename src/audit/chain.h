/* The audit chain (chain.c): records, one JSON object per line, chained.
 * Shared by the daemon, the offline mode and `skyfencectl audit verify`,
 * which links it alone (sf_chain). Pure but for libcrypto's SHA-256.
 *
 * A line is
 *   {"seq":N,"node":"NODE","policy":"HEX",<fields>,"prev":"HEX"}
 * where seq counts the chain's records from 1, node is --node-id, policy
 * the SHA-256 of the running policy (policy_format()'s text), <fields>
 * the record's own (audit_flow_fields() and the daemon's writers; "ts_ms"
 * and "event" first) and prev the SHA-256 of the previous record's line
 * (its bytes, without the newline), 64 zeros for a chain's first. Editing,
 * removing, reordering or truncating lines breaks either the sequence or
 * a prev, and audit_verify_*() names the first line where it breaks.
 */
#ifndef SKYFENCE_CHAIN_H
#define SKYFENCE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH 32
#define AUDIT_HEX (2 * AUDIT_HASH + 1)
#define AUDIT_LINE_MAX 4096 /* a record's line, newline excluded */
#define AUDIT_NODE_LEN 64

/* Appends to @buf (of @len, holding a string) the JSON member
 * "@key":"@val" with @val kept exactly: valid UTF-8 as such, '"', '\\'
 * and control characters escaped as JSON escapes them. A value that is
 * not valid UTF-8 is written with U+FFFD for each bad byte, and the exact
 * bytes follow in "@key_hex" (lowercase hex), so nothing is lost. Returns
 * 0, or -1 if it did not fit (@buf unchanged). */
int audit_json_member(char *buf, size_t len, const char *key, const char *val);
/* As audit_json_member(), but a @val that does not fit is cut, at a
 * character, and ends with the marker AUDIT_CUT_MARK "[cut N bytes]", N
 * the bytes of @val left out ("@key_hex", if any, holds the bytes kept).
 * Returns 0 (whole), 1 (cut), or -1 if not even the marker fit (@buf
 * unchanged). */
int audit_json_member_cut(char *buf, size_t len, const char *key,
			  const char *val);
#define AUDIT_CUT_MARK "\xe2\x80\xa6" /* U+2026, before "[cut N bytes]" */
/* @val as a JSON string's text (no quotes) into @out, escaped as
 * audit_json_member() does. Returns 0, 1 if @val was not valid UTF-8 (bad
 * bytes written as U+FFFD), or -1 if it did not fit (@out holds the
 * characters that did). */
int audit_json_escape(char *out, size_t len, const char *val);
/* 1 if the NUL-terminated @s is valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int audit_utf8_valid(const char *s);

/* A chain being written. */
struct audit_chain {
	uint64_t seq;		   /* the last record's; 0: none yet */
	uint8_t prev[AUDIT_HASH];  /* the last record's line's SHA-256 */
	char node[AUDIT_NODE_LEN]; /* JSON-safe (audit_node_ok) */
	char policy[AUDIT_HEX];	   /* the running policy's digest */
};

/* Whether @node is a usable --node-id: 1-63 bytes of [A-Za-z0-9._:-]. */
int audit_node_ok(const char *node);
/* The next record of @c with @fields (members, no braces) into @out: the
 * line without its newline, and its length; the chain advances. Returns
 * -1 (nothing advanced) if the line would be longer than @len - 1 or
 * AUDIT_LINE_MAX. */
int audit_chain_line(struct audit_chain *c, const char *fields, char *out,
		     size_t len);
/* The SHA-256 of @len bytes. Returns 0, or -1 (libcrypto failed). */
int audit_sha256(const void *data, size_t len, uint8_t out[AUDIT_HASH]);
void audit_hex(const uint8_t *b, size_t n, char *out); /* 2n+1 bytes */
/* @hex (2n hex digits) into @b. Returns 0, or -1. */
int audit_unhex(const char *hex, size_t n, uint8_t *b);
/* Where a chain's last line leaves it: the seq and hash of @line. Returns
 * 0, or -1 if @line is not a record. */
int audit_line_head(const char *line, size_t len, uint64_t *seq,
		    uint8_t hash[AUDIT_HASH]);

/* A "gap" record: records that never made it into the chain, and why.
 * Its fields are "ts_ms", "event":"gap", "lost", "since_ms", "until_ms",
 * "why" and "cause" (a record without "cause" is AUDIT_GAP_BUFFER: the
 * only kind before it was written). */
enum audit_gap_cause {
	AUDIT_GAP_BUFFER,     /* the queue waiting for the disk was full */
	AUDIT_GAP_STOP,	      /* still waiting at a stop; recorded at the
			       * next start (auditlog.h) */
	AUDIT_GAP_UNWRITABLE, /* a record that could not be made a line */
	AUDIT_GAP_CAUSES
};

struct audit_gap {
	uint64_t lost;		     /* records */
	uint64_t since_ms, until_ms; /* wall clock */
	enum audit_gap_cause cause;
	/* a stop's count that holds the last stop's, whose gap record may
	 * be in the chain already (written, then the start cut short before
	 * it removed the count): that gap's lost, since_ms and until_ms, so
	 * audit verify counts those records once; lost 0: none */
	uint64_t incl_lost, incl_since_ms, incl_until_ms;
};

/* "buffer", "stop", "unwritable". */
const char *audit_gap_cause_name(enum audit_gap_cause c);
/* A gap record's fields (no braces) into @buf, @why kept as a JSON
 * string. Returns 0, or -1 if they did not fit. */
int audit_gap_fields(char *buf, size_t len, uint64_t ts_ms,
		     const struct audit_gap *g, const char *why);
/* Whether the @len bytes of @rec (a line, or a record's fields) are a gap
 * record; if so, 1 with @g filled. */
int audit_gap_of(const char *rec, size_t len, struct audit_gap *g);

/* The first "ts_ms" of the @len bytes of @rec (a line, or a record's
 * fields), or 0. */
uint64_t audit_rec_ts(const char *rec, size_t len);

/* Checking a chain line by line, over as many files as it spans. */
#define AUDIT_VERIFY_STOPS 16
struct audit_verify {
	uint64_t seq;		  /* the last good record's */
	uint8_t prev[AUDIT_HASH]; /* its line's hash */
	uint64_t records;	  /* checked */
	uint64_t first_seq;	  /* where the check picked the chain up */
	int started;
	int restarts; /* records starting a new chain (prev all zeros) */
	/* the gap records of the chain: the records they say were lost,
	 * by cause. A stop's gap record that repeats one of the last
	 * AUDIT_VERIFY_STOPS (the same lost, since_ms and until_ms: the
	 * next start was cut short before it removed the count) is the
	 * same loss, counted once and in @repeated. */
	uint64_t gaps;
	uint64_t lost[AUDIT_GAP_CAUSES];
	uint64_t repeated, repeated_seq; /* the first repeat's seq */
	struct audit_gap stops[AUDIT_VERIFY_STOPS];
	unsigned n_stops;
};

/* Line @len bytes of @line (newline stripped; @had_newline whether it
 * had one), counted in the gaps if it is a gap record. Returns 0 if it
 * continues the chain, else -1 with why in @why (the caller names the
 * file and line), or -2 if the line before is the one at fault (edited:
 * this line's prev does not match it). */
int audit_verify_line(struct audit_verify *v, const char *line, size_t len,
		      int had_newline, char *why, size_t whylen);

#endif
