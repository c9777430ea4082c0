/* rtp.c - the media type of an RTP packet by its payload type (rtp.h). */
#include "core/rtp.h"

#define RTP_HEADER 12
#define CHANNELDATA_HEADER 4

/* Microsoft's payload types (MS-RTP), as its clients offer them in SDP. */
static uint8_t media_of_pt(uint8_t pt)
{
	switch (pt) {
	case 0:	  /* PCMU */
	case 8:	  /* PCMA */
	case 9:	  /* G.722 */
	case 13:  /* comfort noise */
	case 97:  /* RED, redundant audio */
	case 101: /* DTMF */
	case 103: /* SILK narrowband */
	case 104: /* SILK wideband */
	case 111: /* Siren */
	case 112: /* G.722.1 */
	case 114: /* RTAudio wideband */
	case 115: /* RTAudio narrowband */
	case 116: /* G.726 */
	case 117: /* G.722 stereo */
	case 118: /* comfort noise, wideband */
		return RTP_MEDIA_AUDIO;
	case 34:  /* H.263 */
	case 121: /* RTVideo */
	case 122: /* H.264 */
	case 123: /* H.264 forward error correction */
	case 127: /* x-data */
		/* screen sharing is H.264 too: video or screen sharing */
		return RTP_MEDIA_VIDEO | RTP_MEDIA_SCREEN;
	default:
		return 0;
	}
}

static uint8_t rtp_header_media(const uint8_t *p, uint32_t len)
{
	uint32_t need;

	if (len < RTP_HEADER || (p[0] & 0xc0) != 0x80)
		return 0;
	need = RTP_HEADER + 4u * (p[0] & 0x0f); /* the CSRC list */
	if (len < need)
		return 0;
	/* RTCP's packet types 200-204 (SR, RR, SDES, BYE, APP) are payload
	 * types 72-76 with the marker bit (RFC 5761 4): none is in the
	 * table, so a multiplexed RTCP packet says nothing */
	return media_of_pt(p[1] & 0x7f);
}

uint8_t rtp_media_of(const uint8_t *p, uint32_t len)
{
	uint32_t n;

	if (len >= CHANNELDATA_HEADER && p[0] >= 0x40 && p[0] <= 0x4f) {
		/* TURN ChannelData: channel 0x4000-0x4fff, then the length
		 * of the datagram it carries */
		n = (uint32_t)p[2] << 8 | p[3];
		if (n > len - CHANNELDATA_HEADER)
			return 0;
		return rtp_header_media(p + CHANNELDATA_HEADER, n);
	}
	return rtp_header_media(p, len);
}

uint8_t rtp_media_merge(uint8_t known, uint8_t rtp)
{
	const uint8_t video = RTP_MEDIA_VIDEO | RTP_MEDIA_SCREEN;
	uint8_t m = (uint8_t)(known | (rtp & RTP_MEDIA_AUDIO));

	if ((rtp & video) && !(known & video))
		m |= video;
	return m;
}
