/* secret.c - a password's file (secret.h). */
#include "sys/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_READ_MAX 4096

int secret_read_line(const char *path, const char *what, size_t max, char **out,
		     char *err, size_t errlen)
{
	char buf[SECRET_READ_MAX + 1];
	struct stat st;
	ssize_t n = -1;
	size_t len;
	int fd;

	*out = NULL;
	if (max > SECRET_READ_MAX - 1)
		max = SECRET_READ_MAX - 1;
	fd = open(path,
		  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s%s", what, path,
			 strerror(errno),
			 errno == EACCES ? " (it is read as skyfenced's user: "
					   "chown it to that user, chmod 0600)"
					 : "");
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
	} else if (st.st_mode & 07777 & ~0640u) {
		snprintf(
			err, errlen,
			"%s %s: mode %04o: others may read or change it (chmod 0600)",
			what, path, (unsigned)(st.st_mode & 07777));
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s %s: owned by uid %u, neither root nor this user",
			 what, path, (unsigned)st.st_uid);
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	/* an empty password is refused, never taken as "none" */
	if (len == 0 || len > max || (len < (size_t)n && !buf[len]))
		snprintf(err, errlen, "%s %s: its first line %s", what, path,
			 len == 0    ? "is empty"
			 : len > max ? "is too long"
				     : "has a NUL byte");
	else if (!(*out = strndup(buf, len)))
		snprintf(err, errlen, "no memory");
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -1;
}
