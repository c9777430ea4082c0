/* libFuzzer: the message readers (src/appmsg.c) over a stream cut where
 * the input says, as the engine feeds them: what was used is dropped, the
 * rest comes again with the next piece. The first two bytes are the
 * responder's port, the third the size of the pieces. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/appmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_name(void *ctx, const char *name, enum appmsg_kind kind)
{
	size_t *n = ctx;

	*n += strlen(name) + (size_t)kind;
}

static void on_stun(void *ctx, const uint8_t *msg, uint32_t len)
{
	size_t *n = ctx;

	*n += len ? msg[len - 1] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2 * APPMSG_MAX];
	size_t names = 0, have = 0, step;
	struct appmsg_sink k = { &names, on_name, on_stun };
	struct appmsg m;
	uint16_t dport;

	if (size < 3)
		return 0;
	dport = (uint16_t)(data[0] << 8 | data[1]);
	step = data[2] ? data[2] : size;
	data += 3;
	size -= 3;
	memset(&m, 0, sizeof(m));
	while (size) {
		size_t add = size < step ? size : step;
		uint32_t used;
		enum appmsg_status st;

		if (have + add > APPMSG_MAX)
			break; /* the engine calls the stream unreadable there */
		memcpy(buf + have, data, add);
		have += add;
		data += add;
		size -= add;
		st = appmsg_read(&m, buf, (uint32_t)have, dport, &k, &used);
		if (used > have)
			__builtin_trap();
		memmove(buf, buf + used, have - used);
		have -= used;
		if (st == AM_FINAL || st == AM_UNREADABLE)
			break;
	}
	return 0;
}
