/* The running policy on disk, kill switch included, so that a restart or
 * a kill -9 does not undo runtime changes: one file, STATE_FILE in the
 * state directory, replaced atomically (written to a temporary file,
 * fsync, rename, fsync of the directory). It is a policy file with one
 * header line naming the SHA-256 of the --policy file it was derived from:
 *
 *   # skyfenced state 1 base-sha256 HEX
 */
#ifndef SKYFENCE_STATE_H
#define SKYFENCE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATE_FILE "running.policy"
#define STATE_DIGEST 32

/* SHA-256 of @len bytes (OpenSSL). Returns 0, or -1. */
int state_digest(const void *data, size_t len, uint8_t out[STATE_DIGEST]);

/* Replaces the state file in directory @dfd by @text, derived from the
 * policy file of digest @base. Mode 0600. Returns 0, or -1 with @err set
 * (the old file then stays whole). */
int state_save(int dfd, const char *text, const uint8_t base[STATE_DIGEST],
	       char *err, size_t errlen);

/* Replaces file @name of directory @dfd by the strings @parts, one after
 * the other, atomically as above. Mode 0600. Returns 0, or -1 with @err
 * set (the old file then stays whole). */
int state_replace(int dfd, const char *name, const char *const *parts,
		  size_t n_parts, char *err, size_t errlen);
/* Reads at most @len - 1 bytes of file @name of @dfd into @buf (NUL
 * ended), if the file is skyfenced's own (as state_read trusts). Returns
 * the length, or -1 with errno ENOENT (none) or @err set. */
ssize_t state_read_small(int dfd, const char *name, char *buf, size_t len,
			 char *err, size_t errlen);

/* Reads the state file of directory @dfd. Returns its text (the header
 * line included: it is a comment) with *len, and the base digest; NULL
 * with errno ENOENT if there is none, or NULL with @err set if it cannot
 * be trusted or read (not a regular file, not root's, writable by others,
 * no header, too large). */
char *state_read(int dfd, size_t *len, uint8_t base[STATE_DIGEST], char *err,
		 size_t errlen);

#endif
