/* TCP normalization of a flow under inspection: what skyfenced reads is
 * what the receiver takes. An inline gateway sees every segment before the
 * receiver does, so while it inspects a flow it lets through only data
 * that comes in order, once, inside the receiver's window, with a fresh
 * timestamp, a valid checksum and no urgent pointer: a segment the
 * receiver would read differently (or throw away) never goes through, and
 * the sender resends what was dropped. Retransmissions pass when the bytes
 * they repeat are the ones already forwarded (compared where they are
 * kept). This is traffic normalization (Handley, Paxson and Kreibich,
 * 2001), limited to the first packets of a flow: decided flows are the
 * kernel's. Pure: no allocation, no I/O.
 */
#ifndef SKYFENCE_STREAM_H
#define SKYFENCE_STREAM_H

#include <stdint.h>

struct pkt;

/* One TCP segment's header facts (stream_seg_of). */
struct stream_seg {
	uint32_t seq, ack;
	uint32_t win;	/* as sent: unscaled */
	uint32_t tsval; /* with has_ts */
	uint8_t flags;	/* PKT_TCP_* */
	uint8_t has_ts, has_ws, wscale;
	uint8_t has_sig; /* a TCP-MD5 (19) or TCP-AO (29) option */
	uint8_t ttl;	 /* IPv4 TTL or IPv6 hop limit */
	uint16_t urg_ptr;
	const uint8_t *data;
	uint32_t len;
};

enum stream_res {
	STREAM_EMPTY = 0, /* no payload (handshake, ACK, FIN, RST): passes */
	STREAM_NEW,	  /* new bytes in order: passes, to be inspected */
	STREAM_DUP,	  /* bytes already forwarded, the same: passes */
	/* dropped: */
	STREAM_GAP,	 /* starts past the next byte: the sender resends */
	STREAM_CONFLICT, /* repeats forwarded bytes with other bytes */
	STREAM_STALE,	 /* an older timestamp than the last one (PAWS) */
	STREAM_WINDOW,	 /* ends past the receiver's window */
	STREAM_URGENT,	 /* urgent data pointing past the segment: refused */
	STREAM_BADSUM,	 /* a TCP checksum the receiver rejects */
	STREAM_BADOPT,	 /* TCP options that do not parse */
	/* data the receiver throws away: without ACK, on a SYN after the
	 * handshake began (or Fast Open data, which a server may or may not
	 * take), acknowledging bytes never sent or too old (RFC 9293 3.10.7.4,
	 * Linux's tcp_ack) */
	STREAM_FLAGS,
	STREAM_BADACK,
	STREAM_TTL, /* the initiator's data with a lower TTL than its highest
		     * so far: it may expire between here and the receiver */
	STREAM_SIG, /* a TCP-MD5 or TCP-AO option the SYNs did not set up: a
		     * receiver without the key drops it (RFC 2385, 5925) */
	STREAM_RES_MAX,
};

/* "empty", "new", "dup", "gap", "conflict", "stale", "window", "urgent",
 * "badsum", "badopt". */
const char *stream_res_name(enum stream_res r);
/* Whether @r drops the segment. */
static inline int stream_res_drops(enum stream_res r)
{
	return r >= STREAM_GAP;
}

/* One direction of a connection (by the flow's direction: 0 from the
 * initiator). Sequence numbers are the stream's offsets from @base. */
struct stream_half {
	uint32_t base;	    /* sequence number of the stream's first byte */
	uint32_t next;	    /* the next byte the receiver takes */
	uint32_t ts_recent; /* the last timestamp taken with data */
	uint32_t edge;	    /* right edge of the window the receiver offers */
	uint8_t started;    /* base and next are set */
	uint8_t syn;	    /* its SYN was seen (not a mid-stream pick-up) */
	uint8_t syn_ts, syn_ws, wscale; /* what its SYN announced */
	uint8_t has_ts, has_edge, fin;
	uint8_t ttl;	 /* the highest of its packets' */
	uint8_t syn_sig; /* its SYN carried TCP-MD5 or TCP-AO */
	uint8_t urg;	 /* urgent data came: the kept bytes no longer line up
		      * with sequence numbers, and are not compared */
	uint8_t has_una;
	uint32_t una; /* the highest acknowledgement of its bytes the other
		       * end sent: what the receiver surely has */
};

struct stream {
	struct stream_half h[2];
	uint8_t ts_on; /* both SYNs carried timestamps (RFC 7323) */
	uint8_t ws_on; /* both SYNs carried a window scale */
};

/* Reads the TCP header of @p: its options, and its checksum if @verify
 * (and not p->csum_skip). Returns STREAM_EMPTY (facts in @g),
 * STREAM_BADSUM or STREAM_BADOPT. */
enum stream_res stream_seg_of(const struct pkt *p, int verify,
			      struct stream_seg *g);

/* Takes one segment of direction @dir (0, 1). @kept holds the bytes of
 * that direction's stream from offset @kept_off (@kept_len of them; NULL
 * if none are kept): a repeat of any of them is compared. With
 * STREAM_NEW, *off is the stream offset of the first new byte and *skip
 * how many of the segment's bytes come before it (an overlap found equal).
 * A segment with urgent data whose urgent byte it carries passes: the
 * receiver's application reads the stream without that byte (Linux's
 * default, BSD's reading of the pointer, RFC 6093), at stream_urgent(). */
enum stream_res stream_segment(struct stream *s, int dir,
			       const struct stream_seg *g, const uint8_t *kept,
			       uint32_t kept_off, uint32_t kept_len,
			       uint32_t *off, uint32_t *skip);

/* A segment of direction @dir whose data is not normalized (a watched
 * flow's responder): its window and how far it has sent are noted, so
 * that the other direction is judged against them. */
void stream_note(struct stream *s, int dir, const struct stream_seg *g);

/* The index in @g's data of the byte a receiver takes out of the stream
 * as urgent, or -1. */
static inline int stream_urgent(const struct stream_seg *g)
{
	if (!(g->flags & 0x20) || g->urg_ptr == 0 || g->urg_ptr > g->len)
		return -1;
	return (int)g->urg_ptr - 1;
}

/* Whether the initiator's SYN was seen (else the flow was picked up
 * mid-stream). */
static inline int stream_saw_syn(const struct stream *s)
{
	return s->h[0].syn;
}

#endif
