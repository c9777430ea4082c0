/* sf-httpflood: slow and broken HTTP clients for skyfenced's metrics
 * endpoint.
 *
 *   sf-httpflood --connect ADDR --port P --count N --source A,B,...
 *                --mode slow|garbage --for-ms T
 *
 * Opens N connections at once, spread over the source addresses: "slow"
 * sends the start of a request and then one header byte every 500 ms,
 * never finishing it; "garbage" sends 4 KiB of random bytes and then
 * stays silent. Every second, and at the end, prints
 *   t_ms=T open=O closed=C failed=F max_open=M
 * (open: connections the server keeps; closed: those it closed or reset;
 * failed: connections that could not be made). Exit 0 after T ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define MAX_SOURCES 64

enum state { CONNECTING, OPEN, CLOSED, FAILED };

struct conn {
	int fd;
	enum state st;
	int sent_head;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void)
{
	fprintf(stderr, "usage: sf-httpflood --connect ADDR --port P --count N "
			"--source A,B,... --mode slow|garbage --for-ms T\n");
	return 2;
}

static int open_one(struct in_addr src, struct sockaddr_in *dst)
{
	struct sockaddr_in s;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr = src;
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 ||
	    (connect(fd, (struct sockaddr *)dst, sizeof(*dst)) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The server's side: 0 while it keeps the connection. */
static int gone(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0)
		return 1;
	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK;
	return 0; /* an answer (a 400): closed next */
}

int main(int argc, char **argv)
{
	static struct conn c[MAX_CONNS];
	struct in_addr src[MAX_SOURCES];
	struct sockaddr_in dst;
	const char *addr = NULL, *sources = NULL, *mode = NULL;
	int port = 0, count = 0, nsrc = 0, i, garbage, max_open = 0;
	long long for_ms = 0, start, next_report, next_byte;
	char *list, *tok;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--connect"))
			addr = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--source"))
			sources = argv[i + 1];
		else if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--for-ms"))
			for_ms = atoll(argv[i + 1]);
		else
			return usage();
	}
	if (i != argc || !addr || !sources || !mode || port <= 0 ||
	    port > 65535 || count <= 0 || count > MAX_CONNS || for_ms <= 0 ||
	    (strcmp(mode, "slow") && strcmp(mode, "garbage")))
		return usage();
	garbage = !strcmp(mode, "garbage");
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		return usage();
	list = strdup(sources);
	for (tok = strtok(list, ","); tok && nsrc < MAX_SOURCES;
	     tok = strtok(NULL, ","))
		if (inet_pton(AF_INET, tok, &src[nsrc]) == 1)
			nsrc++;
	free(list);
	if (!nsrc)
		return usage();
	for (i = 0; i < count; i++) {
		c[i].fd = open_one(src[i % nsrc], &dst);
		c[i].st = c[i].fd < 0 ? FAILED : CONNECTING;
	}
	start = now_ms();
	next_report = start + 1000;
	next_byte = start;
	for (;;) {
		long long t = now_ms();
		int open = 0, closed = 0, failed = 0,
		    last = t >= start + for_ms;

		for (i = 0; i < count; i++) {
			struct conn *k = &c[i];

			if (k->st == CONNECTING) {
				struct pollfd p = { k->fd, POLLOUT, 0 };
				int err = 0;
				socklen_t el = sizeof(err);

				if (poll(&p, 1, 0) == 1) {
					getsockopt(k->fd, SOL_SOCKET, SO_ERROR,
						   &err, &el);
					k->st = err ? FAILED : OPEN;
				}
			}
			if (k->st == OPEN && !k->sent_head) {
				char junk[4096];
				const char *head =
					"GET /metrics HTTP/1.1\r\nHost: gw\r\nX-Slow: ";
				ssize_t n;

				if (garbage) {
					if (getrandom(junk, sizeof(junk), 0) !=
					    (ssize_t)sizeof(junk))
						memset(junk, 0x5a,
						       sizeof(junk));
					n = send(k->fd, junk, sizeof(junk),
						 MSG_NOSIGNAL);
				} else {
					n = send(k->fd, head, strlen(head),
						 MSG_NOSIGNAL);
				}
				if (n < 0 && errno != EAGAIN)
					k->st = CLOSED;
				k->sent_head = 1;
			}
			if (k->st == OPEN && !garbage && t >= next_byte &&
			    send(k->fd, "x", 1, MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN)
				k->st = CLOSED;
			if (k->st == OPEN && gone(k->fd))
				k->st = CLOSED;
			open += k->st == OPEN || k->st == CONNECTING;
			closed += k->st == CLOSED;
			failed += k->st == FAILED;
		}
		if (t >= next_byte)
			next_byte = t + 500;
		if (open > max_open)
			max_open = open;
		if (t >= next_report || last) {
			printf("t_ms=%lld open=%d closed=%d failed=%d max_open=%d\n",
			       t - start, open, closed, failed, max_open);
			fflush(stdout);
			next_report += 1000;
		}
		if (last)
			break;
		usleep(20000);
	}
	for (i = 0; i < count; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	return 0;
}
