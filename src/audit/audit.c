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

/* Appending to a record without printf: a flood of new flows formats one
 * record each, and vsnprintf was most of what that cost. */
struct out {
	char *buf;
	size_t len, o;
	int full;
};

static void put(struct out *w, const char *s)
{
	size_t n = strlen(s);

	if (w->full || w->o + n >= w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->o, s, n + 1);
	w->o += n;
}

static void put_u64(struct out *w, uint64_t v)
{
	char t[24];
	int i = (int)sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put(w, t + i);
}

/* ,"k1":"s1","k2":"s2",... for @n pairs, the strings as given. */
static void put_strings(struct out *w, const char *const *kv, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		put(w, ",\"");
		put(w, kv[2 * i]);
		put(w, "\":\"");
		put(w, kv[2 * i + 1]);
		put(w, "\"");
	}
}

/* The record so far, after audit_json_member and its kind. */
static struct out out_at(char *buf, size_t len)
{
	struct out w = { buf, len, strlen(buf), 0 };

	return w;
}

int audit_flow_fields(char *buf, size_t len, const char *event, uint64_t ts_ms,
		      const struct flow *f, const struct policy *p,
		      struct classifier *c)
{
	char key[FLOW_KEY_STRLEN], proto[64], ini[PKT_ADDR_STRLEN];
	char ev[FLOW_EVIDENCE_LEN], as[64];
	const struct policy_dept *d = &p->depts[f->dept];
	struct cls_result pr = f->cls;
	struct out w = out_at(buf, len);
	uint16_t port;

	flow_key_format(&f->key, key, sizeof(key));
	classifier_format_proto(c, &f->cls, proto, sizeof(proto));
	pkt_addr_format(flow_initiator(f, &port), 0, ini, sizeof(ini));
	if (w.o)
		put(&w, ",");
	put(&w, "\"ts_ms\":");
	put_u64(&w, ts_ms);
	put_strings(&w,
		    (const char *const[]){ "event", event, "flow", key,
					   "initiator", ini },
		    3);
	put(&w, ",\"initiator_port\":");
	put_u64(&w, port);
	if (w.full || audit_json_member(buf, len, "department", d->name) ||
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
		return -1;
	pr.master = f->pol_master;
	pr.app = f->pol_app;
	classifier_format_proto(c, &pr, as, sizeof(as));
	w = out_at(buf, len);
	put(&w, ",\"app_id\":");
	put_u64(&w, f->cls.app);
	put_strings(&w,
		    (const char *const[]){
			    "confidence",
			    classifier_confidence_name(f->cls.confidence),
			    "evidence", flow_evidence_format(f, ev, sizeof(ev)),
			    "decided_as", as },
		    3);
	if (f->overload)
		put(&w, ",\"dissectors\":\"policy\"");
	if (w.full || audit_json_member(buf, len, "host", f->cls.host))
		return -1;
	w = out_at(buf, len);
	put_strings(&w,
		    (const char *const[]){
			    "direction", f->inbound ? "inbound" : "outbound",
			    "action", action_name(f->action), "decided_at",
			    flow_decided_at_name(f->decided_at) },
		    3);
	put(&w, ",\"decided_pkt\":");
	put_u64(&w, f->decided_pkt);
	put(&w, ",\"enforced\":");
	put(&w, audit_enforced(f) ? "true" : "false");
	put(&w, ",\"pkts\":");
	put_u64(&w, f->pkts[0] + f->pkts[1]);
	put(&w, ",\"bytes\":");
	put_u64(&w, f->bytes[0] + f->bytes[1]);
	if (w.full)
		return -1;
	return audit_media_fields(buf, len, f->media, f->dscp);
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
