/* The normalizer (stream.h): only what the receiver takes as skyfenced
 * read it goes through. */
#include <check.h>
#include <string.h>

#include "check_run.h"
#include "core/pkt.h"
#include "core/stream.h"
#include "payloads.h"

#define CISN 1000u
#define SISN 5000u

static struct stream st;

static struct stream_seg seg(uint8_t flags, uint32_t seq, uint32_t ack,
			     const char *data)
{
	struct stream_seg g;

	memset(&g, 0, sizeof(g));
	g.flags = flags;
	g.seq = seq;
	g.ack = ack;
	g.win = 65535;
	g.data = (const uint8_t *)data;
	g.len = data ? (uint32_t)strlen(data) : 0;
	return g;
}

static enum stream_res put(int dir, struct stream_seg g, uint32_t *off)
{
	uint32_t o, skip;
	enum stream_res r = stream_segment(&st, dir, &g, NULL, 0, 0, &o, &skip);

	if (off)
		*off = o;
	return r;
}

/* The handshake, with timestamps and window scaling if asked for. */
static void open_conn(int ts, uint8_t wscale_srv, uint16_t win_srv)
{
	struct stream_seg g = seg(PKT_TCP_SYN, CISN, 0, NULL);

	memset(&st, 0, sizeof(st));
	g.has_ts = (uint8_t)ts;
	g.tsval = 100;
	g.has_ws = 1;
	g.wscale = 7;
	ck_assert_int_eq(put(0, g, NULL), STREAM_EMPTY);
	g = seg(PKT_TCP_SYN | PKT_TCP_ACK, SISN, CISN + 1, NULL);
	g.has_ts = (uint8_t)ts;
	g.tsval = 900;
	g.has_ws = 1;
	g.wscale = wscale_srv;
	g.win = win_srv;
	ck_assert_int_eq(put(1, g, NULL), STREAM_EMPTY);
}

START_TEST(test_in_order_data_passes_with_its_offsets)
{
	uint32_t off;

	open_conn(0, 0, 65535);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "hello"), &off),
		STREAM_NEW);
	ck_assert_uint_eq(off, 0);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 6, SISN + 1, "world"), &off),
		STREAM_NEW);
	ck_assert_uint_eq(off, 5);
	ck_assert(stream_saw_syn(&st));
}
END_TEST

START_TEST(test_a_segment_past_a_gap_is_dropped_until_its_turn)
{
	open_conn(0, 0, 65535);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 6, SISN + 1, "world"), NULL),
		STREAM_GAP);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "hello"), NULL),
		STREAM_NEW);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 6, SISN + 1, "world"), NULL),
		STREAM_NEW);
}
END_TEST

START_TEST(test_retransmissions_pass_only_with_the_same_bytes)
{
	const uint8_t kept[] = "hello";
	struct stream_seg g;
	uint32_t off, skip;

	open_conn(0, 0, 65535);
	put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "hello"), NULL);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "hello");
	ck_assert_int_eq(stream_segment(&st, 0, &g, kept, 0, 5, &off, &skip),
			 STREAM_DUP);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "HELLO");
	ck_assert_int_eq(stream_segment(&st, 0, &g, kept, 0, 5, &off, &skip),
			 STREAM_CONFLICT);
	/* an overlap that brings new bytes: the new part, if the old one
	 * is the same */
	g = seg(PKT_TCP_ACK, CISN + 4, SISN + 1, "lo, world");
	ck_assert_int_eq(stream_segment(&st, 0, &g, kept, 0, 5, &off, &skip),
			 STREAM_NEW);
	ck_assert_uint_eq(skip, 2);
	ck_assert_uint_eq(off, 5);
	g = seg(PKT_TCP_ACK, CISN + 9, SISN + 1, "X!");
	/* "or" at offsets 8-9 of "hello, world" */
	ck_assert_int_eq(stream_segment(&st, 0, &g,
					(const uint8_t *)"hello, wor", 0, 10,
					&off, &skip),
			 STREAM_CONFLICT);
	g = seg(PKT_TCP_ACK, CISN + 9, SISN + 1, "or");
	ck_assert_int_eq(stream_segment(&st, 0, &g,
					(const uint8_t *)"hello, wor", 0, 10,
					&off, &skip),
			 STREAM_DUP);
}
END_TEST

START_TEST(test_stale_timestamps_are_dropped_when_negotiated)
{
	struct stream_seg g;

	open_conn(1, 0, 65535);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.has_ts = 1;
	g.tsval = 200;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
	g = seg(PKT_TCP_ACK, CISN + 6, SISN + 1, "stale");
	g.has_ts = 1;
	g.tsval = 150; /* older than the last one taken */
	ck_assert_int_eq(put(0, g, NULL), STREAM_STALE);
	g.tsval = 200;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
	/* not negotiated: the receiver does not check, neither does this */
	open_conn(0, 0, 65535);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "a");
	g.has_ts = 1;
	g.tsval = 200;
	put(0, g, NULL);
	g = seg(PKT_TCP_ACK, CISN + 2, SISN + 1, "b");
	g.has_ts = 1;
	g.tsval = 1;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
}
END_TEST

START_TEST(test_data_past_the_window_is_dropped)
{
	open_conn(0, 0, 4);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "abcde"), NULL),
		STREAM_WINDOW);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "abcd"), NULL),
		STREAM_NEW);
	/* the receiver's ACKs move the edge, scaled once both sides
	 * announced a scale */
	open_conn(0, 2, 1);
	{
		struct stream_seg a =
			seg(PKT_TCP_ACK, SISN + 1, CISN + 1, NULL);

		a.win = 2; /* << 2: 8 bytes */
		put(1, a, NULL);
	}
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "abcdefgh"), NULL),
		STREAM_NEW);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 9, SISN + 1, "i"), NULL),
		STREAM_WINDOW);
}
END_TEST

/* Linux's receiver takes the urgent byte out of the stream: it is read
 * here the same way; a pointer past the segment is refused. */
START_TEST(test_urgent_data_is_read_as_the_receiver_reads_it)
{
	struct stream_seg g;

	open_conn(0, 0, 65535);
	g = seg(PKT_TCP_ACK | PKT_TCP_URG, CISN + 1, SISN + 1, "abXc");
	g.urg_ptr = 3;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
	ck_assert_int_eq(stream_urgent(&g), 2);
	g = seg(PKT_TCP_ACK | PKT_TCP_URG, CISN + 5, SISN + 1, "de");
	g.urg_ptr = 9;
	ck_assert_int_eq(put(0, g, NULL), STREAM_URGENT);
	g.urg_ptr = 0;
	ck_assert_int_eq(put(0, g, NULL), STREAM_URGENT);
	/* the pointer without the flag means nothing */
	g = seg(PKT_TCP_ACK, CISN + 5, SISN + 1, "de");
	g.urg_ptr = 1;
	ck_assert_int_eq(stream_urgent(&g), -1);
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
}
END_TEST

/* The receiver's first timestamp is its peer's SYN's: a decoy older than
 * that, as the first data, is stale to it. */
START_TEST(test_a_first_segment_older_than_the_syn_is_stale)
{
	struct stream_seg g;

	open_conn(1, 0, 65535); /* the client's SYN had tsval 100 */
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.has_ts = 1;
	g.tsval = 50;
	ck_assert_int_eq(put(0, g, NULL), STREAM_STALE);
	/* an empty ACK moves it too */
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, NULL);
	g.has_ts = 1;
	g.tsval = 300;
	put(0, g, NULL);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.has_ts = 1;
	g.tsval = 200;
	ck_assert_int_eq(put(0, g, NULL), STREAM_STALE);
	g.tsval = 300;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
}
END_TEST

START_TEST(test_picked_up_mid_stream_starts_at_the_first_byte_seen)
{
	uint32_t off;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(put(0, seg(PKT_TCP_ACK, 77777, 1, "xyz"), &off),
			 STREAM_NEW);
	ck_assert_uint_eq(off, 0);
	ck_assert(!stream_saw_syn(&st));
	ck_assert_int_eq(put(0, seg(PKT_TCP_ACK, 77790, 1, "later"), NULL),
			 STREAM_GAP);
}
END_TEST

START_TEST(test_a_bad_checksum_is_refused_unless_the_kernel_fills_it)
{
	struct frame_spec c = { 4,   "192.0.2.10", "203.0.113.10", 6,	 40000,
				443, TCP_ACK,	   1001,	   5001, 0 };
	uint8_t fr[256];
	size_t n = frame_build(fr, sizeof(fr), &c, (const uint8_t *)"abc", 3);
	struct stream_seg g;
	struct pkt p;

	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, PKT_LINK_EN10MB, &p),
			 PKT_OK);
	ck_assert_int_eq(stream_seg_of(&p, 1, &g), STREAM_EMPTY);
	ck_assert_uint_eq(g.len, 3);
	ck_assert_uint_eq(g.seq, 1001);
	fr[n - 1] ^= 0x40; /* the receiver throws this away */
	ck_assert_int_eq(stream_seg_of(&p, 1, &g), STREAM_BADSUM);
	p.csum_skip = 1;
	ck_assert_int_eq(stream_seg_of(&p, 1, &g), STREAM_EMPTY);
	p.csum_skip = 0;
	ck_assert_int_eq(stream_seg_of(&p, 0, &g), STREAM_EMPTY);
	/* IPv6 too */
	c.family = 6;
	c.src = "2001:db8:a:f::10";
	c.dst = "2001:db8:ff::10";
	n = frame_build(fr, sizeof(fr), &c, (const uint8_t *)"abc", 3);
	ck_assert_int_eq(pkt_parse_frame(fr, (uint32_t)n, PKT_LINK_EN10MB, &p),
			 PKT_OK);
	ck_assert_int_eq(stream_seg_of(&p, 1, &g), STREAM_EMPTY);
	fr[n - 2] ^= 1;
	ck_assert_int_eq(stream_seg_of(&p, 1, &g), STREAM_BADSUM);
}
END_TEST

START_TEST(test_data_the_receiver_drops_for_its_flags_is_not_read)
{
	struct stream_seg g;

	open_conn(0, 0, 65535);
	/* no ACK flag: Linux discards it */
	ck_assert_int_eq(put(0, seg(0, CISN + 1, 0, "decoy"), NULL),
			 STREAM_FLAGS);
	/* data on a SYN after the handshake */
	g = seg(PKT_TCP_SYN | PKT_TCP_ACK, CISN, SISN + 1, "decoy");
	ck_assert_int_eq(put(0, g, NULL), STREAM_FLAGS);
	/* data on a RST is never data */
	ck_assert_int_eq(
		put(0,
		    seg(PKT_TCP_RST | PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy"),
		    NULL),
		STREAM_EMPTY);
	/* none of it moved the stream */
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "real"), NULL),
		STREAM_NEW);
	/* Fast Open data on the first SYN: refused, resent after */
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(put(0, seg(PKT_TCP_SYN, CISN, 0, "tfo"), NULL),
			 STREAM_FLAGS);
}
END_TEST

START_TEST(test_data_acknowledging_what_was_never_sent_is_dropped)
{
	open_conn(0, 0, 65535);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1000, "x"), NULL),
		STREAM_BADACK);
	ck_assert_int_eq(put(0,
			     seg(PKT_TCP_ACK, CISN + 1, SISN - (1u << 31), "x"),
			     NULL),
			 STREAM_BADACK);
	/* once the server sent 3 bytes, they may be acknowledged */
	put(1, seg(PKT_TCP_ACK, SISN + 1, CISN + 1, "abc"), NULL);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 4, "x"), NULL),
		STREAM_NEW);
}
END_TEST

START_TEST(test_a_lower_ttl_than_the_flows_is_dropped)
{
	struct stream_seg g = seg(PKT_TCP_SYN, CISN, 0, NULL);

	memset(&st, 0, sizeof(st));
	g.ttl = 63;
	put(0, g, NULL);
	g = seg(PKT_TCP_SYN | PKT_TCP_ACK, SISN, CISN + 1, NULL);
	g.ttl = 57;
	put(1, g, NULL);
	/* a decoy that would expire past the gateway */
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.ttl = 2;
	ck_assert_int_eq(put(0, g, NULL), STREAM_TTL);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "real");
	g.ttl = 63;
	ck_assert_int_eq(put(0, g, NULL), STREAM_NEW);
}
END_TEST

START_TEST(test_a_watched_responders_window_still_counts)
{
	struct stream_seg a;

	open_conn(0, 0, 4);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "abcdefgh"), NULL),
		STREAM_WINDOW);
	/* the responder's packets, noted without being normalized */
	a = seg(PKT_TCP_ACK, SISN + 1, CISN + 1, "0123456789");
	a.win = 1000;
	stream_note(&st, 1, &a);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 11, "abcdefgh"), NULL),
		STREAM_NEW);
}
END_TEST

/* A FIN takes a sequence number, with or without data: a half-closed
 * peer's FIN is acknowledged, and that is no acknowledgement of bytes
 * never sent. */
START_TEST(test_a_bare_fin_is_acknowledged_without_a_badack)
{
	open_conn(0, 0, 65535);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "GET"), NULL),
		STREAM_NEW);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK | PKT_TCP_FIN, CISN + 4, SISN + 1, NULL),
		    NULL),
		STREAM_EMPTY);
	ck_assert_int_eq(
		put(1, seg(PKT_TCP_ACK, SISN + 1, CISN + 5, "200"), NULL),
		STREAM_NEW);
}
END_TEST

/* A segment from before the stream's first byte: the part after it is
 * compared like any retransmission. */
START_TEST(test_a_segment_from_before_the_first_byte_is_compared)
{
	const uint8_t kept[] = "hello";
	struct stream_seg g;
	uint32_t off, skip;

	open_conn(0, 0, 65535);
	put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "hello"), NULL);
	g = seg(PKT_TCP_ACK, CISN, SISN + 1, "Xjello");
	ck_assert_int_eq(stream_segment(&st, 0, &g, kept, 0, 5, &off, &skip),
			 STREAM_CONFLICT);
	g = seg(PKT_TCP_ACK, CISN, SISN + 1, "Xhello");
	ck_assert_int_eq(stream_segment(&st, 0, &g, kept, 0, 5, &off, &skip),
			 STREAM_DUP);
}
END_TEST

/* TCP-MD5 or TCP-AO on data the SYNs did not set up: dropped by a
 * receiver without the key, so not read here. */
START_TEST(test_a_signature_option_nobody_set_up_is_dropped)
{
	struct stream_seg g;

	open_conn(0, 0, 65535);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.has_sig = 1;
	ck_assert_int_eq(put(0, g, NULL), STREAM_SIG);
	ck_assert_int_eq(
		put(0, seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "real"), NULL),
		STREAM_NEW);
}
END_TEST

/* The TTL baseline is the highest so far: a first SYN sent to expire
 * does not lower it; the responder's TTL is not judged (a SYN proxy). */
START_TEST(test_the_ttl_baseline_is_the_initiators_highest)
{
	struct stream_seg g = seg(PKT_TCP_SYN, CISN, 0, NULL);

	memset(&st, 0, sizeof(st));
	g.ttl = 3;
	put(0, g, NULL);
	g.ttl = 64;
	put(0, g, NULL);
	g = seg(PKT_TCP_SYN | PKT_TCP_ACK, SISN, CISN + 1, NULL);
	g.ttl = 250;
	put(1, g, NULL);
	g = seg(PKT_TCP_ACK, CISN + 1, SISN + 1, "decoy");
	g.ttl = 3;
	ck_assert_int_eq(put(0, g, NULL), STREAM_TTL);
	g = seg(PKT_TCP_ACK, SISN + 1, CISN + 1, "reply");
	g.ttl = 60;
	ck_assert_int_eq(put(1, g, NULL), STREAM_NEW);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *c = tcase_create("normalizer");

	tcase_add_test(c, test_in_order_data_passes_with_its_offsets);
	tcase_add_test(c, test_a_segment_past_a_gap_is_dropped_until_its_turn);
	tcase_add_test(c, test_retransmissions_pass_only_with_the_same_bytes);
	tcase_add_test(c, test_stale_timestamps_are_dropped_when_negotiated);
	tcase_add_test(c, test_data_past_the_window_is_dropped);
	tcase_add_test(c, test_urgent_data_is_read_as_the_receiver_reads_it);
	tcase_add_test(c, test_a_first_segment_older_than_the_syn_is_stale);
	tcase_add_test(c,
		       test_picked_up_mid_stream_starts_at_the_first_byte_seen);
	tcase_add_test(
		c, test_a_bad_checksum_is_refused_unless_the_kernel_fills_it);
	tcase_add_test(c,
		       test_data_the_receiver_drops_for_its_flags_is_not_read);
	tcase_add_test(c,
		       test_data_acknowledging_what_was_never_sent_is_dropped);
	tcase_add_test(c, test_a_lower_ttl_than_the_flows_is_dropped);
	tcase_add_test(c, test_a_watched_responders_window_still_counts);
	tcase_add_test(c, test_a_bare_fin_is_acknowledged_without_a_badack);
	tcase_add_test(c,
		       test_a_segment_from_before_the_first_byte_is_compared);
	tcase_add_test(c, test_a_signature_option_nobody_set_up_is_dropped);
	tcase_add_test(c, test_the_ttl_baseline_is_the_initiators_highest);
	suite_add_tcase(s, c);
	return check_run(s);
}
