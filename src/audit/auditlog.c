/* auditlog.c - the audit log's queue and writer thread (auditlog.h). */
#define _GNU_SOURCE /* memrchr */
#include "audit/auditlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sys/log.h"
#include "policy/policy.h"
#include "policy/state.h"

#define HEAD_FILE "audit.head"
#define HEAD_MAGIC "skyfence audit head 1"
#define LOST_MAGIC "skyfence audit lost 1"
#define LOST_SPARE ".audit.lost.spare"
#define DEPT_SLOTS 512 /* departments' rate buckets (open addressing) */
#define TAIL_READ (2 * AUDIT_LINE_MAX + 2)

enum { REC_FIELDS = 0, REC_GAP };

struct arec {
	struct arec *next;
	uint8_t kind;
	uint64_t lost, since_ms, until_ms; /* REC_GAP */
	size_t len;
	char policy[AUDIT_HEX];
	char fields[];
};

struct dslot {
	char name[POLICY_NAME_LEN]; /* "": free */
	uint64_t milli_tokens, last_ms;
	uint64_t suppressed, since_ms, until_ms; /* not yet recorded */
};

struct auditlog {
	struct auditlog_opts o;
	pthread_t th;
	int started;
	/* under mu: the queue, the rate buckets, the flags, the counters */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct arec *head, *tail;
	size_t queued, pending; /* bytes: in the queue; written out, waiting */
	char policy[AUDIT_HEX];
	struct dslot ds[DEPT_SLOTS];
	uint64_t lost, suppressed;
	int reopen, quit;
	struct auditlog_stats pub; /* the writer's, published each turn */
	/* the writer's own */
	int fd;
	struct audit_chain ch;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t records, bytes, write_errors, unwritable;
	uint64_t saved_seq; /* the head as last saved */
	int writable, unsynced;
	int last_errno;
	struct log_limit warn;
	/* records not made a line, their gap record not yet written */
	struct audit_gap unw;
	char unw_why[96];
	/* the last stop's losses (AUDITLOG_LOST_FILE): their gap record
	 * waits to be emitted, is in the output at lost_end, is in the file
	 * (the count file to be removed), or is done */
	enum { LOST_NONE, LOST_PENDING, LOST_EMITTED, LOST_WRITTEN } lost_state;
	struct audit_gap lost_prev;
	char lost_why[AUDITLOG_LOST_SIZE];
	size_t lost_end;
	/* this stop's (writer_main's end, for auditlog_close) */
	struct audit_gap stop;
	int stop_errno;
};

uint64_t auditlog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int auditlog_open_file(const char *path)
{
	int fd = open(path,
		      O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY |
			      O_CLOEXEC,
		      0640);
	struct stat st;

	if (fd < 0)
		return -1;
	/* 0640 whatever the umask, and never another kind of file */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fchmod(fd, 0640) < 0) {
		int e = S_ISREG(st.st_mode) ? errno : EINVAL;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- the queue (any thread) ---- */

static struct dslot *dept_slot(struct auditlog *a, const char *name)
{
	uint32_t h = 2166136261u;
	const char *p;
	unsigned i;

	for (p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (i = 0; i < DEPT_SLOTS; i++) {
		struct dslot *s = &a->ds[(h + i) % DEPT_SLOTS];

		if (!s->name[0]) {
			snprintf(s->name, sizeof(s->name), "%s", name);
			s->milli_tokens = (uint64_t)a->o.burst * 1000;
			return s;
		}
		if (!strncmp(s->name, name, sizeof(s->name) - 1))
			return s;
	}
	return &a->ds[h % DEPT_SLOTS]; /* full: shared */
}

/* Whether a record of @name may go now (under mu). */
static int take_token(struct auditlog *a, const char *name, uint64_t now)
{
	struct dslot *s = dept_slot(a, name);
	uint64_t cap = (uint64_t)a->o.burst * 1000;

	if (now > s->last_ms) {
		s->milli_tokens += (now - s->last_ms) * a->o.rate;
		if (s->milli_tokens > cap)
			s->milli_tokens = cap;
		s->last_ms = now;
	}
	if (s->milli_tokens >= 1000) {
		s->milli_tokens -= 1000;
		return 1;
	}
	if (!s->suppressed)
		s->since_ms = now;
	s->suppressed++;
	s->until_ms = now;
	a->suppressed++;
	return 0;
}

static void append(struct auditlog *a, struct arec *r)
{
	r->next = NULL;
	if (a->tail)
		a->tail->next = r;
	else
		a->head = r;
	a->tail = r;
}

int auditlog_put(struct auditlog *a, const char *dept, const char *fields)
{
	size_t n = strlen(fields);
	uint64_t now;
	struct arec *r, *g = NULL;
	int rc = 0;

	if (!a)
		return -1; /* no audit (a daemon's state being set up) */
	now = auditlog_now_ms();
	r = malloc(sizeof(*r) + n + 1);
	if (r) {
		r->kind = REC_FIELDS;
		r->len = n;
		memcpy(r->fields, fields, n + 1);
	}
	pthread_mutex_lock(&a->mu);
	if (dept && a->o.rate && !take_token(a, dept, now)) {
		rc = 1;
	} else if (!r || a->queued + a->pending + n > a->o.buffer) {
		/* lost: counted, and a gap record takes its place */
		a->lost++;
		rc = -1;
		if (a->tail && a->tail->kind == REC_GAP) {
			a->tail->lost++;
			a->tail->until_ms = now;
		} else if ((g = calloc(1, sizeof(*g) + 1)) != NULL) {
			g->kind = REC_GAP;
			g->lost = 1;
			g->since_ms = g->until_ms = now;
			memcpy(g->policy, a->policy, sizeof(g->policy));
			append(a, g);
		}
	} else {
		memcpy(r->policy, a->policy, sizeof(r->policy));
		append(a, r);
		a->queued += n;
		r = NULL;
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	free(r);
	return rc;
}

int auditlog_admit(struct auditlog *a, const char *dept)
{
	int ok;

	if (!a)
		return 0;
	if (!dept || !a->o.rate)
		return 1;
	pthread_mutex_lock(&a->mu);
	ok = take_token(a, dept, auditlog_now_ms());
	pthread_mutex_unlock(&a->mu);
	return ok;
}

void auditlog_set_policy(struct auditlog *a, const char *hex)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	snprintf(a->policy, sizeof(a->policy), "%s", hex);
	pthread_mutex_unlock(&a->mu);
}

void auditlog_reopen(struct auditlog *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->reopen = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

void auditlog_get_stats(struct auditlog *a, struct auditlog_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	*s = a->pub;
	s->lost = a->lost;
	s->suppressed = a->suppressed;
	s->queued_bytes = a->queued + a->pending;
	pthread_mutex_unlock(&a->mu);
}

/* ---- the writer (its thread, or the opener before it starts) ---- */

static void warn_io(struct auditlog *a, const char *what, int e)
{
	a->last_errno = e;
	log_limited(&a->warn, mono_ms(),
		    "audit log %s: %s: %s (records wait in memory, up to %zu "
		    "bytes; beyond that they are counted lost)",
		    a->o.path ? a->o.path : "-", what, strerror(e),
		    a->o.buffer);
}

static int open_path(struct auditlog *a)
{
	if (!a->o.path)
		return -1;
	a->fd = auditlog_open_file(a->o.path);
	if (a->fd < 0) {
		warn_io(a, "open", errno);
		return -1;
	}
	return 0;
}

/* Lines out: whole lines only (a write the disk cut short is cut back
 * to its last whole line, so a line is never left half written). Returns
 * 0 once everything is out, -1 to retry later. */
static void reopen_removed(struct auditlog *a);

static int write_out(struct auditlog *a)
{
	/* a file removed under us would take the records where nobody can
	 * read them: checked before every batch */
	reopen_removed(a);
	while (a->out_off < a->out_len) {
		const char *p = a->out + a->out_off, *nl;
		size_t left = a->out_len - a->out_off, whole;
		off_t end;
		ssize_t n;

		if (a->fd < 0 && open_path(a) != 0)
			return -1;
		end = lseek(a->fd, 0, SEEK_END);
		n = write(a->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			a->write_errors++;
			a->writable = 0;
			warn_io(a, "write", errno);
			return -1;
		}
		whole = (size_t)n;
		if ((size_t)n < left) {
			nl = memrchr(p, '\n', (size_t)n);
			whole = nl ? (size_t)(nl - p) + 1 : 0;
			if (whole < (size_t)n &&
			    (end < 0 ||
			     ftruncate(a->fd, end + (off_t)whole) < 0))
				whole = (size_t)n; /* not undone: goes on */
		}
		for (nl = p; (nl = memchr(nl, '\n', (size_t)(p + whole - nl)));
		     nl++)
			a->records++;
		a->bytes += whole;
		a->out_off += whole;
		a->unsynced = 1;
		if (a->lost_state == LOST_EMITTED && a->out_off >= a->lost_end)
			a->lost_state = LOST_WRITTEN;
		if (whole < left) {
			a->write_errors++;
			a->writable = 0;
			warn_io(a, "write", ENOSPC);
			return -1;
		}
	}
	a->out_off = a->out_len = 0;
	a->writable = 1;
	return 0;
}

static int buffered(const struct auditlog *a)
{
	return a->o.path || a->fd >= 0;
}

/* Room for @n more bytes of output. Returns 0, or -1 (no memory). */
static int reserve(struct auditlog *a, size_t n)
{
	size_t cap = a->out_cap ? 2 * a->out_cap : 65536;
	char *p;

	if (a->out_len + n <= a->out_cap)
		return 0;
	while (cap < a->out_len + n)
		cap *= 2;
	p = realloc(a->out, cap);
	if (!p)
		return -1;
	a->out = p;
	a->out_cap = cap;
	return 0;
}

/* One line into the output buffer (and syslog): the chain advances only
 * for a line that is kept. Returns 0, or -1 with @why (a record that
 * cannot be a line; nothing changed). */
static int emit_line(struct auditlog *a, const char *policy, const char *fields,
		     char *why, size_t whylen)
{
	char line[AUDIT_LINE_MAX + 2];
	int n;

	if (buffered(a) && reserve(a, AUDIT_LINE_MAX + 1) != 0) {
		snprintf(why, whylen, "no memory for it");
		return -1;
	}
	memcpy(a->ch.policy, policy, sizeof(a->ch.policy));
	n = audit_chain_line(&a->ch, fields, line, sizeof(line) - 1);
	if (n < 0) {
		snprintf(why, whylen,
			 "%zu bytes of fields: longer than a line (%d bytes)",
			 strlen(fields), AUDIT_LINE_MAX);
		return -1;
	}
	if (a->o.use_syslog)
		syslog(LOG_INFO, "audit: %s", line);
	if (!buffered(a))
		return 0;
	line[n++] = '\n';
	memcpy(a->out + a->out_len, line, (size_t)n);
	a->out_len += (size_t)n;
	return 0;
}

/* The gap record of the records not made a line, once it can be. */
static void emit_unwritable(struct auditlog *a, const char *policy)
{
	char f[512], why[128];

	if (!a->unw.lost ||
	    audit_gap_fields(f, sizeof(f), auditlog_now_ms(), &a->unw,
			     a->unw_why) != 0 ||
	    emit_line(a, policy, f, why, sizeof(why)) != 0)
		return;
	memset(&a->unw, 0, sizeof(a->unw));
}

/* A record into the output. One that cannot be a line is counted, and a
 * gap record takes its place. Returns 0, or -1 for such a record. */
static int emit(struct auditlog *a, const char *policy, const char *fields)
{
	char why[sizeof(a->unw_why)];
	uint64_t now, ts;

	emit_unwritable(a, policy);
	if (emit_line(a, policy, fields, why, sizeof(why)) == 0)
		return 0;
	now = auditlog_now_ms();
	ts = audit_rec_ts(fields, strlen(fields));
	a->unwritable++;
	if (!a->unw.lost || (ts && ts < a->unw.since_ms))
		a->unw.since_ms = ts ? ts : now;
	a->unw.until_ms = now;
	a->unw.lost++;
	a->unw.cause = AUDIT_GAP_UNWRITABLE;
	snprintf(a->unw_why, sizeof(a->unw_why), "%s", why);
	log_limited(&a->warn, mono_ms(),
		    "audit: a record not written (%s); a gap record in its "
		    "place",
		    why);
	emit_unwritable(a, policy);
	return -1;
}

static void emit_gap(struct auditlog *a, const struct arec *g)
{
	struct audit_gap gap = { .lost = g->lost,
				 .since_ms = g->since_ms,
				 .until_ms = g->until_ms,
				 .cause = AUDIT_GAP_BUFFER };
	char f[512];

	if (audit_gap_fields(f, sizeof(f), auditlog_now_ms(), &gap,
			     a->last_errno
				     ? strerror(a->last_errno)
				     : "records came faster than they were "
				       "written") == 0)
		emit(a, g->policy, f);
	a->last_errno = 0;
}

/* The last stop's gap record, in the chain before this start's record.
 * The count file goes once the line is on disk (lost_written). */
static void emit_stop_gap(struct auditlog *a, const char *policy)
{
	char f[768], why[AUDITLOG_LOST_SIZE + 64], err[128];

	snprintf(why, sizeof(why), "not written at the stop: %s", a->lost_why);
	if (audit_gap_fields(f, sizeof(f), auditlog_now_ms(), &a->lost_prev,
			     why) != 0 ||
	    emit_line(a, policy, f, err, sizeof(err)) != 0)
		return; /* tried again at the next turn */
	a->lost_end = a->out_len;
	a->lost_state = buffered(a) ? LOST_EMITTED : LOST_WRITTEN;
}

/* The stop's gap record is in the file: on disk first, then the count
 * file removed (a crash between the two gives the same gap again at the
 * next start, never none). Returns 0 once done, -1 to retry. */
static int lost_recorded(struct auditlog *a)
{
	/* (a pipe or a terminal cannot sync: nothing to wait for) */
	if (a->fd >= 0 && fdatasync(a->fd) != 0 && errno != EINVAL)
		return -1;
	if (a->out_off == a->out_len)
		a->unsynced = 0;
	if (unlinkat(a->o.state_dfd, AUDITLOG_LOST_FILE, 0) != 0 &&
	    errno != ENOENT)
		log_warn("audit: %s: its gap record is written, but the file "
			 "stays: the next start writes the same gap again "
			 "(audit verify counts it once)",
			 AUDITLOG_LOST_FILE);
	fsync(a->o.state_dfd);
	a->lost_state = LOST_NONE;
	return 0;
}

/* The head: "seq N sha256 HEX" in the state directory. */
static void save_head(struct auditlog *a)
{
	char text[256], hex[AUDIT_HEX], err[256];
	const char *parts[1] = { text };

	if (a->o.state_dfd < 0 || a->saved_seq == a->ch.seq ||
	    a->out_len > a->out_off)
		return;
	audit_hex(a->ch.prev, AUDIT_HASH, hex);
	snprintf(text, sizeof(text),
		 HEAD_MAGIC "\nseq %" PRIu64 "\nsha256 %s\n", a->ch.seq, hex);
	if (state_replace(a->o.state_dfd, HEAD_FILE, parts, 1, err,
			  sizeof(err)) == 0)
		a->saved_seq = a->ch.seq;
	else
		log_limited(&a->warn, mono_ms(), "audit chain head: %s", err);
}

static void publish(struct auditlog *a)
{
	a->pub.records = a->records;
	a->pub.bytes = a->bytes;
	a->pub.write_errors = a->write_errors;
	a->pub.unwritable = a->unwritable;
	a->pub.writable = a->writable;
	/* the head of what is in the file: known when nothing waits */
	if (a->out_off == a->out_len) {
		a->pub.seq = a->ch.seq;
		audit_hex(a->ch.prev, AUDIT_HASH, a->pub.head);
	}
	a->pending = a->out_len - a->out_off;
}

/* The suppressed counts of the departments, as records (under mu: copied
 * out into @f, one record's fields each, at most @max). */
struct supp {
	char name[POLICY_NAME_LEN];
	uint64_t n, since, until;
};

static unsigned take_suppressed(struct auditlog *a, struct supp *out,
				unsigned max, uint64_t now, int all)
{
	unsigned i, k = 0;

	for (i = 0; i < DEPT_SLOTS && k < max; i++) {
		struct dslot *s = &a->ds[i];

		if (!s->suppressed || (!all && now < s->since_ms + 1000))
			continue;
		memcpy(out[k].name, s->name, sizeof(out[k].name));
		out[k].n = s->suppressed;
		out[k].since = s->since_ms;
		out[k].until = s->until_ms;
		s->suppressed = 0;
		k++;
	}
	return k;
}

static void emit_suppressed(struct auditlog *a, const struct supp *s,
			    const char *policy)
{
	char f[512];

	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64 ",\"event\":\"suppressed\","
		 "\"suppressed\":%" PRIu64 ",\"since_ms\":%" PRIu64
		 ",\"until_ms\":%" PRIu64 ",\"rate\":%u,\"burst\":%u",
		 auditlog_now_ms(), s->n, s->since, s->until, a->o.rate,
		 a->o.burst);
	if (audit_json_member(f, sizeof(f), "department", s->name) == 0)
		emit(a, policy, f);
}

static void reopen_file(struct auditlog *a)
{
	if (!a->o.path)
		return;
	/* what the old file can still take goes there first */
	if (a->fd >= 0) {
		write_out(a);
		if (a->out_off < a->out_len)
			log_warnx("audit log %s: reopened with %zu bytes not "
				  "written to the old file; they go to the new "
				  "one",
				  a->o.path, a->out_len - a->out_off);
		if (a->unsynced)
			fdatasync(a->fd);
		if (a->fd != STDERR_FILENO)
			close(a->fd);
		a->fd = -1;
	}
	a->unsynced = 0;
	open_path(a);
}

/* The file removed (its links gone): opened again by its path, or
 * records wait until it can be. */
static void reopen_removed(struct auditlog *a)
{
	struct stat st;

	if (a->o.path && a->fd >= 0 && fstat(a->fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_nlink == 0) {
		log_warnx("audit log %s: the file was removed; opening it "
			  "again",
			  a->o.path);
		close(a->fd);
		a->fd = -1;
		open_path(a);
	}
}

/* Once a second: the data on disk, the head saved, a removed file
 * opened again. */
static void housekeeping(struct auditlog *a)
{
	if (a->fd >= 0 && a->unsynced && a->out_off == a->out_len) {
		if (fdatasync(a->fd) == 0)
			a->unsynced = 0;
	}
	save_head(a);
	reopen_removed(a);
}

/* What did not reach the file at the stop, as the gap record the next
 * start writes: the lines waiting, the records queued, the gap records
 * among them as the records they count, and the last stop's count if
 * its gap record is not yet written either (under mu, the writer's end). */
static void count_stop(struct auditlog *a)
{
	struct audit_gap *g = &a->stop;
	uint64_t since = UINT64_MAX;
	const struct arec *r;

	memset(g, 0, sizeof(*g));
	g->cause = AUDIT_GAP_STOP;
	if (a->out_len > a->out_off)
		g->lost = auditlog_count_lost(a->out + a->out_off,
					      a->out_len - a->out_off, &since);
	for (r = a->head; r; r = r->next) {
		if (r->kind == REC_FIELDS) {
			g->lost +=
				auditlog_count_lost(r->fields, r->len, &since);
			continue;
		}
		g->lost += r->lost;
		if (r->since_ms < since)
			since = r->since_ms;
	}
	if (a->unw.lost) {
		g->lost += a->unw.lost;
		if (a->unw.since_ms < since)
			since = a->unw.since_ms;
	}
	if (a->lost_state == LOST_PENDING) {
		g->lost += a->lost_prev.lost;
		if (a->lost_prev.since_ms && a->lost_prev.since_ms < since)
			since = a->lost_prev.since_ms;
	}
	/* the last stop's count, not written now (pending, or its gap
	 * record still in the queue, counted above) but perhaps written
	 * before a start cut short: named, so that audit verify counts it
	 * once */
	if ((a->lost_state == LOST_PENDING || a->lost_state == LOST_EMITTED) &&
	    a->lost_prev.lost) {
		g->incl_lost = a->lost_prev.lost;
		g->incl_since_ms = a->lost_prev.since_ms;
		g->incl_until_ms = a->lost_prev.until_ms;
	}
	g->until_ms = auditlog_now_ms();
	g->since_ms = since < g->until_ms ? since : g->until_ms;
	a->stop_errno = a->last_errno;
	if (!g->lost)
		return;
	a->lost += g->lost;
	log_warnx("audit log: %" PRIu64
		  " record(s) not written at the stop: %s",
		  g->lost,
		  a->stop_errno ? strerror(a->stop_errno) : "not made lines");
}

static void *writer_main(void *arg)
{
	struct auditlog *a = arg;
	uint64_t last_house = mono_ms();
	struct supp sup[32];
	int quitting = 0, tries = 0;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct arec *list = NULL, *r;
		char policy[AUDIT_HEX];
		int reopen, took;
		unsigned ns, i;
		uint64_t now;

		while (!a->quit && !a->reopen && (!a->head || a->pending) &&
		       mono_ms() < last_house + 1000) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
		quitting = a->quit;
		reopen = a->reopen;
		a->reopen = 0;
		now = auditlog_now_ms();
		/* nothing new is taken while written lines wait: the queue
		 * is what bounds the memory */
		took = !a->pending;
		if (took) {
			list = a->head;
			a->head = a->tail = NULL;
			a->queued = 0;
		}
		ns = take_suppressed(a, sup, 32, now, quitting);
		memcpy(policy, a->policy, sizeof(policy));
		pthread_mutex_unlock(&a->mu);

		if (reopen)
			reopen_file(a);
		if (took && a->lost_state == LOST_PENDING)
			emit_stop_gap(a, policy);
		while ((r = list) != NULL) {
			list = r->next;
			if (r->kind == REC_GAP)
				emit_gap(a, r);
			else
				emit(a, r->policy, r->fields);
			free(r);
		}
		for (i = 0; i < ns; i++)
			emit_suppressed(a, &sup[i], policy);
		if (a->out_off < a->out_len && write_out(a) != 0 && quitting)
			usleep(200 * 1000);
		if (a->lost_state == LOST_WRITTEN)
			lost_recorded(a);
		if (mono_ms() >= last_house + 1000) {
			last_house = mono_ms();
			housekeeping(a);
		}

		pthread_mutex_lock(&a->mu);
		publish(a);
		/* about 4 s at most: what the file still refuses is lost */
		if (quitting &&
		    ((!a->head && a->out_off == a->out_len) || ++tries > 20))
			break;
	}
	count_stop(a);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- start and stop ---- */

/* The head the state directory keeps. Returns 1 if there is one. */
static int read_head(struct auditlog *a, uint64_t *seq, uint8_t h[AUDIT_HASH])
{
	char buf[512], err[256], hex[AUDIT_HEX];
	unsigned long long s;

	if (a->o.state_dfd < 0)
		return 0;
	err[0] = '\0';
	if (state_read_small(a->o.state_dfd, HEAD_FILE, buf, sizeof(buf), err,
			     sizeof(err)) < 0) {
		if (err[0])
			log_warnx("audit chain head: %s", err);
		return 0;
	}
	if (sscanf(buf, HEAD_MAGIC "\nseq %llu\nsha256 %64s", &s, hex) != 2 ||
	    strlen(hex) != 2 * AUDIT_HASH ||
	    audit_unhex(hex, AUDIT_HASH, h) != 0) {
		log_warnx("audit chain head: %s is not one; ignored",
			  HEAD_FILE);
		return 0;
	}
	*seq = s;
	return 1;
}

int auditlog_tail(int fd, const char *path, uint64_t *seq,
		  uint8_t h[AUDIT_HASH], uint64_t *repaired)
{
	char *buf;
	struct stat st;
	off_t from;
	ssize_t n;
	char *end, *start;
	int rc = 0;

	*repaired = 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return 0;
	buf = malloc(TAIL_READ + 1);
	if (!buf)
		return 0;
	from = st.st_size > TAIL_READ ? st.st_size - TAIL_READ : 0;
	n = pread(fd, buf, (size_t)(st.st_size - from), from);
	if (n <= 0)
		goto out;
	end = buf + n;
	if (end[-1] != '\n') {
		/* a line cut short (the disk full at a crash): removed */
		char *nl = memrchr(buf, '\n', (size_t)n);
		off_t keep = nl ? from + (nl - buf) + 1 : 0;

		if (!nl && from > 0)
			goto out; /* a line longer than any record */
		if (ftruncate(fd, keep) == 0) {
			*repaired = (uint64_t)(st.st_size - keep);
			log_warnx("audit log %s: its last %" PRIu64
				  " bytes were a line cut short; removed",
				  path, *repaired);
		}
		if (!nl)
			goto out;
		end = nl + 1;
	}
	end--; /* at the newline */
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start ? start + 1 : buf;
	if (start == buf && from > 0)
		goto out;
	rc = audit_line_head(start, (size_t)(end - start), seq, h) == 0;
out:
	free(buf);
	return rc;
}

/* ---- the count of a stop's losses (AUDITLOG_LOST_FILE) ---- */

void auditlog_lost_format(char out[AUDITLOG_LOST_SIZE + 1],
			  const struct audit_gap *g, const char *why)
{
	char w[AUDITLOG_LOST_SIZE];
	int n;
	size_t o, room;

	audit_clean_text(why && why[0] ? why : "-", w, sizeof(w));
	n = snprintf(out, AUDITLOG_LOST_SIZE + 1,
		     LOST_MAGIC "\nlost %" PRIu64 "\nsince_ms %" PRIu64
				"\nuntil_ms %" PRIu64 "\n",
		     g->lost, g->since_ms, g->until_ms);
	o = (size_t)n;
	if (g->incl_lost)
		o += (size_t)snprintf(
			out + o, AUDITLOG_LOST_SIZE + 1 - o,
			"includes %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			g->incl_lost, g->incl_since_ms, g->incl_until_ms);
	o += (size_t)snprintf(out + o, AUDITLOG_LOST_SIZE + 1 - o, "why ");
	/* at most 6 lines of 3 x 20 digits: it fits */
	room = AUDITLOG_LOST_SIZE - o - 1;
	n = snprintf(out + o, room + 1, "%s", w);
	o += (size_t)n < room ? (size_t)n : room;
	memset(out + o, '\n', AUDITLOG_LOST_SIZE - o);
	out[AUDITLOG_LOST_SIZE] = '\0';
}

/* "@key" and a number on a line of its own at *@p; *@p moves past it. */
/* @key, then digits ended by @end: the number in *@v, *@p past @end. */
static int lost_digits(const char **p, const char *key, char end, uint64_t *v)
{
	size_t k = strlen(key);
	const char *q;
	uint64_t x = 0;

	if (strncmp(*p, key, k) != 0)
		return -1;
	q = *p + k;
	if (*q < '0' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*q - '0');
	}
	if (*q != end)
		return -1;
	*v = x;
	*p = q + 1;
	return 0;
}

static int lost_field(const char **p, const char *key, uint64_t *v)
{
	return lost_digits(p, key, '\n', v);
}

/* A number of a line that goes on (the space after it taken). */
static int lost_number(const char **p, const char *key, uint64_t *v)
{
	return lost_digits(p, key, ' ', v);
}

int auditlog_lost_parse(const char *text, struct audit_gap *g, char *why,
			size_t whylen)
{
	const char *p = text;
	size_t n;

	memset(g, 0, sizeof(*g));
	g->cause = AUDIT_GAP_STOP;
	if (strncmp(text, LOST_MAGIC "\n", sizeof(LOST_MAGIC)) != 0)
		return -1;
	p += sizeof(LOST_MAGIC);
	if (lost_field(&p, "lost ", &g->lost) != 0 ||
	    lost_field(&p, "since_ms ", &g->since_ms) != 0 ||
	    lost_field(&p, "until_ms ", &g->until_ms) != 0)
		return -1;
	/* "includes LOST SINCE UNTIL": the last stop's count this one holds
	 * (the line only then) */
	if (!strncmp(p, "includes ", 9) &&
	    (lost_number(&p, "includes ", &g->incl_lost) != 0 ||
	     lost_number(&p, "", &g->incl_since_ms) != 0 ||
	     lost_field(&p, "", &g->incl_until_ms) != 0))
		return -1;
	if (strncmp(p, "why ", 4) != 0)
		return -1;
	p += 4;
	n = strcspn(p, "\n");
	if (!p[n])
		return -1;
	snprintf(why, whylen, "%.*s", (int)n, p);
	return 0;
}

uint64_t auditlog_count_lost(const char *lines, size_t len, uint64_t *since_ms)
{
	const char *p = lines, *end;
	uint64_t n = 0;

	if (!len)
		return 0;
	for (end = lines + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct audit_gap g;
		uint64_t t;

		if (e > p) {
			if (audit_gap_of(p, (size_t)(e - p), &g)) {
				n += g.lost;
				t = g.since_ms;
			} else {
				n++;
				t = audit_rec_ts(p, (size_t)(e - p));
			}
			if (t && t < *since_ms)
				*since_ms = t;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* The last stop's count, if the state directory keeps one: its gap
 * record is emitted at the writer's first turn. */
static void read_lost(struct auditlog *a)
{
	char buf[2 * AUDITLOG_LOST_SIZE], err[256];

	if (a->o.state_dfd < 0)
		return;
	err[0] = '\0';
	if (state_read_small(a->o.state_dfd, AUDITLOG_LOST_FILE, buf,
			     sizeof(buf), err, sizeof(err)) < 0) {
		if (err[0])
			log_warnx("audit: %s; the records it counts are not "
				  "recorded",
				  err);
		return;
	}
	if (auditlog_lost_parse(buf, &a->lost_prev, a->lost_why,
				sizeof(a->lost_why)) != 0) {
		log_warnx("audit: %s is not a count of records lost at a "
			  "stop; left as it is",
			  AUDITLOG_LOST_FILE);
		return;
	}
	/* a file that parses may still hold bytes that escape to more than
	 * a gap record has room for: printable, as the stop writes it */
	{
		char w[sizeof(a->lost_why)];

		audit_clean_text(a->lost_why, w, sizeof(w));
		memcpy(a->lost_why, w, sizeof(w));
	}
	/* a count of none: only removed */
	a->lost_state = a->lost_prev.lost ? LOST_PENDING : LOST_WRITTEN;
	if (a->lost_prev.lost)
		log_warnx("audit: %" PRIu64 " record(s) were not written at "
			  "the last stop; a gap record says so",
			  a->lost_prev.lost);
}

/* The file of AUDITLOG_LOST_SIZE bytes the stop writes its count into
 * and renames: on a full disk a new file has no block, this one has its
 * own. */
static void make_spare(struct auditlog *a)
{
	char pad[AUDITLOG_LOST_SIZE];
	struct stat st;
	int fd;

	if (a->o.state_dfd < 0)
		return;
	fd = openat(a->o.state_dfd, LOST_SPARE,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		log_warnx("audit: %s: not a file of its own; a stop on a full "
			  "disk cannot count its losses",
			  LOST_SPARE);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_size != AUDITLOG_LOST_SIZE) {
		memset(pad, '\n', sizeof(pad));
		if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 ||
		    pwrite(fd, pad, sizeof(pad), 0) != (ssize_t)sizeof(pad) ||
		    fsync(fd) != 0 || fsync(a->o.state_dfd) != 0)
			log_warn("audit: %s (kept for a stop on a full disk)",
				 LOST_SPARE);
	}
	close(fd);
}

/* The stop's count into AUDITLOG_LOST_FILE: the spare written and
 * renamed (no new block needed), else a new file. Returns 0, or -1 with
 * @err set. */
static int lost_write(struct auditlog *a, const char *text, char *err,
		      size_t errlen)
{
	const char *parts[1] = { text };
	struct stat st;
	int dfd = a->o.state_dfd, ok;
	int fd = openat(dfd, LOST_SPARE,
			O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0) {
		ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		     st.st_uid == geteuid() &&
		     st.st_size == AUDITLOG_LOST_SIZE &&
		     fchmod(fd, 0600) == 0 &&
		     pwrite(fd, text, AUDITLOG_LOST_SIZE, 0) ==
			     AUDITLOG_LOST_SIZE &&
		     fsync(fd) == 0;
		if (close(fd) == 0 && ok &&
		    renameat(dfd, LOST_SPARE, dfd, AUDITLOG_LOST_FILE) == 0) {
			if (fsync(dfd) != 0)
				log_warn("audit: %s: fsync of the directory",
					 AUDITLOG_LOST_FILE);
			return 0;
		}
	}
	return state_replace(dfd, AUDITLOG_LOST_FILE, parts, 1, err, errlen);
}

/* At the stop, after the writer: the losses counted for the next start,
 * or the last stop's count removed once its gap record is written. */
static void save_lost(struct auditlog *a)
{
	char text[AUDITLOG_LOST_SIZE + 1], err[256];

	if (!a->stop.lost) {
		if (a->lost_state == LOST_WRITTEN)
			lost_recorded(a);
		return;
	}
	if (a->o.state_dfd < 0) {
		log_warnx("audit log: no state directory: the chain will not "
			  "say that %" PRIu64 " record(s) were lost at this "
			  "stop",
			  a->stop.lost);
		return;
	}
	auditlog_lost_format(text, &a->stop,
			     a->stop_errno ? strerror(a->stop_errno)
					   : "not made lines");
	if (lost_write(a, text, err, sizeof(err)) == 0)
		log_warnx("audit log: the %" PRIu64 " record(s) counted in "
			  "%s: the next start records them in a gap record",
			  a->stop.lost, AUDITLOG_LOST_FILE);
	else
		log_warnx("audit log: %s: %s; the chain will not say that "
			  "%" PRIu64 " record(s) were lost at this stop",
			  AUDITLOG_LOST_FILE, err, a->stop.lost);
}

struct auditlog *auditlog_open(const struct auditlog_opts *o, char *err,
			       size_t errlen)
{
	struct auditlog *a = calloc(1, sizeof(*a));
	uint64_t hseq = 0, fseq = 0, repaired = 0;
	uint8_t hh[AUDIT_HASH], fh[AUDIT_HASH];
	int have_head, have_tail, rc;
	char f[1024];

	if (!a) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	a->o = *o;
	a->fd = o->fd;
	a->writable = a->pub.writable = 1;
	a->warn = (struct log_limit)LOG_LIMIT_INIT(3, 60000);
	snprintf(a->ch.node, sizeof(a->ch.node), "%s", o->node);
	snprintf(a->policy, sizeof(a->policy), "%s",
		 o->policy ? o->policy : "-");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	have_head = read_head(a, &hseq, hh);
	read_lost(a);
	make_spare(a);
	have_tail = auditlog_tail(a->fd, o->path ? o->path : "-", &fseq, fh,
				  &repaired);
	if (have_tail && (!have_head || fseq >= hseq)) {
		a->ch.seq = fseq;
		memcpy(a->ch.prev, fh, AUDIT_HASH);
	} else if (have_head) {
		a->ch.seq = hseq;
		memcpy(a->ch.prev, hh, AUDIT_HASH);
	}
	a->saved_seq = have_head ? hseq : 0;
	/* where the chain stood at this start, before its own records */
	a->pub.open_seq = a->ch.seq;
	audit_hex(a->ch.prev, AUDIT_HASH, a->pub.open_head);
	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64 ",\"event\":\"start\",\"version\":\"%s\","
		 "\"pid\":%ld,\"chain\":\"%s\",\"repaired_bytes\":%" PRIu64
		 ",\"rate\":%u,\"burst\":%u",
		 auditlog_now_ms(), o->version, (long)getpid(),
		 have_tail && (!have_head || fseq >= hseq)
			 ? "continued from the file"
		 : have_head ? "continued from the state directory's head"
			     : "new",
		 repaired, o->rate, o->burst);
	if (auditlog_put(a, NULL, f) != 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		auditlog_close(a);
		return NULL;
	}
	rc = pthread_create(&a->th, NULL, writer_main, a);
	if (rc != 0) {
		snprintf(err, errlen, "audit writer thread: %s", strerror(rc));
		auditlog_close(a);
		return NULL;
	}
	a->started = 1;
	return a;
}

void auditlog_close(struct auditlog *a)
{
	struct arec *r;

	if (!a)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->quit = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->th, NULL);
		if (a->fd >= 0 && a->unsynced && fdatasync(a->fd) == 0)
			a->unsynced = 0;
		save_head(a);
		save_lost(a);
	}
	while ((r = a->head) != NULL) {
		a->head = r->next;
		free(r);
	}
	if (a->fd >= 0 && a->fd != STDERR_FILENO)
		close(a->fd);
	free(a->out);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
