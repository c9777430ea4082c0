/* skyfenced: the skyfence daemon. Inline (NFQUEUE) by default; --pcap runs
 * the same engine over a capture; --check-policy validates a policy. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/classify.h"
#include "main/daemon.h"
#include "daemon/daemon_opts.h"
#include "policy/loader.h"
#include "sys/log.h"
#include "kernel/bypass.h"
#include "kernel/fcset.h"
#include "core/mark.h"
#include "audit/audit.h"
#include "policy/addrsig.h"
#include "engine/offline.h"
#include "policy/policy.h"
#include "sys/privdrop.h"
#include "kernel/queue.h"

#define DEFAULT_OFFLINE_FLOWS 262144u
/* long options without a letter */
enum { OPT_PEER = 1000, OPT_PEER_LISTEN, OPT_PEER_KEY };
#define DEFAULT_INLINE_FLOWS 131072u
#define DEFAULT_INLINE_IDLE_S 120u
#define DEFAULT_QUEUE_MAXLEN 8192u
#define DEFAULT_RCVBUF (8u << 20)
#define DEFAULT_CTL_PATH "/run/skyfence/ctl.sock"
#define DEFAULT_STATE_DIR "/var/lib/skyfence"
#define DEFAULT_CTL_IDLE_S 30u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: skyfenced --policy FILE [--queue N|A:B] [--workers N] [--foreground] [inline options]\n"
		"       skyfenced --pcap FILE [--policy FILE] [--guess] [--audit]\n"
		"       skyfenced --check-policy FILE\n"
		"       skyfenced --list-protocols | --list-categories\n"
		"       skyfenced --mark-values [--mark-mask M]\n"
		"       skyfenced --version\n"
		"\n"
		"inline (NFQUEUE; install the rules with scripts/skyfence-rules.sh):\n"
		"  --policy FILE        policy; SIGHUP reloads it, all or nothing\n"
		"  --queue N|A:B        NFQUEUE number, or the range of skyfence-rules.sh\n"
		"                       --queue-balance A:B (default 0); throttled flows\n"
		"                       come to queue N + %u, without GSO; fail-closed\n"
		"                       departments' to N + %u and N + %u, without\n"
		"                       fail-open\n"
		"  --workers N          worker threads over the queues (default one per\n"
		"                       queue, at most the online CPUs); each has its\n"
		"                       own flow table of --max-flows\n"
		"  --queue-maxlen N     kernel queue length (default %u)\n"
		"  --rcvbuf BYTES       netlink receive buffer (default %u)\n"
		"  --fail-closed        a full queue drops instead of accepting\n"
		"  --mark-mask M        skyfence's bits of the conntrack mark (default 0x%08x)\n"
		"  --max-flows N        flow table size (default %u inline, %u offline)\n"
		"  --idle-timeout S     forget idle flows (default %u inline; offline\n"
		"                       never, as ndpiReader reading a file)\n"
		"  --foreground         stay in the foreground, log to stderr\n"
		"  --audit-log FILE     audit records (JSON lines, chained); '-' for\n"
		"                       stderr; SIGUSR2 opens it again (logrotate)\n"
		"  --audit-syslog       audit records to syslog as well\n"
		"  --node-id NAME       the node named in every record (default: the\n"
		"                       host name)\n"
		"  --audit-rate R[/B]   a department's records per second, burst B\n"
		"                       (default %u/%u; 0: every record)\n"
		"  --audit-buffer BYTES records waiting for the disk at most (default\n"
		"                       %u); beyond it they are counted lost\n"
		"  --audit-flows N      flows whose decision is kept for their end\n"
		"                       record (default %u)\n"
		"  --audit-ct-reliable  conntrack's flow ends delivered reliably: none\n"
		"                       lost, but while skyfenced is stalled dead\n"
		"                       entries fill the conntrack table\n"
		"  --pidfile FILE       write the process id\n"
		"  --debug              debug logging\n"
		"  --ctl PATH           control socket (default %s)\n"
		"  --ctl-group NAME     its group, mode 0660: read-only access (default\n"
		"                       skyfenced's own group)\n"
		"  --ctl-admin-group NAME  members may change things (default: root only)\n"
		"  --ctl-timeout S      close idle control clients (default %u)\n"
		"  --state-dir DIR      the running policy and kill switch, kept across\n"
		"                       restarts (default %s; 'none': not kept)\n"
		"  --user NAME          started as root: keep CAP_NET_ADMIN only and\n"
		"                       become NAME (the package's: skyfence)\n"
		"  --peer ADDR:PORT     an HA peer (up to 4): the kill switch and\n"
		"                       runtime changes in step, drift shown\n"
		"  --peer-listen ADDR:PORT  where the peers' messages come in (the\n"
		"                       sync link); --peer-key FILE: their HMAC key\n"
		"  --metrics-listen ADDR:PORT  serve GET /metrics (Prometheus) there;\n"
		"                       [ADDR]:PORT for IPv6 (default: off)\n"
		"offline:\n"
		"  --pcap FILE          classify a pcap/pcapng capture, one TSV line per flow\n"
		"  --guess              at give-up, let nDPI guess from IP/port lists\n"
		"  --audit              write logged flows' records to stderr as JSON lines\n"
		"                       (the daemon's chained format; --audit-log FILE\n"
		"                       writes them there instead)\n"
		"other:\n"
		"  --check-policy FILE  validate a policy; every error as FILE:LINE:COL\n"
		"  --list-protocols     nDPI protocol ids and names rules can use\n"
		"  --list-categories    nDPI category names rules can use\n"
		"  --mark-values        the mark values the kernel rules match and the\n"
		"                       throttle queue offset, as shell variables\n",
		QUEUE_THROTTLE_OFFSET, QUEUE_FAILCLOSED_OFFSET,
		QUEUE_FAILCLOSED_OFFSET + QUEUE_THROTTLE_OFFSET,
		DEFAULT_QUEUE_MAXLEN, DEFAULT_RCVBUF, MARK_DEFAULT_MASK,
		DEFAULT_INLINE_FLOWS, DEFAULT_OFFLINE_FLOWS,
		DEFAULT_INLINE_IDLE_S, DEFAULT_AUDIT_RATE, DEFAULT_AUDIT_BURST,
		DEFAULT_AUDIT_BUFFER, DEFAULT_AUDIT_FLOWS, DEFAULT_CTL_PATH,
		DEFAULT_CTL_IDLE_S, DEFAULT_STATE_DIR);
}

static void print_error(void *ctx, const char *msg)
{
	fprintf(ctx, "%s\n", msg);
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A policy without departments or rules: everything allowed. */
static struct policy *empty_policy(struct classifier *c)
{
	struct policy_names n;
	struct policy_parser *pp;
	struct policy *p;

	loader_names(c, &n);
	pp = policy_parser_create("(none)", &n);
	if (!pp)
		return NULL;
	p = policy_parser_finish(pp);
	policy_parser_destroy(pp);
	return p;
}

static int print_mark_values(uint32_t mask)
{
	struct mark_layout l;

	if (mark_layout_init(&l, mask) != 0) {
		fprintf(stderr,
			"skyfenced: mark mask 0x%08x: needs %d or more contiguous bits\n",
			mask, MARK_MIN_BITS);
		return 2;
	}
	printf("SF_MARK_MASK=0x%08x\nSF_VERDICT_MASK=0x%08x\n"
	       "SF_ACCEPT=0x%08x\nSF_DROP=0x%08x\nSF_REJECT=0x%08x\n"
	       "SF_THROTTLE=0x%08x\nSF_QUEUED=0x%08x\nSF_NOT_QUEUED=0x%08x\n"
	       "SF_THROTTLE_QUEUE_OFFSET=%u\nSF_FAILCLOSED_QUEUE_OFFSET=%u\n"
	       "SF_FAILCLOSED_SET4=%s\nSF_FAILCLOSED_SET6=%s\n"
	       "SF_BYPASS_PREFIX=%s\nSF_NOSTATE_ACCT=%s\n",
	       l.mask, l.verdict_mask, mark_verdict_value(&l, MARK_ACCEPT),
	       mark_verdict_value(&l, MARK_DROP),
	       mark_verdict_value(&l, MARK_REJECT),
	       mark_verdict_value(&l, MARK_THROTTLE), l.queued, ~l.queued,
	       QUEUE_THROTTLE_OFFSET, QUEUE_FAILCLOSED_OFFSET, FCSET_V4,
	       FCSET_V6, BYPASS_PREFIX, NOSTATE_ACCT);
	return 0;
}

static int parse_u32_any(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int list_names(int protocols)
{
	struct cls_opts co = { 16, 80, 24, 0, NULL };
	struct classifier *c;
	char err[256];
	unsigned i, n;

	c = classifier_open(&co, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "skyfenced: %s\n", err);
		return 1;
	}
	n = protocols ? classifier_proto_count(c)
		      : classifier_category_count(c);
	for (i = 0; i < n; i++) {
		const char *name =
			protocols ? classifier_proto_name(c, (uint16_t)i)
				  : classifier_category_name(c, (uint16_t)i);

		if (name[0] &&
		    (protocols || classifier_category_id(c, name) == (int)i))
			printf("%u\t%s\n", i, name);
	}
	classifier_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "guess", no_argument, NULL, 'g' },
		{ "audit", no_argument, NULL, 'a' },
		{ "max-flows", required_argument, NULL, 'm' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "check-policy", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "queue-maxlen", required_argument, NULL, 'Q' },
		{ "workers", required_argument, NULL, 'W' },
		{ "rcvbuf", required_argument, NULL, 'B' },
		{ "fail-closed", no_argument, NULL, 'F' },
		{ "mark-mask", required_argument, NULL, 'M' },
		{ "mark-values", no_argument, NULL, 'K' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "audit-log", required_argument, NULL, 'A' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "debug", no_argument, NULL, 'd' },
		{ "ctl", required_argument, NULL, 'S' },
		{ "ctl-group", required_argument, NULL, 'G' },
		{ "ctl-admin-group", required_argument, NULL, 'H' },
		{ "ctl-timeout", required_argument, NULL, 'T' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "user", required_argument, NULL, 'u' },
		{ "metrics-listen", required_argument, NULL, 'X' },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "peer-listen", required_argument, NULL, OPT_PEER_LISTEN },
		{ "peer-key", required_argument, NULL, OPT_PEER_KEY },
		{ "node-id", required_argument, NULL, 'N' },
		{ "audit-rate", required_argument, NULL, 'R' },
		{ "audit-buffer", required_argument, NULL, 'U' },
		{ "audit-syslog", no_argument, NULL, 'Y' },
		{ "audit-flows", required_argument, NULL, 'w' },
		{ "audit-ct-reliable", no_argument, NULL, 'O' },
		{ "list-protocols", no_argument, NULL, 'L' },
		{ "list-categories", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcap = NULL, *policy_path = NULL, *check = NULL;
	struct cls_opts co = { DEFAULT_OFFLINE_FLOWS, 80, 24, 0, NULL };
	struct offline_opts oo = { NULL,   DEFAULT_OFFLINE_FLOWS,
				   0, /* no idle end, as ndpiReader */
				   stdout, stderr,
				   0,	   NULL,
				   NULL };
	struct daemon_opts dopt = { NULL,
				    0,
				    1,
				    0,
				    DEFAULT_QUEUE_MAXLEN,
				    DEFAULT_RCVBUF,
				    1,
				    MARK_DEFAULT_MASK,
				    DEFAULT_INLINE_FLOWS,
				    DEFAULT_INLINE_IDLE_S * 1000ull,
				    0,
				    NULL,
				    NULL,
				    LOG_LVL_INFO,
				    DEFAULT_CTL_PATH,
				    (gid_t)-1,
				    (gid_t)-1,
				    DEFAULT_CTL_IDLE_S * 1000ull,
				    DEFAULT_STATE_DIR,
				    NULL,
				    0,
				    0,
				    NULL,
				    NULL,
				    0,
				    0,
				    0,
				    0,
				    0,
				    0,
				    NULL,
				    { NULL, NULL, NULL, NULL },
				    0,
				    NULL };
	struct classifier *cls = NULL;
	struct policy *pol = NULL;
	int mark_values = 0;
	uint32_t v;
	int ch, rc;

	dopt.audit_rate = DEFAULT_AUDIT_RATE;
	dopt.audit_burst = DEFAULT_AUDIT_BURST;
	dopt.audit_buffer = DEFAULT_AUDIT_BUFFER;
	dopt.audit_flows = DEFAULT_AUDIT_FLOWS;

	while ((ch = getopt_long(
			argc, argv,
			"r:p:gam:i:c:q:Q:W:B:FM:KfA:P:dS:G:H:T:D:u:X:N:R:U:Yw:OLCVh",
			opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			pcap = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'g':
			co.guess = 1;
			break;
		case 'a':
			oo.audit = 1;
			break;
		case 'm':
			if (parse_u32(optarg, 16, 1u << 24, &v) != 0) {
				fprintf(stderr,
					"skyfenced: --max-flows: '%s' is not a number from 16 to 16777216\n",
					optarg);
				return 2;
			}
			co.max_flows = oo.max_flows = dopt.max_flows = v;
			break;
		case 'i':
			if (parse_u32(optarg, 1, 86400 * 30, &v) != 0) {
				fprintf(stderr,
					"skyfenced: --idle-timeout: '%s' is not a number of seconds from 1 to 2592000\n",
					optarg);
				return 2;
			}
			oo.idle_ms = dopt.idle_ms = (uint64_t)v * 1000;
			break;
		case 'q': {
			uint32_t a, b;
			char *colon = strchr(optarg, ':');
			int bad;

			if (colon) {
				*colon = '\0';
				bad = parse_u32(optarg, 0,
						QUEUE_FAILCLOSED_OFFSET - 1,
						&a) != 0 ||
				      parse_u32(colon + 1, 0,
						QUEUE_FAILCLOSED_OFFSET - 1,
						&b) != 0 ||
				      b < a || b - a >= MAX_QUEUES;
				*colon = ':';
			} else {
				bad = parse_u32(optarg, 0,
						QUEUE_FAILCLOSED_OFFSET - 1,
						&a) != 0;
				b = a;
			}
			if (bad) {
				fprintf(stderr,
					"skyfenced: --queue: '%s' is not a queue number or range A:B (0-%u, "
					"at most %u queues; N + %u is its throttled flows' queue, N + %u and "
					"N + %u those of fail-closed departments)\n",
					optarg, QUEUE_FAILCLOSED_OFFSET - 1,
					MAX_QUEUES, QUEUE_THROTTLE_OFFSET,
					QUEUE_FAILCLOSED_OFFSET,
					QUEUE_FAILCLOSED_OFFSET +
						QUEUE_THROTTLE_OFFSET);
				return 2;
			}
			dopt.queue_num = (uint16_t)a;
			dopt.n_queues = (uint16_t)(b - a + 1);
			break;
		}
		case 'W': {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);

			if (cpus < 1)
				cpus = 1;
			if (parse_u32(optarg, 1, MAX_WORKERS, &v) != 0 ||
			    v > (uint32_t)cpus) {
				fprintf(stderr,
					"skyfenced: --workers: '%s' is not a number from 1 to %ld "
					"(the online CPUs: more threads than cores only take turns)\n",
					optarg,
					cpus < MAX_WORKERS ? cpus
							   : MAX_WORKERS);
				return 2;
			}
			dopt.n_workers = (uint16_t)v;
			break;
		}
		case 'Q':
			if (parse_u32(optarg, 16, 1u << 22,
				      &dopt.queue_maxlen) != 0) {
				fprintf(stderr,
					"skyfenced: --queue-maxlen: '%s' is not a number from 16 to 4194304\n",
					optarg);
				return 2;
			}
			break;
		case 'B':
			if (parse_u32(optarg, 65536, 1u << 30, &dopt.rcvbuf) !=
			    0) {
				fprintf(stderr,
					"skyfenced: --rcvbuf: '%s' is not a size from 65536 to 1073741824\n",
					optarg);
				return 2;
			}
			break;
		case 'F':
			dopt.fail_open = 0;
			break;
		case 'M':
			if (parse_u32_any(optarg, &dopt.mark_mask) != 0) {
				fprintf(stderr,
					"skyfenced: --mark-mask: '%s' is not a number\n",
					optarg);
				return 2;
			}
			break;
		case 'K':
			mark_values = 1;
			break;
		case 'f':
			dopt.foreground = 1;
			break;
		case 'A':
			dopt.audit_path = oo.audit_path = optarg;
			break;
		case 'P':
			dopt.pidfile = optarg;
			break;
		case 'd':
			dopt.log_level = LOG_LVL_DEBUG;
			break;
		case 'S':
			dopt.ctl_path = optarg;
			break;
		case 'D':
			dopt.state_dir = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case 'u': {
			char err[256];

			if (priv_lookup(optarg, &dopt.run_uid, &dopt.run_gid,
					err, sizeof(err)) != 0) {
				fprintf(stderr, "skyfenced: --user: %s\n", err);
				return 2;
			}
			dopt.run_user = optarg;
			break;
		}
		case 'X':
			dopt.metrics_listen = optarg;
			break;
		case OPT_PEER:
			if (dopt.n_peers == 4) {
				fprintf(stderr,
					"skyfenced: --peer: at most 4\n");
				return 2;
			}
			dopt.peers[dopt.n_peers++] = optarg;
			break;
		case OPT_PEER_LISTEN:
			dopt.peer_listen = optarg;
			break;
		case OPT_PEER_KEY:
			dopt.peer_key = optarg;
			break;
		case 'N':
			if (!audit_node_ok(optarg)) {
				fprintf(stderr,
					"skyfenced: --node-id: '%s' is not 1 to %u letters, digits or . _ : -\n",
					optarg, AUDIT_NODE_LEN - 1);
				return 2;
			}
			dopt.node_id = oo.node = optarg;
			break;
		case 'R': {
			char rate[16], *slash = strchr(optarg, '/');
			uint32_t b = 0;

			snprintf(rate, sizeof(rate), "%.*s",
				 slash ? (int)(slash - optarg) : 15, optarg);
			if (parse_u32(rate, 0, 1000000, &v) != 0 ||
			    (slash &&
			     parse_u32(slash + 1, 1, 10000000, &b) != 0)) {
				fprintf(stderr,
					"skyfenced: --audit-rate: '%s' is not RATE or RATE/BURST (records per second, 0 for every record)\n",
					optarg);
				return 2;
			}
			dopt.audit_rate = v;
			dopt.audit_burst = slash ? b : v ? v * 10 : 1;
			break;
		}
		case 'U':
			if (parse_u32(optarg, 65536, 1u << 30,
				      &dopt.audit_buffer) != 0) {
				fprintf(stderr,
					"skyfenced: --audit-buffer: '%s' is not a number of bytes from 65536 to 1073741824\n",
					optarg);
				return 2;
			}
			break;
		case 'Y':
			dopt.audit_syslog = 1;
			break;
		case 'O':
			dopt.audit_ct_reliable = 1;
			break;
		case 'w':
			if (parse_u32(optarg, 64, 1u << 24,
				      &dopt.audit_flows) != 0) {
				fprintf(stderr,
					"skyfenced: --audit-flows: '%s' is not a number from 64 to 16777216\n",
					optarg);
				return 2;
			}
			break;
		case 'G':
		case 'H': {
			struct group *g = getgrnam(optarg);

			if (!g) {
				fprintf(stderr,
					"skyfenced: --%s: no group '%s'\n",
					ch == 'G' ? "ctl-group"
						  : "ctl-admin-group",
					optarg);
				return 2;
			}
			if (ch == 'G')
				dopt.ctl_group = g->gr_gid;
			else
				dopt.ctl_admin_group = g->gr_gid;
			break;
		}
		case 'T':
			if (parse_u32(optarg, 1, 86400, &v) != 0) {
				fprintf(stderr,
					"skyfenced: --ctl-timeout: '%s' is not a number of seconds from 1 to 86400\n",
					optarg);
				return 2;
			}
			dopt.ctl_idle_ms = (uint64_t)v * 1000;
			break;
		case 'c':
			check = optarg;
			break;
		case 'L':
		case 'C':
			return list_names(ch == 'L');
		case 'V':
			printf("skyfenced %s (nDPI %s)\n", SKYFENCE_VERSION,
			       classifier_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (mark_values)
		return print_mark_values(dopt.mark_mask);
	if (!pcap && !check) {
		if (!policy_path) {
			usage(stderr);
			return 2;
		}
		dopt.policy_path = policy_path;
		if (!dopt.n_workers) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);

			dopt.n_workers = dopt.n_queues;
			if (cpus >= 1 && dopt.n_workers > cpus)
				dopt.n_workers = (uint16_t)cpus;
			if (dopt.n_workers > MAX_WORKERS)
				dopt.n_workers = MAX_WORKERS;
		}
		if (dopt.n_workers > dopt.n_queues) {
			fprintf(stderr,
				"skyfenced: --workers %u: more workers than the %u queue(s) of --queue "
				"(a worker serves whole queues)\n",
				dopt.n_workers, dopt.n_queues);
			return 2;
		}
		return daemon_run(&dopt);
	}
	if (pcap && check) {
		usage(stderr);
		return 2;
	}
	if (check) {
		co.max_flows = 16;
		if (loader_load(check, &co, &cls, &pol, NULL, print_error,
				stderr) != 0)
			return 1;
		if (pol->notes)
			fputs(pol->notes, stderr);
		printf("%s: OK (%u departments besides default", check,
		       pol->n_depts - 1);
		if (pol->addrsig)
			printf("; %u IPv4 and %u IPv6 address signatures, %u name%s",
			       pol->addrsig->v4, pol->addrsig->v6,
			       pol->addrsig->n_names,
			       pol->addrsig->n_names == 1 ? "" : "s");
		printf(")\n");
		policy_free(pol);
		classifier_close(cls);
		return 0;
	}
	if (policy_path) {
		if (loader_load(policy_path, &co, &cls, &pol, NULL, print_error,
				stderr) != 0)
			return 1;
	} else {
		char err[256];

		cls = classifier_open(&co, err, sizeof(err));
		if (!cls) {
			fprintf(stderr, "skyfenced: %s\n", err);
			return 1;
		}
		pol = empty_policy(cls);
		if (!pol) {
			fprintf(stderr, "skyfenced: out of memory\n");
			classifier_close(cls);
			return 1;
		}
	}
	oo.path = pcap;
	rc = offline_run(&oo, cls, pol);
	policy_free(pol);
	classifier_close(cls);
	return rc == 0 ? 0 : 1;
}
