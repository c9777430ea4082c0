/* Operational logging, OpenBSD style: log_warn adds strerror(errno),
 * log_warnx does not. */
#ifndef SKYFENCE_LOG_H
#define SKYFENCE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* @to_syslog: 0 = stderr; when that is systemd's journal stream
 * (JOURNAL_STREAM names it), each line starts with its syslog priority,
 * "<3>" to "<7>", which the journal keeps as the entry's PRIORITY. */
void log_init(const char *ident, int to_syslog, int level);
/* 1 if stderr is the stream JOURNAL_STREAM names. */
int log_stderr_is_journal(void);
void log_set_level(int level);
int log_get_level(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* @in made safe for a log line, in the manner of OpenBSD's strnvis(3):
 * printable ASCII stays, a backslash is doubled, newline, carriage return
 * and tab become backslash-n, -r, -t, every other byte (control bytes and
 * bytes >= 0x80) a backslash and three octal digits. Never splits an
 * escape; always NUL-terminates (@outlen > 0). Returns @out. Every log
 * line goes through it: what a client or a packet sent cannot forge one. */
char *log_escape(const char *in, char *out, size_t outlen);

/* At most @burst messages per @interval_ms; the rest are counted and the
 * count is reported with the next message let through. For the packet
 * path. */
struct log_limit {
	uint64_t window_start_ms;
	uint32_t in_window, suppressed;
	uint32_t burst;
	uint64_t interval_ms;
};
#define LOG_LIMIT_INIT(b, ms)      \
	{                          \
		0, 0, 0, (b), (ms) \
	}
/* Returns 1 if the message was logged, 0 if it was suppressed. */
int log_limited(struct log_limit *l, uint64_t now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
