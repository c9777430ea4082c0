/* Log lines: what a client or a packet sent is escaped, never written raw. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check_run.h"
#include "sys/log.h"

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

/* stderr into a file; JOURNAL_STREAM naming it (or another file) */
static FILE *stderr_to_file(int name_it)
{
	FILE *f = tmpfile();
	struct stat st;
	char js[64];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dup2(fileno(f), 2), 2);
	ck_assert_int_eq(fstat(2, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (name_it ? 0 : 1));
	setenv("JOURNAL_STREAM", js, 1);
	return f;
}

static void read_back(FILE *f, char *out, size_t len)
{
	size_t n;

	fflush(stderr);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
}

START_TEST(test_journal_stream_gets_priority_prefixes)
{
	FILE *f = stderr_to_file(1);
	char out[512];

	log_init("skyfenced", 0, LOG_LVL_DEBUG);
	log_warnx("queue %d full", 3);
	log_info("bound");
	log_debug("detail");
	read_back(f, out, sizeof(out));
	/* LOG_WARNING 4, LOG_INFO 6, LOG_DEBUG 7; no ident: the journal
	 * has the unit's */
	ck_assert_str_eq(out, "<4>queue 3 full\n<6>bound\n<7>detail\n");
}
END_TEST

START_TEST(test_other_stream_gets_plain_lines)
{
	FILE *f = stderr_to_file(0);
	char out[512];

	/* JOURNAL_STREAM inherited by a child whose stderr went elsewhere */
	log_init("skyfenced", 0, LOG_LVL_INFO);
	log_warnx("queue %d full", 3);
	read_back(f, out, sizeof(out));
	ck_assert_str_eq(out, "skyfenced: queue 3 full\n");
	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert_int_eq(log_stderr_is_journal(), 0);
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(log_stderr_is_journal(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *c = tcase_create("escape");

	tcase_add_test(c, test_control_bytes_and_high_bytes_are_escaped);
	tcase_add_test(c, test_escape_is_never_cut_in_half);
	suite_add_tcase(s, c);
	c = tcase_create("journal");
	tcase_add_test(c, test_journal_stream_gets_priority_prefixes);
	tcase_add_test(c, test_other_stream_gets_plain_lines);
	suite_add_tcase(s, c);
	return check_run(s);
}
