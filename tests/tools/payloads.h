/* Application payloads and whole frames for tests: TLS ClientHello with a
 * chosen SNI, STUN with Skype's attributes, DNS, HTTP, RTP. The inline tests send
 * the payloads over real sockets; mkpcap wraps them in frames. */
#ifndef SKYFENCE_TEST_PAYLOADS_H
#define SKYFENCE_TEST_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

size_t payload_tls_client_hello(uint8_t *out, size_t cap, const char *sni);
/* STUN binding request (response if @response) carrying the Skype
 * "implementation version" attribute 0x8070 = 2, which nDPI 4.2 labels
 * STUN.SkypeCall; without it (@skype == 0) a plain STUN message. */
size_t payload_stun(uint8_t *out, size_t cap, int response, int skype,
		    uint32_t txid_seed);
size_t payload_dns_query(uint8_t *out, size_t cap, const char *name,
			 uint16_t id);
size_t payload_http_get(uint8_t *out, size_t cap, const char *host);
/* An RTP packet (RFC 3550 5.1: version 2, no CSRC, no extension) of
 * payload type @pt (the marker bit set if @marker) with @plen bytes of
 * payload that look like SRTP's (no pattern a classifier could take for
 * another protocol). Returns its length, 0 if it does not fit. */
size_t payload_rtp(uint8_t *out, size_t cap, uint8_t pt, int marker,
		   uint16_t seq, uint32_t ts, uint32_t ssrc, size_t plen);

struct frame_spec {
	int family;	       /* 4 or 6 */
	const char *src, *dst; /* numeric addresses */
	uint8_t proto;	       /* 6 or 17 */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t vlan; /* 0: untagged */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Ethernet frame with IP and TCP/UDP headers (checksums filled in). Returns
 * the frame length, 0 if it does not fit or an address is invalid. */
size_t frame_build(uint8_t *out, size_t cap, const struct frame_spec *s,
		   const uint8_t *payload, size_t plen);

#endif
