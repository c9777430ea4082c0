/* A department's section of the page (reportdept.c), and the broken
 * chain's banner that the page shows at its top and in every section. */
#ifndef SKYFENCE_REPORTDEPT_H
#define SKYFENCE_REPORTDEPT_H

#include <stddef.h>
#include <stdio.h>

#include "report/report.h"

/* The banner of a broken chain @c: its first break, the count; @in_dept
 * adds what it means for the figures around it. */
void report_html_banner(FILE *f, const struct report_chain *c, int in_dept);

/* Department @d's <section class="dept" id="dept-@id">: a sentence, the
 * chart, its figures, its top hosts, users and evidence. */
void report_html_dept(FILE *f, const struct report *r,
		      const struct report_dept *d, size_t id);

#endif
