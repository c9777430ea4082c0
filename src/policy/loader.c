/* loader.c - a policy and the classifier whose names it uses, loaded
 * together, nothing half-loaded (loader.h). */
#include "policy/loader.h"
#include "policy/addrsig.h"
#include "policy/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int names_proto_id(void *ctx, const char *name)
{
	return classifier_proto_id(ctx, name);
}

static int names_category_id(void *ctx, const char *name)
{
	return classifier_category_id(ctx, name);
}

static const char *names_proto_name(void *ctx, int id)
{
	return classifier_proto_name(ctx, (uint16_t)id);
}

/* The address list @path and the feed's file @feed ("" none), read as
 * one list. The feed's file not written yet is no error: the importer
 * may not have run (runtime_log_notes says so). */
static struct addrsig *names_addrsig(void *ctx, const char *path,
				     const char *feed,
				     void (*on_error)(void *, const char *),
				     void *ectx, unsigned *nerr)
{
	struct addrsig_file f[2];
	struct policy_names n;
	char err[512];
	struct addrsig *s = NULL;
	unsigned nf = 0, i;
	char *text[2] = { NULL, NULL };
	size_t len;

	*nerr = 0;
	if (path[0]) {
		text[nf] = policy_read_file(path, &len, err, sizeof(err));
		if (!text[nf])
			goto fail;
		f[nf++] = (struct addrsig_file){ path, text[0], len };
	}
	if (feed[0] &&
	    faccessat(AT_FDCWD, feed, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		text[nf] = policy_read_feed(feed, &len, err, sizeof(err));
		if (!text[nf])
			goto fail;
		f[nf] = (struct addrsig_file){ feed, text[nf], len };
		nf++;
	}
	loader_names(ctx, &n);
	s = addrsig_parse_files(f, nf, &n, on_error, ectx, nerr);
	if (s && nf && feed[0] && f[nf - 1].name == feed) {
		s->feed.read = 1;
		if (state_digest(f[nf - 1].text, f[nf - 1].len,
				 s->feed.sha256) != 0) {
			addrsig_free(s);
			s = NULL;
			snprintf(err, sizeof(err),
				 "%s: SHA-256 (OpenSSL) failed", feed);
			if (on_error)
				on_error(ectx, err);
			*nerr = 1;
		}
	}
	for (i = 0; i < nf; i++)
		free(text[i]);
	return s;
fail:
	if (on_error)
		on_error(ectx, err);
	*nerr = 1;
	free(text[0]);
	return NULL;
}

/* skyfenced's --clock-offset (tests only): set once, at start, before
 * the threads that parse policies run */
static int64_t clock_offset;

void loader_set_clock_offset(int64_t s)
{
	clock_offset = s;
}

void loader_names(struct classifier *c, struct policy_names *n)
{
	memset(n, 0, sizeof(*n));
	n->now = clock_offset ? (int64_t)time(NULL) + clock_offset : 0;
	n->proto_id = names_proto_id;
	n->category_id = names_category_id;
	n->proto_name = names_proto_name;
	n->load_addrsig = names_addrsig;
	n->n_protos = classifier_proto_count(c);
	n->ctx = c;
}

static unsigned load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     uint8_t *digest, int internal,
		     void (*on_error)(void *ctx, const char *msg), void *ctx)
{
	struct policy_names names;
	struct cls_opts o = *co;
	struct classifier *c;
	struct policy *p;
	char err[512], sig[sizeof(p->signatures)];
	unsigned nerr;
	size_t len;
	char *text;

	*cls = NULL;
	*pol = NULL;
	/* Read once: both passes see the same text. */
	text = policy_read_file(policy_path, &len, err, sizeof(err));
	if (!text) {
		if (on_error)
			on_error(ctx, err);
		return 1;
	}
	if (digest && state_digest(text, len, digest) != 0) {
		free(text);
		if (on_error)
			on_error(ctx, "SHA-256 (OpenSSL) failed");
		return 1;
	}
	/* The signatures file is named in the options; the rules' names
	 * can only be resolved once it is loaded. */
	policy_text_signatures(policy_path, text, len, sig, sizeof(sig));
	o.protos_file = sig[0] ? sig : NULL;
	c = classifier_open(&o, err, sizeof(err));
	if (!c) {
		free(text);
		if (on_error)
			on_error(ctx, err);
		return 1;
	}
	loader_names(c, &names);
	names.internal = internal;
	p = policy_parse_text(policy_path, text, len, &names, on_error, ctx,
			      &nerr);
	free(text);
	if (!p) {
		classifier_close(c);
		return nerr ? nerr : 1;
	}
	*cls = c;
	*pol = p;
	return 0;
}

unsigned loader_load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     uint8_t *digest,
		     void (*on_error)(void *ctx, const char *msg), void *ctx)
{
	return load(policy_path, co, cls, pol, digest, 0, on_error, ctx);
}

unsigned loader_load_start(const char *policy_path, const struct cls_opts *co,
			   struct classifier **cls, struct policy **pol,
			   uint8_t *digest,
			   void (*on_error)(void *ctx, const char *msg),
			   void *ctx)
{
	return load(policy_path, co, cls, pol, digest, 1, on_error, ctx);
}

/* loader_client_policy, the text checked as the running policy's own
 * (@internal, policy_names.internal) or not. */
static struct policy *
client_policy(struct classifier *c, const struct policy *running,
	      const char *name, const char *text, size_t len, int internal,
	      void (*on_error)(void *ctx, const char *msg), void *ctx,
	      unsigned *nerr)
{
	struct policy_names n;
	struct policy *p;
	char msg[1024];

	loader_names(c, &n);
	n.internal = internal;
	n.load_addrsig = NULL;
	p = policy_parse_text(name, text, len, &n, on_error, ctx, nerr);
	if (!p)
		return NULL;
	if (strcmp(p->feed, running->feed) != 0) {
		snprintf(
			msg, sizeof(msg),
			"%s: names the feed file '%s', the running policy '%s': only the --policy file chooses it (skyfenced opens no path for a client)",
			name, p->feed, running->feed);
		if (on_error)
			on_error(ctx, msg);
		*nerr = 1;
		policy_free(p);
		return NULL;
	}
	if (strcmp(p->address_list, running->address_list) != 0) {
		snprintf(
			msg, sizeof(msg),
			"%s: names the address-list file '%s', the running policy '%s': only the --policy file chooses it (skyfenced opens no path for a client)",
			name, p->address_list, running->address_list);
		if (on_error)
			on_error(ctx, msg);
		*nerr = 1;
		policy_free(p);
		return NULL;
	}
	if (p->address_list[0] || p->feed[0]) {
		p->addrsig = names_addrsig(c, p->address_list, p->feed,
					   on_error, ctx, nerr);
		if (!p->addrsig) {
			policy_free(p);
			return NULL;
		}
		p->addrsig_free = addrsig_free;
	}
	return p;
}

struct policy *
loader_client_policy(struct classifier *c, const struct policy *running,
		     const char *name, const char *text, size_t len,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     unsigned *nerr)
{
	return client_policy(c, running, name, text, len, 0, on_error, ctx,
			     nerr);
}

struct policy *
loader_running_policy(struct classifier *c, const struct policy *running,
		      const char *name, const char *text, size_t len,
		      void (*on_error)(void *ctx, const char *msg), void *ctx,
		      unsigned *nerr)
{
	return client_policy(c, running, name, text, len, 1, on_error, ctx,
			     nerr);
}
