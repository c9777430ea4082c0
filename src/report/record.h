/* One audit line's fields as the report reads them (record.c): a flat JSON
 * object of strings, integers, booleans and arrays of strings, as
 * audit/chain.h's writers make it. Only the members the report sums are
 * kept; the rest are checked for form and skipped. The line is outside
 * input (any file an admin passes): every length is checked, nothing is
 * kept past the next record_scan() on the same struct. */
#ifndef SKYFENCE_RECORD_H
#define SKYFENCE_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* A string member: @s (@n bytes, not NUL-terminated, JSON escapes
 * undone); s == NULL: absent. */
struct record_str {
	const char *s;
	size_t n;
};

enum record_int {
	REC_SEQ,
	REC_TS_MS,
	REC_APP_ID,
	REC_BYTES,
	REC_CHANGE,
	REC_UID,
	REC_SUPPRESSED,
	REC_LOST,
	REC_INTS
};

enum record_strs {
	REC_EVENT,
	REC_NODE,
	REC_FLOW,
	REC_INITIATOR,
	REC_DIRECTION,
	REC_DEPARTMENT,
	REC_ACTION,
	REC_OLD_ACTION,
	REC_EVIDENCE,
	REC_USER,
	REC_WHAT,
	REC_SOURCE,
	REC_STRS
};

#define RECORD_SCRATCH 8192 /* unescaped strings of one line */

struct record {
	int64_t num[REC_INTS];
	uint8_t has[REC_INTS];
	struct record_str str[REC_STRS];
	char scratch[RECORD_SCRATCH];
};

/* The @len bytes of @line (no newline) into @r. Returns 0, or -1 if the
 * line is not one flat JSON object (@r then holds nothing usable). A
 * number that is not an integer within int64 is refused; a member
 * repeated keeps its last value, as JSON readers commonly do. */
int record_scan(struct record *r, const char *line, size_t len);

/* Whether @s equals the NUL-terminated @lit. */
int record_is(const struct record_str *s, const char *lit);

#endif
