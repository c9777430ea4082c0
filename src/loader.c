#include "skyfence/loader.h"

#include <stdio.h>
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

void loader_names(struct classifier *c, struct policy_names *n)
{
	n->proto_id = names_proto_id;
	n->category_id = names_category_id;
	n->proto_name = names_proto_name;
	n->n_protos = classifier_proto_count(c);
	n->ctx = c;
}

/* First pass: any name is accepted, only the options matter. */
static int lenient_id(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 0;
}

unsigned loader_load(const char *policy_path, const struct cls_opts *co,
		     struct classifier **cls, struct policy **pol,
		     void (*on_error)(void *ctx, const char *msg), void *ctx)
{
	struct policy_names lenient = { lenient_id, lenient_id, NULL, 0, NULL };
	struct policy_names names;
	struct cls_opts o = *co;
	struct classifier *c;
	struct policy *p;
	char err[512], sig[sizeof(p->signatures)];
	unsigned nerr;

	*cls = NULL;
	*pol = NULL;
	/* Pass 1 reports nothing: pass 2 sees every error again, with the
	 * real names. */
	p = policy_load_file(policy_path, &lenient, NULL, NULL, &nerr);
	sig[0] = '\0';
	if (p)
		snprintf(sig, sizeof(sig), "%s", p->signatures);
	policy_free(p);
	o.protos_file = sig[0] ? sig : NULL;
	c = classifier_open(&o, err, sizeof(err));
	if (!c) {
		if (on_error)
			on_error(ctx, err);
		return 1;
	}
	loader_names(c, &names);
	p = policy_load_file(policy_path, &names, on_error, ctx, &nerr);
	if (!p) {
		classifier_close(c);
		return nerr ? nerr : 1;
	}
	*cls = c;
	*pol = p;
	return 0;
}
