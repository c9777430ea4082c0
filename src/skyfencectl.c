/* skyfencectl: a thin client of skyfenced's control socket (ctl.h has the
 * protocol). Subcommands come from one table, which also prints the usage.
 * Exit codes: 0 ok, 1 refused (denied, or a change that failed
 * validation), 2 usage error, 3 daemon unreachable. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "audit/chain.h"
#include "fleet/fleet.h"
#include "control/ctl.h"
#include "control/verbs.h"
#include "report/reportcmd.h"
#include "skyfence.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define REPLY_TIMEOUT_MS 10000

/* The commands: the daemon's verbs and skyfencectl's own (verbs.h). */
static const struct ctl_verb commands[] = {
#define COMMAND_ROW(words, args, min, max, role, flags, help, fn) \
	{ words, args, min, max, role, flags, help },
	CTL_VERBS(COMMAND_ROW)
#undef COMMAND_ROW
		{ "help", "", 0, 0, CTL_READ_ONLY, VERB_CLIENT, "this text" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* What follows @s's words, as a person types it. */
static const char *cmd_args(const struct ctl_verb *s)
{
	return (s->flags & VERB_PROM) ? "[--prometheus]" : s->args;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: skyfencectl [--socket PATH] [--json] COMMAND [ARGS]\n\n");
	for (i = 0; i < N_COMMANDS; i++) {
		char left[64];

		if (!strcmp(commands[i].words, "help") &&
		    !(commands[i].flags & VERB_CLIENT))
			continue; /* the daemon's; skyfencectl's is last */
		snprintf(left, sizeof(left), "%s %s", commands[i].words,
			 cmd_args(&commands[i]));
		fprintf(f, "  %-36s %s\n", left, commands[i].help);
	}
	fprintf(f,
		"\nThe socket is %s unless --socket or SKYFENCE_CTL says otherwise.\n"
		"Exit: 0 ok, 1 refused, 2 usage error, 3 daemon unreachable.\n",
		SKYFENCE_CTL_PATH);
}

/* a reply's line: as long as the daemon queues for one client (4 MiB:
 * policy show of a large policy is one line per department's hosts) */
#define REPLY_LINE_MAX (4u << 20)

struct conn {
	int fd;
	char buf[REPLY_LINE_MAX];
	size_t len, off;
};

/* One line without its newline, or NULL at end / timeout. */
static char *read_line(struct conn *c)
{
	static char line[REPLY_LINE_MAX];

	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		struct pollfd p = { c->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - (c->buf + c->off));

			memcpy(line, c->buf + c->off, k);
			line[k] = '\0';
			c->off += k + 1;
			return line;
		}
		if (c->off) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return NULL;
		if (poll(&p, 1, REPLY_TIMEOUT_MS) <= 0)
			return NULL;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static void json_print_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* The request line, and @pass_fd (if >= 0) with it in one message. */
static int send_request(int fd, const char *request, int pass_fd)
{
	char line[CTL_MAX_REQUEST + 2];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov;
	struct msghdr mh;
	size_t n = (size_t)snprintf(line, sizeof(line), "%s\n", request);
	ssize_t w;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = line;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	return w == (ssize_t)n ? 0 : -1;
}

static int run(const char *path, const char *request, int json_wrap,
	       int pass_fd)
{
	struct sockaddr_un a;
	struct conn *c = calloc(1, sizeof(*c));
	char *line;
	int rc = EXIT_UNREACHABLE, ndata = 0;

	if (!c)
		return EXIT_UNREACHABLE;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "skyfencectl: socket path too long: %s\n",
			path);
		free(c);
		return EXIT_USAGE;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr,
			"skyfencectl: cannot reach skyfenced at %s: %s%s\n",
			path, strerror(errno),
			errno == EACCES
				? " (not in the control socket's group?)"
				: "");
		goto out;
	}
	line = read_line(c);
	if (!line || strncmp(line, "SKYFENCE ", 9) != 0) {
		if (line && !strncmp(line, "ERR ", 4)) {
			fprintf(stderr, "skyfencectl: %s\n", line + 4);
		} else {
			fprintf(stderr,
				"skyfencectl: %s: no skyfenced greeting\n",
				path);
		}
		goto out;
	}
	if (atoi(line + 9) != 1) {
		fprintf(stderr,
			"skyfencectl: skyfenced speaks protocol %d, this client 1\n",
			atoi(line + 9));
		goto out;
	}
	if (send_request(c->fd, request, pass_fd) != 0) {
		fprintf(stderr, "skyfencectl: send: %s\n", strerror(errno));
		goto out;
	}
	if (json_wrap)
		printf("{\"data\":[");
	while ((line = read_line(c))) {
		if (!strncmp(line, "= ", 2)) {
			if (json_wrap) {
				printf("%s", ndata++ ? "," : "");
				json_print_str(line + 2);
			} else {
				puts(line + 2);
			}
			continue;
		}
		if (!strncmp(line, "OK", 2)) {
			const char *msg = line[2] == ' ' ? line + 3 : "";

			if (json_wrap) {
				printf("],\"ok\":true,\"message\":");
				json_print_str(msg);
				printf("}\n");
			} else if (*msg) {
				puts(msg);
			}
			rc = 0;
			goto out;
		}
		if (!strncmp(line, "ERR ", 4)) {
			char *kind = line + 4, *msg = strchr(kind, ' ');

			if (msg)
				*msg++ = '\0';
			if (json_wrap) {
				printf("],\"ok\":false,\"error\":");
				json_print_str(kind);
				printf(",\"message\":");
				json_print_str(msg ? msg : "");
				printf("}\n");
			}
			fprintf(stderr, "skyfencectl: %s\n", msg ? msg : kind);
			rc = !strcmp(kind, "usage")  ? EXIT_USAGE
			     : !strcmp(kind, "busy") ? EXIT_UNREACHABLE
						     : EXIT_REFUSED;
			goto out;
		}
		fprintf(stderr, "skyfencectl: unexpected reply line: %s\n",
			line);
		goto out;
	}
	fprintf(stderr, "skyfencectl: skyfenced closed or did not answer\n");
out:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}

/* The "seq N" and "sha256 HEX" of `audit head` (or the state
 * directory's audit.head) in @path. Returns 0, or -1 (said why). */
static int read_head(const char *path, uint64_t *seq, uint8_t h[AUDIT_HASH])
{
	char buf[1024], hex[AUDIT_HEX], *p;
	unsigned long long s;
	FILE *f = fopen(path, "re");
	size_t n;
	int ok;

	if (!f) {
		fprintf(stderr, "skyfencectl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "seq ");
	ok = p && sscanf(p, "seq %llu", &s) == 1;
	p = ok ? strstr(p, "sha256 ") : NULL;
	ok = p && sscanf(p, "sha256 %64s", hex) == 1 &&
	     strlen(hex) == 2 * AUDIT_HASH &&
	     audit_unhex(hex, AUDIT_HASH, h) == 0;
	if (!ok) {
		fprintf(stderr,
			"skyfencectl: %s: no 'seq N' and 'sha256 HEX' (as `skyfencectl audit head` prints)\n",
			path);
		return -1;
	}
	*seq = s;
	return 0;
}

/* What the chain's gap records say was lost, after "chain intact": the
 * chain holds the loss, so it is intact, and exit 0. */
static void verify_gaps(const struct audit_verify *v)
{
	static const char *const how[AUDIT_GAP_CAUSES] = {
		[AUDIT_GAP_STOP] = "at a stop",
		[AUDIT_GAP_BUFFER] = "with the queue full",
		[AUDIT_GAP_UNWRITABLE] = "not made lines",
	};
	static const enum audit_gap_cause order[] = { AUDIT_GAP_STOP,
						      AUDIT_GAP_BUFFER,
						      AUDIT_GAP_UNWRITABLE };
	unsigned long long all = 0;
	const char *sep = ": ";
	size_t i;

	if (!v->gaps)
		return;
	for (i = 0; i < AUDIT_GAP_CAUSES; i++)
		all += v->lost[i];
	printf(", but %llu record(s) were lost (%llu gap record(s))", all,
	       (unsigned long long)v->gaps);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!v->lost[order[i]])
			continue;
		printf("%s%llu %s", sep, (unsigned long long)v->lost[order[i]],
		       how[order[i]]);
		sep = ", ";
	}
	if (v->repeated)
		printf("; %llu stop's gap record(s) written again (first at seq "
		       "%llu: a start cut short before it removed the count), "
		       "counted once",
		       (unsigned long long)v->repeated,
		       (unsigned long long)v->repeated_seq);
}

/* ---- the fleet's anchors: the heads a node published to the bucket */

#define ANCHORS_MAX 64 /* the bucket keeps 64 revisions of a key */

struct anchors {
	struct {
		uint64_t rev, seq;
		char sha[FLEET_HEX_LEN + 1];
	} a[ANCHORS_MAX];
	unsigned n, bad;
	uint64_t max_seq, max_rev;
	/* the anchor deleted, or moved back, at this revision (0: never):
	 * whoever did (the node's credentials, or an admin's) could hide
	 * what a log lost */
	uint64_t deleted_rev, down_rev;
};

static void anchor_one(void *ctx, uint64_t rev, const char *val, size_t len)
{
	struct anchors *an = ctx;
	struct fleet_head h;
	char err[200];

	if (!val) {
		if (an->n && !an->deleted_rev)
			an->deleted_rev = rev;
		return;
	}
	if (fleetval_head_decode(val, len, &h, err, sizeof(err)) != 0) {
		an->bad++;
		return;
	}
	if (an->n && h.seq < an->a[an->n - 1].seq && !an->down_rev)
		an->down_rev = rev;
	if (an->n == ANCHORS_MAX)
		return;
	an->a[an->n].rev = rev;
	an->a[an->n].seq = h.seq;
	memcpy(an->a[an->n].sha, h.sha256, sizeof(an->a[an->n].sha));
	if (h.seq >= an->max_seq) {
		an->max_seq = h.seq;
		an->max_rev = rev;
	}
	an->n++;
}

struct fleet_args {
	struct fleet_opts o;
	const char *node; /* --fleet NODE */
};

/* --nats URLS --nats-user U --nats-password-file F [--nats-ca F]
 * [--nats-bucket B] --fleet NODE, at the front of @argv: 1 (taken, with
 * *@used words), 0 (not one of them), -1 (a usage error said). */
static int fleet_arg(struct fleet_args *fa, int argc, char **argv, int *used)
{
	static const char *const names[] = {
		"--nats",	 "--nats-user", "--nats-password-file",
		"--nats-ca",	 "--nats-cert", "--nats-key",
		"--nats-bucket", "--fleet"
	};
	const char **slots[] = { &fa->o.urls,	       &fa->o.user,
				 &fa->o.password_file, &fa->o.ca,
				 &fa->o.cert,	       &fa->o.key,
				 &fa->o.bucket,	       &fa->node };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(argv[0], names[i]) != 0)
			continue;
		if (argc < 2) {
			fprintf(stderr, "skyfencectl: %s needs a value\n",
				names[i]);
			return -1;
		}
		*slots[i] = argv[1];
		*used = 2;
		return 1;
	}
	return 0;
}

/* The heads @fa->node published, from the bucket. 0, -1 (said: the
 * options or the store), or -2 (said: no head to check against). */
static int read_anchors(struct fleet_args *fa, struct anchors *an)
{
	struct fleet_reader *r;
	char err[600], key[FLEET_KEY_MAX];
	int rc;

	if (!fa->o.urls || !fa->o.user || !fa->o.password_file ||
	    !fleetval_node_ok(fa->node)) {
		fprintf(stderr,
			"skyfencectl: audit verify --fleet NODE needs --nats "
			"URLS, --nats-user and --nats-password-file (and a "
			"node id of letters, digits, '_' or '-')\n");
		return -1;
	}
	if (!fa->o.bucket)
		fa->o.bucket = "skyfence";
	fa->o.node = "auditor";
	r = fleet_reader_open(&fa->o, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "skyfencectl: audit verify: the fleet: %s\n",
			err);
		fleet_shutdown();
		return -1;
	}
	fleetval_node_key_of(fa->node, 'h', key);
	rc = fleet_reader_history(r, key, anchor_one, an, err, sizeof(err));
	fleet_reader_close(r);
	fleet_shutdown();
	if (rc != 0) {
		fprintf(stderr, "skyfencectl: audit verify: %s: %s\n", key,
			err);
		return -1;
	}
	if (an->deleted_rev || an->down_rev) {
		fprintf(stderr,
			"skyfencectl: audit verify: %s: the node's anchor was "
			"%s at revision %llu (its own credentials, or an "
			"admin's): what its log lost cannot be told\n",
			key, an->deleted_rev ? "deleted" : "moved back",
			(unsigned long long)(an->deleted_rev ? an->deleted_rev
							     : an->down_rev));
		return -2;
	}
	if (!an->n) {
		fprintf(stderr,
			"skyfencectl: audit verify: the fleet holds no audit "
			"head of node %s (%s): nothing to check the files "
			"against\n",
			fa->node, key);
		return -2;
	}
	return 0;
}

/* After a good line: the anchor at its seq must be its hash. 0, or -1
 * with why. */
static int check_anchor(const struct anchors *an, const struct audit_verify *v,
			unsigned *checked, char *why, size_t whylen)
{
	char hex[AUDIT_HEX];
	unsigned i;

	for (i = 0; i < an->n; i++) {
		if (an->a[i].seq != v->seq)
			continue;
		audit_hex(v->prev, AUDIT_HASH, hex);
		if (strcmp(hex, an->a[i].sha) != 0) {
			snprintf(why, whylen,
				 "seq %llu is not the record the node "
				 "published to the fleet (revision %llu): "
				 "changed",
				 (unsigned long long)v->seq,
				 (unsigned long long)an->a[i].rev);
			return -1;
		}
		(*checked)++;
	}
	return 0;
}

/* Whether the node published a head beyond the files' end (said). */
static int anchors_beyond(const struct anchors *an,
			  const struct audit_verify *v, const char *node,
			  const char *where)
{
	if (an->max_seq <= v->seq)
		return 0;
	fprintf(stderr,
		"skyfencectl: audit verify: %s: ends at seq %llu, but node %s "
		"published seq %llu to the fleet (revision %llu): records "
		"missing at the end (cut)\n",
		where, (unsigned long long)v->seq, node,
		(unsigned long long)an->max_seq,
		(unsigned long long)an->max_rev);
	return 1;
}

/* The chain's end against the head --head names. 0, or -1 (said). */
static int verify_head(const struct audit_verify *v, uint64_t head_seq,
		       const uint8_t head[AUDIT_HASH], const char *where)
{
	if (v->seq != head_seq) {
		fprintf(stderr,
			"skyfencectl: audit verify: %s: ends at seq %llu, the "
			"head is at seq %llu: %s\n",
			where, (unsigned long long)v->seq,
			(unsigned long long)head_seq,
			v->seq < head_seq
				? "records missing at the end (truncated)"
				: "records beyond the head (not written by "
				  "this chain?)");
		return -1;
	}
	if (memcmp(v->prev, head, AUDIT_HASH) != 0) {
		fprintf(stderr,
			"skyfencectl: audit verify: %s: changed: its SHA-256 "
			"is not the head's\n",
			where);
		return -1;
	}
	return 0;
}

/* audit verify's options: --head FILE, the fleet's (fleet_arg). The
 * words taken, or -1 (said). */
static int verify_opts(int argc, char **argv, struct fleet_args *fa,
		       uint64_t *head_seq, uint8_t head[AUDIT_HASH],
		       int *have_head)
{
	int taken = 0, used = 0, r;

	for (;;) {
		if (argc - taken >= 2 && !strcmp(argv[taken], "--head")) {
			if (read_head(argv[taken + 1], head_seq, head) != 0)
				return -1;
			*have_head = 1;
			used = 2;
		} else if (argc - taken >= 1 &&
			   (r = fleet_arg(fa, argc - taken, argv + taken,
					  &used)) != 0) {
			if (r < 0)
				return -1;
		} else {
			return taken;
		}
		taken += used;
	}
}

/* `audit verify`: every line of every file, in order, one chain. The
 * first broken link is named (file and line) and ends the check. */
static int audit_verify(int argc, char **argv)
{
	struct audit_verify v;
	char why[256], prev_where[PATH_MAX + 32] = "";
	uint8_t head[AUDIT_HASH];
	uint64_t head_seq = 0;
	int have_head = 0, i, used = 0, r;
	char *line = NULL;
	size_t cap = 0;
	struct fleet_args fa;
	struct anchors *an = NULL;
	unsigned anchored = 0;

	memset(&v, 0, sizeof(v));
	memset(&fa, 0, sizeof(fa));
	used = verify_opts(argc, argv, &fa, &head_seq, head, &have_head);
	if (used < 0)
		return EXIT_USAGE;
	argc -= used;
	argv += used;
	if (argc < 1) {
		fprintf(stderr,
			"usage: skyfencectl audit verify [--head FILE] [--fleet "
			"NODE --nats URLS --nats-user U --nats-password-file F "
			"[--nats-ca F [--nats-cert F --nats-key F]] "
			"[--nats-bucket B]] FILE...\n");
		return EXIT_USAGE;
	}
	if (fa.node || fa.o.urls) {
		an = calloc(1, sizeof(*an));
		r = an ? read_anchors(&fa, an) : -1;
		if (r != 0) {
			free(an);
			return r == -1 ? EXIT_USAGE : EXIT_REFUSED;
		}
	}
	for (i = 0; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "re") : stdin;
		unsigned long ln = 0;
		ssize_t n;

		if (!f) {
			fprintf(stderr, "skyfencectl: %s: %s\n", argv[i],
				strerror(errno));
			free(line);
			return EXIT_USAGE;
		}
		while ((n = getline(&line, &cap, f)) > 0) {
			int nl = line[n - 1] == '\n', rc;

			ln++;
			if (nl)
				line[--n] = '\0';
			/* a newline-less line is the last only if nothing
			 * follows, in this file or the next */
			if (!nl && i + 1 < argc)
				nl = 1;
			rc = audit_verify_line(&v, line, (size_t)n, nl, why,
					       sizeof(why));
			if (rc == 0 && an)
				rc = check_anchor(an, &v, &anchored, why,
						  sizeof(why));
			if (rc != 0) {
				if (rc == -2)
					fprintf(stderr,
						"skyfencectl: audit verify: %s: %s\n",
						prev_where, why);
				else
					fprintf(stderr,
						"skyfencectl: audit verify: %s:%lu: %s\n",
						argv[i], ln, why);
				if (f != stdin)
					fclose(f);
				free(line);
				free(an);
				return EXIT_REFUSED;
			}
			snprintf(prev_where, sizeof(prev_where), "%s:%lu",
				 argv[i], ln);
		}
		if (f != stdin)
			fclose(f);
	}
	free(line);
	if (an && anchors_beyond(an, &v, fa.node,
				 prev_where[0] ? prev_where : argv[argc - 1])) {
		free(an);
		return EXIT_REFUSED;
	}
	if (have_head &&
	    verify_head(&v, head_seq, head,
			prev_where[0] ? prev_where : argv[argc - 1]) != 0) {
		free(an);
		return EXIT_REFUSED;
	}
	if (!v.records) {
		printf("audit verify: no records\n");
		free(an);
		return 0;
	}
	printf("audit verify: %llu record(s), seq %llu to %llu, chain intact%s",
	       (unsigned long long)v.records, (unsigned long long)v.first_seq,
	       (unsigned long long)v.seq,
	       have_head ? ", ends at the head" : "");
	if (an) {
		printf(", %u of the fleet's %u anchor(s) of node %s matched "
		       "(the others before the files' first record), none "
		       "beyond the end",
		       anchored, an->n, fa.node);
		free(an);
	}
	verify_gaps(&v);
	printf("\n");
	return 0;
}

/* The command @args (@n words) names: the first row whose words match
 * and whose count of further words fits, *@used its words. NULL, with
 * the usage said on stderr, if none. */
static const struct ctl_verb *find_command(int n, char **args, int *used)
{
	size_t k, len = n ? strlen(args[0]) : 0;
	int forms = 0;

	for (k = 0; k < N_COMMANDS; k++) {
		const struct ctl_verb *s = &commands[k];
		int u = ctl_verb_words(s, n, args), extra = n - u;

		if (u && extra >= s->min && (s->max < 0 || extra <= s->max)) {
			*used = u;
			return s;
		}
	}
	/* every form of the command's first word, or the whole usage */
	for (k = 0; n && k < N_COMMANDS; k++) {
		const char *w = commands[k].words;

		if (strncmp(w, args[0], len) || (w[len] && w[len] != ' '))
			continue;
		fprintf(stderr, "usage: skyfencectl %s %s\n", w,
			cmd_args(&commands[k]));
		forms++;
	}
	if (!forms)
		usage(stderr);
	return NULL;
}

/* A file verb's file is its first word that is not an option
 * ("policy load --dry-run FILE", "policy diff --limit 5 FILE"): moved to
 * @args[@used], where the daemon reads it, the options after it in their
 * order. */
static void file_first(char **args, int used, int n)
{
	char *file;
	int i = used, j;

	while (i < n &&
	       (!strcmp(args[i], "--dry-run") || !strcmp(args[i], "--limit")))
		i += !strcmp(args[i], "--limit") ? 2 : 1;
	if (i <= used || i >= n)
		return;
	file = args[i];
	for (j = i; j > used; j--)
		args[j] = args[j - 1];
	args[used] = file;
}

/* Runs command @s: skyfencectl's own here, the daemon's sent with the
 * words after its own (@args from @used), the file it names opened, and
 * the format asked for. Returns the exit code. */
static int command(const char *path, const struct ctl_verb *s, int n,
		   char **args, int used, int json, int prometheus)
{
	char req[CTL_MAX_REQUEST + 64], abs_path[PATH_MAX];
	int pass = -1, i;
	size_t o;

	if (prometheus && (!(s->flags & VERB_PROM) || json)) {
		fprintf(stderr, "usage: skyfencectl %s %s\n", s->words,
			cmd_args(s));
		return EXIT_USAGE;
	}
	if (!strcmp(s->words, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(s->words, "audit verify"))
		return audit_verify(n - used, args + used);
	if (!strcmp(s->words, "version")) {
		/* the nDPI that classifies is the daemon's: status
		 * says which; the client links none */
		printf("skyfencectl %s\n", SKYFENCE_VERSION);
		return 0;
	}
	if (s->flags & VERB_FILE)
		file_first(args, used, n);
	o = (size_t)snprintf(req, sizeof(req), "%s", s->words);
	for (i = used; i < n && o < sizeof(req); i++) {
		const char *w = args[i];

		if ((s->flags & VERB_FILE) && i == used) {
			/* opened as the caller, passed to the daemon:
			 * it never opens a client's path itself */
			pass = open(w, O_RDONLY | O_NONBLOCK | O_NOCTTY |
					       O_CLOEXEC);
			if (pass < 0) {
				fprintf(stderr, "skyfencectl: %s: %s\n", w,
					strerror(errno));
				return errno == ENOENT ? EXIT_USAGE
						       : EXIT_REFUSED;
			}
			if (realpath(w, abs_path))
				w = abs_path;
		}
		o += (size_t)snprintf(req + o, sizeof(req) - o, " %s", w);
	}
	if (o >= CTL_MAX_REQUEST) {
		fprintf(stderr, "skyfencectl: request longer than %d bytes\n",
			CTL_MAX_REQUEST);
		return EXIT_USAGE;
	}
	if ((s->flags & (VERB_JSON | VERB_PROM)) && (json || prometheus))
		snprintf(req + o, sizeof(req) - o, " %s",
			 prometheus ? "prometheus" : "json");
	return run(path, req, json && !(s->flags & (VERB_JSON | VERB_PROM)),
		   pass);
}

int main(int argc, char **argv)
{
	const char *path = getenv("SKYFENCE_CTL");
	int json = 0, prometheus = 0, i, n = 0;
	char *args[CTL_MAX_ARGS];
	const struct ctl_verb *s;
	int used = 0;

	if (!path || !*path)
		path = SKYFENCE_CTL_PATH;
	/* a report reads files, as many as logrotate keeps (two years of
	 * weeks): past the daemon's limit on words, never sent */
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++)
		i += !strcmp(argv[i], "--socket");
	if (i < argc && !strcmp(argv[i], "report"))
		return report_command(argc - i - 1, argv + i + 1);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--prometheus")) {
			prometheus = 1;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] == '-' && n == 0) {
			fprintf(stderr, "skyfencectl: unknown option %s\n",
				argv[i]);
			return EXIT_USAGE;
		} else if (n < CTL_MAX_ARGS) {
			const char *c;

			/* a newline would end the request and start another
			 * one the caller never asked for */
			for (c = argv[i]; *c; c++) {
				if ((unsigned char)*c < 0x20 || *c == 0x7f) {
					fprintf(stderr,
						"skyfencectl: argument %d has a control "
						"character (0x%02x): refused\n",
						i, (unsigned char)*c);
					return EXIT_USAGE;
				}
			}
			args[n++] = argv[i];
		} else {
			fprintf(stderr,
				"skyfencectl: more than %d words: the daemon takes "
				"no more\n",
				CTL_MAX_ARGS);
			return EXIT_USAGE;
		}
	}
	s = find_command(n, args, &used);
	if (!s)
		return EXIT_USAGE;
	return command(path, s, n, args, used, json, prometheus);
}
