/* A flow's audit record (audit.c): its fields, the running policy's
 * digest, the node's default name. The records' text and chain are
 * chain.h's. */
#ifndef SKYFENCE_AUDIT_H
#define SKYFENCE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"

struct classifier;
struct flow;
struct policy;

/* Whether the flow's decision was enforced on the live flow: made at a
 * packet, which got the verdict ("decided_at" in the record). A flow that
 * ended undecided (idle, evicted, flushed) is written with its decision
 * and "enforced":false. Such a decision went back to the kernel as a
 * mark, so the kernel's conntrack entry carries the rest of the flow. */
int audit_enforced(const struct flow *f);
/* Appends ',"user":USER,"groups":[...]' (@groups packed "a\0b\0\0") to
 * the record in @buf. 0, or -1 if it did not fit (@buf unchanged). */
int audit_identity_fields(char *buf, size_t len, const char *user,
			  const char *groups);

/* Appends ',"media":NAMES' (policy_media_name of @media: "none" for a
 * flow that is no call's media) and, if @dscp (1 + value) is not 0,
 * ',"dscp":VALUE'. 0, or -1 if it did not fit. */
int audit_media_fields(char *buf, size_t len, uint8_t media, uint8_t dscp);
/* A flow's fields, appended to @buf: ts_ms, event, flow, initiator,
 * initiator_port, department, rule, app, app_id, confidence, host (and
 * host_hex), direction, action, decided_at, decided_pkt (the flow's
 * packets, both directions, when decided: the packet that got the
 * verdict), enforced, pkts, bytes (seen by skyfenced), media, dscp
 * (audit_media_fields). @ts_ms is wall-clock time. Returns 0, or -1 if it
 * did not fit. */
int audit_flow_fields(char *buf, size_t len, const char *event, uint64_t ts_ms,
		      const struct flow *f, const struct policy *p,
		      struct classifier *c);

/* The SHA-256 of @p's text (policy_format()) in hex, or "-" and -1. */
int audit_policy_digest(const struct policy *p, char hex[AUDIT_HEX]);
/* --node-id's default: @given, or the host name (characters
 * audit_node_ok() refuses become '-'). */
void audit_default_node(const char *given, char out[AUDIT_NODE_LEN]);

/* Text made safe for TSV: printable ASCII (space included) without '"'
 * or '\\'; anything else becomes '?'; "-" if empty. */
void audit_clean_text(const char *in, char *out, size_t len);

#endif
