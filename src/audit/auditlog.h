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
 *   --audit-burst) are suppressed, and counted in "suppressed" records.
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
	uint64_t queued_bytes;	 /* waiting now */
	uint64_t seq;		 /* the chain's last record */
	int writable;		 /* the last write worked */
	char head[AUDIT_HEX];	 /* the last record's hash */
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

/* Reads the chain's head (the state directory's audit.head, or the file's
 * last line if it is further), repairs a last line cut short and queues
 * the "start" record; the writer thread starts at once. @o's strings are
 * kept (they must outlive the log). Returns NULL with @err set. */
struct auditlog *auditlog_open(const struct auditlog_opts *o, char *err,
			       size_t errlen);
/* Writes what is queued (bounded by a few seconds if the file cannot take
 * it: what remains is counted lost and logged), saves the head, ends the
 * thread. NULL is fine. */
void auditlog_close(struct auditlog *a);

/* The digest of the running policy (64 hex digits), stamped on records
 * handed over from now on. */
void auditlog_set_policy(struct auditlog *a, const char *hex);

/* Hands over a record's @fields (audit.h; "ts_ms" and "event" first).
 * @dept names the department whose rate it counts against; NULL: not
 * rate-limited (changes, starts). Returns 0 (queued), 1 (suppressed) or
 * -1 (lost: counted; or @a NULL). Any thread; never blocks on I/O. */
int auditlog_put(struct auditlog *a, const char *dept, const char *fields);

/* The file is opened again by its path, at the writer's next turn
 * (logrotate's postrotate: SIGUSR2). */
void auditlog_reopen(struct auditlog *a);

void auditlog_get_stats(struct auditlog *a, struct auditlog_stats *s);

/* Milliseconds of the wall clock. */
uint64_t auditlog_now_ms(void);

#endif
