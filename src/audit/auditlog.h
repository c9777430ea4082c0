/* The audit log's writer (auditlog.c): records are handed over by any
 * thread (a worker at a decision, the control thread at a flow's end or a
 * change) into a bounded queue, and one thread of its own chains them
 * (audit.h), writes them and keeps the chain's head in the state
 * directory. Nothing that gives verdicts waits for a disk:
 *
 * - auditlog_put() takes a mutex for a list append and a counter; when
 *   the queue holds --audit-buffer bytes, the record is lost and counted,
 *   and the writer writes a "gap" record, in its place in the chain, once
 *   it can write again;
 * - a full disk, a removed directory or EIO leave records queued; the
 *   writer retries every second and warns (rate-limited);
 * - a department's records beyond --audit-rate per second (burst
 *   --audit-burst) are suppressed, and counted in "suppressed" records;
 * - a record that cannot be made a line (longer than AUDIT_LINE_MAX, or
 *   no memory for it) is counted ("unwritable"), and a gap record takes
 *   its place;
 * - what still waits at the stop (auditlog_close) is counted into
 *   AUDITLOG_LOST_FILE in the state directory, and the next start puts a
 *   gap record (cause "stop") in the chain before its start record, then
 *   removes the file. The gap goes first and the file after, the file
 *   only once the gap is on disk: a start cut short between the two
 *   writes the same gap again at the next (same lost, since_ms and
 *   until_ms: one loss, which audit_verify_line() counts once), and never
 *   loses it. Without a state directory the count is only logged.
 */
#ifndef SKYFENCE_AUDITLOG_H
#define SKYFENCE_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

struct auditlog_opts {
	const char *path; /* the file; NULL: none */
	int fd;		  /* @path opened by the caller (auditlog_open_file),
			   * or -1 */
	int use_syslog;	  /* records to syslog as well (or only) */
	const char *node; /* audit_node_ok() */
	uint32_t rate;	  /* a department's records per second; 0: all */
	uint32_t burst;
	size_t buffer; /* bytes queued at most */
	int state_dfd; /* the chain's head kept there; -1: not kept */
	const char *version;
	const char *policy; /* the running policy's digest (hex) */
};

struct auditlog_stats {
	uint64_t records, bytes; /* written */
	uint64_t lost;		 /* the queue was full */
	uint64_t suppressed;	 /* over a department's rate */
	uint64_t write_errors;	 /* writes that failed (retried) */
	uint64_t unwritable;	 /* records that could not be made a line */
	uint64_t queued_bytes;	 /* waiting now */
	uint64_t seq;		 /* the chain's last record */
	int writable;		 /* the last write worked */
	char head[AUDIT_HEX];	 /* the last record's hash */
	/* the chain's head when the log was opened, before this start's
	 * records (the file's last line, or the state directory's head
	 * if it is further): what a published head is checked against */
	uint64_t open_seq;
	char open_head[AUDIT_HEX];
};

struct auditlog;

/* @path opened for appending: 0640, no symlink, close-on-exec. Returns the
 * descriptor, or -1 with errno set. */
int auditlog_open_file(const char *path);

/* The chain's head at the end of file @fd (@path for messages): the seq
 * and hash of its last line, a line cut short at its end removed first
 * (*@repaired its bytes). Returns 1 if the file ends with a record. */
int auditlog_tail(int fd, const char *path, uint64_t *seq,
		  uint8_t h[AUDIT_HASH], uint64_t *repaired);

/* The records lost at a stop, in the state directory until the next
 * start's gap record is on disk: AUDITLOG_LOST_SIZE bytes, so that a stop
 * on a full disk can write them into a spare file of that size made at
 * the start, and rename it (state.h's conventions: mode 0600, fsync,
 * rename, fsync of the directory). */
#define AUDITLOG_LOST_FILE "audit.lost"
#define AUDITLOG_LOST_SIZE 256

/* The file's text for @g, @why the error the stop met: the lines
 * "skyfence audit lost 1", "lost N", "since_ms N", "until_ms N",
 * "why TEXT" (@why made printable, and cut to fit), padded with newlines
 * to AUDITLOG_LOST_SIZE bytes; @out holds that and a NUL. */
void auditlog_lost_format(char out[AUDITLOG_LOST_SIZE + 1],
			  const struct audit_gap *g, const char *why);
/* The file's text back: @g (cause AUDIT_GAP_STOP) and @why. Returns 0,
 * or -1 if @text is not one. */
int auditlog_lost_parse(const char *text, struct audit_gap *g, char *why,
			size_t whylen);
/* The records @len bytes of lines stand for (a last line without a
 * newline too): a gap record the records it counts, any other line one.
 * *@since_ms is lowered to the earliest "ts_ms" (a gap's "since_ms"). */
uint64_t auditlog_count_lost(const char *lines, size_t len, uint64_t *since_ms);

/* Reads the chain's head (the state directory's audit.head, or the file's
 * last line if it is further), repairs a last line cut short, queues the
 * gap record of the last stop's losses (AUDITLOG_LOST_FILE) and the
 * "start" record; the writer thread starts at once. @o's strings are
 * kept (they must outlive the log). Returns NULL with @err set. */
struct auditlog *auditlog_open(const struct auditlog_opts *o, char *err,
			       size_t errlen);
/* Writes what is queued (bounded by a few seconds if the file cannot take
 * it: what remains is counted lost, logged and kept in
 * AUDITLOG_LOST_FILE), saves the head, ends the thread. Call it before the
 * state directory's descriptor is closed. NULL is fine. */
void auditlog_close(struct auditlog *a);

/* The digest of the running policy (64 hex digits), stamped on records
 * handed over from now on. */
void auditlog_set_policy(struct auditlog *a, const char *hex);

/* Hands over a record's @fields (audit.h; "ts_ms" and "event" first).
 * @dept names the department whose rate it counts against; NULL: not
 * rate-limited (changes, starts). Returns 0 (queued), 1 (suppressed) or
 * -1 (lost: counted; or @a NULL). Any thread; never blocks on I/O. */
int auditlog_put(struct auditlog *a, const char *dept, const char *fields);
/* Takes @dept's token for a record about to be made: 1, and the record
 * goes to auditlog_put with a NULL @dept; 0 if the department's rate
 * suppresses it (counted as auditlog_put would), so a flood of records
 * the rate drops costs no formatting. @a NULL: 0. */
int auditlog_admit(struct auditlog *a, const char *dept);

/* The file is opened again by its path, at the writer's next turn
 * (logrotate's postrotate: SIGUSR2). */
void auditlog_reopen(struct auditlog *a);

void auditlog_get_stats(struct auditlog *a, struct auditlog_stats *s);

/* Milliseconds of the wall clock. */
uint64_t auditlog_now_ms(void);

#endif
