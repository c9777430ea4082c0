/* Log lines: what a client or a packet sent is escaped, never written raw. */
#include <check.h>
#include <string.h>

#include "check_run.h"
#include "skyfence/log.h"

START_TEST(test_control_bytes_and_high_bytes_are_escaped)
{
	char out[128];

	/* a request line with a CR and a forged second line */
	ck_assert_str_eq(log_escape("del x\r\nkillswitch on", out, sizeof(out)),
			 "del x\\r\\nkillswitch on");
	ck_assert_str_eq(log_escape("tab\there", out, sizeof(out)),
			 "tab\\there");
	ck_assert_str_eq(log_escape("caf\xc3\xa9", out, sizeof(out)),
			 "caf\\303\\251");
	ck_assert_str_eq(log_escape("\x1b[31mred\x7f", out, sizeof(out)),
			 "\\033[31mred\\177");
	ck_assert_str_eq(log_escape("a\\b", out, sizeof(out)), "a\\\\b");
	ck_assert_str_eq(log_escape("plain text: ok", out, sizeof(out)),
			 "plain text: ok");
}
END_TEST

START_TEST(test_escape_is_never_cut_in_half)
{
	char out[6];

	/* "ab" fits, the 4-byte escape of \001 does not: dropped whole */
	ck_assert_str_eq(log_escape("ab\001cd", out, sizeof(out)), "ab");
	ck_assert_str_eq(log_escape("abcdefgh", out, sizeof(out)), "abcde");
	ck_assert_str_eq(log_escape("\n\n\n", out, sizeof(out)), "\\n\\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *c = tcase_create("escape");

	tcase_add_test(c, test_control_bytes_and_high_bytes_are_escaped);
	tcase_add_test(c, test_escape_is_never_cut_in_half);
	suite_add_tcase(s, c);
	return check_run(s);
}
