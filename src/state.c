/* state.c - the running policy on disk: atomic save, trusted read
 * (state.h). */
#include "skyfence/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "skyfence/policy.h"

#define TMP_FILE ".running.policy.tmp"
#define HEADER "# skyfenced state 1 base-sha256 "

/* OpenSSL's SHA-256 rather than one of our own: a solved problem, and
 * libcrypto is on every Debian system (the audit log will sign with it). */
int state_digest(const void *data, size_t len, uint8_t out[STATE_DIGEST])
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != STATE_DIGEST)
		return -1;
	return 0;
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

int state_save(int dfd, const char *text, const uint8_t base[STATE_DIGEST],
	       char *err, size_t errlen)
{
	char head[sizeof(HEADER) + 2 * STATE_DIGEST + 2];
	size_t o;
	int fd, i, e;

	o = (size_t)snprintf(head, sizeof(head), "%s", HEADER);
	for (i = 0; i < STATE_DIGEST; i++)
		o += (size_t)snprintf(head + o, sizeof(head) - o, "%02x",
				      base[i]);
	snprintf(head + o, sizeof(head) - o, "\n");
	/* a temporary file left by a crash is replaced, never followed */
	unlinkat(dfd, TMP_FILE, 0);
	fd = openat(dfd, TMP_FILE,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", TMP_FILE, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, head, strlen(head)) < 0 ||
	    write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlinkat(dfd, TMP_FILE, 0);
		snprintf(err, errlen, "%s: %s", TMP_FILE, strerror(e));
		return -1;
	}
	if (close(fd) < 0 || renameat(dfd, TMP_FILE, dfd, STATE_FILE) < 0) {
		e = errno;
		unlinkat(dfd, TMP_FILE, 0);
		snprintf(err, errlen, "%s: %s", STATE_FILE, strerror(e));
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
	struct stat st;
	char *text;
	int fd, e;

	fd = openat(dfd, STATE_FILE,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e != ENOENT)
			snprintf(err, errlen, "%s: %s", STATE_FILE,
				 strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s: not written by skyfenced (owner uid %ld, mode "
			 "%04o): not trusted",
			 STATE_FILE, (long)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		errno = EPERM;
		return NULL;
	}
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
