/* Application classification. src/classify.c is the only file that includes
 * nDPI's headers: a newer nDPI is a change to that file alone.
 */
#ifndef SKYFENCE_CLASSIFY_H
#define SKYFENCE_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

/* nDPI 4.2 protocol ids skyfence names itself; classify.c asserts at compile
 * time that they equal nDPI's own constants. */
#define SF_PROTO_UNKNOWN 0
#define SF_PROTO_SKYPE_CALL 38	 /* NDPI_PROTOCOL_SKYPE_CALL "SkypeCall" */
#define SF_PROTO_SKYPE_TEAMS 125 /* NDPI_PROTOCOL_SKYPE_TEAMS "Skype_Teams" */
#define SF_PROTO_TEAMS 250	 /* NDPI_PROTOCOL_MSTEAMS "Teams" */
/* the carriers of names skyfence reads itself (appmsg.h) */
#define SF_PROTO_DNS 5
#define SF_PROTO_HTTP 7
#define SF_PROTO_STUN 78
#define SF_PROTO_TLS 91
#define SF_PROTO_HTTP_PROXY 131
#define SF_PROTO_SOCKS 172
#define SF_PROTO_QUIC 188

/* Same order as nDPI's ndpi_confidence_t: a larger value is more certain. */
enum cls_confidence {
	CLS_CONF_UNKNOWN = 0,
	CLS_CONF_PORT,	/* "Match by port": guessed from L4 ports */
	CLS_CONF_IP,	/* "Match by IP": guessed from address lists */
	CLS_CONF_CACHE, /* "DPI (cache)": another flow's DPI result */
	CLS_CONF_DPI,	/* "DPI": found by dissection */
	CLS_CONF_MAX,
};

#define CLS_HOST_LEN 80

/* What a label rests on (classify.c reads it from nDPI 4.2's state). A
 * name match that skyfence rejected (the name is outside the namespace
 * nDPI's pattern stands for, names.h) keeps its kind, with
 * cls_result.rejected set: the policy then sees the master protocol. */
enum cls_evidence {
	CLS_EV_NONE = 0,  /* no application */
	CLS_EV_PAYLOAD,	  /* the protocol's own dissector */
	CLS_EV_SNI,	  /* TLS / DTLS / QUIC server name */
	CLS_EV_HTTP_HOST, /* HTTP Host line */
	CLS_EV_DNS_NAME,  /* DNS query name */
	CLS_EV_CERT,	  /* a name in the server's TLS certificate */
	CLS_EV_STUN,	  /* STUN attributes */
	CLS_EV_HEURISTIC, /* nDPI 4.2's Skype UDP payload heuristic */
	CLS_EV_ADDRESS,	  /* nDPI's address list */
	CLS_EV_PORT,	  /* the port alone (guessing) */
	CLS_EV_CACHE,	  /* another flow's result (nDPI's caches) */
	CLS_EV_SIGNATURE, /* skyfence's address signatures: address + port */
	CLS_EV_MARK,	  /* the app id in a conntrack mark (a restart) */
	CLS_EV_PROXY,	  /* a proxy request's target (absolute-form,
			   * CONNECT, SOCKS) */
	/* what skyfence cannot read, and so never allows blind where a
	 * department drops something (engine.c): */
	CLS_EV_MIDSTREAM,    /* a TCP flow whose start was not seen */
	CLS_EV_QUIC_VERSION, /* QUIC of a version nDPI cannot dissect */
	CLS_EV_UNREADABLE,   /* a message too large, or framed so that what
			      * the server reads is not known */
	CLS_EV_ECH, /* a ClientHello with Encrypted ClientHello: offered to
		     * the rules as TLS (protocol TLS evidence ech drop) */
	CLS_EV_MAX,
};

/* "payload", "sni", ...; "none" for CLS_EV_NONE or out of range
 * (policy.c: the policy language names them too). */
const char *cls_evidence_name(uint8_t ev);
/* The kind named @name, or -1. */
int cls_evidence_id(const char *name);

/* Ids as ndpiReader prints them ("91.125" -> master 91, app 125; "5" ->
 * master 0, app 5): master is 0 unless it differs from a known app. */
struct cls_result {
	uint16_t master, app;
	uint16_t category;
	uint8_t confidence; /* enum cls_confidence */
	/* With CLS_NAMED: another app id nDPI may still report for the flow
	 * (0: none). nDPI 4.2 reports a Skype UDP flow as Teams on packets
	 * whose source sent Teams over TCP in the last 60 s, and as Skype on
	 * the others (ndpi_reconcile_protocols, msteams_cache): the flow's
	 * label then depends on its last packet. Set when this packet's
	 * label is such a Teams (the other end's may be Skype); a Skype
	 * label whose other end does Teams later is not foreseen (README,
	 * Known limits). */
	uint16_t alt_app;
	uint8_t evidence; /* enum cls_evidence */
	/* a Skype/Teams name match inside an unrelated registered domain:
	 * the label stays nDPI's, the policy sees the master protocol */
	uint8_t rejected;
	char host[CLS_HOST_LEN]; /* SNI / HTTP Host / DNS query, or "" */
};

struct cls_opts {
	uint32_t max_flows;	 /* flows under inspection at once */
	uint32_t max_tcp_pkts;	 /* give up after this many packets (80) */
	uint32_t max_udp_pkts;	 /* (24), the limits of ndpiReader */
	int guess;		 /* at give-up, guess from IP/port lists */
	const char *protos_file; /* nDPI protocols file, or NULL */
};

/* CLS_NAMED: the application in the result is final (nDPI 4.2 does not
 * change it with further dissection, see classify.c), but nDPI would still
 * read metadata (a certificate, an HTTP response, a DNS answer): the flow
 * can be decided at this packet, and fed on for the record. */
enum cls_state { CLS_MORE = 0, CLS_DONE = 1, CLS_NAMED = 2 };

struct classifier;
struct pkt;

/* Returns NULL and a message in @err on failure. */
struct classifier *classifier_open(const struct cls_opts *o, char *err,
				   size_t errlen);
void classifier_close(struct classifier *c);

/* Takes a per-flow state from the pool: a slot >= 0, or -1 if none is free. */
int32_t classifier_flow_new(struct classifier *c);
void classifier_flow_free(struct classifier *c, int32_t slot);

/* Feeds one packet of a flow that has seen @flow_pkts packets including
 * this one (nDPI gets it from its IP header). Returns CLS_DONE once the
 * result in @r is final: detected and nothing more to dissect, or the
 * packet limit passed (then it has given up); CLS_NAMED when the
 * application is final but nDPI has metadata left to read (feeding more
 * packets may then change @r's host and category, not its ids). */
enum cls_state classifier_feed(struct classifier *c, int32_t slot,
			       const struct pkt *p, uint64_t now_ms,
			       uint64_t flow_pkts, struct cls_result *r);

/* Whether a flow of @flow_pkts packets, @p among them, is past the packet
 * limit (the result then came from giving up). */
int classifier_gave_up(const struct classifier *c, uint64_t flow_pkts,
		       const struct pkt *p);

/* One packet alone, on a fresh per-flow state (a datagram that starts a
 * message after junk on a flow nDPI gave up on). As classifier_feed. */
enum cls_state classifier_one_shot(struct classifier *c, const struct pkt *p,
				   uint64_t now_ms, struct cls_result *r);

/* The app nDPI's host table gives a name (lower case, no trailing dot:
 * appmsg.h's form), 0 if none; a Skype or Teams match the look-alike
 * check rejects (hostns.h) is 0 with *rejected set. */
uint16_t classifier_name_app(struct classifier *c, const char *name,
			     uint8_t *rejected);

/* Final result for a flow that ends before classifier_feed said DONE. */
void classifier_giveup(struct classifier *c, int32_t slot,
		       struct cls_result *r);

/* Names. Unknown ids give "Unknown". */
const char *classifier_proto_name(struct classifier *c, uint16_t id);
const char *classifier_category_name(struct classifier *c, uint16_t id);
const char *classifier_confidence_name(uint8_t conf);
/* "Master.App" or "App", as ndpiReader prints a flow's protocol. */
char *classifier_format_proto(struct classifier *c, const struct cls_result *r,
			      char *buf, size_t len);

/* nDPI's category for protocol @id. */
uint16_t classifier_proto_category(struct classifier *c, uint16_t id);

/* Case-insensitive lookups: an id >= 0, or -1. */
int classifier_proto_id(struct classifier *c, const char *name);
int classifier_category_id(struct classifier *c, const char *name);
/* Number of protocol ids (valid ids are 0 .. count-1). */
unsigned classifier_proto_count(struct classifier *c);
unsigned classifier_category_count(struct classifier *c);

/* The nDPI library version string. */
const char *classifier_version(void);

#endif
