/* libFuzzer: the normalizer (src/stream.c) over TCP segments the input
 * describes (direction, flags, sequence and acknowledgement numbers,
 * window, timestamp, length), and over whole IPv4 and IPv6 packets for
 * its header and option parsing. Asserts what every caller relies on: a
 * new segment's first new byte is at the offset the stream expected. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/pkt.h"
#include "core/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t bytes[256] = { 0 };
	struct stream st;
	struct stream_seg g;
	struct pkt p;
	size_t o;

	if (pkt_parse_ip(data, (uint32_t)size, 0, &p) == PKT_OK &&
	    p.l4proto == 6)
		stream_seg_of(&p, 1, &g);
	memset(&st, 0, sizeof(st));
	for (o = 0; o + 16 <= size; o += 16) {
		const uint8_t *d = data + o;
		int dir = d[0] & 1;
		uint32_t off, skip, expect;
		enum stream_res r;

		memset(&g, 0, sizeof(g));
		g.flags = d[1];
		g.seq = rd32(d + 2);
		g.ack = rd32(d + 6);
		g.win = (uint32_t)(d[10] << 8 | d[11]);
		g.has_ts = d[0] & 2;
		g.tsval = (uint32_t)d[12] << 8 | d[13];
		g.has_ws = d[0] & 4;
		g.wscale = d[14];
		g.len = d[15];
		g.data = bytes;
		expect = st.h[dir].next - st.h[dir].base;
		r = stream_segment(&st, dir, &g, (d[0] & 8) ? bytes : NULL, 0,
				   sizeof(bytes), &off, &skip);
		if (r == STREAM_NEW &&
		    (skip >= g.len ||
		     (st.h[dir].started && off != expect && !(g.flags & 2))))
			__builtin_trap();
	}
	return 0;
}
