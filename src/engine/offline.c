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
