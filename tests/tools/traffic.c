/* sf-traffic: traffic for the lab tests and the demo, with exact counts.
 *
 *   sf-traffic tcp-server --port P [--tls] [--http | --dns] [--log FILE]
 *                         [--timeout S]
 *                         [--progress-ms N]  (a progress line every N ms)
 *   sf-traffic tcp-client --connect ADDR --port P [--tls SNI [--tls13]]
 *                         [--http HOST | --dns NAME] [--bytes N] [--timeout S]
 *                         [--duration-ms D] [--for-ms T] (send for T ms)
 *   sf-traffic tcp-burst --connect ADDR --port P --duration-ms D
 *                         (one HTTP request per connection, as many as fit)
 *   sf-traffic udp-flood --connect ADDR --port P --count N
 *                         (N new UDP flows, one datagram each, as fast as
 *                         sendmmsg goes: 8 source ports x destination
 *                         ports P, P+1, ...)
 *   sf-traffic udp-server --port P [--log FILE]
 *   sf-traffic udp-client --connect ADDR --port P
 *                         --payload stun-skype|stun|dns:NAME|raw|file:PATH
 *                         [--count N] [--interval-ms I] [--timeout-ms T]
 *                         [--sport P]
 *                         [--rate-bps R --size S --for-ms T] (paced stream)
 *   sf-traffic media-server --port P [--log FILE]
 *                         (a Teams relay: answers STUN binding requests,
 *                         echoes the rest)
 *   sf-traffic media-client --connect RELAY --port P --sport S [--stun N]
 *                         [--pt PT] [--ssrc X] [--count N] [--interval-ms I]
 *                         [--size S] [--dscp D] [--timeout-ms T] [--log FILE]
 *                         (a Teams call's media leg from client port S:
 *                         N Skype STUN binding requests (default 2), then
 *                         --count RTP packets of payload type PT (default
 *                         111, audio; 122 is video) and SSRC X with S bytes
 *                         of payload (default 160), one every I ms; --dscp
 *                         sends them with that DSCP, else 0)
 *
 * Servers listen on both families, serve each TCP connection in a child,
 * and append one line per connection (or datagram) to --log:
 *   tcp peer=ADDR tls=ok|failed|no bytes=N raw=R
 * (bytes: application data; raw: all bytes read from the socket, TLS
 * records included; a connection idle for --timeout seconds ends)
 *   udp peer=ADDR len=N wall_ms=W   (W: when it came, ms since the epoch)
 *   media peer=ADDR sport=S kind=stun|rtp|other pt=PT dscp=D len=N wall_ms=W
 *     (D: the DSCP the datagram arrived with, IP_RECVTOS/IPV6_RECVTCLASS,
 *     -1 if unknown; PT -1 but for RTP)
 * Clients print one line and exit 0 on success, 3 reset, 4 refused,
 * 5 unreachable (ICMP), 6 timeout, 7 other error, 2 usage:
 *   ok sent=N received=M ms=T        (tcp)
 *   sent=N replies=M errors=E first_error=NAME ms=T
 *     rtt_p50_us=A rtt_p99_us=B rtt_max_us=C      (udp, always exit 0)
 *     (udp-client --log FILE: a line "reply W" per reply, W its
 *     wall-clock time in ms since the epoch)
 *   conns=N failed=F ms=T connect_p50_us=A connect_p99_us=B  (tcp-burst)
 *   sent=N stun_replies=S rtp_replies=R errors=E first_error=NAME ms=T
 *     dscp=V:N,V:N...    (media-client, always exit 0: the replies by the
 *     DSCP they arrived with, "none" without replies; --log FILE: a line
 *     "reply W kind=K dscp=D" per reply)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "payloads.h"

enum {
	EX_OK = 0,
	EX_USAGE = 2,
	EX_RESET = 3,
	EX_REFUSED = 4,
	EX_UNREACH = 5,
	EX_TIMEOUT = 6,
	EX_OTHER = 7
};

struct opts {
	const char *connect, *log, *sni, *http, *payload, *dns;
	unsigned port, count, interval_ms, timeout_ms, duration_ms, sport;
	unsigned for_ms, size, progress_ms;
	unsigned stun, pt, ssrc, dscp; /* media-client */
	int dscp_set;
	unsigned long long rate_bps;
	unsigned long long bytes;
	int tls, tls13;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_line(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_line(const char *path, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, n;

	if (!path)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n)
			perror("sf-traffic: log");
		close(fd);
	}
}

static const char *peer_text(const struct sockaddr_storage *ss, char *buf,
			     size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf,
			  (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			  buf, (socklen_t)len);
	return buf;
}

static int to_sockaddr(const char *addr, unsigned port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int listen_any(int type, unsigned port)
{
	struct sockaddr_in6 a;
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0), zero = 0, one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int exit_for_errno(int e, const char **name)
{
	switch (e) {
	case ECONNRESET:
	case EPIPE:
		*name = "reset";
		return EX_RESET;
	case ECONNREFUSED:
		*name = "refused";
		return EX_REFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
	case EHOSTDOWN:
		*name = "unreachable";
		return EX_UNREACH;
	case ETIMEDOUT:
	case EAGAIN:
		*name = "timeout";
		return EX_TIMEOUT;
	default:
		*name = strerror(e);
		return EX_OTHER;
	}
}

static void set_timeouts(int fd, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- TLS ---- */

static SSL_CTX *server_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = X509_new();
	X509_NAME *name;

	if (!ctx || !key || !crt)
		return NULL;
	ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 86400);
	X509_set_pubkey(crt, key);
	name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(
		name, "CN", MBSTRING_ASC,
		(const unsigned char *)"skyfence-lab.invalid", -1, -1, 0);
	X509_set_issuer_name(crt, name);
	if (!X509_sign(crt, key, EVP_sha256()) ||
	    SSL_CTX_use_certificate(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		return NULL;
	X509_free(crt);
	EVP_PKEY_free(key);
	return ctx;
}

/* ---- TCP server ---- */

static void serve_conn(int fd, const struct opts *o, SSL_CTX *ctx,
		       const char *peer)
{
	char buf[65536];
	unsigned long long total = 0;
	const char *tls = "no";
	uint64_t started = now_ms(), next_progress = started + o->progress_ms;
	struct sockaddr_storage ls;
	socklen_t lsl = sizeof(ls);
	char local[INET6_ADDRSTRLEN] = "?";
	SSL *ssl = NULL;
	int n, got_request = 0;

	/* the address the client reached: one server serves many */
	if (getsockname(fd, (struct sockaddr *)&ls, &lsl) == 0)
		peer_text(&ls, local, sizeof(local));

	set_timeouts(fd, o->timeout_ms);
	if (ctx) {
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		tls = SSL_accept(ssl) == 1 ? "ok" : "failed";
		if (strcmp(tls, "failed") == 0)
			goto done;
	}
	for (;;) {
		n = ssl ? SSL_read(ssl, buf, sizeof(buf))
			: (int)read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		total += (unsigned long long)n;
		if (o->progress_ms && now_ms() >= next_progress) {
			log_line(o->log,
				 "progress peer=%s local=%s bytes=%llu ms=%llu",
				 peer, local, total,
				 (unsigned long long)(now_ms() - started));
			next_progress += o->progress_ms;
		}
		if (o->dns && total >= 2 &&
		    total >= 2 + (((unsigned)(uint8_t)buf[0] << 8) |
				  (uint8_t)buf[1]) &&
		    n >= 5) {
			/* one whole length-prefixed message (RFC 1035 4.2.2):
			 * answered as itself with QR set, then closed */
			buf[4] |= (char)0x80;
			if (write(fd, buf, (size_t)n) < 0)
				break;
			break;
		}
		if (o->http && !got_request &&
		    memmem(buf, (size_t)n, "\r\n\r\n", 4)) {
			static const char resp[] =
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				"Connection: close\r\n\r\nok";

			got_request = 1;
			if (write(fd, resp, sizeof(resp) - 1) < 0)
				break;
			break;
		}
	}
done:
	log_line(o->log, "tcp peer=%s tls=%s bytes=%llu raw=%llu", peer, tls,
		 total,
		 ssl ? (unsigned long long)BIO_number_read(SSL_get_rbio(ssl))
		     : total);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
}

static int tcp_server(const struct opts *o)
{
	SSL_CTX *ctx = NULL;
	int lfd;

	signal(SIGCHLD, SIG_IGN);
	if (o->tls && !(ctx = server_ctx())) {
		fprintf(stderr, "sf-traffic: TLS set-up failed\n");
		return EX_OTHER;
	}
	lfd = listen_any(SOCK_STREAM, o->port);
	if (lfd < 0) {
		perror("sf-traffic: listen");
		return EX_OTHER;
	}
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[INET6_ADDRSTRLEN];
		int fd =
			accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		pid_t pid;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("sf-traffic: accept");
			return EX_OTHER;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve_conn(fd, o, ctx,
				   peer_text(&ss, peer, sizeof(peer)));
			_exit(0);
		}
		close(fd);
	}
}

/* ---- TCP client ---- */

static int connect_timeout(const struct sockaddr_storage *ss, socklen_t sl,
			   unsigned ms, int *err)
{
	int fd = socket(ss->ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	socklen_t el = sizeof(*err);

	*err = 0;
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 &&
	    errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, (int)ms) <= 0) {
		*err = ETIMEDOUT;
		close(fd);
		return -1;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el);
	if (*err) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int tcp_client(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	static char buf[65536];
	unsigned long long sent = 0, received = 0;
	uint64_t t0 = now_ms();
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	const char *what;
	int fd, err = 0, rc = EX_OK, n;

	if (to_sockaddr(o->connect, o->port, &ss, &sl) != 0) {
		fprintf(stderr, "sf-traffic: bad address %s\n", o->connect);
		return EX_USAGE;
	}
	fd = connect_timeout(&ss, sl, o->timeout_ms, &err);
	if (fd < 0)
		goto fail;
	set_timeouts(fd, o->timeout_ms);
	if (o->tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_max_proto_version(ctx, o->tls13 ? TLS1_3_VERSION
							    : TLS1_2_VERSION);
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		SSL_set_tlsext_host_name(ssl, o->sni);
		if (SSL_connect(ssl) != 1) {
			err = errno ? errno : ECONNRESET;
			goto fail;
		}
	}
	if (o->http || o->dns) {
		size_t m;

		if (o->http) {
			m = payload_http_get((uint8_t *)buf, sizeof(buf),
					     o->http);
		} else {
			m = payload_dns_query((uint8_t *)buf + 2,
					      sizeof(buf) - 2, o->dns, 1);
			buf[0] = (char)(m >> 8);
			buf[1] = (char)m;
			m += 2;
		}

		if (write(fd, buf, m) != (ssize_t)m) {
			err = errno;
			goto fail;
		}
		sent += m;
	}
	memset(buf, 'x', sizeof(buf));
	while (o->for_ms ? now_ms() - t0 < o->for_ms : sent < o->bytes) {
		if (o->duration_ms) {
			/* pace: byte k is due at k / bytes of the duration */
			uint64_t due = t0 + (uint64_t)((double)sent /
						       (double)o->bytes *
						       o->duration_ms);

			while (now_ms() < due)
				usleep(1000);
		}
		/* timed sends write 4 KiB at a time: small TLS records,
		 * so the receiver's byte count moves smoothly */
		size_t chunk = o->for_ms ? 4096
			       : o->bytes - sent >= sizeof(buf)
				       ? sizeof(buf)
				       : (size_t)(o->bytes - sent);

		errno = 0;
		n = ssl ? SSL_write(ssl, buf, (int)chunk)
			: (int)write(fd, buf, chunk);
		if (n <= 0) {
			err = errno ? errno : ECONNRESET;
			goto fail;
		}
		sent += (unsigned long long)n;
	}
	if (ssl)
		SSL_shutdown(ssl);
	shutdown(fd, SHUT_WR);
	for (;;) {
		errno = 0;
		n = ssl ? SSL_read(ssl, buf, sizeof(buf))
			: (int)read(fd, buf, sizeof(buf));
		if (n > 0) {
			received += (unsigned long long)n;
			continue;
		}
		if (n < 0 && !ssl && errno) {
			err = errno;
			goto fail;
		}
		break;
	}
	printf("ok sent=%llu received=%llu ms=%llu\n", sent, received,
	       (unsigned long long)(now_ms() - t0));
	goto out;
fail:
	rc = exit_for_errno(err, &what);
	printf("%s sent=%llu received=%llu ms=%llu\n", what, sent, received,
	       (unsigned long long)(now_ms() - t0));
out:
	if (ssl)
		SSL_free(ssl);
	if (ctx)
		SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Short connections back to back: connect, one HTTP request, read the
 * response to its end. Connect time is the SYN / SYN-ACK round trip, the
 * first packets of a flow. */
static int tcp_burst(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	static uint64_t lat[1 << 20];
	uint64_t t0 = now_ms(), n = 0, failed = 0;
	char req[256], buf[4096];
	size_t rl;

	if (to_sockaddr(o->connect, o->port, &ss, &sl) != 0)
		return EX_USAGE;
	rl = payload_http_get((uint8_t *)req, sizeof(req), "www.example.org");
	while (now_ms() - t0 < o->duration_ms) {
		uint64_t c0 = now_us();
		int err, fd = connect_timeout(&ss, sl, 2000, &err);
		ssize_t r;

		if (fd < 0) {
			failed++;
			continue;
		}
		if (n < sizeof(lat) / sizeof(lat[0]))
			lat[n] = now_us() - c0;
		n++;
		set_timeouts(fd, 2000);
		if (write(fd, req, rl) != (ssize_t)rl)
			failed++;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		close(fd);
	}
	if (n > sizeof(lat) / sizeof(lat[0]))
		n = sizeof(lat) / sizeof(lat[0]);
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	printf("conns=%llu failed=%llu ms=%llu connect_p50_us=%llu connect_p99_us=%llu\n",
	       (unsigned long long)n, (unsigned long long)failed,
	       (unsigned long long)(now_ms() - t0),
	       (unsigned long long)(n ? lat[n / 2] : 0),
	       (unsigned long long)(n ? lat[n * 99 / 100] : 0));
	return EX_OK;
}

/* ---- UDP ---- */

static size_t udp_reply(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	if (n >= 20 && in[0] == 0x00 && in[1] == 0x01 && in[4] == 0x21 &&
	    in[5] == 0x12 && in[6] == 0xa4 && in[7] == 0x42) {
		/* STUN binding request: a response with the same transaction */
		int skype = n >= 24 && in[20] == 0x80 && in[21] == 0x70;
		size_t m = payload_stun(out, cap, 1, skype, 0);

		memcpy(out + 8, in + 8, 12);
		return m;
	}
	if (n > cap)
		n = cap;
	memcpy(out, in, n);
	if (n >= 17 && n + 16 <= cap && in[4] == 0 && in[5] == 1 &&
	    (in[2] & 0x80) == 0) {
		/* a DNS query: answered with one A record, 203.0.113.10 */
		static const uint8_t an[] = {
			0xc0, 0x0c, 0, 1, 0,   1, 0,   0,
			0,    60,   0, 4, 203, 0, 113, 10
		};

		out[2] |= 0x80;
		out[7] = 1; /* ANCOUNT */
		memcpy(out + n, an, sizeof(an));
		return n + sizeof(an);
	}
	return n;
}

/* Answers from the address the request was sent to (the lab's internet
 * host has several): the destination comes in IP_PKTINFO/IPV6_PKTINFO and
 * goes back as the reply's source. */
static size_t put_cmsg(char *out, int level, int type, const void *data,
		       size_t n)
{
	struct cmsghdr *r = (struct cmsghdr *)(void *)out;

	r->cmsg_level = level;
	r->cmsg_type = type;
	r->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(r), data, n);
	return CMSG_SPACE(n);
}

static size_t reply_source(struct msghdr *in, char *out, size_t cap)
{
	struct cmsghdr *c;

	memset(out, 0, cap);
	for (c = CMSG_FIRSTHDR(in); c; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			return put_cmsg(out, IPPROTO_IP, IP_PKTINFO, &pi,
					sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi6_ifindex = 0;
			return put_cmsg(out, IPPROTO_IPV6, IPV6_PKTINFO, &pi,
					sizeof(pi));
		}
	}
	return 0;
}

static uint64_t wall_ms(void);

static int udp_server(const struct opts *o)
{
	uint8_t in[65536], out[65536];
	int fd = listen_any(SOCK_DGRAM, o->port), one = 1;

	if (fd < 0) {
		perror("sf-traffic: bind");
		return EX_OTHER;
	}
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	for (;;) {
		union {
			char buf[256];
			struct cmsghdr align;
		} ctl, rctl;
		struct sockaddr_storage ss;
		struct iovec iov = { in, sizeof(in) };
		struct msghdr mh;
		char peer[INET6_ADDRSTRLEN];
		ssize_t n;
		size_t m, rl;

		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("sf-traffic: recvmsg");
			return EX_OTHER;
		}
		log_line(o->log, "udp peer=%s len=%zd wall_ms=%llu",
			 peer_text(&ss, peer, sizeof(peer)), n,
			 (unsigned long long)wall_ms());
		m = udp_reply(in, (size_t)n, out, sizeof(out));
		rl = reply_source(&mh, rctl.buf, sizeof(rctl.buf));
		iov.iov_base = out;
		iov.iov_len = m;
		mh.msg_control = rl ? rctl.buf : NULL;
		mh.msg_controllen = rl;
		mh.msg_flags = 0;
		sendmsg(fd, &mh, 0);
	}
}

struct udp_tally {
	unsigned sent, replies, errors;
	const char *first; /* the first error's name */
	uint64_t t0, first_ms;
	uint64_t last_send_us; /* a reply's round trip is measured from it */
	uint32_t *rtt_us;      /* one per reply, up to --count */
	unsigned n_rtt, cap_rtt;
	const char *log; /* --log: each reply's wall-clock time in ms */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void udp_error(struct udp_tally *t, int e)
{
	t->errors++;
	if (!t->first_ms) {
		exit_for_errno(e, &t->first);
		t->first_ms = now_ms() - t->t0;
	}
}

/* Counts replies (and ICMP errors, which a connected UDP socket reports)
 * until @until, then whatever is already waiting. */
static void collect_replies(int fd, uint64_t until, struct udp_tally *t)
{
	uint8_t r[65536];

	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int64_t left = (int64_t)until - (int64_t)now_ms();

		if (poll(&pf, 1, left > 0 ? (int)left : 0) <= 0)
			return;
		if (recv(fd, r, sizeof(r), 0) >= 0) {
			/* for a failover's stop and resume times
			 * (bench-failover.sh) */
			log_line(t->log, "reply %llu",
				 (unsigned long long)wall_ms());
			t->replies++;
			if (t->n_rtt < t->cap_rtt && t->last_send_us)
				t->rtt_us[t->n_rtt++] =
					(uint32_t)(now_us() - t->last_send_us);
		} else {
			udp_error(t, errno);
		}
	}
}

static int udp_flood(const struct opts *o)
{
	enum { SOCKS = 8, BATCH = 64 };
	struct sockaddr_storage ss[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov;
	char payload[32];
	socklen_t sl = 0;
	int fds[SOCKS], i;
	unsigned sent = 0, errors = 0, per = (o->count + SOCKS - 1) / SOCKS;
	uint64_t t0 = now_ms();

	memset(payload, 'f', sizeof(payload));
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	for (i = 0; i < SOCKS; i++) {
		if (to_sockaddr(o->connect, o->port, &ss[0], &sl) != 0)
			return EX_USAGE;
		fds[i] = socket(ss[0].ss_family, SOCK_DGRAM, 0);
		if (fds[i] < 0)
			return EX_OTHER;
	}
	for (i = 0; i < SOCKS; i++) {
		unsigned k = 0;

		while (k < per && sent + errors < o->count) {
			unsigned b = 0, j;
			int n;

			for (; b < BATCH && k < per &&
			       sent + errors + b < o->count;
			     b++, k++) {
				to_sockaddr(o->connect, o->port + k, &ss[b],
					    &sl);
				memset(&mm[b], 0, sizeof(mm[b]));
				mm[b].msg_hdr.msg_name = &ss[b];
				mm[b].msg_hdr.msg_namelen = sl;
				mm[b].msg_hdr.msg_iov = &iov;
				mm[b].msg_hdr.msg_iovlen = 1;
			}
			n = sendmmsg(fds[i], mm, b, 0);
			if (n < 0) {
				errors += b;
				continue;
			}
			sent += (unsigned)n;
			for (j = (unsigned)n; j < b; j++)
				errors++;
		}
	}
	for (i = 0; i < SOCKS; i++)
		close(fds[i]);
	printf("flows=%u errors=%u ms=%llu\n", sent, errors,
	       (unsigned long long)(now_ms() - t0));
	return EX_OK;
}

/* --payload file:PATH: the file's first bytes, each datagram the same */
static size_t read_payload(const char *path, uint8_t *p, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, p, cap) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* A UDP socket connected to --connect --port, from --sport if given:
 * ICMP errors come back as errors on it. Returns the socket, or -EX_USAGE
 * or -EX_OTHER (said on stderr). */
static int udp_connected(const struct opts *o)
{
	struct sockaddr_storage ss, b;
	socklen_t sl, bl;
	int fd, one = 1;

	if (to_sockaddr(o->connect, o->port, &ss, &sl) != 0) {
		fprintf(stderr, "sf-traffic: bad address %s\n", o->connect);
		return -EX_USAGE;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("sf-traffic: udp socket");
		return -EX_OTHER;
	}
	if (o->sport) {
		to_sockaddr(ss.ss_family == AF_INET ? "0.0.0.0" : "::",
			    o->sport, &b, &bl);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&b, bl) < 0) {
			perror("sf-traffic: bind");
			close(fd);
			return -EX_OTHER;
		}
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("sf-traffic: udp connect");
		close(fd);
		return -EX_OTHER;
	}
	return fd;
}

static int udp_client(const struct opts *o)
{
	uint8_t p[1500];
	struct udp_tally t = {
		0, 0, 0, "none", now_ms(), 0, 0, NULL, 0, 0, NULL
	};
	unsigned i;
	int fd = udp_connected(o);

	if (fd < 0)
		return -fd;
	if (o->rate_bps) {
		/* a paced stream: the --payload message first (to classify
		 * the flow), then datagrams of --size bytes at --rate-bps for
		 * --for-ms; no replies are waited for */
		uint64_t t1 = now_us(), bytes = 0, k = 0;
		size_t n =
			payload_stun(p, sizeof(p), 0,
				     strcmp(o->payload, "stun-skype") == 0, 1);
		size_t sz = o->size ? o->size : 1000;

		if (send(fd, p, n, 0) >= 0)
			t.sent++;
		memset(p, 0x5a, sizeof(p));
		if (sz > sizeof(p))
			sz = sizeof(p);
		while (now_us() - t1 < (uint64_t)o->for_ms * 1000) {
			uint64_t due = t1 + k * sz * 8 * 1000000 / o->rate_bps;

			while (now_us() < due)
				usleep(200);
			if (send(fd, p, sz, 0) >= 0) {
				t.sent++;
				bytes += sz;
			} else {
				t.errors++;
			}
			k++;
		}
		printf("sent=%u bytes=%llu errors=%u ms=%llu\n", t.sent,
		       (unsigned long long)bytes, t.errors,
		       (unsigned long long)((now_us() - t1) / 1000));
		close(fd);
		return EX_OK;
	}
	t.log = o->log;
	t.rtt_us = calloc(o->count ? o->count : 1, sizeof(*t.rtt_us));
	t.cap_rtt = t.rtt_us ? o->count : 0;
	for (i = 0; i < o->count; i++) {
		size_t n;
		uint64_t until = now_ms() + o->interval_ms;

		if (strcmp(o->payload, "stun-skype") == 0)
			n = payload_stun(p, sizeof(p), 0, 1, i + 1);
		else if (strcmp(o->payload, "stun") == 0)
			n = payload_stun(p, sizeof(p), 0, 0, i + 1);
		else if (strncmp(o->payload, "dns:", 4) == 0)
			n = payload_dns_query(p, sizeof(p), o->payload + 4,
					      (uint16_t)(i + 1));
		else if (strncmp(o->payload, "file:", 5) == 0)
			n = read_payload(o->payload + 5, p, sizeof(p));
		else {
			memset(p, (int)(0x40 + i % 64), 200);
			n = 200;
		}
		t.last_send_us = now_us();
		if (send(fd, p, n, 0) < 0)
			udp_error(&t, errno);
		else
			t.sent++;
		collect_replies(fd, until, &t);
	}
	collect_replies(fd, now_ms() + o->timeout_ms, &t);
	if (t.n_rtt)
		qsort(t.rtt_us, t.n_rtt, sizeof(*t.rtt_us), cmp_u32);
	/* round trips: each reply against the latest send (an interval
	 * longer than the round trip keeps them paired) */
	printf("sent=%u replies=%u errors=%u first_error=%s ms=%llu "
	       "rtt_p50_us=%u rtt_p99_us=%u rtt_max_us=%u\n",
	       t.sent, t.replies, t.errors, t.first,
	       (unsigned long long)t.first_ms,
	       t.n_rtt ? t.rtt_us[t.n_rtt / 2] : 0,
	       t.n_rtt ? t.rtt_us[(t.n_rtt * 99) / 100] : 0,
	       t.n_rtt ? t.rtt_us[t.n_rtt - 1] : 0);
	free(t.rtt_us);
	close(fd);
	return EX_OK;
}

/* ---- a Teams call's media leg ---- */

/* The DSCP (the DS field's top 6 bits) of a datagram received with
 * IP_RECVTOS / IPV6_RECVTCLASS on: the kernel hands the field over in
 * IP_TOS (one byte) or IPV6_TCLASS (an int). -1 if it gave none. */
static int dscp_of(struct msghdr *mh)
{
	struct cmsghdr *c;
	int tc;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			return *(const uint8_t *)CMSG_DATA(c) >> 2;
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_TCLASS) {
			memcpy(&tc, CMSG_DATA(c), sizeof(tc));
			return (tc & 0xff) >> 2;
		}
	}
	return -1;
}

/* Both families' options: an IPv6 socket takes IPv4's too, for the
 * IPv4-mapped peers of a dual-stack one; the other family's fails. */
static void want_ds_field(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
}

static int is_stun(const uint8_t *p, size_t n)
{
	return n >= 20 && (p[0] & 0xc0) == 0 && p[4] == 0x21 && p[5] == 0x12 &&
	       p[6] == 0xa4 && p[7] == 0x42;
}

static const char *media_kind(const uint8_t *p, size_t n)
{
	if (is_stun(p, n))
		return "stun";
	return n >= 12 && (p[0] & 0xc0) == 0x80 ? "rtp" : "other";
}

static unsigned port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6
			     ? ((const struct sockaddr_in6 *)ss)->sin6_port
			     : ((const struct sockaddr_in *)ss)->sin_port);
}

/* A relay's part: STUN binding requests answered, everything else echoed,
 * from the address it was sent to; one line a datagram with the DSCP it
 * arrived with (as the gateway left it). */
static int media_server(const struct opts *o)
{
	uint8_t in[4096], out[4096];
	int fd = listen_any(SOCK_DGRAM, o->port), one = 1;

	if (fd < 0) {
		perror("sf-traffic: bind");
		return EX_OTHER;
	}
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	want_ds_field(fd);
	for (;;) {
		union {
			char buf[256];
			struct cmsghdr align;
		} ctl, rctl;
		struct sockaddr_storage ss;
		struct iovec iov = { in, sizeof(in) };
		struct msghdr mh;
		char peer[INET6_ADDRSTRLEN];
		const char *kind;
		ssize_t n;
		size_t m, rl;

		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("sf-traffic: recvmsg");
			return EX_OTHER;
		}
		kind = media_kind(in, (size_t)n);
		log_line(
			o->log,
			"media peer=%s sport=%u kind=%s pt=%d dscp=%d len=%zd wall_ms=%llu",
			peer_text(&ss, peer, sizeof(peer)), port_of(&ss), kind,
			strcmp(kind, "rtp") == 0 ? in[1] & 0x7f : -1,
			dscp_of(&mh), n, (unsigned long long)wall_ms());
		if (is_stun(in, (size_t)n) && in[1] == 0x01) {
			m = udp_reply(in, (size_t)n, out, sizeof(out));
		} else {
			m = (size_t)n;
			memcpy(out, in, m);
		}
		rl = reply_source(&mh, rctl.buf, sizeof(rctl.buf));
		iov.iov_base = out;
		iov.iov_len = m;
		mh.msg_control = rl ? rctl.buf : NULL;
		mh.msg_controllen = rl;
		mh.msg_flags = 0;
		sendmsg(fd, &mh, 0);
	}
}

struct media_tally {
	unsigned sent, stun_replies, rtp_replies, errors;
	const char *first; /* the first error's name */
	unsigned by_dscp[64];
	unsigned no_dscp; /* replies the kernel gave no DS field for */
	const char *log;  /* --log: a line a reply */
};

/* Counts the replies by kind and DSCP (and ICMP errors) until @until. */
static void media_collect(int fd, uint64_t until, struct media_tally *t)
{
	uint8_t r[4096];
	union {
		char buf[128];
		struct cmsghdr align;
	} ctl;

	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int64_t left = (int64_t)until - (int64_t)now_ms();
		struct iovec iov = { r, sizeof(r) };
		struct msghdr mh;
		ssize_t n;
		int ds;

		if (poll(&pf, 1, left > 0 ? (int)left : 0) <= 0)
			return;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (!t->errors++)
				exit_for_errno(errno, &t->first);
			continue;
		}
		ds = dscp_of(&mh);
		if (ds >= 0)
			t->by_dscp[ds]++;
		else
			t->no_dscp++;
		if (is_stun(r, (size_t)n))
			t->stun_replies++;
		else
			t->rtp_replies++;
		log_line(t->log, "reply %llu kind=%s dscp=%d",
			 (unsigned long long)wall_ms(),
			 media_kind(r, (size_t)n), ds);
	}
}

/* "46:52,0:3": the replies by DSCP, "none" without any */
static const char *dscp_counts(const struct media_tally *t, char *buf,
			       size_t len)
{
	size_t off = 0;
	int v;

	buf[0] = '\0';
	for (v = 0; v < 64 && off < len; v++)
		if (t->by_dscp[v])
			off += (size_t)snprintf(buf + off, len - off, "%s%d:%u",
						off ? "," : "", v,
						t->by_dscp[v]);
	if (t->no_dscp && off < len)
		snprintf(buf + off, len - off, "%sunknown:%u", off ? "," : "",
			 t->no_dscp);
	return buf[0] ? buf : "none";
}

static void media_send(int fd, const uint8_t *p, size_t n,
		       struct media_tally *t)
{
	if (send(fd, p, n, 0) >= 0) {
		t->sent++;
	} else if (!t->errors++) {
		exit_for_errno(errno, &t->first);
	}
}

/* A call's media leg as a Teams client plays it from its media port: STUN
 * binding requests to the relay first (with the Skype attribute), then
 * RTP at a steady pace, one payload type and SSRC. */
static int media_client(const struct opts *o)
{
	struct media_tally t;
	uint8_t p[1500];
	char counts[64 * 12];
	uint64_t t0 = now_ms(), next;
	int fd = udp_connected(o), tos = (int)(o->dscp << 2);
	unsigned i;

	if (fd < 0)
		return -fd;
	memset(&t, 0, sizeof(t));
	t.first = "none";
	t.log = o->log;
	want_ds_field(fd);
	if (o->dscp_set) {
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	}
	for (i = 0; i < o->stun; i++) {
		media_send(fd, p, payload_stun(p, sizeof(p), 0, 1, i + 1), &t);
		media_collect(fd, now_ms() + o->interval_ms, &t);
	}
	next = now_ms();
	for (i = 0; i < o->count; i++) {
		/* 48 kHz clock, one packet a 20 ms frame */
		size_t n = payload_rtp(p, sizeof(p), (uint8_t)o->pt, i == 0,
				       (uint16_t)i, i * 960u, o->ssrc,
				       o->size ? o->size : 160);

		media_send(fd, p, n, &t);
		next += o->interval_ms;
		media_collect(fd, next, &t);
	}
	media_collect(fd, now_ms() + o->timeout_ms, &t);
	printf("sent=%u stun_replies=%u rtp_replies=%u errors=%u "
	       "first_error=%s ms=%llu dscp=%s\n",
	       t.sent, t.stun_replies, t.rtp_replies, t.errors, t.first,
	       (unsigned long long)(now_ms() - t0),
	       dscp_counts(&t, counts, sizeof(counts)));
	close(fd);
	return EX_OK;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: sf-traffic tcp-server --port P [--tls] [--http | --dns] [--log FILE] [--timeout S]\n"
		"       sf-traffic tcp-client --connect ADDR --port P [--tls SNI [--tls13]]\n"
		"                             [--http HOST | --dns NAME] [--bytes N] [--timeout S] [--duration-ms D]\n"
		"       sf-traffic udp-server --port P [--log FILE]\n"
		"       sf-traffic udp-client --connect ADDR --port P --payload KIND\n"
		"                             [--count N] [--interval-ms I] [--timeout-ms T] [--sport P]\n"
		"       sf-traffic udp-flood --connect ADDR --port P --count N\n"
		"       sf-traffic media-server --port P [--log FILE]\n"
		"       sf-traffic media-client --connect RELAY --port P --sport S [--stun N]\n"
		"                             [--pt PT] [--ssrc X] [--count N] [--interval-ms I]\n"
		"                             [--size S] [--dscp D] [--timeout-ms T] [--log FILE]\n");
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *mode;
	int i;

	memset(&o, 0, sizeof(o));
	o.payload = "raw";
	o.count = 1;
	o.interval_ms = 200;
	o.stun = 2;
	o.pt = 111;
	o.ssrc = 0x5eed0001;
	if (argc < 2)
		return usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--tls13") == 0) {
			o.tls13 = 1;
			continue;
		}
		if (strcmp(a, "--tls") == 0 &&
		    strcmp(mode, "tcp-server") == 0) {
			o.tls = 1;
			continue;
		}
		if (strcmp(a, "--http") == 0 &&
		    strcmp(mode, "tcp-server") == 0) {
			o.http = "";
			continue;
		}
		if (strcmp(a, "--dns") == 0 &&
		    strcmp(mode, "tcp-server") == 0) {
			o.dns = "";
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--connect") == 0)
			o.connect = v;
		else if (strcmp(a, "--port") == 0)
			o.port = (unsigned)atoi(v);
		else if (strcmp(a, "--log") == 0)
			o.log = v;
		else if (strcmp(a, "--tls") == 0) {
			o.tls = 1;
			o.sni = v;
		} else if (strcmp(a, "--http") == 0)
			o.http = v;
		else if (strcmp(a, "--dns") == 0)
			o.dns = v;
		else if (strcmp(a, "--bytes") == 0)
			o.bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--timeout") == 0)
			o.timeout_ms = (unsigned)(atof(v) * 1000);
		else if (strcmp(a, "--progress-ms") == 0)
			o.progress_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--for-ms") == 0)
			o.for_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--rate-bps") == 0)
			o.rate_bps = strtoull(v, NULL, 10);
		else if (strcmp(a, "--size") == 0)
			o.size = (unsigned)atoi(v);
		else if (strcmp(a, "--duration-ms") == 0)
			o.duration_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--sport") == 0)
			o.sport = (unsigned)atoi(v);
		else if (strcmp(a, "--payload") == 0)
			o.payload = v;
		else if (strcmp(a, "--count") == 0)
			o.count = (unsigned)atoi(v);
		else if (strcmp(a, "--interval-ms") == 0)
			o.interval_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--timeout-ms") == 0)
			o.timeout_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--stun") == 0)
			o.stun = (unsigned)atoi(v);
		else if (strcmp(a, "--pt") == 0)
			o.pt = (unsigned)atoi(v);
		else if (strcmp(a, "--ssrc") == 0)
			o.ssrc = (unsigned)strtoul(v, NULL, 0);
		else if (strcmp(a, "--dscp") == 0) {
			o.dscp = (unsigned)atoi(v);
			o.dscp_set = 1;
		} else
			return usage();
	}
	if (o.port == 0 || o.port > 65535 || o.pt > 127 || o.dscp > 63)
		return usage();
	if (o.timeout_ms == 0)
		o.timeout_ms = strcmp(mode, "udp-client") == 0 ||
					       strcmp(mode, "media-client") == 0
				       ? 1000
				       : 15000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "tcp-server") == 0)
		return tcp_server(&o);
	if (strcmp(mode, "udp-server") == 0)
		return udp_server(&o);
	if (strcmp(mode, "media-server") == 0)
		return media_server(&o);
	if (!o.connect)
		return usage();
	if (strcmp(mode, "tcp-client") == 0)
		return tcp_client(&o);
	if (strcmp(mode, "udp-client") == 0)
		return udp_client(&o);
	if (strcmp(mode, "tcp-burst") == 0)
		return tcp_burst(&o);
	if (strcmp(mode, "udp-flood") == 0)
		return udp_flood(&o);
	if (strcmp(mode, "media-client") == 0)
		return media_client(&o);
	return usage();
}
