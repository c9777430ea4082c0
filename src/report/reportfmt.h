/* The characters and units the report shows (reportfmt.c), alike in the
 * page (reporthtml.c, reportdept.c, reportsvg.c) and in the text
 * (reportout.c). */
#ifndef SKYFENCE_REPORTFMT_H
#define SKYFENCE_REPORTFMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"

/* The character at @s (not at its NUL): its length, and in @cp its code
 * point. 0 if it may be shown as it is; 1 for a C0 control or DEL; 2 for
 * what must not be shown as it is: a byte that is not UTF-8 (RFC 3629:
 * length 1, @cp U+FFFD), a C1 control, a bidirectional control (it
 * would reorder the text around it). */
int report_char(const char *s, size_t *len, uint32_t *cp);

/* @v bytes in binary units into @out: "0 B", "512 B", "1.50 KiB", "100.5
 * MiB", "12 GiB". */
void report_human(uint64_t v, char *out, size_t len);

/* @s (NULL: "") to @f as HTML text or as a quoted attribute's value: the
 * five characters as references, a C0 control as its picture (U+2400 +
 * c, DEL U+2421), what else report_char() flags as U+FFFD. So no string
 * of the trail adds markup to a page, or hides or reorders its text. */
void report_html_text(FILE *f, const char *s);

/* A name of the trail in a table's cell (a host, a user, a department,
 * a change's text): report_html_text() in <span class="w">, which the
 * style sheet breaks inside a word only when the word is wider than the
 * cell may grow. */
void report_html_key(FILE *f, const char *s);

/* @one if @n is 1, else @many. */
const char *report_plural(uint64_t n, const char *one, const char *many);

/* "Allowed", "Dropped", "Rejected", "Throttled"; @lower: "allowed", ... */
const char *report_action_label(enum report_action a, int lower);

/* A count as a table's cell: <td class="n" data-fig="@fig">@v</td>, the
 * exact integer (@fig NULL: no data-fig), greyed when 0. */
void report_html_count(FILE *f, const char *fig, uint64_t v);

/* @v bytes as report_human() says them. */
void report_html_bytes(FILE *f, uint64_t v);

/* The words of report.h's figures, alike in the page, the text and the
 * man page (JSON keeps the struct's field names). */
#define REPORT_W_THROUGH "Got through"
#define REPORT_W_THROUGH_WHAT "sessions that ended passing"
#define REPORT_W_CUT "Cut by a change"
#define REPORT_W_CUT_WHAT "sessions that ended cut by a change"
#define REPORT_W_CUT_NOTE \
	"what got through before the cut and what the host tried after it"
#define REPORT_W_ATTEMPTED "Blocked from the start"
#define REPORT_W_ATTEMPTED_NOTE \
	"what the hosts tried (only the packets before the decision passed)"
#define REPORT_W_INTERRUPTED "sessions interrupted by a change"
#define REPORT_W_INTERRUPTED_NOTE                                             \
	"moved from passing to blocked by a runtime change, even if a later " \
	"one restored them"
#define REPORT_W_ACTIONS_NOTE                                          \
	"The actions are those of each session's decision; a runtime " \
	"change's re-decisions are counted apart (interrupted)."
#define REPORT_W_UNKNOWN "(unknown)"
#define REPORT_W_UNKNOWN_NOTE                                                \
	"Flows whose end record names no department (decided before a "      \
	"daemon restart that did not keep the decision) and whose decision " \
	"is in no file read, or before the period. Their bytes are counted " \
	"here, under their initiator; they are no session."

/* what the trail lacks */
#define REPORT_W_LOST_BUFFER \
	"Records never written: the queue to the disk was full"
#define REPORT_W_LOST_STOP \
	"Records never written: queued when the daemon stopped"
#define REPORT_W_LOST_UNWRITABLE "Records that could not be made a line"
#define REPORT_W_GAPS "Gap records: where the chain says records are missing"
#define REPORT_W_SUPPRESSED "Decision records suppressed over the audit rate"
#define REPORT_W_CT_LOST "Connection ends lost by conntrack (bytes not counted)"
#define REPORT_W_CT_OVERRUNS "Times conntrack's events overran"
#define REPORT_W_UNREADABLE "Lines that are not an audit record"
#define REPORT_W_BAD_TIME "Records with a clock before 1970 or after 9999"
#define REPORT_W_OFF_CHART \
	"Sessions the charts leave out (a clock far off; counted above)"
#define REPORT_W_KS_ON "Kill switch ON"
/* "Kill switch ON as the period starts (since TIME, change N on NODE,
 * uid U: WHAT)" of report_killswitch_before()'s @c into @out. */
void report_ks_start(const struct report *r, const struct report_change *c,
		     char *out, size_t len);

/* The records' node: "gw1", "3 nodes (first: gw1)", or "" if none. */
void report_nodes(const struct report *r, char *out, size_t len);

/* The period's local dates: "2026-11-30 - 2026-12-06" (an en dash;
 * --until is the first instant left out), one date if it is one day, ""
 * if the period is open and has no record. */
void report_dates(const struct report *r, char *out, size_t len);

/* The zone's abbreviation and offset in the period: "CET, UTC+01:00",
 * "CET, UTC+01:00 to CEST, UTC+02:00" if its end has another, "" for
 * UTC itself. */
void report_zone(const struct report *r, char *out, size_t len);

/* A department's bytes in a sentence: "102 KiB in 3 sessions that ended
 * passing; 163 KiB in 2 sessions a change cut (part got through before
 * the cut); 2.45 KiB tried in 2 sessions blocked from the start", the
 * last two parts only when there are such sessions; @nbsp: a no-break
 * space between a number and its unit. */
void report_bytes_sentence(const struct report_dept *d, int nbsp, char *out,
			   size_t len);

/* The time now, or SOURCE_DATE_EPOCH's (seconds) when set: the report's
 * "generated" time, reproducible for tests and the README's picture. */
int64_t report_now_ms(void);

#endif
