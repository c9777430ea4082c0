/* Flow table: direction-free keys, initiator, fixed pool, idle expiry,
 * eviction under a flood. */
#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <string.h>

#include "core/flow.h"
#include "core/pkt.h"

struct ended {
	unsigned n, idle, evicted, flushed;
	uint64_t last_id;
};

static void on_end(void *ctx, struct flow *f, int reason)
{
	struct ended *e = ctx;

	e->n++;
	e->last_id = f->id;
	if (reason == FLOW_END_IDLE)
		e->idle++;
	else if (reason == FLOW_END_EVICTED)
		e->evicted++;
	else if (reason == FLOW_END_FLUSH)
		e->flushed++;
}

static struct pkt mk(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		     uint8_t proto)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.l4proto = proto;
	p.src[10] = p.src[11] = p.dst[10] = p.dst[11] = 0xff;
	p.src[12] = (uint8_t)(src >> 24);
	p.src[13] = (uint8_t)(src >> 16);
	p.src[14] = (uint8_t)(src >> 8);
	p.src[15] = (uint8_t)src;
	p.dst[12] = (uint8_t)(dst >> 24);
	p.dst[13] = (uint8_t)(dst >> 16);
	p.dst[14] = (uint8_t)(dst >> 8);
	p.dst[15] = (uint8_t)dst;
	p.sport = sport;
	p.dport = dport;
	return p;
}

#define A 0xc000020au /* 192.0.2.10 */
#define B 0xcb00710au /* 203.0.113.10 */

START_TEST(test_both_directions_share_one_flow_and_initiator_is_kept)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_create(16, 1000, 1, on_end, &e);
	struct pkt out = mk(B, 443, A, 40000, 6), in = mk(A, 40000, B, 443, 6);
	struct flow *f1, *f2;
	enum flow_dir d;
	int created;
	uint16_t port;
	char key[FLOW_KEY_STRLEN];

	f1 = flow_table_get(t, &in, 10, &d, &created);
	ck_assert(created);
	ck_assert_int_eq(d, FLOW_DIR_ORIG);
	f2 = flow_table_get(t, &out, 11, &d, &created);
	ck_assert(!created);
	ck_assert_ptr_eq(f1, f2);
	ck_assert_int_eq(d, FLOW_DIR_REPLY);
	ck_assert_uint_eq(flow_initiator(f1, &port)[15], 10);
	ck_assert_uint_eq(port, 40000);
	ck_assert_uint_eq(flow_responder(f1, &port)[12], 203);
	ck_assert_uint_eq(port, 443);
	ck_assert_ptr_eq(flow_table_find(t, &out, &d), f1);
	ck_assert_int_eq(d, FLOW_DIR_REPLY);
	/* the oracle's key orders endpoints by address text */
	ck_assert_str_eq(flow_key_format(&f1->key, key, sizeof(key)),
			 "TCP|192.0.2.10|40000|203.0.113.10|443|0");
	flow_table_destroy(t);
}
END_TEST

START_TEST(test_vlan_and_protocol_separate_flows)
{
	struct flow_table *t = flow_table_create(16, 1000, 1, NULL, NULL);
	struct pkt p = mk(A, 5000, B, 5000, 17);
	struct flow *f1, *f2, *f3;
	enum flow_dir d;
	int c;

	f1 = flow_table_get(t, &p, 1, &d, &c);
	p.vlan = 7;
	f2 = flow_table_get(t, &p, 1, &d, &c);
	ck_assert(c);
	p.vlan = 0;
	p.l4proto = 6;
	f3 = flow_table_get(t, &p, 1, &d, &c);
	ck_assert(c);
	ck_assert_ptr_ne(f1, f2);
	ck_assert_ptr_ne(f1, f3);
	flow_table_destroy(t);
}
END_TEST

START_TEST(test_key_text_orders_by_string_then_port)
{
	struct flow_table *t = flow_table_create(4, 1000, 1, NULL, NULL);
	/* 10.0.0.2 < 9.0.0.1 as text, though not as a number */
	struct pkt p = mk(0x09000001, 53, 0x0a000002, 1234, 17);
	struct flow *f;
	enum flow_dir d;
	int c;
	char key[FLOW_KEY_STRLEN];

	f = flow_table_get(t, &p, 1, &d, &c);
	ck_assert_str_eq(flow_key_format(&f->key, key, sizeof(key)),
			 "UDP|10.0.0.2|1234|9.0.0.1|53|0");
	p = mk(A, 0, A, 0, 1);
	f = flow_table_get(t, &p, 1, &d, &c);
	ck_assert_str_eq(flow_key_format(&f->key, key, sizeof(key)),
			 "ICMP|192.0.2.10|0|192.0.2.10|0|0");
	flow_table_destroy(t);
}
END_TEST

START_TEST(test_idle_flows_expire_active_ones_stay)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_create(16, 1000, 1, on_end, &e);
	struct pkt p1 = mk(A, 1, B, 2, 17), p2 = mk(A, 3, B, 4, 17);
	struct flow_table_stats st;
	enum flow_dir d;
	int c;

	flow_table_get(t, &p1, 0, &d, &c);
	flow_table_get(t, &p2, 0, &d, &c);
	flow_table_get(t, &p1, 900, &d, &c); /* p1 stays busy */
	ck_assert_uint_eq(flow_table_expire(t, 1000), 0);
	ck_assert_uint_eq(flow_table_expire(t, 1001),
			  1); /* p2 idle > 1000 ms */
	ck_assert_uint_eq(e.idle, 1);
	ck_assert_ptr_null(flow_table_find(t, &p2, &d));
	ck_assert_ptr_nonnull(flow_table_find(t, &p1, &d));
	flow_table_get_stats(t, &st);
	ck_assert_uint_eq(st.active, 1);
	ck_assert_uint_eq(st.expired, 1);
	flow_table_flush(t);
	ck_assert_uint_eq(e.flushed, 1);
	flow_table_destroy(t);
}
END_TEST

START_TEST(test_full_table_evicts_least_recently_used)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_create(4, 100000, 1, on_end, &e);
	struct pkt p[5];
	enum flow_dir d;
	int c, i;

	for (i = 0; i < 5; i++)
		p[i] = mk(A, (uint16_t)(100 + i), B, 80, 6);
	for (i = 0; i < 4; i++)
		flow_table_get(t, &p[i], (uint64_t)i, &d, &c);
	flow_table_get(t, &p[0], 10, &d, &c); /* 0 is recent again */
	flow_table_get(t, &p[4], 11, &d, &c); /* evicts 1 */
	ck_assert(c);
	ck_assert_uint_eq(e.evicted, 1);
	ck_assert_ptr_null(flow_table_find(t, &p[1], &d));
	ck_assert_ptr_nonnull(flow_table_find(t, &p[0], &d));
	flow_table_destroy(t);
}
END_TEST

START_TEST(test_flood_of_new_flows_stays_within_the_pool)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_create(1000, 60000, 42, on_end, &e);
	struct flow_table_stats st;
	enum flow_dir d;
	uint32_t i;
	int c;

	for (i = 0; i < 200000; i++) {
		struct pkt p = mk(0xc6336400u + (i & 0xff), (uint16_t)(i >> 8),
				  B, 443, 6);

		ck_assert_ptr_nonnull(flow_table_get(t, &p, i / 100, &d, &c));
	}
	flow_table_get_stats(t, &st);
	ck_assert_uint_eq(st.active, 1000);
	ck_assert_uint_eq(st.created, 200000);
	ck_assert_uint_eq(st.evicted, 199000);
	ck_assert_uint_eq(e.evicted, 199000);
	ck_assert_ptr_null(flow_table_create(0, 1, 1, NULL, NULL));
	flow_table_destroy(t);
	flow_table_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flow");
	TCase *c = tcase_create("table");

	tcase_set_timeout(c, 30);
	tcase_add_test(
		c, test_both_directions_share_one_flow_and_initiator_is_kept);
	tcase_add_test(c, test_vlan_and_protocol_separate_flows);
	tcase_add_test(c, test_key_text_orders_by_string_then_port);
	tcase_add_test(c, test_idle_flows_expire_active_ones_stay);
	tcase_add_test(c, test_full_table_evicts_least_recently_used);
	tcase_add_test(c, test_flood_of_new_flows_stays_within_the_pool);
	suite_add_tcase(s, c);
	return check_run(s);
}
