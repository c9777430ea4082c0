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

/* Whether the flow's decision was enforced on the live flow: made at a
 * packet, which got the verdict ("decided_at" in the record). A flow that
 * ended undecided (idle, evicted, flushed) is written with its decision
 * and "enforced":false. */
int audit_enforced(const struct flow *f);

/* Fields: ts_ms, event, flow, initiator, initiator_port, department,
 * rule, app, app_id, confidence, host, direction, action, decided_at,
 * decided_pkt (the flow's packets, both directions, when decided; the
 * packet that got the verdict), enforced, pkts, bytes (seen by skyfenced).
 * Writes the record (no newline) into @buf. @ts_ms is wall-clock time.
 * Returns @buf. */
char *audit_format(char *buf, size_t len, const char *event, uint64_t ts_ms,
		   const struct flow *f, const struct policy *p,
		   struct classifier *c);

/* Text made safe for TSV and JSON: printable ASCII (space included)
 * without '"' or '\\'; anything else becomes '?'; "-" if empty. */
void audit_clean_text(const char *in, char *out, size_t len);

#endif
