/* What a classifier says about a flow: the app ids skyfence names, how
 * sure the label is and what it rests on (evidence.c names them). The
 * classifier (classify/) fills it; the core, the policy and the audit
 * read it. */
#ifndef SKYFENCE_EVIDENCE_H
#define SKYFENCE_EVIDENCE_H

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

#endif
