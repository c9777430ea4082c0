/* The verdict for one queued packet (verdict.h): every mark and engine
 * outcome, the queued bit always cleared, other tools' bits kept, the
 * media types and DSCP a decision carries, and the wire length of GSO
 * super-packets. */
#include <check.h>

#include "check_run.h"
#include "policy/policy.h"
#include "core/verdict.h"

static struct mark_layout l;

/* another tool's bits, below the default mask's */
#define OTHER 0x1b4u

static void setup(void)
{
	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
}

/* A packet as the chain queues it: the flow's mark restored, queued set,
 * another tool's bits below ours. */
static uint32_t queued(enum mark_verdict v, uint16_t app)
{
	return (v == MARK_NONE ? OTHER : mark_encode(&l, OTHER, v, app)) |
	       l.queued;
}

START_TEST(test_a_decided_mark_is_followed_never_repeated)
{
	static const struct {
		enum mark_verdict mv;
		enum verdict_kind want;
	} cases[] = { { MARK_ACCEPT, VERDICT_ACCEPT },
		      { MARK_DROP, VERDICT_DROP },
		      { MARK_REJECT, VERDICT_DROP } };
	struct verdict_step vs;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t m = queued(cases[i].mv, 125);

		ck_assert_int_eq(verdict_from_mark(&l, m, &vs), 1);
		ck_assert_int_eq(vs.kind, cases[i].want);
		ck_assert_uint_eq(vs.mark, m & ~l.queued);
	}
}
END_TEST

START_TEST(test_undecided_and_throttle_marks_go_to_the_engine)
{
	struct verdict_step vs;

	ck_assert_int_eq(verdict_from_mark(&l, queued(MARK_NONE, 0), &vs), 0);
	ck_assert_int_eq(verdict_from_mark(&l, queued(MARK_THROTTLE, 38), &vs),
			 0);
}
END_TEST

START_TEST(test_an_inspected_flow_is_accepted_with_queued_clear)
{
	struct verdict_step vs;
	uint32_t m = queued(MARK_NONE, 0);

	verdict_after_engine(&l, m, 0, ACT_ALLOW, 0, 0, 0, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_ACCEPT);
	ck_assert_uint_eq(vs.mark, OTHER);
	/* an undecided flow whose policy action would drop: still inspected,
	 * still accepted (the decision is not final yet) */
	verdict_after_engine(&l, m, 0, ACT_DROP, 38, MEDIA_ALL, 0, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_ACCEPT);
}
END_TEST

START_TEST(test_a_decision_repeats_with_verdict_and_app_in_the_mark)
{
	static const struct {
		uint8_t action;
		enum mark_verdict mv;
	} cases[] = { { ACT_ALLOW, MARK_ACCEPT },
		      { ACT_DROP, MARK_DROP },
		      { ACT_REJECT, MARK_REJECT },
		      { ACT_THROTTLE, MARK_THROTTLE } };
	struct verdict_step vs;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		verdict_after_engine(&l, queued(MARK_NONE, 0), 1,
				     cases[i].action, 125, 0, 0, &vs);
		ck_assert_int_eq(vs.kind, VERDICT_REPEAT);
		ck_assert_int_eq(mark_verdict_of(&l, vs.mark), cases[i].mv);
		ck_assert_uint_eq(mark_app_of(&l, vs.mark), 125);
		ck_assert_uint_eq(mark_media_of(&l, vs.mark), 0);
		ck_assert_uint_eq(mark_dscp_of(&l, vs.mark), 0);
		ck_assert_uint_eq(vs.mark & ~l.mask, OTHER);
		ck_assert_uint_eq(vs.mark & l.queued, 0);
	}
}
END_TEST

START_TEST(test_a_throttled_flow_is_shaped_until_its_decision_changes)
{
	struct verdict_step vs;
	uint32_t m = queued(MARK_THROTTLE, 125);

	verdict_after_engine(&l, m, 1, ACT_THROTTLE, 125, MEDIA_VIDEO, 0, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_SHAPE);
	ck_assert_uint_eq(vs.mark, m & ~l.queued);
	/* a rule set or the kill switch made it drop: repeat with drop, so
	 * the rules take the flow out of the throttle queue */
	verdict_after_engine(&l, m, 1, ACT_DROP, 125, MEDIA_VIDEO, 0, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_REPEAT);
	ck_assert_int_eq(mark_verdict_of(&l, vs.mark), MARK_DROP);
	ck_assert_uint_eq(mark_media_of(&l, vs.mark), MEDIA_VIDEO);
	/* allowed again, and marked: repeat with accept and the DSCP,
	 * offloaded to the kernel */
	verdict_after_engine(&l, m, 1, ACT_ALLOW, 125, MEDIA_VIDEO, 1 + 34,
			     &vs);
	ck_assert_int_eq(vs.kind, VERDICT_REPEAT);
	ck_assert_int_eq(mark_verdict_of(&l, vs.mark), MARK_ACCEPT);
	ck_assert_uint_eq(mark_dscp_of(&l, vs.mark), 1 + 34);
}
END_TEST

START_TEST(test_a_decision_carries_its_media_types_and_dscp_in_the_mark)
{
	struct verdict_step vs;
	uint32_t m;

	/* audio marked EF (46) */
	verdict_after_engine(&l, queued(MARK_NONE, 0), 1, ACT_ALLOW, 125,
			     MEDIA_AUDIO, 1 + 46, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_REPEAT);
	ck_assert_int_eq(mark_verdict_of(&l, vs.mark), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, vs.mark), 125);
	ck_assert_uint_eq(mark_media_of(&l, vs.mark), MEDIA_AUDIO);
	ck_assert_uint_eq(mark_dscp_of(&l, vs.mark), 1 + 46);
	ck_assert_uint_eq(vs.mark & l.dscp_on, l.dscp_on);
	ck_assert_uint_eq(vs.mark & ~l.mask, OTHER);
	ck_assert_uint_eq(vs.mark & l.queued, 0);
	/* DSCP 0 (be) is a mark too: the kernel writes 0 */
	verdict_after_engine(&l, queued(MARK_NONE, 0), 1, ACT_ALLOW, 250,
			     MEDIA_ALL, 1 + 0, &vs);
	ck_assert_uint_eq(mark_dscp_of(&l, vs.mark), 1);
	ck_assert_uint_eq(mark_media_of(&l, vs.mark), MEDIA_ALL);
	/* decided again without a DSCP (a stricter media type): the old
	 * DSCP goes, so the kernel stops rewriting the flow's packets */
	m = vs.mark | l.queued;
	verdict_after_engine(&l, m, 1, ACT_DROP, 250, MEDIA_ALL, 0, &vs);
	ck_assert_int_eq(mark_verdict_of(&l, vs.mark), MARK_DROP);
	ck_assert_uint_eq(mark_dscp_of(&l, vs.mark), 0);
	ck_assert_uint_eq(vs.mark & (l.dscp_on | l.dscp_mask), 0);
}
END_TEST

START_TEST(test_a_mask_without_room_for_dscp_carries_the_rest)
{
	struct mark_layout s;
	struct verdict_step vs;

	ck_assert_int_eq(mark_layout_init(&s, 0xffff0000u), 0);
	ck_assert(!mark_has_dscp(&s));
	verdict_after_engine(&s, 0x1234 | s.queued, 1, ACT_ALLOW, 125,
			     MEDIA_SCREEN, 1 + 46, &vs);
	ck_assert_int_eq(vs.kind, VERDICT_REPEAT);
	ck_assert_int_eq(mark_verdict_of(&s, vs.mark), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&s, vs.mark), 125);
	ck_assert_uint_eq(mark_media_of(&s, vs.mark), MEDIA_SCREEN);
	ck_assert_uint_eq(mark_dscp_of(&s, vs.mark), 0);
	ck_assert_uint_eq(vs.mark & 0xffff, 0x1234);
	/* and both layouts read the verdict, app and media at one place */
	ck_assert_int_eq(mark_verdict_of(&l, vs.mark), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, vs.mark), 125);
	ck_assert_uint_eq(mark_media_of(&l, vs.mark), MEDIA_SCREEN);
}
END_TEST

START_TEST(test_wire_length_of_gso_super_packets)
{
	/* not GSO, or one segment's worth: as it came */
	ck_assert_uint_eq(verdict_wire_len(1500, 0, 52, 1448), 1500);
	ck_assert_uint_eq(verdict_wire_len(64000, 0, 52, 63948), 64000);
	ck_assert_uint_eq(verdict_wire_len(1500, 1, 52, 1448), 1500);
	ck_assert_uint_eq(verdict_wire_len(200, 1, 28, 0), 200); /* UDP */
	/* 4 segments of at most 1448: 3 more headers */
	ck_assert_uint_eq(verdict_wire_len(52 + 5000, 1, 52, 5000),
			  52 + 5000 + 3 * 52);
	ck_assert_uint_eq(verdict_wire_len(52 + 1449, 1, 52, 1449),
			  52 + 1449 + 52);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verdict");
	TCase *c = tcase_create("step");

	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, test_a_decided_mark_is_followed_never_repeated);
	tcase_add_test(c, test_undecided_and_throttle_marks_go_to_the_engine);
	tcase_add_test(c, test_an_inspected_flow_is_accepted_with_queued_clear);
	tcase_add_test(
		c, test_a_decision_repeats_with_verdict_and_app_in_the_mark);
	tcase_add_test(
		c,
		test_a_decision_carries_its_media_types_and_dscp_in_the_mark);
	tcase_add_test(c, test_a_mask_without_room_for_dscp_carries_the_rest);
	tcase_add_test(
		c, test_a_throttled_flow_is_shaped_until_its_decision_changes);
	tcase_add_test(c, test_wire_length_of_gso_super_packets);
	suite_add_tcase(s, c);
	return check_run(s);
}
