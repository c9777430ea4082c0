/* The fleet bucket's keys and values (fleetval.c), pure: no NATS, no
 * clock, no daemon. The bucket (fleet.h) holds one organisation's state:
 *
 *   policy            the policy document, whole
 *   killswitch        the fleet's kill switch
 *   node.ID.status    what node ID runs (written by ID alone)
 *   node.ID.head      its audit chain's head (written by ID alone)
 *
 * Every value is text, a header line naming its kind and version, then
 * one field a line:
 *
 *   skyfence-policy 1              skyfence-killswitch 1
 *   sha256 HEX                     apps [APP...]        ("apps": off)
 *   by NODE UID                    by NODE UID
 *   what TEXT
 *   base REV                       skyfence-head 1
 *   (an empty line)                seq N
 *   POLICY TEXT                    sha256 HEX
 *
 *   skyfence-status 1
 *   beat N                         (counts the node's reports)
 *   policy REV                     (the policy revision it applied)
 *   killswitch REV [APP...]        (the kill switch revision it applied)
 *   local [APP...]                 (its own kill switch, --local)
 *   digest HEX                     (its running policy's, audit.h)
 *   health ok|WORDS
 *   conflict TEXT                  (zero to FLEET_CONFLICTS lines)
 *
 * HEX is 64 lowercase hex digits; the policy's is the SHA-256 of the text
 * after the empty line, checked when read: a document cut or changed on
 * the way is refused whole. Numbers are decimal, without a sign or a
 * leading zero; NODE is a fleet node id (fleetval_node_ok); APP a word of
 * [A-Za-z0-9_.-]; TEXT printable ASCII. Nothing else is accepted: in the
 * header's lines a byte below 0x20 (but the lines' newlines) or 0x7f, a
 * field missing, doubled, out of order, ending in a space or over its
 * bound refuses the value; the policy text after the empty line may hold
 * any byte but NUL (the policy's parser judges it). A value has one way
 * to be written: decoded and encoded again, it is the same bytes.
 * A decoded policy's text is not NUL-ended; @err is never NULL.
 */
#ifndef SKYFENCE_FLEETVAL_H
#define SKYFENCE_FLEETVAL_H

#include <stddef.h>
#include <stdint.h>

#define FLEET_NODE_MAX 63
#define FLEET_WHAT_MAX 1024
#define FLEET_APPS_MAX 255
#define FLEET_HEX_LEN 64
#define FLEET_HEALTH_MAX 255
#define FLEET_CONFLICTS 4
#define FLEET_CONFLICT_MAX 511
#define FLEET_KEY_MAX 128
/* the policy text's bound: nats-server's max_payload is 1 MiB by default,
 * and a larger document is refused by the server before it is stored */
#define FLEET_POLICY_MAX (8u << 20)

#define FLEET_KEY_POLICY "policy"
#define FLEET_KEY_KILLSWITCH "killswitch"

struct fleet_policy {
	char sha256[FLEET_HEX_LEN + 1];
	char by[FLEET_NODE_MAX + 1];
	long uid; /* -1: not a person's */
	char what[FLEET_WHAT_MAX + 1];
	uint64_t base;
	const char *text; /* decoded: points into the value */
	size_t len;
};

struct fleet_ks {
	char apps[FLEET_APPS_MAX + 1]; /* "": off */
	char by[FLEET_NODE_MAX + 1];
	long uid;
};

struct fleet_status {
	uint64_t beat, policy_rev, ks_rev;
	char ks[FLEET_APPS_MAX + 1];
	char local[FLEET_APPS_MAX + 1];
	char digest[FLEET_HEX_LEN + 1];
	char health[FLEET_HEALTH_MAX + 1];
	unsigned n_conflicts;
	char conflict[FLEET_CONFLICTS][FLEET_CONFLICT_MAX + 1];
};

struct fleet_head {
	uint64_t seq;
	char sha256[FLEET_HEX_LEN + 1];
};

/* A fleet node id: 1 to FLEET_NODE_MAX of [A-Za-z0-9_-] (no '.': node
 * "gw" must not own node "gw.a"'s keys). 1 if it is one. */
int fleetval_node_ok(const char *id);
/* A kill switch's apps: words of [A-Za-z0-9_.-] separated by single
 * spaces, at most FLEET_APPS_MAX bytes ("" too). 1 if so. */
int fleetval_apps_ok(const char *apps);
/* "node.ID.status" or "node.ID.head" into @id; returns 's' or 'h', or 0
 * for any other key. */
int fleetval_node_key(const char *key, char id[FLEET_NODE_MAX + 1]);
/* The key of node @id's @kind ('s' or 'h') in @out; @id checked by the
 * caller (fleetval_node_ok). */
void fleetval_node_key_of(const char *id, int kind, char out[FLEET_KEY_MAX]);

/* The policy value of @p (its sha256 computed here from @p->text) in a
 * malloc'd buffer, *@len its length. NULL: a field is one decode would
 * refuse (@err says which), or no memory. */
char *fleetval_policy_encode(const struct fleet_policy *p, size_t *len,
			     char *err, size_t errlen);
/* Reads the policy value @buf/@len into @p (@p->text points into @buf).
 * 0, or -1 with why in @err. */
int fleetval_policy_decode(const char *buf, size_t len, struct fleet_policy *p,
			   char *err, size_t errlen);

/* The other kinds, into @out (@size bytes): the length, or -1 if a field
 * is refused or it does not fit. */
int fleetval_ks_encode(const struct fleet_ks *k, char *out, size_t size);
int fleetval_ks_decode(const char *buf, size_t len, struct fleet_ks *k,
		       char *err, size_t errlen);
int fleetval_status_encode(const struct fleet_status *s, char *out,
			   size_t size);
int fleetval_status_decode(const char *buf, size_t len, struct fleet_status *s,
			   char *err, size_t errlen);
int fleetval_head_encode(const struct fleet_head *h, char *out, size_t size);
int fleetval_head_decode(const char *buf, size_t len, struct fleet_head *h,
			 char *err, size_t errlen);

/* The union of the apps @a and @b (each fleetval_apps_ok), each app
 * once, @a's order first, into @out: 0, or -1 if it is over
 * FLEET_APPS_MAX. */
int fleetval_apps_union(const char *a, const char *b,
			char out[FLEET_APPS_MAX + 1]);
/* @a without the apps of @b ("" in @b: all), into @out. */
void fleetval_apps_minus(const char *a, const char *b,
			 char out[FLEET_APPS_MAX + 1]);

#endif
