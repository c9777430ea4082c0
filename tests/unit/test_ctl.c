/* The control socket's slot policy (ctl_slot_admit): read-only clients,
 * one uid or hundreds, cannot lock an admin out; one read-only uid cannot
 * lock the others out; an admin who finds every slot held takes the
 * slot of the read-only client idle longest. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "control/ctl.h"

#define SLOTS 512

static struct ctl_slot tab[SLOTS];
static struct ctl_limits lim;

static void table_init(void)
{
	memset(tab, 0, sizeof(tab));
	ctl_limits_default(&lim, SLOTS);
}

/* Asks the policy, then does what ctl.c does with the answer: the
 * client takes the slot, an evicted one gone first. */
static enum ctl_admit connect_as(uid_t uid, enum ctl_role role, uint64_t now,
				 unsigned *where)
{
	unsigned i = SLOTS;
	enum ctl_admit a = ctl_slot_admit(tab, &lim, uid, role, &i);

	if (a == CTL_ADMIT || a == CTL_ADMIT_EVICT) {
		ck_assert_uint_lt(i, SLOTS);
		if (a == CTL_ADMIT)
			ck_assert_int_eq(tab[i].used, 0);
		else
			ck_assert_int_eq(tab[i].role, CTL_READ_ONLY);
		tab[i] = (struct ctl_slot){ uid, role, 1, now };
	}
	if (where)
		*where = i;
	return a;
}

static unsigned held(enum ctl_role role, uid_t uid, int any_uid)
{
	unsigned i, n = 0;

	for (i = 0; i < SLOTS; i++)
		n += tab[i].used && tab[i].role == role &&
		     (any_uid || tab[i].uid == uid);
	return n;
}

START_TEST(test_limits_keep_one_slot_in_16_for_admins_and_cap_a_uid_at_one_in_8)
{
	struct ctl_limits l;

	ctl_limits_default(&l, 512);
	ck_assert_uint_eq(l.slots, 512);
	ck_assert_uint_eq(l.per_uid, 64);
	ck_assert_uint_eq(l.reserve, 32);
	ctl_limits_default(&l, 16);
	ck_assert_uint_eq(l.per_uid, 2);
	ck_assert_uint_eq(l.reserve, 1);
	ctl_limits_default(&l, 2);
	ck_assert_uint_eq(l.per_uid, 1);
	ck_assert_uint_eq(l.reserve, 1);
	/* one slot: nothing to keep, or no read-only client ever gets in */
	ctl_limits_default(&l, 1);
	ck_assert_uint_eq(l.per_uid, 1);
	ck_assert_uint_eq(l.reserve, 0);
}
END_TEST

START_TEST(test_read_only_uid_holds_at_most_64_and_another_uid_still_gets_in)
{
	unsigned i;

	table_init();
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(connect_as(1000, CTL_READ_ONLY, i, NULL),
				 CTL_ADMIT);
	ck_assert_int_eq(connect_as(1000, CTL_READ_ONLY, 99, NULL),
			 CTL_REFUSE_UID);
	ck_assert_int_eq(connect_as(1001, CTL_READ_ONLY, 99, NULL), CTL_ADMIT);
	ck_assert_uint_eq(held(CTL_READ_ONLY, 1000, 0), 64);
	/* one of its clients gone: the uid may have one more */
	tab[10].used = 0;
	ck_assert_int_eq(connect_as(1000, CTL_READ_ONLY, 100, NULL), CTL_ADMIT);
	ck_assert_int_eq(connect_as(1000, CTL_READ_ONLY, 101, NULL),
			 CTL_REFUSE_UID);
}
END_TEST

START_TEST(test_600_read_only_uids_leave_the_32_admin_slots_free)
{
	unsigned i, refused = 0, admitted = 0;

	table_init();
	for (i = 0; i < 600; i++) {
		enum ctl_admit a = connect_as(2000 + i, CTL_READ_ONLY, i, NULL);

		admitted += a == CTL_ADMIT;
		refused += a == CTL_REFUSE_READ_ONLY;
	}
	ck_assert_uint_eq(admitted, 480);
	ck_assert_uint_eq(refused, 120);
	/* root and the admin group take the 32 kept slots, no one evicted */
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(
			connect_as(i ? 3000 : 0, CTL_ADMIN, 1000 + i, NULL),
			CTL_ADMIT);
	ck_assert_uint_eq(held(CTL_READ_ONLY, 0, 1), 480);
	ck_assert_uint_eq(held(CTL_ADMIN, 0, 1), 32);
	/* every slot held: root still gets one, a read-only client's */
	ck_assert_int_eq(connect_as(0, CTL_ADMIN, 2000, NULL), CTL_ADMIT_EVICT);
	ck_assert_uint_eq(held(CTL_READ_ONLY, 0, 1), 479);
	/* and the read-only crowd cannot take it back while admins hold
	 * the rest: only the slot an admin frees is free */
	ck_assert_int_eq(connect_as(5000, CTL_READ_ONLY, 2001, NULL),
			 CTL_REFUSE_FULL);
}
END_TEST

START_TEST(test_admin_takes_the_slot_of_the_read_only_client_idle_longest)
{
	unsigned i, where;

	table_init();
	/* 8 uids x 60 read-only clients, last active at 10,000 + i except
	 * two idle since 500 (slots 300 and 400) */
	for (i = 0; i < 480; i++)
		ck_assert_int_eq(connect_as(1000 + i % 8, CTL_READ_ONLY,
					    10000 + i, NULL),
				 CTL_ADMIT);
	tab[400].last_ms = 500;
	tab[300].last_ms = 500;
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(connect_as(3000, CTL_ADMIN, 20000, NULL),
				 CTL_ADMIT);
	ck_assert_int_eq(connect_as(0, CTL_ADMIN, 30000, &where),
			 CTL_ADMIT_EVICT);
	ck_assert_uint_eq(where, 300); /* the first of the two */
	ck_assert_int_eq(connect_as(0, CTL_ADMIN, 30001, &where),
			 CTL_ADMIT_EVICT);
	ck_assert_uint_eq(where, 400);
	ck_assert_int_eq(connect_as(0, CTL_ADMIN, 30002, &where),
			 CTL_ADMIT_EVICT);
	ck_assert_uint_eq(where, 0); /* then the oldest of the rest */
	/* an admin is never taken for a read-only one: admins' slots
	 * stay as they were */
	ck_assert_uint_eq(held(CTL_ADMIN, 3000, 0), 32);
}
END_TEST

START_TEST(test_admins_holding_every_slot_refuse_an_admin_and_evict_no_one)
{
	unsigned i;

	table_init();
	for (i = 0; i < SLOTS; i++)
		ck_assert_int_eq(connect_as(3000 + i % 3, CTL_ADMIN, i, NULL),
				 CTL_ADMIT);
	ck_assert_int_eq(connect_as(0, CTL_ADMIN, 9999, NULL), CTL_REFUSE_FULL);
	ck_assert_int_eq(connect_as(1000, CTL_READ_ONLY, 9999, NULL),
			 CTL_REFUSE_FULL);
	ck_assert_uint_eq(held(CTL_ADMIN, 0, 1), SLOTS);
}
END_TEST

START_TEST(test_a_read_only_client_never_evicts)
{
	unsigned i;

	table_init();
	/* admins past their reserve, read-only clients in the rest */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(connect_as(3000, CTL_ADMIN, i, NULL),
				 CTL_ADMIT);
	for (i = 0; i < 412; i++)
		ck_assert_int_eq(
			connect_as(1000 + i % 7, CTL_READ_ONLY, i, NULL),
			CTL_ADMIT);
	ck_assert_int_eq(connect_as(2000, CTL_READ_ONLY, 0, NULL),
			 CTL_REFUSE_FULL);
	ck_assert_uint_eq(held(CTL_READ_ONLY, 0, 1), 412);
}
END_TEST

START_TEST(test_admins_are_not_capped_per_uid)
{
	unsigned i;

	table_init();
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(connect_as(0, CTL_ADMIN, i, NULL), CTL_ADMIT);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(connect_as(3000, CTL_ADMIN, i, NULL),
				 CTL_ADMIT);
	ck_assert_uint_eq(held(CTL_ADMIN, 0, 0), 200);
}
END_TEST

/* Random connects and disconnects of 600 read-only uids, the admin group
 * and root: at every step no read-only uid holds more than 64, read-only
 * clients together no more than 480, and an admin is refused only when
 * admins hold every slot. */
START_TEST(test_no_mix_of_clients_locks_root_out)
{
	unsigned step, i;

	table_init();
	srand(24);
	for (step = 0; step < 200000; step++) {
		int r = rand() % 100;

		if (r < 30) {
			/* a client goes */
			i = (unsigned)rand() % SLOTS;
			tab[i].used = 0;
		} else if (r < 90) {
			uid_t uid = 1000 + (uid_t)(rand() % 600);

			if (rand() % 4 == 0)
				uid = 1000 + (uid_t)(rand() % 3); /* hogs */
			connect_as(uid, CTL_READ_ONLY, step, NULL);
		} else {
			int root = r < 95;
			enum ctl_admit a = connect_as(root ? 0 : 3000,
						      CTL_ADMIN, step, NULL);

			if (a != CTL_ADMIT && a != CTL_ADMIT_EVICT)
				ck_assert_uint_eq(held(CTL_ADMIN, 0, 1), SLOTS);
		}
		if (step % 97 == 0) {
			ck_assert_uint_le(held(CTL_READ_ONLY, 0, 1), 480);
			ck_assert_uint_le(held(CTL_READ_ONLY, 1000, 0), 64);
			ck_assert_uint_le(held(CTL_READ_ONLY, 1001, 0), 64);
			ck_assert_uint_le(held(CTL_READ_ONLY, 1002, 0), 64);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl");
	TCase *c = tcase_create("slots");

	tcase_set_timeout(c, 60);
	tcase_add_test(
		c,
		test_limits_keep_one_slot_in_16_for_admins_and_cap_a_uid_at_one_in_8);
	tcase_add_test(
		c,
		test_read_only_uid_holds_at_most_64_and_another_uid_still_gets_in);
	tcase_add_test(c,
		       test_600_read_only_uids_leave_the_32_admin_slots_free);
	tcase_add_test(
		c,
		test_admin_takes_the_slot_of_the_read_only_client_idle_longest);
	tcase_add_test(
		c,
		test_admins_holding_every_slot_refuse_an_admin_and_evict_no_one);
	tcase_add_test(c, test_a_read_only_client_never_evicts);
	tcase_add_test(c, test_admins_are_not_capped_per_uid);
	tcase_add_test(c, test_no_mix_of_clients_locks_root_out);
	suite_add_tcase(s, c);
	return check_run(s);
}
