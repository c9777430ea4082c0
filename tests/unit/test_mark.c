/* The skyfence bits of the mark: layout checks, round trips, other tools'
 * bits untouched. */
#include <check.h>
#include <errno.h>

#include "check_run.h"
#include "core/mark.h"

START_TEST(test_default_layout_round_trip)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	ck_assert_uint_eq(l.verdict_mask, 0x00070000);
	ck_assert_uint_eq(l.app_bits, 12);
	ck_assert_uint_eq(l.queued, 0x00080000);
	m = mark_encode(&l, 0x0000abcd, MARK_DROP, 125);
	ck_assert_uint_eq(m & 0xffff, 0xabcd); /* other tools' bits kept */
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_DROP);
	ck_assert_uint_eq(mark_app_of(&l, m), 125);
	ck_assert_uint_eq(mark_verdict_value(&l, MARK_REJECT), 0x00030000);
	m = mark_encode(&l, m, MARK_ACCEPT, 38); /* re-marking replaces */
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_ACCEPT);
	ck_assert_uint_eq(mark_app_of(&l, m), 38);
	ck_assert_uint_eq(m & 0xffff, 0xabcd);
}
END_TEST

START_TEST(test_a_verdict_clears_the_queued_bit)
{
	struct mark_layout l;
	uint32_t m;

	ck_assert_int_eq(mark_layout_init(&l, MARK_DEFAULT_MASK), 0);
	/* the chain restored THROTTLE for app 125 and set queued */
	m = mark_encode(&l, 0x1234, MARK_THROTTLE, 125) | l.queued;
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_THROTTLE);
	ck_assert_uint_eq(mark_app_of(&l, m), 125);
	ck_assert_uint_eq(mark_seen(&l, m), m & ~0x00080000u);
	ck_assert_uint_eq(mark_seen(&l, m) & 0xffff, 0x1234);
	ck_assert_uint_eq(mark_encode(&l, m, MARK_DROP, 125) & l.queued, 0);
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
	/* an app id that does not fit is stored as 0, the verdict kept */
	ck_assert_int_eq(mark_layout_init(&l, 0xffff0000), 0);
	m = mark_encode(&l, 0, MARK_DROP, 9000);
	ck_assert_uint_eq(mark_app_of(&l, m), 0);
	ck_assert_int_eq(mark_verdict_of(&l, m), MARK_DROP);
}
END_TEST

START_TEST(test_bad_masks_are_refused)
{
	struct mark_layout l;

	ck_assert_int_eq(mark_layout_init(&l, 0), -EINVAL);
	ck_assert_int_eq(mark_layout_init(&l, 0x000000ff),
			 -EINVAL); /* 8 bits */
	ck_assert_int_eq(mark_layout_init(&l, 0xff00ff00), -EINVAL); /* holes */
	ck_assert_int_eq(mark_layout_init(&l, 0x0001fffe), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mark");
	TCase *c = tcase_create("layout");

	tcase_add_test(c, test_default_layout_round_trip);
	tcase_add_test(c, test_other_masks);
	tcase_add_test(c, test_a_verdict_clears_the_queued_bit);
	tcase_add_test(c, test_bad_masks_are_refused);
	suite_add_tcase(s, c);
	return check_run(s);
}
