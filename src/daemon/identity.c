/* identity.c - who is behind an address, kept by the control thread
 * (identity.h). */
#include "daemon/identity.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/lpm.h"
#include "core/pkt.h"
#include "daemon/change.h"
#include "daemon/daemon_int.h"
#include "daemon/runtime.h"
#include "daemon/worker.h"
#include "engine/engine.h"
#include "kernel/ct.h"
#include "identity/clients.h"
#include "identity/idtab.h"
#include "identity/ldapgrp.h"
#include "identity/radius.h"
#include "sys/hostport.h"
#include "sys/log.h"

#define RADIUS_BATCH 256 /* datagrams read per turn of the loop */

struct identity {
	int fd;	 /* the RADIUS socket; -1: none */
	int tfd; /* the publish timer */
	struct radius_clients *clients;
	struct ldapgrp *ldap;
	struct idtab *tab;
	uint64_t published_ms;
	int armed;
	/* the state file: the table's generation saved, and its refreshes
	 * (Interim-Updates that changed nothing) saved */
	uint64_t saved_gen, saved_refreshes, saved_ms;
	struct identity_stats st;
	struct log_limit refused_limit;
};

static const char *const idr_names[IDR_MAX] = {
	"unknown_client", "bad_authenticator", "malformed",
	"not_accounting", "overflow",
};

const char *identity_refusal_name(int why)
{
	return why >= 0 && why < IDR_MAX ? idr_names[why] : "?";
}

static int enabled(const struct daemon_opts *o)
{
	return o->radius_listen || o->ldap_uri;
}

static int open_socket(struct identity *id, const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd;

	if (hostport_parse(listen, &ss, &sl) != 0) {
		log_warnx("--radius-listen %s: not ADDR:PORT ([ADDR]:PORT for "
			  "IPv6)",
			  listen);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("--radius-listen %s: socket (under systemd, allow "
			 "AF_INET and AF_INET6: skyfenced(8))",
			 listen);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the management address may come up after skyfenced (a gateway's
	 * boot): bound all the same, it receives once it is there */
	if (ss.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	/* a burst of accounting (a NAS's reboot, a flood) waits here; what
	 * does not fit is lost by the kernel, and counted (SO_RXQ_OVFL) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 },
		       sizeof(int)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4 << 20 },
			   sizeof(int));
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0)
		log_warn("--radius-listen: SO_RXQ_OVFL (datagrams the kernel "
			 "drops will not be counted)");
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		log_warn("--radius-listen %s: bind (a port below 1024 needs "
			 "skyfenced started as root)",
			 listen);
		close(fd);
		return -1;
	}
	id->fd = fd;
	return 0;
}

int identity_open_early(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	struct identity *id;
	char err[512];

	if (!enabled(o)) {
		if (o->radius_clients)
			log_warnx("--radius-clients without --radius-listen: "
				  "no accounting is received");
		return 0;
	}
	if (o->radius_listen && !o->radius_clients) {
		log_warnx("--radius-listen needs --radius-clients FILE: the "
			  "senders accepted, with their secrets");
		return -1;
	}
	id = calloc(1, sizeof(*id));
	if (!id) {
		log_warnx("out of memory");
		return -1;
	}
	id->fd = id->tfd = -1;
	id->refused_limit = (struct log_limit)LOG_LIMIT_INIT(5, 60000);
	d->ident = id;
	if (o->radius_listen) {
		id->clients = radius_clients_load(o->radius_clients, err,
						  sizeof(err));
		if (!id->clients) {
			log_warnx("--radius-clients %s", err);
			return -1;
		}
		if (open_socket(id, o->radius_listen) != 0)
			return -1;
	}
	if (o->ldap_uri && !o->ldap_base) {
		log_warnx("--ldap-uri needs --ldap-base DN");
		return -1;
	}
	id->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (id->tfd < 0) {
		log_warn("timerfd");
		return -1;
	}
	id->st.enabled = 1;
	return 0;
}

int identity_start_ldap(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	struct identity *id = d->ident;
	struct ldapgrp_opts lo = {
		.uri = o->ldap_uri,
		.base = o->ldap_base,
		.user_filter = o->ldap_user_filter,
		.group_filter = o->ldap_group_filter,
		.group_attr = o->ldap_group_attr,
		.bind_dn = o->ldap_bind_dn,
		.bind_pw_file = o->ldap_bind_pw_file,
		.lifetime_s = o->ldap_lifetime_s,
	};
	char err[512];

	if (!id || !o->ldap_uri)
		return 0;
	id->ldap = ldapgrp_open(&lo, err, sizeof(err));
	if (!id->ldap) {
		log_warnx("--ldap-uri %s: %s%s", o->ldap_uri, err,
			  o->run_user ? " (skyfenced runs as --user: the "
					"password file must be readable by it)"
				      : "");
		return -1;
	}
	id->st.ldap_on = 1;
	return 0;
}

int identity_start(struct daemon *d)
{
	struct identity *id = d->ident;
	struct idtab_opts to;
	char err[256];
	uint64_t seed;
	int n;

	if (!id)
		return 0;
	to.max = d->o->identity_max;
	to.lifetime_s = d->o->identity_lifetime_s;
	if (runtime_seed(&seed) != 0) {
		log_warn("getrandom (the identity table's hash seed)");
		return -1;
	}
	id->tab = idtab_create(&to, seed);
	if (!id->tab) {
		log_warnx("out of memory");
		return -1;
	}
	/* the directory's thread starts later (after the fork) */
	idtab_want_groups(id->tab, d->o->ldap_uri != NULL);
	if (d->run.state_dfd >= 0) {
		n = idtab_load(id->tab, d->run.state_dfd, IDENTITY_FILE,
			       d->now_ms, runtime_clock_ms(1), err,
			       sizeof(err));
		if (n < 0)
			log_warnx("state: %.300s/%s; the identity table "
				  "starts empty",
				  d->o->state_dir, err);
		else if (n > 0)
			log_info("identity: %d entries read back from %s/%s", n,
				 d->o->state_dir, IDENTITY_FILE);
	}
	d->run.ids = idtab_snapshot(id->tab);
	if (!d->run.ids) {
		log_warnx("out of memory");
		return -1;
	}
	engine_set_identity(d->run.eng, d->run.ids);
	return 0;
}

const struct id_snap *identity_snap(const struct daemon *d)
{
	return d->run.ids;
}

int identity_radius_fd(const struct daemon *d)
{
	return d->ident ? d->ident->fd : -1;
}

int identity_ldap_fd(const struct daemon *d)
{
	return d->ident && d->ident->ldap ? ldapgrp_fd(d->ident->ldap) : -1;
}

int identity_timer_fd(const struct daemon *d)
{
	return d->ident ? d->ident->tfd : -1;
}

/* ---- publishing: a change like any other ---- */

static void publish(struct daemon *d, long uid)
{
	struct identity *id = d->ident;
	char what[1200], err[256];
	struct change c = { .kind = CHANGE_IDENTITY,
			    .origin = uid >= 0 ? CHANGE_CLIENT : CHANGE_SOURCE,
			    .uid = uid,
			    .what = what };

	idtab_changes(id->tab, what, sizeof(what));
	c.snap = idtab_snapshot(id->tab);
	if (!c.snap) {
		/* the table stays dirty: the next turn tries again */
		log_limited(&id->refused_limit, d->now_ms,
			    "identity: out of memory; the workers keep the "
			    "last table");
		return;
	}
	id->published_ms = d->now_ms;
	id->st.published++;
	if (change_apply(d, &c, NULL, NULL, err, sizeof(err)) != 0)
		log_warnx("identity: %s", err);
}

/* Publishes now, or arms the timer for when IDENTITY_PUBLISH_MS has
 * passed since the last. */
static void schedule(struct daemon *d, long uid)
{
	struct identity *id = d->ident;
	uint64_t due = id->published_ms + IDENTITY_PUBLISH_MS;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (!idtab_dirty(id->tab))
		return;
	if (d->now_ms >= due || !id->published_ms) {
		publish(d, uid);
		return;
	}
	if (id->armed)
		return;
	its.it_value.tv_sec = (time_t)((due - d->now_ms) / 1000);
	its.it_value.tv_nsec = (long)((due - d->now_ms) % 1000) * 1000000L;
	if (timerfd_settime(id->tfd, 0, &its, NULL) == 0)
		id->armed = 1;
	else
		publish(d, uid);
}

void identity_on_timer(struct daemon *d)
{
	struct identity *id = d->ident;
	uint64_t x;

	if (read(id->tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		log_warn("identity timer");
	id->armed = 0;
	if (idtab_dirty(id->tab))
		publish(d, -1);
}

/* ---- RADIUS ---- */

static void refuse(struct daemon *d, int why, const char *from,
		   const char *detail)
{
	struct identity *id = d->ident;

	id->st.refused[why]++;
	log_limited(&id->refused_limit, d->now_ms,
		    "radius: %s from %s refused: %s", detail, from,
		    identity_refusal_name(why));
}

/* The groups the message names, packed, in @out. */
static int groups_of(const struct radius_acct *m, int filter_id, char *out,
		     size_t len)
{
	unsigned i, n = filter_id ? m->n_filter : m->n_class;
	size_t o = 0;

	for (i = 0; i < n && i < ID_MAX_GROUPS; i++) {
		const char *g = filter_id ? m->filter[i] : m->class_[i];
		size_t gl = strlen(g);

		if (!gl || o + gl + 2 > len)
			continue;
		memcpy(out + o, g, gl + 1);
		o += gl + 1;
	}
	out[o] = '\0';
	return n > 0;
}

/* The directory's groups packed ("a\0b\0\0") into @out, which holds
 * ID_MAX_GROUPS of ID_GROUP_MAX bytes: the first that fit, a longer one
 * left out (RADIUS's limit). */
static const char *pack(const char *const *groups, unsigned n,
			char out[ID_MAX_GROUPS * (ID_GROUP_MAX + 1) + 1])
{
	size_t o = 0;
	unsigned i;

	for (i = 0; i < n && i < ID_MAX_GROUPS; i++) {
		size_t gl = strlen(groups[i]);

		if (gl > ID_GROUP_MAX)
			continue;
		memcpy(out + o, groups[i], gl + 1);
		o += gl + 1;
	}
	out[o] = '\0';
	return out;
}

/* What the table says to the directory's answer or to a message whose
 * groups it must find. */
static void ask_directory(struct daemon *d, const char *user)
{
	struct identity *id = d->ident;
	const char *const *groups = NULL;
	unsigned n = 0;
	char packed[ID_MAX_GROUPS * (ID_GROUP_MAX + 1) + 1];
	int r;

	if (!id->ldap || !user[0])
		return;
	r = ldapgrp_get(id->ldap, user, &groups, &n);
	id->st.ldap_asked++;
	if (r == 1)
		idtab_set_groups(id->tab, user, pack(groups, n, packed),
				 runtime_clock_ms(1));
}

/* Applies @m; returns idtab_account's result (0 for a message that
 * binds nothing). */
static int on_message(struct daemon *d, const struct radius_acct *m,
		      const char *nas)
{
	struct identity *id = d->ident;
	char groups[ID_MAX_GROUPS * (RADIUS_STR + 1) + 1];
	char key[64 + 2 * RADIUS_STR];
	struct id_acct a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.status = m->status == RADIUS_START	 ? ID_START
		   : m->status == RADIUS_STOP	 ? ID_STOP
		   : m->status == RADIUS_INTERIM ? ID_INTERIM
						 : 0;
	/* sessions are one NAS's, within the sender's: by the NAS's name,
	 * else its address (a proxy forwards for many), else the sender
	 * alone; a sender speaks for its own NASes only (its Accounting-On
	 * ends no other sender's sessions) */
	snprintf(key, sizeof(key), "%s|%s", nas,
		 m->nas[0]	  ? m->nas
		 : m->nas_addr[0] ? m->nas_addr
				  : "-");
	a.nas = key;
	a.has_ts = m->has_event_ts;
	a.ts = m->event_ts;
	if (m->status == RADIUS_ACCT_ON || m->status == RADIUS_ACCT_OFF) {
		/* the NAS (re)started: its sessions until then end */
		rc = idtab_nas_reset(id->tab, &a, d->now_ms,
				     runtime_clock_ms(1));
		if (rc < 0)
			log_limited(&id->refused_limit, d->now_ms,
				    "radius: Accounting-On/Off of %s refused: "
				    "%s",
				    a.nas, id_refusal_name(-1 - rc));
		return rc;
	}
	if (!a.status)
		return 0; /* other status types: answered, no binding */
	a.session = m->session;
	a.user = m->user;
	a.mac = m->mac;
	a.has_ip4 = m->has_ip4;
	memcpy(a.ip4, m->ip4, 4);
	a.has_ip6 = m->has_ip6;
	memcpy(a.ip6, m->ip6, 16);
	a.has_prefix6 = m->has_prefix6;
	memcpy(a.prefix6, m->prefix6, 16);
	a.prefix6_len = m->prefix6_len;
	a.groups_known =
		groups_of(m, d->o->radius_filter_id, groups, sizeof(groups));
	a.groups = groups;
	rc = idtab_account(id->tab, &a, d->now_ms, runtime_clock_ms(1));
	if (rc < 0)
		log_limited(&id->refused_limit, d->now_ms,
			    "radius: %s for session %s of %s refused: %s",
			    m->status == RADIUS_STOP ? "Stop" : "Start/Interim",
			    m->session, a.nas, id_refusal_name(-1 - rc));
	if (rc >= 0 && a.status != ID_STOP && !a.groups_known)
		ask_directory(d, m->user);
	return rc;
}

/* One datagram: checked, applied, answered. */
static void on_datagram(struct daemon *d, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *ss, socklen_t sl)
{
	struct identity *id = d->ident;
	uint8_t addr[16], resp[RADIUS_HDR_LEN + RADIUS_PROXY_STATE_MAX];
	const uint8_t *secret;
	struct radius_acct m;
	char from[64];
	size_t slen, rl;
	int rc;

	memset(addr, 0, sizeof(addr));
	if (ss->ss_family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((const struct sockaddr_in *)ss)->sin_addr,
		       4);
	} else {
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
	pkt_addr_format(addr, 0, from, sizeof(from));
	id->st.received++;
	secret = radius_clients_secret(id->clients, addr, &slen);
	if (!secret) {
		refuse(d, IDR_UNKNOWN_CLIENT, from, "a datagram");
		return;
	}
	rc = radius_parse_acct(buf, len, secret, slen, &m);
	if (rc != RADIUS_OK) {
		refuse(d,
		       rc == RADIUS_ERR_AUTH   ? IDR_BAD_AUTH
		       : rc == RADIUS_ERR_CODE ? IDR_NOT_ACCOUNTING
					       : IDR_MALFORMED,
		       from, radius_strerror(rc));
		return;
	}
	/* answered even when refused (stale, replayed, a full table: all
	 * counted): a proxy's queue (FreeRADIUS's detail reader) sends one
	 * record at a time, and one never answered would hold back every
	 * record after it */
	on_message(d, &m, from);
	rl = radius_acct_response(&m, secret, slen, resp, sizeof(resp));
	if (rl && sendto(id->fd, resp, rl, MSG_DONTWAIT,
			 (const struct sockaddr *)ss, sl) == (ssize_t)rl)
		id->st.answered++;
}

void identity_on_radius(struct daemon *d)
{
	struct identity *id = d->ident;
	uint8_t buf[4097];
	unsigned i;

	for (i = 0; i < RADIUS_BATCH; i++) {
		struct sockaddr_storage ss;
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(uint32_t))];
		} cm;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { &ss, sizeof(ss), &iov, 1,
				     &cm, sizeof(cm), 0 };
		struct cmsghdr *c;
		ssize_t n = recvmsg(id->fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("radius: recvmsg");
			break;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;

				memcpy(&drops, CMSG_DATA(c), sizeof(drops));
				id->st.refused[IDR_OVERFLOW] = drops;
			}
		on_datagram(d, buf, (size_t)n, &ss, mh.msg_namelen);
	}
	schedule(d, -1);
}

/* ---- the directory ---- */

static void on_answer(void *ctx, const char *user, const char *const *groups,
		      unsigned n, const char *error)
{
	struct daemon *d = ctx;
	char packed[ID_MAX_GROUPS * (ID_GROUP_MAX + 1) + 1];

	if (error) {
		log_limited(&d->ident->refused_limit, d->now_ms,
			    "ldap: the groups of %s: %s", user, error);
		return;
	}
	idtab_set_groups(d->ident->tab, user, pack(groups, n, packed),
			 runtime_clock_ms(1));
}

void identity_on_ldap(struct daemon *d)
{
	ldapgrp_drain(d->ident->ldap, on_answer, d);
	schedule(d, -1);
}

/* ---- leases, ticks, stats ---- */

int identity_lease(struct daemon *d, long uid, const char *addr,
		   const char *mac, unsigned seconds, int add, char *err,
		   size_t errlen)
{
	struct identity *id = d->ident;
	struct lpm_prefix p;
	char m[18], e[128];
	int rc;

	if (!id) {
		snprintf(err, errlen,
			 "no identity source is configured (--radius-listen, "
			 "--ldap-uri): a lease would bind nobody");
		return -1;
	}
	if (lpm_prefix_parse(addr, &p, NULL, e, sizeof(e)) != 0 ||
	    p.plen != 128) {
		snprintf(err, errlen, "'%s' is not an address", addr);
		return -1;
	}
	m[0] = '\0';
	if (mac && mac[0] && radius_mac_normalise(mac, strlen(mac), m) != 0) {
		snprintf(err, errlen, "'%s' is not a MAC address", mac);
		return -1;
	}
	if (add && !m[0]) {
		snprintf(err, errlen, "a lease needs the MAC it was given to");
		return -1;
	}
	rc = idtab_lease(id->tab, p.addr, m, seconds, add, d->now_ms,
			 runtime_clock_ms(1));
	if (rc < 0) {
		snprintf(err, errlen, "lease refused: %s",
			 id_refusal_name(-1 - rc));
		return -1;
	}
	id->st.lease_updates++;
	schedule(d, uid);
	return 0;
}

/* Whether the state file is behind: a change, saved within a second; only
 * refreshes (the sessions' last message), within a minute. */
static int save_due(const struct identity *id, uint64_t now_ms)
{
	struct idtab_stats st;

	if (idtab_generation(id->tab) != id->saved_gen)
		return now_ms >= id->saved_ms + 1000;
	idtab_get_stats(id->tab, &st);
	return st.unchanged != id->saved_refreshes &&
	       now_ms >= id->saved_ms + 60000;
}

static void save(struct daemon *d)
{
	struct identity *id = d->ident;
	struct idtab_stats st;
	char err[256];

	idtab_get_stats(id->tab, &st);
	if (idtab_save(id->tab, d->run.state_dfd, IDENTITY_FILE, d->now_ms,
		       runtime_clock_ms(1), err, sizeof(err)) != 0) {
		log_limited(&id->refused_limit, d->now_ms,
			    "state: %.300s/%s: the identity table is not saved",
			    d->o->state_dir, err);
	} else {
		id->saved_gen = idtab_generation(id->tab);
		id->saved_refreshes = st.unchanged;
	}
	id->saved_ms = d->now_ms;
}

void identity_tick(struct daemon *d)
{
	struct identity *id = d->ident;

	if (!id || !id->tab)
		return;
	if (idtab_expire(id->tab, d->now_ms, runtime_clock_ms(1)) ||
	    idtab_dirty(id->tab))
		schedule(d, -1);
	if (d->run.state_dfd >= 0 && save_due(id, d->now_ms))
		save(d);
}

void identity_get_stats(const struct daemon *d, struct identity_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!d->ident)
		return;
	*s = d->ident->st;
	s->addresses = id_snap_count(d->run.ids);
	if (d->ident->ldap) {
		struct ldapgrp_stats ls;

		ldapgrp_get_stats(d->ident->ldap, &ls);
		s->ldap_connected = ls.connected;
		snprintf(s->ldap_error, sizeof(s->ldap_error), "%s",
			 ls.last_error);
	}
}

void identity_table_stats(const struct daemon *d, struct idtab_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (d->ident && d->ident->tab)
		idtab_get_stats(d->ident->tab, s);
}

void identity_close(struct daemon *d)
{
	struct identity *id = d->ident;
	char err[256];

	if (!id)
		return;
	if (id->tab && d->run.state_dfd >= 0 &&
	    (idtab_generation(id->tab) != id->saved_gen ||
	     save_due(id, UINT64_MAX)) &&
	    idtab_save(id->tab, d->run.state_dfd, IDENTITY_FILE, d->now_ms,
		       runtime_clock_ms(1), err, sizeof(err)) != 0)
		log_warnx("state: %.300s/%s: the identity table is not saved",
			  d->o->state_dir, err);
	if (d->run.eng)
		engine_set_identity(d->run.eng, NULL);
	id_snap_free(d->run.ids);
	d->run.ids = NULL;
	if (id->ldap)
		ldapgrp_close(id->ldap);
	radius_clients_free(id->clients);
	if (id->fd >= 0)
		close(id->fd);
	if (id->tfd >= 0)
		close(id->tfd);
	idtab_free(id->tab);
	free(id);
	d->ident = NULL;
}
