/* safedir.c - directories only skyfenced's own user may change
 * (safedir.h). */
#include "sys/safedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int safedir_open(const char *dir, mode_t mode, gid_t gid, const char *what,
		 const char *holds, const char *option, char *err,
		 size_t errlen)
{
	struct stat st;
	int dfd;

	if (mkdir(dir, 0700) == 0) {
		/* made here: its mode and group set through the descriptor,
		 * so nothing put in its place meanwhile is changed */
		dfd = open(dir,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0 || fchown(dfd, geteuid(), gid) < 0 ||
		    fchmod(dfd, mode) < 0) {
			snprintf(err, errlen, "%s %s: %s", what, dir,
				 strerror(errno));
			if (dfd >= 0)
				close(dfd);
			return -1;
		}
		return dfd;
	}
	if (errno != EEXIST) {
		snprintf(err, errlen, "%s %s: %s", what, dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s%s", what, dir, strerror(errno),
			 errno == ELOOP ? " (a symbolic link: give the real "
					  "directory)"
					: "");
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s %s is %s (owner uid %ld, mode %04o): %s%s; make "
			 "it skyfenced's and closed to others (chown %ld %s; "
			 "chmod %04o %s) or give %s a path in such a directory",
			 what, dir,
			 st.st_uid != geteuid()
				 ? "not owned by skyfenced's user"
				 : "writable by group or others",
			 (long)st.st_uid, (unsigned)(st.st_mode & 07777),
			 st.st_uid != geteuid()
				 ? "skyfenced could not write in it, or "
				   "another user could replace "
				 : "another user could replace ",
			 holds, (long)geteuid(), dir, (unsigned)mode, dir,
			 option);
		close(dfd);
		return -1;
	}
	return dfd;
}

int safedir_make(const char *dir, mode_t mode, uid_t uid, gid_t gid, char *err,
		 size_t errlen)
{
	int dfd;

	if (mkdir(dir, 0700) != 0) {
		if (errno == EEXIST)
			return 0; /* safedir_open, as that user, checks it */
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fchown(dfd, uid, gid) < 0 || fchmod(dfd, mode) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}
