/* Loading a policy together with the classifier whose names it uses: the
 * policy may name an nDPI protocols file (options { signatures ...; }) that
 * defines protocol names the rules refer to, so the file is read once and
 * its text looked at twice: for the signatures option alone, then parsed
 * whole against the classifier loaded with it. Nothing is half-loaded: on
 * error both outputs stay NULL. */
#ifndef SKYFENCE_LOADER_H
#define SKYFENCE_LOADER_H

#include "classify/classify.h"
#include "policy/policy.h"

#include <stdint.h>

/* Returns 0, or the number of errors, each passed to @on_error as
 * "FILE:LINE:COL: message" (or "FILE: message"). If @digest is not NULL,
 * it gets the SHA-256 of the text read (STATE_DIGEST bytes). */
unsigned loader_load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     uint8_t *digest,
		     void (*on_error)(void *ctx, const char *msg), void *ctx);
/* The same for skyfenced's start: a temporary rule in the file that has
 * expired since it was written is a note, not an error (a gateway does
 * not stay down for a rule that no longer applies; --check-policy,
 * SIGHUP and policy load refuse it). */
unsigned loader_load_start(const char *policy_path, const struct cls_opts *co,
			   struct classifier **cls, struct policy **pol,
			   uint8_t *digest,
			   void (*on_error)(void *ctx, const char *msg),
			   void *ctx);

/* Names resolved through @c; the address-list file a policy names is
 * read with it (policy_names.load_addrsig). The policy is checked at the
 * schedule's clock (policy_names.now: the wall clock plus the offset
 * set below), as a new text (policy_names.internal 0). */
void loader_names(struct classifier *c, struct policy_names *n);
/* skyfenced's --clock-offset (tests only): every policy loader_names()
 * serves from now on is checked at the wall clock plus @s seconds. Call
 * once, at start, before other threads parse. */
void loader_set_clock_offset(int64_t s);

/* A policy parsed from a control client's text (skyfencectl policy load,
 * check): it may name no other address-list file than @running's, which
 * is then read for it (skyfenced opens no path a client chose). NULL and
 * the errors to @on_error, their count in *nerr, otherwise. */
struct policy *
loader_client_policy(struct classifier *c, const struct policy *running,
		     const char *name, const char *text, size_t len,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     unsigned *nerr);
/* The same for the running policy's own text with a change written in
 * (a runtime change): checked as such (policy_names.internal), so a
 * temporary rule that expired is kept with a note, not refused. */
struct policy *
loader_running_policy(struct classifier *c, const struct policy *running,
		      const char *name, const char *text, size_t len,
		      void (*on_error)(void *ctx, const char *msg), void *ctx,
		      unsigned *nerr);

#endif
