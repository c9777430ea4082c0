/* The control verbs: one table, read by the daemon (control.c: which row
 * serves a request, for which role, with which handler) and by
 * skyfencectl (its commands, their usage and help). A row:
 *   X(WORDS, ARGS, MIN, MAX, ROLE, FLAGS, HELP, HANDLER)
 * WORDS are the request's first words; MIN and MAX (-1: any) count the
 * words a person types after them (ARGS shows which); ROLE is the least
 * a client needs (ctl.h); FLAGS say more (below); HELP is skyfencectl's
 * line; HANDLER is the daemon's function (control.c), 0 for a command
 * skyfencectl runs itself. The first row whose words and count fit serves
 * a request. */
#ifndef SKYFENCE_VERBS_H
#define SKYFENCE_VERBS_H

#include <string.h>

#include "control/ctl.h"

/* the request may end in one more word, "json" (skyfencectl --json) */
#define VERB_JSON 1u
/* ... or "text", "json" or "prometheus" (skyfencectl --prometheus) */
#define VERB_PROM 2u
/* the first word after WORDS names a file skyfencectl opens, with the
 * caller's rights, and passes with the request (the daemon opens no
 * path a client names) */
#define VERB_FILE 4u
/* skyfencectl's own: never sent */
#define VERB_CLIENT 8u

#define CTL_VERBS(X)                                                           \
	X("help", "", 0, 0, CTL_READ_ONLY, 0, "this text", v_help)             \
	X("status", "", 0, 0, CTL_READ_ONLY, VERB_JSON,                        \
	  "daemon, policy, kill switch, flows", v_status)                      \
	X("stats", "", 0, 0, CTL_READ_ONLY, VERB_JSON | VERB_PROM,             \
	  "counters: global, per department and app, kernel queue drops",      \
	  v_stats)                                                             \
	X("flows", "", 0, 0, CTL_READ_ONLY, VERB_JSON,                         \
	  "flows being inspected and the latest decisions", v_flows)           \
	X("policy show", "", 0, 0, CTL_READ_ONLY, 0,                           \
	  "the running policy, in the policy language", v_policy_show)         \
	X("policy check", "FILE", 1, 1, CTL_ADMIN, VERB_FILE,                  \
	  "validate a policy file against the daemon", v_policy_file)          \
	X("policy load", "FILE [--dry-run]", 1, 4, CTL_ADMIN, VERB_FILE,       \
	  "replace the running policy (all or nothing); --dry-run: the "       \
	  "flows it would change (policy diff), nothing applied",              \
	  v_policy_file)                                                       \
	X("policy diff", "FILE [--limit N]", 1, 3, CTL_READ_ONLY,              \
	  VERB_FILE | VERB_JSON,                                               \
	  "the live flows whose verdict FILE would change, and totals by "     \
	  "department (nothing applied; at most N listed, default 1000)",      \
	  v_policy_diff)                                                       \
	X("department add", "NAME hosts PREFIX... [--dry-run]", 3, -1,         \
	  CTL_ADMIN, 0, "add a department", v_edit)                            \
	X("department set", "NAME hosts PREFIX... [--dry-run]", 3, -1,         \
	  CTL_ADMIN, 0, "replace a department's hosts", v_edit)                \
	X("department del", "NAME [--dry-run]", 1, 4, CTL_ADMIN, 0,            \
	  "remove a department", v_edit)                                       \
	X("rule set", "DEPT MATCH ACTION [OPTIONS] [--dry-run]", 3, -1,        \
	  CTL_ADMIN, 0, "set the action for MATCH (e.g. finance skype drop)",  \
	  v_edit)                                                              \
	X("rule del", "DEPT MATCH|RULE [--dry-run]", 2, -1, CTL_ADMIN, 0,      \
	  "remove the rules written with MATCH, or that one RULE", v_edit)     \
	X("rule add", "DEPT MATCH ACTION [for D|until T] [cut|finish]", 3, -1, \
	  CTL_ADMIN, 0,                                                        \
	  "put a rule first, e.g. a temporary exception: sales teams allow "   \
	  "for 2h finish (OPTIONS and --dry-run as rule set)",                 \
	  v_edit)                                                              \
	X("killswitch on", "[--local] [APP...] [--dry-run]", 0, -1, CTL_ADMIN, \
	  0,                                                                   \
	  "drop APP (default skype) everywhere (--local: this node only), "    \
	  "established flows too",                                             \
	  v_killswitch)                                                        \
	X("killswitch off", "[--local] [APP...] [--dry-run]", 0, -1,           \
	  CTL_ADMIN, 0,                                                        \
	  "lift the kill switch (for APP; --local: this node's own)",          \
	  v_killswitch)                                                        \
	X("killswitch", "", 0, 0, CTL_READ_ONLY, 0, "show the kill switch",    \
	  v_killswitch)                                                        \
	X("fleet init", "[REPLICAS]", 0, 1, CTL_ADMIN, 0,                      \
	  "create the fleet's bucket (admin credentials on this node)",        \
	  control_fleet_init)                                                  \
	X("fleet clear", "", 0, 0, CTL_ADMIN, 0,                               \
	  "forget this node's conflicts and audit-anchor alarm",               \
	  control_fleet_clear)                                                 \
	X("fleet", "", 0, 0, CTL_READ_ONLY, VERB_JSON,                         \
	  "every node of the fleet: revisions, kill switch, seen, state",      \
	  control_fleet)                                                       \
	X("who", "[ADDR]", 0, 1, CTL_READ_ONLY, VERB_JSON,                     \
	  "who is behind each address: user, MAC, groups, department",         \
	  control_who)                                                         \
	X("lease add", "ADDR MAC [SECONDS]", 2, 3, CTL_LEASE, 0,               \
	  "a DHCP lease: ADDR given to MAC (Kea's hook)", control_lease)       \
	X("lease del", "ADDR [MAC]", 1, 2, CTL_LEASE, 0,                       \
	  "a DHCP lease ended (released, expired, declined)", control_lease)   \
	X("signatures reload", "", 0, 0, CTL_ADMIN, 0,                         \
	  "re-read the nDPI protocols file the policy names", v_signatures)    \
	X("feed reload", "", 0, 0, CTL_READ_ONLY, 0,                           \
	  "re-read the endpoints feed's file the policy names (any member "    \
	  "of the socket's group: skyfence-endpoints)",                        \
	  v_feed)                                                              \
	X("log level", "", 0, 0, CTL_READ_ONLY, 0, "show the log level",       \
	  v_log_show)                                                          \
	X("log level", "LEVEL", 1, 1, CTL_ADMIN, 0,                            \
	  "set it: error, warning, info, debug", v_log_set)                    \
	X("audit head", "", 0, 0, CTL_READ_ONLY, 0,                            \
	  "the audit chain's last record written: seq and SHA-256",            \
	  v_audit_head)                                                        \
	X("audit verify",                                                      \
	  "[--head FILE] [--fleet NODE --nats URLS ...] FILE...", 1, -1,       \
	  CTL_READ_ONLY, VERB_CLIENT,                                          \
	  "check audit files (oldest first; '-' for stdin), offline; against " \
	  "the heads NODE published to the fleet's bucket",                    \
	  0)                                                                   \
	X("report", "[OPTIONS] FILE...", 1, -1, CTL_READ_ONLY, VERB_CLIENT,    \
	  "a report of audit files (rotated, gzipped) for a compliance "       \
	  "officer: an HTML page, text or JSON (report --help: its options)",  \
	  0)                                                                   \
	X("version", "", 0, 0, CTL_READ_ONLY, VERB_CLIENT,                     \
	  "print the version", 0)

/* A row, without its handler. */
struct ctl_verb {
	const char *words, *args;
	int min, max;
	enum ctl_role role;
	unsigned flags;
	const char *help;
};

/* How many of @argv's first words are @v's words (all of them), or 0. */
static inline int ctl_verb_words(const struct ctl_verb *v, int argc,
				 char *const *argv)
{
	const char *w = v->words;
	int n = 0;

	while (*w) {
		size_t len = strcspn(w, " ");

		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], w, len) != 0)
			return 0;
		n++;
		w += len;
		w += *w == ' ';
	}
	return n;
}

/* Whether @v serves the request @argv (@argc words) as sent: its words,
 * then MIN to MAX more, one more for a format. */
static inline int ctl_verb_serves(const struct ctl_verb *v, int argc,
				  char *const *argv)
{
	int used = ctl_verb_words(v, argc, argv), extra = argc - used;

	if (!used || (v->flags & VERB_CLIENT))
		return 0;
	if (v->flags & (VERB_JSON | VERB_PROM))
		return extra >= v->min && extra <= v->max + 1;
	return extra >= v->min && (v->max < 0 || extra <= v->max);
}

#endif
