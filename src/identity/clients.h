/* The RADIUS clients file: which NAS may send accounting, and the shared
 * secret of each. One client a line:
 *
 *   ADDRESS[/PREFIX] SECRET
 *
 * IPv4 or IPv6, a prefix without host bits (lpm_prefix_parse); SECRET is
 * the second field, 1..RADIUS_SECRET_MAX bytes of anything but blanks and
 * control characters: a secret may not hold a space or a tab (a third
 * field is an error, not part of the secret), and blanks (and a CR) after
 * it are ignored. A line whose first non-blank is '#' is a comment; '#'
 * elsewhere is part of the secret. Blank lines are allowed. A datagram
 * is checked with the secret of the most specific prefix that holds its
 * source; an IPv6 prefix never holds an IPv4 source, even ::/0.
 *
 * The file is a secret: a regular file (not a symbolic link), root's or
 * the reader's, with no permission bit outside 0640 (0600 or 0640, so
 * that a group may read it). Secrets are wiped from memory when freed.
 */
#ifndef SKYFENCE_CLIENTS_H
#define SKYFENCE_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#define RADIUS_SECRET_MAX 128
#define RADIUS_CLIENTS_MAX_FILE (1u << 20)

struct radius_clients;

/* Reads the clients file @path. NULL, with "PATH: message" or
 * "PATH:LINE: message" in @err, when it cannot be opened, is a symbolic
 * link, not a regular file, of another user, has a mode bit outside 0640,
 * is over RADIUS_CLIENTS_MAX_FILE, has a line that cannot be read (the
 * first one, then how many more), gives the same prefix twice, or holds
 * no client. */
struct radius_clients *radius_clients_load(const char *path, char *err,
					   size_t errlen);

/* The parser behind radius_clients_load: the @len bytes of @text (NULs
 * allowed: refused) from the file @name (for messages). NULL with the
 * message in @err as above. */
struct radius_clients *radius_clients_parse(const char *text, size_t len,
					    const char *name, char *err,
					    size_t errlen);

/* The secret for a datagram from @addr (16 bytes, IPv4 as
 * ::ffff:a.b.c.d): that of the most specific prefix holding it, its
 * length in *@len (if not NULL); NULL if no prefix holds it. Valid until
 * radius_clients_free. */
const uint8_t *radius_clients_secret(const struct radius_clients *c,
				     const uint8_t addr[16], size_t *len);

unsigned radius_clients_count(const struct radius_clients *c);

/* Wipes the secrets and frees @c; NULL is allowed. */
void radius_clients_free(struct radius_clients *c);

#endif
