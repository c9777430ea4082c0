/* Offline mode: frames from a pcap/pcapng file (libpcap reads both) into the
 * engine; one TSV line per flow when it ends. The only user of libpcap. */
#include "engine/offline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "audit/audit.h"
#include "audit/auditlog.h"
#include "classify/classify.h"
#include "engine/engine.h"
#include "core/pkt.h"
#include "policy/policy.h"
#include "policy/window.h"

#define EXPIRE_CHECK_MS 1000

struct offline {
	const struct offline_opts *o;
	struct classifier *cls;
	const struct policy *pol;
	uint64_t flows, skype_flows;
	uint64_t ended[FLOW_END_FLUSH + 1]; /* flows by enum flow_end_reason */
	FILE *audit;			    /* NULL: no records */
	struct audit_chain chain;
};

/* One chained record (audit.h), as the daemon writes them. */
static void put_record(struct offline *ol, const char *fields)
{
	char line[AUDIT_LINE_MAX + 1];

	if (audit_chain_line(&ol->chain, fields, line, sizeof(line)) >= 0)
		fprintf(ol->audit, "%s\n", line);
}

static void audit_flow(struct offline *ol, const char *event,
		       const struct flow *f)
{
	char rec[AUDIT_LINE_MAX];

	rec[0] = '\0';
	if (ol->audit && f->logged &&
	    audit_flow_fields(rec, sizeof(rec), event, f->last_ms, f, ol->pol,
			      ol->cls) == 0)
		put_record(ol, rec);
}

static int is_skype(const struct cls_result *r)
{
	return r->app == SF_PROTO_SKYPE_CALL ||
	       r->app == SF_PROTO_SKYPE_TEAMS ||
	       r->master == SF_PROTO_SKYPE_CALL ||
	       r->master == SF_PROTO_SKYPE_TEAMS;
}

static void print_flow(void *ctx, const struct flow *f, int reason)
{
	struct offline *ol = ctx;
	char key[FLOW_KEY_STRLEN], proto[64], host[CLS_HOST_LEN], rule[16];
	char decided_on[64], as[64], ev[FLOW_EVIDENCE_LEN], media[32], dscp[4];
	const struct policy_dept *d = &ol->pol->depts[f->dept];
	struct cls_result dr;

	if (reason >= FLOW_END_IDLE && reason <= FLOW_END_FLUSH)
		ol->ended[reason]++;
	audit_flow(ol, "end", f);
	ol->flows++;
	if (is_skype(&f->cls))
		ol->skype_flows++;
	flow_key_format(&f->key, key, sizeof(key));
	classifier_format_proto(ol->cls, &f->cls, proto, sizeof(proto));
	dr = f->cls;
	dr.master = f->decided_master;
	dr.app = f->decided_app;
	classifier_format_proto(ol->cls, &dr, decided_on, sizeof(decided_on));
	dr.master = f->pol_master;
	dr.app = f->pol_app;
	classifier_format_proto(ol->cls, &dr, as, sizeof(as));
	audit_clean_text(f->cls.host, host, sizeof(host));
	if (f->rule >= 0)
		snprintf(rule, sizeof(rule), "%u", d->rules[f->rule].line);
	else
		snprintf(rule, sizeof(rule), "-");
	if (f->dscp)
		snprintf(dscp, sizeof(dscp), "%u", f->dscp - 1u);
	else
		snprintf(dscp, sizeof(dscp), "-");
	fprintf(ol->o->out,
		"%s\t%u\t%u\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64
		"\t%s\t%s\t%s\t%s\t%s\t%u\t%s\t%s\t%s\t%s\t%s\n",
		key, f->cls.master, f->cls.app, proto,
		classifier_confidence_name(f->cls.confidence), d->name,
		action_name(f->action), f->pkts[0] + f->pkts[1],
		f->bytes[0] + f->bytes[1],
		classifier_category_name(ol->cls, f->cls.category), host,
		f->inbound ? "inbound" : "outbound", rule,
		flow_decided_at_name(f->decided_at), f->decided_pkt, decided_on,
		flow_evidence_format(f, ev, sizeof(ev)), as,
		policy_media_name(f->media, media, sizeof(media)), dscp);
}

static void audit_decision(void *ctx, const struct flow *f)
{
	audit_flow(ctx, "decision", f);
}

/* The records' file: --audit-log FILE, or stderr for --audit. Returns 0,
 * or -1 with a message. */
static int open_records(struct offline *ol)
{
	const struct offline_opts *o = ol->o;
	char f[1024];
	uint64_t repaired = 0;
	int fd, cont = 0;

	if (o->audit_path && strcmp(o->audit_path, "-") != 0) {
		fd = auditlog_open_file(o->audit_path);
		/* a file that has records: its chain goes on */
		cont = fd >= 0 &&
		       auditlog_tail(fd, o->audit_path, &ol->chain.seq,
				     ol->chain.prev, &repaired) == 1;
		ol->audit = fd < 0 ? NULL : fdopen(fd, "a");
		if (!ol->audit) {
			fprintf(o->err, "skyfenced: %s: %s\n", o->audit_path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	} else if (o->audit || o->audit_path) {
		ol->audit = o->err;
	} else {
		return 0;
	}
	audit_default_node(o->node, ol->chain.node);
	audit_policy_digest(ol->pol, ol->chain.policy);
	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64 ",\"event\":\"start\",\"chain\":\"%s\","
		 "\"repaired_bytes\":%" PRIu64,
		 auditlog_now_ms(), cont ? "continued from the file" : "new",
		 repaired);
	if (audit_json_member(f, sizeof(f), "capture", o->path) == 0)
		put_record(ol, f);
	return 0;
}

/* The schedule follows the capture's clock, not the machine's: the
 * windows' state at the first packet, and again at the first packet past
 * each change (*@next: when the next one is due). */
static void follow_windows(struct engine *e, const struct policy *p,
			   int64_t *next, uint64_t ms)
{
	int64_t t = (int64_t)(ms / 1000);
	uint64_t flips;

	if (!p->n_windows || t < *next)
		return;
	engine_set_windows(e, policy_windows_at(p, t), t);
	*next = windows_next_change(p->windows, p->n_windows, t, &flips);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int offline_run(const struct offline_opts *o, struct classifier *c,
		const struct policy *p)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct engine_opts eo = { o->max_flows, o->idle_ms, 0x5eed, 1 };
	struct offline ol = { o, c, p, 0, 0, { 0 }, NULL, { 0, { 0 }, "", "" } };
	struct engine_hooks h = { audit_decision, print_flow, &ol };
	struct engine_stats st;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t frames = 0, last_ms = 0, last_expire = 0, bad = 0;
	int64_t win_next = INT64_MIN;
	struct engine *e;
	double t0;
	int linktype, rc;
	unsigned i;
	pcap_t *pc;

	if (open_records(&ol) != 0)
		return -1;
	pc = pcap_open_offline(o->path, errbuf);
	if (!pc) {
		if (ol.audit && ol.audit != o->err)
			fclose(ol.audit);
		fprintf(o->err, "skyfenced: %s\n", errbuf);
		return -1;
	}
	linktype = pcap_datalink(pc);
	e = engine_create(&eo, c, p, &h);
	if (!e) {
		fprintf(o->err, "skyfenced: out of memory for %u flows\n",
			o->max_flows);
		pcap_close(pc);
		if (ol.audit && ol.audit != o->err)
			fclose(ol.audit);
		return -1;
	}
	fprintf(o->out, "#key\tmaster_id\tapp_id\tproto_name\tconfidence\t"
			"department\taction\tpkts\tbytes\tcategory\thost\t"
			"direction\trule_line\tdecided_at\tdecided_pkt\t"
			"decided_on\tevidence\tdecided_as\tmedia\tdscp\n");
	t0 = now_s();
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		struct engine_verdict v;
		enum pkt_status ps;
		struct pkt pk;
		uint64_t ms;

		frames++;
		ms = (uint64_t)hdr->ts.tv_sec * 1000 +
		     (uint64_t)hdr->ts.tv_usec / 1000;
		if (ms < last_ms) /* time never runs backwards for flows */
			ms = last_ms;
		last_ms = ms;
		ps = pkt_parse_frame(data, hdr->caplen, linktype, &pk);
		if (ps != PKT_OK) {
			engine_count_bad(e, ps);
			continue;
		}
		follow_windows(e, p, &win_next, ms);
		engine_packet(e, &pk, ms, &v);
		/* idle_ms 0: a flow lasts to the end of the capture, as in
		 * ndpiReader, which ends idle flows only when it captures
		 * live (ndpiReader.c, ndpi_process_packet) */
		if (o->idle_ms && ms >= last_expire + EXPIRE_CHECK_MS) {
			engine_expire(e, ms);
			last_expire = ms;
		}
	}
	if (rc == -1)
		fprintf(o->err,
			"skyfenced: %s: capture damaged after %" PRIu64
			" packets (%s); reporting what was read\n",
			o->path, frames, pcap_geterr(pc));
	engine_flush(e);
	engine_get_stats(e, &st);
	for (i = 1; i < PKT_STATUS_MAX; i++)
		bad += st.bad[i];
	{
		double dt = now_s() - t0;

		fprintf(o->err,
			"summary: file=%s packets=%" PRIu64 " in_flows=%" PRIu64
			" not_in_flows=%" PRIu64 " flows=%" PRIu64
			" skype_flows=%" PRIu64 " inspected=%" PRIu64
			" allow=%" PRIu64 " drop=%" PRIu64 " reject=%" PRIu64
			" throttle=%" PRIu64 " decided_named=%" PRIu64
			" relabeled=%" PRIu64 " signature=%" PRIu64
			" ended_idle=%" PRIu64 " evicted=%" PRIu64
			" seconds=%.3f pps=%.0f\n",
			o->path, frames, st.pkts, bad, ol.flows, ol.skype_flows,
			st.inspected, st.decisions[ACT_ALLOW],
			st.decisions[ACT_DROP], st.decisions[ACT_REJECT],
			st.decisions[ACT_THROTTLE], st.named, st.relabeled,
			st.signature, ol.ended[FLOW_END_IDLE],
			ol.ended[FLOW_END_EVICTED], dt,
			dt > 0 ? (double)frames / dt : 0.0);
		if (ol.ended[FLOW_END_EVICTED])
			fprintf(o->err,
				"skyfenced: %s: %" PRIu64
				" flows were evicted from a full table of %u "
				"and went on as new flows (--max-flows)\n",
				o->path, ol.ended[FLOW_END_EVICTED],
				o->max_flows);
		for (i = 1; i < PKT_STATUS_MAX; i++)
			if (st.bad[i])
				fprintf(o->err,
					"summary: not_in_flows.%s=%" PRIu64
					"\n",
					pkt_status_name((enum pkt_status)i),
					st.bad[i]);
	}
	engine_destroy(e);
	pcap_close(pc);
	if (ol.audit && ol.audit != o->err && fclose(ol.audit) != 0) {
		fprintf(o->err, "skyfenced: %s: %s\n", o->audit_path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- --diff: one capture, two policies ---- */

/* A flow of one run's TSV: the text's key (with the flow's occurrence:
 * a key the capture reuses after a flow ended is another flow), app,
 * department and action, pointing into the run's text. */
struct drow {
	char *key, *proto, *dept, *action;
	uint32_t seq, occ;
};

struct drun {
	char *text;
	size_t len;
	struct drow *rows;
	uint32_t n;
};

/* Field @i of a row split in @f (@n fields), or "". */
static char *field(char **f, int n, int i)
{
	static char none[1];

	return i < n ? f[i] : none;
}

/* The action named @s (action_name's), ACT_MAX if none. */
static uint8_t action_of(const char *s)
{
	uint8_t a;

	for (a = 0; a < ACT_MAX; a++)
		if (!strcmp(action_name(a), s))
			break;
	return a;
}

static int by_key_seq(const void *a, const void *b)
{
	const struct drow *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The run's TSV split into rows, sorted by key and occurrence. */
static int parse_run(struct drun *r)
{
	char *save = NULL, *line;
	uint32_t cap = 0, i;

	for (line = strtok_r(r->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[8], *s2 = NULL, *w;
		int n = 0;

		if (line[0] == '#')
			continue;
		for (w = strtok_r(line, "\t", &s2); w && n < 8;
		     w = strtok_r(NULL, "\t", &s2))
			f[n++] = w;
		if (r->n == cap) {
			struct drow *p;

			cap = cap ? cap * 2 : 1024;
			p = realloc(r->rows, cap * sizeof(*p));
			if (!p)
				return -1;
			r->rows = p;
		}
		r->rows[r->n] = (struct drow){ field(f, n, 0), field(f, n, 3),
					       field(f, n, 5), field(f, n, 6),
					       r->n,	       0 };
		r->n++;
	}
	qsort(r->rows, r->n, sizeof(*r->rows), by_key_seq);
	for (i = 1; i < r->n; i++)
		if (!strcmp(r->rows[i].key, r->rows[i - 1].key))
			r->rows[i].occ = r->rows[i - 1].occ + 1;
	return 0;
}

/* The capture through the engine with @p, its TSV into @r. */
static int run_into(const struct offline_opts *o, struct classifier *c,
		    const struct policy *p, struct drun *r)
{
	struct offline_opts oo = *o;
	int rc;

	oo.audit = 0; /* records are the runs' own business */
	oo.audit_path = NULL;
	oo.out = open_memstream(&r->text, &r->len);
	if (!oo.out) {
		fprintf(o->err, "skyfenced: %s\n", strerror(errno));
		return -1;
	}
	rc = offline_run(&oo, c, p);
	if (fclose(oo.out) != 0 || rc != 0)
		return -1;
	if (parse_run(r) != 0) {
		fprintf(o->err, "skyfenced: out of memory\n");
		return -1;
	}
	return 0;
}

struct dtotal {
	const char *dept;
	uint64_t seen, changed, to[ACT_MAX];
};

static int cmp_row(const struct drow *a, const struct drow *b)
{
	int c = strcmp(a->key, b->key);

	return c ? c : (a->occ > b->occ) - (a->occ < b->occ);
}

/* The totals row of @dept among @t (@n used of @cap), added if new. */
static struct dtotal *total_of(struct dtotal *t, uint32_t *n, uint32_t cap,
			       const char *dept)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(t[i].dept, dept))
			return &t[i];
	if (*n == cap)
		return &t[cap - 1]; /* beyond the policy's departments */
	t[*n].dept = dept;
	return &t[(*n)++];
}

static void print_totals(FILE *out, const struct dtotal *t, uint32_t n,
			 uint64_t unmatched)
{
	static const char *const w[ACT_MAX] = { "allowed", "dropped",
						"rejected", "throttled" };
	uint64_t seen = 0, changed = 0;
	uint32_t i;
	int a, k;

	for (i = 0; i < n; i++) {
		fprintf(out,
			"# totals: %s: %" PRIu64 " of %" PRIu64 " flows change",
			t[i].dept, t[i].changed, t[i].seen);
		for (a = 0, k = 0; a < ACT_MAX; a++)
			if (t[i].to[a])
				fprintf(out, "%s%" PRIu64 " %s",
					k++ ? ", " : " (", t[i].to[a], w[a]);
		fprintf(out, "%s\n", k ? ")" : "");
		seen += t[i].seen;
		changed += t[i].changed;
	}
	fprintf(out,
		"# totals: all: %" PRIu64 " of %" PRIu64
		" flows change; %" PRIu64 " flows in one run only\n",
		changed, seen, unmatched);
}

/* Both runs joined by flow: the flows whose action differs. */
static int join_runs(FILE *out, const struct drun *a, const struct drun *b,
		     uint32_t n_depts)
{
	struct dtotal *t = calloc(n_depts + 1, sizeof(*t));
	uint32_t i = 0, j = 0, nt = 0;
	uint64_t unmatched = 0;

	if (!t)
		return -1;
	fprintf(out, "#key\tproto_name\tdepartment\tnew_department\t"
		     "old_action\tnew_action\n");
	while (i < a->n || j < b->n) {
		int c = i == a->n   ? 1
			: j == b->n ? -1
				    : cmp_row(&a->rows[i], &b->rows[j]);
		const struct drow *x = &a->rows[i], *y = &b->rows[j];
		struct dtotal *d;

		if (c) {
			unmatched++;
			i += c < 0;
			j += c > 0;
			continue;
		}
		d = total_of(t, &nt, n_depts + 1, x->dept);
		d->seen++;
		if (strcmp(x->action, y->action) != 0) {
			uint8_t act = action_of(y->action);

			d->changed++;
			if (act < ACT_MAX)
				d->to[act]++;
			fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n", x->key,
				x->proto, x->dept, y->dept, x->action,
				y->action);
		}
		i++;
		j++;
	}
	print_totals(out, t, nt, unmatched);
	free(t);
	return 0;
}

int offline_diff(const struct offline_opts *o, struct classifier *c,
		 const struct policy *old, const struct policy *new_policy)
{
	struct drun a = { 0 }, b = { 0 };
	int rc = -1;

	if (run_into(o, c, old, &a) == 0 && run_into(o, c, new_policy, &b) == 0)
		rc = join_runs(o->out, &a, &b, old->n_depts);
	free(a.text);
	free(a.rows);
	free(b.text);
	free(b.rows);
	return rc;
}
