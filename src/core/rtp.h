/* The media type an RTP packet carries, by its payload type as Microsoft's
 * clients number them (MS-RTP; the table nDPI 4.8 reads Teams' media
 * types from). Teams encrypts the payload (SRTP) but not the RTP
 * header (RFC 3711 3.1), so the payload type is in the clear on every
 * packet of a call. A datagram a TURN relay wraps in ChannelData (RFC
 * 8656 12.4) is read inside its 4-byte header.
 *
 * What it cannot tell: screen sharing is H.264 video too, so a video
 * payload type says "video or screen sharing"; a payload type outside the
 * table (an app with its own dynamic numbering) says nothing. Pure. */
#ifndef SKYFENCE_RTP_H
#define SKYFENCE_RTP_H

#include <stdint.h>

/* The bits returned: the same values as policy.h's MEDIA_* (core sits
 * below policy; engine.c checks that they agree). */
#define RTP_MEDIA_AUDIO 1u
#define RTP_MEDIA_VIDEO 2u
#define RTP_MEDIA_SCREEN 4u

/* The media bits of the UDP payload @p (@len bytes): RTP version 2 with a
 * header that fits (12 bytes and its CSRC list) and a payload type of the
 * table: audio ones RTP_MEDIA_AUDIO, video ones RTP_MEDIA_VIDEO |
 * RTP_MEDIA_SCREEN. 0 for anything else: RTCP (packet types 200-204, which
 * read as payload types 72-76 with the marker bit), other payload types,
 * not RTP. */
uint8_t rtp_media_of(const uint8_t *p, uint32_t len);

/* The media bits of a flow known to carry @known (its inside port's type,
 * or what its mark or earlier packets said) once RTP showed @rtp (bits of
 * rtp_media_of): a payload type adds only what @known does not already
 * explain. An audio payload type adds RTP_MEDIA_AUDIO. A video one adds
 * nothing to a flow known to carry video or screen sharing (both are
 * H.264: ordinary video from the video ports must not become "screen
 * sharing" too, or a rule that drops screen sharing would drop it), and
 * RTP_MEDIA_VIDEO | RTP_MEDIA_SCREEN to any other (which of the two it is
 * cannot be told). @known 0 (no type yet) gives @rtp. The same rule for
 * every path that adds RTP's types (engine.c), so a flow's types do not
 * depend on which packet showed them. */
uint8_t rtp_media_merge(uint8_t known, uint8_t rtp);

#endif
