/* stun.c - Skype's STUN attributes over IPv6 (stun.h). */
#include "core/stun.h"

#include <string.h>

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* Realm names nDPI 4.2 gives to other applications. */
static int realm_is_other_app(const uint8_t *v, size_t n)
{
	static const char *const names[] = { "google.com", "whispersystems.org",
					     "signal.org", "facebook" };
	char buf[256];
	size_t i;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strstr(buf, names[i]))
			return 1;
	return 0;
}

int stun_message_ok(const uint8_t *p, size_t len)
{
	uint16_t type, mlen;

	if (len < 20 || len >= 512)
		return 0;
	type = rd16(p);
	mlen = rd16(p + 2);
	return type != 0 && (size_t)mlen + 20 == len && mlen != 0 &&
	       (type & 0x3eef) <= 0x000b;
}

int stun_is_skype(const uint8_t *p, size_t len)
{
	uint16_t type, mlen;
	size_t off = 20;

	if (!stun_message_ok(p, len))
		return 0;
	type = rd16(p);
	mlen = rd16(p + 2);
	/* nDPI takes these first bytes for WhatsApp before any attribute */
	if (p[0] == 0x80 || p[0] == 0x90)
		return 0;
	while (off + 4 < len) {
		uint16_t attr = rd16(p + off), alen = rd16(p + off + 2);
		size_t padded = (size_t)alen + ((4 - alen % 4) % 4);

		switch (attr) {
		case 0x0103: /* Zoom */
		case 0x4000: /* WhatsApp */
		case 0x4001:
		case 0x4002:
		case 0xff03: /* Hangout/Duo */
			return 0;
		case 0x0014: /* realm */
			if (off + 4 + alen <= len &&
			    realm_is_other_app(p + off + 4, alen))
				return 0;
			break;
		case 0xc057: /* Messenger */
			if (type == 0x0001 && (mlen == 100 || mlen == 104))
				return 0;
			break;
		case 0x8054: /* candidate identifier */
			if (alen == 4 && off + 7 < len && p[off + 5] == 0 &&
			    p[off + 6] == 0 && p[off + 7] == 0)
				return 1;
			break;
		case 0x24df: /* proprietary, seen on Skype calls */
		case 0x3802:
		case 0x8036:
		case 0x8095:
		case 0x0800:
		case 0x8006:
			return 1;
		case 0x8070: /* implementation version 2 or 3 */
			if (alen == 4 && off + 7 < len && p[off + 4] == 0 &&
			    p[off + 5] == 0 && p[off + 6] == 0 &&
			    (p[off + 7] == 2 || p[off + 7] == 3))
				return 1;
			break;
		default:
			break;
		}
		off += padded + 4;
	}
	return 0;
}
