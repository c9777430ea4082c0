/* evidence.c - the names of what a label rests on (evidence.h), as the
 * policy language and the audit spell them. */
#include "core/evidence.h"

#include <string.h>

static const char *const evidence_names[CLS_EV_MAX] = {
	"none",		"payload",    "sni",	   "http-host", "dns-name",
	"certificate",	"stun",	      "heuristic", "address",	"port",
	"cache",	"signature",  "mark",	   "proxy",	"midstream",
	"quic-version", "unreadable", "ech",
};

const char *cls_evidence_name(uint8_t ev)
{
	return ev < CLS_EV_MAX ? evidence_names[ev] : "none";
}

int cls_evidence_id(const char *name)
{
	int i;

	for (i = 0; i < CLS_EV_MAX; i++)
		if (!strcmp(evidence_names[i], name))
			return i;
	return -1;
}
