/* sf-stuncheck: applies skyfence's STUN check (src/stun.c) to IPv4 UDP
 * flows as the classifier applies it to IPv6 ones (the first STUN message
 * of a flow decides) and prints the key of every flow it flags, so that
 * tests/captures/stun_check.sh can compare it with nDPI 4.2's own IPv4
 * verdicts.   sf-stuncheck FILE... */
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "core/flow.h"
#include "core/pkt.h"
#include "core/stun.h"

#define MAX_FLOWS 65536

/* keys of the flows whose first STUN message was seen */
static char seen[MAX_FLOWS][FLOW_KEY_STRLEN];
static size_t n_seen;

static int first_time(const char *key)
{
	size_t j;

	for (j = 0; j < n_seen; j++)
		if (strcmp(seen[j], key) == 0)
			return 0;
	if (n_seen < MAX_FLOWS)
		snprintf(seen[n_seen++], FLOW_KEY_STRLEN, "%s", key);
	return 1;
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE], key[FLOW_KEY_STRLEN];
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		pcap_t *pc = pcap_open_offline(argv[i], err);
		struct pcap_pkthdr *h;
		const u_char *d;

		if (!pc) {
			fprintf(stderr, "sf-stuncheck: %s\n", err);
			rc = 1;
			continue;
		}
		while (pcap_next_ex(pc, &h, &d) == 1) {
			struct flow_key k;
			struct pkt p;
			int lo;

			if (pkt_parse_frame(d, h->caplen, pcap_datalink(pc),
					    &p) != PKT_OK ||
			    p.family != 4 || p.l4proto != 17 ||
			    !stun_message_ok(p.l4_payload, p.l4_payload_len))
				continue;
			flow_key_from_pkt(&p, &k, &lo);
			flow_key_format(&k, key, sizeof(key));
			if (first_time(key) &&
			    stun_is_skype(p.l4_payload, p.l4_payload_len))
				printf("%s\n", key);
		}
		pcap_close(pc);
	}
	return rc;
}
