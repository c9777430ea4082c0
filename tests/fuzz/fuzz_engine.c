/* libFuzzer: the engine with the real nDPI 4.2 over a sequence of frames.
 * Input: frames, each a 2-byte big-endian length and that many bytes of
 * Ethernet frame; every frame is parsed and, if it parses, goes through
 * the engine (flow table, normalizer, message readers, nDPI, policy, the
 * STUN check) as inline; the flows are flushed at the end of each input.
 * Checksums are taken as the kernel's to fill (csum_skip), or a fuzzed
 * TCP frame would never get past them to the readers; fuzz_stream covers
 * the checksum itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "engine/engine.h"
#include "policy/loader.h"
#include "core/pkt.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct classifier *cls;
static struct policy *pol;
static struct engine *eng;
static uint64_t now = 1700000000000ull;

static const char policy_text[] =
	"internal 192.0.2.0/24, 2001:db8:a::/48;\n"
	"department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64;"
	" log all; skype drop; }\n"
	"department sales { hosts 192.0.2.64/26; skype throttle 1Mbit; }\n"
	"department eng { hosts 192.0.2.128/26; inbound skype drop;"
	" skype allow; protocol BitTorrent reject; }\n"
	"default { skype reject; category VoIP drop; }\n";

static void setup(void)
{
	struct cls_opts co = { 256, 80, 24, 0, NULL };
	struct engine_opts eo = { 256, 60000, 0x5eed, 0 };
	struct policy_names n;
	unsigned nerr;
	char err[256];

	cls = classifier_open(&co, err, sizeof(err));
	if (!cls)
		abort();
	loader_names(cls, &n);
	pol = policy_parse_text("fuzz", policy_text, strlen(policy_text), &n,
				NULL, NULL, &nerr);
	if (!pol)
		abort();
	eng = engine_create(&eo, cls, pol, NULL);
	if (!eng)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!eng)
		setup();
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		struct engine_verdict v;
		struct pkt p;

		off += 2;
		if (len > size - off)
			len = size - off;
		if (pkt_parse_frame(data + off, (uint32_t)len, PKT_LINK_EN10MB,
				    &p) == PKT_OK) {
			p.csum_skip = 1;
			engine_packet(eng, &p, now, &v);
		}
		now += 7;
		off += len;
	}
	engine_flush(eng);
	return 0;
}
