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
	uint64_t records, bytes, write_errors;
	uint64_t saved_seq; /* the head as last saved */
	int writable, unsynced;
	int last_errno;
	struct log_limit warn;
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

/* One line into the output buffer. */
static void emit(struct auditlog *a, const char *policy, const char *fields)
{
	char line[AUDIT_LINE_MAX + 2];
	int n;

	memcpy(a->ch.policy, policy, sizeof(a->ch.policy));
	n = audit_chain_line(&a->ch, fields, line, sizeof(line) - 1);
	if (n < 0) {
		log_limited(&a->warn, mono_ms(),
			    "audit: a record too long for a line, not written");
		return;
	}
	if (a->o.use_syslog)
		syslog(LOG_INFO, "audit: %s", line);
	if (!a->o.path && a->fd < 0)
		return;
	line[n++] = '\n';
	if (a->out_len + (size_t)n > a->out_cap) {
		size_t cap = a->out_cap ? 2 * a->out_cap : 65536;
		char *p;

		while (cap < a->out_len + (size_t)n)
			cap *= 2;
		p = realloc(a->out, cap);
		if (!p) {
			log_limited(&a->warn, mono_ms(),
				    "audit: out of memory for a record");
			return;
		}
		a->out = p;
		a->out_cap = cap;
	}
	memcpy(a->out + a->out_len, line, (size_t)n);
	a->out_len += (size_t)n;
}

static void emit_gap(struct auditlog *a, const struct arec *g)
{
	char f[512];

	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64 ",\"event\":\"gap\",\"lost\":%" PRIu64
		 ",\"since_ms\":%" PRIu64 ",\"until_ms\":%" PRIu64
		 ",\"why\":\"%s\"",
		 auditlog_now_ms(), g->lost, g->since_ms, g->until_ms,
		 a->last_errno ? strerror(a->last_errno)
			       : "records came faster than they were written");
	a->last_errno = 0;
	emit(a, g->policy, f);
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
		int reopen;
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
		if (!a->pending) {
			list = a->head;
			a->head = a->tail = NULL;
			a->queued = 0;
		}
		ns = take_suppressed(a, sup, 32, now, quitting);
		memcpy(policy, a->policy, sizeof(policy));
		pthread_mutex_unlock(&a->mu);

		if (reopen)
			reopen_file(a);
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
		if (mono_ms() >= last_house + 1000) {
			last_house = mono_ms();
			housekeeping(a);
		}

		pthread_mutex_lock(&a->mu);
		publish(a);
		if (quitting && !a->head && a->out_off == a->out_len)
			break;
		if (quitting && ++tries > 20) {
			/* about 4 s: what the file still refuses is lost */
			uint64_t lines = 0;
			const char *p = a->out + a->out_off;

			while (p < a->out + a->out_len &&
			       (p = memchr(p, '\n',
					   (size_t)(a->out + a->out_len - p)))) {
				lines++;
				p++;
			}
			for (r = a->head; r; r = r->next)
				lines++;
			a->lost += lines;
			log_warnx("audit log: %" PRIu64
				  " record(s) not written "
				  "at the stop: %s",
				  lines, strerror(a->last_errno));
			break;
		}
	}
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
		if (a->fd >= 0 && a->unsynced)
			fdatasync(a->fd);
		save_head(a);
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
