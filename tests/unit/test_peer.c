/* The HA peers' messages (ha/peermsg.c): what travels is byte for byte
 * what the pair has always sent; a message from a peer is taken once,
 * whole, with its fields exact; anything else is refused before a field
 * is read, with its reason counted; a change's text is carried, never
 * read. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "ha/peermsg.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32
static const unsigned char other_key[] = "0123456789abcdef0123456789abcdeF";

#define NOW 1700000000000ull
/* SHA-256("policy") */
#define DIG "823412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812"
#define HEAD "SFPEER1 gwa 1700000000000000 1700000000000 " DIG " 0\n"

static char buf[PEERMSG_MAX];

static uint64_t refusals(const struct peermsg_rx *rx)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < PEERMSG_REASONS; i++)
		n += rx->refused[i];
	return n;
}

/* @text (@len bytes, NULs allowed) MAC'd with the right key into buf */
static size_t sealed(const char *text, size_t len)
{
	int n;

	ck_assert_uint_lt(len, sizeof(buf));
	memcpy(buf, text, len);
	n = peermsg_seal(buf, len, sizeof(buf), key, KEYLEN);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

static size_t encoded(const struct peermsg *m, const unsigned char *k)
{
	int n = peermsg_encode(buf, sizeof(buf), m, k, KEYLEN);

	ck_assert_msg(n > 0, "encode: %d", n);
	return (size_t)n;
}

static struct peermsg state(void)
{
	struct peermsg m = {
		.node = "gwa",
		.seq = 1700000000000000ull,
		.wall_ms = NOW,
		.digest = DIG,
		.ks_ms = 0,
		.killswitch = "",
	};

	return m;
}

/* the text the pair's peer.c wrote, with the HMAC-SHA256 that
 * `openssl dgst -sha256 -hmac KEY` gives for it */
START_TEST(test_messages_are_byte_for_byte_the_pairs_wire_format)
{
	struct peermsg m = state();
	size_t n;

	n = encoded(&m, key);
	buf[n] = '\0';
	ck_assert_str_eq(
		buf, HEAD
		"KS -\n"
		"MAC d2ded0b4af86aa9b12e5d6c70c0a319171b3574158cee5aba9845d6e1740a432\n");
	m.node = "gw-b.lab";
	m.seq = 1700000000000001ull;
	m.wall_ms = 1700000000123ull;
	m.ks_ms = 1699999999000ull;
	m.killswitch = "skype zoom";
	m.change_id = 1700000000000002ull;
	m.change = "rule set engineering protocol BitTorrent drop";
	n = encoded(&m, key);
	buf[n] = '\0';
	ck_assert_str_eq(
		buf,
		"SFPEER1 gw-b.lab 1700000000000001 1700000000123 " DIG
		" 1699999999000\n"
		"KS skype zoom\n"
		"CHANGE 1700000000000002 rule set engineering protocol BitTorrent drop\n"
		"MAC 356f40767bbb1487e19775a594132ec30381f6cc02e73c91324db71a3ea33759\n");
}
END_TEST

START_TEST(test_well_formed_message_from_a_peer_is_taken_with_its_fields_exact)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n;

	m.node = "gw-b.lab";
	m.seq = 1700000000000042ull;
	m.wall_ms = NOW + 17;
	m.ks_ms = NOW - 5000;
	m.killswitch = "skype Zoom WhatsApp";
	m.change_id = 1700000000000043ull;
	m.change = "department set finance hosts 10.1.0.0/16 10.2.0.0/16";
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	ck_assert_str_eq(got.node, "gw-b.lab");
	ck_assert_uint_eq(got.seq, 1700000000000042ull);
	ck_assert_uint_eq(got.wall_ms, NOW + 17);
	ck_assert_str_eq(got.digest, DIG);
	ck_assert_uint_eq(got.ks_ms, NOW - 5000);
	ck_assert_str_eq(got.killswitch, "skype Zoom WhatsApp");
	ck_assert_uint_eq(got.change_id, 1700000000000043ull);
	ck_assert_str_eq(
		got.change,
		"department set finance hosts 10.1.0.0/16 10.2.0.0/16");
	ck_assert_uint_eq(rx.last_seq, 1700000000000042ull);
	ck_assert_uint_eq(refusals(&rx), 0);

	/* the kill switch off, no change, a digest that could not be made */
	m = state();
	m.node = "gw-b.lab";
	m.seq = 1700000000000044ull;
	m.digest = "-";
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	ck_assert_str_eq(got.killswitch, "");
	ck_assert_str_eq(got.digest, "-");
	ck_assert_ptr_null(got.change);
	ck_assert_uint_eq(rx.last_seq, 1700000000000044ull);
}
END_TEST

START_TEST(test_fields_at_their_bounds_are_taken)
{
	char node[PEERMSG_NODE_MAX + 1], ks[PEERMSG_KS_MAX + 1];
	char change[PEERMSG_CHANGE_MAX + 1];
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n, i;

	memset(node, 'n', PEERMSG_NODE_MAX);
	node[PEERMSG_NODE_MAX] = '\0';
	for (i = 0; i < PEERMSG_KS_MAX; i++)
		ks[i] = i % 4 == 3 ? ' ' : 'k';
	ks[PEERMSG_KS_MAX] = '\0';
	for (i = 0; i < PEERMSG_CHANGE_MAX; i++)
		change[i] = (char)(0x20 + i % 0x5f);
	change[PEERMSG_CHANGE_MAX] = '\0';
	m.node = node;
	m.killswitch = ks;
	m.change = change;
	m.seq = UINT64_MAX;
	m.ks_ms = UINT64_MAX;
	m.change_id = UINT64_MAX;
	n = encoded(&m, key);
	ck_assert_uint_le(n, PEERMSG_MAX);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	ck_assert_str_eq(got.node, node);
	ck_assert_str_eq(got.killswitch, ks);
	ck_assert_str_eq(got.change, change);
	ck_assert_uint_eq(got.seq, UINT64_MAX);
	ck_assert_uint_eq(got.ks_ms, UINT64_MAX);
	ck_assert_uint_eq(got.change_id, UINT64_MAX);
}
END_TEST

START_TEST(test_message_under_another_key_is_refused_as_bad_mac)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n = encoded(&m, other_key);

	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_BAD_MAC);
	ck_assert_uint_eq(rx.refused[PEERMSG_BAD_MAC], 1);
	ck_assert_uint_eq(refusals(&rx), 1);
	ck_assert_uint_eq(rx.last_seq, 0);
}
END_TEST

START_TEST(test_message_cut_short_anywhere_is_refused_as_no_mac)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	char whole[PEERMSG_MAX];
	size_t n, len;

	m.killswitch = "skype";
	m.change = "rule set engineering protocol BitTorrent drop";
	m.change_id = 7;
	n = encoded(&m, key);
	memcpy(whole, buf, n);
	for (len = 0; len < n; len++) {
		memcpy(buf, whole, len);
		ck_assert_int_eq(
			peermsg_receive(&rx, buf, len, key, KEYLEN, NOW, &got),
			PEERMSG_NO_MAC);
	}
	ck_assert_uint_eq(rx.refused[PEERMSG_NO_MAC], n);
	ck_assert_uint_eq(refusals(&rx), n);
	ck_assert_uint_eq(rx.last_seq, 0);
}
END_TEST

/* every bit of every byte: the text's fail the MAC; the MAC line's, and
 * the newline before it, fail it or its shape */
START_TEST(test_a_flipped_bit_anywhere_is_refused)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	char whole[PEERMSG_MAX];
	size_t n, i, text;
	unsigned bit;

	m.killswitch = "skype";
	m.change = "rule del finance app skype";
	m.change_id = 9;
	n = encoded(&m, key);
	memcpy(whole, buf, n);
	text = n - (4 + 64 + 1);
	for (i = 0; i < n; i++)
		for (bit = 0; bit < 8; bit++) {
			enum peermsg_reason r;

			memcpy(buf, whole, n);
			buf[i] = (char)(buf[i] ^ (1u << bit));
			r = peermsg_receive(&rx, buf, n, key, KEYLEN, NOW,
					    &got);
			if (i + 1 < text)
				ck_assert_msg(r == PEERMSG_BAD_MAC,
					      "byte %zu bit %u: %s", i, bit,
					      peermsg_reason_name(r));
			else
				ck_assert_msg(r == PEERMSG_BAD_MAC ||
						      r == PEERMSG_NO_MAC,
					      "byte %zu bit %u: %s", i, bit,
					      peermsg_reason_name(r));
		}
	ck_assert_uint_eq(refusals(&rx), 8 * n);
	ck_assert_uint_eq(rx.refused[PEERMSG_OK], 0);
	ck_assert_uint_eq(rx.last_seq, 0);
}
END_TEST

START_TEST(test_message_older_than_the_window_is_refused_as_stale)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n;

	m.wall_ms = NOW - PEER_WINDOW_MS - 1;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_STALE);
	ck_assert_uint_eq(rx.refused[PEERMSG_STALE], 1);
	ck_assert_uint_eq(refusals(&rx), 1);
	ck_assert_uint_eq(rx.last_seq, 0);
	/* exactly the window's age still counts */
	m.wall_ms = NOW - PEER_WINDOW_MS;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
}
END_TEST

START_TEST(test_message_from_beyond_the_window_ahead_is_refused_as_future)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n;

	m.wall_ms = NOW + PEER_WINDOW_MS + 1;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_FUTURE);
	ck_assert_uint_eq(rx.refused[PEERMSG_FUTURE], 1);
	ck_assert_uint_eq(refusals(&rx), 1);
	ck_assert_uint_eq(rx.last_seq, 0);
	m.wall_ms = NOW + PEER_WINDOW_MS;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
}
END_TEST

START_TEST(test_message_not_newer_than_the_last_from_that_peer_is_a_replay)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	char first[PEERMSG_MAX];
	size_t n;

	m.seq = 1000;
	n = encoded(&m, key);
	memcpy(first, buf, n);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	/* the same datagram again */
	memcpy(buf, first, n);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_REPLAY);
	/* an older one, however fresh its time */
	m.seq = 999;
	m.wall_ms = NOW + 1;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_REPLAY);
	ck_assert_uint_eq(rx.refused[PEERMSG_REPLAY], 2);
	ck_assert_uint_eq(refusals(&rx), 2);
	ck_assert_uint_eq(rx.last_seq, 1000);
	/* a newer one is taken */
	m.seq = 1001;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	ck_assert_uint_eq(rx.last_seq, 1001);
}
END_TEST

/* Text behind a good MAC that is not a message: each refused with its
 * reason, nothing taken. */
static const struct broken {
	const char *what, *text;
	size_t len;
	enum peermsg_reason reason;
} broken[] = {
#define B(w, t, r)                     \
	{                              \
		w, t, sizeof(t) - 1, r \
	}
	B("a NUL inside the node",
	  "SFPEER1 g\0a 1 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_CONTROL_BYTE),
	B("a NUL inside the change",
	  HEAD "KS -\nCHANGE 5 rule set eng\0protocol X drop\n",
	  PEERMSG_CONTROL_BYTE),
	B("a CR inside the kill switch", HEAD "KS skype\r\n",
	  PEERMSG_CONTROL_BYTE),
	B("a DEL inside the change", HEAD "KS -\nCHANGE 5 rule\x7f set\n",
	  PEERMSG_CONTROL_BYTE),
	B("a tab between fields",
	  "SFPEER1\tgwa 1 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_CONTROL_BYTE),
	B("a newline inside the change",
	  HEAD "KS -\nCHANGE 5 rule set eng\nprotocol X drop\n",
	  PEERMSG_UNKNOWN_KIND),
	B("a newline inside the kill switch", HEAD "KS skype\nZoom\n",
	  PEERMSG_UNKNOWN_KIND),
	B("a newline inside the node",
	  "SFPEER1 g\nwa 1 1700000000000 " DIG " 0\nKS -\n", PEERMSG_MALFORMED),
	B("a newline inside the change, a MAC line after it",
	  HEAD "KS -\nCHANGE 5 x\nMAC " DIG "\n", PEERMSG_UNKNOWN_KIND),
	B("another version", "SFPEER2 gwa 1 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_UNKNOWN_KIND),
	B("another protocol", "HELLO\n", PEERMSG_UNKNOWN_KIND),
	B("a line of an unknown kind", HEAD "KS -\nRESET all\n",
	  PEERMSG_UNKNOWN_KIND),
	B("an unknown line before KS", HEAD "HELLO there\nKS -\n",
	  PEERMSG_UNKNOWN_KIND),
	B("no KS line", HEAD, PEERMSG_MALFORMED),
	B("CHANGE before KS", HEAD "CHANGE 5 rule del a app b\nKS -\n",
	  PEERMSG_MALFORMED),
	B("two KS lines", HEAD "KS -\nKS skype\n", PEERMSG_MALFORMED),
	B("two CHANGE lines", HEAD "KS -\nCHANGE 5 a\nCHANGE 6 b\n",
	  PEERMSG_MALFORMED),
	B("a second header", HEAD "KS -\n" HEAD, PEERMSG_MALFORMED),
	B("a field missing", "SFPEER1 gwa 1 1700000000000 " DIG "\nKS -\n",
	  PEERMSG_MALFORMED),
	B("a field more", "SFPEER1 gwa 1 1700000000000 " DIG " 0 1\nKS -\n",
	  PEERMSG_MALFORMED),
	B("two spaces", "SFPEER1 gwa  1 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_MALFORMED),
	B("a trailing space", "SFPEER1 gwa 1 1700000000000 " DIG " 0 \nKS -\n",
	  PEERMSG_MALFORMED),
	B("a negative sequence",
	  "SFPEER1 gwa -1 1700000000000 " DIG " 0\nKS -\n", PEERMSG_MALFORMED),
	B("a sequence with a leading zero",
	  "SFPEER1 gwa 01 1700000000000 " DIG " 0\nKS -\n", PEERMSG_MALFORMED),
	B("a signed time", "SFPEER1 gwa 1 +1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_MALFORMED),
	B("a node --node-id refuses",
	  "SFPEER1 gw\"a 1 1700000000000 " DIG " 0\nKS -\n", PEERMSG_MALFORMED),
	B("a digest in capitals",
	  "SFPEER1 gwa 1 1700000000000 "
	  "823412D1EACB67956220E532959F0104603057C88704863CA38E7CD188FDA812"
	  " 0\nKS -\n",
	  PEERMSG_MALFORMED),
	B("a short digest", "SFPEER1 gwa 1 1700000000000 823412d1 0\nKS -\n",
	  PEERMSG_MALFORMED),
	B("an empty kill switch", HEAD "KS \n", PEERMSG_MALFORMED),
	B("two spaces in the kill switch", HEAD "KS skype  Zoom\n",
	  PEERMSG_MALFORMED),
	B("a byte over 0x7e in the kill switch", HEAD "KS sk\xc3\xbfpe\n",
	  PEERMSG_MALFORMED),
	B("a change without its id", HEAD "KS -\nCHANGE rule\n",
	  PEERMSG_MALFORMED),
	B("a change with no text", HEAD "KS -\nCHANGE 5 \n", PEERMSG_MALFORMED),
	B("a change id that is no number", HEAD "KS -\nCHANGE 0x5 a\n",
	  PEERMSG_MALFORMED),
	B("a node over 63 bytes",
	  "SFPEER1 "
	  "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	  " 1 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_TOO_LONG),
	B("a digest over 64 bytes",
	  "SFPEER1 gwa 1 1700000000000 " DIG "0 0\nKS -\n", PEERMSG_TOO_LONG),
	B("a sequence over 20 digits",
	  "SFPEER1 gwa 000000000000000000001 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_TOO_LONG),
	B("a sequence over 64 bits",
	  "SFPEER1 gwa 18446744073709551616 1700000000000 " DIG " 0\nKS -\n",
	  PEERMSG_TOO_LONG),
	B("a change id over 64 bits",
	  HEAD "KS -\nCHANGE 99999999999999999999 a\n", PEERMSG_TOO_LONG),
#undef B
};

START_TEST(test_broken_message_behind_a_good_mac_is_refused_with_its_reason)
{
	const struct broken *b = &broken[_i];
	struct peermsg_rx rx = { 0 };
	struct peermsg got;
	enum peermsg_reason r;
	size_t n = sealed(b->text, b->len);

	r = peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got);
	ck_assert_msg(r == b->reason, "%s: %s, not %s", b->what,
		      peermsg_reason_name(r), peermsg_reason_name(b->reason));
	ck_assert_uint_eq(rx.refused[b->reason], 1);
	ck_assert_uint_eq(refusals(&rx), 1);
	ck_assert_uint_eq(rx.last_seq, 0);
}
END_TEST

/* built here: too long for a table */
START_TEST(test_over_long_kill_switch_or_change_is_refused_as_too_long)
{
	char text[PEERMSG_MAX];
	struct peermsg_rx rx = { 0 };
	struct peermsg got;
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), HEAD "KS ");
	memset(text + o, 'k', PEERMSG_KS_MAX + 1);
	o += PEERMSG_KS_MAX + 1;
	text[o++] = '\n';
	ck_assert_int_eq(peermsg_receive(&rx, buf, sealed(text, o), key, KEYLEN,
					 NOW, &got),
			 PEERMSG_TOO_LONG);
	o = (size_t)snprintf(text, sizeof(text), HEAD "KS -\nCHANGE 5 ");
	memset(text + o, 'c', PEERMSG_CHANGE_MAX + 1);
	o += PEERMSG_CHANGE_MAX + 1;
	text[o++] = '\n';
	ck_assert_int_eq(peermsg_receive(&rx, buf, sealed(text, o), key, KEYLEN,
					 NOW, &got),
			 PEERMSG_TOO_LONG);
	ck_assert_uint_eq(rx.refused[PEERMSG_TOO_LONG], 2);
	ck_assert_uint_eq(refusals(&rx), 2);
}
END_TEST

/* whatever the change says, the decoder hands on the text and reads
 * none of it: what is a runtime change is the change service's to say */
START_TEST(test_change_that_is_no_runtime_change_is_handed_on_as_data)
{
	static const char *const texts[] = {
		"policy load /etc/shadow",
		"killswitch off",
		"SFPEER1 gwa 1 1 - 0",
		"KS skype",
		"MAC 0000",
		"not a change at all; $(reboot) `id` \"quoted\" \\",
		" leading and trailing spaces ",
		"CHANGE 5 nested",
		"caf\xc3\xa9 \xff\xfe bytes over 0x7f",
	};
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	unsigned i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n;

		m.seq = 100 + i;
		m.change_id = 200 + i;
		m.change = texts[i];
		n = encoded(&m, key);
		ck_assert_int_eq(
			peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			PEERMSG_OK);
		ck_assert_str_eq(got.change, texts[i]);
		ck_assert_uint_eq(got.change_id, 200 + i);
		/* the rest of the message is what it was */
		ck_assert_str_eq(got.node, "gwa");
		ck_assert_str_eq(got.killswitch, "");
		ck_assert_str_eq(got.digest, DIG);
		ck_assert_int_eq(got.change[-1], ' ');
	}
	ck_assert_uint_eq(refusals(&rx), 0);
}
END_TEST

/* a field that would not come through is never sent: it could come out
 * as another message */
START_TEST(test_encoder_refuses_what_the_decoder_would)
{
	char change[PEERMSG_CHANGE_MAX + 2];
	struct peermsg m;

	m = state();
	m.node = "gw a";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	m = state();
	m.node = "";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	m = state();
	m.digest = "abc";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	m = state();
	m.killswitch = "skype\nCHANGE 1 rule del finance app skype";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	m = state();
	m.killswitch = "-";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	m = state();
	m.change = "rule set a\nKS skype";
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	memset(change, 'c', PEERMSG_CHANGE_MAX + 1);
	change[PEERMSG_CHANGE_MAX + 1] = '\0';
	m.change = change;
	ck_assert_int_eq(peermsg_encode(buf, sizeof(buf), &m, key, KEYLEN),
			 -EINVAL);
	ck_assert_int_eq(peermsg_change_valid(change), -EMSGSIZE);
	ck_assert_int_eq(peermsg_change_valid(""), -EINVAL);
	ck_assert_int_eq(peermsg_change_valid("rule set a\r"), -EINVAL);
	change[PEERMSG_CHANGE_MAX] = '\0';
	ck_assert_int_eq(peermsg_change_valid(change), 0);
	/* and what does not fit the caller's buffer */
	m = state();
	ck_assert_int_eq(peermsg_encode(buf, 100, &m, key, KEYLEN), -EMSGSIZE);
	ck_assert_int_eq(peermsg_encode(buf, 130, &m, key, KEYLEN), -EMSGSIZE);
}
END_TEST

/* A peer is one node: the first name taken pins it, and our own name
 * is never a peer's (a datagram of ours sent back by someone on the way
 * with the peer's address). Neither moves the replay state. */
START_TEST(test_a_peer_is_one_node_and_never_ours)
{
	struct peermsg_rx rx = { 0 };
	struct peermsg m = state(), got;
	size_t n;

	rx.own = "gw-a.lab";
	m.node = "gw-a.lab";
	m.seq = 10;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_WRONG_NODE);
	ck_assert_uint_eq(rx.last_seq, 0);
	ck_assert_str_eq(rx.node, "");
	m.node = "gw-b.lab";
	m.seq = 11;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
	ck_assert_str_eq(rx.node, "gw-b.lab");
	/* another node from the same address, even newer: refused */
	m.node = "gw-c.lab";
	m.seq = 12;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_WRONG_NODE);
	ck_assert_uint_eq(rx.last_seq, 11);
	ck_assert_uint_eq(rx.refused[PEERMSG_WRONG_NODE], 2);
	m.node = "gw-b.lab";
	m.seq = 12;
	n = encoded(&m, key);
	ck_assert_int_eq(peermsg_receive(&rx, buf, n, key, KEYLEN, NOW, &got),
			 PEERMSG_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peer");
	TCase *c = tcase_create("messages");

	tcase_add_test(c,
		       test_messages_are_byte_for_byte_the_pairs_wire_format);
	tcase_add_test(
		c,
		test_well_formed_message_from_a_peer_is_taken_with_its_fields_exact);
	tcase_add_test(c, test_fields_at_their_bounds_are_taken);
	tcase_add_test(c, test_a_peer_is_one_node_and_never_ours);
	tcase_add_test(c, test_message_under_another_key_is_refused_as_bad_mac);
	tcase_add_test(c, test_message_cut_short_anywhere_is_refused_as_no_mac);
	tcase_add_test(c, test_a_flipped_bit_anywhere_is_refused);
	tcase_add_test(c,
		       test_message_older_than_the_window_is_refused_as_stale);
	tcase_add_test(
		c,
		test_message_from_beyond_the_window_ahead_is_refused_as_future);
	tcase_add_test(
		c,
		test_message_not_newer_than_the_last_from_that_peer_is_a_replay);
	tcase_add_loop_test(
		c,
		test_broken_message_behind_a_good_mac_is_refused_with_its_reason,
		0, (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(
		c, test_over_long_kill_switch_or_change_is_refused_as_too_long);
	tcase_add_test(
		c, test_change_that_is_no_runtime_change_is_handed_on_as_data);
	tcase_add_test(c, test_encoder_refuses_what_the_decoder_would);
	suite_add_tcase(s, c);
	return check_run(s);
}
