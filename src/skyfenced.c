/* skyfenced: the skyfence daemon. This build has the offline mode (a capture
 * through the same engine as the inline path) and the policy checker. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skyfence/classify.h"
#include "skyfence/loader.h"
#include "skyfence/offline.h"
#include "skyfence/policy.h"

#define DEFAULT_OFFLINE_FLOWS 262144u
#define DEFAULT_IDLE_S 600u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: skyfenced --pcap FILE [--policy FILE] [--guess] [--audit]\n"
		"                 [--max-flows N] [--idle-timeout SECONDS]\n"
		"       skyfenced --check-policy FILE\n"
		"       skyfenced --list-protocols | --list-categories\n"
		"       skyfenced --version\n"
		"\n"
		"  --pcap FILE          classify a pcap/pcapng capture, one TSV line per flow\n"
		"  --policy FILE        policy to decide with (default: allow everything)\n"
		"  --guess              at give-up, let nDPI guess from IP/port lists\n"
		"  --audit              write logged decisions to stderr as JSON lines\n"
		"  --max-flows N        flow table size (default %u)\n"
		"  --idle-timeout S     forget flows idle this long (default %u)\n"
		"  --check-policy FILE  validate a policy; every error as FILE:LINE:COL\n"
		"  --list-protocols     nDPI protocol ids and names rules can use\n"
		"  --list-categories    nDPI category names rules can use\n",
		DEFAULT_OFFLINE_FLOWS, DEFAULT_IDLE_S);
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
		{ "list-protocols", no_argument, NULL, 'L' },
		{ "list-categories", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcap = NULL, *policy_path = NULL, *check = NULL;
	struct cls_opts co = { DEFAULT_OFFLINE_FLOWS, 80, 24, 0, NULL };
	struct offline_opts oo = { NULL,
				   DEFAULT_OFFLINE_FLOWS,
				   DEFAULT_IDLE_S * 1000ull,
				   stdout,
				   stderr,
				   0 };
	struct classifier *cls = NULL;
	struct policy *pol = NULL;
	uint32_t v;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "r:p:gam:i:c:LCVh", opts, NULL)) !=
	       -1) {
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
			co.max_flows = oo.max_flows = v;
			break;
		case 'i':
			if (parse_u32(optarg, 1, 86400 * 30, &v) != 0) {
				fprintf(stderr,
					"skyfenced: --idle-timeout: '%s' is not a number of seconds from 1 to 2592000\n",
					optarg);
				return 2;
			}
			oo.idle_ms = (uint64_t)v * 1000;
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
	if (optind != argc || (!pcap && !check) || (pcap && check)) {
		usage(stderr);
		return 2;
	}
	if (check) {
		co.max_flows = 16;
		if (loader_load(check, &co, &cls, &pol, print_error, stderr) !=
		    0)
			return 1;
		printf("%s: OK (%u departments besides default)\n", check,
		       pol->n_depts - 1);
		policy_free(pol);
		classifier_close(cls);
		return 0;
	}
	if (policy_path) {
		if (loader_load(policy_path, &co, &cls, &pol, print_error,
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
