/* Application classification. src/classify.c is the only file that includes
 * nDPI's headers: a newer nDPI is a change to that file alone.
 */
#ifndef SKYFENCE_CLASSIFY_H
#define SKYFENCE_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "core/evidence.h"

struct cls_opts {
	uint32_t max_flows;	 /* flows under inspection at once */
	uint32_t max_tcp_pkts;	 /* give up after this many packets (80) */
	uint32_t max_udp_pkts;	 /* (24), the limits of ndpiReader */
	int guess;		 /* at give-up, guess from IP/port lists */
	const char *protos_file; /* nDPI protocols file, or NULL */
	/* The lean module (classifier_flow_new's @lean): nDPI with only the
	 * dissectors of the protocol ids @lean[id] != 0 (0 <= id < n_lean),
	 * classifier_lean_base()'s among them. NULL: no lean module. */
	const uint8_t *lean;
	uint32_t n_lean;
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

/* Takes a per-flow state from the pool: a slot >= 0, or -1 if none is
 * free. @lean: the flow is read with the lean module, if there is one
 * (fewer dissectors: cheaper first packets, fewer labels), for its whole
 * life. */
int32_t classifier_flow_new(struct classifier *c, int lean);
/* Puts up to @chunk more bytes of the per-flow states in memory ahead of
 * use (core/bigmem.h); 1 while some is left. The owner's thread. */
int classifier_warm(struct classifier *c, size_t chunk);

/* Sets @want[id] for the protocols skyfence's own reading relies on
 * (Skype and Teams, and what names or carries them: TLS, HTTP, DNS, QUIC,
 * STUN, DTLS, RTP, proxies), ids below @n, then for the dissectors that
 * name a protocol @want holds under another protocol's id (nDPI's smb.c
 * names SMBv1, jabber.c TruPhone, ...). Call it last. */
void classifier_lean_base(uint8_t *want, uint32_t n);
/* Whether the lean module exists and runs the dissector of every
 * protocol @want[id] != 0 (0 <= id < n). */
int classifier_lean_covers(const struct classifier *c, const uint8_t *want,
			   uint32_t n);
/* How many protocol ids the lean module runs dissectors for; 0: none. */
uint32_t classifier_lean_count(const struct classifier *c);
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
int classifier_past_limit(const struct classifier *c, uint64_t flow_pkts,
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
void classifier_flow_final(struct classifier *c, int32_t slot,
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
