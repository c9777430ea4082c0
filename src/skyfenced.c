/* skyfenced: the skyfence daemon. Inline (NFQUEUE) by default; --pcap runs
 * the same engine over a capture; --check-policy validates a policy. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stddef.h>
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
#include "engine/engine.h"
#include "engine/offline.h"
#include "policy/policy.h"
#include "sys/privdrop.h"
#include "kernel/queue.h"
#include "skyfence.h"

#define DEFAULT_OFFLINE_FLOWS 262144u
/* long options without a letter */
enum {
	OPT_NATS = 1000,
	OPT_NATS_BUCKET,
	OPT_NATS_USER,
	OPT_NATS_PW,
	OPT_NATS_ADMIN_USER,
	OPT_NATS_ADMIN_PW,
	OPT_NATS_CA,
	OPT_NATS_CERT,
	OPT_NATS_KEY,
	OPT_RADIUS_LISTEN,
	OPT_RADIUS_CLIENTS,
	OPT_RADIUS_GROUPS,
	OPT_IDENTITY_MAX,
	OPT_IDENTITY_LIFETIME,
	OPT_LDAP_URI,
	OPT_LDAP_BASE,
	OPT_LDAP_USER_FILTER,
	OPT_LDAP_GROUP_FILTER,
	OPT_LDAP_GROUP_ATTR,
	OPT_LDAP_BIND_DN,
	OPT_LDAP_BIND_PW,
	OPT_LDAP_LIFETIME,
	OPT_DIFF,
	OPT_LEASE_GROUP,
	OPT_CLOCK_OFFSET,
	OPT_DISSECTORS,
	OPT_OVERLOAD,
};
#define DEFAULT_INLINE_FLOWS 131072u
#define DEFAULT_INLINE_IDLE_S 120u
#define DEFAULT_QUEUE_MAXLEN 8192u
#define DEFAULT_RCVBUF (8u << 20)
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
		"  --mark-mask M        skyfence's bits of the conntrack mark, 16 or more\n"
		"                       contiguous; 23 or more hold the DSCP that 'mark\n"
		"                       dscp' rules write (default 0x%08x)\n"
		"  --max-flows N        flow table size (default %u inline, %u offline)\n"
		"  --idle-timeout S     forget idle flows (default %u inline; offline\n"
		"                       never, as ndpiReader reading a file)\n"
		"  --dissectors policy|all  a department without 'log all' has its\n"
		"                       flows read by the nDPI dissectors the policy\n"
		"                       needs only (policy: the default inline), or by\n"
		"                       all (all: the default offline, as ndpiReader)\n"
		"  --overload-dissectors policy|all  while a queue backs up, new flows\n"
		"                       of every department are read by the dissectors\n"
		"                       the policy needs (policy: the default; their\n"
		"                       records say \"dissectors\":\"policy\"), or as\n"
		"                       --dissectors says (all); no effect with\n"
		"                       --dissectors all\n"
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
		"  --metrics-listen ADDR:PORT  serve GET /metrics (Prometheus) there;\n"
		"                       [ADDR]:PORT for IPv6 (default: off)\n"
		"  --clock-offset S     tests only: the schedule's wall clock is the\n"
		"                       machine's plus S seconds (may be negative)\n"
		"a fleet (one policy and kill switch for many gateways):\n"
		"  --nats URL[,URL...]  the NATS JetStream servers (nats:// or tls://)\n"
		"                       holding the fleet's bucket; --node-id names\n"
		"                       this node in it\n"
		"  --nats-bucket NAME   the bucket (default skyfence)\n"
		"  --nats-user NAME, --nats-password-file FILE  this node's credentials\n"
		"  --nats-admin-user NAME, --nats-admin-password-file FILE  an admin's:\n"
		"                       changes made here are written to the fleet\n"
		"  --nats-ca FILE [--nats-cert FILE --nats-key FILE]  TLS\n"
		"identity (departments by user and group):\n"
		"  --radius-listen ADDR:PORT  receive RADIUS accounting (RFC 2866)\n"
		"  --radius-clients FILE  'ADDRESS[/PREFIX] SECRET' a line, mode\n"
		"                       0600 or 0640: the only senders accepted\n"
		"  --radius-groups class|filter-id  the attribute naming the\n"
		"                       user's groups (default class)\n"
		"  --identity-max N     sessions and leases held (default %u)\n"
		"  --identity-lifetime S  a session with no Interim-Update this\n"
		"                       long ends (default %u)\n"
		"  --ldap-uri URI       the directory, asked for the groups of a user\n"
		"                       whose accounting names none\n"
		"  --ldap-base DN, --ldap-user-filter F (default (uid=%%u)),\n"
		"  --ldap-group-filter F (%%d: the user's DN), --ldap-group-attr A\n"
		"                       (default cn), --ldap-bind-dn DN,\n"
		"  --ldap-bind-password-file FILE, --ldap-lifetime S (default %u)\n"
		"  --lease-group NAME   members may send DHCP leases (skyfencectl\n"
		"                       lease: Kea's hook; default: root only)\n"
		"offline:\n"
		"  --pcap FILE          classify a pcap/pcapng capture, one TSV line per flow\n"
		"  --guess              at give-up, let nDPI guess from IP/port lists\n"
		"  --audit              write logged flows' records to stderr as JSON lines\n"
		"                       (the daemon's chained format; --audit-log FILE\n"
		"                       writes them there instead)\n"
		"  --diff NEW           run it with --policy and with NEW: the flows\n"
		"                       whose action differs (TSV) and totals\n"
		"other:\n"
		"  --check-policy FILE  validate a policy; every error as FILE:LINE:COL\n"
		"  --list-protocols     nDPI protocol ids and names rules can use\n"
		"  --list-categories    nDPI category names rules can use\n"
		"  --mark-values        the mark values the kernel rules match (DSCP\n"
		"                       ones 0 when the mask holds none) and the\n"
		"                       throttle queue offset, as shell variables\n",
		QUEUE_THROTTLE_OFFSET, QUEUE_FAILCLOSED_OFFSET,
		QUEUE_FAILCLOSED_OFFSET + QUEUE_THROTTLE_OFFSET,
		DEFAULT_QUEUE_MAXLEN, DEFAULT_RCVBUF, MARK_DEFAULT_MASK,
		DEFAULT_INLINE_FLOWS, DEFAULT_OFFLINE_FLOWS,
		DEFAULT_INLINE_IDLE_S, DEFAULT_AUDIT_RATE, DEFAULT_AUDIT_BURST,
		DEFAULT_AUDIT_BUFFER, DEFAULT_AUDIT_FLOWS, SKYFENCE_CTL_PATH,
		DEFAULT_CTL_IDLE_S, SKYFENCE_STATE_DIR, DEFAULT_IDENTITY_MAX,
		DEFAULT_IDENTITY_LIFETIME_S, DEFAULT_LDAP_LIFETIME_S);
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
	       "SF_BYPASS_PREFIX=%s\nSF_NOSTATE_ACCT=%s\n"
	       "SF_DSCP_ON=0x%08x\nSF_DSCP_MASK=0x%08x\nSF_DSCP_SHIFT=%u\n"
	       "SF_MEDIA_MASK=0x%08x\n",
	       l.mask, l.verdict_mask, mark_verdict_value(&l, MARK_ACCEPT),
	       mark_verdict_value(&l, MARK_DROP),
	       mark_verdict_value(&l, MARK_REJECT),
	       mark_verdict_value(&l, MARK_THROTTLE), l.queued, ~l.queued,
	       QUEUE_THROTTLE_OFFSET, QUEUE_FAILCLOSED_OFFSET, FCSET_V4,
	       FCSET_V6, BYPASS_PREFIX, NOSTATE_ACCT, l.dscp_on, l.dscp_mask,
	       l.dscp_shift, l.media_mask);
	/* the allow-only departments (issue 29): a rule script that finds
	 * no SF_UNINSPECTED passes nothing uninspected */
	printf("SF_UNINSPECTED=0x%08x\nSF_ALLOW_SET4=%s\nSF_ALLOW_SET6=%s\n"
	       "SF_INSP_SET4=%s\nSF_INSP_SET6=%s\nSF_ALLOWONLY_ACCT=%s\n",
	       mark_verdict_value(&l, MARK_UNINSPECTED), ALLOWSET_V4,
	       ALLOWSET_V6, INSPSET_V4, INSPSET_V6, ALLOWONLY_ACCT);
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
	struct cls_opts co = { 16, 80, 24, 0, NULL, NULL, 0 };
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

/* What the command line asks for: the mode's inputs and each mode's
 * options, filled by the option table below. */
struct cli {
	const char *pcap, *policy_path, *check;
	const char *diff; /* --diff NEW (with --pcap) */
	int mark_values;
	int dissectors;	    /* --dissectors: 1 policy, 0 all, -1 the mode's */
	struct cls_opts co; /* --pcap and --check-policy */
	struct offline_opts oo;	 /* --pcap */
	struct daemon_opts dopt; /* inline */
};

/* A handler's return: go on with the next option; anything else is the
 * exit status. */
#define CLI_NEXT (-1)

/* One option: its getopt_long row, its handler and what the handler needs:
 * the field it sets (offsetof struct cli), a number's range (a flag's value
 * is min) and, for a refused value, the exact words after "is not". */
struct cli_opt {
	const char *name;
	int has_arg;
	int val; /* the short option, or OPT_* */
	int (*set)(struct cli *c, const struct cli_opt *o, char *arg);
	size_t field;
	uint32_t min, max;
	const char *what;
};

static void *cli_field(struct cli *c, const struct cli_opt *o)
{
	return (char *)c + o->field;
}

static int opt_bad(const struct cli_opt *o, const char *arg)
{
	fprintf(stderr, "skyfenced: --%s: '%s' is not %s\n", o->name, arg,
		o->what);
	return 2;
}

/* A number in the option's range, or the error with that range. */
static int opt_number(const struct cli_opt *o, const char *arg, uint32_t *v)
{
	if (parse_u32(arg, o->min, o->max, v) == 0)
		return 0;
	fprintf(stderr, "skyfenced: --%s: '%s' is not %s from %u to %u\n",
		o->name, arg, o->what, o->min, o->max);
	return -1;
}

static int opt_str(struct cli *c, const struct cli_opt *o, char *arg)
{
	*(const char **)cli_field(c, o) = arg;
	return CLI_NEXT;
}

static int opt_flag(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)arg;
	*(int *)cli_field(c, o) = (int)o->min;
	return CLI_NEXT;
}

static int opt_u32(struct cli *c, const struct cli_opt *o, char *arg)
{
	return opt_number(o, arg, cli_field(c, o)) ? 2 : CLI_NEXT;
}

/* seconds to a uint64_t of milliseconds */
static int opt_ms(struct cli *c, const struct cli_opt *o, char *arg)
{
	uint32_t v;

	if (opt_number(o, arg, &v) != 0)
		return 2;
	*(uint64_t *)cli_field(c, o) = (uint64_t)v * 1000;
	return CLI_NEXT;
}

static int opt_max_flows(struct cli *c, const struct cli_opt *o, char *arg)
{
	uint32_t v;

	if (opt_number(o, arg, &v) != 0)
		return 2;
	c->co.max_flows = c->oo.max_flows = c->dopt.max_flows = v;
	return CLI_NEXT;
}

static int opt_dissectors(struct cli *c, const struct cli_opt *o, char *arg)
{
	if (strcmp(arg, "policy") == 0)
		c->dissectors = 1;
	else if (strcmp(arg, "all") == 0)
		c->dissectors = 0;
	else
		return opt_bad(o, arg);
	return CLI_NEXT;
}

static int opt_overload(struct cli *c, const struct cli_opt *o, char *arg)
{
	if (strcmp(arg, "policy") == 0)
		c->dopt.overload_lean = 1;
	else if (strcmp(arg, "all") == 0)
		c->dopt.overload_lean = 0;
	else
		return opt_bad(o, arg);
	return CLI_NEXT;
}

static int opt_idle_timeout(struct cli *c, const struct cli_opt *o, char *arg)
{
	uint32_t v;

	if (opt_number(o, arg, &v) != 0)
		return 2;
	c->oo.idle_ms = c->dopt.idle_ms = (uint64_t)v * 1000;
	return CLI_NEXT;
}

/* N, or A:B with at most MAX_QUEUES queues; each below the fail-closed
 * queues. The colon is put back: @arg may be printed. */
static int parse_queues(char *arg, uint32_t *a, uint32_t *b)
{
	char *colon = strchr(arg, ':');
	int bad;

	if (!colon) {
		bad = parse_u32(arg, 0, QUEUE_FAILCLOSED_OFFSET - 1, a) != 0;
		*b = *a;
		return bad ? -1 : 0;
	}
	*colon = '\0';
	bad = parse_u32(arg, 0, QUEUE_FAILCLOSED_OFFSET - 1, a) != 0 ||
	      parse_u32(colon + 1, 0, QUEUE_FAILCLOSED_OFFSET - 1, b) != 0 ||
	      *b < *a || *b - *a >= MAX_QUEUES;
	*colon = ':';
	return bad ? -1 : 0;
}

static int opt_queue(struct cli *c, const struct cli_opt *o, char *arg)
{
	uint32_t a, b;

	(void)o;
	if (parse_queues(arg, &a, &b) != 0) {
		fprintf(stderr,
			"skyfenced: --queue: '%s' is not a queue number or range A:B (0-%u, "
			"at most %u queues; N + %u is its throttled flows' queue, N + %u and "
			"N + %u those of fail-closed departments)\n",
			arg, QUEUE_FAILCLOSED_OFFSET - 1, MAX_QUEUES,
			QUEUE_THROTTLE_OFFSET, QUEUE_FAILCLOSED_OFFSET,
			QUEUE_FAILCLOSED_OFFSET + QUEUE_THROTTLE_OFFSET);
		return 2;
	}
	c->dopt.queue_num = (uint16_t)a;
	c->dopt.n_queues = (uint16_t)(b - a + 1);
	return CLI_NEXT;
}

static int opt_workers(struct cli *c, const struct cli_opt *o, char *arg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t v;

	(void)o;
	if (cpus < 1)
		cpus = 1;
	if (parse_u32(arg, 1, MAX_WORKERS, &v) != 0 || v > (uint32_t)cpus) {
		fprintf(stderr,
			"skyfenced: --workers: '%s' is not a number from 1 to %ld "
			"(the online CPUs: more threads than cores only take turns)\n",
			arg, cpus < MAX_WORKERS ? cpus : MAX_WORKERS);
		return 2;
	}
	c->dopt.n_workers = (uint16_t)v;
	return CLI_NEXT;
}

static int opt_mark_mask(struct cli *c, const struct cli_opt *o, char *arg)
{
	if (parse_u32_any(arg, &c->dopt.mark_mask) != 0)
		return opt_bad(o, arg);
	return CLI_NEXT;
}

static int opt_audit_log(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)o;
	c->dopt.audit_path = c->oo.audit_path = arg;
	return CLI_NEXT;
}

static int opt_state_dir(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)o;
	c->dopt.state_dir = strcmp(arg, "none") ? arg : NULL;
	return CLI_NEXT;
}

/* --clock-offset: seconds, either way, at most 100 years */
static int opt_clock_offset(struct cli *c, const struct cli_opt *o, char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v > 3155760000LL ||
	    v < -3155760000LL)
		return opt_bad(o, arg);
	c->dopt.clock_offset = v;
	return CLI_NEXT;
}

static int opt_user(struct cli *c, const struct cli_opt *o, char *arg)
{
	char err[256];

	(void)o;
	if (priv_lookup(arg, &c->dopt.run_uid, &c->dopt.run_gid, err,
			sizeof(err)) != 0) {
		fprintf(stderr, "skyfenced: --user: %s\n", err);
		return 2;
	}
	c->dopt.run_user = arg;
	return CLI_NEXT;
}

/* --ctl-group and --ctl-admin-group: a gid_t field */
static int opt_group(struct cli *c, const struct cli_opt *o, char *arg)
{
	struct group *g = getgrnam(arg);

	if (!g) {
		fprintf(stderr, "skyfenced: --%s: no group '%s'\n", o->name,
			arg);
		return 2;
	}
	*(gid_t *)cli_field(c, o) = g->gr_gid;
	return CLI_NEXT;
}

static int opt_radius_groups(struct cli *c, const struct cli_opt *o, char *arg)
{
	if (strcmp(arg, "class") && strcmp(arg, "filter-id"))
		return opt_bad(o, arg);
	c->dopt.radius_filter_id = strcmp(arg, "filter-id") == 0;
	return CLI_NEXT;
}

static int opt_node_id(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)o;
	if (!audit_node_ok(arg)) {
		fprintf(stderr,
			"skyfenced: --node-id: '%s' is not 1 to %u letters, digits or . _ : -\n",
			arg, AUDIT_NODE_LEN - 1);
		return 2;
	}
	c->dopt.node_id = c->oo.node = arg;
	return CLI_NEXT;
}

/* RATE[/BURST]; without BURST, ten seconds' worth (1 for rate 0) */
static int opt_audit_rate(struct cli *c, const struct cli_opt *o, char *arg)
{
	char rate[16], *slash = strchr(arg, '/');
	uint32_t v, b = 0;

	snprintf(rate, sizeof(rate), "%.*s", slash ? (int)(slash - arg) : 15,
		 arg);
	if (parse_u32(rate, 0, 1000000, &v) != 0 ||
	    (slash && parse_u32(slash + 1, 1, 10000000, &b) != 0))
		return opt_bad(o, arg);
	c->dopt.audit_rate = v;
	c->dopt.audit_burst = slash ? b : v ? v * 10 : 1;
	return CLI_NEXT;
}

/* --list-protocols (min 1) and --list-categories (min 0) */
static int opt_list(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)c;
	(void)arg;
	return list_names((int)o->min);
}

static int opt_version(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)c;
	(void)o;
	(void)arg;
	printf("skyfenced %s (nDPI %s)\n", SKYFENCE_VERSION,
	       classifier_version());
	return 0;
}

static int opt_help(struct cli *c, const struct cli_opt *o, char *arg)
{
	(void)c;
	(void)o;
	(void)arg;
	usage(stdout);
	return 0;
}

#define F(member) offsetof(struct cli, member)
#define REQ required_argument
#define NO no_argument

/* getopt_long's table in this order: its "ambiguous" message lists the
 * possibilities as they come here. */
static const struct cli_opt cli_opts[] = {
	{ "pcap", REQ, 'r', opt_str, F(pcap), 0, 0, NULL },
	{ "policy", REQ, 'p', opt_str, F(policy_path), 0, 0, NULL },
	{ "guess", NO, 'g', opt_flag, F(co.guess), 1, 0, NULL },
	{ "audit", NO, 'a', opt_flag, F(oo.audit), 1, 0, NULL },
	{ "diff", REQ, OPT_DIFF, opt_str, F(diff), 0, 0, NULL },
	{ "max-flows", REQ, 'm', opt_max_flows, 0, 16, 1u << 24, "a number" },
	{ "idle-timeout", REQ, 'i', opt_idle_timeout, 0, 1, 86400 * 30,
	  "a number of seconds" },
	{ "dissectors", REQ, OPT_DISSECTORS, opt_dissectors, 0, 0, 0,
	  "policy or all" },
	{ "overload-dissectors", REQ, OPT_OVERLOAD, opt_overload, 0, 0, 0,
	  "policy or all" },
	{ "check-policy", REQ, 'c', opt_str, F(check), 0, 0, NULL },
	{ "queue", REQ, 'q', opt_queue, 0, 0, 0, NULL },
	{ "queue-maxlen", REQ, 'Q', opt_u32, F(dopt.queue_maxlen), 16, 1u << 22,
	  "a number" },
	{ "workers", REQ, 'W', opt_workers, 0, 0, 0, NULL },
	{ "rcvbuf", REQ, 'B', opt_u32, F(dopt.rcvbuf), 65536, 1u << 30,
	  "a size" },
	{ "fail-closed", NO, 'F', opt_flag, F(dopt.fail_open), 0, 0, NULL },
	{ "mark-mask", REQ, 'M', opt_mark_mask, 0, 0, 0, "a number" },
	{ "mark-values", NO, 'K', opt_flag, F(mark_values), 1, 0, NULL },
	{ "foreground", NO, 'f', opt_flag, F(dopt.foreground), 1, 0, NULL },
	{ "audit-log", REQ, 'A', opt_audit_log, 0, 0, 0, NULL },
	{ "pidfile", REQ, 'P', opt_str, F(dopt.pidfile), 0, 0, NULL },
	{ "debug", NO, 'd', opt_flag, F(dopt.log_level), LOG_LVL_DEBUG, 0,
	  NULL },
	{ "ctl", REQ, 'S', opt_str, F(dopt.ctl_path), 0, 0, NULL },
	{ "ctl-group", REQ, 'G', opt_group, F(dopt.ctl_group), 0, 0, NULL },
	{ "ctl-admin-group", REQ, 'H', opt_group, F(dopt.ctl_admin_group), 0, 0,
	  NULL },
	{ "ctl-timeout", REQ, 'T', opt_ms, F(dopt.ctl_idle_ms), 1, 86400,
	  "a number of seconds" },
	{ "state-dir", REQ, 'D', opt_state_dir, 0, 0, 0, NULL },
	{ "user", REQ, 'u', opt_user, 0, 0, 0, NULL },
	{ "metrics-listen", REQ, 'X', opt_str, F(dopt.metrics_listen), 0, 0,
	  NULL },
	{ "nats", REQ, OPT_NATS, opt_str, F(dopt.nats_urls), 0, 0, NULL },
	{ "nats-bucket", REQ, OPT_NATS_BUCKET, opt_str, F(dopt.nats_bucket), 0,
	  0, NULL },
	{ "nats-user", REQ, OPT_NATS_USER, opt_str, F(dopt.nats_user), 0, 0,
	  NULL },
	{ "nats-password-file", REQ, OPT_NATS_PW, opt_str,
	  F(dopt.nats_password_file), 0, 0, NULL },
	{ "nats-admin-user", REQ, OPT_NATS_ADMIN_USER, opt_str,
	  F(dopt.nats_admin_user), 0, 0, NULL },
	{ "nats-admin-password-file", REQ, OPT_NATS_ADMIN_PW, opt_str,
	  F(dopt.nats_admin_password_file), 0, 0, NULL },
	{ "nats-ca", REQ, OPT_NATS_CA, opt_str, F(dopt.nats_ca), 0, 0, NULL },
	{ "nats-cert", REQ, OPT_NATS_CERT, opt_str, F(dopt.nats_cert), 0, 0,
	  NULL },
	{ "nats-key", REQ, OPT_NATS_KEY, opt_str, F(dopt.nats_key), 0, 0,
	  NULL },
	{ "node-id", REQ, 'N', opt_node_id, 0, 0, 0, NULL },
	{ "radius-listen", REQ, OPT_RADIUS_LISTEN, opt_str,
	  F(dopt.radius_listen), 0, 0, NULL },
	{ "radius-clients", REQ, OPT_RADIUS_CLIENTS, opt_str,
	  F(dopt.radius_clients), 0, 0, NULL },
	{ "radius-groups", REQ, OPT_RADIUS_GROUPS, opt_radius_groups, 0, 0, 0,
	  "class or filter-id" },
	{ "identity-max", REQ, OPT_IDENTITY_MAX, opt_u32, F(dopt.identity_max),
	  16, 1u << 22, "a number" },
	{ "identity-lifetime", REQ, OPT_IDENTITY_LIFETIME, opt_u32,
	  F(dopt.identity_lifetime_s), 60, 86400 * 7, "a number of seconds" },
	{ "ldap-uri", REQ, OPT_LDAP_URI, opt_str, F(dopt.ldap_uri), 0, 0,
	  NULL },
	{ "ldap-base", REQ, OPT_LDAP_BASE, opt_str, F(dopt.ldap_base), 0, 0,
	  NULL },
	{ "ldap-user-filter", REQ, OPT_LDAP_USER_FILTER, opt_str,
	  F(dopt.ldap_user_filter), 0, 0, NULL },
	{ "ldap-group-filter", REQ, OPT_LDAP_GROUP_FILTER, opt_str,
	  F(dopt.ldap_group_filter), 0, 0, NULL },
	{ "ldap-group-attr", REQ, OPT_LDAP_GROUP_ATTR, opt_str,
	  F(dopt.ldap_group_attr), 0, 0, NULL },
	{ "ldap-bind-dn", REQ, OPT_LDAP_BIND_DN, opt_str, F(dopt.ldap_bind_dn),
	  0, 0, NULL },
	{ "ldap-bind-password-file", REQ, OPT_LDAP_BIND_PW, opt_str,
	  F(dopt.ldap_bind_pw_file), 0, 0, NULL },
	{ "ldap-lifetime", REQ, OPT_LDAP_LIFETIME, opt_u32,
	  F(dopt.ldap_lifetime_s), 1, 86400, "a number of seconds" },
	{ "lease-group", REQ, OPT_LEASE_GROUP, opt_group, F(dopt.lease_group),
	  0, 0, NULL },
	{ "clock-offset", REQ, OPT_CLOCK_OFFSET, opt_clock_offset, 0, 0, 0,
	  "a number of seconds (at most 100 years either way)" },
	{ "audit-rate", REQ, 'R', opt_audit_rate, 0, 0, 0,
	  "RATE or RATE/BURST (records per second, 0 for every record)" },
	{ "audit-buffer", REQ, 'U', opt_u32, F(dopt.audit_buffer), 65536,
	  1u << 30, "a number of bytes" },
	{ "audit-syslog", NO, 'Y', opt_flag, F(dopt.audit_syslog), 1, 0, NULL },
	{ "audit-flows", REQ, 'w', opt_u32, F(dopt.audit_flows), 64, 1u << 24,
	  "a number" },
	{ "audit-ct-reliable", NO, 'O', opt_flag, F(dopt.audit_ct_reliable), 1,
	  0, NULL },
	{ "list-protocols", NO, 'L', opt_list, 0, 1, 0, NULL },
	{ "list-categories", NO, 'C', opt_list, 0, 0, 0, NULL },
	{ "version", NO, 'V', opt_version, 0, 0, 0, NULL },
	{ "help", NO, 'h', opt_help, 0, 0, 0, NULL },
};

#undef F
#undef REQ
#undef NO

#define N_CLI_OPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))

/* getopt_long's long options and short option string, from cli_opts */
static void cli_getopt_tables(struct option *lo, char *so)
{
	size_t i;

	for (i = 0; i < N_CLI_OPTS; i++) {
		const struct cli_opt *o = &cli_opts[i];

		lo[i] = (struct option){ o->name, o->has_arg, NULL, o->val };
		if (o->val < 256) {
			*so++ = (char)o->val;
			if (o->has_arg == required_argument)
				*so++ = ':';
		}
	}
	lo[i] = (struct option){ NULL, 0, NULL, 0 };
	*so = '\0';
}

static const struct cli_opt *cli_opt_find(int val)
{
	size_t i;

	for (i = 0; i < N_CLI_OPTS; i++)
		if (cli_opts[i].val == val)
			return &cli_opts[i];
	return NULL;
}

static void cli_defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->dissectors = -1;
	c->co = (struct cls_opts){ .max_flows = DEFAULT_OFFLINE_FLOWS,
				   .max_tcp_pkts = 80,
				   .max_udp_pkts = 24 };
	c->oo = (struct offline_opts){
		.max_flows = DEFAULT_OFFLINE_FLOWS,
		.idle_ms = 0, /* no idle end, as ndpiReader */
		.out = stdout,
		.err = stderr,
	};
	c->dopt = (struct daemon_opts){
		.n_queues = 1,
		.queue_maxlen = DEFAULT_QUEUE_MAXLEN,
		.rcvbuf = DEFAULT_RCVBUF,
		.fail_open = 1,
		.overload_lean = 1,
		.mark_mask = MARK_DEFAULT_MASK,
		.max_flows = DEFAULT_INLINE_FLOWS,
		.idle_ms = DEFAULT_INLINE_IDLE_S * 1000ull,
		.log_level = LOG_LVL_INFO,
		.ctl_path = SKYFENCE_CTL_PATH,
		.ctl_group = (gid_t)-1,
		.ctl_admin_group = (gid_t)-1,
		.ctl_idle_ms = DEFAULT_CTL_IDLE_S * 1000ull,
		.state_dir = SKYFENCE_STATE_DIR,
		.audit_rate = DEFAULT_AUDIT_RATE,
		.audit_burst = DEFAULT_AUDIT_BURST,
		.audit_buffer = DEFAULT_AUDIT_BUFFER,
		.audit_flows = DEFAULT_AUDIT_FLOWS,
		.identity_max = DEFAULT_IDENTITY_MAX,
		.identity_lifetime_s = DEFAULT_IDENTITY_LIFETIME_S,
		.ldap_lifetime_s = DEFAULT_LDAP_LIFETIME_S,
		.lease_group = (gid_t)-1,
	};
}

/* Each option through its handler, in the order given. Returns CLI_NEXT,
 * or the exit status: 2 for a refused command line, 0 or 1 when an option
 * (--help, --version, --list-*) has done all there is to do. */
static int cli_parse(struct cli *c, int argc, char **argv)
{
	struct option lo[N_CLI_OPTS + 1];
	char so[2 * N_CLI_OPTS + 1];
	const struct cli_opt *o;
	int ch, rc;

	cli_getopt_tables(lo, so);
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		o = cli_opt_find(ch);
		if (!o) {
			usage(stderr);
			return 2;
		}
		rc = o->set(c, o, optarg);
		if (rc != CLI_NEXT)
			return rc;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return CLI_NEXT;
}

/* By default one worker per queue, at most the online CPUs. */
static uint16_t default_workers(uint16_t n_queues)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint16_t n = n_queues;

	if (cpus >= 1 && n > cpus)
		n = (uint16_t)cpus;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	return n;
}

static int run_daemon(struct cli *c)
{
	struct daemon_opts *d = &c->dopt;

	if (!c->policy_path) {
		usage(stderr);
		return 2;
	}
	d->policy_path = c->policy_path;
	d->lean = c->dissectors != 0;
	if (!d->n_workers)
		d->n_workers = default_workers(d->n_queues);
	if (d->n_workers > d->n_queues) {
		fprintf(stderr,
			"skyfenced: --workers %u: more workers than the %u queue(s) of --queue "
			"(a worker serves whole queues)\n",
			d->n_workers, d->n_queues);
		return 2;
	}
	return daemon_run(d);
}

static int run_check(struct cli *c)
{
	struct classifier *cls = NULL;
	struct policy *pol = NULL;

	c->co.max_flows = 16;
	if (loader_load(c->check, &c->co, &cls, &pol, NULL, print_error,
			stderr) != 0)
		return 1;
	if (pol->notes)
		fputs(pol->notes, stderr);
	printf("%s: OK (%u departments besides default", c->check,
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

/* The classifier and --policy's policy, or without --policy one that
 * allows everything. Returns 0, or -1 with a message on stderr. */
static int offline_load(struct cli *c, struct classifier **cls,
			struct policy **pol)
{
	char err[256];

	if (c->policy_path)
		return loader_load(c->policy_path, &c->co, cls, pol, NULL,
				   print_error, stderr) != 0
			       ? -1
			       : 0;
	*cls = classifier_open(&c->co, err, sizeof(err));
	if (!*cls) {
		fprintf(stderr, "skyfenced: %s\n", err);
		return -1;
	}
	*pol = empty_policy(*cls);
	if (!*pol) {
		fprintf(stderr, "skyfenced: out of memory\n");
		classifier_close(*cls);
		return -1;
	}
	return 0;
}

/* --diff's policy, parsed with the classifier --policy's loaded: it must
 * name the same signatures file (else the capture would be classified
 * otherwise, and the diff would be of nDPI, not of the rules). */
static struct policy *diff_policy(const char *path, struct classifier *cls,
				  const struct policy *old)
{
	struct policy_names n;
	struct policy *p = NULL;
	unsigned nerr = 0;
	char why[512], *text;
	size_t len;

	text = policy_read_file(path, &len, why, sizeof(why));
	if (!text) {
		fprintf(stderr, "skyfenced: %s\n", why);
		return NULL;
	}
	loader_names(cls, &n);
	p = policy_parse_text(path, text, len, &n, print_error, stderr, &nerr);
	free(text);
	if (p && strcmp(p->signatures, old->signatures) != 0) {
		fprintf(stderr,
			"skyfenced: %s names another signatures file than "
			"--policy's: the diff would be nDPI's, not the "
			"rules'\n",
			path);
		policy_free(p);
		p = NULL;
	}
	return p;
}

/* --dissectors policy offline: a classifier whose lean module runs what
 * @pol needs (its ids are @cls's: the same protocols file), or NULL with
 * a message. */
static struct classifier *offline_lean(struct cli *c, struct classifier *cls,
				       const struct policy *pol)
{
	uint32_t n = classifier_proto_count(cls);
	uint8_t *want = calloc(n ? n : 1, 1);
	struct cls_opts co = c->co;
	struct classifier *l = NULL;
	char err[256];

	if (!want) {
		fprintf(stderr, "skyfenced: out of memory\n");
		return NULL;
	}
	engine_dissectors(pol, NULL, 0, cls, want, n);
	co.protos_file = pol->signatures[0] ? pol->signatures : NULL;
	co.lean = want;
	co.n_lean = n;
	l = classifier_open(&co, err, sizeof(err));
	if (!l)
		fprintf(stderr, "skyfenced: %s\n", err);
	free(want);
	return l;
}

static int run_offline(struct cli *c)
{
	struct classifier *cls = NULL, *lean = NULL;
	struct policy *pol = NULL, *np = NULL;
	int rc = -1;

	if (offline_load(c, &cls, &pol) != 0)
		return 1;
	if (c->dissectors == 1) {
		lean = offline_lean(c, cls, pol);
		if (!lean) {
			policy_free(pol);
			classifier_close(cls);
			return 1;
		}
		/* the names came from the full one; the flows go to this */
		classifier_close(cls);
		cls = lean;
	}
	c->oo.path = c->pcap;
	if (c->diff)
		np = diff_policy(c->diff, cls, pol);
	if (!c->diff)
		rc = offline_run(&c->oo, cls, pol);
	else if (np)
		rc = offline_diff(&c->oo, cls, pol, np);
	policy_free(np);
	policy_free(pol);
	classifier_close(cls);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct cli c;
	int rc;

	cli_defaults(&c);
	rc = cli_parse(&c, argc, argv);
	if (rc != CLI_NEXT)
		return rc;
	if (c.mark_values)
		return print_mark_values(c.dopt.mark_mask);
	/* --diff is offline only: without --pcap it would start the daemon
	 * on --policy; its runs write no records (--audit would be lost) */
	if (c.diff && (!c.pcap || c.oo.audit || c.oo.audit_path)) {
		fprintf(stderr, "skyfenced: --diff goes with --pcap (and "
				"--policy), without --audit or --audit-log\n");
		usage(stderr);
		return 2;
	}
	if (!c.pcap && !c.check)
		return run_daemon(&c);
	if (c.pcap && c.check) {
		usage(stderr);
		return 2;
	}
	return c.check ? run_check(&c) : run_offline(&c);
}
