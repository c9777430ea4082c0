/* peer.c - an HA pair's runtime in step (peer.h): the socket, the key
 * file, and what a peer's message changes here. The messages themselves,
 * their MAC and the replay rules are peermsg.c's. A dedicated sync link
 * carries them; the key keeps anything else on it from steering the kill
 * switch. */
#include "ha/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "daemon/change.h"
#include "daemon/daemon_int.h"
#include "audit/audit.h"
#include "sys/hostport.h"
#include "audit/auditlog.h"
#include "sys/log.h"

#define CHANGE_RESENDS 3

struct peer {
	struct sockaddr_storage sa;
	socklen_t salen;
	struct peer_info info;
	struct peermsg_rx rx; /* the replay rule's state, the refusals */
	uint64_t last_change; /* the last CHANGE id taken */
};

struct peers {
	int fd;
	unsigned char key[256];
	size_t keylen;
	struct peer p[PEER_MAX];
	unsigned n;
	uint64_t seq;
	uint64_t ks_ms; /* our kill switch's version: when it was set */
	uint64_t change_id;
	/* the last change, resent CHANGE_RESENDS times */
	char change[PEERMSG_CHANGE_MAX + 1];
	unsigned change_left;
	uint64_t bad; /* datagrams from an address that is no peer */
	struct log_limit send_log;
};

/* the peers' messages carry wall-clock times (the audit's clock); when a
 * peer was last heard is the control thread's monotonic clock, d->now_ms,
 * what status and the metrics compare it with */
static uint64_t wall_ms(void)
{
	return auditlog_now_ms();
}

/* The key: a regular file only its owner, root or us, may read; read
 * whole. */
static int read_key(struct peers *p, const char *path, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "--peer-key %s: %s%s", path,
			 strerror(errno),
			 errno == EACCES ? " (it is read as skyfenced's user: "
					   "chown it to that user, chmod 0600)"
					 : "");
		return -1;
	}
	/* root's or the reader's own: no other user may have written it */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(
			err, errlen,
			"--peer-key %s: must be a regular file of root's (or skyfenced's user's) no group or other may read (chmod 0600)",
			path);
		close(fd);
		return -1;
	}
	n = read(fd, p->key, sizeof(p->key));
	close(fd);
	if (n < PEER_KEY_MIN) {
		snprintf(
			err, errlen,
			"--peer-key %s: at least %d bytes (head -c 32 /dev/urandom | base64 > FILE)",
			path, PEER_KEY_MIN);
		return -1;
	}
	p->keylen = (size_t)n;
	return 0;
}

struct peers *peers_open(const char *listen, const char *const *peer_addrs,
			 unsigned n, const char *key_path, char *err,
			 size_t errlen)
{
	struct peers *p = calloc(1, sizeof(*p));
	struct sockaddr_storage sa;
	socklen_t len;
	unsigned i;

	if (!p) {
		snprintf(err, errlen, "peers: %s", strerror(ENOMEM));
		return NULL;
	}
	p->fd = -1;
	p->send_log = (struct log_limit)LOG_LIMIT_INIT(1, 60000);
	if (n == 0 || n > PEER_MAX) {
		snprintf(err, errlen, "--peer: 1 to %d peers", PEER_MAX);
		goto fail;
	}
	if (!key_path) {
		snprintf(err, errlen, "--peer needs --peer-key FILE");
		goto fail;
	}
	if (read_key(p, key_path, err, errlen) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		struct peer *q = &p->p[i];

		if (hostport_parse(peer_addrs[i], &q->sa, &q->salen) != 0) {
			snprintf(err, errlen,
				 "--peer %s: not ADDR:PORT or [ADDR6]:PORT",
				 peer_addrs[i]);
			goto fail;
		}
		snprintf(q->info.addr, sizeof(q->info.addr), "%s",
			 peer_addrs[i]);
	}
	p->n = n;
	if (!listen || hostport_parse(listen, &sa, &len) != 0) {
		snprintf(err, errlen,
			 "--peer-listen %s: not ADDR:PORT or [ADDR6]:PORT",
			 listen ? listen : "(none)");
		goto fail;
	}
	p->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&sa, len) != 0) {
		snprintf(err, errlen, "--peer-listen %s: %s", listen,
			 strerror(errno));
		goto fail;
	}
	p->seq = wall_ms() * 1000;
	return p;
fail:
	peers_close(p);
	return NULL;
}

void peers_close(struct peers *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	free(p);
}

int peers_fd(const struct peers *p)
{
	return p->fd;
}

void peers_send_state(struct peers *p, struct daemon *d)
{
	struct peermsg m = { 0 };
	char msg[PEERMSG_MAX];
	unsigned i;
	int n;

	if (!p)
		return;
	if (++p->seq < wall_ms() * 1000)
		p->seq = wall_ms() * 1000;
	m.node = d->audit.node;
	m.seq = p->seq;
	m.wall_ms = wall_ms();
	m.digest = d->run.digest;
	m.ks_ms = p->ks_ms;
	m.killswitch = d->run.pol->killswitch;
	if (p->change_left) {
		m.change = p->change;
		m.change_id = p->change_id;
		p->change_left--;
	}
	n = peermsg_encode(msg, sizeof(msg), &m, p->key, p->keylen);
	if (n < 0) {
		log_limited(&p->send_log, d->now_ms,
			    "peers: state not sent: %s", strerror(-n));
		return;
	}
	for (i = 0; i < p->n; i++)
		if (sendto(p->fd, msg, (size_t)n, 0,
			   (struct sockaddr *)&p->p[i].sa, p->p[i].salen) < 0)
			log_debug("peer %s: %s", p->p[i].info.addr,
				  strerror(errno));
}

void peers_forward_change(struct peers *p, struct daemon *d, const char *what)
{
	int rc;

	if (!p)
		return;
	/* cut short or split, it would be another change on the peer */
	rc = peermsg_change_valid(what);
	if (rc != 0) {
		log_warnx("peers: change not forwarded (%s): the peers will "
			  "show drift",
			  strerror(-rc));
		return;
	}
	snprintf(p->change, sizeof(p->change), "%s", what);
	p->change_id = p->seq + 1;
	p->change_left = CHANGE_RESENDS;
	peers_send_state(p, d);
}

void peers_changed(void *ctx, const struct change *c)
{
	struct daemon *d = ctx;

	if (c->origin == CHANGE_PEER)
		return; /* the peer's own: not sent back */
	if (c->kind == CHANGE_EDIT) {
		peers_forward_change(d->peers, d, c->what);
	} else if (c->kind == CHANGE_KILLSWITCH) {
		/* newer than theirs, and sent at once */
		peers_killswitch_changed(d->peers);
		peers_send_state(d->peers, d);
	}
}

void peers_killswitch_changed(struct peers *p)
{
	if (p)
		p->ks_ms = wall_ms();
}

static struct peer *peer_of(struct peers *p, const struct sockaddr_storage *sa)
{
	unsigned i;

	for (i = 0; i < p->n; i++) {
		const struct sockaddr_storage *q = &p->p[i].sa;

		if (q->ss_family != sa->ss_family)
			continue;
		if (sa->ss_family == AF_INET &&
		    !memcmp(&((const struct sockaddr_in *)q)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4))
			return &p->p[i];
		if (sa->ss_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)q)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16))
			return &p->p[i];
	}
	return NULL;
}

/* The union of two kill switches (both unversioned: "on" wins). */
static void ks_union(const char *a, const char *b, char *out, size_t len)
{
	char tmp[256], *save = NULL, *w;

	snprintf(out, len, "%s", a);
	snprintf(tmp, sizeof(tmp), "%s", b);
	for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!policy_word_listed(out, w))
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 out[0] ? " " : "", w);
}

static void converge_killswitch(struct peers *p, struct daemon *d,
				struct peer *q, const char *theirs,
				uint64_t their_ms)
{
	struct change c = { .kind = CHANGE_KILLSWITCH,
			    .origin = CHANGE_PEER,
			    .uid = -1,
			    .node = q->info.node };
	char next[256], err[512];

	if (!strcmp(theirs, d->run.pol->killswitch))
		return;
	if (their_ms > p->ks_ms)
		snprintf(next, sizeof(next), "%s", theirs);
	else if (their_ms == 0 && p->ks_ms == 0)
		ks_union(d->run.pol->killswitch, theirs, next, sizeof(next));
	else
		return; /* ours is newer: the peer takes it from us */
	if (!strcmp(next, d->run.pol->killswitch))
		return;
	c.what = next;
	if (change_apply(d, &c, NULL, NULL, err, sizeof(err)) == 0)
		p->ks_ms = their_ms;
}

static void handle(struct peers *p, struct daemon *d, char *msg, size_t len,
		   const struct sockaddr_storage *from)
{
	struct peer *q = peer_of(p, from);
	struct change c = { .kind = CHANGE_EDIT,
			    .origin = CHANGE_PEER,
			    .uid = -1,
			    .node = q ? q->info.node : NULL };
	struct peermsg m;
	char err[512];

	if (!q) {
		p->bad++;
		return;
	}
	q->rx.own = d->audit.node;
	if (peermsg_receive(&q->rx, msg, len, p->key, p->keylen, wall_ms(),
			    &m) != PEERMSG_OK) {
		q->info.bad_messages++;
		return;
	}
	snprintf(q->info.node, sizeof(q->info.node), "%s", m.node);
	snprintf(q->info.digest, sizeof(q->info.digest), "%s", m.digest);
	q->info.seen_ms = d->now_ms;
	snprintf(q->info.killswitch, sizeof(q->info.killswitch), "%s",
		 m.killswitch);
	converge_killswitch(p, d, q, q->info.killswitch, m.ks_ms);
	if (m.change && m.change_id > q->last_change) {
		/* a change is resent a few times: applied once, by its id */
		q->last_change = m.change_id;
		c.what = m.change;
		if (change_apply(d, &c, NULL, NULL, err, sizeof(err)) == 0)
			q->info.changes_applied++;
		else
			q->info.changes_refused++;
	}
}

void peers_input(struct peers *p, struct daemon *d)
{
	char buf[PEERMSG_MAX];
	unsigned i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		handle(p, d, buf, (size_t)n, &from);
	}
}

uint64_t peers_unknown(const struct peers *p)
{
	return p ? p->bad : 0;
}

unsigned peers_count(const struct peers *p)
{
	return p ? p->n : 0;
}

void peers_get(const struct peers *p, unsigned i, struct peer_info *out)
{
	*out = p->p[i].info;
	memcpy(out->refused, p->p[i].rx.refused, sizeof(out->refused));
}

int peers_in_step(const struct peers *p, const char *our_digest,
		  uint64_t now_ms)
{
	unsigned i;

	for (i = 0; p && i < p->n; i++) {
		const struct peer_info *x = &p->p[i].info;

		if (!x->seen_ms || now_ms - x->seen_ms > PEER_SILENT_MS ||
		    strcmp(x->digest, our_digest) != 0)
			return 0;
	}
	return 1;
}
