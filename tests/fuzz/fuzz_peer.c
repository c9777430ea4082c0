/* libFuzzer: the HA peers' messages (ha/peermsg.c) under a fixed key.
 * The first byte picks the mode: even, the rest is a datagram as it
 * came (the MAC stops it, unless the fuzzer finds a whole message); odd,
 * the rest is the text and gets the right MAC first, so that the grammar
 * behind the MAC is reached. A message taken must come out of the
 * encoder again as the same bytes, and read the same. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ha/peermsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32
#define NOW 1700000000000ull

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* @m encoded again is @orig's bytes and reads as @m */
static void round_trip(const struct peermsg *m, const char *orig, size_t len)
{
	static char again[PEERMSG_MAX], copy[PEERMSG_MAX];
	struct peermsg m2;
	int n = peermsg_encode(again, sizeof(again), m, key, KEYLEN);

	if (n < 0 || (size_t)n != len || memcmp(again, orig, len))
		__builtin_trap();
	memcpy(copy, again, len);
	if (peermsg_decode(copy, len, key, KEYLEN, &m2) != PEERMSG_OK ||
	    !same(m->node, m2.node) || m->seq != m2.seq ||
	    m->wall_ms != m2.wall_ms || !same(m->digest, m2.digest) ||
	    m->ks_ms != m2.ks_ms || !same(m->killswitch, m2.killswitch) ||
	    !same(m->change, m2.change) ||
	    (m->change && m->change_id != m2.change_id))
		__builtin_trap();
	if (m->change && m->change[-1] != ' ')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[PEERMSG_MAX + 128], orig[sizeof(buf)];
	struct peermsg_rx rx = { 0 };
	struct peermsg m;
	enum peermsg_reason r;
	size_t len;
	unsigned i;

	if (size < 1 || size - 1 > PEERMSG_MAX)
		return 0;
	len = size - 1;
	memcpy(buf, data + 1, len);
	if (data[0] & 1) {
		int n = peermsg_seal(buf, len, sizeof(buf), key, KEYLEN);

		if (n < 0)
			__builtin_trap();
		len = (size_t)n;
	}
	memcpy(orig, buf, len);
	r = peermsg_receive(&rx, buf, len, key, KEYLEN, NOW, &m);
	if ((unsigned)r >= PEERMSG_REASONS)
		__builtin_trap();
	if (r != PEERMSG_OK) {
		uint64_t sum = 0;

		for (i = 0; i < PEERMSG_REASONS; i++)
			sum += rx.refused[i];
		if (sum != 1 || rx.refused[r] != 1 || rx.last_seq != 0)
			__builtin_trap();
		return 0;
	}
	if (rx.last_seq != m.seq || m.seq == 0)
		__builtin_trap();
	round_trip(&m, orig, len);
	/* the same message again is a replay */
	memcpy(buf, orig, len);
	if (peermsg_receive(&rx, buf, len, key, KEYLEN, NOW, &m) !=
	    PEERMSG_REPLAY)
		__builtin_trap();
	return 0;
}
