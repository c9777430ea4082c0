/* log.c - operational logging to syslog or stderr (with the journal's
 * <N> priority prefixes when stderr is systemd's journal stream),
 * rate-limited lines, strnvis-style escaping (log.h). */
#include "sys/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

static int use_syslog;
static int use_journal; /* stderr is the journal: "<N>message" */
/* set by the control thread (`log set`), read by every worker per
 * packet: relaxed atomics, no lock and no torn read */
static int max_level = LOG_LVL_INFO;
static const char *log_ident = "skyfence";

void log_init(const char *ident, int to_syslog, int level)
{
	log_ident = ident;
	use_syslog = to_syslog;
	__atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		use_journal = log_stderr_is_journal();
}

int log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	/* systemd sets "DEVICE:INODE" of the stream it connected */
	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2 ||
	    fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_set_level(int level)
{
	__atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

int log_get_level(void)
{
	return __atomic_load_n(&max_level, __ATOMIC_RELAXED);
}

char *log_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		char e[5];
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			e[0] = (char)c;
			n = 1;
		} else if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\\'   ? '\\'
			       : c == '\n' ? 'n'
			       : c == '\r' ? 'r'
					   : 't';
			n = 2;
		} else {
			snprintf(e, sizeof(e), "\\%03o", c);
			n = 4;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

static void vlog(int level, const char *fmt, va_list ap, int add_errno)
	__attribute__((format(printf, 2, 0)));

static void vlog(int level, const char *fmt, va_list ap, int add_errno)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[4096], buf[4 * sizeof(raw)];
	int saved = errno;

	if (level > __atomic_load_n(&max_level, __ATOMIC_RELAXED))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (add_errno) {
		size_t n = strlen(raw);

		snprintf(raw + n, sizeof(raw) - n, ": %s", strerror(saved));
	}
	log_escape(raw, buf, sizeof(buf));
	if (use_syslog)
		syslog(prio[level], "%s", buf);
	else if (use_journal)
		fprintf(stderr, "<%d>%s\n", prio[level], buf);
	else
		fprintf(stderr, "%s: %s\n", log_ident, buf);
	errno = saved;
}

#define LOGFN(name, level, add_errno)                \
	void name(const char *fmt, ...)              \
	{                                            \
		va_list ap;                          \
		va_start(ap, fmt);                   \
		vlog((level), fmt, ap, (add_errno)); \
		va_end(ap);                          \
	}

LOGFN(log_warn, LOG_LVL_WARN, 1)
LOGFN(log_warnx, LOG_LVL_WARN, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_debug, LOG_LVL_DEBUG, 0)

int log_limited(struct log_limit *l, uint64_t now_ms, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (now_ms >= l->window_start_ms + l->interval_ms) {
		l->window_start_ms = now_ms;
		l->in_window = 0;
	}
	if (l->in_window >= l->burst) {
		l->suppressed++;
		return 0;
	}
	l->in_window++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (l->suppressed) {
		log_warnx("%s (%u similar messages suppressed)", buf,
			  l->suppressed);
		l->suppressed = 0;
	} else {
		log_warnx("%s", buf);
	}
	return 1;
}
