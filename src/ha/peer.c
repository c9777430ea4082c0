/* peer.c - an HA pair's runtime in step (peer.h). The messages are text
 * in one UDP datagram each, authenticated with OpenSSL's HMAC-SHA256:
 *
 *   SFPEER1 NODE SEQ WALL_MS DIGEST KS_MS
 *   KS APP... | KS -
 *   [CHANGE ID WHAT]
 *   MAC HEX
 *
 * The MAC covers every byte before "MAC ". A dedicated sync link carries
 * them; the key keeps anything else on it from steering the kill switch. */
#include "ha/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "daemon/daemon_int.h"
#include "audit/audit.h"
#include "sys/hostport.h"
#include "audit/auditlog.h"
#include "sys/log.h"

#define MSG_MAX 2048
#define CHANGE_RESENDS 3

struct peer {
	struct sockaddr_storage sa;
	socklen_t salen;
	struct peer_info info;
	uint64_t last_seq, last_change;
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
	char change[1024]; /* the last change, resent CHANGE_RESENDS times */
	unsigned change_left;
	uint64_t bad; /* datagrams from an address that is no peer */
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

static void mac_hex(const struct peers *p, const char *msg, size_t len,
		    char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!HMAC(EVP_sha256(), p->key, (int)p->keylen,
		  (const unsigned char *)msg, len, md, &mdlen) ||
	    mdlen != 32) {
		/* no MAC: nothing of ours verifies, nothing of theirs either */
		memset(hex, 'x', 64);
		hex[64] = '\0';
		return;
	}
	audit_hex(md, 32, hex);
}

void peers_send_state(struct peers *p, struct daemon *d)
{
	char msg[MSG_MAX], mac[65];
	size_t o;
	unsigned i;
	int n;

	if (!p)
		return;
	if (++p->seq < wall_ms() * 1000)
		p->seq = wall_ms() * 1000;
	n = snprintf(msg, sizeof(msg),
		     "SFPEER1 %s %" PRIu64 " %" PRIu64 " %s %" PRIu64
		     "\nKS %s\n",
		     d->node, p->seq, wall_ms(), d->pol_digest, p->ks_ms,
		     d->pol->killswitch[0] ? d->pol->killswitch : "-");
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	o = (size_t)n;
	if (p->change_left) {
		n = snprintf(msg + o, sizeof(msg) - o,
			     "CHANGE %" PRIu64 " %s\n", p->change_id,
			     p->change);
		if (n > 0 && (size_t)n < sizeof(msg) - o)
			o += (size_t)n;
		p->change_left--;
	}
	mac_hex(p, msg, o, mac);
	n = snprintf(msg + o, sizeof(msg) - o, "MAC %s\n", mac);
	if (n < 0 || (size_t)n >= sizeof(msg) - o)
		return;
	o += (size_t)n;
	for (i = 0; i < p->n; i++)
		if (sendto(p->fd, msg, o, 0, (struct sockaddr *)&p->p[i].sa,
			   p->p[i].salen) < 0)
			log_debug("peer %s: %s", p->p[i].info.addr,
				  strerror(errno));
}

void peers_forward_change(struct peers *p, struct daemon *d, const char *what)
{
	if (!p)
		return;
	snprintf(p->change, sizeof(p->change), "%s", what);
	p->change_id = p->seq + 1;
	p->change_left = CHANGE_RESENDS;
	peers_send_state(p, d);
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
	char next[256];

	if (!strcmp(theirs, d->pol->killswitch))
		return;
	if (their_ms > p->ks_ms)
		snprintf(next, sizeof(next), "%s", theirs);
	else if (their_ms == 0 && p->ks_ms == 0)
		ks_union(d->pol->killswitch, theirs, next, sizeof(next));
	else
		return; /* ours is newer: the peer takes it from us */
	if (!strcmp(next, d->pol->killswitch))
		return;
	if (control_peer_killswitch(d, next, q->info.node) == 0)
		p->ks_ms = their_ms;
}

static void handle(struct peers *p, struct daemon *d, char *msg, size_t len,
		   const struct sockaddr_storage *from)
{
	char node[64], digest[65], mac[65], *macl, *ks, *line, *nl;
	uint64_t seq, ts, ks_ms, now = wall_ms();
	struct peer *q = peer_of(p, from);

	msg[len] = '\0';
	macl = strstr(msg, "\nMAC ");
	if (!q) {
		p->bad++;
		return;
	}
	if (!macl) {
		q->info.bad_messages++;
		return;
	}
	macl++;
	mac_hex(p, msg, (size_t)(macl - msg), mac);
	if (strlen(macl) < 4 + 64 || CRYPTO_memcmp(mac, macl + 4, 64) != 0) {
		q->info.bad_messages++;
		return;
	}
	*macl = '\0';
	if (sscanf(msg, "SFPEER1 %63s %" SCNu64 " %" SCNu64 " %64s %" SCNu64,
		   node, &seq, &ts, digest, &ks_ms) != 5 ||
	    seq <= q->last_seq ||
	    (ts > now ? ts - now : now - ts) > PEER_WINDOW_MS) {
		q->info.bad_messages++;
		return;
	}
	q->last_seq = seq;
	snprintf(q->info.node, sizeof(q->info.node), "%s", node);
	snprintf(q->info.digest, sizeof(q->info.digest), "%s", digest);
	q->info.seen_ms = d->now_ms;
	ks = strstr(msg, "\nKS ");
	if (ks) {
		ks += 4;
		nl = strchr(ks, '\n');
		if (nl)
			*nl = '\0';
		snprintf(q->info.killswitch, sizeof(q->info.killswitch), "%s",
			 strcmp(ks, "-") ? ks : "");
		converge_killswitch(p, d, q, q->info.killswitch, ks_ms);
		line = nl ? nl + 1 : NULL;
	} else {
		line = NULL;
	}
	if (line && !strncmp(line, "CHANGE ", 7)) {
		uint64_t id;
		char *what;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		id = strtoull(line + 7, &what, 10);
		if (id > q->last_change && *what == ' ') {
			q->last_change = id;
			if (control_peer_change(d, what + 1, node) == 0)
				q->info.changes_applied++;
			else
				q->info.changes_refused++;
		}
	}
}

void peers_input(struct peers *p, struct daemon *d)
{
	char buf[MSG_MAX + 1];
	unsigned i;

	for (i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->fd, buf, MSG_MAX, 0,
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
