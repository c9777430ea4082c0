/* action.c - the actions' names (action.h). */
#include "core/action.h"

#include <string.h>

static const char *const names[ACT_MAX] = {
	[ACT_ALLOW] = "allow",
	[ACT_DROP] = "drop",
	[ACT_REJECT] = "reject",
	[ACT_THROTTLE] = "throttle",
};

const char *action_name(uint8_t action)
{
	return action < ACT_MAX ? names[action] : "invalid";
}

int action_id(const char *word, size_t len)
{
	int i;

	for (i = 0; i < ACT_MAX; i++)
		if (strlen(names[i]) == len && !memcmp(word, names[i], len))
			return i;
	return -1;
}
