/* skyfencectl: command-line client. Subcommands come from one table, which
 * also prints the usage. Exit codes: 0 ok, 1 refused (e.g. a policy with
 * errors), 2 usage error, 3 daemon unreachable. */
#include <stdio.h>
#include <string.h>

#include "skyfence/classify.h"
#include "skyfence/loader.h"
#include "skyfence/policy.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct subcommand {
	const char *name;
	const char *args;
	const char *help;
	int nargs;
	int (*fn)(char **argv);
};

static void print_error(void *ctx, const char *msg)
{
	fprintf(ctx, "%s\n", msg);
}

static int cmd_policy_check(char **argv)
{
	struct cls_opts co = { 16, 80, 24, 0, NULL };
	struct classifier *c;
	struct policy *p;

	if (loader_load(argv[0], &co, &c, &p, print_error, stderr) != 0)
		return EXIT_REFUSED;
	printf("%s: OK (%u departments besides default)\n", argv[0],
	       p->n_depts - 1);
	policy_free(p);
	classifier_close(c);
	return 0;
}

static int cmd_version(char **argv)
{
	(void)argv;
	printf("skyfencectl %s (nDPI %s)\n", SKYFENCE_VERSION,
	       classifier_version());
	return 0;
}

static int cmd_help(char **argv);

static const struct subcommand commands[] = {
	{ "policy check", "FILE", "validate a policy file offline", 1,
	  cmd_policy_check },
	{ "version", "", "print the version", 0, cmd_version },
	{ "help", "", "this text", 0, cmd_help },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: skyfencectl COMMAND [ARGS]\n\n");
	for (i = 0; i < N_COMMANDS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name,
			 commands[i].args);
		fprintf(f, "  %-28s %s\n", left, commands[i].help);
	}
}

static int cmd_help(char **argv)
{
	(void)argv;
	usage(stdout);
	return 0;
}

/* Matches a possibly multi-word command name against argv. Returns the
 * number of words consumed, or 0. */
static int match_words(const char *name, int argc, char **argv)
{
	char buf[64], *save = NULL, *w;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", name);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n >= argc || strcmp(argv[n], w) != 0)
			return 0;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		int used = match_words(commands[i].name, argc - 1, argv + 1);

		if (!used)
			continue;
		if (argc - 1 - used != commands[i].nargs) {
			fprintf(stderr, "usage: skyfencectl %s %s\n",
				commands[i].name, commands[i].args);
			return EXIT_USAGE;
		}
		return commands[i].fn(argv + 1 + used);
	}
	usage(stderr);
	return EXIT_USAGE;
}
