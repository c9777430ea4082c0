/* Bounds-checked parsing of captured frames and IP packets into flow facts.
 * Pure: no allocation, no I/O. Every read is checked against the length the
 * caller gives; nothing is kept past the call except pointers into the
 * caller's buffer (pkt.l3), valid as long as that buffer is.
 */
#ifndef SKYFENCE_PKT_H
#define SKYFENCE_PKT_H

#include <stdint.h>

/* Link types, numerically equal to libpcap's DLT_* values. */
enum pkt_linktype {
	PKT_LINK_NULL = 0,     /* BSD loopback, host-order AF_ word */
	PKT_LINK_EN10MB = 1,   /* Ethernet, with 802.1Q/802.1ad tags */
	PKT_LINK_RAW = 101,    /* raw IPv4/IPv6 */
	PKT_LINK_RAW_OLD = 12, /* DLT_RAW on some systems */
	PKT_LINK_LOOP = 108,   /* OpenBSD loopback, network-order AF_ word */
	PKT_LINK_LINUX_SLL = 113,
	PKT_LINK_IPV4 = 228,
	PKT_LINK_IPV6 = 229,
	PKT_LINK_LINUX_SLL2 = 276,
};

enum pkt_status {
	PKT_OK = 0,
	PKT_ERR_TRUNCATED,   /* shorter than its headers say */
	PKT_ERR_LINKTYPE,    /* unsupported link type */
	PKT_ERR_NOT_IP,	     /* ARP, STP, LLDP, ... */
	PKT_ERR_BAD_IP,	     /* version, header length or total length wrong */
	PKT_ERR_FRAGMENT,    /* not the first fragment: carries no ports */
	PKT_ERR_EXT_HEADERS, /* IPv6 extension header chain too long or broken */
	PKT_ERR_BAD_L4,	     /* TCP/UDP header does not fit */
	PKT_ERR_TUNNEL_DEPTH, /* IP-in-IP nested too deep */
	PKT_STATUS_MAX,
};

/* Limits that make hostile input cheap to reject. */
#define PKT_MAX_VLAN_TAGS 4
#define PKT_MAX_EXT_HEADERS 8
#define PKT_MAX_TUNNEL_DEPTH 2

#define PKT_TCP_FIN 0x01 /* in pkt.tcp_flags */
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

struct pkt {
	const uint8_t *l3; /* innermost IP header (what nDPI is given) */
	uint32_t l3_len;   /* bytes available from l3 to the end of capture */
	uint32_t wire_len; /* bytes counted for the packet (captured frame) */
	const uint8_t *l4; /* the TCP/UDP header (l3 for other protocols) */
	const uint8_t *l4_payload; /* into the caller's buffer */
	uint32_t l4_payload_len;
	uint8_t src[16]; /* IPv4 as ::ffff:a.b.c.d, IPv6 as is */
	uint8_t dst[16];
	uint16_t sport, dport; /* 0 for protocols without ports */
	uint16_t vlan;	       /* innermost 802.1Q VLAN id, 0 if none */
	uint8_t family;	       /* 4 or 6 */
	uint8_t l4proto;       /* IPPROTO_* after extension headers */
	uint8_t tcp_flags;
	uint8_t first_fragment; /* more fragments follow; ports are from this one */
	/* the TCP checksum is not to be verified: the kernel completes it
	 * on the way out (NFQA_SKB_CSUMNOTREADY: a packet from a local
	 * stack, or a GSO super-packet). Set by the caller after parsing;
	 * 0 from pkt_parse_*. */
	uint8_t csum_skip;
};

/* Parses a captured frame of @linktype. Returns PKT_OK, or the reason the
 * frame cannot be attributed to a flow (@p is then unspecified). */
enum pkt_status pkt_parse_frame(const uint8_t *frame, uint32_t caplen,
				int linktype, struct pkt *p);

/* Parses a packet that starts with its IPv4 or IPv6 header (the NFQUEUE
 * payload). @len is the number of bytes available. */
enum pkt_status pkt_parse_ip(const uint8_t *ip, uint32_t len, uint16_t vlan,
			     struct pkt *p);

const char *pkt_status_name(enum pkt_status s);
/* Whether an inline gateway drops a packet that failed with @s: its
 * transport is past what the parser follows (PKT_ERR_EXT_HEADERS,
 * PKT_ERR_TUNNEL_DEPTH) or broken (PKT_ERR_BAD_L4, PKT_ERR_BAD_IP), so
 * accepting it would let a flow's packets pass uninspected. */
int pkt_status_refused(enum pkt_status s);

/* Address helpers for the ::ffff:a.b.c.d representation above. */
int pkt_addr_is_v4(const uint8_t a[16]);
/* Writes the address as text. ndpi_compat != 0 applies ndpiReader 4.2's
 * rewrite of every ":0:" to "::" (ndpi_patchIPv6Address), which the
 * reference verdicts' flow keys carry; it can yield a non-canonical string.
 * Returns @buf. */
char *pkt_addr_format(const uint8_t a[16], int ndpi_compat, char *buf,
		      unsigned len);

#define PKT_ADDR_STRLEN 48

#endif
