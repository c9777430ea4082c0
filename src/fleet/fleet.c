/* fleet.c - the fleet's store on NATS JetStream KV (fleet.h), through
 * Debian's libnats: its key-value API (watch, compare-and-set by
 * revision, history) is the engine; nothing here is a protocol of our
 * own. */
#include "fleet/fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <nats/nats.h>

#include "sys/secret.h"

struct qent {
	struct qent *next;
	struct fleet_entry e;
};

/* One connection with its credentials, and its bucket. */
struct conn {
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	atomic_int up;	       /* connected now */
	atomic_int closed;     /* libnats' last callback for it has run */
	atomic_int denied;     /* a permissions violation was reported */
	char *user, *password; /* the password wiped at close */
	struct fleet *f;
	pthread_mutex_t kv_lock; /* kv, bound by the first thread asking */
	int kv_lock_made;
};

struct fleet {
	char *urls_text, *bucket, *node;
	const char *urls[FLEET_URLS_MAX];
	int n_urls;
	char *url_copy;
	char *ca, *cert, *key;
	struct conn node_c, admin_c;
	int has_admin;
	int efd;
	pthread_t thread, wthread;
	int started;
	atomic_int stop;
	atomic_int rewatch; /* reconnected: the watch starts again */
	pthread_mutex_t lock;
	/* under lock */
	struct qent *head, *tail;
	unsigned queued;
	char *status_val, *head_val; /* waiting to be written */
	struct fleet_stats st;
	uint64_t last_rev_policy, last_rev_ks; /* given to the caller */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_error(struct fleet *f, const char *what, natsStatus s)
{
	const char *t = nats_GetLastError(NULL);

	pthread_mutex_lock(&f->lock);
	snprintf(f->st.last_error, sizeof(f->st.last_error), "%s: %s%s%s", what,
		 natsStatus_GetText(s), t && *t ? ": " : "", t ? t : "");
	pthread_mutex_unlock(&f->lock);
}

/* ---- the queue of updates ---- */

static void push(struct fleet *f, kvEntry *ke, int from_resync)
{
	struct qent *q;
	const char *key = kvEntry_Key(ke);
	int len = kvEntry_ValueLen(ke);
	kvOperation op = kvEntry_Operation(ke);
	uint64_t rev = kvEntry_Revision(ke);
	int vital = !strcmp(key, FLEET_KEY_POLICY) ||
		    !strcmp(key, FLEET_KEY_KILLSWITCH);
	uint64_t one = 1;

	if (strlen(key) >= FLEET_KEY_MAX || len < 0)
		return;
	/* each revision of the policy and the kill switch goes once, in
	 * order: the watch may give one again after a reconnect, the
	 * resync's reads give the latest again and again. A lower one the
	 * resync read is the bucket's latest all the same: the bucket was
	 * made again (or restored), and the caller is told so (older). */
	int older = 0;
	uint64_t *last = !strcmp(key, FLEET_KEY_POLICY) ? &f->last_rev_policy
			 : !strcmp(key, FLEET_KEY_KILLSWITCH) ? &f->last_rev_ks
							      : NULL;

	/* a node's value is a few lines: a larger one is not a report */
	if (!vital && len > FLEET_NODE_VALUE_MAX) {
		pthread_mutex_lock(&f->lock);
		f->st.dropped++;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (last && rev <= *last) {
		if (!from_resync || rev == *last) {
			pthread_mutex_unlock(&f->lock);
			return;
		}
		older = 1;
	} else if (last) {
		*last = rev;
	}
	/* a node's report may wait for the next one; the policy and the
	 * kill switch are read again at the next resync anyway, but are
	 * never the ones left out */
	if (f->queued >= FLEET_QUEUE_MAX && !vital) {
		f->st.dropped++;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	pthread_mutex_unlock(&f->lock);
	q = calloc(1, sizeof(*q));
	if (!q || !(q->e.val = malloc((size_t)len + 1))) {
		free(q);
		pthread_mutex_lock(&f->lock);
		f->st.dropped++;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	snprintf(q->e.key, sizeof(q->e.key), "%s", key);
	q->e.rev = rev;
	q->e.older = older;
	q->e.deleted = op != kvOp_Put;
	if (len)
		memcpy(q->e.val, kvEntry_Value(ke), (size_t)len);
	q->e.val[len] = '\0';
	q->e.len = (size_t)len;
	pthread_mutex_lock(&f->lock);
	if (f->tail)
		f->tail->next = q;
	else
		f->head = q;
	f->tail = q;
	f->queued++;
	f->st.updates++;
	pthread_mutex_unlock(&f->lock);
	if (write(f->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: the reader is woken anyway */
	}
}

int fleet_next(struct fleet *f, struct fleet_entry *e)
{
	struct qent *q;
	uint64_t v;

	pthread_mutex_lock(&f->lock);
	q = f->head;
	if (q) {
		f->head = q->next;
		if (!f->head)
			f->tail = NULL;
		f->queued--;
	}
	pthread_mutex_unlock(&f->lock);
	if (!q) {
		/* cleared, then looked at again: an update queued before
		 * the read is found now, one after it sets the counter */
		if (read(f->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing more */
		}
		pthread_mutex_lock(&f->lock);
		q = f->head;
		if (q) {
			f->head = q->next;
			if (!f->head)
				f->tail = NULL;
			f->queued--;
		}
		pthread_mutex_unlock(&f->lock);
		if (!q)
			return 0;
	}
	*e = q->e;
	free(q);
	return 1;
}

/* ---- connections ---- */

static void on_connected(natsConnection *nc, void *closure)
{
	struct conn *c = closure;

	(void)nc;
	atomic_store(&c->up, 1);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct conn *c = closure;

	(void)nc;
	atomic_store(&c->up, 1);
	if (c == &c->f->node_c)
		atomic_store(&c->f->rewatch, 1);
	pthread_mutex_lock(&c->f->lock);
	c->f->st.reconnects++;
	pthread_mutex_unlock(&c->f->lock);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct conn *c = closure;

	(void)nc;
	atomic_store(&c->up, 0);
	pthread_mutex_lock(&c->f->lock);
	c->f->st.disconnects++;
	pthread_mutex_unlock(&c->f->lock);
}

static void on_closed(natsConnection *nc, void *closure)
{
	struct conn *c = closure;

	(void)nc;
	atomic_store(&c->up, 0);
	atomic_store(&c->closed, 1);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
		     void *closure)
{
	struct conn *c = closure;

	(void)nc;
	(void)sub;
	if (err == NATS_NOT_PERMITTED)
		atomic_store(&c->denied, 1);
	pthread_mutex_lock(&c->f->lock);
	snprintf(c->f->st.last_error, sizeof(c->f->st.last_error),
		 "%s connection: %s", c == &c->f->node_c ? "node" : "admin",
		 natsStatus_GetText(err));
	pthread_mutex_unlock(&c->f->lock);
}

static int conn_opts(struct fleet *f, struct conn *c, const char *name,
		     char *err, size_t errlen)
{
	natsStatus s;

	pthread_mutex_init(&c->kv_lock, NULL);
	c->kv_lock_made = 1;
	s = natsOptions_Create(&c->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(c->opts, f->urls, f->n_urls);
	if (s == NATS_OK)
		s = natsOptions_SetUserInfo(c->opts, c->user, c->password);
	if (s == NATS_OK)
		s = natsOptions_SetName(c->opts, name);
	/* the user's own inboxes: the servers let each user subscribe to
	 * its own only, so no gateway reads another's answers (nor learns
	 * its watch's consumer) */
	if (s == NATS_OK) {
		char inbox[FLEET_USER_MAX + 16];

		snprintf(inbox, sizeof(inbox), "_INBOX.%s", c->user);
		s = natsOptions_SetCustomInboxPrefix(c->opts, inbox);
	}
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(c->opts, FLEET_WAIT_MS);
	/* a dead server is noticed within a few seconds, a healed one
	 * reached again within half a second */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(c->opts, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(c->opts, 2);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(c->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(c->opts, 250);
	/* nothing is buffered while disconnected: a write then fails at
	 * once, and its writer knows it was not sent */
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(c->opts, 0);
	if (s == NATS_OK && f->ca)
		s = natsOptions_SetSecure(c->opts, true);
	if (s == NATS_OK && f->ca)
		s = natsOptions_LoadCATrustedCertificates(c->opts, f->ca);
	if (s == NATS_OK && f->cert)
		s = natsOptions_LoadCertificatesChain(c->opts, f->cert, f->key);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(c->opts, true,
							on_connected, c);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(c->opts, on_reconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(c->opts, on_disconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(c->opts, on_error, c);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(c->opts, on_closed, c);
	if (s != NATS_OK) {
		const char *t = nats_GetLastError(NULL);

		snprintf(err, errlen, "nats: %s%s%s", natsStatus_GetText(s),
			 t && *t ? ": " : "", t ? t : "");
		return -1;
	}
	c->f = f;
	return 0;
}

static int conn_start(struct conn *c, char *err, size_t errlen)
{
	natsStatus s = natsConnection_Connect(&c->nc, c->opts);
	jsOptions jo;

	if (s == NATS_OK)
		atomic_store(&c->up, 1);
	else if (s != NATS_NOT_YET_CONNECTED) {
		snprintf(err, errlen, "nats: connect: %s",
			 natsStatus_GetText(s));
		return -1;
	}
	jsOptions_Init(&jo);
	jo.Wait = FLEET_WAIT_MS;
	s = natsConnection_JetStream(&c->js, c->nc, &jo);
	if (s != NATS_OK) {
		snprintf(err, errlen, "nats: JetStream: %s",
			 natsStatus_GetText(s));
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->kv)
		kvStore_Destroy(c->kv);
	if (c->js)
		jsCtx_Destroy(c->js);
	if (c->nc) {
		unsigned i;

		/* libnats calls the disconnected and closed handlers on its
		 * own thread after Close returns: @c (and the fleet) must
		 * outlive them, so the closed one is waited for (2 s at
		 * most) */
		natsConnection_Close(c->nc);
		for (i = 0; i < 200 && !atomic_load(&c->closed); i++)
			usleep(10 * 1000);
		natsConnection_Destroy(c->nc);
	}
	if (c->opts)
		natsOptions_Destroy(c->opts);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->user);
	if (c->kv_lock_made)
		pthread_mutex_destroy(&c->kv_lock);
	memset(c, 0, sizeof(*c));
}

/* The bucket, bound once it exists (by whichever thread asks first). */
static kvStore *conn_kv(struct fleet *f, struct conn *c)
{
	natsStatus s = NATS_OK;
	kvStore *kv;

	pthread_mutex_lock(&c->kv_lock);
	if (!c->kv && atomic_load(&c->up)) {
		s = js_KeyValue(&c->kv, c->js, f->bucket);
		if (s != NATS_OK)
			c->kv = NULL;
	}
	kv = c->kv;
	pthread_mutex_unlock(&c->kv_lock);
	if (s != NATS_OK) {
		set_error(f, "the bucket", s);
	} else if (kv) {
		pthread_mutex_lock(&f->lock);
		if (!strncmp(f->st.last_error, "the bucket", 10))
			f->st.last_error[0] = '\0';
		pthread_mutex_unlock(&f->lock);
	}
	return kv;
}

/* ---- the thread ---- */

static void write_own(struct fleet *f, kvStore *kv, char **slot, int kind)
{
	char key[FLEET_KEY_MAX], *val;
	uint64_t rev = 0;
	natsStatus s;

	pthread_mutex_lock(&f->lock);
	val = *slot;
	*slot = NULL;
	pthread_mutex_unlock(&f->lock);
	if (!val)
		return;
	fleetval_node_key_of(f->node, kind, key);
	s = kvStore_PutString(&rev, kv, key, val);
	pthread_mutex_lock(&f->lock);
	if (s == NATS_OK) {
		f->st.status_writes++;
		free(val);
	} else if (*slot) {
		/* a newer one waits already */
		free(val);
		f->st.write_failures++;
	} else {
		*slot = val; /* retried */
		f->st.write_failures++;
	}
	pthread_mutex_unlock(&f->lock);
	if (s != NATS_OK)
		set_error(f, "writing this node's report", s);
}

static void resync(struct fleet *f, kvStore *kv)
{
	static const char *const keys[] = { FLEET_KEY_POLICY,
					    FLEET_KEY_KILLSWITCH };
	unsigned i;

	for (i = 0; i < 2; i++) {
		kvEntry *e = NULL;

		if (kvStore_Get(&e, kv, keys[i]) == NATS_OK && e) {
			push(f, e, 1);
			kvEntry_Destroy(e);
		}
	}
	pthread_mutex_lock(&f->lock);
	f->st.resyncs++;
	pthread_mutex_unlock(&f->lock);
}

static void *run(void *arg)
{
	struct fleet *f = arg;
	kvWatcher *w = NULL;
	uint64_t next_resync = 0, last_entry = mono_ms();

	while (!atomic_load(&f->stop)) {
		kvStore *kv = conn_kv(f, &f->node_c);
		kvEntry *e = NULL;
		natsStatus s;
		uint64_t now;

		if (!kv) {
			usleep(250 * 1000);
			continue;
		}
		if (w && atomic_exchange(&f->rewatch, 0)) {
			kvWatcher_Destroy(w);
			w = NULL;
		}
		if (!w) {
			kvWatchOptions wo;

			kvWatchOptions_Init(&wo);
			s = kvStore_WatchAll(&w, kv, &wo);
			if (s != NATS_OK) {
				set_error(f, "the watch", s);
				w = NULL;
				usleep(250 * 1000);
				continue;
			}
			atomic_store(&f->rewatch, 0);
			last_entry = mono_ms();
			pthread_mutex_lock(&f->lock);
			f->st.last_error[0] = '\0';
			pthread_mutex_unlock(&f->lock);
		}
		s = kvWatcher_Next(&e, w, 200);
		now = mono_ms();
		if (s == NATS_OK && e) {
			last_entry = now;
			push(f, e, 0);
			kvEntry_Destroy(e);
		} else if (s == NATS_OK) {
			/* every key's latest value given */
			pthread_mutex_lock(&f->lock);
			f->st.watching = 1;
			pthread_mutex_unlock(&f->lock);
		} else if (s != NATS_TIMEOUT ||
			   (atomic_load(&f->node_c.up) &&
			    now - last_entry > FLEET_SILENT_WATCH_MS)) {
			/* broken, or silent while every node (this one
			 * too) writes its report every 2 s: a watcher the
			 * server placed on a dead peer (nats-server 2.9) */
			set_error(f,
				  s == NATS_TIMEOUT ? "the watch: silent"
						    : "the watch",
				  s);
			kvWatcher_Destroy(w);
			w = NULL;
			pthread_mutex_lock(&f->lock);
			f->st.watching = 0;
			pthread_mutex_unlock(&f->lock);
			last_entry = now;
			continue;
		}
		if (!atomic_load(&f->node_c.up))
			continue;
		if (now >= next_resync) {
			resync(f, kv);
			next_resync = now + FLEET_RESYNC_MS;
		}
	}
	if (w)
		kvWatcher_Destroy(w);
	return NULL;
}

/* The writer: this node's report and head, the latest of each, on a
 * thread of their own (a write waits up to FLEET_WAIT_MS for the stream's
 * answer: the watch must not wait with it). */
static void *writer(void *arg)
{
	struct fleet *f = arg;

	while (!atomic_load(&f->stop)) {
		kvStore *kv;

		usleep(100 * 1000);
		if (!atomic_load(&f->node_c.up) ||
		    !(kv = conn_kv(f, &f->node_c)))
			continue;
		write_own(f, kv, &f->status_val, 's');
		write_own(f, kv, &f->head_val, 'h');
	}
	return NULL;
}

/* ---- open, start, close ---- */

static int take_urls(struct fleet *f, const char *urls, char *err,
		     size_t errlen)
{
	char *save = NULL, *u;

	f->url_copy = strdup(urls);
	if (!f->url_copy)
		return -1;
	for (u = strtok_r(f->url_copy, ",", &save); u;
	     u = strtok_r(NULL, ",", &save)) {
		if (f->n_urls == FLEET_URLS_MAX) {
			snprintf(err, errlen, "--nats: at most %d servers",
				 FLEET_URLS_MAX);
			return -1;
		}
		if (strncmp(u, "nats://", 7) != 0 &&
		    strncmp(u, "tls://", 6) != 0) {
			snprintf(err, errlen,
				 "--nats: '%.100s' is not nats://HOST:PORT "
				 "or tls://HOST:PORT",
				 u);
			return -1;
		}
		f->urls[f->n_urls++] = u;
	}
	if (!f->n_urls) {
		snprintf(err, errlen, "--nats: no server");
		return -1;
	}
	return 0;
}

static int take_creds(struct conn *c, const char *user, const char *pwfile,
		      const char *what, char *err, size_t errlen)
{
	if (!user || !pwfile || !*user) {
		snprintf(err, errlen,
			 "%s: a user and a password file are needed", what);
		return -1;
	}
	if (strlen(user) > FLEET_USER_MAX ||
	    strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-") != strlen(user)) {
		snprintf(err, errlen,
			 "%s: a user name is 1 to %d letters, digits, '_' or "
			 "'-' (its inboxes are _INBOX.USER.>)",
			 what, FLEET_USER_MAX);
		return -1;
	}
	c->user = strdup(user);
	if (!c->user) {
		snprintf(err, errlen, "no memory");
		return -1;
	}
	return secret_read_line(pwfile, what, FLEET_PASSWORD_MAX, &c->password,
				err, errlen);
}

static int dup_opt(char **out, const char *s)
{
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -1;
}

struct fleet *fleet_open(const struct fleet_opts *o, char *err, size_t errlen)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "no memory");
		return NULL;
	}
	f->efd = -1;
	pthread_mutex_init(&f->lock, NULL);
	if (!o->node || !fleetval_node_ok(o->node)) {
		snprintf(err, errlen,
			 "--node-id '%s': a fleet node's id is 1 to %d "
			 "letters, digits, '_' or '-'",
			 o->node ? o->node : "", FLEET_NODE_MAX);
		goto fail;
	}
	if ((o->cert != NULL) != (o->key != NULL)) {
		snprintf(err, errlen, "--nats-cert and --nats-key go together");
		goto fail;
	}
	if (o->cert && !o->ca) {
		snprintf(err, errlen, "--nats-cert needs --nats-ca");
		goto fail;
	}
	if (!o->bucket || !*o->bucket ||
	    strspn(o->bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
			      "TUVWXYZ0123456789_-") != strlen(o->bucket) ||
	    strlen(o->bucket) > 64) {
		snprintf(err, errlen,
			 "--nats-bucket: 1 to 64 letters, digits, '_' or '-'");
		goto fail;
	}
	if (take_urls(f, o->urls, err, errlen) != 0 ||
	    dup_opt(&f->bucket, o->bucket) || dup_opt(&f->node, o->node) ||
	    dup_opt(&f->ca, o->ca) || dup_opt(&f->cert, o->cert) ||
	    dup_opt(&f->key, o->key)) {
		if (!err[0])
			snprintf(err, errlen, "no memory");
		goto fail;
	}
	if (take_creds(&f->node_c, o->user, o->password_file,
		       "--nats-user/--nats-password-file", err, errlen) != 0)
		goto fail;
	if (o->admin_user || o->admin_password_file) {
		if (take_creds(&f->admin_c, o->admin_user,
			       o->admin_password_file,
			       "--nats-admin-user/--nats-admin-password-file",
			       err, errlen) != 0)
			goto fail;
		f->has_admin = 1;
	}
	f->node_c.f = f->admin_c.f = f;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	return f;
fail:
	fleet_close(f);
	return NULL;
}

/* The connections' options: libnats starts its threads (timers,
 * callbacks) here, so after the daemon's fork, never before. */
static int make_opts(struct fleet *f, char *err, size_t errlen)
{
	char name[FLEET_NODE_MAX + 32];

	snprintf(name, sizeof(name), "skyfenced %s", f->node);
	if (conn_opts(f, &f->node_c, name, err, errlen) != 0)
		return -1;
	snprintf(name, sizeof(name), "skyfenced %s admin", f->node);
	return f->has_admin ? conn_opts(f, &f->admin_c, name, err, errlen) : 0;
}

int fleet_start(struct fleet *f, char *err, size_t errlen)
{
	int rc;

	if (make_opts(f, err, errlen) != 0 ||
	    conn_start(&f->node_c, err, errlen) != 0 ||
	    (f->has_admin && conn_start(&f->admin_c, err, errlen) != 0))
		return -1;
	rc = pthread_create(&f->thread, NULL, run, f);
	if (rc != 0) {
		snprintf(err, errlen, "the fleet's thread: %s", strerror(rc));
		return -1;
	}
	f->started = 1;
	rc = pthread_create(&f->wthread, NULL, writer, f);
	if (rc != 0) {
		snprintf(err, errlen, "the fleet's writer: %s", strerror(rc));
		return -1;
	}
	f->started = 2;
	return 0;
}

void fleet_close(struct fleet *f)
{
	struct qent *q;

	if (!f)
		return;
	atomic_store(&f->stop, 1);
	if (f->started)
		pthread_join(f->thread, NULL);
	if (f->started > 1)
		pthread_join(f->wthread, NULL);
	conn_close(&f->node_c);
	conn_close(&f->admin_c);
	while ((q = f->head)) {
		f->head = q->next;
		free(q->e.val);
		free(q);
	}
	free(f->status_val);
	free(f->head_val);
	if (f->efd >= 0)
		close(f->efd);
	free(f->url_copy);
	free(f->bucket);
	free(f->node);
	free(f->ca);
	free(f->cert);
	free(f->key);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int fleet_fd(const struct fleet *f)
{
	return f->efd;
}

static void set_slot(struct fleet *f, char **slot, const char *val)
{
	char *v = strdup(val);

	if (!v)
		return;
	pthread_mutex_lock(&f->lock);
	free(*slot);
	*slot = v;
	pthread_mutex_unlock(&f->lock);
}

void fleet_rewatch(struct fleet *f)
{
	pthread_mutex_lock(&f->lock);
	f->last_rev_policy = f->last_rev_ks = 0;
	pthread_mutex_unlock(&f->lock);
	atomic_store(&f->rewatch, 1);
}

void fleet_set_status(struct fleet *f, const char *val)
{
	set_slot(f, &f->status_val, val);
}

void fleet_set_head(struct fleet *f, const char *val)
{
	set_slot(f, &f->head_val, val);
}

int fleet_has_admin(const struct fleet *f)
{
	return f->has_admin;
}

const char *fleet_bucket(const struct fleet *f)
{
	return f->bucket;
}

const char *fleet_urls(const struct fleet *f)
{
	return f->urls[0];
}

void fleet_get_stats(struct fleet *m, struct fleet_stats *s)
{
	const struct fleet *f = m;

	pthread_mutex_lock(&m->lock);
	*s = m->st;
	s->queued = m->queued;
	pthread_mutex_unlock(&m->lock);
	s->connected = atomic_load(&m->node_c.up);
	s->admin_connected = f->has_admin ? atomic_load(&m->admin_c.up) : -1;
	s->server[0] = '\0';
	if (s->connected && m->node_c.nc)
		natsConnection_GetConnectedUrl(m->node_c.nc, s->server,
					       sizeof(s->server));
}

/* ---- admin writes, reads ---- */

static int classify(struct conn *c, natsStatus s, char *err, size_t errlen)
{
	const char *t = nats_GetLastError(NULL);

	if (!t)
		t = "";
	if (s == NATS_MAX_PAYLOAD || strstr(t, "maximum payload") ||
	    strstr(t, "max payload")) {
		snprintf(err, errlen,
			 "over the NATS servers' max_payload: not stored");
		return FLEET_E_TOOBIG;
	}
	if (strstr(t, "wrong last sequence")) {
		snprintf(err, errlen, "%s", t);
		return FLEET_E_CONFLICT;
	}
	if (s == NATS_NOT_PERMITTED ||
	    (c == &c->f->admin_c && atomic_exchange(&c->denied, 0))) {
		snprintf(err, errlen,
			 "the NATS servers refused it (permissions)");
		return FLEET_E_DENIED;
	}
	if (s == NATS_TIMEOUT) {
		snprintf(err, errlen,
			 "no answer from the store within %d ms: it may or "
			 "may not be written",
			 FLEET_WAIT_MS);
		return FLEET_E_TIMEOUT;
	}
	if (s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_DISCONNECTED ||
	    s == NATS_CONNECTION_CLOSED || s == NATS_INSUFFICIENT_BUFFER ||
	    s == NATS_NO_SERVER) {
		snprintf(err, errlen, "the store cannot be reached (%s)",
			 natsStatus_GetText(s));
		return FLEET_E_OFFLINE;
	}
	snprintf(err, errlen, "%s%s%s", natsStatus_GetText(s), *t ? ": " : "",
		 t);
	return FLEET_E_OTHER;
}

int fleet_update(struct fleet *f, const char *key, const void *val, size_t len,
		 uint64_t last, uint64_t *rev, char *err, size_t errlen)
{
	struct conn *c = &f->admin_c;
	kvStore *kv;
	natsStatus s;

	if (!f->has_admin) {
		snprintf(err, errlen,
			 "this node holds no admin credentials for the fleet "
			 "(--nats-admin-user)");
		return FLEET_E_NOADMIN;
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "too large");
		return FLEET_E_TOOBIG;
	}
	kv = conn_kv(f, c);
	if (!kv || !atomic_load(&c->up)) {
		snprintf(err, errlen, "the fleet's store cannot be reached");
		return FLEET_E_OFFLINE;
	}
	atomic_store(&c->denied, 0);
	if (last)
		s = kvStore_Update(rev, kv, key, val, (int)len, last);
	else
		s = kvStore_Create(rev, kv, key, val, (int)len);
	if (s == NATS_OK)
		return FLEET_OK;
	return classify(c, s, err, errlen);
}

int fleet_get(struct fleet *f, const char *key, struct fleet_entry *e,
	      char *err, size_t errlen)
{
	struct conn *c = &f->node_c;
	kvStore *kv = conn_kv(f, c);
	kvEntry *ke = NULL;
	natsStatus s;
	int len;

	if (!kv || !atomic_load(&c->up)) {
		snprintf(err, errlen, "the fleet's store cannot be reached");
		return FLEET_E_OFFLINE;
	}
	s = kvStore_Get(&ke, kv, key);
	if (s == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return classify(c, s, err, errlen);
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->rev = kvEntry_Revision(ke);
	len = kvEntry_ValueLen(ke);
	e->val = malloc(len > 0 ? (size_t)len + 1 : 1);
	if (!e->val) {
		kvEntry_Destroy(ke);
		snprintf(err, errlen, "no memory");
		return FLEET_E_OTHER;
	}
	if (len > 0)
		memcpy(e->val, kvEntry_Value(ke), (size_t)len);
	e->len = len > 0 ? (size_t)len : 0;
	e->val[e->len] = '\0';
	kvEntry_Destroy(ke);
	return 1;
}

int fleet_create_bucket(struct fleet *f, int replicas, char *err, size_t errlen)
{
	struct conn *c = &f->admin_c;
	char name[80], subject[96];
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	natsStatus s;

	if (!f->has_admin) {
		snprintf(err, errlen,
			 "this node holds no admin credentials for the fleet "
			 "(--nats-admin-user)");
		return FLEET_E_NOADMIN;
	}
	if (!atomic_load(&c->up)) {
		snprintf(err, errlen, "the fleet's store cannot be reached");
		return FLEET_E_OFFLINE;
	}
	/* the stream js_CreateKeyValue makes (libnats 3.4.1: file storage,
	 * discard new, direct gets, no deletes through the API), with 64
	 * revisions a key, but no rollups and no purges: a message with
	 * "Nats-Rollup: all", from anyone allowed to write one key (a
	 * gateway, its own status), would purge every other key and the
	 * history. The same configuration again is no change. */
	snprintf(name, sizeof(name), "KV_%s", f->bucket);
	snprintf(subject, sizeof(subject), "$KV.%s.>", f->bucket);
	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = (const char *[1]){ subject };
	sc.SubjectsLen = 1;
	sc.MaxMsgsPerSubject = 64;
	sc.MaxBytes = -1;
	sc.MaxMsgSize = -1;
	sc.Storage = js_FileStorage;
	sc.Replicas = replicas;
	sc.Discard = js_DiscardNew;
	sc.DenyDelete = true;
	sc.DenyPurge = true;
	sc.AllowRollup = false;
	sc.AllowDirect = true;
	s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		if (jerr == JSStreamNameExistErr) {
			snprintf(err, errlen,
				 "%s exists with another configuration (made "
				 "by another tool? see README.nats)",
				 name);
			return FLEET_E_OTHER;
		}
		return classify(c, s, err, errlen);
	}
	return FLEET_OK;
}

/* ---- a command's reader ---- */

struct fleet_reader {
	struct fleet *f;
};

struct fleet_reader *fleet_reader_open(const struct fleet_opts *o, char *err,
				       size_t errlen)
{
	struct fleet_reader *r = calloc(1, sizeof(*r));
	struct fleet_opts ro = *o;
	natsStatus s;
	jsOptions jo;
	struct conn *c;

	if (!r) {
		snprintf(err, errlen, "no memory");
		return NULL;
	}
	ro.admin_user = ro.admin_password_file = NULL;
	if (!ro.node)
		ro.node = "reader";
	r->f = fleet_open(&ro, err, errlen);
	if (!r->f) {
		free(r);
		return NULL;
	}
	if (make_opts(r->f, err, errlen) != 0) {
		fleet_reader_close(r);
		return NULL;
	}
	c = &r->f->node_c;
	/* a command: one try, no background retry */
	natsOptions_SetRetryOnFailedConnect(c->opts, false, NULL, NULL);
	natsOptions_SetMaxReconnect(c->opts, 0);
	s = natsConnection_Connect(&c->nc, c->opts);
	if (s == NATS_OK) {
		atomic_store(&c->up, 1);
		jsOptions_Init(&jo);
		jo.Wait = FLEET_WAIT_MS;
		s = natsConnection_JetStream(&c->js, c->nc, &jo);
	}
	if (s != NATS_OK) {
		const char *t = nats_GetLastError(NULL);

		snprintf(err, errlen, "nats: %s%s%s", natsStatus_GetText(s),
			 t && *t ? ": " : "", t ? t : "");
		fleet_reader_close(r);
		return NULL;
	}
	return r;
}

int fleet_reader_history(struct fleet_reader *r, const char *key,
			 void (*fn)(void *ctx, uint64_t rev, const char *val,
				    size_t len),
			 void *ctx, char *err, size_t errlen)
{
	return fleet_history(r->f, key, fn, ctx, err, errlen);
}

int fleet_history(struct fleet *f, const char *key,
		  void (*fn)(void *ctx, uint64_t rev, const char *val,
			     size_t len),
		  void *ctx, char *err, size_t errlen)
{
	struct fleet_reader rr = { f }, *r = &rr;
	kvStore *kv = conn_kv(r->f, &r->f->node_c);
	kvEntryList list = { 0 };
	kvWatchOptions wo;
	natsStatus s;
	int i;

	if (!kv) {
		snprintf(err, errlen, "bucket %s: %s", r->f->bucket,
			 r->f->st.last_error);
		return -1;
	}
	kvWatchOptions_Init(&wo);
	wo.Timeout = FLEET_WAIT_MS;
	s = kvStore_History(&list, kv, key, &wo);
	if (s == NATS_NOT_FOUND) {
		return 0;
	} else if (s != NATS_OK) {
		classify(&r->f->node_c, s, err, errlen);
		return -1;
	}
	for (i = 0; i < list.Count; i++) {
		kvEntry *e = list.Entries[i];
		int len = kvEntry_ValueLen(e);
		char *v = NULL;

		if (kvEntry_Operation(e) == kvOp_Put && len >= 0) {
			v = malloc((size_t)len + 1);
			if (!v) {
				kvEntryList_Destroy(&list);
				snprintf(err, errlen, "no memory");
				return -1;
			}
			if (len)
				memcpy(v, kvEntry_Value(e), (size_t)len);
			v[len] = '\0';
		}
		fn(ctx, kvEntry_Revision(e), v, v ? (size_t)len : 0);
		free(v);
	}
	kvEntryList_Destroy(&list);
	return 0;
}

void fleet_shutdown(void)
{
	/* waits for libnats' own threads (timers, callbacks, the reaper):
	 * a process that exits while one runs may crash on the way out */
	nats_CloseAndWait(FLEET_WAIT_MS);
}

void fleet_reader_close(struct fleet_reader *r)
{
	if (!r)
		return;
	fleet_close(r->f);
	free(r);
}
