/* state.c - the running policy on disk: atomic save, trusted read
 * (state.h). */
#include "policy/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "policy/policy.h"

#include <openssl/evp.h>

#define HEADER "# skyfenced state 1 base-sha256 "

/* OpenSSL's SHA-256 rather than one of our own: a solved problem, and
 * libcrypto is on every Debian system. */
int state_digest(const void *data, size_t len, uint8_t out[STATE_DIGEST])
{
	unsigned n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 &&
			       n == STATE_DIGEST
		       ? 0
		       : -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int state_replace(int dfd, const char *name, const char *const *parts,
		  size_t n_parts, char *err, size_t errlen)
{
	char tmp[128];
	size_t i;
	int fd, e;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	/* a temporary file left by a crash is replaced, never followed */
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	e = fchmod(fd, 0600);
	for (i = 0; e == 0 && i < n_parts; i++)
		e = write_all(fd, parts[i], strlen(parts[i]));
	if (e < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		return -1;
	}
	if (close(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		snprintf(err, errlen, "%s: %s", name, strerror(e));
		return -1;
	}
	/* the rename itself on disk */
	if (fsync(dfd) < 0) {
		snprintf(err, errlen, "fsync of the directory: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int state_save(int dfd, const char *text, const uint8_t base[STATE_DIGEST],
	       char *err, size_t errlen)
{
	char head[sizeof(HEADER) + 2 * STATE_DIGEST + 2];
	const char *parts[2] = { head, text };
	size_t o;
	int i;

	o = (size_t)snprintf(head, sizeof(head), "%s", HEADER);
	for (i = 0; i < STATE_DIGEST; i++)
		o += (size_t)snprintf(head + o, sizeof(head) - o, "%02x",
				      base[i]);
	snprintf(head + o, sizeof(head) - o, "\n");
	return state_replace(dfd, STATE_FILE, parts, 2, err, errlen);
}

/* @name in @dfd opened for reading if it is skyfenced's own: a regular
 * file of this user, writable by nobody else. Returns the descriptor, or
 * -1 (errno ENOENT if there is none, else @err set). */
static int open_trusted(int dfd, const char *name, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = openat(dfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e != ENOENT)
			snprintf(err, errlen, "%s: %s", name, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s: not written by skyfenced (owner uid %ld, mode "
			 "%04o): not trusted",
			 name, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

ssize_t state_read_small(int dfd, const char *name, char *buf, size_t len,
			 char *err, size_t errlen)
{
	ssize_t n;
	int fd = open_trusted(dfd, name, err, errlen), e;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	e = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(e));
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	return n;
}

static int unhex(const char *s, uint8_t out[STATE_DIGEST])
{
	int i;

	for (i = 0; i < STATE_DIGEST; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdef", s[2 * i]) ||
		    !strchr("0123456789abcdef", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return s[2 * STATE_DIGEST] == '\n' ? 0 : -1;
}

char *state_read(int dfd, size_t *len, uint8_t base[STATE_DIGEST], char *err,
		 size_t errlen)
{
	char *text;
	int fd = open_trusted(dfd, STATE_FILE, err, errlen);

	if (fd < 0)
		return NULL;
	text = policy_read_fd(fd, STATE_FILE, len, err, errlen);
	close(fd);
	if (!text) {
		errno = EINVAL;
		return NULL;
	}
	if (*len < sizeof(HEADER) - 1 + 2 * STATE_DIGEST + 1 ||
	    strncmp(text, HEADER, sizeof(HEADER) - 1) != 0 ||
	    unhex(text + sizeof(HEADER) - 1, base) != 0) {
		snprintf(err, errlen,
			 "%s: no '" HEADER "HEX' line first: not a state file",
			 STATE_FILE);
		free(text);
		errno = EINVAL;
		return NULL;
	}
	return text;
}
