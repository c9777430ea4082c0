/* The audit's pieces: names kept exactly in JSON (UTF-8, escapes, bytes
 * that are not UTF-8), a text too long cut with a marker, the chain and
 * its check (every kind of tampering named at its line; gap records
 * counted, a stop's written twice counted once), names read again from
 * packets (names.c), the side table, the count of a stop's losses, and
 * the writer (auditlog.c): the chain continued from the file, a
 * cut-short line repaired, the rate limit and its suppressed record, the
 * bounded queue and its gap record, a record too long for a line, the
 * records a stop on a full disk could not write recorded at the next
 * start. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check_run.h"
#include "audit/audit.h"
#include "audit/auditlog.h"
#include "core/names.h"
#include "audit/sidetab.h"

START_TEST(test_json_member_keeps_names)
{
	char b[256];

	b[0] = '\0';
	ck_assert_int_eq(audit_json_member(b, sizeof(b), "host",
					   "caf\xc3\xa9.skype.com"),
			 0);
	ck_assert_str_eq(b, "\"host\":\"caf\xc3\xa9.skype.com\"");
	b[0] = '\0';
	audit_json_member(b, sizeof(b), "a", "q\"\\\n\x01");
	ck_assert_str_eq(b, "\"a\":\"q\\\"\\\\\\u000a\\u0001\"");
	/* not UTF-8: U+FFFD shown, the bytes exact in host_hex */
	b[0] = '\0';
	audit_json_member(b, sizeof(b), "host", "x\xff.");
	ck_assert_str_eq(b,
			 "\"host\":\"x\xef\xbf\xbd.\",\"host_hex\":\"78ff2e\"");
	/* members are comma-separated; one that does not fit leaves the
	 * buffer as it was */
	snprintf(b, sizeof(b), "\"x\":1");
	audit_json_member(b, sizeof(b), "k", "v");
	ck_assert_str_eq(b, "\"x\":1,\"k\":\"v\"");
	ck_assert_int_eq(audit_json_member(b, 20, "k2", "0123456789"), -1);
	ck_assert_str_eq(b, "\"x\":1,\"k\":\"v\"");
}
END_TEST

/* Who, in a record: a user of 253 control bytes and 32 groups of 253
 * bytes take at most 1 KiB, the user cut and the groups left out
 * counted, so the record is never dropped for them. */
START_TEST(test_identity_fields_are_bounded)
{
	char buf[4096] = "\"ts_ms\":1", user[254], groups[32 * 254 + 1];
	size_t o = 0, before = strlen(buf);
	unsigned i;

	memset(user, 0x01, 253);
	user[253] = '\0';
	for (i = 0; i < 32; i++) {
		memset(groups + o, 'a' + (int)(i % 26), 253);
		o += 253;
		groups[o++] = '\0';
	}
	groups[o] = '\0';
	ck_assert_int_eq(audit_identity_fields(buf, sizeof(buf), user, groups),
			 0);
	ck_assert_uint_le(strlen(buf) - before, 1024);
	ck_assert_ptr_nonnull(strstr(buf, ",\"user\":\""));
	ck_assert_ptr_nonnull(strstr(buf, "[cut "));
	ck_assert_ptr_nonnull(strstr(buf, "\"groups_left_out\":"));
	/* plain ones whole, in order */
	strcpy(buf, "\"ts_ms\":1");
	ck_assert_int_eq(audit_identity_fields(buf, sizeof(buf), "bob",
					       "finance\0cn=f,dc=x\0"),
			 0);
	ck_assert_str_eq(buf, "\"ts_ms\":1,\"user\":\"bob\",\"groups\":"
			      "[\"finance\",\"cn=f,dc=x\"]");
	/* no room at all: nothing written, -1 */
	strcpy(buf, "\"ts_ms\":1");
	ck_assert_int_eq(audit_identity_fields(buf, 20, "bob", "finance\0"),
			 -1);
	ck_assert_str_eq(buf, "\"ts_ms\":1");
}
END_TEST

START_TEST(test_utf8_validity)
{
	ck_assert(audit_utf8_valid("plain"));
	ck_assert(audit_utf8_valid("\xe2\x82\xac\xf0\x9f\x98\x80"));
	ck_assert(!audit_utf8_valid("\xc0\xaf"));	  /* overlong '/' */
	ck_assert(!audit_utf8_valid("\xed\xa0\x80"));	  /* a surrogate */
	ck_assert(!audit_utf8_valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
	ck_assert(!audit_utf8_valid("\xe2\x82"));	  /* cut short */
	ck_assert(!audit_utf8_valid("\x80"));
}
END_TEST

START_TEST(test_long_change_text_is_cut_with_a_marker_never_dropped)
{
	char b[128], val[600], line[AUDIT_LINE_MAX + 1];
	struct audit_chain c;
	struct audit_verify v;
	const char *m;
	size_t kept;
	int i;

	/* what fits is whole */
	snprintf(b, sizeof(b), "\"event\":\"change\"");
	ck_assert_int_eq(audit_json_member_cut(b, sizeof(b), "what", "ok"), 0);
	ck_assert_str_eq(b, "\"event\":\"change\",\"what\":\"ok\"");
	/* 500 bytes into 128: cut, the marker counts what was left out */
	memset(val, 'h', 500);
	val[500] = '\0';
	snprintf(b, sizeof(b), "\"event\":\"change\"");
	ck_assert_int_eq(audit_json_member_cut(b, sizeof(b), "what", val), 1);
	ck_assert_uint_le(strlen(b), sizeof(b) - 1);
	m = strstr(b, AUDIT_CUT_MARK "[cut ");
	ck_assert_ptr_nonnull(m);
	kept = (size_t)(m - strstr(b, "\"what\":\"")) - 8;
	ck_assert_uint_eq(strtoul(m + 8, NULL, 10), 500 - kept);
	ck_assert_str_eq(m + strlen(m) - 8, " bytes]\"");
	/* the buffer is used to its last byte but one, no further */
	ck_assert_uint_ge(strlen(b), sizeof(b) - 3);
	/* a character is never split: é is 2 bytes */
	for (i = 0; i < 250; i++)
		memcpy(val + 2 * i, "\xc3\xa9", 2);
	val[500] = '\0';
	for (i = 40; i < 128; i++) {
		b[0] = '\0';
		if (audit_json_member_cut(b, (size_t)i, "what", val) < 0)
			continue;
		ck_assert(audit_utf8_valid(b));
		m = strstr(b, "[cut ");
		ck_assert_uint_eq(strtoul(m + 5, NULL, 10) % 2, 0);
	}
	/* bytes that are not UTF-8: the hex holds the bytes kept */
	memset(val, 0xff, 100);
	val[100] = '\0';
	b[0] = '\0';
	ck_assert_int_eq(audit_json_member_cut(b, sizeof(b), "what", val), 1);
	m = strstr(b, "[cut ");
	ck_assert_uint_eq(
		strtoul(m + 5, NULL, 10) +
			strlen(strstr(b, "\"what_hex\":\"") + 12) / 2,
		100); /* 2 digits a byte kept, and the closing quote */
	/* not even the marker fits: nothing written */
	snprintf(b, 24, "\"x\":1");
	ck_assert_int_eq(audit_json_member_cut(b, 24, "what", val), -1);
	ck_assert_str_eq(b, "\"x\":1");
	/* a record with a cut text chains and checks */
	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "gw1");
	memset(val, 'h', 500);
	val[500] = '\0';
	snprintf(b, sizeof(b), "\"ts_ms\":1,\"event\":\"change\"");
	audit_json_member_cut(b, sizeof(b), "what", val);
	ck_assert_int_gt(audit_chain_line(&c, b, line, sizeof(line)), 0);
	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(
		audit_verify_line(&v, line, strlen(line), 1, b, sizeof(b)), 0);
}
END_TEST

/* A chain of @n records into @lines (each NUL-terminated). */
static void make_chain(char lines[][AUDIT_LINE_MAX + 1], int n)
{
	struct audit_chain c;
	char f[64];
	int i;

	memset(&c, 0, sizeof(c));
	snprintf(c.node, sizeof(c.node), "gw1");
	snprintf(c.policy, sizeof(c.policy), "%064d", 0);
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "\"ts_ms\":%d,\"event\":\"x\"",
			 1000 + i);
		ck_assert_int_gt(
			audit_chain_line(&c, f, lines[i], AUDIT_LINE_MAX + 1),
			0);
	}
}

/* The chain check over @lines in the order @order (-1 ends); returns the
 * index in @order of the first line refused (-2: the line before), or
 * -1 if all pass. */
static int verify(char lines[][AUDIT_LINE_MAX + 1], const int *order,
		  int last_newline, int *rc)
{
	struct audit_verify v;
	char why[256];
	int i;

	memset(&v, 0, sizeof(v));
	for (i = 0; order[i] >= 0; i++) {
		int nl = order[i + 1] >= 0 || last_newline;

		*rc = audit_verify_line(&v, lines[order[i]],
					strlen(lines[order[i]]), nl, why,
					sizeof(why));
		if (*rc)
			return i;
	}
	*rc = 0;
	return -1;
}

START_TEST(test_chain_and_tampering)
{
	static char lines[6][AUDIT_LINE_MAX + 1];
	static const int all[] = { 0, 1, 2, 3, 4, 5, -1 };
	static const int deleted[] = { 0, 1, 3, 4, 5, -1 };
	static const int swapped[] = { 0, 1, 3, 2, 4, 5, -1 };
	static const int from3[] = { 3, 4, 5, -1 };
	uint64_t seq;
	uint8_t h[AUDIT_HASH];
	int rc;

	make_chain(lines, 6);
	ck_assert(!strncmp(lines[0], "{\"seq\":1,\"node\":\"gw1\",", 22));
	ck_assert(strstr(lines[0], "\"prev\":\"0000000000000000"));
	ck_assert_int_eq(verify(lines, all, 1, &rc), -1);
	/* a chain picked up in the middle (a rotated file alone) */
	ck_assert_int_eq(verify(lines, from3, 1, &rc), -1);
	ck_assert_int_eq(verify(lines, deleted, 1, &rc), 2);
	ck_assert_int_eq(verify(lines, swapped, 1, &rc), 2);
	/* the last line without its newline: cut short */
	ck_assert_int_eq(verify(lines, all, 0, &rc), 5);
	/* one byte edited: the next line's prev names it (-2) */
	lines[2][30] ^= 1;
	ck_assert_int_eq(verify(lines, all, 1, &rc), 3);
	ck_assert_int_eq(rc, -2);
	lines[2][30] ^= 1;
	/* the head of a line, as the writer reads it at start */
	ck_assert_int_eq(audit_line_head(lines[5], strlen(lines[5]), &seq, h),
			 0);
	ck_assert_uint_eq(seq, 6);
	ck_assert_int_eq(audit_line_head("{\"ts_ms\":1}", 11, &seq, h), -1);
}
END_TEST

START_TEST(test_new_chain_in_the_middle_is_refused)
{
	static char a[3][AUDIT_LINE_MAX + 1], b[2][AUDIT_LINE_MAX + 1];
	static char mix[5][AUDIT_LINE_MAX + 1];
	static const int order[] = { 0, 1, 2, 3, 4, -1 };
	int rc;

	make_chain(a, 3);
	make_chain(b, 2);
	memcpy(mix[0], a[0], sizeof(a[0]));
	memcpy(mix[1], a[1], sizeof(a[0]));
	memcpy(mix[2], a[2], sizeof(a[0]));
	memcpy(mix[3], b[0], sizeof(a[0]));
	memcpy(mix[4], b[1], sizeof(a[0]));
	ck_assert_int_eq(verify(mix, order, 1, &rc), 3);
}
END_TEST

/* A chain of the fields @f[0..n) checked; returns the check's state. */
static struct audit_verify verify_fields(const char *const *f, int n)
{
	char line[AUDIT_LINE_MAX + 1], why[256];
	struct audit_chain c;
	struct audit_verify v;
	int i;

	memset(&c, 0, sizeof(c));
	memset(&v, 0, sizeof(v));
	snprintf(c.node, sizeof(c.node), "gw1");
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(audit_chain_line(&c, f[i], line, sizeof(line)),
				 0);
		ck_assert_int_eq(audit_verify_line(&v, line, strlen(line), 1,
						   why, sizeof(why)),
				 0);
	}
	return v;
}

START_TEST(test_verify_counts_gaps_and_a_stop_written_twice_once)
{
	struct audit_gap g = { .lost = 37,
			       .since_ms = 1000,
			       .until_ms = 2000,
			       .cause = AUDIT_GAP_STOP },
			 back;
	char stop[512], buf[512], unw[512];
	const char *f[7];
	struct audit_verify v;

	ck_assert_int_eq(audit_gap_fields(stop, sizeof(stop), 3000, &g,
					  "not written at the stop: \"x\""),
			 0);
	ck_assert_str_eq(stop,
			 "\"ts_ms\":3000,\"event\":\"gap\",\"lost\":37,"
			 "\"since_ms\":1000,\"until_ms\":2000,\"why\":\"not "
			 "written at the stop: \\\"x\\\"\",\"cause\":\"stop\"");
	ck_assert_int_eq(audit_gap_of(stop, strlen(stop), &back), 1);
	ck_assert_uint_eq(back.lost, 37);
	ck_assert_uint_eq(back.since_ms, 1000);
	ck_assert_uint_eq(back.until_ms, 2000);
	ck_assert_int_eq(back.cause, AUDIT_GAP_STOP);
	ck_assert_uint_eq(audit_rec_ts(stop, strlen(stop)), 3000);
	/* a gap record of before "cause" was written: the queue's */
	snprintf(buf, sizeof(buf),
		 "\"ts_ms\":5,\"event\":\"gap\",\"lost\":4,\"since_ms\":1,"
		 "\"until_ms\":2,\"why\":\"No space left on device\"");
	g = (struct audit_gap){ .lost = 1,
				.since_ms = 7,
				.until_ms = 7,
				.cause = AUDIT_GAP_UNWRITABLE };
	audit_gap_fields(unw, sizeof(unw), 8, &g, "too long");
	/* not a gap: a change whose text names one */
	f[0] = "\"ts_ms\":1,\"event\":\"change\",\"what\":\"\\\"event\\\":"
	       "\\\"gap\\\",\\\"lost\\\":9\"";
	f[1] = stop;
	f[2] = "\"ts_ms\":4,\"event\":\"start\"";
	f[3] = buf;
	f[4] = unw;
	f[5] = stop; /* the next start wrote it again */
	f[6] = "\"ts_ms\":9,\"event\":\"start\"";
	v = verify_fields(f, 7);
	ck_assert_uint_eq(v.records, 7);
	ck_assert_uint_eq(v.gaps, 4);
	ck_assert_uint_eq(v.lost[AUDIT_GAP_STOP], 37);
	ck_assert_uint_eq(v.lost[AUDIT_GAP_BUFFER], 4);
	ck_assert_uint_eq(v.lost[AUDIT_GAP_UNWRITABLE], 1);
	ck_assert_uint_eq(v.repeated, 1);
	ck_assert_uint_eq(v.repeated_seq, 6);
	/* another stop with the same count is another loss */
	g = (struct audit_gap){ .lost = 37,
				.since_ms = 1000,
				.until_ms = 2001,
				.cause = AUDIT_GAP_STOP };
	audit_gap_fields(buf, sizeof(buf), 3001, &g, "x");
	f[3] = buf;
	v = verify_fields(f, 4);
	ck_assert_uint_eq(v.lost[AUDIT_GAP_STOP], 74);
	ck_assert_uint_eq(v.repeated, 0);
}
END_TEST

START_TEST(test_stop_count_file_round_trip)
{
	struct audit_gap g = { .lost = 37,
			       .since_ms = 1733480000123ull,
			       .until_ms = 1733480005456ull,
			       .cause = AUDIT_GAP_STOP },
			 back;
	char text[AUDITLOG_LOST_SIZE + 1], why[AUDITLOG_LOST_SIZE], bad[600];

	auditlog_lost_format(text, &g, "No space left on device");
	ck_assert_uint_eq(strlen(text), AUDITLOG_LOST_SIZE);
	ck_assert(
		!strncmp(text,
			 "skyfence audit lost 1\nlost 37\nsince_ms "
			 "1733480000123\nuntil_ms 1733480005456\nwhy No space "
			 "left on device\n\n",
			 99));
	ck_assert_int_eq(auditlog_lost_parse(text, &back, why, sizeof(why)), 0);
	ck_assert_uint_eq(back.lost, 37);
	ck_assert_uint_eq(back.since_ms, g.since_ms);
	ck_assert_uint_eq(back.until_ms, g.until_ms);
	ck_assert_int_eq(back.cause, AUDIT_GAP_STOP);
	ck_assert_str_eq(why, "No space left on device");
	/* a why with a newline or too long for the file: one line, cut */
	memset(bad, 'w', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	bad[3] = '\n';
	auditlog_lost_format(text, &g, bad);
	ck_assert_uint_eq(strlen(text), AUDITLOG_LOST_SIZE);
	ck_assert_int_eq(auditlog_lost_parse(text, &back, why, sizeof(why)), 0);
	ck_assert(!strncmp(why, "www?www", 7));
	/* what is not one */
	ck_assert_int_eq(auditlog_lost_parse("", &back, why, sizeof(why)), -1);
	ck_assert_int_eq(auditlog_lost_parse("skyfence audit lost 1\nlost "
					     "-1\nsince_ms 1\nuntil_ms 2\nwhy "
					     "x\n",
					     &back, why, sizeof(why)),
			 -1);
	ck_assert_int_eq(auditlog_lost_parse("skyfence audit lost 1\nlost "
					     "99999999999999999999\nsince_ms "
					     "1\nuntil_ms 2\nwhy x\n",
					     &back, why, sizeof(why)),
			 -1);
	ck_assert_int_eq(auditlog_lost_parse("skyfence audit lost 1\nlost 3\n"
					     "since_ms 1\nuntil_ms 2\nwhy x",
					     &back, why, sizeof(why)),
			 -1);
}
END_TEST

START_TEST(test_stop_counts_waiting_lines_and_the_records_gaps_stand_for)
{
	struct audit_gap g = { .lost = 5,
			       .since_ms = 900,
			       .until_ms = 950,
			       .cause = AUDIT_GAP_BUFFER };
	char buf[2048], gap[512];
	uint64_t since = UINT64_MAX;

	audit_gap_fields(gap, sizeof(gap), 960, &g, "full");
	snprintf(
		buf, sizeof(buf),
		"{\"seq\":7,\"node\":\"n\",\"policy\":\"-\",\"ts_ms\":1000,"
		"\"event\":\"decision\",\"prev\":\"00\"}\n"
		"{\"seq\":8,\"node\":\"n\",\"policy\":\"-\",%s,\"prev\":\"00\"}"
		"\n\"ts_ms\":1200,\"event\":\"end\"",
		gap);
	/* a decision, a gap of 5, a record without its newline */
	ck_assert_uint_eq(auditlog_count_lost(buf, strlen(buf), &since), 7);
	ck_assert_uint_eq(since, 900);
	since = UINT64_MAX;
	ck_assert_uint_eq(auditlog_count_lost(buf, 0, &since), 0);
	ck_assert_uint_eq(since, UINT64_MAX);
}
END_TEST

START_TEST(test_names_from_packets)
{
	/* a ClientHello with SNI "Caf\xc3\xa9.skype.com" */
	static const char sni[] = "Caf\xc3\xa9.skype.com";
	uint8_t p[256], dns[128];
	char out[80];
	size_t n = 0, ext, sl = strlen(sni), i;

	memset(p, 0, sizeof(p));
	p[n++] = 22;
	p[n++] = 3;
	p[n++] = 1;
	n += 2; /* record length */
	p[n++] = 1;
	n += 3; /* handshake length */
	p[n++] = 3;
	p[n++] = 3;
	n += 32;
	p[n++] = 0; /* session id */
	p[n++] = 0;
	p[n++] = 2;
	p[n++] = 0x13;
	p[n++] = 0x01;
	p[n++] = 1;
	p[n++] = 0;
	ext = n;
	n += 2;
	p[n++] = 0;
	p[n++] = 0; /* server_name */
	p[n++] = 0;
	p[n++] = (uint8_t)(sl + 5);
	p[n++] = 0;
	p[n++] = (uint8_t)(sl + 3);
	p[n++] = 0;
	p[n++] = 0;
	p[n++] = (uint8_t)sl;
	memcpy(p + n, sni, sl);
	n += sl;
	p[ext + 1] = (uint8_t)(n - ext - 2);
	p[4] = (uint8_t)(n - 5);
	ck_assert_int_eq(names_tls_sni(p, n, out, sizeof(out)), (int)sl);
	ck_assert_str_eq(out, sni);
	ck_assert(names_ndpi_spelling(out, "caf??.skype.com"));
	ck_assert(!names_ndpi_spelling(out, "cafe?.skype.com"));
	/* cut anywhere: no name, no read past the end */
	for (i = 0; i < n; i++)
		ck_assert_int_eq(names_tls_sni(p, i, out, sizeof(out)), -1);
	/* a DNS query for "a\xffb.skype.com", over UDP and TCP */
	memset(dns, 0, sizeof(dns));
	dns[5] = 1;
	n = 12;
	memcpy(dns + n,
	       "\x03"
	       "a\xff"
	       "b\x05skype\x03"
	       "com\x00\x00\x01\x00\x01",
	       20);
	n += 20;
	ck_assert_int_eq(names_dns_qname(dns, n, 0, out, sizeof(out)), 13);
	ck_assert_str_eq(out, "a\xff"
			      "b.skype.com");
	ck_assert(names_ndpi_spelling(out, "a?b.skype.com"));
	dns[2] = 0x80; /* a response */
	ck_assert_int_eq(names_dns_qname(dns, n, 0, out, sizeof(out)), -1);
	dns[2] = 0;
	dns[12] = 0xc0; /* a pointer */
	ck_assert_int_eq(names_dns_qname(dns, n, 0, out, sizeof(out)), -1);
	/* nDPI's '_' for a printable character it does not take */
	ck_assert(names_ndpi_spelling("a b.Example", "a_b.example"));
	ck_assert(!names_ndpi_spelling("ab", "abc"));
}
END_TEST

START_TEST(test_side_table_bounded)
{
	struct sidetab *t = sidetab_create(64, 42);
	struct sidetab_stats st;
	struct side_key k;
	struct side_val v, got;
	unsigned i, found = 0;

	ck_assert_ptr_nonnull(t);
	memset(&v, 0, sizeof(v));
	for (i = 0; i < 1000; i++) {
		memset(&k, 0, sizeof(k));
		memcpy(k.ini, &i, sizeof(i));
		k.ini_port = 1;
		snprintf(v.host, sizeof(v.host), "h%u", i);
		sidetab_put(t, &k, &v);
	}
	sidetab_get_stats(t, &st);
	ck_assert_uint_eq(st.capacity, 64);
	ck_assert_uint_eq(st.evicted, 1000 - 64);
	for (i = 0; i < 1000; i++) {
		memset(&k, 0, sizeof(k));
		memcpy(k.ini, &i, sizeof(i));
		k.ini_port = 1;
		if (sidetab_get(t, &k, &got, 1)) {
			char want[16];

			snprintf(want, sizeof(want), "h%u", i);
			ck_assert_str_eq(got.host, want);
			found++;
		}
	}
	ck_assert_uint_eq(found, 64);
	sidetab_redecide(t, &k, "killswitch", 2); /* gone: nothing */
	sidetab_destroy(t);
}
END_TEST

/* ---- the writer ---- */

static char dir[64];

static int count_lines(const char *path, const char *needle)
{
	char line[AUDIT_LINE_MAX + 2];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !needle || strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static struct auditlog *open_log(const char *path, int dfd, uint32_t rate,
				 uint32_t burst, size_t buffer)
{
	struct auditlog_opts o;
	char err[256];
	struct auditlog *a;

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.fd = auditlog_open_file(path);
	ck_assert_int_ge(o.fd, 0);
	o.node = "unit";
	o.rate = rate;
	o.burst = burst;
	o.buffer = buffer;
	o.state_dfd = dfd;
	o.version = "test";
	o.policy = "-";
	a = auditlog_open(&o, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	return a;
}

START_TEST(test_writer_continues_the_chain)
{
	char path[128], line[128];
	struct auditlog *a;
	struct stat st;
	int i, fd;

	snprintf(dir, sizeof(dir), "/tmp/sf-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	umask(0);
	a = open_log(path, -1, 0, 0, 1 << 20);
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "\"ts_ms\":%d,\"event\":\"t\"", i);
		ck_assert_int_eq(auditlog_put(a, "d", line), 0);
	}
	auditlog_close(a);
	umask(022);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(count_lines(path, NULL), 11);
	/* a line cut short at the end (a crash on a full disk) */
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "{\"seq\":12,\"no", 13), 13);
	close(fd);
	a = open_log(path, -1, 0, 0, 1 << 20);
	auditlog_put(a, NULL, "\"ts_ms\":1,\"event\":\"t\"");
	auditlog_close(a);
	ck_assert_int_eq(count_lines(path, NULL), 13);
	ck_assert_int_eq(
		count_lines(path, "\"chain\":\"continued from the file\""), 1);
	ck_assert_int_eq(count_lines(path, "\"repaired_bytes\":13"), 1);
	{
		struct audit_verify v;
		char buf[AUDIT_LINE_MAX + 2], why[256];
		FILE *f = fopen(path, "r");

		memset(&v, 0, sizeof(v));
		while (fgets(buf, sizeof(buf), f)) {
			size_t n = strlen(buf);

			buf[--n] = '\0';
			ck_assert_msg(audit_verify_line(&v, buf, n, 1, why,
							sizeof(why)) == 0,
				      "%s", why);
		}
		fclose(f);
		ck_assert_uint_eq(v.seq, 13);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_writer_rate_limit_and_gap)
{
	char path[128], f[64];
	struct auditlog_stats s;
	struct auditlog *a;
	int i, queued = 0, supp = 0, lost = 0;

	snprintf(dir, sizeof(dir), "/tmp/sf-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	/* rate 1/s, burst 5: of 100 at once, 5 go, 95 are suppressed */
	a = open_log(path, -1, 1, 5, 1 << 20);
	for (i = 0; i < 100; i++) {
		snprintf(f, sizeof(f), "\"ts_ms\":%d,\"event\":\"t\"", i);
		int r = auditlog_put(a, "flood", f);

		queued += r == 0;
		supp += r == 1;
	}
	ck_assert_int_eq(queued, 5);
	ck_assert_int_eq(supp, 95);
	/* another department has its own bucket */
	ck_assert_int_eq(
		auditlog_put(a, "other", "\"ts_ms\":1,\"event\":\"t\""), 0);
	/* admitted before it is made (a worker's records): the same bucket,
	 * its 4 tokens left, then 10 more suppressed, and what was admitted
	 * goes in without a second token */
	supp = queued = 0;
	for (i = 0; i < 14; i++) {
		if (auditlog_admit(a, "other")) {
			queued++;
			ck_assert_int_eq(
				auditlog_put(a, NULL,
					     "\"ts_ms\":777,\"event\":\"t\""),
				0);
		} else {
			supp++;
		}
	}
	ck_assert_int_eq(queued, 4);
	ck_assert_int_eq(supp, 10);
	ck_assert_int_eq(auditlog_admit(NULL, "other"), 0);
	auditlog_close(a);
	ck_assert_int_eq(
		count_lines(path,
			    "\"event\":\"suppressed\",\"suppressed\":95,"),
		1);
	ck_assert_int_eq(
		count_lines(path,
			    "\"event\":\"suppressed\",\"suppressed\":10,"),
		1);
	ck_assert_int_eq(count_lines(path, "\"ts_ms\":777,"), 4);
	unlink(path);
	/* a queue of 1 KiB: what does not fit is lost, counted, and a gap
	 * record in its place says how many */
	a = open_log(path, -1, 0, 0, 1024);
	for (i = 0; i < 2000; i++) {
		snprintf(f, sizeof(f), "\"ts_ms\":%d,\"event\":\"t\"", i);
		lost += auditlog_put(a, "d", f) < 0;
	}
	auditlog_get_stats(a, &s);
	auditlog_close(a);
	ck_assert_int_gt(lost, 0);
	ck_assert_uint_eq(s.lost, (uint64_t)lost);
	{
		char buf[AUDIT_LINE_MAX + 2];
		FILE *fp = fopen(path, "r");
		long sum = 0;

		while (fgets(buf, sizeof(buf), fp)) {
			char *g = strstr(buf, "\"event\":\"gap\",\"lost\":");

			if (g)
				sum += atol(g + 21);
		}
		fclose(fp);
		ck_assert_int_eq(sum, lost);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Records a stop could not write (the file /dev/full): counted in the
 * state directory's audit.lost, a gap record of that count at the next
 * start, before its start record, and the file removed. A start cut
 * short before the removal writes the same gap again: the check counts
 * it once. */
START_TEST(test_records_lost_at_a_stop_are_a_gap_at_the_next_start)
{
	char path[128], f[64], text[AUDITLOG_LOST_SIZE * 2],
		why[AUDITLOG_LOST_SIZE];
	struct auditlog_opts o;
	struct audit_gap g;
	struct auditlog *a;
	struct stat st;
	int i, dfd, fd;

	snprintf(dir, sizeof(dir), "/tmp/sf-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	memset(&o, 0, sizeof(o));
	o.fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(o.fd, 0);
	o.node = "unit";
	o.buffer = 1 << 20;
	o.state_dfd = dfd;
	o.version = "test";
	o.policy = "-";
	a = auditlog_open(&o, text, sizeof(text));
	ck_assert_ptr_nonnull(a);
	for (i = 0; i < 10; i++) {
		snprintf(f, sizeof(f), "\"ts_ms\":%d,\"event\":\"t\"",
			 1000 + i);
		ck_assert_int_eq(auditlog_put(a, NULL, f), 0);
	}
	auditlog_close(a); /* about 4 s of retries */
	fd = openat(dfd, AUDITLOG_LOST_FILE, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(read(fd, text, sizeof(text) - 1), AUDITLOG_LOST_SIZE);
	close(fd);
	text[AUDITLOG_LOST_SIZE] = '\0';
	ck_assert_int_eq(auditlog_lost_parse(text, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.lost, 11); /* the start record and the ten */
	ck_assert_uint_eq(g.since_ms, 1000);
	ck_assert_str_eq(why, "No space left on device");
	/* the next start, with a disk: the gap first, the file gone */
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = open_log(path, dfd, 0, 0, 1 << 20);
	auditlog_close(a);
	ck_assert_int_eq(count_lines(path, NULL), 2);
	{
		char first[AUDIT_LINE_MAX + 2];
		FILE *fp = fopen(path, "r");

		ck_assert_ptr_nonnull(fgets(first, sizeof(first), fp));
		fclose(fp);
		ck_assert_ptr_nonnull(strstr(first, "\"event\":\"gap\""));
	}
	ck_assert_int_eq(count_lines(path, "\"event\":\"gap\",\"lost\":11,"
					   "\"since_ms\":1000,"),
			 1);
	ck_assert_int_eq(count_lines(path, "\"why\":\"not written at the stop: "
					   "No space left on device\","
					   "\"cause\":\"stop\""),
			 1);
	ck_assert_int_eq(faccessat(dfd, AUDITLOG_LOST_FILE, F_OK, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* the spare for the next stop is back */
	ck_assert_int_eq(fstatat(dfd, ".audit.lost.spare", &st, 0), 0);
	ck_assert_int_eq(st.st_size, AUDITLOG_LOST_SIZE);
	/* a start cut short after the gap was written, before the file was
	 * removed: the same gap again, and audit verify counts it once */
	fd = openat(dfd, AUDITLOG_LOST_FILE, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_eq(write(fd, text, AUDITLOG_LOST_SIZE),
			 AUDITLOG_LOST_SIZE);
	close(fd);
	a = open_log(path, dfd, 0, 0, 1 << 20);
	auditlog_close(a);
	ck_assert_int_eq(count_lines(path, "\"event\":\"gap\",\"lost\":11,"),
			 2);
	{
		struct audit_verify v;
		char buf[AUDIT_LINE_MAX + 2], w[256];
		FILE *fp = fopen(path, "r");

		memset(&v, 0, sizeof(v));
		while (fgets(buf, sizeof(buf), fp)) {
			size_t n = strlen(buf);

			buf[--n] = '\0';
			ck_assert_msg(audit_verify_line(&v, buf, n, 1, w,
							sizeof(w)) == 0,
				      "%s", w);
		}
		fclose(fp);
		ck_assert_uint_eq(v.records, 4);
		ck_assert_uint_eq(v.lost[AUDIT_GAP_STOP], 11);
		ck_assert_uint_eq(v.repeated, 1);
	}
	/* nothing lost at the last stop: no count */
	ck_assert_int_eq(faccessat(dfd, AUDITLOG_LOST_FILE, F_OK, 0), -1);
	unlink(path);
	unlinkat(dfd, ".audit.lost.spare", 0);
	unlinkat(dfd, "audit.head", 0);
	close(dfd);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A record too long for a line is not dropped silently: counted, and a
 * gap record in its place, the chain whole. */
/* @text (AUDITLOG_LOST_SIZE bytes) as the state directory's count. */
static void put_lost(int dfd, const char *text)
{
	int fd = openat(dfd, AUDITLOG_LOST_FILE,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, AUDITLOG_LOST_SIZE),
			 AUDITLOG_LOST_SIZE);
	close(fd);
}

/* A start cut short after its stop's gap record was written but before
 * it removed the count, then a start whose own stop met a full disk:
 * that stop's count holds the first one's, and says so, and audit
 * verify counts those records once: 5 + the start record + 3 = 9, not
 * 14. */
START_TEST(test_a_stop_count_holding_one_written_already_is_counted_once)
{
	struct audit_gap g = { .lost = 5,
			       .since_ms = 1000,
			       .until_ms = 2000,
			       .cause = AUDIT_GAP_STOP };
	char path[128], text[AUDITLOG_LOST_SIZE * 2], why[AUDITLOG_LOST_SIZE],
		line[AUDIT_LINE_MAX + 2], w[256];
	struct auditlog_opts o;
	struct audit_verify v;
	struct auditlog *a;
	int dfd, i;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/sf-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	auditlog_lost_format(text, &g, "No space left on device");
	put_lost(dfd, text);
	/* the gap written; the count left, as a kill before unlink does */
	auditlog_close(open_log(path, dfd, 0, 0, 1 << 20));
	put_lost(dfd, text);
	/* a start on a full disk: its gap and start record, 3 records */
	memset(&o, 0, sizeof(o));
	o.fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	o.node = "unit";
	o.buffer = 1 << 20;
	o.state_dfd = dfd;
	o.version = "test";
	o.policy = "-";
	a = auditlog_open(&o, w, sizeof(w));
	ck_assert_ptr_nonnull(a);
	for (i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "\"ts_ms\":%d,\"event\":\"t\"",
			 3000 + i);
		ck_assert_int_eq(auditlog_put(a, NULL, line), 0);
	}
	auditlog_close(a);
	i = openat(dfd, AUDITLOG_LOST_FILE, O_RDONLY);
	ck_assert_int_eq(read(i, text, sizeof(text) - 1), AUDITLOG_LOST_SIZE);
	close(i);
	text[AUDITLOG_LOST_SIZE] = '\0';
	ck_assert_int_eq(auditlog_lost_parse(text, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.lost, 9); /* the gap's 5, the start, the 3 */
	ck_assert_uint_eq(g.incl_lost, 5);
	ck_assert_uint_eq(g.incl_since_ms, 1000);
	ck_assert_uint_eq(g.incl_until_ms, 2000);
	/* a disk again: its gap record names what it holds */
	auditlog_close(open_log(path, dfd, 0, 0, 1 << 20));
	memset(&v, 0, sizeof(v));
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		line[--n] = '\0';
		ck_assert_int_eq(
			audit_verify_line(&v, line, n, 1, w, sizeof(w)), 0);
	}
	fclose(f);
	ck_assert_uint_eq(v.lost[AUDIT_GAP_STOP], 9);
	ck_assert_uint_eq(v.repeated, 1);
	close(dfd);
	snprintf(line, sizeof(line), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(line), 0);
}
END_TEST

START_TEST(test_record_too_long_for_a_line_is_counted_and_a_gap)
{
	char path[128], *big;
	struct auditlog_stats s;
	struct auditlog *a;

	snprintf(dir, sizeof(dir), "/tmp/sf-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	big = malloc(AUDIT_LINE_MAX + 100);
	ck_assert_ptr_nonnull(big);
	memset(big, 'y', AUDIT_LINE_MAX + 50);
	memcpy(big, "\"ts_ms\":77,\"event\":\"x\",\"y\":\"", 28);
	memcpy(big + AUDIT_LINE_MAX + 50, "\"", 2);
	a = open_log(path, -1, 0, 0, 1 << 20);
	ck_assert_int_eq(auditlog_put(a, NULL, big), 0);
	auditlog_put(a, NULL, "\"ts_ms\":78,\"event\":\"after\"");
	usleep(500 * 1000);
	auditlog_get_stats(a, &s);
	auditlog_close(a);
	free(big);
	ck_assert_uint_eq(s.unwritable, 1);
	ck_assert_int_eq(count_lines(path, NULL), 3);
	ck_assert_int_eq(count_lines(path, "\"event\":\"gap\",\"lost\":1,"
					   "\"since_ms\":77,"),
			 1);
	ck_assert_int_eq(count_lines(path, "\"cause\":\"unwritable\""), 1);
	ck_assert_int_eq(count_lines(path, "{\"seq\":3,"), 1);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *c = tcase_create("records");
	TCase *w = tcase_create("writer");

	tcase_add_test(c, test_json_member_keeps_names);
	tcase_add_test(
		c, test_long_change_text_is_cut_with_a_marker_never_dropped);
	tcase_add_test(c,
		       test_verify_counts_gaps_and_a_stop_written_twice_once);
	tcase_add_test(c, test_stop_count_file_round_trip);
	tcase_add_test(
		c,
		test_stop_counts_waiting_lines_and_the_records_gaps_stand_for);
	tcase_add_test(c, test_utf8_validity);
	tcase_add_test(c, test_identity_fields_are_bounded);
	tcase_add_test(c, test_chain_and_tampering);
	tcase_add_test(c, test_new_chain_in_the_middle_is_refused);
	tcase_add_test(c, test_names_from_packets);
	tcase_add_test(c, test_side_table_bounded);
	tcase_add_test(w, test_writer_continues_the_chain);
	tcase_add_test(w, test_writer_rate_limit_and_gap);
	tcase_add_test(w,
		       test_records_lost_at_a_stop_are_a_gap_at_the_next_start);
	tcase_add_test(w, test_record_too_long_for_a_line_is_counted_and_a_gap);
	tcase_add_test(
		w,
		test_a_stop_count_holding_one_written_already_is_counted_once);
	tcase_set_timeout(w, 30);
	suite_add_tcase(s, c);
	suite_add_tcase(s, w);
	return check_run(s);
}
