/* The fleet's store (fleet.c): one NATS JetStream key-value bucket holds
 * an organisation's policy, kill switch, and each node's reported state
 * and audit head (fleetval.h). This is the client, on Debian's libnats:
 * it knows the bucket, not the daemon.
 *
 * Two connections, each with its own credentials:
 * - the node's (--nats-user): a thread of its own watches every key of
 *   the bucket and hands each update, in revision order, to the caller's
 *   event loop (fleet_fd, fleet_next); it writes the node's own status
 *   and audit head, the latest of each, whenever they change. The
 *   server's permissions let it write nothing else.
 * - the admin's (--nats-admin-user, optional): writes a change made on
 *   this node (policy, kill switch) with compare-and-set against the
 *   revision the writer saw, synchronously and bounded (FLEET_WAIT_MS),
 *   from the caller's thread.
 * Order comes from the bucket's revisions (the stream's sequence, given
 * by its RAFT leader), never from a clock. Both connections reconnect by
 * themselves; after a reconnect the watch starts again from each key's
 * latest value, and every FLEET_RESYNC_MS the policy and the kill switch
 * are read again, so an update lost on the way is found.
 */
#ifndef SKYFENCE_FLEET_H
#define SKYFENCE_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/fleetval.h"

#define FLEET_URLS_MAX 8
#define FLEET_WAIT_MS 2000   /* an admin write's answer */
#define FLEET_RESYNC_MS 5000 /* the policy and kill switch read again */
#define FLEET_QUEUE_MAX 4096 /* updates waiting for the event loop */
/* a watch silent this long while connected is made again: every node
 * writes its report every 2 s, this one too */
#define FLEET_SILENT_WATCH_MS 6000
#define FLEET_PASSWORD_MAX 256
#define FLEET_USER_MAX 64
/* a node's status or head: a few lines; a larger value is dropped */
#define FLEET_NODE_VALUE_MAX 8192

struct fleet_opts {
	const char *urls; /* "nats://A:4222,tls://B:4222" */
	const char *bucket;
	const char *node; /* fleetval_node_ok */
	const char *user, *password_file;
	const char *admin_user, *admin_password_file; /* NULL: no admin */
	const char *ca, *cert, *key;		      /* TLS; NULL: none */
};

/* A key's update, in the order the bucket gave them. */
struct fleet_entry {
	char key[FLEET_KEY_MAX];
	uint64_t rev;
	int deleted; /* deleted or purged: no value */
	/* the bucket's latest, read again, is older than a revision given
	 * before: the bucket was made again, or restored */
	int older;
	char *val; /* malloc'd, NUL-ended; the caller frees it */
	size_t len;
};

/* Why an admin write failed. */
enum fleet_err {
	FLEET_OK = 0,
	FLEET_E_NOADMIN = -1,  /* this node holds no admin credentials */
	FLEET_E_OFFLINE = -2,  /* not connected: nothing was sent */
	FLEET_E_CONFLICT = -3, /* the key is not at the revision given */
	FLEET_E_DENIED = -4,   /* the server's permissions refused it */
	FLEET_E_TOOBIG = -5,   /* over the server's max_payload */
	FLEET_E_TIMEOUT = -6,  /* no answer: it may or may not be written */
	FLEET_E_OTHER = -7,
};

struct fleet;

struct fleet_stats {
	int connected;	     /* the node's connection */
	int admin_connected; /* -1: no admin credentials */
	int watching;	     /* the watch has delivered every key's latest */
	char server[128];    /* the server the node's connection is on */
	uint64_t reconnects, disconnects, updates, dropped, resyncs;
	uint64_t status_writes, write_failures;
	unsigned queued; /* updates waiting for the event loop */
	char last_error[256];
};

/* Checks @o and reads the password files (before --user: they may be
 * root's). Connects nothing yet. NULL with a message in @err. */
struct fleet *fleet_open(const struct fleet_opts *o, char *err, size_t errlen);
/* Connects (in the background: a server down at start is retried) and
 * starts the watch thread. 0, or -1 with @err. */
int fleet_start(struct fleet *f, char *err, size_t errlen);
void fleet_close(struct fleet *f);

/* Readable (an eventfd) when updates wait. */
int fleet_fd(const struct fleet *f);
/* The next update into @e: 1, or 0 when none waits (the eventfd is then
 * drained). */
int fleet_next(struct fleet *f, struct fleet_entry *e);

/* The watch starts again from every key's latest value, each given
 * again (fleet clear after a bucket was made again). */
void fleet_rewatch(struct fleet *f);

/* The node's own status and head values (fleetval.h): the thread writes
 * the latest given, when connected, replacing what waited. */
void fleet_set_status(struct fleet *f, const char *val);
void fleet_set_head(struct fleet *f, const char *val);

/* An admin write of @len bytes of @val at @key, if the key is at revision
 * @last (0: only if it has no value). *@rev the new revision. FLEET_OK,
 * or an enum fleet_err with a message in @err. */
int fleet_update(struct fleet *f, const char *key, const void *val, size_t len,
		 uint64_t last, uint64_t *rev, char *err, size_t errlen);
/* The latest value of @key (through the node's connection): 1 with @e
 * set, 0 if the key has none, or an enum fleet_err. */
int fleet_get(struct fleet *f, const char *key, struct fleet_entry *e,
	      char *err, size_t errlen);
/* Creates the bucket (history 64, @replicas copies) with the admin's
 * credentials. FLEET_OK, or an enum fleet_err with @err. */
int fleet_create_bucket(struct fleet *f, int replicas, char *err,
			size_t errlen);

int fleet_has_admin(const struct fleet *f);
void fleet_get_stats(struct fleet *f, struct fleet_stats *s);
const char *fleet_bucket(const struct fleet *f);
const char *fleet_urls(const struct fleet *f);

/* Every stored revision of @key, oldest first, through the node's
 * connection, synchronously (bounded by FLEET_WAIT_MS): @fn called for
 * each (its value NUL-ended; NULL when deleted). 0, or -1 with @err. */
int fleet_history(struct fleet *f, const char *key,
		  void (*fn)(void *ctx, uint64_t rev, const char *val,
			     size_t len),
		  void *ctx, char *err, size_t errlen);

/* One connection for a command (skyfencectl audit verify): @o's node
 * credentials (user, password file, TLS), no thread. NULL with @err. */
struct fleet_reader;
struct fleet_reader *fleet_reader_open(const struct fleet_opts *o, char *err,
				       size_t errlen);
/* Every stored revision of @key, oldest first: @fn called for each (its
 * value NUL-ended; NULL when deleted). 0, or -1 with @err. */
int fleet_reader_history(struct fleet_reader *r, const char *key,
			 void (*fn)(void *ctx, uint64_t rev, const char *val,
				    size_t len),
			 void *ctx, char *err, size_t errlen);
void fleet_reader_close(struct fleet_reader *r);
/* The process is done with NATS: libnats closed, its threads waited
 * for (at the end of a command, or of the daemon, after every
 * fleet_close). */
void fleet_shutdown(void);

#endif
