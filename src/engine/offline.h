/* Offline mode: a capture file through the same engine as the inline path,
 * one TSV line per flow. */
#ifndef SKYFENCE_OFFLINE_H
#define SKYFENCE_OFFLINE_H

#include <stdint.h>
#include <stdio.h>

struct classifier;
struct policy;

struct offline_opts {
	const char *path; /* pcap or pcapng */
	uint32_t max_flows;
	uint64_t idle_ms;
	FILE *out; /* flows, TSV */
	FILE *err; /* summary and audit lines */
	int audit; /* write logged decisions to err */
	/* --audit-log FILE: the records there instead (NULL: err) */
	const char *audit_path;
	const char *node; /* --node-id: the host name if NULL */
};

/* Returns 0, or -1 with a message on opts->err (unreadable or not a
 * capture). A capture that ends mid-packet is read up to the damage. */
int offline_run(const struct offline_opts *o, struct classifier *c,
		const struct policy *p);

/* --diff: the capture run with @old and with @new_policy (same
 * classifier), joined by flow (the key, and which of the flows with that
 * key), and the flows whose action differs written to o->out as TSV (key,
 * app, department by each, old and new action), then "# totals:" lines
 * by department (@old's). Each run's summary goes to o->err; no records.
 * Returns 0, or -1 with a message on o->err. */
int offline_diff(const struct offline_opts *o, struct classifier *c,
		 const struct policy *old, const struct policy *new_policy);

#endif
