/* pkt.c - frame and IP parsing, bounds-checked (pkt.h). */
#include "core/pkt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_PPPOE 0x8864
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define MPLS_MAX_LABELS 8

static const char *const status_names[PKT_STATUS_MAX] = {
	[PKT_OK] = "ok",
	[PKT_ERR_TRUNCATED] = "truncated",
	[PKT_ERR_LINKTYPE] = "unsupported-linktype",
	[PKT_ERR_NOT_IP] = "not-ip",
	[PKT_ERR_BAD_IP] = "bad-ip-header",
	[PKT_ERR_FRAGMENT] = "non-first-fragment",
	[PKT_ERR_EXT_HEADERS] = "bad-ipv6-extension-headers",
	[PKT_ERR_BAD_L4] = "bad-l4-header",
	[PKT_ERR_TUNNEL_DEPTH] = "tunnel-too-deep",
};

int pkt_status_refused(enum pkt_status s)
{
	return s == PKT_ERR_EXT_HEADERS || s == PKT_ERR_TUNNEL_DEPTH ||
	       s == PKT_ERR_BAD_L4 || s == PKT_ERR_BAD_IP;
}

const char *pkt_status_name(enum pkt_status s)
{
	if ((unsigned)s >= PKT_STATUS_MAX)
		return "invalid";
	return status_names[s];
}

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

static void addr_from_v4(uint8_t out[16], const uint8_t *v4)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

int pkt_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

char *pkt_addr_format(const uint8_t a[16], int ndpi_compat, char *buf,
		      unsigned len)
{
	char tmp[PKT_ADDR_STRLEN];
	unsigned i = 0, j = 0;

	if (len == 0)
		return buf;
	if (pkt_addr_is_v4(a)) {
		/* glibc's inet_ntop goes through sprintf: too slow for a
		 * flood's records */
		for (i = 12; i < 16; i++) {
			unsigned v = a[i];

			if (v >= 100)
				tmp[j++] = (char)('0' + v / 100);
			if (v >= 10)
				tmp[j++] = (char)('0' + v / 10 % 10);
			tmp[j++] = (char)('0' + v % 10);
			tmp[j++] = i < 15 ? '.' : '\0';
		}
		if (j > len)
			j = 0, tmp[0] = '\0';
		memcpy(buf, tmp, j ? j : 1);
		return buf;
	}
	if (!inet_ntop(AF_INET6, a, tmp, sizeof(tmp))) {
		buf[0] = '\0';
		return buf;
	}
	while (tmp[i] != '\0' && j + 1 < len) {
		if (ndpi_compat && tmp[i] == ':' && tmp[i + 1] == '0' &&
		    tmp[i + 2] == ':') {
			if (j + 2 >= len)
				break;
			buf[j++] = ':';
			buf[j++] = ':';
			i += 3;
		} else {
			buf[j++] = tmp[i++];
		}
	}
	buf[j] = '\0';
	return buf;
}

static int ext_header_is_skippable(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case 135: /* Mobility */
	case 139: /* HIP */
	case 140: /* Shim6 */
		return 1;
	default:
		return 0;
	}
}

/* Fills ports and payload length from the transport header at @l4. */
static enum pkt_status parse_l4(const uint8_t *l4, uint32_t l4len,
				struct pkt *p)
{
	uint32_t doff;

	p->sport = p->dport = 0;
	p->tcp_flags = 0;
	p->csum_skip = 0;
	p->l4 = l4;
	p->l4_payload = l4;
	p->l4_payload_len = l4len;
	switch (p->l4proto) {
	case IPPROTO_TCP:
		if (l4len < 20)
			return PKT_ERR_BAD_L4;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return PKT_ERR_BAD_L4;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		p->tcp_flags = l4[13];
		p->l4_payload = l4 + doff;
		p->l4_payload_len = l4len - doff;
		break;
	case IPPROTO_UDP:
		if (l4len < 8)
			return PKT_ERR_BAD_L4;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		p->l4_payload = l4 + 8;
		p->l4_payload_len = l4len - 8;
		break;
	default:
		/* ICMP, IGMP, SCTP, ...: one flow per address pair, as
		 * ndpiReader keys them. */
		break;
	}
	return PKT_OK;
}

static enum pkt_status parse_ip(const uint8_t *ip, uint32_t len, int depth,
				struct pkt *p)
{
	const uint8_t *l4;
	uint32_t l4len, hlen, end;
	uint8_t nh;
	unsigned n_ext = 0;

	if (len < 1)
		return PKT_ERR_TRUNCATED;
	p->l3 = ip;
	p->l3_len = len;
	switch (ip[0] >> 4) {
	case 4: {
		uint16_t tot, frag;

		if (len < 20)
			return PKT_ERR_TRUNCATED;
		hlen = (uint32_t)(ip[0] & 0x0f) * 4;
		if (hlen < 20)
			return PKT_ERR_BAD_IP;
		tot = rd16(ip + 2);
		if (tot < hlen)
			return PKT_ERR_BAD_IP;
		if (tot > len)
			return PKT_ERR_TRUNCATED;
		frag = rd16(ip + 6);
		if ((frag & 0x1fff) != 0)
			return PKT_ERR_FRAGMENT;
		p->first_fragment = (frag & 0x2000) != 0;
		p->family = 4;
		nh = ip[9];
		addr_from_v4(p->src, ip + 12);
		addr_from_v4(p->dst, ip + 16);
		l4 = ip + hlen;
		l4len = tot - hlen;
		break;
	}
	case 6:
		if (len < 40)
			return PKT_ERR_TRUNCATED;
		/* A zero payload length means a jumbogram (RFC 2675), which
		 * never crosses an Ethernet gateway. */
		if (rd16(ip + 4) == 0)
			return PKT_ERR_BAD_IP;
		end = 40 + (uint32_t)rd16(ip + 4);
		if (end > len)
			return PKT_ERR_TRUNCATED;
		p->family = 6;
		p->first_fragment = 0;
		memcpy(p->src, ip + 8, 16);
		memcpy(p->dst, ip + 24, 16);
		nh = ip[6];
		hlen = 40;
		while (ext_header_is_skippable(nh)) {
			uint32_t elen;

			if (++n_ext > PKT_MAX_EXT_HEADERS)
				return PKT_ERR_EXT_HEADERS;
			if (hlen + 8 > end)
				return PKT_ERR_EXT_HEADERS;
			if (nh == IPPROTO_FRAGMENT) {
				if ((rd16(ip + hlen + 2) & 0xfff8) != 0)
					return PKT_ERR_FRAGMENT;
				p->first_fragment = ip[hlen + 3] & 1;
				elen = 8;
			} else if (nh == IPPROTO_AH) {
				elen = ((uint32_t)ip[hlen + 1] + 2) * 4;
			} else {
				elen = ((uint32_t)ip[hlen + 1] + 1) * 8;
			}
			if (hlen + elen > end)
				return PKT_ERR_EXT_HEADERS;
			nh = ip[hlen];
			hlen += elen;
		}
		if (nh == IPPROTO_NONE)
			return PKT_ERR_EXT_HEADERS;
		l4 = ip + hlen;
		l4len = end - hlen;
		break;
	default:
		return PKT_ERR_BAD_IP;
	}
	p->l4proto = nh;
	if (nh == IPPROTO_IPIP || nh == IPPROTO_IPV6) {
		/* Classify the inner packet, as ndpiReader does. */
		if (depth >= PKT_MAX_TUNNEL_DEPTH)
			return PKT_ERR_TUNNEL_DEPTH;
		return parse_ip(l4, (uint32_t)(ip + len - l4), depth + 1, p);
	}
	return parse_l4(l4, l4len, p);
}

enum pkt_status pkt_parse_ip(const uint8_t *ip, uint32_t len, uint16_t vlan,
			     struct pkt *p)
{
	p->vlan = vlan;
	p->wire_len = len;
	return parse_ip(ip, len, 0, p);
}

static enum pkt_status ethertype_to_ip(const uint8_t *frame, uint32_t caplen,
				       uint32_t off, uint16_t etype,
				       uint16_t vlan, struct pkt *p)
{
	unsigned tags = 0;

	for (;;) {
		switch (etype) {
		case ETHERTYPE_IPV4:
		case ETHERTYPE_IPV6:
			if (off > caplen)
				return PKT_ERR_TRUNCATED;
			p->vlan = vlan;
			return parse_ip(frame + off, caplen - off, 0, p);
		case ETHERTYPE_VLAN:
		case ETHERTYPE_QINQ:
		case ETHERTYPE_QINQ_OLD:
			if (++tags > PKT_MAX_VLAN_TAGS)
				return PKT_ERR_NOT_IP;
			if ((uint64_t)off + 4 > caplen)
				return PKT_ERR_TRUNCATED;
			vlan = rd16(frame + off) & 0x0fff;
			etype = rd16(frame + off + 2);
			off += 4;
			break;
		case ETHERTYPE_PPPOE: {
			uint16_t ppp;

			if ((uint64_t)off + 8 > caplen)
				return PKT_ERR_TRUNCATED;
			ppp = rd16(frame + off + 6);
			if (ppp == PPP_IPV4)
				etype = ETHERTYPE_IPV4;
			else if (ppp == PPP_IPV6)
				etype = ETHERTYPE_IPV6;
			else
				return PKT_ERR_NOT_IP;
			off += 8;
			break;
		}
		case ETHERTYPE_MPLS:
		case ETHERTYPE_MPLS_MC: {
			unsigned n = 0;
			int bottom = 0;

			while (!bottom) {
				if (++n > MPLS_MAX_LABELS)
					return PKT_ERR_NOT_IP;
				if ((uint64_t)off + 4 > caplen)
					return PKT_ERR_TRUNCATED;
				bottom = frame[off + 2] & 1;
				off += 4;
			}
			if (off >= caplen)
				return PKT_ERR_TRUNCATED;
			etype = (frame[off] >> 4) == 6 ? ETHERTYPE_IPV6
						       : ETHERTYPE_IPV4;
			break;
		}
		default:
			return PKT_ERR_NOT_IP;
		}
	}
}

enum pkt_status pkt_parse_frame(const uint8_t *frame, uint32_t caplen,
				int linktype, struct pkt *p)
{
	uint32_t af;
	uint16_t etype;

	memset(p, 0, sizeof(*p));
	p->wire_len = caplen;
	switch (linktype) {
	case PKT_LINK_EN10MB:
		if (caplen < ETH_HLEN)
			return PKT_ERR_TRUNCATED;
		etype = rd16(frame + 12);
		if (etype <= 1500) {
			/* 802.3 length: IP only behind LLC/SNAP */
			if (caplen < ETH_HLEN + 8)
				return PKT_ERR_TRUNCATED;
			if (frame[14] != 0xaa || frame[15] != 0xaa)
				return PKT_ERR_NOT_IP;
			etype = rd16(frame + 20);
			return ethertype_to_ip(frame, caplen, ETH_HLEN + 8,
					       etype, 0, p);
		}
		return ethertype_to_ip(frame, caplen, ETH_HLEN, etype, 0, p);
	case PKT_LINK_LINUX_SLL:
		if (caplen < 16)
			return PKT_ERR_TRUNCATED;
		return ethertype_to_ip(frame, caplen, 16, rd16(frame + 14), 0,
				       p);
	case PKT_LINK_LINUX_SLL2:
		if (caplen < 20)
			return PKT_ERR_TRUNCATED;
		return ethertype_to_ip(frame, caplen, 20, rd16(frame), 0, p);
	case PKT_LINK_NULL:
	case PKT_LINK_LOOP:
		if (caplen < 4)
			return PKT_ERR_TRUNCATED;
		memcpy(&af, frame, 4);
		if (linktype == PKT_LINK_LOOP)
			af = ntohl(af);
		else if (af > 0xffff) /* written on a host of the other order */
			af = __builtin_bswap32(af);
		if (af == 2)
			etype = ETHERTYPE_IPV4;
		else if (af == 10 || af == 24 || af == 28 || af == 30)
			etype = ETHERTYPE_IPV6;
		else
			return PKT_ERR_NOT_IP;
		return ethertype_to_ip(frame, caplen, 4, etype, 0, p);
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_OLD:
	case PKT_LINK_IPV4:
	case PKT_LINK_IPV6:
		return parse_ip(frame, caplen, 0, p);
	default:
		return PKT_ERR_LINKTYPE;
	}
}
