/* A department's sessions over time as an inline SVG chart (reportsvg.c),
 * for the page (reporthtml.c). */
#ifndef SKYFENCE_REPORTSVG_H
#define SKYFENCE_REPORTSVG_H

#include <stdio.h>

#include "report/report.h"

/* The chart of report_series(@r, @d): a heading, <svg class="series">
 * with a <g data-bucket="LABEL"> per point (its <title>, a <rect
 * data-action="ACTION"> per action with sessions, stacked), the axes,
 * and a legend; behind the bars, the weekend's days and the kill
 * switch's time on; a first or last bucket the period covers less than
 * half of, paler. */
void report_svg_series(FILE *f, const struct report *r,
		       const struct report_dept *d);

#endif
