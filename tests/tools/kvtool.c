/* sf-kv: the fleet's bucket (a NATS JetStream key-value store) from the
 * command line, for the labs and the suites (libnats):
 *
 *   sf-kv [-s URLS] [-u USER] [-p PASSWORD_FILE] [--ca FILE] [-b BUCKET]
 *         CMD ...
 *
 * URLS is a comma-separated list (nats://127.0.0.1:4222); BUCKET skyfence.
 * The commands are in the table at the end (usage prints it).
 *
 * Exit status: 0 done; 3 the server refused the user (a "permissions
 * violation", on anything the command sent); 4 an update's revision was
 * not the key's last (JetStream's "wrong last sequence", 10071); 1
 * anything else, with a message on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#define EXIT_DENIED 3
#define EXIT_STALE 4
#define HISTORY 64
#define FILE_MAX (16 << 20)
#define URLS_MAX 16

struct kvtool {
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	const char *bucket;
};

/* A denied publish (to a key or to the JetStream API) is dropped by the
 * server, which says so only in an asynchronous -ERR "Permissions
 * Violation for Publish to ..."; the request behind it would wait for
 * its full timeout. Set by the error handler, which also closes the
 * connection: that ends the wait at once. */
static atomic_int denied;
/* set before the connection is closed on purpose */
static atomic_int closing;

static int is_violation(const char *text)
{
	return text != NULL && strcasestr(text, "permissions violation");
}

static void on_async_error(natsConnection *nc, natsSubscription *sub,
			   natsStatus err, void *closure)
{
	const char *text = nats_GetLastError(NULL);

	(void)sub;
	(void)closure;
	if (text == NULL || text[0] == '\0')
		text = natsStatus_GetText(err);
	if (err != NATS_NOT_PERMITTED && !is_violation(text)) {
		fprintf(stderr, "sf-kv: (async) %s\n", text);
		return;
	}
	if (atomic_exchange(&denied, 1) == 0)
		fprintf(stderr, "sf-kv: %s\n", text);
	atomic_store(&closing, 1);
	natsConnection_Close(nc);
}

/* what a watcher lives through, on stderr */
static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	if (!atomic_load(&closing))
		fprintf(stderr, "sf-kv: (async) disconnected\n");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	(void)closure;
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	fprintf(stderr, "sf-kv: (async) reconnected to %s\n", url);
}

/* The exit status of a command that returned S: a violation seen at any
 * time wins over what the call itself says (often a timeout or a closed
 * connection). */
static int kvtool_status(const char *what, natsStatus s)
{
	const char *text;

	if (atomic_load(&denied))
		return EXIT_DENIED;
	if (s == NATS_OK)
		return 0;
	text = nats_GetLastError(NULL);
	if (text == NULL || text[0] == '\0')
		text = natsStatus_GetText(s);
	fprintf(stderr, "sf-kv: %s: %s\n", what, text);
	if (s == NATS_NOT_PERMITTED || is_violation(text))
		return EXIT_DENIED;
	if (strcasestr(text, "wrong last sequence") != NULL)
		return EXIT_STALE;
	return 1;
}

/* ARG as a value: itself, or the bytes of file FILE for "@FILE".
 * Returns 0, or -errno (nothing allocated). */
static int value_read(const char *arg, char **out, int *len)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (arg[0] != '@') {
		*out = strdup(arg);
		*len = (int)strlen(arg);
		return *out != NULL ? 0 : -ENOMEM;
	}
	f = fopen(arg + 1, "rb");
	if (f == NULL)
		return -errno;
	for (;;) {
		size_t r;

		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > FILE_MAX) {
				err = -EFBIG;
				goto err;
			}
			nb = realloc(buf, cap);
			if (nb == NULL) {
				err = -ENOMEM;
				goto err;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		err = -EIO;
		goto err;
	}
	fclose(f);
	*out = buf;
	*len = (int)n;
	return 0;
err:
	fclose(f);
	free(buf);
	return err;
}

/* The first line of FILE, its newline stripped; NULL on error, with
 * errno (0: the file is empty). */
static char *password_read(const char *file)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return NULL;
	errno = 0;
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static const char *op_name(kvOperation op)
{
	switch (op) {
	case kvOp_Put:
		return "PUT";
	case kvOp_Delete:
		return "DEL";
	case kvOp_Purge:
		return "PURGE";
	default:
		return "UNKNOWN";
	}
}

/* create REPLICAS: the bucket's stream as js_CreateKeyValue makes it
 * (libnats 3.4.1: file storage, no size limit, discard new, direct
 * gets, no deletes through the API), but without rollups and purges: a
 * message with the header "Nats-Rollup: all", published by anyone
 * allowed to write one key, would purge the whole stream (every other
 * key, and the history). kvStore_Purge, which is a rollup of one key,
 * is refused with it. Made again with the same configuration, it is left
 * as it is. */
static int cmd_create(struct kvtool *t, char **argv)
{
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	char name[256], subject[256];
	uint64_t replicas;
	natsStatus s;

	if (parse_u64(argv[0], &replicas) || replicas < 1 || replicas > 5) {
		fprintf(stderr, "sf-kv: create: REPLICAS is 1 to 5\n");
		return 1;
	}
	snprintf(name, sizeof(name), "KV_%s", t->bucket);
	snprintf(subject, sizeof(subject), "$KV.%s.>", t->bucket);
	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = (const char *[1]){ subject };
	sc.SubjectsLen = 1;
	sc.MaxMsgsPerSubject = HISTORY;
	sc.MaxBytes = -1;
	sc.MaxMsgSize = -1;
	sc.Storage = js_FileStorage;
	sc.Replicas = (int64_t)replicas;
	sc.Discard = js_DiscardNew;
	sc.DenyDelete = true;
	sc.DenyPurge = true;
	sc.AllowRollup = false;
	sc.AllowDirect = true;
	s = js_AddStream(&si, t->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK && jerr == JSStreamNameExistErr)
		fprintf(stderr, "sf-kv: create: %s exists, made otherwise\n",
			name);
	return kvtool_status("create", s);
}

/* put KEY VALUE and update KEY REV VALUE: prints the new revision. */
static int kv_write(struct kvtool *t, const char *what, const char *key,
		    const char *arg, const uint64_t *last)
{
	char *val = NULL;
	int len = 0, err;
	uint64_t rev = 0;
	natsStatus s;

	err = value_read(arg, &val, &len);
	if (err) {
		fprintf(stderr, "sf-kv: %s: %s\n", arg + 1, strerror(-err));
		return 1;
	}
	if (last != NULL)
		s = kvStore_Update(&rev, t->kv, key, val, len, *last);
	else
		s = kvStore_Put(&rev, t->kv, key, val, len);
	free(val);
	if (s == NATS_OK && !atomic_load(&denied))
		printf("%" PRIu64 "\n", rev);
	return kvtool_status(what, s);
}

static int cmd_put(struct kvtool *t, char **argv)
{
	return kv_write(t, "put", argv[0], argv[1], NULL);
}

static int cmd_update(struct kvtool *t, char **argv)
{
	uint64_t last;

	if (parse_u64(argv[1], &last)) {
		fprintf(stderr, "sf-kv: update: bad revision %s\n", argv[1]);
		return 1;
	}
	return kv_write(t, "update", argv[0], argv[2], &last);
}

static int cmd_get(struct kvtool *t, char **argv)
{
	kvEntry *e = NULL;
	natsStatus s = kvStore_Get(&e, t->kv, argv[0]);

	if (s == NATS_NOT_FOUND && !atomic_load(&denied)) {
		fprintf(stderr, "sf-kv: get: %s: no such key\n", argv[0]);
		return 1;
	}
	if (s == NATS_OK) {
		printf("%" PRIu64 "\n", kvEntry_Revision(e));
		fwrite(kvEntry_Value(e), 1, (size_t)kvEntry_ValueLen(e),
		       stdout);
	}
	kvEntry_Destroy(e);
	return kvtool_status("get", s);
}

static int cmd_history(struct kvtool *t, char **argv)
{
	kvEntryList l = { 0 };
	natsStatus s = kvStore_History(&l, t->kv, argv[0], NULL);
	int i;

	for (i = 0; s == NATS_OK && i < l.Count; i++)
		printf("%" PRIu64 " %s %d\n", kvEntry_Revision(l.Entries[i]),
		       op_name(kvEntry_Operation(l.Entries[i])),
		       kvEntry_ValueLen(l.Entries[i]));
	kvEntryList_Destroy(&l);
	return kvtool_status("history", s);
}

static int cmd_del(struct kvtool *t, char **argv)
{
	return kvtool_status("del", kvStore_Delete(t->kv, argv[0]));
}

static int cmd_keys(struct kvtool *t, char **argv)
{
	kvKeysList l = { 0 };
	natsStatus s = kvStore_Keys(&l, t->kv, NULL);
	int i;

	(void)argv;
	/* an empty bucket */
	if (s == NATS_NOT_FOUND)
		s = NATS_OK;
	for (i = 0; s == NATS_OK && i < l.Count; i++)
		printf("%s\n", l.Keys[i]);
	kvKeysList_Destroy(&l);
	return kvtool_status("keys", s);
}

/* watch SECONDS: the last value of every key, "-" once those are told,
 * then each change, as "REV OP KEY LEN" lines, for SECONDS (the way a
 * fleet node follows the bucket: kvStore_WatchAll). */
static int cmd_watch(struct kvtool *t, char **argv)
{
	kvWatcher *w = NULL;
	kvEntry *e;
	uint64_t secs;
	int64_t end;
	natsStatus s;

	if (parse_u64(argv[0], &secs) || secs > 3600) {
		fprintf(stderr, "sf-kv: watch: SECONDS is 0 to 3600\n");
		return 1;
	}
	end = nats_Now() + (int64_t)secs * 1000;
	s = kvStore_WatchAll(&w, t->kv, NULL);
	while (s == NATS_OK && !atomic_load(&denied)) {
		int64_t left = end - nats_Now();

		if (left <= 0)
			break;
		e = NULL;
		s = kvWatcher_Next(&e, w, left);
		if (s == NATS_TIMEOUT) {
			s = NATS_OK;
			break;
		}
		if (s != NATS_OK)
			break;
		if (e == NULL)
			printf("-\n");
		else
			printf("%" PRIu64 " %s %s %d\n", kvEntry_Revision(e),
			       op_name(kvEntry_Operation(e)), kvEntry_Key(e),
			       kvEntry_ValueLen(e));
		fflush(stdout);
		kvEntry_Destroy(e);
	}
	kvWatcher_Destroy(w);
	return kvtool_status("watch", s);
}

/* rollup KEY: an empty message to KEY with "Nats-Rollup: all", which in
 * a stream that allows rollups purges every other key and all history:
 * the fleet's bucket refuses it ("rollup not permitted", exit 1). */
static int cmd_rollup(struct kvtool *t, char **argv)
{
	char subject[512];
	natsMsg *m = NULL;
	natsStatus s;

	snprintf(subject, sizeof(subject), "$KV.%s.%s", t->bucket, argv[0]);
	s = natsMsg_Create(&m, subject, NULL, NULL, 0);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Rollup", "all");
	if (s == NATS_OK)
		s = js_PublishMsg(NULL, t->js, m, NULL, NULL);
	natsMsg_Destroy(m);
	return kvtool_status("rollup", s);
}

/* destroy: deletes the bucket (its stream) */
static int cmd_destroy(struct kvtool *t, char **argv)
{
	(void)argv;
	return kvtool_status("destroy", js_DeleteKeyValue(t->js, t->bucket));
}

struct kvtool_cmd {
	const char *name;
	int argc;
	int (*run)(struct kvtool *t, char **argv);
	int bind; /* needs the bucket: js_KeyValue first */
	const char *usage;
};

static const struct kvtool_cmd cmds[] = {
	{ "create", 1, cmd_create, 0,
	  "create REPLICAS            create the bucket (history 64, no rollups)" },
	{ "put", 2, cmd_put, 1,
	  "put KEY VALUE|@FILE        prints the revision" },
	{ "update", 3, cmd_update, 1,
	  "update KEY REV VALUE|@FILE compare-and-set; exit 4 on wrong revision" },
	{ "get", 1, cmd_get, 1,
	  "get KEY                    prints \"REV\\n\" then the value" },
	{ "history", 1, cmd_history, 1,
	  "history KEY                one line per revision: \"REV OP LEN\"" },
	{ "del", 1, cmd_del, 1, "del KEY" },
	{ "keys", 0, cmd_keys, 1, "keys" },
	{ "watch", 1, cmd_watch, 1,
	  "watch SECONDS              every key's value, \"-\", each change: \"REV OP KEY LEN\"" },
	{ "rollup", 1, cmd_rollup, 0,
	  "rollup KEY                 a purge of the bucket (Nats-Rollup: all) through KEY" },
	{ "destroy", 0, cmd_destroy, 0,
	  "destroy                    delete the bucket" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sf-kv [-s URLS] [-u USER] [-p PASSWORD_FILE] "
		   "[--ca FILE] [-b BUCKET] CMD ...\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "exit: 0 ok, 3 permission denied, 4 wrong last sequence, "
		   "1 anything else\n");
}

struct kvtool_opts {
	char *urls;
	const char *user, *pwfile, *ca;
};

/* The connection's options: the servers (in the order given: a suite
 * knows which one it asks first), the user, TLS, the error handler.
 * Returns NATS_OK or the failure (its text in nats_GetLastError). */
static natsStatus kvtool_options(natsOptions **out, const char **urls, int n,
				 const char *user, const char *pw,
				 const char *ca)
{
	natsOptions *opts = NULL;
	natsStatus s;

	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, urls, n);
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(opts, true);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(opts, on_async_error, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(opts, on_disconnected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
	if (s == NATS_OK && user != NULL)
		s = natsOptions_SetUserInfo(opts, user, pw);
	/* the user's own inboxes, as skyfenced's (the servers let each user
	 * subscribe to _INBOX.USER.> only) */
	if (s == NATS_OK && user != NULL) {
		char inbox[128];

		snprintf(inbox, sizeof(inbox), "_INBOX.%s", user);
		s = natsOptions_SetCustomInboxPrefix(opts, inbox);
	}
	if (s == NATS_OK && ca != NULL)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK && ca != NULL)
		s = natsOptions_LoadCATrustedCertificates(opts, ca);
	if (s != NATS_OK) {
		natsOptions_Destroy(opts);
		return s;
	}
	*out = opts;
	return NATS_OK;
}

/* Connects, binds the bucket if the command needs it, runs it. A
 * violation of the last thing the command sent arrives before the
 * answer to a final PING. */
static int kvtool_run(const struct kvtool_cmd *c, const struct kvtool_opts *o,
		      const char **urls, int n, const char *pw,
		      const char *bucket, char **argv)
{
	struct kvtool t = { .bucket = bucket };
	natsOptions *opts = NULL;
	natsStatus s;
	int rc;

	s = kvtool_options(&opts, urls, n, o->user, pw, o->ca);
	if (s == NATS_OK)
		s = natsConnection_Connect(&t.nc, opts);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&t.js, t.nc, NULL);
	if (s == NATS_OK && c->bind)
		s = js_KeyValue(&t.kv, t.js, bucket);
	if (s == NATS_NOT_FOUND && !atomic_load(&denied)) {
		fprintf(stderr, "sf-kv: no bucket %s\n", bucket);
		rc = 1;
	} else {
		rc = kvtool_status("connect", s);
	}
	if (rc == 0)
		rc = c->run(&t, argv);
	if (rc == 0)
		natsConnection_FlushTimeout(t.nc, 2000);
	if (atomic_load(&denied))
		rc = EXIT_DENIED;
	atomic_store(&closing, 1);
	kvStore_Destroy(t.kv);
	jsCtx_Destroy(t.js);
	natsConnection_Destroy(t.nc);
	natsOptions_Destroy(opts);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kvtool_opts o = { 0 };
	const char *bucket = "skyfence";
	char urls_default[] = "nats://127.0.0.1:4222";
	const struct kvtool_cmd *c = NULL;
	const char *urls[URLS_MAX];
	char *p, *save = NULL, *pw = NULL;
	size_t i;
	int opt, rc, n = 0;

	o.urls = urls_default;
	while ((opt = getopt_long(argc, argv, "+s:u:p:b:h", lopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 's':
			o.urls = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'p':
			o.pwfile = optarg;
			break;
		case 'c':
			o.ca = optarg;
			break;
		case 'b':
			bucket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc)
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[optind], cmds[i].name) == 0)
				c = &cmds[i];
	if (c == NULL || argc - optind - 1 != c->argc) {
		usage(stderr);
		return 1;
	}
	for (p = strtok_r(o.urls, ",", &save); p != NULL && n < URLS_MAX;
	     p = strtok_r(NULL, ",", &save))
		urls[n++] = p;
	if (n == 0 || p != NULL) {
		fprintf(stderr, "sf-kv: 1 to %d servers\n", URLS_MAX);
		return 1;
	}
	if (o.pwfile != NULL && (pw = password_read(o.pwfile)) == NULL) {
		fprintf(stderr, "sf-kv: %s: %s\n", o.pwfile,
			errno ? strerror(errno) : "empty");
		return 1;
	}
	rc = kvtool_run(c, &o, urls, n, pw, bucket, argv + optind + 1);
	if (pw != NULL)
		explicit_bzero(pw, strlen(pw));
	free(pw);
	fflush(stdout);
	nats_CloseAndWait(2000);
	return rc;
}
