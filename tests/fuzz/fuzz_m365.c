/* libFuzzer: Microsoft 365's endpoints feed (feed/m365.c, m365sig.c) as a
 * broken proxy or a hostile mirror could send it. The input is read as a
 * /version answer, a state file and an /endpoints answer; an input with a
 * line "---" is also the endpoints before it and a change log after it,
 * applied from 2026110100 to 2026120100. Whatever is accepted must hold
 * what m365.h promises: the list renders to signatures that skyfenced
 * reads back, and the list as stored reads back to the same text; a
 * refusal says why and leaves the list as it was. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/m365.h"
#include "feed/m365sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char err[1024];

/* within the limits m365sig.h gives a file: the read-back takes it;
 * beyond them it refuses it, as documented */
static int small(const struct m365_counts *c, const char *t)
{
	return c->sigs <= M365_MAX_SIGS && c->names <= M365_MAX_NAMES &&
	       strlen(t) <= M365_MAX_BYTES;
}

/* an accepted list renders, reads back, and survives its own dump */
static void accepted(const struct m365_list *l)
{
	struct m365_counts c;
	struct m365_list *back;
	char *t = m365_render(l, "Worldwide", "2026120100", 1796630400, &c,
			      NULL, NULL);
	char *dump = m365_list_dump(l), *t2;

	if (!t || !dump)
		__builtin_trap();
	if (!small(&c, t) !=
	    !!m365_render_check(t, strlen(t), err, sizeof(err)))
		__builtin_trap();
	/* a few skipped URLs named, never one comment each */
	if (c.skipped > M365_SKIPS_NAMED &&
	    !strstr(t, "more URLs with a '*' inside skipped\n"))
		__builtin_trap();
	back = m365_endpoints_parse(dump, strlen(dump), err, sizeof(err));
	if (!back)
		__builtin_trap();
	t2 = m365_render(back, "Worldwide", "2026120100", 1796630400, NULL,
			 NULL, NULL);
	if (!t2 || strcmp(t, t2))
		__builtin_trap();
	free(t);
	free(t2);
	free(dump);
	m365_list_free(back);
}

static void changes(const char *list, size_t llen, const char *log, size_t clen)
{
	struct m365_list *l =
		m365_endpoints_parse(list, llen, err, sizeof(err));
	char *before, *after;
	int rc;

	if (!l)
		return;
	before = m365_list_dump(l);
	err[0] = 'x';
	rc = m365_changes_apply(l, log, clen, "2026110100", "2026120100", err,
				sizeof(err));
	if (rc == 0) {
		accepted(l);
	} else {
		after = m365_list_dump(l);
		if ((rc != M365_REFUSED && rc != M365_INCOHERENT) ||
		    (rc == M365_INCOHERENT && !err[0]) || !before || !after ||
		    strcmp(before, after))
			__builtin_trap();
		free(after);
	}
	free(before);
	m365_list_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data, *sep;
	char v[M365_VERSION_LEN + 1];
	struct m365_state st;
	struct m365_list *l;

	if (m365_version_parse(t, size, "Worldwide", v, err, sizeof(err)) ==
		    0 &&
	    !m365_version_ok(v))
		__builtin_trap();
	if (m365_state_parse(t, size, &st, err, sizeof(err)) == 0) {
		char *s = m365_state_format(&st);

		if (!s)
			__builtin_trap();
		free(s);
	}
	l = m365_endpoints_parse(t, size, err, sizeof(err));
	if (l)
		accepted(l);
	m365_list_free(l);
	sep = memmem(t, size, "\n---\n", 5);
	if (sep)
		changes(t, (size_t)(sep - t), sep + 5,
			size - (size_t)(sep - t) - 5);
	return 0;
}
