/* libFuzzer: skyfence's STUN check for Skype over IPv6 (src/stun.c). */
#include <stddef.h>
#include <stdint.h>

#include "core/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (stun_message_ok(data, size))
		stun_is_skype(data, size);
	return 0;
}
