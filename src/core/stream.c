/* stream.c - TCP normalization of a flow under inspection (stream.h). */
#include "core/stream.h"

#include <string.h>
#include <netinet/in.h>

#include "core/pkt.h"

static const char *const res_names[STREAM_RES_MAX] = {
	"empty",  "new",    "dup",    "gap",   "conflict", "stale", "window",
	"urgent", "badsum", "badopt", "flags", "badack",   "ttl",   "sig",
};

const char *stream_res_name(enum stream_res r)
{
	return (unsigned)r < STREAM_RES_MAX ? res_names[r] : "?";
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* a before b, in sequence space */
static int before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += rd16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* The Internet checksum of the segment with its pseudo-header is 0xffff
 * when the checksum field is right. */
static int csum_ok(const struct pkt *p, uint32_t tcp_len)
{
	uint32_t s = 0;
	uint8_t ph[4];

	if (p->family == 4) {
		s = sum16(s, p->src + 12, 4);
		s = sum16(s, p->dst + 12, 4);
	} else {
		s = sum16(s, p->src, 16);
		s = sum16(s, p->dst, 16);
	}
	ph[0] = 0;
	ph[1] = IPPROTO_TCP;
	ph[2] = (uint8_t)(tcp_len >> 8);
	ph[3] = (uint8_t)tcp_len;
	s = sum16(s, ph, 4);
	if (p->family == 6 && tcp_len > 0xffff)
		s += tcp_len >> 16;
	s = sum16(s, p->l4, tcp_len);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

enum stream_res stream_seg_of(const struct pkt *p, int verify,
			      struct stream_seg *g)
{
	const uint8_t *t = p->l4, *o, *end;
	uint32_t hl;

	memset(g, 0, sizeof(*g));
	hl = (uint32_t)(p->l4_payload - p->l4);
	g->seq = rd32(t + 4);
	g->ack = rd32(t + 8);
	g->flags = t[13];
	g->win = rd16(t + 14);
	g->urg_ptr = rd16(t + 18);
	g->data = p->l4_payload;
	g->len = p->l4_payload_len;
	g->ttl = (p->l3[0] >> 4) == 4 ? p->l3[8] : p->l3[7];
	if (verify && !p->csum_skip && !p->first_fragment &&
	    !csum_ok(p, hl + p->l4_payload_len))
		return STREAM_BADSUM;
	for (o = t + 20, end = t + hl; o < end;) {
		uint8_t kind = o[0], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (end - o < 2 || (len = o[1]) < 2 || len > end - o)
			return STREAM_BADOPT;
		if (kind == 3 && len == 3) {
			g->has_ws = 1;
			g->wscale = o[2] > 14 ? 14 : o[2];
		} else if (kind == 19 || kind == 29) {
			g->has_sig = 1;
		} else if (kind == 8 && len == 10) {
			g->has_ts = 1;
			g->tsval = rd32(o + 2);
		}
		o += len;
	}
	return STREAM_EMPTY;
}

static void on_syn(struct stream *s, int dir, const struct stream_seg *g)
{
	struct stream_half *h = &s->h[dir];

	/* a SYN after the stream started (a new ISN mid-connection) does
	 * not move it: the receiver answers it with a challenge ACK */
	if (h->started && h->next != h->base)
		return;
	h->base = h->next = g->seq + 1;
	h->started = h->syn = 1;
	h->syn_ts = g->has_ts;
	h->syn_sig = g->has_sig;
	/* the receiver's first ts_recent is the SYN's (RFC 7323 4.3) */
	h->has_ts = g->has_ts;
	h->ts_recent = g->tsval;
	h->syn_ws = g->has_ws;
	h->wscale = g->wscale > 14 ? 14 : g->wscale; /* RFC 7323 2.3 */
	if (g->flags & PKT_TCP_ACK) {
		s->ts_on = s->h[!dir].syn_ts && h->syn_ts;
		s->ws_on = s->h[!dir].syn_ws && h->syn_ws;
	}
}

/* The window the sender of @g offers the other direction (a SYN's is
 * never scaled, RFC 7323). */
static void on_ack(struct stream *s, int dir, const struct stream_seg *g)
{
	struct stream_half *o = &s->h[!dir];
	uint32_t edge, sh = 0;

	if (!(g->flags & PKT_TCP_ACK) || (g->flags & PKT_TCP_RST))
		return;
	if (!(g->flags & PKT_TCP_SYN) && s->ws_on)
		sh = s->h[dir].wscale;
	if (!o->has_una || before(o->una, g->ack)) {
		o->una = g->ack;
		o->has_una = 1;
	}
	edge = g->ack + (g->win << sh);
	if (!o->has_edge || before(o->edge, edge)) {
		o->edge = edge;
		o->has_edge = 1;
	}
}

/* Whether the @n bytes at @d, starting at stream offset @at, equal what
 * is kept of them. */
static int same_as_kept(const uint8_t *d, uint32_t n, uint32_t at,
			const uint8_t *kept, uint32_t kept_off,
			uint32_t kept_len)
{
	uint32_t from, to;

	if (!kept)
		return 1;
	from = at > kept_off ? at : kept_off;
	to = at + n < kept_off + kept_len ? at + n : kept_off + kept_len;
	if (from >= to)
		return 1;
	return memcmp(d + (from - at), kept + (from - kept_off), to - from) ==
	       0;
}

void stream_note(struct stream *s, int dir, const struct stream_seg *g)
{
	struct stream_half *h = &s->h[dir & 1];
	uint32_t end = g->seq + g->len;

	on_ack(s, dir & 1, g);
	if (h->started && before(h->next, end) && !(g->flags & PKT_TCP_SYN))
		h->next = end;
	if (g->flags & PKT_TCP_FIN)
		h->fin = 1;
}

/* The receiver keeps the newest timestamp of what it takes in order or
 * again (Linux's tcp_replace_ts_recent, for a sequence number not past
 * what it acknowledged). This takes it for any segment not past the next
 * byte: never older than the receiver's, so a segment it finds stale is
 * found stale here too. */
static void take_ts(const struct stream *s, struct stream_half *h,
		    const struct stream_seg *g, uint32_t seq)
{
	if (!s->ts_on || !g->has_ts || (h->started && before(h->next, seq)))
		return;
	if (!h->has_ts || !before(g->tsval, h->ts_recent)) {
		h->ts_recent = g->tsval;
		h->has_ts = 1;
	}
}

/* The acknowledgement of a data segment: Linux discards the segment when
 * it acknowledges what the other end never sent, or is older than any
 * window (tcp_ack). */
static int ack_ok(const struct stream *s, int dir, const struct stream_seg *g)
{
	const struct stream_half *o = &s->h[!dir];

	if (!o->started)
		return 1;
	if (before(o->next + o->fin, g->ack))
		return 0;
	return !before(g->ack, o->base - 1 - (1u << 30));
}

enum stream_res stream_segment(struct stream *s, int dir,
			       const struct stream_seg *g, const uint8_t *kept,
			       uint32_t kept_off, uint32_t kept_len,
			       uint32_t *off, uint32_t *skip)
{
	struct stream_half *h = &s->h[dir & 1];
	uint32_t seq = g->seq, end, at, pre;

	*off = *skip = 0;
	if (g->ttl > h->ttl)
		h->ttl = g->ttl;
	if (g->flags & PKT_TCP_SYN) {
		/* data on a SYN: after the handshake began the receiver
		 * drops it; on the first one (Fast Open) it may or may not
		 * take it, so it is refused and the client sends it again
		 * after the handshake */
		if (g->len)
			return STREAM_FLAGS;
		on_syn(s, dir & 1, g);
	}
	if (g->flags & PKT_TCP_RST)
		return STREAM_EMPTY; /* its data is never read */
	if (g->len && !(g->flags & PKT_TCP_ACK))
		return STREAM_FLAGS;
	if (g->len && !ack_ok(s, dir & 1, g))
		return STREAM_BADACK;
	on_ack(s, dir & 1, g);
	if (g->len == 0) {
		take_ts(s, h, g, seq);
		/* a FIN takes a sequence number: the other end acknowledges
		 * it */
		if ((g->flags & PKT_TCP_FIN) && h->started && seq == h->next)
			h->fin = 1;
		return STREAM_EMPTY;
	}
	if ((dir & 1) == 0 && g->ttl < h->ttl)
		return STREAM_TTL;
	if (g->has_sig && !(h->syn_sig && s->h[!(dir & 1)].syn_sig))
		return STREAM_SIG;
	if (!h->started) {
		/* picked up mid-stream: the first byte seen is the start */
		h->base = h->next = seq;
		h->started = 1;
	}
	if ((g->flags & PKT_TCP_URG) && stream_urgent(g) < 0)
		return STREAM_URGENT;
	if (s->ts_on && g->has_ts && h->has_ts &&
	    before(g->tsval, h->ts_recent))
		return STREAM_STALE;
	if (h->urg)
		kept = NULL;
	end = seq + g->len;
	if (h->has_edge && before(h->edge, end))
		return STREAM_WINDOW;
	if (before(h->next, seq))
		return STREAM_GAP;
	/* bytes before the stream's first (the SYN's number): the receiver
	 * trims them, and they are compared with nothing */
	pre = before(seq, h->base) ? h->base - seq : 0;
	if (pre >= g->len)
		return STREAM_DUP;
	at = seq + pre - h->base;
	if (!before(h->next, end)) {
		/* all of it forwarded before: a retransmission */
		if (!same_as_kept(g->data + pre, g->len - pre, at, kept,
				  kept_off, kept_len))
			return STREAM_CONFLICT;
		take_ts(s, h, g, seq);
		return STREAM_DUP;
	}
	*skip = h->next - seq;
	if (*skip > pre && !same_as_kept(g->data + pre, *skip - pre, at, kept,
					 kept_off, kept_len))
		return STREAM_CONFLICT;
	*off = h->next - h->base;
	take_ts(s, h, g, seq);
	h->next = end;
	if (g->flags & PKT_TCP_URG)
		h->urg = 1;
	if (g->flags & PKT_TCP_FIN)
		h->fin = 1;
	return STREAM_NEW;
}
