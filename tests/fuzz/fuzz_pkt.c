/* libFuzzer: frame and IP parsing (src/pkt.c) on any bytes. */
#include <stddef.h>
#include <stdint.h>

#include "core/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt p;

	if (size > 0xffff)
		return 0;
	pkt_parse_frame(data, (uint32_t)size, PKT_LINK_EN10MB, &p);
	pkt_parse_ip(data, (uint32_t)size, 0, &p);
	return 0;
}
