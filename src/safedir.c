/* safedir.c - directories only root may change (safedir.h). */
#include "skyfence/safedir.h"

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
		if (dfd < 0 || fchown(dfd, 0, gid) < 0 ||
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
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s %s is %s (owner uid %ld, mode %04o): another user "
			 "could replace %s; make it root's and closed to "
			 "others (chown root %s; chmod %04o %s) or give %s a "
			 "path in such a directory",
			 what, dir,
			 st.st_uid != 0 ? "not owned by root"
					: "writable by group or others",
			 (long)st.st_uid, (unsigned)(st.st_mode & 07777), holds,
			 dir, (unsigned)mode, dir, option);
		close(dfd);
		return -1;
	}
	return dfd;
}
