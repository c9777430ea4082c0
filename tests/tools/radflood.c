/* sf-radflood: a flood of RADIUS Accounting-Request Starts for the lab,
 * each a session of its own binding an address of its own:
 *
 *   sf-radflood --connect ADDR --port P --secret S --count N
 *               [--prefix6 2001:db8:a:e:1::] [--class GROUP] [--nas NAME]
 *               [--ts-offset SECONDS]
 *
 * Session i binds PREFIX6 + i (an IPv6 address: documentation addresses
 * are too few in IPv4 for a flood), user "flood-i", Event-Timestamp now +
 * --ts-offset. Sent with sendmmsg as fast as it goes; answers are read on
 * the way and counted. Prints "sent=N answered=M ms=T" and exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "identity/radius.h"

#define BATCH 64

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static unsigned drain(int fd)
{
	uint8_t b[64];
	unsigned n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static size_t build(unsigned i, const uint8_t base[16], const char *cls,
		    const char *nas, long ts_off, const char *secret,
		    uint8_t *out, size_t cap)
{
	char user[32], sess[32];
	uint8_t addr[16], status[4] = { 0, 0, 0, RADIUS_START }, ts[4];
	uint32_t t = (uint32_t)(time(NULL) + ts_off);
	struct radius_attr a[8];
	unsigned n = 0;

	memcpy(addr, base, 16);
	addr[12] = (uint8_t)(i >> 24);
	addr[13] = (uint8_t)(i >> 16);
	addr[14] = (uint8_t)(i >> 8);
	addr[15] = (uint8_t)i;
	snprintf(user, sizeof(user), "flood-%u", i);
	snprintf(sess, sizeof(sess), "flood-%u", i);
	ts[0] = (uint8_t)(t >> 24);
	ts[1] = (uint8_t)(t >> 16);
	ts[2] = (uint8_t)(t >> 8);
	ts[3] = (uint8_t)t;
	a[n++] = (struct radius_attr){ RADIUS_ACCT_STATUS_TYPE, status, 4 };
	a[n++] = (struct radius_attr){ RADIUS_USER_NAME, user,
				       (uint8_t)strlen(user) };
	a[n++] = (struct radius_attr){ RADIUS_ACCT_SESSION_ID, sess,
				       (uint8_t)strlen(sess) };
	a[n++] = (struct radius_attr){ RADIUS_FRAMED_IPV6_ADDRESS, addr, 16 };
	a[n++] = (struct radius_attr){ RADIUS_EVENT_TIMESTAMP, ts, 4 };
	a[n++] = (struct radius_attr){ RADIUS_NAS_IDENTIFIER, nas,
				       (uint8_t)strlen(nas) };
	if (cls[0])
		a[n++] = (struct radius_attr){ RADIUS_CLASS, cls,
					       (uint8_t)strlen(cls) };
	return radius_build_acct((uint8_t)i, a, n, (const uint8_t *)secret,
				 strlen(secret), out, cap);
}

int main(int argc, char **argv)
{
	const char *host = NULL, *secret = NULL, *cls = "", *nas = "flood";
	const char *p6 = "2001:db8:a:e:1::";
	unsigned long count = 0, port = 1813, i, answered = 0;
	static uint8_t pkt[BATCH][512];
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t base[16];
	long ts_off = 0;
	long long t0;
	int k, fd;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--connect"))
			host = argv[k + 1];
		else if (!strcmp(argv[k], "--port"))
			port = strtoul(argv[k + 1], NULL, 10);
		else if (!strcmp(argv[k], "--secret"))
			secret = argv[k + 1];
		else if (!strcmp(argv[k], "--count"))
			count = strtoul(argv[k + 1], NULL, 10);
		else if (!strcmp(argv[k], "--prefix6"))
			p6 = argv[k + 1];
		else if (!strcmp(argv[k], "--class"))
			cls = argv[k + 1];
		else if (!strcmp(argv[k], "--nas"))
			nas = argv[k + 1];
		else if (!strcmp(argv[k], "--ts-offset"))
			ts_off = strtol(argv[k + 1], NULL, 10);
		else
			break;
	}
	if (k != argc || !host || !secret || !count ||
	    inet_pton(AF_INET6, p6, base) != 1) {
		fprintf(stderr,
			"usage: sf-radflood --connect ADDR --port P --secret S "
			"--count N [--prefix6 P] [--class G] [--nas NAME] "
			"[--ts-offset S]\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "sf-radflood: %s: not an address\n", host);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		perror("sf-radflood: socket");
		return 7;
	}
	t0 = now_ms();
	for (i = 0; i < count;) {
		struct mmsghdr m[BATCH];
		struct iovec iov[BATCH];
		unsigned b = 0;
		int sent;

		while (b < BATCH && i + b < count) {
			size_t len =
				build((unsigned)(i + b), base, cls, nas, ts_off,
				      secret, pkt[b], sizeof(pkt[b]));

			iov[b] = (struct iovec){ pkt[b], len };
			memset(&m[b], 0, sizeof(m[b]));
			m[b].msg_hdr.msg_iov = &iov[b];
			m[b].msg_hdr.msg_iovlen = 1;
			b++;
		}
		sent = sendmmsg(fd, m, b, 0);
		if (sent < 0) {
			if (errno == ECONNREFUSED || errno == ENOBUFS ||
			    errno == EAGAIN)
				continue;
			perror("sf-radflood: sendmmsg");
			return 7;
		}
		i += (unsigned)sent;
		answered += drain(fd);
	}
	{
		struct pollfd p = { fd, POLLIN, 0 };

		while (poll(&p, 1, 500) > 0)
			answered += drain(fd);
	}
	printf("sent=%lu answered=%lu ms=%lld\n", count, answered,
	       now_ms() - t0);
	return 0;
}
