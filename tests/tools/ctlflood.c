/* sf-ctlflood: bad input for skyfenced's control socket.
 *
 *   sf-ctlflood flood SOCKET CLIENTS REQUESTS  - CLIENTS processes at once,
 *       each sending REQUESTS requests: well-formed ones (status, stats,
 *       help, log level, killswitch) and malformed, binary, over-long
 *       (1 MiB), empty, split across writes and several in one write.
 *       Each reply is checked: a well-formed request gets OK, every other
 *       ERR usage. Prints "sent=N ok=N err=N wrong=N"; exit 1 if any reply
 *       was wrong or missing.
 *   sf-ctlflood slowreader SOCKET  - connects, asks for a lot, never reads;
 *       stays until killed.
 *   sf-ctlflood pipeline SOCKET CLIENTS REQUESTS LINE  - CLIENTS processes
 *       at once, each sending LINE REQUESTS times without waiting (as fast
 *       as the socket takes it) while reading the replies; every status
 *       line must be OK. Prints "sent=N ok=N err=N ms=T"; exit 1 if any
 *       reply was not OK or missing within 120 s.
 *   sf-ctlflood nonreaders SOCKET N  - N connections, each sending "help"
 *       until the socket takes no more, none ever reading; stays until
 *       killed.
 *   sf-ctlflood request SOCKET LINE  - sends LINE as one request, with no
 *       descriptor, prints every reply line until the status line; exit 0
 *       on OK, 1 on ERR.
 *   sf-ctlflood hold SOCKET N MS  - N connections one after another, each
 *       held if greeted, every held one sending "help" every MS ms and
 *       reading the replies. Prints "held=N refused=N" once all are tried
 *       and the first refusal's line, then "held=N closed=N notices=N"
 *       whenever the daemon closes some (notices: told "ERR busy ...
 *       make room for an admin"); stays until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static int connect_to(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

struct rd {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* The next line into @out; 0, or -1 at EOF / 10 s without data. */
static int next_line(struct rd *r, char *out, size_t outlen)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		struct pollfd p = { r->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - r->buf);

			snprintf(out, outlen, "%.*s", (int)k, r->buf);
			memmove(r->buf, nl + 1, r->len - k - 1);
			r->len -= k + 1;
			return 0;
		}
		if (r->len == sizeof(r->buf))
			r->len = 0; /* a data line longer than we keep */
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n <= 0)
			return -1;
		r->len += (size_t)n;
	}
}

/* Reads one reply; returns 1 for OK, 2 for ERR usage, 3 other ERR, -1. */
static int reply(struct rd *r)
{
	char line[4096];

	while (next_line(r, line, sizeof(line)) == 0) {
		if (!strncmp(line, "= ", 2))
			continue;
		if (!strncmp(line, "OK", 2))
			return 1;
		if (!strncmp(line, "ERR usage", 9))
			return 2;
		return 3;
	}
	return -1;
}

static const char *const good[] = { "status",	  "stats",
				    "help",	  "log level",
				    "killswitch", "stats json",
				    "flows",	  "stats prometheus" };
static const char *const bad[] = {
	"bogus", "stats xml",	      "status json json", "policy",
	"rule",	 "department frob x", "killswitch maybe", "log level loud"
};

static int client(const char *path, int nreq, unsigned seed)
{
	struct rd *r = calloc(1, sizeof(*r));
	char greet[256];
	int i, wrong = 0, sent = 0, okc = 0, errc = 0;

	srand(seed);
	r->fd = connect_to(path);
	if (r->fd < 0 || next_line(r, greet, sizeof(greet)) != 0 ||
	    strncmp(greet, "SKYFENCE 1 ", 11) != 0) {
		fprintf(stderr, "client %u: no greeting\n", seed);
		return 100;
	}
	for (i = 0; i < nreq; i++) {
		int kind = rand() % 8, want, got;
		char req[512];

		switch (kind) {
		case 0: /* well-formed */
		case 1:
			snprintf(req, sizeof(req), "%s\n", good[rand() % 8]);
			want = 1;
			write_all(r->fd, req, strlen(req));
			break;
		case 2: /* malformed */
			snprintf(req, sizeof(req), "%s\n", bad[rand() % 8]);
			want = 2;
			write_all(r->fd, req, strlen(req));
			break;
		case 3: { /* binary */
			int k, n = 1 + rand() % 64;

			for (k = 0; k < n; k++)
				req[k] = (char)(1 + rand() % 255);
			for (k = 0; k < n; k++)
				if (req[k] == '\n')
					req[k] = 1;
			req[0] = '\x01';
			req[n] = '\n';
			want = 2;
			write_all(r->fd, req, (size_t)n + 1);
			break;
		}
		case 4: /* empty */
			want = 2;
			write_all(r->fd, "\n", 1);
			break;
		case 5: { /* split across writes: still one request */
			want = 1;
			write_all(r->fd, "sta", 3);
			usleep(1000);
			write_all(r->fd, "tus\n", 4);
			break;
		}
		case 6: /* two in one write: two replies, in order */
			write_all(r->fd, "help\nbogus\n", 11);
			sent++;
			got = reply(r);
			if (got == 1)
				okc++;
			else
				wrong++;
			want = 2;
			break;
		default:
			if (rand() % 20 == 0) { /* 1 MiB line */
				size_t n = 1 << 20;
				char *big = malloc(n + 1);

				memset(big, 'A', n);
				big[n] = '\n';
				write_all(r->fd, big, n + 1);
				free(big);
				want = 2;
			} else {
				write_all(r->fd, "status json\n", 12);
				want = 1;
			}
			break;
		}
		sent++;
		got = reply(r);
		if (got == 1)
			okc++;
		else if (got >= 2)
			errc++;
		if (got != want) {
			wrong++;
			if (wrong < 3)
				fprintf(stderr,
					"client %u: request kind %d: reply %d, want %d\n",
					seed, kind, got, want);
		}
	}
	/* truncated: a request without its newline, then gone */
	write_all(r->fd, "stat", 4);
	close(r->fd);
	printf("sent=%d ok=%d err=%d wrong=%d\n", sent, okc, errc, wrong);
	free(r);
	return wrong > 99 ? 99 : wrong;
}

static int flood(const char *path, int nclients, int nreq)
{
	int i, status, wrong = 0, failed = 0;

	fflush(stdout);
	for (i = 0; i < nclients; i++) {
		pid_t p = fork();

		if (p == 0) {
			FILE *devnull = freopen("/dev/null", "w", stdout);

			(void)devnull;
			_exit(client(path, nreq, (unsigned)i + 1));
		}
		if (p < 0)
			failed++;
	}
	while (wait(&status) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			failed++;
			wrong += WIFEXITED(status) ? WEXITSTATUS(status) : 100;
		}
	}
	printf("clients=%d requests=%d clients_with_wrong_replies=%d wrong=%d\n",
	       nclients, nclients * nreq, failed, wrong);
	return failed ? 1 : 0;
}

static int slowreader(const char *path)
{
	int fd = connect_to(path), i;

	if (fd < 0)
		return 1;
	for (i = 0; i < 2000; i++)
		if (write_all(fd, "stats prometheus\nhelp\nflows\n", 28) != 0)
			break;
	pause();
	return 0;
}

/* ---- Prometheus text format ---- */

static int pipeline_client(const char *path, int n, const char *line,
			   unsigned *ok, unsigned *err)
{
	size_t ll = strlen(line), sent = 0, total = (size_t)n * (ll + 1);
	char rx[65536], out[8192];
	size_t carry = 0, oo = 0, ol = 0;
	int fd = connect_to(path), status = 0, got_greeting = 0;
	time_t t0 = time(NULL);

	if (fd < 0)
		return 1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (status < n && time(NULL) - t0 < 120) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (sent < total)
			pf.events |= POLLOUT;
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if ((pf.revents & POLLOUT) && sent < total) {
			if (oo == ol) {
				oo = 0;
				for (ol = 0; ol + ll + 1 <= sizeof(out) &&
					     sent + ol < total;
				     ol += ll + 1) {
					memcpy(out + ol, line, ll);
					out[ol + ll] = '\n';
				}
			}
			r = write(fd, out + oo, ol - oo);
			if (r > 0) {
				oo += (size_t)r;
				sent += (size_t)r;
			}
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			char *p, *nl;

			r = read(fd, rx + carry, sizeof(rx) - carry - 1);
			if (r <= 0)
				break;
			carry += (size_t)r;
			rx[carry] = '\0';
			p = rx;
			while ((nl = strchr(p, '\n'))) {
				*nl = '\0';
				if (!got_greeting) {
					got_greeting = 1;
				} else if (!strncmp(p, "OK", 2)) {
					(*ok)++;
					status++;
				} else if (!strncmp(p, "ERR", 3)) {
					(*err)++;
					status++;
				}
				p = nl + 1;
			}
			carry = (size_t)(rx + carry - p);
			memmove(rx, p, carry);
		}
	}
	close(fd);
	return status == n && *err == 0 ? 0 : 1;
}

static int pipeline(const char *path, int clients, int n, const char *line)
{
	int i, fails = 0, pfd[2];
	unsigned ok = 0, err = 0;
	time_t t0 = time(NULL);

	if (pipe(pfd) < 0)
		return 2;
	for (i = 0; i < clients; i++) {
		if (fork() == 0) {
			unsigned o = 0, e = 0;
			int rc = pipeline_client(path, n, line, &o, &e);
			char msg[64];
			int m = snprintf(msg, sizeof(msg), "%u %u %d\n", o, e,
					 rc);

			if (write(pfd[1], msg, (size_t)m) < 0)
				_exit(2);
			_exit(rc);
		}
	}
	close(pfd[1]);
	{
		FILE *f = fdopen(pfd[0], "r");
		unsigned o, e;
		int rc, got = 0;

		while (f && fscanf(f, "%u %u %d", &o, &e, &rc) == 3) {
			ok += o;
			err += e;
			fails += rc != 0;
			got++;
		}
		fails += clients - got;
		if (f)
			fclose(f);
	}
	while (wait(NULL) > 0)
		;
	printf("sent=%d ok=%u err=%u ms=%ld\n", clients * n, ok, err,
	       (long)(time(NULL) - t0) * 1000);
	return fails ? 1 : 0;
}

/* N connections that fill their socket with requests and never read. */
static int nonreaders(const char *path, int n)
{
	static const char req[] = "help\n";
	int i;

	for (i = 0; i < n; i++) {
		int fd = connect_to(path), k;

		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		for (k = 0; k < 4096; k++)
			if (write(fd, req, sizeof(req) - 1) <= 0)
				break;
	}
	pause();
	return 0;
}

/* ---- hold: connections kept alive, as a crowd that wants the slots ---- */

struct holder {
	struct pollfd *p;
	int n, closed, notices;
	long period_ms;
	struct timespec next;
};

static long ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 +
	       (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* Reads what the held connections have (for up to @wait_ms), and sends
 * "help" on each when its period is up. */
static void hold_turn(struct holder *h, long wait_ms)
{
	char buf[4096];
	int i, closed = h->closed;

	if (wait_ms > ms_until(&h->next))
		wait_ms = ms_until(&h->next);
	if (poll(h->p, (nfds_t)h->n, wait_ms < 0 ? 0 : (int)wait_ms) > 0) {
		for (i = 0; i < h->n; i++) {
			ssize_t r;

			if (h->p[i].fd < 0 || !h->p[i].revents)
				continue;
			r = read(h->p[i].fd, buf, sizeof(buf) - 1);
			if (r > 0) {
				buf[r] = '\0';
				if (strstr(buf, "room for an admin"))
					h->notices++;
				continue;
			}
			if (r < 0 && errno == EAGAIN)
				continue;
			close(h->p[i].fd);
			h->p[i].fd = -1;
			h->closed++;
		}
	}
	if (ms_until(&h->next) <= 0) {
		for (i = 0; i < h->n; i++)
			if (h->p[i].fd >= 0 &&
			    send(h->p[i].fd, "help\n", 5,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(h->p[i].fd);
				h->p[i].fd = -1;
				h->closed++;
			}
		h->next.tv_nsec += h->period_ms * 1000000;
		h->next.tv_sec += h->next.tv_nsec / 1000000000;
		h->next.tv_nsec %= 1000000000;
	}
	if (h->closed != closed) {
		printf("held=%d closed=%d notices=%d\n", h->n - h->closed,
		       h->closed, h->notices);
		fflush(stdout);
	}
}

static int hold(const char *path, int n, long period_ms)
{
	struct holder h = { calloc((size_t)n, sizeof(struct pollfd)),
			    0,
			    0,
			    0,
			    period_ms,
			    { 0, 0 } };
	char first[256] = "";
	int i, refused = 0;

	if (!h.p || period_ms <= 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &h.next);
	for (i = 0; i < n; i++) {
		struct rd *r = calloc(1, sizeof(*r));
		char line[256];

		if (!r)
			return 2;
		r->fd = connect_to(path);
		if (r->fd < 0 || next_line(r, line, sizeof(line)) != 0) {
			snprintf(line, sizeof(line), "(no greeting)");
		}
		if (strncmp(line, "SKYFENCE 1 ", 11) == 0) {
			fcntl(r->fd, F_SETFL,
			      fcntl(r->fd, F_GETFL) | O_NONBLOCK);
			h.p[h.n].fd = r->fd;
			h.p[h.n++].events = POLLIN;
		} else {
			if (!refused++)
				snprintf(first, sizeof(first), "%s", line);
			if (r->fd >= 0)
				close(r->fd);
		}
		free(r);
		hold_turn(&h, 0);
	}
	printf("held=%d refused=%d\nrefusal: %s\n", h.n - h.closed, refused,
	       first);
	fflush(stdout);
	for (;;)
		hold_turn(&h, 1000);
}

/* One raw request, as a client that passes no file would send it. */
static int request(const char *path, const char *line)
{
	char buf[65536];
	size_t len = 0;
	int fd = connect_to(path);
	FILE *f;

	if (fd < 0 || write_all(fd, line, strlen(line)) != 0 ||
	    write_all(fd, "\n", 1) != 0)
		return 2;
	f = fdopen(fd, "r");
	if (!f)
		return 2;
	while (fgets(buf + len, (int)(sizeof(buf) - len), f)) {
		fputs(buf + len, stdout);
		if (!strncmp(buf + len, "OK", 2) ||
		    !strncmp(buf + len, "ERR", 3)) {
			int ok = !strncmp(buf + len, "OK", 2);

			fclose(f);
			return ok ? 0 : 1;
		}
	}
	fclose(f);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "request"))
		return request(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "pipeline"))
		return pipeline(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "nonreaders"))
		return nonreaders(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "flood"))
		return flood(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "slowreader"))
		return slowreader(argv[2]);
	fprintf(stderr, "usage: sf-ctlflood flood SOCKET CLIENTS REQUESTS | "
			"slowreader SOCKET | request SOCKET LINE | "
			"pipeline SOCKET CLIENTS REQUESTS LINE | "
			"nonreaders SOCKET N | hold SOCKET N MS\n");
	return 2;
}
