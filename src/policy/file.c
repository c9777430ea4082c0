/* policy_file.c - policy files read whole and checked first (a regular
 * file of at most POLICY_MAX_FILE bytes, or refused before any read), and
 * parsed (policy.h). The file I/O of the policy language, kept out of the
 * pure parser. */
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

char *policy_read_fd(int fd, const char *name, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t n = 0;
	char *buf;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	/* a FIFO, a device or a directory is refused before any read: no
	 * read that could block, no endless /dev/zero */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return NULL;
	}
	if (st.st_size > (off_t)POLICY_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
			 POLICY_MAX_FILE);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 2);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
		return NULL;
	}
	/* the file may grow while read: one byte more than its size says
	 * whether it did */
	while (n < (size_t)st.st_size + 1) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > (size_t)st.st_size) {
		snprintf(err, errlen, "%s: changed while it was read", name);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

char *policy_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *t;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	t = policy_read_fd(fd, path, len, err, errlen);
	close(fd);
	return t;
}

char *policy_read_feed(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				    O_NOFOLLOW);
	char *t;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == ELOOP ? "a symbolic link (refused: the "
					  "feed's file is another user's)"
					: strerror(errno));
		return NULL;
	}
	t = policy_read_fd(fd, path, len, err, errlen);
	close(fd);
	return t;
}

struct policy *policy_load_file(const char *path,
				const struct policy_names *names,
				void (*on_error)(void *ctx, const char *msg),
				void *ctx, unsigned *nerr)
{
	char err[512];
	size_t len;
	char *text = policy_read_file(path, &len, err, sizeof(err));
	struct policy *p;

	if (!text) {
		if (on_error)
			on_error(ctx, err);
		*nerr = 1;
		return NULL;
	}
	p = policy_parse_text(path, text, len, names, on_error, ctx, nerr);
	free(text);
	return p;
}
