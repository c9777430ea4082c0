/* The IPv6 Skype-STUN check: the attributes nDPI 4.2 reads as Skype, and
 * the ones that name another application first. */
#include <check.h>
#include <string.h>

#include "check_run.h"
#include "core/stun.h"
#include "payloads.h"

static size_t msg(uint8_t *b, uint16_t type, const uint8_t *attrs, size_t n)
{
	memset(b, 0, 20);
	b[0] = (uint8_t)(type >> 8);
	b[1] = (uint8_t)type;
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	b[4] = 0x21;
	b[5] = 0x12;
	b[6] = 0xa4;
	b[7] = 0x42;
	memmove(b + 20, attrs, n);
	return 20 + n;
}

START_TEST(test_skype_implementation_version_attribute)
{
	uint8_t b[128];
	size_t n = payload_stun(b, sizeof(b), 0, 1, 5);
	static const uint8_t v3[] = { 0x80, 0x70, 0, 4, 0, 0, 0, 3 };
	static const uint8_t v4[] = { 0x80, 0x70, 0, 4, 0, 0, 0, 4 };

	ck_assert(stun_message_ok(b, n));
	ck_assert(stun_is_skype(b, n));
	ck_assert(stun_is_skype(b, msg(b, 0x0101, v3, sizeof(v3))));
	ck_assert(!stun_is_skype(b, msg(b, 0x0001, v4, sizeof(v4))));
	n = payload_stun(b, sizeof(b), 0, 0, 5); /* plain STUN */
	ck_assert(stun_message_ok(b, n));
	ck_assert(!stun_is_skype(b, n));
}
END_TEST

START_TEST(test_other_skype_attributes)
{
	static const uint8_t cand[] = { 0x80, 0x54, 0, 4, 0x31, 0, 0, 0 };
	static const uint8_t cand_bad[] = { 0x80, 0x54, 0, 4, 0x31, 0, 0, 1 };
	static const uint16_t seen_on_calls[] = { 0x24df, 0x3802, 0x8036,
						  0x8095, 0x0800, 0x8006 };
	uint8_t b[128], a[8] = { 0, 0, 0, 4, 1, 2, 3, 4 };
	size_t i;

	ck_assert(stun_is_skype(b, msg(b, 0x0001, cand, sizeof(cand))));
	ck_assert(
		!stun_is_skype(b, msg(b, 0x0001, cand_bad, sizeof(cand_bad))));
	for (i = 0; i < sizeof(seen_on_calls) / sizeof(seen_on_calls[0]); i++) {
		a[0] = (uint8_t)(seen_on_calls[i] >> 8);
		a[1] = (uint8_t)seen_on_calls[i];
		ck_assert_msg(stun_is_skype(b, msg(b, 0x0001, a, sizeof(a))),
			      "attribute 0x%04x", seen_on_calls[i]);
	}
}
END_TEST

START_TEST(test_attributes_of_other_apps_come_first)
{
	/* Zoom's 0x0103, then Skype's 0x8070: nDPI says Zoom */
	static const uint8_t zoom[] = { 0x01, 0x03, 0, 4, 0, 0, 0, 0,
					0x80, 0x70, 0, 4, 0, 0, 0, 2 };
	/* a realm naming Google, then 0x8070 */
	static const uint8_t google[] = { 0x00, 0x14, 0,   12,	'x',  '.',
					  'g',	'o',  'o', 'g', 'l',  'e',
					  '.',	'c',  'o', 'm', 0x80, 0x70,
					  0,	4,    0,   0,	0,    2 };
	/* any realm else is no application: 0x8070 decides */
	static const uint8_t realm[] = { 0x00, 0x14, 0, 3, 'a', 'b', 'c', 0,
					 0x80, 0x70, 0, 4, 0,	0,   0,	  2 };
	uint8_t b[128];

	ck_assert(!stun_is_skype(b, msg(b, 0x0001, zoom, sizeof(zoom))));
	ck_assert(!stun_is_skype(b, msg(b, 0x0001, google, sizeof(google))));
	ck_assert(stun_is_skype(b, msg(b, 0x0001, realm, sizeof(realm))));
}
END_TEST

START_TEST(test_malformed_messages_are_not_stun)
{
	static const uint8_t ver[] = { 0x80, 0x70, 0, 4, 0, 0, 0, 2 };
	uint8_t b[600];
	size_t n = msg(b, 0x0001, ver, sizeof(ver)), len;

	for (len = 0; len < n; len++) /* every truncation */
		ck_assert(!stun_is_skype(b, len));
	b[3] = 9; /* length field lies */
	ck_assert(!stun_message_ok(b, n));
	n = msg(b, 0x0001, ver, sizeof(ver));
	b[0] = 0x80; /* WhatsApp's first byte */
	ck_assert(!stun_is_skype(b, n));
	n = msg(b, 0x0030, ver, sizeof(ver)); /* not a STUN method */
	ck_assert(!stun_message_ok(b, n));
	memset(b + 20, 0, 500); /* 512 bytes or more is never STUN */
	ck_assert(!stun_message_ok(b, msg(b, 0x0001, b + 20, 492)));
	/* an attribute whose length runs past the end */
	b[20] = 0x80;
	b[21] = 0x70;
	b[22] = 0xff;
	b[23] = 0xff;
	ck_assert(!stun_is_skype(b, msg(b, 0x0001, b + 20, 8)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stun");
	TCase *c = tcase_create("skype");

	tcase_add_test(c, test_skype_implementation_version_attribute);
	tcase_add_test(c, test_other_skype_attributes);
	tcase_add_test(c, test_attributes_of_other_apps_come_first);
	tcase_add_test(c, test_malformed_messages_are_not_stun);
	suite_add_tcase(s, c);
	return check_run(s);
}
