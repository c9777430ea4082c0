/* Loading a policy together with the classifier whose names it uses: the
 * policy may name an nDPI protocols file (options { signatures ...; }) that
 * defines protocol names the rules refer to, so the file is read once and
 * its text looked at twice: for the signatures option alone, then parsed
 * whole against the classifier loaded with it. Nothing is half-loaded: on
 * error both outputs stay NULL. */
#ifndef SKYFENCE_LOADER_H
#define SKYFENCE_LOADER_H

#include "skyfence/classify.h"
#include "skyfence/policy.h"

#include <stdint.h>

/* Returns 0, or the number of errors, each passed to @on_error as
 * "FILE:LINE:COL: message" (or "FILE: message"). If @digest is not NULL,
 * it gets the SHA-256 of the text read (STATE_DIGEST bytes). */
unsigned loader_load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     uint8_t *digest,
		     void (*on_error)(void *ctx, const char *msg), void *ctx);

/* Names resolved through @c. */
void loader_names(struct classifier *c, struct policy_names *n);

#endif
