/* Address signatures: skyfence's own list of the address ranges and ports
 * an application's servers use, for what nDPI 4.2 cannot know (Microsoft's
 * Teams media relays over IPv4 and IPv6). A flow whose outside endpoint
 * is in a listed prefix, on a listed protocol and port, is that
 * application from its first packet (evidence "signature"). Pure.
 *
 * The file, one signature per line, '#' to the end of a line a comment:
 *
 *   APP PROTO PORTS PREFIX [PREFIX ...]
 *   Teams udp 3478-3481 13.107.64.0/18 52.112.0.0/14 2603:1063::/38
 *   APP name DOMAIN [DOMAIN ...]
 *   Teams name teams.live.com teams.cloud.microsoft
 *
 * APP is an nDPI protocol name, PROTO tcp or udp, PORTS a port, a range
 * or a comma-separated list of them. A name signature: a flow whose host
 * name (SNI, HTTP Host, DNS query) is DOMAIN or under it is APP, for names
 * nDPI 4.2 does not know (Teams free, Teams' domain of 2024).
 *
 * A file written by skyfence-endpoints(8) from Microsoft's feed says which
 * version of it it holds, in one line before its signatures:
 *
 *   feed instance=Worldwide version=2026112800 fetched=2026-12-07T08:00:00Z
 *
 * (the feed's instance, its version YYYYMMDDNN, when it was fetched, UTC).
 */
#ifndef SKYFENCE_ADDRSIG_H
#define SKYFENCE_ADDRSIG_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define ADDRSIG_MAX 4096 /* signatures (prefixes) in one file */

struct addrsig_entry {
	struct lpm_prefix pfx;
	uint16_t port_lo[POLICY_MAX_PORTS], port_hi[POLICY_MAX_PORTS];
	uint8_t n_ports;
	uint8_t l4proto;
	uint16_t app;
	uint32_t line;
	int32_t next_same; /* the next entry of the same prefix, or -1 */
};

#define ADDRSIG_NAME_LEN 128

struct addrsig_name {
	char name[ADDRSIG_NAME_LEN]; /* lowercase, no trailing dot */
	uint16_t app;
	uint32_t line;
};

struct lpm;

/* The "feed" line of a file (above). */
struct addrsig_feed {
	char instance[32];
	char version[16];     /* ten digits, YYYYMMDDNN */
	int64_t version_date; /* the version's day, 00:00 UTC (epoch s) */
	int64_t fetched;      /* epoch seconds */
	uint8_t present;      /* the line was there */
	/* the feed's file was read (loader.c): its SHA-256, so a reload of
	 * the same bytes changes nothing */
	uint8_t read;
	uint8_t sha256[32];
};

struct addrsig {
	uint32_t n;
	struct addrsig_entry *e;
	uint32_t v4, v6; /* prefixes of each family */
	uint32_t n_names;
	struct addrsig_name *names;
	/* the lookup: a longest-prefix tree per family and transport (IPv4
	 * UDP, IPv4 TCP, IPv6 UDP, IPv6 TCP) whose value is the first entry
	 * of the prefix; e[i].next_same chains the others, so a new flow
	 * costs a few tree walks, never a scan of the list */
	struct lpm *tree[4];
	struct addrsig_feed feed; /* of the feed's file, if it had one */
};

/* One file's text, for addrsig_parse_files. */
struct addrsig_file {
	const char *name; /* for messages */
	const char *text;
	size_t len;
};

/* Parses @len bytes of @text (the file @name, for messages). Each error
 * goes to @on_error as "NAME:LINE: message"; NULL if there was any (the
 * count in *nerr) or memory is short. An empty list is not an error. */
struct addrsig *addrsig_parse(const char *name, const char *text, size_t len,
			      const struct policy_names *names,
			      void (*on_error)(void *ctx, const char *msg),
			      void *ctx, unsigned *nerr);
/* The same for @n files read as one list, in order (the address list,
 * then the feed's): each error names its file and line. A "feed" line is
 * allowed once in all, before any signature of its file. */
struct addrsig *addrsig_parse_files(const struct addrsig_file *f, unsigned n,
				    const struct policy_names *names,
				    void (*on_error)(void *ctx,
						     const char *msg),
				    void *ctx, unsigned *nerr);
void addrsig_free(struct addrsig *s);

/* The app of the first signature covering @addr (16-byte form), @port
 * and @l4proto; 0 if none. */
uint16_t addrsig_match(const struct addrsig *s, const uint8_t addr[16],
		       uint16_t port, uint8_t l4proto);

/* The app of the first name signature @host (any case, a trailing dot
 * ignored) is or is under; 0 if none. */
uint16_t addrsig_match_name(const struct addrsig *s, const char *host);

/* Parses "P", "P-Q" or a comma-separated list of them into @lo/@hi (at
 * most POLICY_MAX_PORTS). Returns how many, or -1 with a message in @err. */
int addrsig_ports(const char *text, uint16_t *lo, uint16_t *hi, char *err,
		  size_t errlen);

#endif
