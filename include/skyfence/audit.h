/* Audit records: one JSON object per line, for a decision ("decision") and
 * for a flow leaving the daemon's table ("end"). Shared by the daemon and
 * the offline mode. */
#ifndef SKYFENCE_AUDIT_H
#define SKYFENCE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct classifier;
struct flow;
struct policy;

/* Writes the record (no newline) into @buf. @ts_ms is wall-clock time.
 * Returns @buf. */
char *audit_format(char *buf, size_t len, const char *event, uint64_t ts_ms,
		   const struct flow *f, const struct policy *p,
		   struct classifier *c);

/* Text made safe for TSV and JSON: printable ASCII (space included)
 * without '"' or '\\'; anything else becomes '?'; "-" if empty. */
void audit_clean_text(const char *in, char *out, size_t len);

#endif
