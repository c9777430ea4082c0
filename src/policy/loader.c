/* loader.c - a policy and the classifier whose names it uses, loaded
 * together, nothing half-loaded (loader.h). */
#include "policy/loader.h"
#include "policy/addrsig.h"
#include "policy/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct addrsig *names_addrsig(void *ctx, const char *path,
				     void (*on_error)(void *, const char *),
				     void *ectx, unsigned *nerr)
{
	struct policy_names n;
	char err[512];
	struct addrsig *s;
	size_t len;
	char *text = policy_read_file(path, &len, err, sizeof(err));

	if (!text) {
		if (on_error)
			on_error(ectx, err);
		*nerr = 1;
		return NULL;
	}
	loader_names(ctx, &n);
	s = addrsig_parse(path, text, len, &n, on_error, ectx, nerr);
	free(text);
	return s;
}

void loader_names(struct classifier *c, struct policy_names *n)
{
	memset(n, 0, sizeof(*n));
	n->proto_id = names_proto_id;
	n->category_id = names_category_id;
	n->proto_name = names_proto_name;
	n->load_addrsig = names_addrsig;
	n->n_protos = classifier_proto_count(c);
	n->ctx = c;
}

unsigned loader_load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     uint8_t *digest,
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

struct policy *
loader_client_policy(struct classifier *c, const struct policy *running,
		     const char *name, const char *text, size_t len,
		     void (*on_error)(void *ctx, const char *msg), void *ctx,
		     unsigned *nerr)
{
	struct policy_names n;
	struct policy *p;
	char msg[1024];

	loader_names(c, &n);
	n.load_addrsig = NULL;
	p = policy_parse_text(name, text, len, &n, on_error, ctx, nerr);
	if (!p)
		return NULL;
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
	if (p->address_list[0]) {
		p->addrsig =
			names_addrsig(c, p->address_list, on_error, ctx, nerr);
		if (!p->addrsig) {
			policy_free(p);
			return NULL;
		}
		p->addrsig_free = addrsig_free;
	}
	return p;
}
