/* What a rule does with a flow, and the words the policy language, the
 * audit and the counters spell it with (action.c): one table. */
#ifndef SKYFENCE_ACTION_H
#define SKYFENCE_ACTION_H

#include <stddef.h>
#include <stdint.h>

enum policy_action {
	ACT_ALLOW = 0,
	ACT_DROP,
	ACT_REJECT,
	ACT_THROTTLE,
	ACT_MAX,
};

/* "allow", "drop", "reject", "throttle"; "invalid" out of range. */
const char *action_name(uint8_t action);
/* The action spelled by the @len bytes at @word, or -1. */
int action_id(const char *word, size_t len);

#endif
