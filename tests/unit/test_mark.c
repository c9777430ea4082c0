/* The skyfence bits of the mark: layout checks, round trips, other tools'
 * bits untouched, the DSCP field of masks wide enough for it. */
#include <check.h>
#include <errno.h>

#include "check_run.h"
#include "core/mark.h"
#include "policy/policy.h"

START_TEST(test_default_layout_round_trip)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	ck_assert_uint_eq(l.mask, 0xfffffe00);
	ck_assert_uint_eq(l.dscp_mask, 0x00007e00);
	ck_assert_uint_eq(l.dscp_on, 0x00008000);
	ck_assert_uint_eq(l.dscp_shift, 9);
	ck_assert_uint_eq(l.verdict_mask, 0x00070000);
	ck_assert_uint_eq(l.app_bits, 9);
	ck_assert_uint_eq(l.app_mask, 0x1ff00000);
	ck_assert_uint_eq(l.media_mask, 0xe0000000);
	ck_assert_uint_eq(l.queued, 0x00080000);
	ck_assert(mark_has_dscp(&l));
	m = mark_encode(&l, 0x000001cd, MARK_DROP, 125);
	ck_assert_uint_eq(m & 0x1ff, 0x1cd); /* other tools' bits kept */
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_DROP);
	ck_assert_uint_eq(mark_app_of(&l, m), 125);
	ck_assert_uint_eq(mark_media_of(&l, m), 0);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 0);
	ck_assert_uint_eq(mark_verdict_value(&l, MARK_REJECT), 0x00030000);
	m = mark_encode(&l, m, MARK_ACCEPT, 38); /* re-marking replaces */
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, m), 38);
	ck_assert_uint_eq(m & 0x1ff, 0x1cd);
}
END_TEST

START_TEST(test_flow_mark_carries_media_and_dscp)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	m = mark_encode_flow(&l, 0x1ff, MARK_ACCEPT, 250, MEDIA_AUDIO, 1 + 46);
	ck_assert_uint_eq(m, 0x2fa1ddff); /* media 1, app 250, EF on */
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, m), 250);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_AUDIO);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 1 + 46);
	/* mark_encode takes both away again */
	m = mark_encode(&l, m, MARK_DROP, 250);
	ck_assert_uint_eq(mark_media_of(&l, m), 0);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 0);
	ck_assert_uint_eq(m & 0x1ff, 0x1ff);
	m = mark_encode_flow(&l, 0, MARK_DROP, 125, MEDIA_ALL, 0);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_ALL);
	ck_assert_uint_eq(m & (l.dscp_on | l.dscp_mask), 0);
}
END_TEST

START_TEST(test_every_dscp_value_round_trips)
{
	struct mark_layout l;
	unsigned v;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	for (v = 0; v <= 63; v++) {
		uint32_t m = mark_encode_flow(&l, 0x155, MARK_ACCEPT, 38,
					      MEDIA_VIDEO, (uint8_t)(1 + v));

		ck_assert_uint_eq(mark_dscp_of(&l, m), 1 + v);
		ck_assert_uint_eq((m & l.dscp_mask) >> l.dscp_shift, v);
		ck_assert(m & l.dscp_on);
		ck_assert_int_eq(mark_verdict_of(&l, m), MARK_ACCEPT);
		ck_assert_uint_eq(mark_app_of(&l, m), 38);
		ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_VIDEO);
		ck_assert_uint_eq(m & 0x1ff, 0x155);
	}
	/* out of range: no DSCP rather than a wrong one */
	ck_assert_uint_eq(mark_dscp_of(&l, mark_encode_flow(&l, 0, MARK_ACCEPT,
							    38, 0, 65)),
			  0);
}
END_TEST

START_TEST(test_old_and_new_default_masks_read_each_others_verdicts)
{
	struct mark_layout o, n;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&o, 0xffff0000), 0);
	ck_assert_int_eq(mark_layout_init(&n, 0xfffffe00), 0);
	ck_assert(!mark_has_dscp(&o));
	ck_assert_uint_eq(o.verdict_mask, n.verdict_mask);
	ck_assert_uint_eq(o.queued, n.queued);
	ck_assert_uint_eq(o.app_mask, n.app_mask);
	ck_assert_uint_eq(o.media_mask, n.media_mask);
	m = mark_encode_flow(&n, 0, MARK_THROTTLE, 125, MEDIA_SCREEN, 1 + 18);
	ck_assert_int_eq(mark_verdict_of(&o, m), MARK_THROTTLE);
	ck_assert_uint_eq(mark_app_of(&o, m), 125);
	ck_assert_uint_eq(mark_media_of(&o, m), MEDIA_SCREEN);
	ck_assert_uint_eq(mark_dscp_of(&o, m), 0);
	m = mark_encode_flow(&o, 0x1234, MARK_REJECT, 38, MEDIA_AUDIO, 47);
	ck_assert_uint_eq(m & 0xffff, 0x1234); /* no DSCP: bits not ours */
	ck_assert_int_eq(mark_verdict_of(&n, m), MARK_REJECT);
	ck_assert_uint_eq(mark_app_of(&n, m), 38);
	ck_assert_uint_eq(mark_media_of(&n, m), MEDIA_AUDIO);
}
END_TEST

START_TEST(test_a_verdict_clears_the_queued_bit)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	/* the chain restored THROTTLE for app 125 and set queued */
	m = mark_encode(&l, 0x1a4, MARK_THROTTLE, 125) | l.queued;
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_THROTTLE);
	ck_assert_uint_eq(mark_app_of(&l, m), 125);
	ck_assert_uint_eq(mark_seen(&l, m), m & ~0x00080000u);
	ck_assert_uint_eq(mark_seen(&l, m) & 0x1ff, 0x1a4);
	ck_assert_uint_eq(mark_encode(&l, m, MARK_DROP, 125) & l.queued, 0);
	ck_assert_uint_eq(
		mark_encode_flow(&l, m, MARK_ACCEPT, 125, 1, 47) & l.queued, 0);
}
END_TEST

START_TEST(test_other_masks)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, 0x00ffff00), 0);
	m = mark_encode(&l, 0xff0000ff, MARK_THROTTLE, 250);
	ck_assert_uint_eq(m & 0xff0000ff, 0xff0000ff);
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_THROTTLE);
	ck_assert_uint_eq(mark_app_of(&l, m), 250);
	ck_assert_int_eq(mark_layout_init(&l, 0x0000ffff), 0);
	ck_assert_int_eq(mark_verdict_of(&l, 0), MARK_NONE);
	ck_assert_uint_eq(l.media_mask, 0x0000e000);
	/* an app id that does not fit 9 bits is stored as 0, the verdict
	 * and the media kept */
	ck_assert_int_eq(mark_layout_init(&l, 0xffff0000), 0);
	m = mark_encode_flow(&l, 0, MARK_DROP, 512, MEDIA_VIDEO, 0);
	ck_assert_uint_eq(mark_app_of(&l, m), 0);
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_DROP);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_VIDEO);
	m = mark_encode(&l, 0, MARK_DROP, 511);
	ck_assert_uint_eq(mark_app_of(&l, m), 511);
	ck_assert_uint_eq(mark_media_of(&l, m), 0);
}
END_TEST

START_TEST(test_dscp_needs_a_mask_of_23_bits)
{
	struct mark_layout l;
	uint32_t m;

	/* 22 bits: the fields from bit 10, no DSCP */
	ck_assert_int_eq(mark_layout_init(&l, 0xfffffc00), 0);
	ck_assert(!mark_has_dscp(&l));
	ck_assert_uint_eq(l.dscp_on | l.dscp_mask | l.dscp_shift, 0);
	ck_assert_uint_eq(l.verdict_mask, 0x00001c00);
	m = mark_encode_flow(&l, 0, MARK_ACCEPT, 38, MEDIA_AUDIO, 47);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 0);
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, m), 38);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_AUDIO);
	/* 23 bits anywhere: DSCP from its lowest bit */
	ck_assert_int_eq(mark_layout_init(&l, 0x007fffff), 0);
	ck_assert(mark_has_dscp(&l));
	ck_assert_uint_eq(l.dscp_mask, 0x3f);
	ck_assert_uint_eq(l.dscp_on, 0x40);
	ck_assert_uint_eq(l.verdict_mask, 0x380);
	ck_assert_uint_eq(l.media_mask, 0x00700000);
	m = mark_encode_flow(&l, 0xff800000, MARK_ACCEPT, 250, MEDIA_ALL,
			     1 + 34);
	ck_assert_uint_eq(m & 0xff800000, 0xff800000);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 1 + 34);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_ALL);
	ck_assert_uint_eq(mark_app_of(&l, m), 250);
	/* the whole word */
	ck_assert_int_eq(mark_layout_init(&l, 0xffffffff), 0);
	m = mark_encode_flow(&l, 0, MARK_ACCEPT, 511, MEDIA_ALL, 64);
	ck_assert_uint_eq(mark_dscp_of(&l, m), 64);
	ck_assert_uint_eq(mark_app_of(&l, m), 511);
	ck_assert_uint_eq(mark_media_of(&l, m), MEDIA_ALL);
}
END_TEST

START_TEST(test_bad_masks_are_refused)
{
	struct mark_layout l;

	ck_assert_int_eq(mark_layout_init(&l, 0), -EINVAL);
	ck_assert_int_eq(mark_layout_init(&l, 0x000000ff),
			 -EINVAL); /* 8 bits */
	ck_assert_int_eq(mark_layout_init(&l, 0xffff7e00),
			 -EINVAL); /* a hole */
	ck_assert_int_eq(mark_layout_init(&l, 0xff00ff00), -EINVAL); /* holes */
	ck_assert_int_eq(mark_layout_init(&l, 0xffff8000), 0);	     /* 17 */
	ck_assert_int_eq(mark_layout_init(&l, 0x0001fffe), 0);
	ck_assert_int_eq(mark_layout_init(&l, 0x7fff0000), -EINVAL); /* 15 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mark");
	TCase *c = tcase_create("layout");

	tcase_add_test(c, test_default_layout_round_trip);
	tcase_add_test(c, test_flow_mark_carries_media_and_dscp);
	tcase_add_test(c, test_every_dscp_value_round_trips);
	tcase_add_test(
		c, test_old_and_new_default_masks_read_each_others_verdicts);
	tcase_add_test(c, test_other_masks);
	tcase_add_test(c, test_dscp_needs_a_mask_of_23_bits);
	tcase_add_test(c, test_a_verdict_clears_the_queued_bit);
	tcase_add_test(c, test_bad_masks_are_refused);
	suite_add_tcase(s, c);
	return check_run(s);
}
