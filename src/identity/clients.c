/* clients.c - the RADIUS clients file read and checked, and the secret
 * of a datagram's source (clients.h). The file is read whole and parsed
 * from memory, so that the fuzzer drives the parser without a file; the
 * copies that held secrets are wiped. */
#include "identity/clients.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "core/lpm.h"
#include "core/pkt.h"

/* a bound on the tries' memory: a /128 costs up to 128 nodes */
#define CLIENTS_MAX 65536
#define ADDR_MAX 63 /* longer than any "ADDRESS/PREFIX" */

struct client {
	uint8_t secret[RADIUS_SECRET_MAX];
	uint8_t len;
	uint32_t line;
};

struct radius_clients {
	struct lpm *v4; /* 32-bit keys: an IPv4 prefix only holds IPv4 */
	struct lpm *v6;
	struct client *c;
	unsigned n, cap;
};

struct clients_reader {
	struct radius_clients *cl;
	const char *name;
	uint32_t line;
	unsigned errs;
	int nomem;
	char *err;
	size_t errlen;
};

void radius_clients_free(struct radius_clients *c)
{
	if (!c)
		return;
	if (c->c) {
		OPENSSL_cleanse(c->c, c->cap * sizeof(*c->c));
		free(c->c);
	}
	lpm_destroy(c->v4);
	lpm_destroy(c->v6);
	free(c);
}

unsigned radius_clients_count(const struct radius_clients *c)
{
	return c->n;
}

const uint8_t *radius_clients_secret(const struct radius_clients *c,
				     const uint8_t addr[16], size_t *len)
{
	int32_t i;

	/* a dual-stack socket gives IPv4 sources as ::ffff:a.b.c.d */
	if (pkt_addr_is_v4(addr))
		i = lpm_lookup(c->v4, addr + 12);
	else
		i = lpm_lookup(c->v6, addr);
	if (i < 0)
		return NULL;
	if (len)
		*len = c->c[i].len;
	return c->c[i].secret;
}

/* a CR too: a file written with CRLF line ends reads the same */
static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* the first error is kept whole in @err; the others are counted */
static void report(struct clients_reader *rd, const char *msg)
{
	if (rd->errs++ == 0)
		snprintf(rd->err, rd->errlen, "%s:%u: %s", rd->name, rd->line,
			 msg);
}

/* one more slot; realloc() would leave secrets behind in freed memory */
static int grow(struct radius_clients *cl)
{
	unsigned cap = cl->cap ? 2 * cl->cap : 16;
	struct client *c;

	if (cl->n < cl->cap)
		return 0;
	c = calloc(cap, sizeof(*c));
	if (!c)
		return -1;
	if (cl->c) {
		memcpy(c, cl->c, cl->cap * sizeof(*c));
		OPENSSL_cleanse(cl->c, cl->cap * sizeof(*c));
		free(cl->c);
	}
	cl->c = c;
	cl->cap = cap;
	return 0;
}

/* @addr's prefix with @secret (@slen bytes, checked) as the next client */
static void add_client(struct clients_reader *rd, const char *addr,
		       const char *secret, size_t slen)
{
	struct radius_clients *cl = rd->cl;
	struct lpm_prefix pfx;
	char msg[256];
	int32_t old = -1;
	int v6, rc;

	if (lpm_prefix_parse(addr, &pfx, &v6, msg, sizeof(msg)) != 0) {
		report(rd, msg);
		return;
	}
	if (cl->n == CLIENTS_MAX) {
		snprintf(msg, sizeof(msg), "more than %d clients", CLIENTS_MAX);
		report(rd, msg);
		return;
	}
	if (grow(cl) != 0) {
		rd->nomem = 1;
		return;
	}
	if (v6)
		rc = lpm_insert(cl->v6, pfx.addr, pfx.plen, (int32_t)cl->n,
				&old);
	else
		rc = lpm_insert(cl->v4, pfx.addr + 12, pfx.plen - 96u,
				(int32_t)cl->n, &old);
	if (rc == -EEXIST) {
		snprintf(msg, sizeof(msg), "%s given twice (first on line %u)",
			 addr, old >= 0 ? cl->c[old].line : 0);
		report(rd, msg);
		return;
	}
	if (rc != 0) {
		rd->nomem = 1;
		return;
	}
	memcpy(cl->c[cl->n].secret, secret, slen);
	cl->c[cl->n].len = (uint8_t)slen;
	cl->c[cl->n].line = rd->line;
	cl->n++;
}

/* The line @s of @n bytes (no newline): a client, a comment, blank, or
 * reported. */
static void parse_line(struct clients_reader *rd, const char *s, size_t n)
{
	char addr[ADDR_MAX + 1];
	size_t o, a, alen, sec, slen, i;

	if (memchr(s, '\0', n)) {
		report(rd, "NUL byte in the line");
		return;
	}
	/* the line is not NUL-terminated: every scan stops at @n */
	for (o = 0; o < n && blank(s[o]); o++)
		;
	if (o == n || s[o] == '#')
		return;
	for (a = o; o < n && !blank(s[o]); o++)
		;
	alen = o - a;
	for (; o < n && blank(s[o]); o++)
		;
	for (sec = o; o < n && !blank(s[o]); o++)
		;
	slen = o - sec;
	for (; o < n && blank(s[o]); o++)
		;
	if (alen > ADDR_MAX) {
		report(rd, "invalid address (too long)");
		return;
	}
	memcpy(addr, s + a, alen);
	addr[alen] = '\0';
	if (slen == 0) {
		char msg[ADDR_MAX + 64];

		snprintf(msg, sizeof(msg), "'%s' has no secret", addr);
		report(rd, msg);
		return;
	}
	if (o < n) {
		report(rd, "a third field: a secret may not hold blanks");
		return;
	}
	if (slen > RADIUS_SECRET_MAX) {
		report(rd, "secret longer than 128 bytes");
		return;
	}
	for (i = 0; i < slen; i++) {
		if ((unsigned char)s[sec + i] < 0x20 || s[sec + i] == 0x7f) {
			report(rd, "control character in the secret");
			return;
		}
	}
	add_client(rd, addr, s + sec, slen);
}

struct radius_clients *radius_clients_parse(const char *text, size_t len,
					    const char *name, char *err,
					    size_t errlen)
{
	struct clients_reader rd = { .name = name,
				     .err = err,
				     .errlen = errlen };
	size_t o = 0;

	if (len > RADIUS_CLIENTS_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
			 RADIUS_CLIENTS_MAX_FILE);
		return NULL;
	}
	rd.cl = calloc(1, sizeof(*rd.cl));
	if (!rd.cl || !(rd.cl->v4 = lpm_create(32)) ||
	    !(rd.cl->v6 = lpm_create(128)))
		goto nomem;
	while (o < len && !rd.nomem) {
		const char *nl = memchr(text + o, '\n', len - o);
		size_t n = nl ? (size_t)(nl - (text + o)) : len - o;

		rd.line++;
		parse_line(&rd, text + o, n);
		o += n + 1;
	}
	if (rd.nomem)
		goto nomem;
	if (rd.errs > 1) {
		size_t used = strnlen(err, errlen);

		if (used < errlen)
			snprintf(err + used, errlen - used,
				 " (and %u more errors)", rd.errs - 1);
	}
	if (!rd.errs && rd.cl->n == 0) {
		snprintf(err, errlen, "%s: no clients", name);
		rd.errs = 1;
	}
	if (rd.errs) {
		radius_clients_free(rd.cl);
		return NULL;
	}
	return rd.cl;
nomem:
	snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
	radius_clients_free(rd.cl);
	return NULL;
}

/* @fd's whole text, when it is a file fit to hold secrets; NULL with the
 * message in @err */
static char *read_secret_file(int fd, const char *path, size_t *len, char *err,
			      size_t errlen)
{
	struct stat st;
	size_t n = 0, size;
	char *buf;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* no read that could block (a FIFO) or never end (a device) */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	/* another user could have written the secrets of his choice */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: owned by uid %u: must be root's or the reader's",
			 path, (unsigned)st.st_uid);
		return NULL;
	}
	if (st.st_mode & 07777 & ~(mode_t)0640) {
		snprintf(
			err, errlen,
			"%s: mode %04o: it holds secrets: no one but its owner may write it, no other may read it (chmod 0600, or 0640)",
			path, (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	if (st.st_size > (off_t)RADIUS_CLIENTS_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes", path,
			 RADIUS_CLIENTS_MAX_FILE);
		return NULL;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	/* one byte more than its size says whether it grew meanwhile */
	while (n < size + 1) {
		ssize_t r = read(fd, buf + n, size + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > size) {
		snprintf(err, errlen, "%s: changed while it was read", path);
		goto fail;
	}
	*len = n;
	return buf;
fail:
	OPENSSL_cleanse(buf, size + 1);
	free(buf);
	return NULL;
}

struct radius_clients *radius_clients_load(const char *path, char *err,
					   size_t errlen)
{
	struct radius_clients *c;
	size_t len = 0;
	char *text;
	int fd;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == ELOOP
				 ? "a symbolic link: give the file itself"
				 : strerror(errno));
		return NULL;
	}
	text = read_secret_file(fd, path, &len, err, errlen);
	close(fd);
	if (!text)
		return NULL;
	c = radius_clients_parse(text, len, path, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	return c;
}
