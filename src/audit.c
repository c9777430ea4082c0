/* audit.c - one audit record (JSON line) per logged decision or flow end
 * (audit.h). */
#include "skyfence/audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "skyfence/classify.h"
#include "skyfence/flow.h"
#include "skyfence/pkt.h"
#include "skyfence/policy.h"

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

char *audit_format(char *buf, size_t len, const char *event, uint64_t ts_ms,
		   const struct flow *f, const struct policy *p,
		   struct classifier *c)
{
	char key[FLOW_KEY_STRLEN], proto[64], host[CLS_HOST_LEN];
	char rule[POLICY_TEXT_LEN], ini[PKT_ADDR_STRLEN];
	const struct policy_dept *d = &p->depts[f->dept];
	uint16_t port;

	flow_key_format(&f->key, key, sizeof(key));
	classifier_format_proto(c, &f->cls, proto, sizeof(proto));
	audit_clean_text(f->cls.host, host, sizeof(host));
	audit_clean_text(f->rule >= 0 ? d->rules[f->rule].text
			 : f->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
							     : "",
			 rule, sizeof(rule));
	pkt_addr_format(flow_initiator(f, &port), 0, ini, sizeof(ini));
	snprintf(buf, len,
		 "{\"ts_ms\":%" PRIu64 ",\"event\":\"%s\",\"flow\":\"%s\","
		 "\"initiator\":\"%s\",\"initiator_port\":%u,"
		 "\"department\":\"%s\",\"rule\":\"%s\",\"app\":\"%s\","
		 "\"app_id\":%u,\"confidence\":\"%s\",\"host\":\"%s\","
		 "\"direction\":\"%s\",\"action\":\"%s\","
		 "\"decided_at\":\"%s\",\"decided_pkt\":%u,\"enforced\":%s,"
		 "\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		 ts_ms, event, key, ini, port, d->name, rule, proto, f->cls.app,
		 classifier_confidence_name(f->cls.confidence), host,
		 f->inbound ? "inbound" : "outbound",
		 policy_action_name(f->action),
		 flow_decided_at_name(f->decided_at), f->decided_pkt,
		 audit_enforced(f) ? "true" : "false", f->pkts[0] + f->pkts[1],
		 f->bytes[0] + f->bytes[1]);
	return buf;
}
