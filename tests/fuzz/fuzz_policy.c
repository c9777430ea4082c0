/* libFuzzer: the policy parser on any text, and a round trip: a policy
 * that parses is written back (policy_format) and that text must parse,
 * and write back to the same text. The same bytes as an address
 * signatures file (addrsig.h): parsed or refused, and a parsed one
 * answers lookups. Names come from a small fake table, as in
 * tests/unit/test_policy.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/addrsig.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const protos[] = { "Unknown",   "DNS",  "HTTP",
				      "SkypeCall", "TLS",  "Skype_Teams",
				      "Zoom",	   "Teams" };
static const char *const cats[] = { "Unspecified", "Media", "Web", "VoIP" };

static int find(const char *const *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(t[i], name) == 0)
			return (int)i;
	return -1;
}

static int proto_id(void *ctx, const char *n)
{
	(void)ctx;
	return find(protos, sizeof(protos) / sizeof(protos[0]), n);
}

static int cat_id(void *ctx, const char *n)
{
	(void)ctx;
	return find(cats, sizeof(cats) / sizeof(cats[0]), n);
}

static const char *proto_name(void *ctx, int id)
{
	(void)ctx;
	return id >= 0 && (size_t)id < sizeof(protos) / sizeof(protos[0])
		       ? protos[id]
		       : NULL;
}

static const struct policy_names names = {
	proto_id, cat_id, proto_name, NULL, sizeof(protos) / sizeof(protos[0]),
	NULL,	  0,	  0
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p, *q;
	char *text, *again;
	unsigned nerr;

	if (size > 65536)
		return 0;
	{
		struct addrsig *s =
			addrsig_parse("fuzz", (const char *)data, size, &names,
				      NULL, NULL, &nerr);
		uint8_t a[16] = { 0 };

		if (s) {
			if (s->n)
				memcpy(a, s->e[s->n - 1].pfx.addr, 16);
			(void)addrsig_match(s, a, 3478, 17);
			(void)addrsig_match(s, a, 443, 6);
			addrsig_free(s);
		}
	}
	p = policy_parse_text("fuzz", (const char *)data, size, &names, NULL,
			      NULL, &nerr);
	if (!p)
		return 0;
	text = policy_format(p);
	if (!text)
		abort();
	q = policy_parse_text("again", text, strlen(text), &names, NULL, NULL,
			      &nerr);
	if (!q)
		abort(); /* what policy show writes must load back */
	again = policy_format(q);
	if (!again || strcmp(text, again) != 0)
		abort(); /* and say the same */
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
	return 0;
}
