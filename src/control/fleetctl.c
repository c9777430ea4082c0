/* fleetctl.c - the fleet's verbs, and its lines in status and /metrics
 * (fleetctl.h). */
#include "control/fleetctl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "daemon/daemon_int.h"

__attribute__((format(printf, 3, 4))) static void
out(void (*emit)(void *ctx, const char *line), void *ctx, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(ctx, line);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int not_fleet(struct daemon *d, struct ctl_req *r)
{
	if (d->fleet)
		return 0;
	ctl_err(r, "refused",
		"this node is not in a fleet (skyfenced runs without --nats)");
	return 1;
}

/* ---- fleet [json] ---- */

static void node_json(const struct fleetd_node *n, uint64_t now, char *o,
		      size_t len)
{
	char ks[600], loc[600], h[600], c[FLEET_CONFLICTS * 1100] = "";
	size_t cl = 0;
	unsigned i;

	audit_json_escape(ks, sizeof(ks), n->st.ks);
	audit_json_escape(loc, sizeof(loc), n->st.local);
	audit_json_escape(h, sizeof(h), n->st.health);
	for (i = 0; i < n->st.n_conflicts && i < FLEET_CONFLICTS; i++) {
		char one[1100];

		audit_json_escape(one, sizeof(one), n->st.conflict[i]);
		cl += (size_t)snprintf(c + cl, sizeof(c) - cl, "%s\"%s\"",
				       i ? "," : "", one);
		if (cl >= sizeof(c))
			break;
	}
	snprintf(o, len,
		 "{\"node\":\"%s\",\"self\":%s,\"state\":\"%s\","
		 "\"policy_revision\":%" PRIu64
		 ",\"killswitch_revision\":%" PRIu64 ",\"killswitch\":\"%s\","
		 "\"local\":\"%s\",\"digest\":\"%s\",\"health\":\"%s\","
		 "\"seen_s\":%" PRId64 ",\"audit_seq\":%" PRIu64
		 ",\"conflicts\":[%s]}",
		 n->id, n->self ? "true" : "false", fleetd_state_name(n->state),
		 n->st.policy_rev, n->st.ks_rev, ks, loc, n->st.digest, h,
		 n->seen_ms ? (int64_t)((now - n->seen_ms) / 1000)
			    : (int64_t)-1,
		 n->head_seq, c);
}

void control_fleet(struct daemon *d, struct ctl_req *r, int argc, char **argv)
{
	struct fleetd_view v;
	uint64_t now = mono_ms();
	unsigned i, by[4] = { 0, 0, 0, 0 };
	int json = argc > 1 && !strcmp(argv[argc - 1], "json");

	if (not_fleet(d, r))
		return;
	if (argc > 2 || (argc == 2 && !json)) {
		ctl_err(r, "usage",
			"fleet [json] | fleet init [REPLICAS] | "
			"fleet clear");
		return;
	}
	fleetd_get_view(d, &v);
	if (json) {
		char line[8192];

		ctl_data(r,
			 "{\"bucket\":\"%s\",\"policy_revision\":%" PRIu64
			 ",\"killswitch_revision\":%" PRIu64 ",\"nodes\":%u}",
			 v.bucket, v.bucket_policy_rev, v.bucket_ks_rev,
			 v.n_nodes);
		for (i = 0; i < v.n_nodes; i++) {
			node_json(&v.nodes[i], now, line, sizeof(line));
			ctl_data(r, "%s", line);
		}
		ctl_ok(r, "%u nodes", v.n_nodes);
		return;
	}
	ctl_data(r,
		 "bucket %s: policy revision %" PRIu64
		 ", kill switch revision %" PRIu64,
		 v.bucket, v.bucket_policy_rev, v.bucket_ks_rev);
	ctl_data(r, "%-20s %-8s %-8s %-8s %-20s %-12s %-7s %s", "NODE", "STATE",
		 "POLICY", "KS-REV", "KILLSWITCH", "LOCAL", "SEEN", "DIGEST");
	for (i = 0; i < v.n_nodes; i++) {
		const struct fleetd_node *n = &v.nodes[i];
		char seen[32], id[80];
		unsigned k;

		by[n->state & 3]++;
		if (!n->seen_ms)
			snprintf(seen, sizeof(seen), "never");
		else
			snprintf(seen, sizeof(seen), "%" PRIu64 "s",
				 (now - n->seen_ms) / 1000);
		snprintf(id, sizeof(id), "%s%s", n->id,
			 n->self ? " (here)" : "");
		ctl_data(r,
			 "%-20s %-8s %-8" PRIu64 " %-8" PRIu64
			 " %-20s %-12s %-7s %.12s",
			 id, fleetd_state_name(n->state), n->st.policy_rev,
			 n->st.ks_rev, n->st.ks[0] ? n->st.ks : "off",
			 or_dash(n->st.local), seen, or_dash(n->st.digest));
		if (strcmp(n->st.health, "ok") && n->st.health[0])
			ctl_data(r, "  %s: health: %s", n->id, n->st.health);
		if (n->anchor_alarm)
			ctl_data(r,
				 "  %s: AUDIT: its audit anchor in the bucket "
				 "was deleted or moved back (seq now %" PRIu64
				 "): what its log lost could be hidden",
				 n->id, n->head_seq);
		for (k = 0; k < n->st.n_conflicts && k < FLEET_CONFLICTS; k++)
			ctl_data(r, "  %s: conflict: %s", n->id,
				 n->self ? v.conflict[k] : n->st.conflict[k]);
	}
	ctl_ok(r, "%u nodes: %u ok, %u behind, %u conflict, %u silent",
	       v.n_nodes, by[FLEETD_OK], by[FLEETD_BEHIND], by[FLEETD_CONFLICT],
	       by[FLEETD_SILENT]);
}

void control_fleet_init(struct daemon *d, struct ctl_req *r, int argc,
			char **argv)
{
	char msg[700], *end = NULL;
	long n = 3;

	if (not_fleet(d, r))
		return;
	if (argc == 3) {
		n = strtol(argv[2], &end, 10);
		if (!*argv[2] || *end || n < 1 || n > 5) {
			ctl_err(r, "usage",
				"fleet init [REPLICAS]: 1 to 5 (default 3)");
			return;
		}
	}
	if (fleetd_init_bucket(d, (int)n, msg, sizeof(msg)) != 0) {
		ctl_err(r, "refused", "%s", msg);
		return;
	}
	ctl_ok(r, "%s", msg);
}

void control_fleet_clear(struct daemon *d, struct ctl_req *r, int argc,
			 char **argv)
{
	char msg[300];

	(void)argc;
	(void)argv;
	if (not_fleet(d, r))
		return;
	fleetd_clear_conflicts(d, (long)ctl_req_uid(r), msg, sizeof(msg));
	ctl_ok(r, "%s", msg);
}

/* ---- status ---- */

void fleetctl_status_text(const struct fleetd_view *v,
			  void (*emit)(void *ctx, const char *line), void *ctx)
{
	unsigned i, by[4] = { 0, 0, 0, 0 };

	if (!v->bucket)
		return;
	out(emit, ctx, "fleet: node %s, bucket %s on %s: %s%s%s", v->node,
	    v->bucket, v->url,
	    v->fs.connected ? "connected"
			    : "NOT CONNECTED (enforcing the "
			      "last state applied)",
	    v->has_admin ? (v->fs.admin_connected == 1
				    ? "; admin credentials: connected"
				    : "; admin credentials: NOT CONNECTED")
			 : "; no admin credentials",
	    "");
	if (v->fs.connected && !v->fs.watching)
		out(emit, ctx,
		    "fleet: NOT WATCHING the bucket yet (changes do not reach "
		    "this node)%s%s",
		    v->fs.last_error[0] ? ": " : "", v->fs.last_error);
	else if (!v->fs.connected && v->fs.last_error[0])
		out(emit, ctx, "fleet: last error: %s", v->fs.last_error);
	out(emit, ctx,
	    "fleet: policy revision %" PRIu64 " applied (the bucket's: %" PRIu64
	    ")%s%s",
	    v->policy_rev, v->bucket_policy_rev, v->policy_by[0] ? ", by " : "",
	    v->policy_by);
	out(emit, ctx,
	    "fleet: kill switch revision %" PRIu64
	    " applied (the bucket's: %" PRIu64
	    "): %s%s; this node's own: %s; not yet written: %s",
	    v->ks_rev, v->bucket_ks_rev, v->fleet_ks[0] ? "on for " : "off",
	    v->fleet_ks, or_dash(v->local_ks), or_dash(v->pending_ks));
	for (i = 0; i < v->n_conflicts; i++)
		out(emit, ctx, "fleet: CONFLICT: %s", v->conflict[i]);
	if (v->anchor_behind)
		out(emit, ctx,
		    "fleet: AUDIT: this node's log ended at seq %" PRIu64
		    " at start, but it had published seq %" PRIu64
		    " to the fleet: the log's tail is gone",
		    v->local_seq, v->anchor_seq);
	for (i = 0; i < v->n_nodes; i++)
		by[v->nodes[i].state & 3]++;
	out(emit, ctx,
	    "fleet: %u nodes: %u ok, %u behind, %u conflict, %u silent "
	    "(skyfencectl fleet)",
	    v->n_nodes, by[FLEETD_OK], by[FLEETD_BEHIND], by[FLEETD_CONFLICT],
	    by[FLEETD_SILENT]);
}

void fleetctl_status_json(const struct fleetd_view *v, char *o, size_t len)
{
	char ks[600], loc[600], pend[600];

	if (!v->bucket) {
		snprintf(o, len, "null");
		return;
	}
	audit_json_escape(ks, sizeof(ks), v->fleet_ks);
	audit_json_escape(loc, sizeof(loc), v->local_ks);
	audit_json_escape(pend, sizeof(pend), v->pending_ks);
	snprintf(o, len,
		 "{\"node\":\"%s\",\"bucket\":\"%s\",\"connected\":%s,"
		 "\"admin\":%s,\"policy_revision\":%" PRIu64
		 ",\"bucket_policy_revision\":%" PRIu64
		 ",\"killswitch_revision\":%" PRIu64
		 ",\"bucket_killswitch_revision\":%" PRIu64
		 ",\"killswitch\":\"%s\",\"local\":\"%s\",\"pending\":\"%s\","
		 "\"conflicts\":%u,\"audit_behind_anchor\":%s}",
		 v->node, v->bucket, v->fs.connected ? "true" : "false",
		 v->has_admin ? "true" : "false", v->policy_rev,
		 v->bucket_policy_rev, v->ks_rev, v->bucket_ks_rev, ks, loc,
		 pend, v->n_conflicts, v->anchor_behind ? "true" : "false");
}

/* ---- /metrics ---- */

static void family(void (*emit)(void *ctx, const char *line), void *ctx,
		   const char *name, const char *help)
{
	out(emit, ctx, "# HELP %s %s", name, help);
	out(emit, ctx, "# TYPE %s gauge", name);
}

void fleetctl_prometheus(const struct fleetd_view *v,
			 void (*emit)(void *ctx, const char *line), void *ctx)
{
	uint64_t now = mono_ms();
	unsigned i, s;

	if (!v->bucket)
		return;
	family(emit, ctx, "skyfence_fleet_connected",
	       "1 if this node's connection to the fleet's NATS servers is up.");
	out(emit, ctx, "skyfence_fleet_connected %d", v->fs.connected);
	family(emit, ctx, "skyfence_fleet_revision",
	       "Revisions of the fleet's keys: applied here, and the latest "
	       "the bucket showed.");
	out(emit, ctx,
	    "skyfence_fleet_revision{key=\"policy\",of=\"applied\"} %" PRIu64,
	    v->policy_rev);
	out(emit, ctx,
	    "skyfence_fleet_revision{key=\"policy\",of=\"bucket\"} %" PRIu64,
	    v->bucket_policy_rev);
	out(emit, ctx,
	    "skyfence_fleet_revision{key=\"killswitch\",of=\"applied\"} %" PRIu64,
	    v->ks_rev);
	out(emit, ctx,
	    "skyfence_fleet_revision{key=\"killswitch\",of=\"bucket\"} %" PRIu64,
	    v->bucket_ks_rev);
	family(emit, ctx, "skyfence_fleet_conflicts",
	       "Conflicts this node holds (skyfencectl fleet; fleet clear).");
	out(emit, ctx, "skyfence_fleet_conflicts %u", v->n_conflicts);
	family(emit, ctx, "skyfence_fleet_killswitch_unwritten",
	       "1 if a kill switch set here is not yet in the bucket.");
	out(emit, ctx, "skyfence_fleet_killswitch_unwritten %d",
	    v->pending_ks[0] != '\0');
	family(emit, ctx, "skyfence_audit_anchor_behind",
	       "1 if this node's audit log ended, at start, before the head "
	       "it had published to the fleet (its tail is gone).");
	out(emit, ctx, "skyfence_audit_anchor_behind %d", v->anchor_behind);
	family(emit, ctx, "skyfence_fleet_node_state",
	       "Each node of the bucket: 1 for its state (ok, behind, "
	       "conflict, silent).");
	for (i = 0; i < v->n_nodes; i++)
		for (s = FLEETD_OK; s <= FLEETD_SILENT; s++)
			out(emit, ctx,
			    "skyfence_fleet_node_state{node=\"%s\",state=\"%s\"} %d",
			    v->nodes[i].id, fleetd_state_name(s),
			    v->nodes[i].state == s);
	family(emit, ctx, "skyfence_fleet_node_anchor_alarm",
	       "1 if a node's audit anchor in the bucket was deleted or moved "
	       "back while this node watched.");
	for (i = 0; i < v->n_nodes; i++)
		out(emit, ctx,
		    "skyfence_fleet_node_anchor_alarm{node=\"%s\"} %d",
		    v->nodes[i].id, v->nodes[i].anchor_alarm);
	family(emit, ctx, "skyfence_fleet_node_policy_revision",
	       "The policy revision each node reported applying.");
	for (i = 0; i < v->n_nodes; i++)
		out(emit, ctx,
		    "skyfence_fleet_node_policy_revision{node=\"%s\"} %" PRIu64,
		    v->nodes[i].id, v->nodes[i].st.policy_rev);
	family(emit, ctx, "skyfence_fleet_node_seen_seconds",
	       "Seconds since each node's last report reached this one (by "
	       "this node's monotonic clock).");
	for (i = 0; i < v->n_nodes; i++)
		if (v->nodes[i].seen_ms)
			out(emit, ctx,
			    "skyfence_fleet_node_seen_seconds{node=\"%s\"} %" PRIu64,
			    v->nodes[i].id, (now - v->nodes[i].seen_ms) / 1000);
}
