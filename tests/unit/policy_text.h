/* For unit suites that need a policy from text and no protocol names:
 * parse() fails the test on any error, dept_index() on a missing
 * department. Header-only, one copy per suite. */
#ifndef SKYFENCE_TEST_POLICY_TEXT_H
#define SKYFENCE_TEST_POLICY_TEXT_H

#include <check.h>
#include <string.h>

#include "policy/policy.h"

static int no_proto(void *ctx, const char *n)
{
	(void)ctx;
	(void)n;
	return -1;
}

static const struct policy_names no_names = { no_proto, no_proto, NULL, NULL,
					      0,	NULL,	  0,	0 };

static struct policy *parse(const char *text)
{
	unsigned nerr = 0;
	struct policy *p = policy_parse_text("t", text, strlen(text), &no_names,
					     NULL, NULL, &nerr);

	ck_assert_msg(p != NULL, "%u errors", nerr);
	return p;
}

static uint32_t dept_index(const struct policy *p, const char *name)
{
	uint32_t i;

	for (i = 0; i < p->n_depts; i++)
		if (!strcmp(p->depts[i].name, name))
			return i;
	ck_abort_msg("no department %s", name);
	return 0;
}

#endif
