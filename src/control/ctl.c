/* The control socket (ctl.h). Non-blocking throughout, and bounded per
 * turn of the event loop: clients are served round robin, one request each
 * at a time, at most CTL_TURN_REQUESTS requests or CTL_TURN_US of work per
 * turn; what is left waits for the next turn (an eventfd keeps the loop
 * coming back). A client whose replies back up past CTL_BACKLOG is not
 * read until it catches up; replies are queued up to a cap per client and
 * one for all clients. So no client, and no crowd of them, can hold the
 * event loop and with it the packets' verdicts. Who gets a slot is
 * ctl_slot_admit's to say, from a compact table beside the clients.
 */
#define _GNU_SOURCE
#include "control/ctl.h"
#include "sys/safedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define LISTENER 0u
#define KICK UINT32_MAX
/* connections accepted per wake-up */
#define ACCEPT_BUDGET 16
/* requests, and microseconds of their work, per turn of the loop */
#define CTL_TURN_REQUESTS 32
#define CTL_TURN_US 100
/* queued reply bytes past which a client's requests wait for it to read */
#define CTL_BACKLOG (64 * 1024)

struct client {
	int fd; /* -1: free slot */
	char in[CTL_MAX_REQUEST];
	size_t inlen;
	int discarding; /* in an over-long line: drop up to its end */
	int binary;	/* the current line had a byte that is not text */
	char *out;
	size_t outlen, outoff, outcap;
	int watching_out; /* EPOLLOUT registered */
	int passed_fd;	  /* a descriptor sent with the request, or -1 */
	char rbuf[CTL_MAX_REQUEST]; /* read, not yet handled */
	size_t rlen, roff;
	int readable;	 /* the socket had data this turn */
	uint32_t evmask; /* events registered */
};

struct ctl {
	struct ctl_opts o;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, ep;
	ctl_fn fn;
	void *ctx;
	struct client *cl;
	struct ctl_slot *slot; /* slot[i]: who holds cl[i], and since when */
	struct ctl_limits lim;
	struct ctl_stats st;
	uint64_t now_ms;
	int kick;    /* eventfd: readable while requests wait for a turn */
	unsigned rr; /* the client served first next turn */
};

static uint64_t queued(const struct client *k)
{
	return k->outlen - k->outoff;
}

static struct ctl_slot *slot_of(const struct ctl *c, const struct client *k)
{
	return &c->slot[k - c->cl];
}

struct ctl_req {
	struct ctl *c;
	struct client *k;
	int answered;
};

static void drop_client(struct ctl *c, struct client *k, uint64_t *counter);

/* Marks @k to be closed at its next flush, its replies forgotten. */
static void overflow(struct ctl *c, struct client *k)
{
	c->st.queued_bytes -= queued(k);
	k->outoff = k->outlen = 0;
	k->fd = -k->fd - 2;
}

static void append(struct ctl *c, struct client *k, const char *s, size_t n)
{
	if (k->fd < 0 || n == 0)
		return;
	if (queued(k) + n > c->o.max_reply_bytes) {
		/* a reader this slow gets nothing more: closed at the next
		 * flush, its buffer freed */
		overflow(c, k);
		return;
	}
	while (c->o.max_total_bytes &&
	       c->st.queued_bytes + n > c->o.max_total_bytes) {
		/* all clients together: the one with the most waiting goes */
		struct client *big = k;
		unsigned i;

		for (i = 0; i < c->o.max_clients; i++)
			if (c->cl[i].fd >= 0 && queued(&c->cl[i]) > queued(big))
				big = &c->cl[i];
		if (big == k) {
			overflow(c, k);
			return;
		}
		drop_client(c, big, &c->st.closed_overflow);
	}
	if (k->outlen + n > k->outcap) {
		size_t cap = k->outcap ? k->outcap : 4096;
		char *p;

		if (k->outoff) {
			memmove(k->out, k->out + k->outoff,
				k->outlen - k->outoff);
			k->outlen -= k->outoff;
			k->outoff = 0;
		}
		while (cap < k->outlen + n)
			cap *= 2;
		if (cap != k->outcap) {
			p = realloc(k->out, cap);
			if (!p) {
				k->fd = -k->fd - 2;
				return;
			}
			k->out = p;
			k->outcap = cap;
		}
	}
	memcpy(k->out + k->outlen, s, n);
	k->outlen += n;
	c->st.queued_bytes += n;
}

static void vreply(struct ctl_req *r, const char *prefix, const char *fmt,
		   va_list ap) __attribute__((format(printf, 3, 0)));

static void vreply(struct ctl_req *r, const char *prefix, const char *fmt,
		   va_list ap)
{
	char small[8192], *big = NULL;
	const char *buf = small, *s, *nl;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	/* a long text (policy show of a large policy) whole: the client's
	 * queue has its own bound (max_reply_bytes) */
	if (n >= 0 && (size_t)n >= sizeof(small)) {
		big = malloc((size_t)n + 1);
		if (big && vsnprintf(big, (size_t)n + 1, fmt, aq) == n)
			buf = big;
		else
			n = sizeof(small) - 1;
	}
	va_end(aq);
	if (n < 0) {
		free(big);
		return;
	}
	s = buf;
	/* one protocol line per text line: a newline in a message cannot
	 * end the reply early */
	do {
		nl = memchr(s, '\n', (size_t)(buf + n - s));
		append(r->c, r->k, prefix, strlen(prefix));
		append(r->c, r->k, s, nl ? (size_t)(nl - s) : strlen(s));
		append(r->c, r->k, "\n", 1);
		s = nl ? nl + 1 : NULL;
	} while (s && *s && strcmp(prefix, "= ") == 0);
	free(big);
}

void ctl_data(struct ctl_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(r, "= ", fmt, ap);
	va_end(ap);
}

void ctl_ok(struct ctl_req *r, const char *fmt, ...)
{
	va_list ap;

	if (r->answered++)
		return;
	va_start(ap, fmt);
	vreply(r, fmt[0] ? "OK " : "OK", fmt, ap);
	va_end(ap);
}

void ctl_err(struct ctl_req *r, const char *kind, const char *fmt, ...)
{
	char prefix[32];
	va_list ap;

	if (r->answered++)
		return;
	r->c->st.errors++;
	snprintf(prefix, sizeof(prefix), "ERR %s ", kind);
	va_start(ap, fmt);
	vreply(r, prefix, fmt, ap);
	va_end(ap);
}

uid_t ctl_req_uid(const struct ctl_req *r)
{
	return slot_of(r->c, r->k)->uid;
}

int ctl_split(char *line, char **argv)
{
	int n = 0;
	char *s = line;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return n;
		if (n == CTL_MAX_ARGS)
			return -1;
		argv[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

static void drop_passed(struct client *k)
{
	if (k->passed_fd >= 0)
		close(k->passed_fd);
	k->passed_fd = -1;
}

int ctl_req_fd(const struct ctl_req *r)
{
	return r->k->passed_fd;
}

static void drop_client(struct ctl *c, struct client *k, uint64_t *counter)
{
	int fd = k->fd >= 0 ? k->fd : -k->fd - 2;

	c->st.queued_bytes -= queued(k);
	epoll_ctl(c->ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	drop_passed(k);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	k->passed_fd = -1;
	memset(slot_of(c, k), 0, sizeof(struct ctl_slot));
	c->st.clients--;
	if (counter)
		(*counter)++;
}

/* Writes what is queued; watches for writability while some is left. */
static void flush_client(struct ctl *c, struct client *k)
{
	struct epoll_event ev;

	if (k->fd < -1) { /* over its reply cap */
		drop_client(c, k, &c->st.closed_overflow);
		return;
	}
	if (k->outoff < k->outlen) {
		/* one send of at most 64 KiB a call: a big reply is written
		 * over turns, EPOLLOUT brings us back */
		size_t left = k->outlen - k->outoff;
		ssize_t n;

		do
			n = send(k->fd, k->out + k->outoff,
				 left < 65536 ? left : 65536, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			drop_client(c, k, &c->st.closed_peer);
			return;
		}
		if (n == 0) {
			drop_client(c, k, &c->st.closed_peer);
			return;
		}
		if (n > 0) {
			k->outoff += (size_t)n;
			c->st.queued_bytes -= (uint64_t)n;
			slot_of(c, k)->last_ms = c->now_ms;
		}
	}
	if (k->outoff == k->outlen) {
		k->outoff = k->outlen = 0;
		if (k->outcap > 65536) { /* give back what a big reply took */
			free(k->out);
			k->out = NULL;
			k->outcap = 0;
		}
	}
	/* reading waits while replies back up: a client that does not
	 * read cannot make us do more work for it */
	ev.events = (queued(k) > CTL_BACKLOG ? 0u : (uint32_t)EPOLLIN) |
		    (k->outoff < k->outlen ? (uint32_t)EPOLLOUT : 0u);
	k->watching_out = k->outoff < k->outlen;
	if (ev.events != k->evmask) {
		k->evmask = ev.events;
		ev.data.u32 = (uint32_t)(k - c->cl) + 1;
		epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
	}
}

static void handle_line(struct ctl *c, struct client *k, char *line, size_t len)
{
	struct ctl_req r = { c, k, 0 };
	char *argv[CTL_MAX_ARGS];
	int argc;

	c->st.requests++;
	slot_of(c, k)->last_ms = c->now_ms;
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (k->binary) {
		ctl_err(&r, "usage",
			"request has bytes that are not text (expected VERB ARG... and a newline)");
		return;
	}
	argc = ctl_split(line, argv);
	if (argc < 0) {
		ctl_err(&r, "usage", "more than %d words in a request",
			CTL_MAX_ARGS);
		return;
	}
	if (argc == 0) {
		ctl_err(&r, "usage", "empty request (try: help)");
		return;
	}
	c->fn(c->ctx, &r, slot_of(c, k)->role, argc, argv);
	if (!r.answered)
		ctl_err(&r, "internal", "no reply");
}

/* A descriptor that came with the data (SCM_RIGHTS) is kept for the next
 * request; any other, and any beyond the first, is closed at once. */
static void take_fds(struct client *k, struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, n;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (k->passed_fd < 0)
				k->passed_fd = fd;
			else
				close(fd);
		}
	}
}

/* One read into the client's buffer (which must be empty). */
static void fill(struct ctl *c, struct client *k)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { k->rbuf, sizeof(k->rbuf) };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	n = recvmsg(k->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		take_fds(k, &mh);
	if (n <= 0) {
		drop_client(c, k, &c->st.closed_peer);
		return;
	}
	k->rlen = (size_t)n;
	k->roff = 0;
}

/* Takes bytes from the client's buffer until one request is answered or
 * the buffer is empty. Returns 1 if a request was answered. */
static int consume(struct ctl *c, struct client *k)
{
	while (k->roff < k->rlen && k->fd >= 0) {
		unsigned char ch = (unsigned char)k->rbuf[k->roff++];

		if (ch == '\n') {
			if (k->discarding) {
				struct ctl_req r = { c, k, 0 };

				c->st.requests++;
				ctl_err(&r, "usage",
					"request longer than %d bytes",
					CTL_MAX_REQUEST);
			} else {
				k->in[k->inlen] = '\0';
				handle_line(c, k, k->in, k->inlen);
			}
			/* a descriptor goes with one request only */
			if (k->fd >= 0)
				drop_passed(k);
			k->inlen = 0;
			k->discarding = k->binary = 0;
			return 1;
		}
		if (k->discarding)
			continue;
		if (k->inlen + 1 >= sizeof(k->in)) {
			k->discarding = 1;
			continue;
		}
		if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
			k->binary = 1;
		k->in[k->inlen++] = (char)ch;
	}
	return 0;
}

void ctl_limits_default(struct ctl_limits *l, unsigned max_clients)
{
	l->slots = max_clients;
	l->per_uid = max_clients >= 8 ? max_clients / 8 : 1;
	l->reserve = max_clients >= 16 ? max_clients / 16 : max_clients > 1;
}

enum ctl_admit ctl_slot_admit(const struct ctl_slot *s,
			      const struct ctl_limits *l, uid_t uid,
			      enum ctl_role role, unsigned *slot)
{
	unsigned i, ro = 0, mine = 0, free_at = l->slots, oldest = l->slots;

	for (i = 0; i < l->slots; i++) {
		if (!s[i].used) {
			if (free_at == l->slots)
				free_at = i;
			continue;
		}
		/* a DHCP server's hook counts as a read-only client: it
		 * takes none of the slots kept for admins */
		if (s[i].role == CTL_ADMIN)
			continue;
		ro++;
		mine += s[i].uid == uid;
		if (oldest == l->slots || s[i].last_ms < s[oldest].last_ms)
			oldest = i;
	}
	if (role != CTL_ADMIN) {
		if (mine >= l->per_uid)
			return CTL_REFUSE_UID;
		if (ro + l->reserve >= l->slots)
			return CTL_REFUSE_READ_ONLY;
	}
	if (free_at < l->slots) {
		*slot = free_at;
		return CTL_ADMIT;
	}
	if (role == CTL_ADMIN && oldest < l->slots) {
		*slot = oldest;
		return CTL_ADMIT_EVICT;
	}
	return CTL_REFUSE_FULL;
}

/* One line on a socket about to be closed, best effort: nothing is
 * queued before it, so it fits. */
static void tell(int fd, const char *line)
{
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		/* nothing to tell */
	}
}

static void refuse(int fd, const char *line)
{
	tell(fd, line);
	close(fd);
}

/* The role of the peer on @fd, its uid in *uid. Returns 0, -EACCES if it
 * is neither in the socket's group nor an admin, or -errno if its
 * credentials cannot be had. */
static int peer_role(const struct ctl *c, int fd, uid_t *uid,
		     enum ctl_role *role)
{
	gid_t groups[256];
	socklen_t gl = sizeof(groups), crl;
	struct ucred cr;
	int member, admin, lease;
	unsigned g;

	*uid = (uid_t)-1;
	*role = CTL_READ_ONLY;
	crl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0)
		return -errno;
	*uid = cr.uid;
	if (cr.uid == 0) {
		*role = CTL_ADMIN;
		return 0;
	}
	member = cr.gid == c->o.group;
	admin = c->o.admin_group != (gid_t)-1 && cr.gid == c->o.admin_group;
	lease = c->o.lease_group != (gid_t)-1 && cr.gid == c->o.lease_group;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0) {
		for (g = 0; g < gl / sizeof(gid_t); g++) {
			member |= groups[g] == c->o.group;
			admin |= c->o.admin_group != (gid_t)-1 &&
				 groups[g] == c->o.admin_group;
			lease |= c->o.lease_group != (gid_t)-1 &&
				 groups[g] == c->o.lease_group;
		}
	}
	*role = admin ? CTL_ADMIN : lease ? CTL_LEASE : CTL_READ_ONLY;
	/* the file mode keeps others out; this holds even if someone
	 * loosens it */
	return member || admin || lease ? 0 : -EACCES;
}

/* Closes a client that has gone (its end closed, nothing of it left to
 * read), if there is one: the kernel may report a newcomer before the
 * hang-up of the client it follows. Returns 1 if one was closed. */
static int reap_gone(struct ctl *c)
{
	unsigned i;
	char b;

	for (i = 0; i < c->o.max_clients; i++) {
		struct client *k = &c->cl[i];
		ssize_t n;

		if (k->fd < 0 || k->roff < k->rlen)
			continue;
		n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop_client(c, k, &c->st.closed_peer);
			return 1;
		}
	}
	return 0;
}

/* A slot for a new client, or NULL with the client told why and closed. */
static struct client *admit(struct ctl *c, int fd, uid_t uid,
			    enum ctl_role role)
{
	enum ctl_admit a;
	char msg[160];
	unsigned i = 0;

	a = ctl_slot_admit(c->slot, &c->lim, uid, role, &i);
	/* no one is evicted for a slot that is free already */
	if (a == CTL_ADMIT_EVICT && reap_gone(c))
		a = ctl_slot_admit(c->slot, &c->lim, uid, role, &i);
	switch (a) {
	case CTL_ADMIT:
		return &c->cl[i];
	case CTL_ADMIT_EVICT:
		/* a line of its own only if no reply is on its way */
		if (c->cl[i].fd >= 0 && !queued(&c->cl[i]))
			tell(c->cl[i].fd,
			     "ERR busy closed to make room for an admin\n");
		drop_client(c, &c->cl[i], &c->st.evicted);
		return &c->cl[i];
	case CTL_REFUSE_UID:
		snprintf(
			msg, sizeof(msg),
			"ERR busy uid %u holds %u read-only control clients, the most one user may\n",
			(unsigned)uid, c->lim.per_uid);
		c->st.refused_uid++;
		break;
	case CTL_REFUSE_READ_ONLY:
		snprintf(
			msg, sizeof(msg),
			"ERR busy read-only control clients hold all %u of their slots; %u are kept for admins\n",
			c->lim.slots - c->lim.reserve, c->lim.reserve);
		c->st.refused_busy++;
		break;
	default:
		snprintf(msg, sizeof(msg),
			 "ERR busy too many control clients\n");
		c->st.refused_busy++;
		break;
	}
	refuse(fd, msg);
	return NULL;
}

static void accept_clients(struct ctl *c)
{
	unsigned budget = ACCEPT_BUDGET;

	while (budget--) {
		int fd = accept4(c->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *k;
		struct epoll_event ev;
		enum ctl_role role;
		uid_t uid;
		char greet[64];
		int r;

		if (fd < 0)
			return;
		r = peer_role(c, fd, &uid, &role);
		if (r < 0) {
			if (r == -EACCES)
				tell(fd,
				     "ERR denied not in the control socket's group\n");
			close(fd);
			c->st.refused_peer++;
			continue;
		}
		k = admit(c, fd, uid, role);
		if (!k)
			continue;
		memset(k, 0, sizeof(*k));
		k->fd = fd;
		k->passed_fd = -1;
		k->evmask = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)(k - c->cl) + 1;
		if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			k->fd = -1;
			continue;
		}
		*slot_of(c, k) = (struct ctl_slot){ uid, role, 1, c->now_ms };
		c->st.clients++;
		c->st.accepted++;
		snprintf(greet, sizeof(greet), "SKYFENCE %d %s\n",
			 CTL_PROTO_VERSION,
			 role == CTL_ADMIN   ? "admin"
			 : role == CTL_LEASE ? "lease"
					     : "read-only");
		append(c, k, greet, strlen(greet));
		flush_client(c, k);
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int has_work(const struct client *k)
{
	return k->fd >= 0 && queued(k) <= CTL_BACKLOG &&
	       (k->roff < k->rlen || k->readable);
}

void ctl_run(struct ctl *c, uint64_t now_ms)
{
	struct epoll_event evs[64];
	uint64_t t0 = mono_us(), kicks;
	unsigned served = 0, j, idle = 0;
	int n, i;

	c->now_ms = now_ms;
	n = epoll_wait(c->ep, evs, 64, 0);
	/* events past the turn's time stay pending (level-triggered): they
	 * come back next turn */
	for (i = 0; i < n && mono_us() - t0 < CTL_TURN_US; i++) {
		uint32_t id = evs[i].data.u32;
		struct client *k;

		if (id == LISTENER) {
			accept_clients(c);
			continue;
		}
		if (id == KICK) {
			if (read(c->kick, &kicks, sizeof(kicks)) < 0) {
				/* not kicked after all */
			}
			continue;
		}
		k = &c->cl[id - 1];
		if (k->fd == -1)
			continue; /* closed by an earlier event */
		if (evs[i].events & EPOLLOUT)
			flush_client(c, k);
		if (k->fd >= 0 &&
		    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			k->readable = 1;
	}
	/* round robin, one request per client at a time, within the turn's
	 * budget: the packets come first */
	for (j = 0; idle < c->o.max_clients && served < CTL_TURN_REQUESTS &&
		    mono_us() - t0 < CTL_TURN_US;
	     j++) {
		struct client *k = &c->cl[(c->rr + j) % c->o.max_clients];

		if (!has_work(k)) {
			idle++;
			continue;
		}
		idle = 0;
		if (k->roff == k->rlen) {
			k->readable = 0;
			fill(c, k);
		}
		if (k->fd >= 0 && consume(c, k))
			served++;
		if (k->fd != -1)
			flush_client(c, k);
	}
	c->rr = (c->rr + j) % c->o.max_clients;
	/* requests left in a buffer: come back next turn */
	for (j = 0; j < c->o.max_clients; j++) {
		if (c->cl[j].fd >= 0 && c->cl[j].roff < c->cl[j].rlen &&
		    queued(&c->cl[j]) <= CTL_BACKLOG) {
			kicks = 1;
			if (write(c->kick, &kicks, sizeof(kicks)) < 0) {
				/* already kicked */
			}
			break;
		}
	}
}

void ctl_tick(struct ctl *c, uint64_t now_ms)
{
	unsigned i;

	c->now_ms = now_ms;
	for (i = 0; i < c->o.max_clients; i++)
		if (c->slot[i].used &&
		    c->slot[i].last_ms + c->o.idle_ms < now_ms)
			drop_client(c, &c->cl[i], &c->st.closed_idle);
}

void ctl_get_stats(const struct ctl *c, struct ctl_stats *s)
{
	unsigned i;

	*s = c->st;
	s->clients = 0;
	for (i = 0; i < c->o.max_clients; i++)
		s->clients += c->cl[i].fd != -1;
}

int ctl_fd(const struct ctl *c)
{
	return c->ep;
}

/* An existing socket file: in use (someone accepts) or stale. */
static int in_use(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return 0;
	r = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
	close(fd);
	return r;
}

/* The socket's directory, opened (no link followed) in *dfd. Made if
 * missing: mode 0750, owner root, the socket's group (its members must
 * reach the socket). One that exists must be root's and writable by
 * nobody else, or a user could put a link where the socket goes. */
static int socket_dir(const struct ctl_opts *o, char *dir, size_t len, int *dfd,
		      char *err, size_t errlen)
{
	char *slash;

	snprintf(dir, len, "%s", o->path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	*dfd = safedir_open(dir, 0750, o->group, "control socket directory",
			    "the socket", "--ctl", err, errlen);
	return *dfd < 0 ? -1 : 0;
}

struct ctl *ctl_open(const struct ctl_opts *o, ctl_fn fn, void *ctx, char *err,
		     size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *name;
	struct sockaddr_un a;
	struct epoll_event ev;
	struct stat sb;
	mode_t old;
	unsigned i;
	int dfd = -1;

	if (!c || !o->max_clients) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		free(c);
		return NULL;
	}
	c->o = *o;
	c->fn = fn;
	c->ctx = ctx;
	c->lfd = c->ep = c->kick = -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(o->path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s",
			 o->path);
		goto fail;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", o->path);
	snprintf(c->path, sizeof(c->path), "%s", o->path);
	c->cl = calloc(o->max_clients, sizeof(*c->cl));
	c->slot = calloc(o->max_clients, sizeof(*c->slot));
	ctl_limits_default(&c->lim, o->max_clients);
	if (!c->cl || !c->slot) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto fail;
	}
	for (i = 0; i < o->max_clients; i++)
		c->cl[i].fd = -1;
	if (socket_dir(o, dir, sizeof(dir), &dfd, err, errlen) != 0)
		goto fail;
	name = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen,
				 "%s exists and is not a socket: not replaced",
				 o->path);
			goto fail;
		}
		if (in_use(&a)) {
			snprintf(err, errlen,
				 "%s is in use (another skyfenced?)", o->path);
			goto fail;
		}
		unlinkat(dfd, name, 0);
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* never, not even for an instant, a socket others may connect to */
	old = umask(0177);
	if (bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		umask(old);
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	umask(old);
	/* the directory is ours and nobody else may write in it (checked
	 * above), so the name is still our socket: group and mode set
	 * through the directory, without following a link (no chown when
	 * the group is already right: the unit's system call filter has
	 * none) */
	if ((fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	     (sb.st_gid != o->group && fchownat(dfd, name, (uid_t)-1, o->group,
						AT_SYMLINK_NOFOLLOW) < 0)) ||
	    fchmodat(dfd, name, 0660, 0) < 0 || listen(c->lfd, 128) < 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		unlinkat(dfd, name, 0);
		goto fail;
	}
	close(dfd);
	dfd = -1;
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	c->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u32 = LISTENER;
	if (c->ep < 0 || c->kick < 0 ||
	    epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		unlink(o->path);
		goto fail;
	}
	ev.data.u32 = KICK;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->kick, &ev) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		unlink(o->path);
		goto fail;
	}
	return c;
fail:
	if (dfd >= 0)
		close(dfd);
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->ep >= 0)
		close(c->ep);
	if (c->kick >= 0)
		close(c->kick);
	free(c->cl);
	free(c->slot);
	free(c);
	return NULL;
}

void ctl_close(struct ctl *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->o.max_clients; i++) {
		if (c->cl[i].fd != -1) {
			flush_client(c, &c->cl[i]);
			if (c->cl[i].fd != -1)
				drop_client(c, &c->cl[i], NULL);
		}
	}
	close(c->lfd);
	close(c->ep);
	close(c->kick);
	unlink(c->path);
	free(c->cl);
	free(c->slot);
	free(c);
}
