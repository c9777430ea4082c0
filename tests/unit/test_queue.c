/* queue.c's verdicts as the kernel would read them, without a kernel: the
 * file is compiled in here with mnl_socket_sendto() replaced by a reader
 * of the messages it is given. A run of ids alike goes as one batch
 * message, never while a packet below it is held or after a packet was
 * left without a verdict; a full send buffer never recurses; a failed
 * send is tried again, and if it fails twice batching ends. */
#include "kernel/queue.c"
#include "kernel/nlsock.c"

#include <check.h>

#include "check_run.h"

/* What the fake kernel read: each message's type, id, verdict, mark. */
struct seen {
	uint16_t type;
	uint32_t id, verdict, mark;
	int has_mark;
};
static struct seen seen[20000];
static int n_seen, sends, fail_sends;

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *buf,
			  size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int l = (int)len;

	(void)nl;
	sends++;
	if (fail_sends > 0) {
		fail_sends--;
		errno = ENOBUFS;
		return -1;
	}
	for (; mnl_nlmsg_ok(nlh, l); nlh = mnl_nlmsg_next(nlh, &l)) {
		const struct nlattr *a;
		struct seen *s = &seen[n_seen++];

		memset(s, 0, sizeof(*s));
		s->type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		{
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR) {
				const struct nfqnl_msg_verdict_hdr *vh =
					mnl_attr_get_payload(a);

				s->id = ntohl(vh->id);
				s->verdict = ntohl(vh->verdict);
			} else if (mnl_attr_get_type(a) == NFQA_MARK) {
				s->mark = ntohl(mnl_attr_get_u32(a));
				s->has_mark = 1;
			}
		}
	}
	return (ssize_t)len;
}

static struct queue *q;

static void setup(void)
{
	q = calloc(1, sizeof(*q));
	q->tx = malloc(TX_SIZE);
	n_seen = sends = fail_sends = 0;
}

static void teardown(void)
{
	free(q->tx);
	free(q);
}

/* The verdict the fake kernel's queue gives packet @id: the last message
 * that covers it (a verdict for it, or a batch up to an id at or above
 * it sent after the packet's own message, if any). */
static int verdict_of(uint32_t id, uint32_t *mark)
{
	int i, v = -1;

	for (i = 0; i < n_seen; i++) {
		if (seen[i].type == NFQNL_MSG_VERDICT && seen[i].id == id) {
			v = (int)seen[i].verdict;
			*mark = seen[i].mark;
			break; /* the kernel dequeued it */
		}
		if (seen[i].type == NFQNL_MSG_VERDICT_BATCH &&
		    seen[i].id >= id) {
			v = (int)seen[i].verdict;
			*mark = seen[i].mark;
			break;
		}
	}
	return v;
}

START_TEST(test_a_run_alike_is_one_batch)
{
	uint32_t id, mark;

	for (id = 1; id <= 50; id++)
		queue_verdict(q, id, QUEUE_ACCEPT, 1, 0x10000);
	queue_flush(q);
	ck_assert_int_eq(n_seen, 1);
	ck_assert_uint_eq(seen[0].type, NFQNL_MSG_VERDICT_BATCH);
	ck_assert_uint_eq(seen[0].id, 50);
	ck_assert_int_eq(verdict_of(1, &mark), QUEUE_ACCEPT);
	ck_assert_uint_eq(mark, 0x10000);
	ck_assert_uint_eq(q->st.batches, 1);
	ck_assert_uint_eq(q->st.verdicts, 50);
}
END_TEST

START_TEST(test_runs_break_at_a_verdict_or_mark_that_differs)
{
	uint32_t id, mark;

	for (id = 1; id <= 30; id++)
		queue_verdict(q, id,
			      id == 10	? QUEUE_DROP
			      : id > 20 ? QUEUE_REPEAT
					: QUEUE_ACCEPT,
			      1, id > 25 ? 0x20000 : 0x10000);
	queue_flush(q);
	/* 1-9 batch, 10 alone, 11-20 batch, 21-25 batch, 26-30 batch */
	ck_assert_int_eq(n_seen, 5);
	for (id = 1; id <= 30; id++) {
		int v = verdict_of(id, &mark);

		ck_assert_int_eq(v, id == 10  ? QUEUE_DROP
				    : id > 20 ? QUEUE_REPEAT
					      : QUEUE_ACCEPT);
		ck_assert_uint_eq(mark, id > 25 ? 0x20000 : 0x10000);
	}
}
END_TEST

START_TEST(test_no_batch_over_a_held_packet)
{
	uint32_t id, mark;

	queue_verdict(q, 1, QUEUE_ACCEPT, 1, 0);
	q->cur_id = 2;
	queue_defer(q, 2); /* the shaper holds 2 */
	for (id = 3; id <= 10; id++)
		queue_verdict(q, id, QUEUE_ACCEPT, 1, 0);
	queue_flush(q);
	/* a batch up to 10 would take 2 with it: one message each */
	ck_assert_int_eq(n_seen, 9);
	ck_assert_int_eq(verdict_of(2, &mark), -1);
	/* the shaper drops 2 later; then batches again */
	queue_verdict_held(q, 2, QUEUE_DROP, 0);
	for (id = 11; id <= 20; id++)
		queue_verdict(q, id, QUEUE_ACCEPT, 1, 0);
	queue_flush(q);
	ck_assert_int_eq(verdict_of(2, &mark), QUEUE_DROP);
	ck_assert_uint_eq(seen[n_seen - 1].type, NFQNL_MSG_VERDICT_BATCH);
	ck_assert_uint_eq(seen[n_seen - 1].id, 20);
}
END_TEST

START_TEST(test_a_full_buffer_of_releases_does_not_recurse)
{
	uint32_t i, mark;

	/* a throttle swap releases up to 4096 held packets at once, more
	 * than the send buffer holds, then the turn's own verdicts come */
	q->held = 4096;
	for (i = 0; i < 4096; i++)
		queue_verdict_held(q, 100000 + i, QUEUE_ACCEPT, 7);
	queue_verdict(q, 200000, QUEUE_ACCEPT, 1, 0);
	queue_verdict(q, 200001, QUEUE_ACCEPT, 1, 0);
	queue_flush(q);
	ck_assert_int_eq(n_seen, 4097);
	ck_assert_int_gt(sends, 1);
	for (i = 0; i < 4096; i++)
		ck_assert_int_eq(verdict_of(100000 + i, &mark), QUEUE_ACCEPT);
	ck_assert_int_eq(verdict_of(200001, &mark), QUEUE_ACCEPT);
}
END_TEST

START_TEST(test_a_failed_send_is_retried_then_batching_ends)
{
	uint32_t id, mark;

	/* once: the retry carries the drop */
	fail_sends = 1;
	queue_verdict(q, 5, QUEUE_DROP, 1, 0);
	queue_flush(q);
	ck_assert_int_eq(verdict_of(5, &mark), QUEUE_DROP);
	ck_assert_uint_eq(q->st.send_errors, 0);
	/* twice: 6 stays in the kernel without a verdict; a later batch
	 * must not take it */
	fail_sends = 2;
	queue_verdict(q, 6, QUEUE_DROP, 1, 0);
	queue_flush(q);
	ck_assert_uint_eq(q->st.send_errors, 1);
	for (id = 7; id <= 9; id++)
		queue_verdict(q, id, QUEUE_ACCEPT, 1, 0);
	queue_flush(q);
	ck_assert_int_eq(verdict_of(6, &mark), -1);
	ck_assert_uint_eq(seen[n_seen - 1].type, NFQNL_MSG_VERDICT);
	ck_assert_uint_eq(q->st.batches, 0);
}
END_TEST

START_TEST(test_ids_wrap)
{
	uint32_t mark;

	queue_verdict(q, 0xfffffffeu, QUEUE_ACCEPT, 1, 0);
	queue_verdict(q, 0xffffffffu, QUEUE_ACCEPT, 1, 0);
	queue_verdict(q, 0, QUEUE_ACCEPT, 1, 0);
	queue_verdict(q, 1, QUEUE_ACCEPT, 1, 0);
	queue_flush(q);
	/* one run: the kernel compares ids with wrap-around
	 * (nfq_id_after) */
	ck_assert_int_eq(n_seen, 1);
	ck_assert_uint_eq(seen[0].id, 1);
	(void)mark;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue");
	TCase *c = tcase_create("verdicts");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_a_run_alike_is_one_batch);
	tcase_add_test(c, test_runs_break_at_a_verdict_or_mark_that_differs);
	tcase_add_test(c, test_no_batch_over_a_held_packet);
	tcase_add_test(c, test_a_full_buffer_of_releases_does_not_recurse);
	tcase_add_test(c, test_a_failed_send_is_retried_then_batching_ends);
	tcase_add_test(c, test_ids_wrap);
	suite_add_tcase(s, c);
	return check_run(s);
}
