/* reportio.c - the audit files read for a report (report.h): plain or
 * gzip through zlib (gzread passes a plain file through as it is), line
 * by line, in the order the chain was written. */
#define _GNU_SOURCE /* memrchr */
#include "report/report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LINE_CAP (1u << 20) /* a longer line is cut: no record is */

/* Where a file stands in logrotate's naming of @base's files: the
 * current file 0; "BASE.N[.gz]" N (larger is older); "BASE-SUFFIX[.gz]"
 * (dateext) by its suffix. */
struct rot {
	const char *path;
	size_t base_len; /* of path, up to the suffix */
	int kind;	 /* 0 current, 1 numbered, 2 dated */
	unsigned long num;
	const char *date; /* dated: the suffix */
	size_t date_len;
	int given; /* the order given */
};

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* @p's name split as logrotate makes it, against the base of the first
 * file: *@base_len is what the names share. */
static void rot_of(struct rot *f, const char *p)
{
	size_t n = strlen(p);
	const char *dot, *dash;

	memset(f, 0, sizeof(*f));
	f->path = p;
	f->base_len = n;
	if (n > 3 && strcmp(p + n - 3, ".gz") == 0)
		n -= 3;
	dot = memrchr(p, '.', n);
	if (dot && all_digits(dot + 1, (size_t)(p + n - dot - 1)) &&
	    (size_t)(p + n - dot - 1) < 10) {
		f->kind = 1;
		f->num = strtoul(dot + 1, NULL, 10);
		f->base_len = (size_t)(dot - p);
		return;
	}
	dash = memrchr(p, '-', n);
	if (dash && all_digits(dash + 1, (size_t)(p + n - dash - 1)) &&
	    p + n - dash - 1 >= 8) {
		f->kind = 2;
		f->date = dash + 1;
		f->date_len = (size_t)(p + n - dash - 1);
		f->base_len = (size_t)(dash - p);
	}
}

static int cmp_rot(const void *a, const void *b)
{
	const struct rot *x = a, *y = b;
	int rx = x->kind == 1	? 0
		 : x->kind == 2 ? 1
				: 2,
	    ry = y->kind == 1	? 0
		 : y->kind == 2 ? 1
				: 2,
	    c;

	/* numbered (oldest, the largest number, first), dated, current */
	if (rx != ry)
		return rx - ry;
	if (x->kind == 1 && x->num != y->num)
		return x->num < y->num ? 1 : -1;
	if (x->kind == 2) {
		if (x->date_len != y->date_len)
			return x->date_len < y->date_len ? -1 : 1;
		c = memcmp(x->date, y->date, x->date_len);
		if (c)
			return c;
	}
	return x->given - y->given;
}

/* @files in the chain's order into @out: logrotate's names of one file
 * oldest first, when every name is one of them; else as given. */
static void order_files(int n, char **files, const char **out)
{
	struct rot *f = calloc((size_t)n, sizeof(*f));
	int i, ok = f != NULL, current = 0;

	for (i = 0; ok && i < n; i++) {
		rot_of(&f[i], files[i]);
		f[i].given = i;
		current += f[i].kind == 0;
		if (strcmp(files[i], "-") == 0 ||
		    f[i].base_len != f[0].base_len ||
		    strncmp(files[i], files[0], f[0].base_len) != 0)
			ok = 0;
	}
	if (current > 1)
		ok = 0;
	if (ok)
		qsort(f, (size_t)n, sizeof(*f), cmp_rot);
	for (i = 0; i < n; i++)
		out[i] = ok ? f[i].path : files[i];
	free(f);
}

/* A file's bytes in blocks (gzread: gzip or plain), cut at newlines
 * with memchr: a NUL byte is a byte of its line, which then is no record
 * (gzgets' C strings would hide what follows it). */
#define BLOCK (1u << 18)
struct lines {
	gzFile g;
	char *blk;
	size_t pos, len;
};

/* Appends @n bytes to the line, up to LINE_CAP. -1: no memory. */
static int line_add(char **buf, size_t *cap, size_t *len, const char *p,
		    size_t n)
{
	size_t take = *len < LINE_CAP ? LINE_CAP - *len : 0;

	if (n < take)
		take = n;
	if (*len + take + 1 > *cap) {
		size_t nc = (*len + take + 1) * 2;
		char *b;

		if (nc > LINE_CAP + 1)
			nc = LINE_CAP + 1;
		b = realloc(*buf, nc);
		if (!b)
			return -1;
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, p, take);
	*len += take;
	(*buf)[*len] = '\0';
	return 0;
}

/* Reads one line into *@buf (grown up to LINE_CAP; a longer line keeps
 * its first LINE_CAP bytes). Returns its length with *@nl whether it
 * ended with a newline (removed), 0 at the end, -1 on a read error or a
 * damaged gzip stream, -2 out of memory. */
static long read_line(struct lines *L, char **buf, size_t *cap, int *nl)
{
	size_t len = 0;
	int e;

	*nl = 0;
	for (;;) {
		const char *p, *q;
		size_t avail;

		if (L->pos == L->len) {
			int n = gzread(L->g, L->blk, BLOCK);

			if (n <= 0)
				break;
			L->pos = 0;
			L->len = (size_t)n;
		}
		p = L->blk + L->pos;
		avail = L->len - L->pos;
		q = memchr(p, '\n', avail);
		if (line_add(buf, cap, &len, p, q ? (size_t)(q - p) : avail))
			return -2;
		L->pos += q ? (size_t)(q - p) + 1 : avail;
		if (q) {
			*nl = 1;
			return (long)len;
		}
	}
	gzerror(L->g, &e);
	if (len)
		return (long)len; /* the error, if any, at the next call */
	return e == Z_OK || e == Z_STREAM_END ? 0 : -1;
}

/* Whether @path, a rotated file, was last written before the period:
 * none of its records can be in it (logrotate and gzip keep the time of
 * the last write). The last file is always read. */
static int before_period(struct report *r, const char *path, int last)
{
	int64_t since = report_options(r)->since_ms;
	struct stat st;

	if (last || since == INT64_MIN || !strcmp(path, "-") ||
	    stat(path, &st) != 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000 +
		       st.st_mtim.tv_nsec / 1000000 <
	       since;
}

static int read_file(struct report *r, const char *path, int last, char **buf,
		     size_t *cap, char *err, size_t errlen)
{
	int fd, nl, e;
	gzFile g;
	struct lines L;
	unsigned long ln = 0;
	long n;

	if (before_period(r, path, last)) {
		report_note_file(r, 1);
		return 0;
	}
	report_note_file(r, 0);
	fd = strcmp(path, "-") ? -1 : dup(STDIN_FILENO);
	g = fd >= 0 ? gzdopen(fd, "rb") : gzopen(path, "rbe");

	if (!g) {
		snprintf(err, errlen, "%s: %s", path,
			 errno ? strerror(errno) : "cannot be read");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	L.g = g;
	L.blk = malloc(BLOCK);
	L.pos = L.len = 0;
	if (!L.blk) {
		snprintf(err, errlen, "out of memory");
		gzclose(g);
		return -1;
	}
	while ((n = read_line(&L, buf, cap, &nl)) > 0 || (n == 0 && nl)) {
		ln++;
		/* a newline-less line is the last only if nothing follows,
		 * in this file or the next (as audit verify reads it) */
		if (report_line(r, path, ln, *buf, (size_t)n, nl || !last) !=
		    0) {
			snprintf(err, errlen, "%s:%lu: out of memory", path,
				 ln);
			free(L.blk);
			gzclose(g);
			return -1;
		}
	}
	free(L.blk);
	if (n == -2) {
		snprintf(err, errlen, "%s:%lu: out of memory", path, ln + 1);
		gzclose(g);
		return -1;
	}
	if (n < 0) {
		const char *why = gzerror(g, &e);

		if (e == Z_ERRNO) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			gzclose(g);
			return -1;
		}
		/* a gzip file cut short or damaged: what it held is summed,
		 * and the report says where it ends */
		report_note_break(r, path, why && *why ? why : "gzip: damaged");
	}
	gzclose(g);
	return 0;
}

int report_read(struct report *r, int n, char **files, char *err, size_t errlen)
{
	const char **order = calloc((size_t)n + 1, sizeof(*order));
	char *buf = NULL;
	size_t cap = 0;
	int i, rc = 0;

	if (!order) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	order_files(n, files, order);
	for (i = 0; i < n && rc == 0; i++)
		rc = read_file(r, order[i], i == n - 1, &buf, &cap, err,
			       errlen);
	free(buf);
	free(order);
	return rc;
}
