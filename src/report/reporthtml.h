/* The report as an HTML page (reporthtml.c). */
#ifndef SKYFENCE_REPORTHTML_H
#define SKYFENCE_REPORTHTML_H

#include <stdio.h>

#include "report/report.h"

/* The page, whose hooks reportout.c's first comment lists, to @f.
 * Returns 0, or -1 if @f failed. */
int report_html(const struct report *r, FILE *f);

#endif
