/* `skyfencectl report` (reportcmd.c): the audit files given summed up
 * into one HTML page, text or JSON (report.h). */
#ifndef SKYFENCE_REPORTCMD_H
#define SKYFENCE_REPORTCMD_H

/* @argc words after "report": options, then files. Returns the exit
 * code: 0 (written, a broken chain included: the report says so), 1 (a
 * file could not be read or the output written), 2 (usage). */
int report_command(int argc, char **argv);

#endif
