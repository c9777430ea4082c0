/* A directory for files only skyfenced's own user (root, or that of
 * --user or the unit's User=) may change (the control socket, the runtime
 * state): a path in it cannot be swapped by another user. */
#ifndef SKYFENCE_SAFEDIR_H
#define SKYFENCE_SAFEDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Opens @dir (not a symbolic link). If missing, it is made with @mode,
 * owner the effective user and group @gid, whatever the umask; if it
 * exists, it must be the effective user's and writable by nobody else. @what names it in messages
 * ("control socket directory"), @holds what another user could replace
 * ("the socket"), @option the option that moves it ("--ctl"). Returns an
 * O_DIRECTORY descriptor, or -1 with a message naming the directory and
 * the fix in @err. */
int safedir_open(const char *dir, mode_t mode, gid_t gid, const char *what,
		 const char *holds, const char *option, char *err,
		 size_t errlen);
/* Before --user's change (as root): makes @dir, if missing, with @mode,
 * owner @uid and group @gid, for safedir_open as that user. An existing
 * one is left as it is. 0, or -1 with a message in @err. */
int safedir_make(const char *dir, mode_t mode, uid_t uid, gid_t gid, char *err,
		 size_t errlen);

#endif
