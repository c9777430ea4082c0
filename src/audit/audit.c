/* audit.c - a flow's audit record fields (audit.h; the chain is
 * chain.c). */
#include "audit/audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/classify.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "identity/idtab.h"
#include "policy/policy.h"

void audit_clean_text(const char *in, char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' &&
			  in[i] != '\\')
				 ? in[i]
				 : '?';
	out[i] = '\0';
	if (i == 0 && len > 1)
		snprintf(out, len, "-");
}

int audit_enforced(const struct flow *f)
{
	return f->decided_at == DEC_PACKET || f->decided_at == DEC_LIMIT ||
	       f->decided_at == DEC_MARK;
}

/* At most this much of a record is who: the rest of it always fits. */
#define IDENTITY_FIELDS_MAX 1024

int audit_identity_fields(char *buf, size_t len, const char *user,
			  const char *groups)
{
	/* "," first: the fields follow others */
	char t[IDENTITY_FIELDS_MAX + 1] = ",", esc[6 * 256 + 8];
	unsigned more = 0;
	const char *g;
	size_t o;

	/* the user, cut if it must be (and saying so) */
	if (audit_json_member_cut(t, 600, "user", user) < 0)
		return -1;
	o = strlen(t);
	o += (size_t)snprintf(t + o, sizeof(t) - o, ",\"groups\":[");
	for (g = groups; *g; g += strlen(g) + 1) {
		size_t need;

		if (more || audit_json_escape(esc, sizeof(esc), g) < 0) {
			more++;
			continue;
		}
		need = strlen(esc) + 3;
		/* room for this one, the bracket and the count of the rest */
		if (o + need + 32 >= sizeof(t)) {
			more++;
			continue;
		}
		o += (size_t)snprintf(t + o, sizeof(t) - o, "%s\"%s\"",
				      t[o - 1] == '[' ? "" : ",", esc);
	}
	if (more)
		snprintf(t + o, sizeof(t) - o, "],\"groups_left_out\":%u",
			 more);
	else
		snprintf(t + o, sizeof(t) - o, "]");
	o = strlen(buf);
	if (o + strlen(t) + 1 > len)
		return -1;
	memcpy(buf + o, t, strlen(t) + 1);
	return 0;
}

int audit_media_fields(char *buf, size_t len, uint8_t media, uint8_t dscp)
{
	char mn[32];
	size_t o;
	int n = 0;

	if (audit_json_member(buf, len, "media",
			      policy_media_name(media, mn, sizeof(mn))))
		return -1;
	o = strlen(buf);
	if (dscp)
		n = snprintf(buf + o, len - o, ",\"dscp\":%u", dscp - 1u);
	return n < 0 || (size_t)n >= len - o ? -1 : 0;
}

int audit_flow_fields(char *buf, size_t len, const char *event, uint64_t ts_ms,
		      const struct flow *f, const struct policy *p,
		      struct classifier *c)
{
	char key[FLOW_KEY_STRLEN], proto[64], ini[PKT_ADDR_STRLEN];
	const struct policy_dept *d = &p->depts[f->dept];
	size_t o = strlen(buf);
	uint16_t port;
	int n;

	flow_key_format(&f->key, key, sizeof(key));
	classifier_format_proto(c, &f->cls, proto, sizeof(proto));
	pkt_addr_format(flow_initiator(f, &port), 0, ini, sizeof(ini));
	n = snprintf(buf + o, len - o,
		     "%s\"ts_ms\":%" PRIu64 ",\"event\":\"%s\",\"flow\":\"%s\","
		     "\"initiator\":\"%s\",\"initiator_port\":%u",
		     o ? "," : "", ts_ms, event, key, ini, port);
	if (n < 0 || (size_t)n >= len - o ||
	    audit_json_member(buf, len, "department", d->name) ||
	    (f->ident &&
	     audit_identity_fields(
		     buf, len, ((const struct id_rec *)f->ident)->user,
		     ((const struct id_rec *)f->ident)->groups)) ||
	    audit_json_member(buf, len, "rule",
			      f->rule >= 0 ? d->rules[f->rule].text
			      : f->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
			      : f->rule == POLICY_RULE_UNREADABLE ? "unreadable"
								  : "") ||
	    audit_json_member(buf, len, "app", proto))
		goto full;
	o = strlen(buf);
	{
		char ev[FLOW_EVIDENCE_LEN], as[64];
		struct cls_result pr = f->cls;

		pr.master = f->pol_master;
		pr.app = f->pol_app;
		classifier_format_proto(c, &pr, as, sizeof(as));
		n = snprintf(buf + o, len - o,
			     ",\"app_id\":%u,\"confidence\":\"%s\","
			     "\"evidence\":\"%s\",\"decided_as\":\"%s\"",
			     f->cls.app,
			     classifier_confidence_name(f->cls.confidence),
			     flow_evidence_format(f, ev, sizeof(ev)), as);
	}
	if (n < 0 || (size_t)n >= len - o ||
	    audit_json_member(buf, len, "host", f->cls.host))
		goto full;
	o = strlen(buf);
	n = snprintf(buf + o, len - o,
		     ",\"direction\":\"%s\",\"action\":\"%s\","
		     "\"decided_at\":\"%s\",\"decided_pkt\":%u,\"enforced\":%s,"
		     "\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64,
		     f->inbound ? "inbound" : "outbound",
		     action_name(f->action),
		     flow_decided_at_name(f->decided_at), f->decided_pkt,
		     audit_enforced(f) ? "true" : "false",
		     f->pkts[0] + f->pkts[1], f->bytes[0] + f->bytes[1]);
	if (n < 0 || (size_t)n >= len - o)
		goto full;
	return audit_media_fields(buf, len, f->media, f->dscp);
full:
	return -1;
}

int audit_policy_digest(const struct policy *p, char hex[AUDIT_HEX])
{
	uint8_t h[AUDIT_HASH];
	char *text = policy_format(p);
	int rc = text ? audit_sha256(text, strlen(text), h) : -1;

	free(text);
	if (rc == 0)
		audit_hex(h, AUDIT_HASH, hex);
	else
		snprintf(hex, AUDIT_HEX, "-");
	return rc;
}

void audit_default_node(const char *given, char out[AUDIT_NODE_LEN])
{
	size_t i;

	if (given) {
		snprintf(out, AUDIT_NODE_LEN, "%s", given);
		return;
	}
	if (gethostname(out, AUDIT_NODE_LEN) != 0 || !out[0])
		snprintf(out, AUDIT_NODE_LEN, "localhost");
	out[AUDIT_NODE_LEN - 1] = '\0';
	/* a host name that --node-id would refuse is made one it takes */
	for (i = 0; out[i]; i++)
		if (!audit_node_ok((char[]){ out[i], 0 }))
			out[i] = '-';
}
