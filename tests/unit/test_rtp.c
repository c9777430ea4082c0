/* The media type of an RTP packet (rtp.h): Microsoft's audio and video
 * payload types, RTCP and other payload types saying nothing, headers
 * that do not fit, and RTP inside TURN ChannelData. */
#include <check.h>
#include <string.h>

#include "check_run.h"
#include "core/rtp.h"
#include "policy/policy.h"

/* An RTP packet of payload type @pt (with the marker bit if @marker), @cc
 * CSRCs and 20 bytes of (encrypted) payload into @b; its length. */
static uint32_t rtp(uint8_t *b, uint8_t pt, int marker, uint8_t cc)
{
	uint32_t n = 12 + 4u * cc + 20;

	memset(b, 0xa5, n);
	b[0] = (uint8_t)(0x80 | cc);
	b[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	b[2] = 0x12; /* sequence */
	b[3] = 0x34;
	return n;
}

START_TEST(test_microsoft_audio_payload_types_are_audio)
{
	static const uint8_t audio[] = { 0,   8,   9,	13,  97,  101, 103, 104,
					 111, 112, 114, 115, 116, 117, 118 };
	uint8_t b[128];
	unsigned i;

	for (i = 0; i < sizeof(audio); i++) {
		ck_assert_uint_eq(rtp_media_of(b, rtp(b, audio[i], 0, 0)),
				  MEDIA_AUDIO);
		/* the marker bit (a talk spurt's start) changes nothing */
		ck_assert_uint_eq(rtp_media_of(b, rtp(b, audio[i], 1, 0)),
				  MEDIA_AUDIO);
	}
}
END_TEST

START_TEST(test_video_payload_types_may_be_video_or_screen_sharing)
{
	static const uint8_t video[] = { 34, 121, 122, 123, 127 };
	uint8_t b[128];
	unsigned i;

	for (i = 0; i < sizeof(video); i++)
		ck_assert_uint_eq(rtp_media_of(b, rtp(b, video[i], 1, 0)),
				  MEDIA_VIDEO | MEDIA_SCREEN);
}
END_TEST

START_TEST(test_bits_agree_with_the_policy)
{
	ck_assert_uint_eq(RTP_MEDIA_AUDIO, MEDIA_AUDIO);
	ck_assert_uint_eq(RTP_MEDIA_VIDEO, MEDIA_VIDEO);
	ck_assert_uint_eq(RTP_MEDIA_SCREEN, MEDIA_SCREEN);
}
END_TEST

START_TEST(test_rtcp_and_other_payload_types_say_nothing)
{
	static const uint8_t other[] = { 3, 18, 26, 31, 96, 98, 100, 120, 126 };
	uint8_t b[128];
	unsigned i, t;

	/* RTCP SR, RR, SDES, BYE, APP: payload types 72-76, marker set */
	for (t = 200; t <= 204; t++)
		ck_assert_uint_eq(rtp_media_of(b, rtp(b, t - 128, 1, 0)), 0);
	for (i = 0; i < sizeof(other); i++)
		ck_assert_uint_eq(rtp_media_of(b, rtp(b, other[i], 0, 0)), 0);
}
END_TEST

START_TEST(test_what_is_not_rtp_version_2_says_nothing)
{
	uint8_t b[128];
	uint32_t n = rtp(b, 111, 0, 0);

	ck_assert_uint_eq(rtp_media_of(b, 11), 0); /* shorter than a header */
	ck_assert_uint_eq(rtp_media_of(b, 12), MEDIA_AUDIO);
	b[0] = 0x40; /* version 1 */
	ck_assert_uint_eq(rtp_media_of(b, n), 0);
	b[0] = 0xc0; /* version 3 */
	ck_assert_uint_eq(rtp_media_of(b, n), 0);
	b[0] = 0x00; /* STUN's first byte */
	ck_assert_uint_eq(rtp_media_of(b, n), 0);
	/* padding and extension bits are RTP all the same */
	b[0] = 0xb0;
	ck_assert_uint_eq(rtp_media_of(b, n), MEDIA_AUDIO);
	ck_assert_uint_eq(rtp_media_of(NULL, 0), 0);
}
END_TEST

START_TEST(test_a_csrc_list_must_fit)
{
	uint8_t b[128];
	uint32_t n = rtp(b, 122, 0, 15);

	ck_assert_uint_eq(rtp_media_of(b, n), MEDIA_VIDEO | MEDIA_SCREEN);
	ck_assert_uint_eq(rtp_media_of(b, 12 + 4 * 15),
			  MEDIA_VIDEO | MEDIA_SCREEN);
	ck_assert_uint_eq(rtp_media_of(b, 12 + 4 * 15 - 1), 0);
}
END_TEST

START_TEST(test_rtp_in_turn_channel_data_is_read)
{
	uint8_t b[128];
	uint32_t n = rtp(b + 4, 111, 0, 0);

	b[0] = 0x40;
	b[1] = 0x01;
	b[2] = 0;
	b[3] = (uint8_t)n;
	ck_assert_uint_eq(rtp_media_of(b, n + 4), MEDIA_AUDIO);
	/* padded to four bytes over UDP: the length says where it ends */
	ck_assert_uint_eq(rtp_media_of(b, n + 4 + 3), MEDIA_AUDIO);
	/* a length past the datagram */
	b[3] = (uint8_t)(n + 1);
	ck_assert_uint_eq(rtp_media_of(b, n + 4), 0);
	/* a channel number out of TURN's range is not ChannelData */
	b[0] = 0x50;
	b[3] = (uint8_t)n;
	ck_assert_uint_eq(rtp_media_of(b, n + 4), 0);
}
END_TEST

/* What a payload type adds to what a flow's port (or mark) says: only what
 * that does not explain already. */
START_TEST(test_payload_types_add_only_what_the_hint_does_not_explain)
{
	const uint8_t vs = MEDIA_VIDEO | MEDIA_SCREEN;

	/* H.264 from a video or a screen-sharing port is that type */
	ck_assert_uint_eq(rtp_media_merge(MEDIA_VIDEO, vs), MEDIA_VIDEO);
	ck_assert_uint_eq(rtp_media_merge(MEDIA_SCREEN, vs), MEDIA_SCREEN);
	/* audio adds audio anywhere */
	ck_assert_uint_eq(rtp_media_merge(MEDIA_VIDEO, MEDIA_AUDIO),
			  MEDIA_AUDIO | MEDIA_VIDEO);
	ck_assert_uint_eq(rtp_media_merge(MEDIA_SCREEN, MEDIA_AUDIO | vs),
			  MEDIA_AUDIO | MEDIA_SCREEN);
	ck_assert_uint_eq(rtp_media_merge(MEDIA_AUDIO, MEDIA_AUDIO),
			  MEDIA_AUDIO);
	/* video on an audio port may be video or screen sharing */
	ck_assert_uint_eq(rtp_media_merge(MEDIA_AUDIO, vs), MEDIA_ALL);
	/* nothing known yet: RTP's own; nothing shown: the hint's */
	ck_assert_uint_eq(rtp_media_merge(0, vs), vs);
	ck_assert_uint_eq(rtp_media_merge(0, MEDIA_AUDIO), MEDIA_AUDIO);
	ck_assert_uint_eq(rtp_media_merge(MEDIA_VIDEO, 0), MEDIA_VIDEO);
	/* merged again, the same: the order packets come in changes
	 * nothing */
	ck_assert_uint_eq(
		rtp_media_merge(rtp_media_merge(MEDIA_VIDEO, MEDIA_AUDIO), vs),
		rtp_media_merge(MEDIA_VIDEO, MEDIA_AUDIO | vs));
	ck_assert_uint_eq(rtp_media_merge(rtp_media_merge(MEDIA_AUDIO, vs), vs),
			  MEDIA_ALL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtp");
	TCase *c = tcase_create("media");

	tcase_add_test(c, test_microsoft_audio_payload_types_are_audio);
	tcase_add_test(c,
		       test_video_payload_types_may_be_video_or_screen_sharing);
	tcase_add_test(c, test_bits_agree_with_the_policy);
	tcase_add_test(c, test_rtcp_and_other_payload_types_say_nothing);
	tcase_add_test(c, test_what_is_not_rtp_version_2_says_nothing);
	tcase_add_test(c, test_a_csrc_list_must_fit);
	tcase_add_test(c, test_rtp_in_turn_channel_data_is_read);
	tcase_add_test(
		c, test_payload_types_add_only_what_the_hint_does_not_explain);
	suite_add_tcase(s, c);
	return check_run(s);
}
