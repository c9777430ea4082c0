/* The only user of nDPI. It reproduces how Debian's ndpiReader 4.2
 * (example/reader_util.c) drives the library, so that a flow gets the
 * verdict the reference reader gives it:
 * - every packet of the flow, both directions, is fed from its IP header
 *   with the captured length, until the app protocol is known and nDPI has
 *   no extra dissection pending (TLS certificate, ...), or the flow has
 *   passed the packet limit (24 UDP / 80 TCP), whichever comes first;
 * - at the limit, or when the flow ends undetected, ndpi_detection_giveup()
 *   decides, with IP/port guessing only if asked for.
 */
#include "classify/classify.h"
#include "classify/hostns.h"
#include "core/bigmem.h"
#include "core/names.h"
#include "core/pkt.h"
#include "core/stun.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include <ndpi_api.h>
#include <ndpi_main.h>

_Static_assert(NDPI_PROTOCOL_SKYPE_CALL == SF_PROTO_SKYPE_CALL, "nDPI ids");
_Static_assert(NDPI_PROTOCOL_SKYPE_TEAMS == SF_PROTO_SKYPE_TEAMS, "nDPI ids");
_Static_assert(NDPI_PROTOCOL_MSTEAMS == SF_PROTO_TEAMS, "nDPI ids");
_Static_assert(NDPI_PROTOCOL_DNS == SF_PROTO_DNS &&
		       NDPI_PROTOCOL_HTTP == SF_PROTO_HTTP &&
		       NDPI_PROTOCOL_STUN == SF_PROTO_STUN &&
		       NDPI_PROTOCOL_TLS == SF_PROTO_TLS &&
		       NDPI_PROTOCOL_HTTP_PROXY == SF_PROTO_HTTP_PROXY &&
		       NDPI_PROTOCOL_SOCKS == SF_PROTO_SOCKS &&
		       NDPI_PROTOCOL_QUIC == SF_PROTO_QUIC,
	       "nDPI ids");
_Static_assert(NDPI_CONFIDENCE_UNKNOWN == (int)CLS_CONF_UNKNOWN &&
		       NDPI_CONFIDENCE_MATCH_BY_PORT == (int)CLS_CONF_PORT &&
		       NDPI_CONFIDENCE_MATCH_BY_IP == (int)CLS_CONF_IP &&
		       NDPI_CONFIDENCE_DPI_CACHE == (int)CLS_CONF_CACHE &&
		       NDPI_CONFIDENCE_DPI == (int)CLS_CONF_DPI,
	       "confidence order");

struct classifier {
	struct ndpi_detection_module_struct *ndpi;
	/* the lean module (cls_opts.lean), NULL if none; lean_set[id] for
	 * each of its protocols (n_protos); use_lean[slot]: the flow's */
	struct ndpi_detection_module_struct *lean;
	uint8_t *lean_set, *use_lean;
	uint32_t n_lean_set;
	/* classifier_one_shot's own module: nDPI keeps caches per module
	 * (STUN, Teams, Ookla, ...), and a datagram read alone must leave
	 * no trace in the ones the flows are read with */
	struct ndpi_detection_module_struct *once;
	uint8_t *flows;	   /* max_flows nDPI flow structs */
	size_t flows_warm; /* bytes of them in memory (bigmem_warm) */
	size_t flow_size;
	int32_t *free_next;
	int32_t free_head;
	uint8_t *busy;
	uint8_t *stun_seen; /* the IPv6 STUN check looked at this flow */
	uint32_t (*v4)[2];  /* the flow's IPv4 addresses (network order) */
	uint8_t *l4;	    /* its IPPROTO_* */
	/* the look-alike check of its name, done once (nDPI sets a flow's
	 * name once): 0 not yet, 1 the name counts, 2 rejected */
	uint8_t *ns;
	/* its client: the source address of its first packet (hashed) */
	uint64_t *ep;
	uint8_t *attrs; /* a packet of it carried Skype's STUN attributes */
	/* clients whose own STUN carried Skype's attributes. nDPI 4.2
	 * labels a STUN flow Skype from its cache, keyed by a 32-bit sum of
	 * address and port of either end, with the confidence of DPI: after
	 * engineering's Skype STUN to a relay, finance's ordinary STUN to it
	 * was STUN.Teams. A Skype label on a flow none of whose packets
	 * carried the attributes counts only for a client in here: one
	 * host's call never names another host's flows. Direct-mapped. */
	uint64_t seen[4096];
	int32_t scratch; /* the slot classifier_one_shot uses */
	struct cls_opts o;
	unsigned n_protos;
};

/* One nDPI module: the dissectors of every protocol, or of those @set[id]
 * names (id < @n); the protocols file if any. Host names, address lists
 * and ports stay whole either way (they are not dissectors): a TLS or
 * QUIC flow still gets every name-based label. */
static struct ndpi_detection_module_struct *module_open(const char *protos_file,
							const uint8_t *set,
							uint32_t n, char *err,
							size_t errlen)
{
	struct ndpi_detection_module_struct *m;
	NDPI_PROTOCOL_BITMASK all;
	uint32_t i;

	m = ndpi_init_detection_module(ndpi_no_prefs);
	if (!m) {
		snprintf(err, errlen, "classifier: %s", strerror(ENOMEM));
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	if (set) {
		NDPI_BITMASK_RESET(all);
		for (i = 0; i < n && i < NDPI_NUM_BITS; i++)
			if (set[i])
				NDPI_ADD_PROTOCOL_TO_BITMASK(all, i);
	}
	ndpi_set_protocol_detection_bitmask2(m, &all);
	if (protos_file && ndpi_load_protocols_file(m, protos_file) != 0) {
		snprintf(err, errlen, "%s: cannot load nDPI protocols file",
			 protos_file);
		ndpi_exit_detection_module(m);
		return NULL;
	}
	ndpi_finalize_initialization(m);
	return m;
}

void classifier_lean_base(uint8_t *want, uint32_t n)
{
	static const uint16_t base[] = {
		NDPI_PROTOCOL_SKYPE_TEAMS,  NDPI_PROTOCOL_SKYPE_CALL,
		NDPI_PROTOCOL_MSTEAMS,	    NDPI_PROTOCOL_STUN,
		NDPI_PROTOCOL_TLS,	    NDPI_PROTOCOL_HTTP,
		NDPI_PROTOCOL_DNS,	    NDPI_PROTOCOL_QUIC,
		NDPI_PROTOCOL_DTLS,	    NDPI_PROTOCOL_RTP,
		NDPI_PROTOCOL_RTCP,	    NDPI_PROTOCOL_HTTP_PROXY,
		NDPI_PROTOCOL_HTTP_CONNECT, NDPI_PROTOCOL_SOCKS,
	};
	/* Protocols nDPI 4.2 names from another protocol's dissector
	 * (lib/protocols/: smb.c is registered as SMBv23 and names SMBv1
	 * and NetBIOS, netbios.c SMBv1, jabber.c TruPhone, gtp.c GTP-C/U
	 * and GTP', non_tcp_udp.c every IP protocol and VRRP (ip[]),
	 * mail_imap.c IMAPS, h323.c RDP, sip.c and hangout.c STUN,
	 * hangout.c Google, rtsp.c RTP and RTCP): wanting one wants those
	 * dissectors too. tests/captures/dissectors.sh tries a rule for
	 * each protocol the reference captures hold. */
	static const struct {
		uint16_t id, by[2];
	} deps[] = {
		{ NDPI_PROTOCOL_SMBV1,
		  { NDPI_PROTOCOL_SMBV23, NDPI_PROTOCOL_NETBIOS } },
		{ NDPI_PROTOCOL_NETBIOS, { NDPI_PROTOCOL_SMBV23 } },
		{ NDPI_PROTOCOL_TRUPHONE, { NDPI_PROTOCOL_JABBER } },
		{ NDPI_PROTOCOL_GTP_C, { NDPI_PROTOCOL_GTP } },
		{ NDPI_PROTOCOL_GTP_U, { NDPI_PROTOCOL_GTP } },
		{ NDPI_PROTOCOL_GTP_PRIME, { NDPI_PROTOCOL_GTP } },
		{ NDPI_PROTOCOL_MAIL_IMAPS, { NDPI_PROTOCOL_MAIL_IMAP } },
		{ NDPI_PROTOCOL_RDP, { NDPI_PROTOCOL_H323 } },
		{ NDPI_PROTOCOL_STUN,
		  { NDPI_PROTOCOL_SIP, NDPI_PROTOCOL_HANGOUT_DUO } },
		{ NDPI_PROTOCOL_GOOGLE, { NDPI_PROTOCOL_HANGOUT_DUO } },
		{ NDPI_PROTOCOL_RTP, { NDPI_PROTOCOL_RTSP } },
		{ NDPI_PROTOCOL_RTCP, { NDPI_PROTOCOL_RTSP } },
	};
	static const uint16_t ip[] = {
		NDPI_PROTOCOL_IP_VRRP,	   NDPI_PROTOCOL_IP_IPSEC,
		NDPI_PROTOCOL_IP_GRE,	   NDPI_PROTOCOL_IP_ICMP,
		NDPI_PROTOCOL_IP_IGMP,	   NDPI_PROTOCOL_IP_EGP,
		NDPI_PROTOCOL_IP_SCTP,	   NDPI_PROTOCOL_IP_OSPF,
		NDPI_PROTOCOL_IP_IP_IN_IP, NDPI_PROTOCOL_IP_ICMPV6,
	};
	size_t i, k, more = 1;
	int any_ip = 0;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (base[i] < n)
			want[base[i]] = 1;
	/* one dissector names every IP protocol, whichever of their ids
	 * enabled it */
	for (i = 0; i < sizeof(ip) / sizeof(ip[0]); i++)
		any_ip |= ip[i] < n && want[ip[i]];
	for (i = 0; any_ip && i < sizeof(ip) / sizeof(ip[0]); i++)
		if (ip[i] < n)
			want[ip[i]] = 1;
	/* to a fixed point: a dependency may have its own */
	while (more) {
		more = 0;
		for (i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
			if (deps[i].id >= n || !want[deps[i].id])
				continue;
			for (k = 0; k < 2 && deps[i].by[k]; k++)
				if (deps[i].by[k] < n && !want[deps[i].by[k]])
					want[deps[i].by[k]] = 1, more = 1;
		}
	}
}

/* The lean module, on @o->lean and the base set. */
static int lean_open(struct classifier *c, const struct cls_opts *o, char *err,
		     size_t errlen)
{
	uint32_t n = ndpi_get_num_supported_protocols(c->ndpi), i;

	c->lean_set = calloc(n ? n : 1, 1);
	if (!c->lean_set) {
		snprintf(err, errlen, "classifier: %s", strerror(ENOMEM));
		return -1;
	}
	for (i = 0; i < n && i < o->n_lean; i++)
		c->lean_set[i] = o->lean[i] != 0;
	classifier_lean_base(c->lean_set, n);
	c->n_lean_set = n;
	c->lean = module_open(o->protos_file, c->lean_set, n, err, errlen);
	return c->lean ? 0 : -1;
}

int classifier_lean_covers(const struct classifier *c, const uint8_t *want,
			   uint32_t n)
{
	uint32_t i;

	if (!c->lean)
		return 0;
	for (i = 0; i < n; i++)
		if (want[i] && (i >= c->n_lean_set || !c->lean_set[i]))
			return 0;
	return 1;
}

uint32_t classifier_lean_count(const struct classifier *c)
{
	uint32_t i, k = 0;

	for (i = 0; c->lean && i < c->n_lean_set; i++)
		k += c->lean_set[i];
	return k;
}

struct classifier *classifier_open(const struct cls_opts *o, char *err,
				   size_t errlen)
{
	struct classifier *c;
	uint32_t i;

	if (o->max_flows == 0 || o->max_flows > (1u << 24)) {
		snprintf(err, errlen, "classifier: max_flows out of range");
		return NULL;
	}
	if (hostns_init(err, errlen) != 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->o = *o;
	c->o.protos_file = NULL;
	c->o.lean = NULL;
	c->ndpi = module_open(o->protos_file, NULL, 0, err, errlen);
	if (!c->ndpi) {
		classifier_close(c);
		return NULL;
	}
	if (o->lean && lean_open(c, o, err, errlen) != 0) {
		classifier_close(c);
		return NULL;
	}
	c->once = module_open(o->protos_file, NULL, 0, err, errlen);
	if (!c->once) {
		classifier_close(c);
		return NULL;
	}
	{
		/* nDPI 4.2's process-wide state: the bigram tables, built by
		 * the first ndpi_finalize_initialization() (above, in the
		 * control thread, before any worker runs), and the
		 * valid-character table of ndpi_utils.c, built lazily by the
		 * first packet that needs it, unlocked: built here, once,
		 * before a worker can race to build it (they would write the
		 * same bytes, but a race all the same). Everything else it
		 * keeps per module: one module per worker. */
		char probe[] = "skyfence", out[16];

		ndpi_has_human_readeable_string(
			c->ndpi, probe, sizeof(probe) - 1, 3, out, sizeof(out));
	}
	c->n_protos = ndpi_get_num_supported_protocols(c->ndpi);
	c->flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
	/* one slot more than the pool: classifier_one_shot's */
	c->flows = bigmem_alloc(o->max_flows + 1, c->flow_size);
	c->free_next = malloc((o->max_flows + 1) * sizeof(*c->free_next));
	c->busy = calloc(o->max_flows + 1, 1);
	c->stun_seen = calloc(o->max_flows + 1, 1);
	c->v4 = calloc(o->max_flows + 1, sizeof(*c->v4));
	c->l4 = calloc(o->max_flows + 1, 1);
	c->ns = calloc(o->max_flows + 1, 1);
	c->ep = calloc(o->max_flows + 1, sizeof(*c->ep));
	c->attrs = calloc(o->max_flows + 1, 1);
	c->use_lean = calloc(o->max_flows + 1, 1);
	if (!c->use_lean || !c->flows || !c->free_next || !c->busy ||
	    !c->stun_seen || !c->v4 || !c->l4 || !c->ns || !c->ep || !c->attrs)
		goto nomem;
	for (i = 0; i < o->max_flows; i++)
		c->free_next[i] = i + 1 < o->max_flows ? (int32_t)i + 1 : -1;
	c->free_head = 0;
	c->scratch = (int32_t)o->max_flows;
	return c;
nomem:
	snprintf(err, errlen, "classifier: %s", strerror(ENOMEM));
	classifier_close(c);
	return NULL;
}

static struct ndpi_flow_struct *slot_flow(struct classifier *c, int32_t slot)
{
	return (struct ndpi_flow_struct *)(void *)(c->flows +
						   (size_t)slot * c->flow_size);
}

void classifier_close(struct classifier *c)
{
	uint32_t i;

	if (!c)
		return;
	if (c->busy)
		for (i = 0; i <= c->o.max_flows; i++)
			if (c->busy[i])
				ndpi_free_flow_data(slot_flow(c, (int32_t)i));
	if (c->ndpi)
		ndpi_exit_detection_module(c->ndpi);
	if (c->once)
		ndpi_exit_detection_module(c->once);
	if (c->lean)
		ndpi_exit_detection_module(c->lean);
	free(c->lean_set);
	free(c->use_lean);
	bigmem_free(c->flows, c->o.max_flows + 1, c->flow_size);
	free(c->free_next);
	free(c->busy);
	free(c->stun_seen);
	free(c->v4);
	free(c->l4);
	free(c->ns);
	free(c->ep);
	free(c->attrs);
	free(c);
}

static void slot_reset(struct classifier *c, int32_t s)
{
	memset(slot_flow(c, s), 0, c->flow_size);
	c->busy[s] = 1;
	c->stun_seen[s] = 0;
	c->v4[s][0] = c->v4[s][1] = 0;
	c->l4[s] = 0;
	c->ns[s] = 0;
	c->ep[s] = 0;
	c->attrs[s] = 0;
}

int classifier_warm(struct classifier *c, size_t chunk)
{
	return bigmem_warm(c->flows, (size_t)c->o.max_flows + 1, c->flow_size,
			   &c->flows_warm, chunk);
}

int32_t classifier_flow_new(struct classifier *c, int lean)
{
	int32_t s = c->free_head;

	if (s < 0)
		return -1;
	c->free_head = c->free_next[s];
	slot_reset(c, s);
	c->use_lean[s] = lean && c->lean;
	return s;
}

/* The module a flow is read with. */
static struct ndpi_detection_module_struct *flow_module(struct classifier *c,
							int32_t slot)
{
	return c->use_lean[slot] ? c->lean : c->ndpi;
}

void classifier_flow_free(struct classifier *c, int32_t slot)
{
	if (slot < 0 || (uint32_t)slot >= c->o.max_flows || !c->busy[slot])
		return;
	/* Frees what nDPI allocated inside the flow (TLS names, ...). */
	ndpi_free_flow_data(slot_flow(c, slot));
	c->busy[slot] = 0;
	c->free_next[slot] = c->free_head;
	c->free_head = slot;
}

static int ndpi_names(void *ctx, const char *s)
{
	struct classifier *c = ctx;
	ndpi_protocol_match_result m;
	char buf[512];
	int id;

	memset(&m, 0, sizeof(m));
	snprintf(buf, sizeof(buf), "%s", s);
	id = ndpi_match_string_subprotocol(c->ndpi, buf, (u_int)strlen(buf),
					   &m);
	return id > 0 ? id : 0;
}

static int is_skype_id(uint16_t id)
{
	return id == NDPI_PROTOCOL_SKYPE_CALL ||
	       id == NDPI_PROTOCOL_SKYPE_TEAMS || id == NDPI_PROTOCOL_MSTEAMS;
}

/* The source address of a flow's first packet, hashed (FNV-1a), never
 * 0. */
static uint64_t endpoint_key(const struct pkt *pk)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned i;

	for (i = 0; i < 16; i++)
		h = (h ^ pk->src[i]) * 0x100000001b3ull;
	return h | 1;
}

static void endpoint_mark(struct classifier *c, int32_t slot)
{
	if (c->ep[slot])
		c->seen[c->ep[slot] % 4096] = c->ep[slot];
}

static int endpoint_marked(const struct classifier *c, int32_t slot)
{
	return c->ep[slot] && c->seen[c->ep[slot] % 4096] == c->ep[slot];
}

/* The app of one of the flow's IPv4 addresses in nDPI's address list. */
static int address_listed(struct classifier *c, int32_t slot, uint16_t app)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct in_addr a = { c->v4[slot][i] };

		if (a.s_addr && ndpi_network_ptree_match(c->ndpi, &a) == app)
			return 1;
	}
	return 0;
}

/* What the label rests on, read from nDPI 4.2's state (classify.h):
 * - a guess names itself by confidence (port, ip), as does a cache;
 * - a name: TLS/DTLS/QUIC with a sub-protocol from the SNI
 *   (subprotocol_detected), HTTP or DNS with a host name nDPI's host
 *   table gives the app to;
 * - STUN: SkypeCall comes only from its attributes (stun.c sets
 *   guessed_host_protocol_id to it for 0x8054, 0x8055, 0x8070, ...);
 *   another sub-protocol is the address list's, unless no address
 *   has it;
 * - TLS with an app its SNI did not give, and no address with it in the
 *   list: the certificate's names (processCertificateElements);
 * - the Skype UDP heuristic (skype.c) labels a UDP flow without a host
 *   name Skype_Teams.SkypeCall (125.38 as printed) or, from its CRC
 *   check, Skype_Teams alone;
 * - an app over a master it is not, that one of the flow's addresses
 *   has in nDPI's list (TLS.Azure, TLS.Skype_Teams without a name): the
 *   address list.
 * A name-based Skype/Teams label is then checked against the name's
 * registered domain (hostns.h). */
static void set_evidence(struct classifier *c, int32_t slot,
			 const struct ndpi_flow_struct *nf, ndpi_protocol p,
			 struct cls_result *r)
{
	uint16_t m = r->master, a = r->app;
	int named = 0;

	r->rejected = 0;
	if (a == NDPI_PROTOCOL_UNKNOWN) {
		r->evidence = CLS_EV_NONE;
		return;
	}
	switch (nf->confidence) {
	case NDPI_CONFIDENCE_MATCH_BY_PORT:
		r->evidence = CLS_EV_PORT;
		return;
	case NDPI_CONFIDENCE_MATCH_BY_IP:
		r->evidence = CLS_EV_ADDRESS;
		return;
	case NDPI_CONFIDENCE_DPI_CACHE:
		r->evidence = CLS_EV_CACHE;
		return;
	default:
		break;
	}
	/* nDPI's Teams cache (ndpi_reconcile_protocols) */
	if (p.app_protocol == NDPI_PROTOCOL_MSTEAMS &&
	    (nf->detected_protocol_stack[0] == NDPI_PROTOCOL_SKYPE_TEAMS ||
	     nf->detected_protocol_stack[0] == NDPI_PROTOCOL_SKYPE_CALL)) {
		r->evidence = CLS_EV_CACHE;
		return;
	}
	switch (m) {
	case NDPI_PROTOCOL_TLS:
	case NDPI_PROTOCOL_DTLS:
	case NDPI_PROTOCOL_QUIC:
		if (nf->protos.tls_quic.subprotocol_detected) {
			r->evidence = CLS_EV_SNI;
			named = 1;
		} else if (!address_listed(c, slot, a) &&
			   nf->protos.tls_quic.subjectDN) {
			/* processCertificateElements matched it */
			r->evidence = CLS_EV_CERT;
			return;
		}
		break;
	case NDPI_PROTOCOL_HTTP:
	case NDPI_PROTOCOL_DNS:
		if (nf->host_server_name[0] &&
		    ndpi_names(c, nf->host_server_name) == a) {
			r->evidence = m == NDPI_PROTOCOL_HTTP ? CLS_EV_HTTP_HOST
							      : CLS_EV_DNS_NAME;
			named = 1;
		}
		break;
	case NDPI_PROTOCOL_STUN:
		r->evidence = a == NDPI_PROTOCOL_SKYPE_CALL ||
					      !address_listed(c, slot, a)
				      ? CLS_EV_STUN
				      : CLS_EV_ADDRESS;
		if (r->evidence == CLS_EV_STUN && is_skype_id(a) &&
		    !c->attrs[slot]) {
			/* from nDPI's cache: another host's call */
			r->evidence = CLS_EV_CACHE;
			r->rejected = !endpoint_marked(c, slot);
		}
		return;
	default:
		break;
	}
	if (!named) {
		if (c->l4[slot] == IPPROTO_UDP && !nf->host_server_name[0] &&
		    ((m == NDPI_PROTOCOL_SKYPE_TEAMS &&
		      a == NDPI_PROTOCOL_SKYPE_CALL) ||
		     (m == NDPI_PROTOCOL_UNKNOWN &&
		      a == NDPI_PROTOCOL_SKYPE_TEAMS)))
			r->evidence = CLS_EV_HEURISTIC;
		else if (m != NDPI_PROTOCOL_UNKNOWN &&
			 address_listed(c, slot, a))
			r->evidence = CLS_EV_ADDRESS;
		else
			r->evidence = CLS_EV_PAYLOAD;
		return;
	}
	if (!is_skype_id(a))
		return;
	if (!c->ns[slot])
		c->ns[slot] =
			hostns_counts(nf->host_server_name, a, ndpi_names, c)
				? 1
				: 2;
	r->rejected = c->ns[slot] == 2;
}

static void fill_result(const struct ndpi_flow_struct *nf, ndpi_protocol p,
			struct cls_result *r)
{
	uint16_t m = p.master_protocol, a = p.app_protocol;

	/* ndpiReader's printing convention (ndpi_protocol2id) */
	if (a == NDPI_PROTOCOL_UNKNOWN) {
		a = m;
		m = NDPI_PROTOCOL_UNKNOWN;
	} else if (m == a) {
		m = NDPI_PROTOCOL_UNKNOWN;
	}
	r->master = m;
	r->app = a;
	r->category = (uint16_t)p.category;
	r->confidence = (uint8_t)nf->confidence;
	r->alt_app = 0;
	/* a name read exactly from the packet (exact_name) stays while
	 * nDPI's is its normalization */
	if (!r->host[0] || !names_ndpi_spelling(r->host, nf->host_server_name))
		snprintf(r->host, sizeof(r->host), "%s", nf->host_server_name);
}

/* The result and its evidence. */
static void result(struct classifier *c, int32_t slot,
		   const struct ndpi_flow_struct *nf, ndpi_protocol p,
		   struct cls_result *r)
{
	fill_result(nf, p, r);
	set_evidence(c, slot, nf, p, r);
}

/* nDPI 4.2 replaced the name's bytes outside printable ASCII ('?'; in a
 * DNS name a character it does not take, '_'): the name is read again
 * from the packet it came in, and kept if nDPI's is its spelling
 * (names.h). */
static void exact_name(const struct pkt *pk, struct cls_result *r)
{
	char name[CLS_HOST_LEN];
	int n = -1;

	if (!strpbrk(r->host, "?_") || !pk->l4_payload_len)
		return;
	if (pk->l4proto == IPPROTO_TCP)
		n = names_tls_sni(pk->l4_payload, pk->l4_payload_len, name,
				  sizeof(name));
	if (n < 0 && (pk->sport == 53 || pk->dport == 53 || pk->sport == 5353 ||
		      pk->dport == 5353))
		n = names_dns_qname(pk->l4_payload, pk->l4_payload_len,
				    pk->l4proto == IPPROTO_TCP, name,
				    sizeof(name));
	if (n > 0 && names_ndpi_spelling(name, r->host))
		memcpy(r->host, name, (size_t)n + 1);
}

/* nDPI keeps dissecting a detected flow for metadata (certificate, JA3,
 * HTTP response, DNS answers). A label set from a name is final at the
 * packet that carried the name; read from nDPI 4.2's source:
 * - TLS, DTLS, QUIC: a sub-protocol from the SNI is kept; the certificate
 *   is matched only while none is detected (tls.c,
 *   processCertificateElements);
 * - HTTP: the sub-protocol comes from the request's Host line
 *   (check_content_type_and_change_protocol -> ndpi_http_parse_subprotocol).
 *   The response is handled with http_detected set, and once its status
 *   line is parsed check_content_type_and_change_protocol returns at its
 *   first test, so neither its Server line nor its Content-Type reaches
 *   the label or the category; ndpi_int_http_add_connection sets the same
 *   guessed_host_protocol_id again, and ndpi_search_tcp_or_udp returns at
 *   once for a flow with a host name;
 * - DNS: the sub-protocol comes from the query name (dns.c,
 *   ndpi_search_dns, is_query); a response only sets the protocol when
 *   none is detected yet.
 * Not final, and so never decided early: labels by address list (TLS.Azure
 *   may be refined by the certificate), HTTP before its Host line, and the
 *   Skype UDP heuristic, whose extra dissection can still turn a flow into
 *   Zoom or SkypeCall (skype.c, ndpi_check_skype_udp_again).
 * Deciding at the naming packet puts a drop or reject on that packet (an
 * HTTP request naming a Skype host never reaches the server; a DNS query
 * for a Skype name gets no answer). The offline mode feeds the flow on for
 * the record and counts any flow whose ids changed after it was decided
 * (tests/captures/compare.sh asserts none does). */
static int subprotocol_is_final(const struct ndpi_flow_struct *nf,
				ndpi_protocol p)
{
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN ||
	    p.app_protocol == p.master_protocol)
		return 0;
	switch (p.master_protocol) {
	case NDPI_PROTOCOL_TLS:
	case NDPI_PROTOCOL_DTLS:
	case NDPI_PROTOCOL_QUIC:
		/* set by a name match only: an app from an address list
		 * (TLS.Azure) may still be refined by the certificate */
		return nf->protos.tls_quic.subprotocol_detected;
	case NDPI_PROTOCOL_HTTP:
		return nf->host_server_name[0] != '\0' &&
		       p.app_protocol != NDPI_PROTOCOL_HTTP_CONNECT &&
		       p.app_protocol != NDPI_PROTOCOL_HTTP_PROXY;
	case NDPI_PROTOCOL_DNS:
		return nf->host_server_name[0] != '\0';
	default:
		return 0;
	}
}

/* STUN.SkypeCall found by skyfence's IPv6 STUN check (skyfence/stun.h). */
static enum cls_state skype_stun_v6(struct ndpi_flow_struct *nf,
				    struct cls_result *r)
{
	ndpi_protocol p = { NDPI_PROTOCOL_STUN, NDPI_PROTOCOL_SKYPE_CALL,
			    NDPI_PROTOCOL_CATEGORY_VOIP };

	fill_result(nf, p, r);
	r->confidence = CLS_CONF_DPI;
	r->evidence = CLS_EV_STUN;
	r->rejected = 0;
	return CLS_DONE;
}

int classifier_past_limit(const struct classifier *c, uint64_t flow_pkts,
			  const struct pkt *p)
{
	return (p->l4proto == IPPROTO_UDP && flow_pkts > c->o.max_udp_pkts) ||
	       (p->l4proto == IPPROTO_TCP && flow_pkts > c->o.max_tcp_pkts);
}

/* classifier_feed with module @m. */
static enum cls_state feed(struct classifier *c,
			   struct ndpi_detection_module_struct *m, int32_t slot,
			   const struct pkt *pk, uint64_t now_ms,
			   uint64_t flow_pkts, struct cls_result *r)
{
	struct ndpi_flow_struct *nf = slot_flow(c, slot);
	uint32_t len = pk->l3_len;
	ndpi_protocol p;
	int enough;

	enough = classifier_past_limit(c, flow_pkts, pk);
	if (!c->l4[slot]) {
		c->l4[slot] = pk->l4proto;
		c->ep[slot] = endpoint_key(pk);
		if (pk->family == 4) {
			memcpy(&c->v4[slot][0], pk->src + 12, 4);
			memcpy(&c->v4[slot][1], pk->dst + 12, 4);
		}
	}
	/* nDPI takes an unsigned short length; an IP packet is never longer. */
	if (len > 0xffff)
		len = 0xffff;
	if (pk->l4proto == IPPROTO_UDP && !c->attrs[slot] &&
	    stun_message_ok(pk->l4_payload, pk->l4_payload_len) &&
	    stun_is_skype(pk->l4_payload, pk->l4_payload_len)) {
		c->attrs[slot] = 1;
		endpoint_mark(c, slot);
	}
	p = ndpi_detection_process_packet(m, nf, pk->l3, (unsigned short)len,
					  now_ms);
	if (pk->family == 6 && pk->l4proto == IPPROTO_UDP &&
	    !c->stun_seen[slot] &&
	    (p.app_protocol == NDPI_PROTOCOL_UNKNOWN ||
	     p.app_protocol == NDPI_PROTOCOL_STUN) &&
	    stun_message_ok(pk->l4_payload, pk->l4_payload_len)) {
		c->stun_seen[slot] = 1;
		if (stun_is_skype(pk->l4_payload, pk->l4_payload_len))
			return skype_stun_v6(nf, r);
	}
	if (!enough && p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		/* nothing named yet: no evidence to look up */
		fill_result(nf, p, r);
		r->evidence = CLS_EV_NONE;
		r->rejected = 0;
		exact_name(pk, r);
		return CLS_MORE;
	}
	if (!enough && ndpi_extra_dissection_possible(m, nf)) {
		result(c, slot, nf, p, r);
		exact_name(pk, r);
		/* nDPI's Teams cache turned this packet's Skype label into
		 * Teams: the next packet, from the other end, may be Skype
		 * again. The engine decides now only if both agree. */
		if (p.app_protocol == NDPI_PROTOCOL_MSTEAMS &&
		    (nf->detected_protocol_stack[0] ==
			     NDPI_PROTOCOL_SKYPE_TEAMS ||
		     nf->detected_protocol_stack[0] ==
			     NDPI_PROTOCOL_SKYPE_CALL))
			r->alt_app = nf->detected_protocol_stack[0];
		return subprotocol_is_final(nf, p) ? CLS_NAMED : CLS_MORE;
	}
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		uint8_t guessed;

		p = ndpi_detection_giveup(m, nf, (uint8_t)c->o.guess, &guessed);
	}
	result(c, slot, nf, p, r);
	exact_name(pk, r);
	return CLS_DONE;
}

enum cls_state classifier_feed(struct classifier *c, int32_t slot,
			       const struct pkt *pk, uint64_t now_ms,
			       uint64_t flow_pkts, struct cls_result *r)
{
	return feed(c, flow_module(c, slot), slot, pk, now_ms, flow_pkts, r);
}

enum cls_state classifier_one_shot(struct classifier *c, const struct pkt *p,
				   uint64_t now_ms, struct cls_result *r)
{
	enum cls_state cs;

	slot_reset(c, c->scratch);
	memset(r, 0, sizeof(*r));
	cs = feed(c, c->once, c->scratch, p, now_ms, 1, r);
	ndpi_free_flow_data(slot_flow(c, c->scratch));
	c->busy[c->scratch] = 0;
	return cs;
}

uint16_t classifier_name_app(struct classifier *c, const char *name,
			     uint8_t *rejected)
{
	int id = ndpi_names(c, name);

	*rejected = 0;
	if (id <= 0 || (unsigned)id >= c->n_protos)
		return 0;
	if (is_skype_id((uint16_t)id) &&
	    !hostns_counts(name, (uint16_t)id, ndpi_names, c)) {
		*rejected = 1;
		return 0;
	}
	return (uint16_t)id;
}

void classifier_flow_final(struct classifier *c, int32_t slot,
			   struct cls_result *r)
{
	struct ndpi_flow_struct *nf = slot_flow(c, slot);
	uint8_t guessed;
	ndpi_protocol p;

	p = ndpi_detection_giveup(flow_module(c, slot), nf, (uint8_t)c->o.guess,
				  &guessed);
	result(c, slot, nf, p, r);
}

const char *classifier_proto_name(struct classifier *c, uint16_t id)
{
	if (id >= c->n_protos)
		return "Unknown";
	return ndpi_get_proto_name(c->ndpi, id);
}

const char *classifier_category_name(struct classifier *c, uint16_t id)
{
	const char *n;

	if (id >= NDPI_PROTOCOL_NUM_CATEGORIES)
		return "Unspecified";
	n = ndpi_category_get_name(c->ndpi, (ndpi_protocol_category_t)id);
	return n ? n : "Unspecified";
}

const char *classifier_confidence_name(uint8_t conf)
{
	/* ndpi_confidence_get_name() returns NULL for values out of range */
	const char *n =
		conf < CLS_CONF_MAX
			? ndpi_confidence_get_name((ndpi_confidence_t)conf)
			: NULL;

	return n ? n : "Unknown";
}

char *classifier_format_proto(struct classifier *c, const struct cls_result *r,
			      char *buf, size_t len)
{
	/* without printf: a flood formats two a flow's record */
	const char *a = classifier_proto_name(c, r->app);
	const char *m = r->master != SF_PROTO_UNKNOWN
				? classifier_proto_name(c, r->master)
				: NULL;
	size_t na = strlen(a), nm = m ? strlen(m) + 1 : 0;

	if (len == 0)
		return buf;
	if (nm + na >= len) {
		snprintf(buf, len, "%s%s%s", m ? m : "", m ? "." : "", a);
		return buf;
	}
	if (m) {
		memcpy(buf, m, nm - 1);
		buf[nm - 1] = '.';
	}
	memcpy(buf + nm, a, na + 1);
	return buf;
}

uint16_t classifier_proto_category(struct classifier *c, uint16_t id)
{
	ndpi_protocol p = { NDPI_PROTOCOL_UNKNOWN, id,
			    NDPI_PROTOCOL_CATEGORY_UNSPECIFIED };

	if (id >= c->n_protos)
		return NDPI_PROTOCOL_CATEGORY_UNSPECIFIED;
	return (uint16_t)ndpi_get_proto_category(c->ndpi, p);
}

int classifier_proto_id(struct classifier *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->n_protos; i++) {
		const char *n = ndpi_get_proto_name(c->ndpi, (u_int16_t)i);

		if (n && strcasecmp(n, name) == 0)
			return (int)i;
	}
	return -1;
}

int classifier_category_id(struct classifier *c, const char *name)
{
	unsigned i;

	for (i = 0; i < NDPI_PROTOCOL_NUM_CATEGORIES; i++) {
		const char *n = ndpi_category_get_name(
			c->ndpi, (ndpi_protocol_category_t)i);

		if (n && n[0] && strcasecmp(n, name) == 0)
			return (int)i;
	}
	return -1;
}

unsigned classifier_proto_count(struct classifier *c)
{
	return c->n_protos;
}

unsigned classifier_category_count(struct classifier *c)
{
	(void)c;
	return NDPI_PROTOCOL_NUM_CATEGORIES;
}

const char *classifier_version(void)
{
	return ndpi_revision();
}
