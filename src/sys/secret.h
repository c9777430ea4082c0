/* A secret's file (secret.c): a password given as a file name, so that it
 * is on no command line, read once at start. */
#ifndef SKYFENCE_SECRET_H
#define SKYFENCE_SECRET_H

#include <stddef.h>

/* The first line of @path (its newline not included) in *@out (malloc'd;
 * the caller wipes and frees it). The file is a regular one, not a link,
 * root's or this user's, mode 0640 at most; the line is 1 to @max bytes
 * without a NUL. Returns 0, or -1 with a message naming @what and @path
 * in @err. */
int secret_read_line(const char *path, const char *what, size_t max, char **out,
		     char *err, size_t errlen);

#endif
