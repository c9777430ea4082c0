/* Skype's STUN over IPv6. nDPI 4.2 excludes STUN for every IPv6 packet
 * (ndpi_search_stun: `if(packet->iphv6 != NULL) NDPI_EXCLUDE_PROTO`), so a
 * Skype call's STUN is STUN.SkypeCall over IPv4 but never over IPv6. This
 * is nDPI 4.2's own IPv4 test for Skype's STUN attributes
 * (ndpi_int_check_stun, protocols/stun.c), applied by the classifier to the
 * first STUN message of an IPv6 UDP flow (nDPI decides on the first one
 * too) when nDPI has found nothing more specific. What nDPI 4.2 has for
 * IPv4 only, its Microsoft address list and its STUN cache, is not
 * reproduced: over IPv6 nDPI has neither. tests/captures/stun_check.sh
 * runs the check over the IPv4 flows of the reference captures and
 * compares it with nDPI's own verdicts. Pure. */
#ifndef SKYFENCE_STUN_H
#define SKYFENCE_STUN_H

#include <stddef.h>
#include <stdint.h>

/* 1 if @p (a UDP payload) is a STUN message that nDPI 4.2 would call
 * Skype (attributes 0x8054, 0x8070 = 2 or 3, 0x24DF, 0x3802, 0x8036,
 * 0x8095, 0x0800, 0x8006), before any attribute that names another
 * application (Zoom, WhatsApp, Google, Signal, Facebook); else 0. */
int stun_is_skype(const uint8_t *p, size_t len);

/* 1 if @p is a STUN message nDPI 4.2 would take as one (length, type). */
int stun_message_ok(const uint8_t *p, size_t len);

#endif
