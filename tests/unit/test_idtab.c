/* The identity table (identity/idtab.c) as a NAS with a wrong clock, a
 * replaying attacker and a flood see it: an address is bound to the
 * session that named it last by Event-Timestamp, never to an ended
 * session, never past a lifetime of silence; a snapshot and the records
 * taken from it never change; the table never grows past its bound; the
 * state file brings back exactly what was saved, odd bytes included, and
 * nothing that lapsed while the daemon was down. Times are passed in:
 * nothing sleeps. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "check_run.h"
#include "identity/idtab.h"

#define WALL 1796600000000ull	     /* the wall clock, ms */
#define T0 ((uint32_t)(WALL / 1000)) /* ... as an Event-Timestamp */
#define NOW 5000000ull		     /* the monotonic clock, ms */
#define LIFE 3600u		     /* lifetime_s */
#define LIFE_MS ((uint64_t)LIFE * 1000)
#define MAC1 "aa:bb:cc:dd:ee:01"
#define MAC2 "aa:bb:cc:dd:ee:02"
#define MAC3 "aa:bb:cc:dd:ee:03"

/* The tables a test made: the fixture frees those an assertion left
 * (CK_FORK=no, under valgrind). */
static struct idtab *made[4];

static struct idtab *table(unsigned max)
{
	struct idtab_opts o = { max, LIFE };
	struct idtab *t = idtab_create(&o, 42);
	unsigned i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; made[i]; i++)
		ck_assert_uint_lt(i + 1, sizeof(made) / sizeof(made[0]));
	made[i] = t;
	return t;
}

static void done(struct idtab *t)
{
	unsigned i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (made[i] == t)
			made[i] = NULL;
	idtab_free(t);
}

static void free_tables(void)
{
	unsigned i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		idtab_free(made[i]);
		made[i] = NULL;
	}
}

/* A 16-byte address (IPv4 mapped) from text; eight live at once. */
static const uint8_t *A(const char *txt)
{
	static uint8_t ring[8][16];
	static unsigned i;
	uint8_t *a = ring[i++ % 8];

	memset(a, 0, 16);
	if (inet_pton(AF_INET, txt, a + 12) == 1)
		a[10] = a[11] = 0xff;
	else
		ck_assert_msg(inet_pton(AF_INET6, txt, a) == 1, "%s", txt);
	return a;
}

/* An accounting message naming @ip4 (NULL: none), stamped @ts (0: no
 * Event-Timestamp), with no groups. */
static struct id_acct msg(int status, const char *session, const char *user,
			  const char *ip4, uint32_t ts)
{
	struct id_acct m;

	memset(&m, 0, sizeof(m));
	m.status = status;
	m.nas = "nas1";
	m.session = session;
	m.user = user;
	m.mac = "";
	m.groups = "";
	if (ts) {
		m.has_ts = 1;
		m.ts = ts;
	}
	if (ip4) {
		m.has_ip4 = 1;
		ck_assert_int_eq(inet_pton(AF_INET, ip4, m.ip4), 1);
	}
	return m;
}

static struct id_acct grouped(struct id_acct m, const char *packed)
{
	m.groups_known = 1;
	m.groups = packed;
	return m;
}

/* @m at @dt seconds after NOW and WALL. */
static int account_at(struct idtab *t, const struct id_acct *m, unsigned dt)
{
	return idtab_account(t, m, NOW + (uint64_t)dt * 1000,
			     WALL + (uint64_t)dt * 1000);
}

static int account(struct idtab *t, const struct id_acct *m)
{
	return account_at(t, m, 0);
}

static int lease(struct idtab *t, const char *addr, const char *mac, int add)
{
	return idtab_lease(t, A(addr), mac, 3 * LIFE, add, NOW, WALL);
}

static char who_buf[ID_USER_MAX + 1];

/* The user a fresh snapshot binds to @addr, "" if none. */
static const char *who(struct idtab *t, const char *addr)
{
	struct id_snap *s = idtab_snapshot(t);
	struct id_rec *r;

	ck_assert_ptr_nonnull(s);
	r = id_snap_lookup(s, A(addr));
	snprintf(who_buf, sizeof(who_buf), "%s", r ? r->user : "");
	id_snap_free(s);
	return who_buf;
}

static struct idtab_stats stats(const struct idtab *t)
{
	struct idtab_stats st;

	idtab_get_stats(t, &st);
	return st;
}

static const char *gtext(const struct id_rec *r)
{
	static char buf[1024];

	return id_rec_groups_text(r, buf, sizeof(buf));
}

/* ---- sessions ---- */

START_TEST(test_start_binds_the_address_to_its_user_mac_and_groups)
{
	struct idtab *t = table(0);
	struct id_acct m =
		grouped(msg(ID_START, "s1", "alice", "192.0.2.10", T0),
			"finance\0staff\0");
	struct id_snap *s;
	struct id_rec *r;
	char chg[512];

	m.mac = MAC1;
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert(idtab_dirty(t));
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg,
			 "identity: 192.0.2.10 alice (finance,staff) login");
	s = idtab_snapshot(t);
	ck_assert_ptr_nonnull(s);
	ck_assert(!idtab_dirty(t));
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg, "identity: -");
	r = id_snap_lookup(s, A("::ffff:192.0.2.10"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->user, "alice");
	ck_assert_str_eq(r->mac, MAC1);
	ck_assert_uint_eq(r->source, ID_SRC_RADIUS);
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_RADIUS);
	ck_assert_uint_eq(r->n_groups, 2);
	ck_assert_mem_eq(r->groups, "finance\0staff\0", 15);
	ck_assert_str_eq(gtext(r), "finance,staff");
	ck_assert_uint_eq(r->since_wall_ms, WALL);
	ck_assert_ptr_null(id_snap_lookup(s, A("192.0.2.11")));
	ck_assert_ptr_null(id_snap_lookup(s, A("::192.0.2.10")));
	ck_assert_ptr_null(id_snap_lookup(NULL, A("192.0.2.10")));
	ck_assert_uint_eq(id_snap_count(s), 1);
	ck_assert_uint_eq(stats(t).updates, 1);
	ck_assert_uint_eq(stats(t).sessions, 1);
	id_snap_free(s);
	done(t);
}
END_TEST

START_TEST(test_interim_with_the_same_data_changes_nothing)
{
	struct idtab *t = table(0);
	struct id_acct m = grouped(
		msg(ID_START, "s1", "alice", "192.0.2.10", T0), "finance\0");

	ck_assert_int_eq(account(t, &m), 1);
	id_snap_free(idtab_snapshot(t));
	m.status = ID_INTERIM;
	m.ts = T0 + 60;
	ck_assert_int_eq(account_at(t, &m, 60), 0);
	ck_assert(!idtab_dirty(t));
	ck_assert_uint_eq(stats(t).unchanged, 1);
	ck_assert_uint_eq(stats(t).updates, 1);
	/* a duplicate of the same datagram, too */
	ck_assert_int_eq(account_at(t, &m, 61), 0);
	ck_assert(!idtab_dirty(t));
	done(t);
}
END_TEST

START_TEST(test_new_groups_make_a_new_record_and_old_snapshots_keep_theirs)
{
	struct idtab *t = table(0);
	struct id_acct m = grouped(
		msg(ID_START, "s1", "alice", "192.0.2.10", T0), "finance\0");
	struct id_snap *old, *cur;
	struct id_rec *kept, *r;
	char chg[512];

	ck_assert_int_eq(account(t, &m), 1);
	old = idtab_snapshot(t);
	kept = id_snap_lookup(old, A("192.0.2.10"));
	ck_assert_ptr_nonnull(kept);
	id_rec_get(kept); /* a flow keeps it */
	m = grouped(m, "sales\0staff\0");
	m.status = ID_INTERIM;
	m.ts = T0 + 60;
	ck_assert_int_eq(account_at(t, &m, 60), 1);
	ck_assert(idtab_dirty(t));
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg,
			 "identity: 192.0.2.10 alice (sales,staff) update");
	cur = idtab_snapshot(t);
	r = id_snap_lookup(cur, A("192.0.2.10"));
	ck_assert_str_eq(gtext(r), "sales,staff");
	ck_assert_ptr_ne(r, kept);
	/* the old snapshot is what it was */
	ck_assert_str_eq(gtext(id_snap_lookup(old, A("192.0.2.10"))),
			 "finance");
	id_snap_free(old);
	id_snap_free(cur);
	/* the record outlives both snapshots */
	ck_assert_str_eq(kept->user, "alice");
	ck_assert_str_eq(gtext(kept), "finance");
	ck_assert_uint_eq(kept->n_groups, 1);
	/* ... and the table itself */
	done(t);
	ck_assert_str_eq(kept->user, "alice");
	id_rec_put(kept);
}
END_TEST

START_TEST(test_stop_unbinds_and_an_older_stop_is_stale)
{
	struct idtab *t = table(0);
	struct id_acct m = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	char chg[512];

	ck_assert_int_eq(account(t, &m), 1);
	m.status = ID_INTERIM;
	m.ts = T0 + 60;
	ck_assert_int_eq(account_at(t, &m, 60), 0);
	m.status = ID_STOP;
	m.ts = T0 + 30; /* sent before the Interim, delivered after */
	ck_assert_int_eq(account_at(t, &m, 61), -1 - ID_REF_STALE);
	ck_assert_uint_eq(stats(t).refused[ID_REF_STALE], 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	m.ts = T0 + 120;
	ck_assert_int_eq(account_at(t, &m, 120), 1);
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg, "identity: 192.0.2.10 alice logout");
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	ck_assert_uint_eq(stats(t).sessions, 0);
	ck_assert_uint_eq(stats(t).tombstones, 1);
	/* the same Stop again: nothing */
	ck_assert_int_eq(account_at(t, &m, 121), 0);
	ck_assert(!idtab_dirty(t));
	done(t);
}
END_TEST

START_TEST(test_an_ended_session_cannot_be_replayed)
{
	struct idtab *t = table(0);
	struct id_acct m = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	struct id_acct start = m;

	ck_assert_int_eq(account(t, &m), 1);
	m.status = ID_STOP;
	m.ts = T0 + 100;
	ck_assert_int_eq(account_at(t, &m, 100), 1);
	/* the Start captured and sent again */
	ck_assert_int_eq(account_at(t, &start, 200), -1 - ID_REF_REPLAYED);
	/* an Interim after the Stop, stamped before it */
	m.status = ID_INTERIM;
	m.ts = T0 + 50;
	ck_assert_int_eq(account_at(t, &m, 300), -1 - ID_REF_REPLAYED);
	/* ... or one with no Event-Timestamp */
	m.has_ts = 0;
	ck_assert_int_eq(account_at(t, &m, 300), -1 - ID_REF_REPLAYED);
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	/* a Stop overtakes its Start: the Start finds the session ended */
	m = msg(ID_STOP, "s2", "", NULL, T0 + 20);
	ck_assert_int_eq(account_at(t, &m, 301), 0);
	m = msg(ID_START, "s2", "bob", "192.0.2.11", T0 + 10);
	ck_assert_int_eq(account_at(t, &m, 302), -1 - ID_REF_REPLAYED);
	ck_assert_str_eq(who(t, "192.0.2.11"), "");
	ck_assert_uint_eq(stats(t).refused[ID_REF_REPLAYED], 4);
	ck_assert_uint_eq(stats(t).tombstones, 2);
	/* a Start stamped after the Stop: the NAS reuses the session id (it
	 * rebooted): a new session, taken */
	start.ts = T0 + 400;
	ck_assert_int_eq(account_at(t, &start, 400), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	done(t);
}
END_TEST

/* Accounting-On ends the NAS's sessions heard of before it, not those
 * after, nor another NAS's; a session id the NAS reuses after it is a
 * new session. */
START_TEST(test_accounting_on_ends_its_nas_sessions_only)
{
	struct idtab *t = table(0);
	struct id_acct a = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	struct id_acct b = msg(ID_START, "s2", "bob", "192.0.2.11", T0 + 50);
	struct id_acct c = msg(ID_START, "s1", "carol", "192.0.2.12", T0);
	struct id_acct on = msg(ID_START, "", "", NULL, T0 + 20);

	c.nas = "other-nas";
	ck_assert_int_eq(account(t, &a), 1);
	ck_assert_int_eq(account_at(t, &b, 50), 1);
	ck_assert_int_eq(account(t, &c), 1);
	ck_assert_int_eq(idtab_nas_reset(t, &on, NOW + 60000, WALL + 60000), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	ck_assert_str_eq(who(t, "192.0.2.11"), "bob");
	ck_assert_str_eq(who(t, "192.0.2.12"), "carol");
	/* the captured Start again: refused; the id reused later: taken */
	ck_assert_int_eq(account_at(t, &a, 61), -1 - ID_REF_REPLAYED);
	a.ts = T0 + 70;
	ck_assert_int_eq(account_at(t, &a, 70), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	/* an Accounting-On from a clock a day ahead: refused */
	on.ts = T0 + 86400;
	ck_assert_int_eq(idtab_nas_reset(t, &on, NOW + 71000, WALL + 71000),
			 -1 - ID_REF_FUTURE);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	done(t);
}
END_TEST

START_TEST(test_the_newer_session_holds_a_shared_address)
{
	struct idtab *t = table(0);
	struct id_acct a = msg(ID_START, "sa", "bob", "192.0.2.20", T0 + 10);
	struct id_acct b = msg(ID_START, "sb", "carol", "192.0.2.20", T0 + 20);
	struct id_acct c = msg(ID_START, "sc", "dave", "192.0.2.20", T0 + 15);

	ck_assert_int_eq(account_at(t, &a, 10), 1);
	ck_assert_int_eq(account_at(t, &b, 20), 1);
	ck_assert_str_eq(who(t, "192.0.2.20"), "carol");
	/* a Start delayed on its way, older than carol's */
	ck_assert_int_eq(account_at(t, &c, 30), -1 - ID_REF_STALE);
	ck_assert_uint_eq(stats(t).sessions, 2);
	/* bob's own Interim, older than carol's Start */
	a.status = ID_INTERIM;
	a.ts = T0 + 15;
	ck_assert_int_eq(account_at(t, &a, 31), -1 - ID_REF_STALE);
	ck_assert_str_eq(who(t, "192.0.2.20"), "carol");
	/* bob's Stop does not take carol's address */
	a.status = ID_STOP;
	a.ts = T0 + 40;
	ck_assert_int_eq(account_at(t, &a, 40), 0);
	ck_assert(!idtab_dirty(t));
	ck_assert_str_eq(who(t, "192.0.2.20"), "carol");
	ck_assert_uint_eq(stats(t).refused[ID_REF_STALE], 2);
	done(t);
}
END_TEST

START_TEST(test_a_wrong_clock_cannot_pin_an_address)
{
	struct idtab *t = table(0);
	struct id_acct m;

	m = msg(ID_START, "f1", "mallory", "192.0.2.30", T0 + ID_FUTURE_S + 1);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_FUTURE);
	m = msg(ID_START, "f2", "mallory", "192.0.2.30", T0 - LIFE - 1);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_STALE);
	ck_assert_str_eq(who(t, "192.0.2.30"), "");
	ck_assert_uint_eq(stats(t).refused[ID_REF_FUTURE], 1);
	ck_assert_uint_eq(stats(t).refused[ID_REF_STALE], 1);
	ck_assert_uint_eq(stats(t).sessions, 0);
	/* at the edges: taken */
	m = msg(ID_START, "f3", "erin", "192.0.2.31", T0 + ID_FUTURE_S);
	ck_assert_int_eq(account(t, &m), 1);
	m = msg(ID_START, "f4", "erin", "192.0.2.32", T0 - LIFE);
	ck_assert_int_eq(account(t, &m), 1);
	/* a Stop from the future does not end a session either */
	m = msg(ID_STOP, "f3", "erin", NULL, T0 + ID_FUTURE_S + 1);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_FUTURE);
	ck_assert_str_eq(who(t, "192.0.2.31"), "erin");
	done(t);
}
END_TEST

START_TEST(test_without_event_timestamp_messages_apply_in_arrival_order)
{
	struct idtab *t = table(0);
	struct id_acct e = msg(ID_START, "n1", "eve", "192.0.2.40", 0);
	struct id_acct f = msg(ID_START, "n2", "frank", "192.0.2.40", 0);

	ck_assert_int_eq(account(t, &e), 1);
	e = grouped(e, "eng\0");
	e.status = ID_INTERIM;
	ck_assert_int_eq(account_at(t, &e, 1), 1);
	ck_assert_int_eq(account_at(t, &f, 2), 1);
	ck_assert_str_eq(who(t, "192.0.2.40"), "frank");
	/* eve's session began before frank's: her Interim-Update does not
	 * take the address back (no flapping between two live sessions) */
	ck_assert_int_eq(account_at(t, &e, 3), -1 - ID_REF_STALE);
	ck_assert_str_eq(who(t, "192.0.2.40"), "frank");
	/* frank leaves: eve's next message takes it */
	f.status = ID_STOP;
	ck_assert_int_eq(account_at(t, &f, 4), 1);
	ck_assert_int_eq(account_at(t, &e, 5), 1);
	ck_assert_str_eq(who(t, "192.0.2.40"), "eve");
	e.status = ID_STOP;
	ck_assert_int_eq(account_at(t, &e, 6), 1);
	ck_assert_str_eq(who(t, "192.0.2.40"), "");
	done(t);
}
END_TEST

/* ---- leases: 802.1X names the MAC, DHCP the address ---- */

START_TEST(test_a_mac_session_binds_the_addresses_leased_to_its_mac)
{
	struct idtab *t = table(0);
	struct id_acct g = msg(ID_START, "m1", "gina", NULL, T0);
	struct id_acct h = msg(ID_START, "m2", "hank", NULL, T0);
	struct id_snap *s;
	struct id_rec *r;
	char chg[512];

	g.mac = MAC1;
	ck_assert_int_eq(account(t, &g), 0); /* no address yet */
	ck_assert_uint_eq(stats(t).sessions, 1);
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 1), 1);
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg, "identity: 192.0.2.50 gina lease");
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.50"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->user, "gina");
	ck_assert_str_eq(r->mac, MAC1);
	ck_assert_uint_eq(r->source, ID_SRC_DHCP);
	id_snap_free(s);
	/* a renewal changes nothing */
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 1), 0);
	ck_assert(!idtab_dirty(t));
	/* the server moves the MAC: the old lease ends, a new one starts */
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 0), 1);
	ck_assert_int_eq(lease(t, "192.0.2.51", MAC1, 1), 1);
	ck_assert_str_eq(who(t, "192.0.2.50"), "");
	ck_assert_str_eq(who(t, "192.0.2.51"), "gina");
	/* the address given to another MAC leaves gina */
	h.mac = MAC2;
	ck_assert_int_eq(account(t, &h), 0);
	ck_assert_int_eq(lease(t, "192.0.2.51", MAC2, 1), 1);
	ck_assert_str_eq(who(t, "192.0.2.51"), "hank");
	/* a lease taken back: nobody */
	ck_assert_int_eq(lease(t, "192.0.2.51", MAC2, 0), 1);
	ck_assert_str_eq(who(t, "192.0.2.51"), "");
	/* ... and a release naming another MAC is not this lease's */
	ck_assert_int_eq(lease(t, "192.0.2.52", MAC1, 1), 1);
	ck_assert_int_eq(lease(t, "192.0.2.52", MAC2, 0), 0);
	ck_assert_str_eq(who(t, "192.0.2.52"), "gina");
	/* a MAC no session names binds nobody */
	ck_assert_int_eq(lease(t, "192.0.2.53", MAC3, 1), 0);
	ck_assert_str_eq(who(t, "192.0.2.53"), "");
	/* ... until its session starts */
	g = msg(ID_START, "m3", "ivy", NULL, T0 + 1);
	g.mac = MAC3;
	ck_assert_int_eq(account_at(t, &g, 1), 1);
	ck_assert_str_eq(who(t, "192.0.2.53"), "ivy");
	/* the session's Stop unbinds its leased addresses */
	g = msg(ID_STOP, "m1", "gina", NULL, T0 + 2);
	ck_assert_int_eq(account_at(t, &g, 2), 1);
	ck_assert_str_eq(who(t, "192.0.2.52"), "");
	ck_assert_str_eq(who(t, "192.0.2.53"), "ivy");
	/* a lease with no MAC or no time */
	ck_assert_int_eq(idtab_lease(t, A("192.0.2.54"), "", 60, 1, NOW, WALL),
			 -1 - ID_REF_INVALID);
	ck_assert_int_eq(idtab_lease(t, A("192.0.2.54"), MAC3, 0, 1, NOW, WALL),
			 -1 - ID_REF_INVALID);
	done(t);
}
END_TEST

/* An address re-leased to a MAC no session names loses its identity:
 * that is a change, and the change summary says so. */
START_TEST(test_a_lease_given_to_a_stranger_unbinds_and_says_so)
{
	struct idtab *t = table(0);
	struct id_acct g = msg(ID_START, "m1", "gina", NULL, T0);
	char chg[512];

	g.mac = MAC1;
	ck_assert_int_eq(account(t, &g), 0);
	ck_assert_int_eq(lease(t, "192.0.2.52", MAC1, 1), 1);
	ck_assert_str_eq(who(t, "192.0.2.52"), "gina");
	ck_assert_int_eq(lease(t, "192.0.2.52", MAC3, 1), 1);
	ck_assert(idtab_dirty(t));
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_ptr_nonnull(strstr(chg, "192.0.2.52 gina"));
	ck_assert_str_eq(who(t, "192.0.2.52"), "");
	done(t);
}
END_TEST

/* Two live sessions of one MAC (a laptop roamed, the old AP's Stop not
 * sent yet): the lease goes with the newer one; the older one's Interim
 * does not take it back, silently or otherwise. */
START_TEST(test_an_older_sessions_interim_does_not_take_the_macs_lease)
{
	struct idtab *t = table(0);
	struct id_acct a = msg(ID_START, "ap1", "alice", NULL, T0);
	struct id_acct b = msg(ID_START, "ap2", "bob", NULL, T0 + 10);

	a.mac = b.mac = MAC1;
	ck_assert_int_eq(account(t, &a), 0);
	ck_assert_int_eq(account_at(t, &b, 10), 0);
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 1), 1);
	ck_assert_str_eq(who(t, "192.0.2.50"), "bob");
	a.status = ID_INTERIM;
	a.ts = T0 + 20;
	ck_assert_int_eq(account_at(t, &a, 20), 0);
	ck_assert(!idtab_dirty(t));
	ck_assert_str_eq(who(t, "192.0.2.50"), "bob");
	/* bob's Stop lets the lease go, and says so; alice, the MAC's
	 * other live session, takes it at her next message (the index
	 * keeps one session a MAC: no scan of every session at each end) */
	b.status = ID_STOP;
	b.ts = T0 + 30;
	ck_assert_int_eq(account_at(t, &b, 30), 1);
	ck_assert_str_eq(who(t, "192.0.2.50"), "");
	a.ts = T0 + 40;
	ck_assert_int_eq(account_at(t, &a, 40), 1);
	ck_assert_str_eq(who(t, "192.0.2.50"), "alice");
	done(t);
}
END_TEST

START_TEST(test_an_address_the_accounting_names_wins_over_a_lease)
{
	struct idtab *t = table(0);
	struct id_acct g = msg(ID_START, "m1", "gina", NULL, T0);
	struct id_acct k = msg(ID_START, "r1", "kate", "192.0.2.60", T0);
	struct id_snap *s;
	struct id_rec *r;

	g.mac = MAC1;
	ck_assert_int_eq(account(t, &g), 0);
	ck_assert_int_eq(lease(t, "192.0.2.60", MAC1, 1), 1);
	ck_assert_int_eq(account(t, &k), 1);
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.60"));
	ck_assert_str_eq(r->user, "kate");
	ck_assert_uint_eq(r->source, ID_SRC_RADIUS);
	ck_assert_uint_eq(id_snap_count(s), 1);
	id_snap_free(s);
	done(t);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ipv6_addresses_and_prefixes_match_only_inside)
{
	struct idtab *t = table(0);
	struct id_acct m = msg(ID_START, "v1", "ivan", NULL, T0);
	struct id_acct w = msg(ID_START, "v2", "judy", NULL, T0);
	struct id_snap *s;

	m.has_ip6 = 1;
	memcpy(m.ip6, A("2001:db8:1::10"), 16);
	m.has_prefix6 = 1;
	memcpy(m.prefix6, A("2001:db8:2:3::"), 16);
	m.prefix6_len = 64;
	ck_assert_int_eq(account(t, &m), 1);
	/* a shorter prefix around ivan's, and the IPv4-mapped space */
	w.has_prefix6 = 1;
	memcpy(w.prefix6, A("2001:db8:2::"), 16);
	w.prefix6_len = 48;
	ck_assert_int_eq(account(t, &w), 1);
	w = msg(ID_START, "v3", "ken", NULL, T0);
	w.has_prefix6 = 1;
	memcpy(w.prefix6, A("::ffff:0.0.0.0"), 16);
	w.prefix6_len = 96;
	ck_assert_int_eq(account(t, &w), 1);
	/* a prefix shorter than /48 names networks, not a subscriber */
	w = msg(ID_START, "v4", "lou", NULL, T0);
	w.has_prefix6 = 1;
	w.prefix6_len = 0; /* ::/0 */
	ck_assert_int_eq(account(t, &w), -1 - ID_REF_INVALID);
	w.prefix6_len = 47;
	memcpy(w.prefix6, A("2001:db8::"), 16);
	ck_assert_int_eq(account(t, &w), -1 - ID_REF_INVALID);

	s = idtab_snapshot(t);
	ck_assert_uint_eq(id_snap_count(s), 4);
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:1::10"))->user, "ivan");
	ck_assert_ptr_null(id_snap_lookup(s, A("2001:db8:1::11")));
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:2:3::abcd"))->user,
			 "ivan");
	ck_assert_str_eq(
		id_snap_lookup(s, A("2001:db8:2:3:ffff:ffff:ffff:ffff"))->user,
		"ivan");
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:2:4::1"))->user, "judy");
	ck_assert_ptr_null(id_snap_lookup(s, A("2001:db8:3::1")));
	/* IPv4 never matches an IPv6 prefix, not even ::ffff:0:0/96 */
	ck_assert_ptr_null(id_snap_lookup(s, A("192.0.2.1")));
	ck_assert_ptr_null(id_snap_lookup(s, A("0.0.0.0")));
	id_snap_free(s);
	m.status = ID_STOP;
	m.ts = T0 + 1;
	ck_assert_int_eq(account_at(t, &m, 1), 1);
	s = idtab_snapshot(t);
	ck_assert_ptr_null(id_snap_lookup(s, A("2001:db8:1::10")));
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:2:3::abcd"))->user,
			 "judy");
	id_snap_free(s);
	done(t);
}
END_TEST

/* ---- bounds and time ---- */

START_TEST(test_a_full_table_refuses_then_makes_room_from_tombstones)
{
	struct idtab *t = table(16);
	char sess[32], ip[32];
	struct id_acct m;
	unsigned i;

	for (i = 0; i < 16; i++) {
		snprintf(sess, sizeof(sess), "s%u", i);
		snprintf(ip, sizeof(ip), "192.0.2.%u", 100 + i);
		m = msg(ID_START, sess, "u", ip, T0 + i);
		ck_assert_int_eq(account(t, &m), 1);
	}
	m = msg(ID_START, "s16", "u", "192.0.2.116", T0 + 16);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_FULL);
	ck_assert_uint_eq(stats(t).refused[ID_REF_FULL], 1);
	/* a Stop before its Start finds no room either, and says nothing */
	m = msg(ID_STOP, "s99", "", NULL, T0);
	ck_assert_int_eq(account(t, &m), 0);
	ck_assert_uint_eq(stats(t).sessions + stats(t).tombstones, 16);
	m = msg(ID_STOP, "s0", "u", NULL, T0 + 20);
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_uint_eq(stats(t).tombstones, 1);
	m = msg(ID_START, "s16", "u", "192.0.2.116", T0 + 16);
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_uint_eq(stats(t).tombstones, 0);
	ck_assert_uint_eq(stats(t).sessions, 16);
	ck_assert_str_eq(who(t, "192.0.2.116"), "u");
	ck_assert_str_eq(who(t, "192.0.2.101"), "u");
	ck_assert_uint_eq(stats(t).refused[ID_REF_FULL], 1);
	/* leases are bounded on their own */
	for (i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		ck_assert_int_eq(lease(t, ip, MAC1, 1), 0);
	}
	ck_assert_int_eq(lease(t, "198.51.100.16", MAC1, 1), -1 - ID_REF_FULL);
	ck_assert_uint_eq(stats(t).n_leases, 16);
	done(t);
}
END_TEST

START_TEST(test_a_silent_session_expires_then_its_tombstone_goes)
{
	struct idtab *t = table(0);
	struct id_acct m = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	struct id_acct q = msg(ID_START, "s2", "quinn", "192.0.2.11", T0);
	char chg[512];

	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_int_eq(account(t, &q), 1);
	id_snap_free(idtab_snapshot(t));
	/* quinn's Interim keeps quinn */
	q.status = ID_INTERIM;
	q.ts = T0 + LIFE / 2;
	ck_assert_int_eq(account_at(t, &q, LIFE / 2), 0);
	ck_assert_int_eq(idtab_expire(t, NOW + LIFE_MS - 1, WALL + LIFE_MS - 1),
			 0);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	ck_assert_int_eq(idtab_expire(t, NOW + LIFE_MS, WALL + LIFE_MS), 1);
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(chg, "identity: 192.0.2.10 alice expired");
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	ck_assert_str_eq(who(t, "192.0.2.11"), "quinn");
	ck_assert_uint_eq(stats(t).expired, 1);
	ck_assert_uint_eq(stats(t).sessions, 1);
	ck_assert_uint_eq(stats(t).tombstones, 1);
	/* a late Interim with the old stamp: replayed */
	m.status = ID_INTERIM;
	ck_assert_int_eq(account_at(t, &m, LIFE), -1 - ID_REF_REPLAYED);
	/* one lifetime later the tombstone goes, quinn expired meanwhile */
	ck_assert_int_eq(idtab_expire(t, NOW + 2 * LIFE_MS, WALL + 2 * LIFE_MS),
			 1);
	ck_assert_uint_eq(stats(t).tombstones, 1);
	ck_assert_uint_eq(stats(t).sessions, 0);
	ck_assert_int_eq(idtab_expire(t, NOW + 3 * LIFE_MS, WALL + 3 * LIFE_MS),
			 0);
	ck_assert_uint_eq(stats(t).tombstones, 0);
	ck_assert_uint_eq(stats(t).expired, 2);
	done(t);
}
END_TEST

START_TEST(test_a_lease_lapses_on_its_own)
{
	struct idtab *t = table(0);
	struct id_acct g = msg(ID_START, "m1", "gina", NULL, T0);

	g.mac = MAC1;
	ck_assert_int_eq(account(t, &g), 0);
	ck_assert_int_eq(
		idtab_lease(t, A("192.0.2.50"), MAC1, 60, 1, NOW, WALL), 1);
	ck_assert_int_eq(idtab_expire(t, NOW + 59999, WALL + 59999), 0);
	ck_assert_int_eq(idtab_expire(t, NOW + 60000, WALL + 60000), 1);
	ck_assert_str_eq(who(t, "192.0.2.50"), "");
	ck_assert_uint_eq(stats(t).n_leases, 0);
	ck_assert_uint_eq(stats(t).expired, 1);
	ck_assert_uint_eq(stats(t).sessions, 1);
	done(t);
}
END_TEST

/* A session heard of again after it expired (the NAS was cut off for a
 * lifetime) with a newer stamp is taken back, with its addresses. */
START_TEST(test_an_expired_session_heard_again_binds_again)
{
	struct idtab *t = table(0);
	struct id_acct m = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	struct id_acct g = msg(ID_START, "m1", "gina", NULL, T0);
	uint64_t now = NOW + LIFE_MS, wall = WALL + LIFE_MS;

	ck_assert_int_eq(account(t, &m), 1);
	g.mac = MAC1;
	ck_assert_int_eq(account(t, &g), 0);
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 1), 1);
	ck_assert_int_eq(idtab_expire(t, now, wall), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	ck_assert_str_eq(who(t, "192.0.2.50"), "");
	/* the same data, newer */
	m.status = ID_INTERIM;
	m.ts = T0 + LIFE;
	ck_assert_int_eq(idtab_account(t, &m, now, wall), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), "alice");
	/* gina's session is still a tombstone until she speaks */
	ck_assert_uint_eq(stats(t).sessions, 1);
	ck_assert_uint_eq(stats(t).tombstones, 1);
	g.status = ID_INTERIM;
	g.ts = T0 + LIFE;
	ck_assert_int_eq(idtab_account(t, &g, now, wall), 1);
	ck_assert(idtab_dirty(t));
	ck_assert_str_eq(who(t, "192.0.2.50"), "gina");
	done(t);
}
END_TEST

/* ---- the directory's groups ---- */

START_TEST(test_directory_groups_fill_only_what_the_accounting_left_out)
{
	struct idtab *t = table(0);
	struct id_acct k = msg(ID_START, "l1", "kim", "192.0.2.70", T0);
	struct id_acct l = grouped(msg(ID_START, "l2", "lee", "192.0.2.71", T0),
				   "staff\0");
	struct id_snap *s;
	struct id_rec *r;
	char chg[512];

	idtab_want_groups(t, 1);
	ck_assert_int_eq(account(t, &k), 1);
	ck_assert_int_eq(account(t, &l), 1);
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.70"));
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_PENDING);
	ck_assert_uint_eq(r->n_groups, 0);
	ck_assert_str_eq(gtext(r), "");
	id_snap_free(s);
	ck_assert_int_eq(
		idtab_set_groups(t, "kim", "finance\0cn=Pay,ou=g,dc=x\0", WALL),
		1);
	idtab_changes(t, chg, sizeof(chg));
	ck_assert_str_eq(
		chg,
		"identity: 192.0.2.70 kim (finance,cn=Pay,ou=g,dc=x) groups");
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.70"));
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_LDAP);
	ck_assert_uint_eq(r->n_groups, 2);
	ck_assert_mem_eq(r->groups, "finance\0cn=Pay,ou=g,dc=x\0", 26);
	id_snap_free(s);
	/* the same answer again: nothing */
	ck_assert_int_eq(
		idtab_set_groups(t, "kim", "finance\0cn=Pay,ou=g,dc=x\0", WALL),
		0);
	ck_assert(!idtab_dirty(t));
	/* an Interim without groups keeps the directory's */
	k.status = ID_INTERIM;
	k.ts = T0 + 60;
	ck_assert_int_eq(account_at(t, &k, 60), 0);
	/* the accounting's groups are never overridden */
	ck_assert_int_eq(idtab_set_groups(t, "lee", "finance\0", WALL), 0);
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.71"));
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_RADIUS);
	ck_assert_str_eq(gtext(r), "staff");
	ck_assert_str_eq(gtext(id_snap_lookup(s, A("192.0.2.70"))),
			 "finance,cn=Pay,ou=g,dc=x");
	id_snap_free(s);
	/* nor those of an ended session, nor another user's */
	ck_assert_int_eq(idtab_set_groups(t, "ki", "x\0", WALL), 0);
	k.status = ID_STOP;
	k.ts = T0 + 61;
	ck_assert_int_eq(account_at(t, &k, 61), 1);
	ck_assert_int_eq(idtab_set_groups(t, "kim", "x\0", WALL), 0);
	done(t);

	/* no directory: a session without groups has none, not pending */
	t = table(0);
	k = msg(ID_START, "l1", "kim", "192.0.2.70", T0);
	ck_assert_int_eq(account(t, &k), 1);
	s = idtab_snapshot(t);
	ck_assert_uint_eq(id_snap_lookup(s, A("192.0.2.70"))->groups_from,
			  ID_GROUPS_NONE);
	id_snap_free(s);
	done(t);
}
END_TEST

/* ---- what is never taken ---- */

START_TEST(test_messages_with_nothing_to_bind_are_invalid)
{
	struct idtab *t = table(0);
	char big[301], edge[ID_USER_MAX + 2];
	struct id_acct m;

	memset(big, 'u', 300);
	big[300] = '\0';
	m = msg(ID_START, "", "alice", "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_STOP, "", "alice", NULL, T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_START, "s1", "", "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_INTERIM, "s1", "", "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_START, "s1", "alice", NULL, T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_START, "s1", big, "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_START, big, "alice", "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	m = msg(ID_START, "s1", "alice", "192.0.2.10", T0);
	m.nas = big;
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	memset(edge, 'u', ID_USER_MAX + 1);
	edge[ID_USER_MAX + 1] = '\0';
	m = msg(ID_START, "s1", edge, "192.0.2.10", T0);
	ck_assert_int_eq(account(t, &m), -1 - ID_REF_INVALID);
	ck_assert_uint_eq(stats(t).refused[ID_REF_INVALID], 9);
	ck_assert_uint_eq(stats(t).sessions + stats(t).tombstones, 0);
	ck_assert_str_eq(who(t, "192.0.2.10"), "");
	edge[ID_USER_MAX] = '\0';
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_str_eq(who(t, "192.0.2.10"), edge);
	done(t);
}
END_TEST

START_TEST(test_groups_text_is_cut_with_an_ellipsis)
{
	struct idtab *t = table(0);
	struct id_acct m =
		grouped(msg(ID_START, "s1", "alice", "192.0.2.10", T0),
			"finance\0staff\0");
	struct id_snap *s;
	struct id_rec *r;
	char out[16];

	ck_assert_int_eq(account(t, &m), 1);
	s = idtab_snapshot(t);
	r = id_snap_lookup(s, A("192.0.2.10"));
	ck_assert_str_eq(id_rec_groups_text(r, out, 16), "finance...");
	ck_assert_str_eq(id_rec_groups_text(r, out, 4), "...");
	id_snap_free(s);
	done(t);
}
END_TEST

/* ---- the state file ---- */

static int tmpdir(char *path)
{
	int dfd;

	strcpy(path, "/tmp/test_idtab.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(path));
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	return dfd;
}

static void rmtmp(int dfd, const char *path)
{
	unlinkat(dfd, "identity", 0);
	unlinkat(dfd, ".identity.tmp", 0);
	close(dfd);
	ck_assert_int_eq(rmdir(path), 0);
}

static void write_file(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define ODD_GROUPS    \
	"a b\0"       \
	"tab\there\0" \
	"100%\0"      \
	"-lead\0"     \
	"Zürich\0"   \
	"cn=x,dc=y\0"
#define ODD_USER "50%\tof-\x01them"

/* A table with a bit of everything, built at NOW/WALL. */
static struct idtab *everything(void)
{
	struct idtab *t = table(0);
	struct id_acct m;

	idtab_want_groups(t, 1);
	m = grouped(msg(ID_START, "s 1%", ODD_USER, "192.0.2.10", T0),
		    ODD_GROUPS);
	m.mac = MAC2;
	ck_assert_int_eq(account(t, &m), 1);
	m = msg(ID_START, "v6", "ivan", NULL, T0);
	m.has_ip6 = 1;
	memcpy(m.ip6, A("2001:db8:1::10"), 16);
	m.has_prefix6 = 1;
	memcpy(m.prefix6, A("2001:db8:2:3::"), 16);
	m.prefix6_len = 64;
	ck_assert_int_eq(account(t, &m), 1);
	m = msg(ID_START, "gone", "bob", "192.0.2.11", T0);
	ck_assert_int_eq(account(t, &m), 1);
	m = msg(ID_STOP, "gone", "bob", NULL, T0 + 1);
	ck_assert_int_eq(account(t, &m), 1);
	m = msg(ID_START, "m1", "gina", NULL, T0);
	m.mac = MAC1;
	ck_assert_int_eq(account(t, &m), 0);
	ck_assert_int_eq(lease(t, "192.0.2.50", MAC1, 1), 1);
	m = msg(ID_START, "l1", "kim", "192.0.2.70", T0);
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_int_eq(idtab_set_groups(t, "kim", "finance\0", WALL), 1);
	return t;
}

START_TEST(test_the_state_file_brings_back_what_was_saved)
{
	char dir[64], err[256] = "", chg[256];
	int dfd = tmpdir(dir);
	struct idtab *t = everything(), *u;
	struct id_snap *s;
	struct id_rec *r;
	struct id_acct m;
	struct stat st;

	ck_assert_int_eq(
		idtab_save(t, dfd, "identity", NOW, WALL, err, sizeof(err)), 0);
	ck_assert_int_eq(fstatat(dfd, "identity", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(faccessat(dfd, ".identity.tmp", F_OK, 0), -1);
	/* another process, later (monotonic clock restarted) */
	u = table(0);
	idtab_want_groups(u, 1);
	ck_assert_int_eq(idtab_load(u, dfd, "identity", 20000, WALL + 60000,
				    err, sizeof(err)),
			 6);
	idtab_changes(u, chg, sizeof(chg));
	ck_assert_str_eq(chg, "identity: -");
	ck_assert_uint_eq(stats(u).sessions, 4);
	ck_assert_uint_eq(stats(u).tombstones, 1);
	ck_assert_uint_eq(stats(u).n_leases, 1);
	s = idtab_snapshot(u);
	ck_assert_uint_eq(id_snap_count(s), 5);
	r = id_snap_lookup(s, A("192.0.2.10"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->user, ODD_USER);
	ck_assert_str_eq(r->mac, MAC2);
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_RADIUS);
	ck_assert_uint_eq(r->n_groups, 6);
	ck_assert_mem_eq(r->groups, ODD_GROUPS, sizeof(ODD_GROUPS));
	ck_assert_uint_eq(r->since_wall_ms, WALL);
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:1::10"))->user, "ivan");
	ck_assert_str_eq(id_snap_lookup(s, A("2001:db8:2:3::1"))->user, "ivan");
	ck_assert_ptr_null(id_snap_lookup(s, A("2001:db8:2:4::1")));
	ck_assert_ptr_null(id_snap_lookup(s, A("192.0.2.11")));
	r = id_snap_lookup(s, A("192.0.2.50"));
	ck_assert_str_eq(r->user, "gina");
	ck_assert_uint_eq(r->source, ID_SRC_DHCP);
	r = id_snap_lookup(s, A("192.0.2.70"));
	ck_assert_uint_eq(r->groups_from, ID_GROUPS_LDAP);
	ck_assert_str_eq(gtext(r), "finance");
	id_snap_free(s);
	/* the tombstone still refuses a replay, the sessions go on */
	m = msg(ID_START, "gone", "bob", "192.0.2.11", T0);
	ck_assert_int_eq(idtab_account(u, &m, 20000, WALL + 60000),
			 -1 - ID_REF_REPLAYED);
	m = msg(ID_INTERIM, "v6", "ivan", NULL, T0 - 1);
	m.has_ip6 = 1;
	memcpy(m.ip6, A("2001:db8:1::10"), 16);
	ck_assert_int_eq(idtab_account(u, &m, 20000, WALL + 60000),
			 -1 - ID_REF_STALE);
	/* saved and read once more: the same table */
	ck_assert_int_eq(idtab_save(u, dfd, "identity", 20000, WALL + 60000,
				    err, sizeof(err)),
			 0);
	done(u);
	u = table(0);
	ck_assert_int_eq(idtab_load(u, dfd, "identity", 20000, WALL + 60000,
				    err, sizeof(err)),
			 6);
	ck_assert_str_eq(who(u, "192.0.2.10"), ODD_USER);
	done(u);
	/* no file: an empty table */
	u = table(0);
	ck_assert_int_eq(
		idtab_load(u, dfd, "none", NOW, WALL, err, sizeof(err)), 0);
	done(u);
	done(t);
	rmtmp(dfd, dir);
}
END_TEST

/* Down for longer than a lifetime: no session, no lease comes back;
 * after a reboot (the monotonic clock near 0) as after a restart. */
START_TEST(test_a_state_file_older_than_a_lifetime_binds_nobody)
{
	static const uint64_t nows[] = { 20000, NOW + 2 * LIFE_MS + 1,
					 100 * LIFE_MS };
	char dir[64], err[256] = "";
	int dfd = tmpdir(dir);
	struct idtab *t = everything(), *u;
	struct id_snap *s;
	struct id_acct m;
	unsigned i;

	ck_assert_int_eq(
		idtab_save(t, dfd, "identity", NOW, WALL, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		uint64_t wall = WALL + 4 * LIFE_MS;

		u = table(0);
		ck_assert_int_ge(idtab_load(u, dfd, "identity", nows[i], wall,
					    err, sizeof(err)),
				 0);
		s = idtab_snapshot(u);
		ck_assert_msg(id_snap_count(s) == 0,
			      "now %llu: %u addresses still bound",
			      (unsigned long long)nows[i], id_snap_count(s));
		id_snap_free(s);
		ck_assert_uint_eq(stats(u).sessions, 0);
		ck_assert_uint_eq(stats(u).n_leases, 0);
		/* and a Start stamped before the downtime is stale */
		m = msg(ID_START, "s 1%", "x", "192.0.2.10", T0);
		ck_assert_int_eq(idtab_account(u, &m, nows[i], wall),
				 -1 - ID_REF_STALE);
		done(u);
	}
	done(t);
	rmtmp(dfd, dir);
}
END_TEST

static const char *const corrupt[] = {
	"# c\nS\tbad\n",
	"# c\nX\tnothing\n",
	"# c\nL\t192.0.2.1\taa:bb\t1\n",
	"# c\nL\tnot-an-address\taa:bb:cc:dd:ee:01\t99999999999999\n",
	"# c\nS\tnas1\x1fs1\talice\t-\t1\t1\t1\t1\t0\t0\t1\t1\t"
	"192.0.2.1/16\n",
	"# c\nS\tnas1\x1fs1\talice\t-\t1\t1\t1\t1\t7\t0\t1\t0\n",
	"# c\nS\tnas1\x1fs1\talice\t-\t1\t1\t1\t1\t0\t0\t1\t4\n",
	"# c\nS\tnas1\x1fs1\talice\t-\t1\t1\t1\t1\t0\t0\t1\t0\t%00\n",
	/* an escape cut short */
	"# c\nS\tnas1\x1fs1\ta%4\t-\t1\t1\t1\t1\t0\t0\t1\t0\n",
	/* ... at the end of a file with no newline */
	"# c\nS\tnas1\x1fs1\tu\t-\t1\t1\t1\t1\t0\t0\t1\t0\tg%4",
};

START_TEST(test_a_corrupt_state_file_names_its_line)
{
	char dir[64], err[256] = "";
	int dfd = tmpdir(dir);
	struct idtab *u = table(0);
	int rc;

	write_file(dfd, "identity", corrupt[_i]);
	rc = idtab_load(u, dfd, "identity", NOW, WALL, err, sizeof(err));
	rmtmp(dfd, dir);
	ck_assert_msg(rc == -1, "file %d was taken", _i);
	ck_assert_str_eq(err, "identity:2: unreadable entry");
	done(u);
}
END_TEST

/* A load that fails leaves the table as it was: empty (the daemon then
 * says the table "starts empty"). */
START_TEST(test_a_failed_load_leaves_the_table_empty)
{
	char dir[64], err[256] = "", text[512];
	int dfd = tmpdir(dir);
	struct idtab *u = table(0);
	struct id_snap *s;
	unsigned n;
	int rc;

	snprintf(
		text, sizeof(text),
		"# c\nS\tnas1%%1Fs1\talice\t-\t1\t%u\t%llu\t%llu\t0\t0\t1\t1"
		"\t192.0.2.10\nL\t192.0.2.50\taa:bb:cc:dd:ee:01\t%llu\nS\tbad\n",
		T0, (unsigned long long)WALL, (unsigned long long)WALL,
		(unsigned long long)(WALL + LIFE_MS));
	write_file(dfd, "identity", text);
	rc = idtab_load(u, dfd, "identity", NOW, WALL, err, sizeof(err));
	rmtmp(dfd, dir);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, "identity:4: unreadable entry");
	s = idtab_snapshot(u);
	n = id_snap_count(s);
	id_snap_free(s);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(stats(u).sessions + stats(u).tombstones, 0);
	ck_assert_uint_eq(stats(u).n_leases, 0);
	done(u);
}
END_TEST

/* The largest session the contract allows: a 253-byte NAS, session and
 * user, and 16 groups of 253 bytes, every byte one the file escapes. */
START_TEST(test_the_largest_session_survives_the_state_file)
{
	char dir[64], err[256] = "";
	char nas[ID_SESSION_MAX + 1], sess[ID_SESSION_MAX + 1],
		user[ID_USER_MAX + 1];
	char groups[ID_MAX_GROUPS * (ID_GROUP_MAX + 1) + 1];
	int dfd = tmpdir(dir), rc;
	struct idtab *t = table(0), *u;
	struct id_snap *s;
	struct id_rec *r;
	struct id_acct m;
	unsigned i;

	memset(nas, '%', ID_SESSION_MAX);
	nas[ID_SESSION_MAX] = '\0';
	memset(sess, ' ', ID_SESSION_MAX);
	sess[ID_SESSION_MAX] = '\0';
	memset(user, '%', ID_USER_MAX);
	user[ID_USER_MAX] = '\0';
	for (i = 0; i < ID_MAX_GROUPS; i++) {
		memset(groups + i * (ID_GROUP_MAX + 1), ' ', ID_GROUP_MAX);
		groups[i * (ID_GROUP_MAX + 1)] = (char)('a' + i);
		groups[i * (ID_GROUP_MAX + 1) + ID_GROUP_MAX] = '\0';
	}
	groups[ID_MAX_GROUPS * (ID_GROUP_MAX + 1)] = '\0';
	m = grouped(msg(ID_START, sess, user, "192.0.2.10", T0), groups);
	m.nas = nas;
	m.mac = MAC1;
	m.has_ip6 = 1;
	memcpy(m.ip6, A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 16);
	m.has_prefix6 = 1;
	memcpy(m.prefix6, A("2001:db8:ffff:ffff:ffff:ffff:ffff:fff0"), 16);
	m.prefix6_len = 124;
	ck_assert_int_eq(account(t, &m), 1);
	ck_assert_int_eq(
		idtab_save(t, dfd, "identity", NOW, WALL, err, sizeof(err)), 0);
	u = table(0);
	rc = idtab_load(u, dfd, "identity", NOW, WALL, err, sizeof(err));
	rmtmp(dfd, dir);
	ck_assert_msg(rc == 1, "load: %d %s", rc, err);
	s = idtab_snapshot(u);
	r = id_snap_lookup(s, A("192.0.2.10"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->user, user);
	ck_assert_uint_eq(r->n_groups, ID_MAX_GROUPS);
	ck_assert_mem_eq(r->groups, groups, sizeof(groups));
	id_snap_free(s);
	done(u);
	done(t);
}
END_TEST

/* ---- a flood ---- */

static int count_addr(void *ctx, const uint8_t addr[16], uint8_t plen,
		      const struct id_rec *r)
{
	(void)addr;
	(void)r;
	ck_assert_uint_eq(plen, 128);
	++*(unsigned *)ctx;
	return 0;
}

START_TEST(test_a_flood_fills_the_table_to_its_bound_and_no_further)
{
	struct idtab *t = table(65536);
	char sess[32], ip[32];
	struct id_snap *s;
	struct id_rec *r;
	struct id_acct m;
	unsigned i, full = 0, n = 0;

	for (i = 0; i < 100000; i++) {
		int rc;

		snprintf(sess, sizeof(sess), "flood-%u", i);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
			 i & 255);
		m = msg(ID_START, sess, "u", ip, T0);
		rc = account(t, &m);
		if (rc == -1 - ID_REF_FULL)
			full++;
		else
			ck_assert_int_eq(rc, 1);
	}
	ck_assert_uint_eq(full, 100000 - 65536);
	ck_assert_uint_eq(stats(t).refused[ID_REF_FULL], 100000 - 65536);
	ck_assert_uint_eq(stats(t).sessions, 65536);
	s = idtab_snapshot(t);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(id_snap_count(s), 65536);
	r = id_snap_lookup(s, A("10.0.0.0"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->user, "u");
	ck_assert_ptr_nonnull(id_snap_lookup(s, A("10.0.255.255")));
	ck_assert_ptr_null(id_snap_lookup(s, A("10.1.0.0")));
	ck_assert_ptr_null(id_snap_lookup(s, A("10.1.134.159")));
	id_snap_foreach(s, count_addr, &n);
	ck_assert_uint_eq(n, 65536);
	id_snap_free(s);
	done(t);
}
END_TEST

struct seen {
	unsigned n, v4, v6, pfx;
	uint8_t a[8][16];
};

static int note_addr(void *ctx, const uint8_t addr[16], uint8_t plen,
		     const struct id_rec *r)
{
	struct seen *x = ctx;
	unsigned i;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < x->n; i++)
		ck_assert_msg(memcmp(x->a[i], addr, 16) != 0, "visited twice");
	ck_assert_uint_lt(x->n, 8);
	memcpy(x->a[x->n++], addr, 16);
	if (plen < 128) {
		ck_assert_uint_eq(plen, 64);
		ck_assert_mem_eq(addr, A("2001:db8:2:3::"), 16);
		x->pfx++;
	} else if (addr[10] == 0xff && addr[11] == 0xff) {
		x->v4++;
	} else {
		x->v6++;
	}
	return 0;
}

static int stop_at_first(void *ctx, const uint8_t addr[16], uint8_t plen,
			 const struct id_rec *r)
{
	(void)addr;
	(void)plen;
	(void)r;
	++*(unsigned *)ctx;
	return 1;
}

START_TEST(test_foreach_visits_every_address_once)
{
	struct idtab *t = everything();
	struct id_snap *s = idtab_snapshot(t);
	struct seen x;
	unsigned n = 0;

	memset(&x, 0, sizeof(x));
	id_snap_foreach(s, note_addr, &x);
	/* 192.0.2.10, .50 (leased), .70; 2001:db8:1::10; the /64 */
	ck_assert_uint_eq(x.n, 5);
	ck_assert_uint_eq(x.v4, 3);
	ck_assert_uint_eq(x.v6, 1);
	ck_assert_uint_eq(x.pfx, 1);
	ck_assert_uint_eq(x.n, id_snap_count(s));
	id_snap_foreach(s, stop_at_first, &n);
	ck_assert_uint_eq(n, 1);
	id_snap_foreach(NULL, stop_at_first, &n);
	ck_assert_uint_eq(n, 1);
	id_snap_free(s);
	done(t);
}
END_TEST

static Suite *idtab_suite(void)
{
	Suite *s = suite_create("idtab");
	TCase *c = tcase_create("sessions"), *l = tcase_create("leases"),
	      *f = tcase_create("state file"), *b = tcase_create("bounds");

	tcase_add_test(c,
		       test_start_binds_the_address_to_its_user_mac_and_groups);
	tcase_add_test(c, test_interim_with_the_same_data_changes_nothing);
	tcase_add_test(
		c,
		test_new_groups_make_a_new_record_and_old_snapshots_keep_theirs);
	tcase_add_test(c, test_stop_unbinds_and_an_older_stop_is_stale);
	tcase_add_test(c, test_an_ended_session_cannot_be_replayed);
	tcase_add_test(c, test_accounting_on_ends_its_nas_sessions_only);
	tcase_add_test(c, test_the_newer_session_holds_a_shared_address);
	tcase_add_test(c, test_a_wrong_clock_cannot_pin_an_address);
	tcase_add_test(
		c,
		test_without_event_timestamp_messages_apply_in_arrival_order);
	tcase_add_test(c, test_ipv6_addresses_and_prefixes_match_only_inside);
	tcase_add_test(c,
		       test_a_silent_session_expires_then_its_tombstone_goes);
	tcase_add_test(c, test_an_expired_session_heard_again_binds_again);
	tcase_add_test(
		c,
		test_directory_groups_fill_only_what_the_accounting_left_out);
	tcase_add_test(c, test_messages_with_nothing_to_bind_are_invalid);
	tcase_add_test(c, test_groups_text_is_cut_with_an_ellipsis);
	tcase_add_test(
		l, test_a_mac_session_binds_the_addresses_leased_to_its_mac);
	tcase_add_test(l,
		       test_an_address_the_accounting_names_wins_over_a_lease);
	tcase_add_test(l, test_a_lease_lapses_on_its_own);
	tcase_add_test(l, test_a_lease_given_to_a_stranger_unbinds_and_says_so);
	tcase_add_test(
		l, test_an_older_sessions_interim_does_not_take_the_macs_lease);
	tcase_add_test(f, test_the_state_file_brings_back_what_was_saved);
	tcase_add_test(f, test_a_state_file_older_than_a_lifetime_binds_nobody);
	tcase_add_loop_test(f, test_a_corrupt_state_file_names_its_line, 0,
			    (int)(sizeof(corrupt) / sizeof(corrupt[0])));
	tcase_add_test(f, test_a_failed_load_leaves_the_table_empty);
	tcase_add_test(f, test_the_largest_session_survives_the_state_file);
	tcase_add_test(
		b, test_a_full_table_refuses_then_makes_room_from_tombstones);
	tcase_add_test(
		b, test_a_flood_fills_the_table_to_its_bound_and_no_further);
	tcase_add_test(b, test_foreach_visits_every_address_once);
	tcase_add_checked_fixture(c, NULL, free_tables);
	tcase_add_checked_fixture(l, NULL, free_tables);
	tcase_add_checked_fixture(f, NULL, free_tables);
	tcase_add_checked_fixture(b, NULL, free_tables);
	tcase_set_timeout(b, 120);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, f);
	suite_add_tcase(s, b);
	return s;
}

int main(void)
{
	return check_run(idtab_suite());
}
