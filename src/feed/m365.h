/* Microsoft 365's IP address and URL web service (endpoints.office.com):
 * its answers read and validated whole, its change log applied to the
 * last good list, and the Skype service area (where Microsoft lists
 * Teams) rendered as an address-signatures file (policy/addrsig.h) with
 * its "feed" line. Pure: no I/O, no clock; the caller passes the time.
 *
 * The service's three calls (each with ?ClientRequestId=GUID):
 *   /version/INSTANCE            {"instance":"Worldwide","latest":"2026112800"}
 *   /endpoints/INSTANCE          [ endpoint set, ... ]
 *   /changes/INSTANCE/VERSION    [ change record, ... ] since VERSION
 * An endpoint set: id, serviceArea, serviceAreaDisplayName, urls[], ips[],
 * tcpPorts "80,443", udpPorts "3478-3481", category Optimize|Allow|Default,
 * required, expressRoute, notes. A change record: id, endpointSetId,
 * disposition change|add|remove, version, impact, previous and current
 * (the set's attributes before and after), add {effectiveDate, ips, urls},
 * remove {ips, urls}. */
#ifndef SKYFENCE_M365_H
#define SKYFENCE_M365_H

#include <stddef.h>
#include <stdint.h>

#define M365_VERSION_LEN 10 /* YYYYMMDDNN */
#define M365_INSTANCE_LEN 32

/* The endpoint sets of one instance, every service area, validated. */
struct m365_list;

/* What a list gives the Skype service area's signatures. */
struct m365_counts {
	unsigned sets;	  /* Skype endpoint sets */
	unsigned v4, v6;  /* their prefixes (distinct per set) */
	unsigned names;	  /* distinct names written */
	unsigned skipped; /* URLs with a '*' other than a leading "*." */
	unsigned sigs;	  /* prefix signatures written (a prefix per
			   * protocol and run of ports), as skyfenced counts */
};

/* Whether @v is a version: ten digits. */
int m365_version_ok(const char *v);

/* Whether @name is an instance of the service (Worldwide, USGovDoD,
 * USGovGCCHigh, China). */
int m365_instance_ok(const char *name);

/* Reads a /version/INSTANCE answer for @instance into @version (ten digits
 * and a NUL). 0, or -1 with the reason in @err. */
int m365_version_parse(const char *text, size_t len, const char *instance,
		       char version[M365_VERSION_LEN + 1], char *err,
		       size_t errlen);

/* Reads and validates an /endpoints answer (or the last good list as
 * m365_list_dump wrote it): the schema, every prefix (lpm_prefix_parse;
 * none shorter than /8 or /16, none in or holding a special-purpose
 * range: m365.c's list, the documentation ranges excepted), every port
 * list (addrsig_ports; no range over 16384 ports), every URL a host
 * name; and the Skype service area's, which become signatures: prefixes
 * /12 or /32 or longer, no name a public suffix (libpsl). The list, or
 * NULL with the first reason in @err ("" when memory is short). */
struct m365_list *m365_endpoints_parse(const char *text, size_t len, char *err,
				       size_t errlen);
void m365_list_free(struct m365_list *l);
/* The list as JSON text (malloc'd, NUL-terminated), or NULL if memory is
 * short. */
char *m365_list_dump(const struct m365_list *l);

enum {
	M365_REFUSED = -1,    /* the answer is not valid */
	M365_INCOHERENT = -2, /* valid, but not a change of this list */
};

/* Applies a /changes/INSTANCE/@from answer to @l, which is the list of
 * version @from, to make the list of version @to: the records of a
 * version after @from, in order of version and id. Returns 0 (@l is then
 * the new list, validated as m365_endpoints_parse does); M365_REFUSED
 * when the answer fails the schema or a prefix or port check; or
 * M365_INCOHERENT when it does not apply to @l (a change or removal of a
 * set @l lacks, an addition of one it has, a removal of an address or
 * name it lacks, a "previous" that is not what @l has, no record of
 * version @to): then fetch /endpoints. On error @l is unchanged and @err
 * says why ("" when memory is short, with M365_REFUSED). */
int m365_changes_apply(struct m365_list *l, const char *text, size_t len,
		       const char *from, const char *to, char *err,
		       size_t errlen);

/* How far ahead of the clock a version's date may be: Microsoft dates a
 * version the day it publishes it, so a later one is a wrong clock or a
 * broken feed, and taking it would make every true version after it
 * "older than ours". */
#define M365_AHEAD_MAX (2 * 86400)

/* Whether the version @v (ten digits) is dated (YYYYMMDD, 00:00 UTC)
 * more than M365_AHEAD_MAX after @now: 1 if so, 0 if not, -1 if its
 * first eight digits are not a date. */
int m365_version_ahead(const char *v, int64_t now);

/* The importer's record of its runs (the state file, JSON). */
struct m365_state {
	char instance[M365_INSTANCE_LEN];
	char version[M365_VERSION_LEN + 1]; /* of the last good list; "" none */
	int64_t checked;		    /* last /version answer; 0 never */
	int64_t fetched;		    /* last list written; 0 never */
	struct m365_counts counts;	    /* of the last good list */
	/* the shrink guard's high-water mark: the most prefixes (v4 + v6)
	 * and names the Skype service area has had since the last
	 * --accept-shrink (a state without it: the last good counts) */
	unsigned high_prefixes, high_names;
	/* the last hand-over to skyfenced (--ctl) failed: the next run
	 * hands the file over again even when the version is unchanged */
	int handover_failed;
};

/* "A sudden loss of most entries", including one walked step by step:
 * -1 with a message in @err when @now has fewer than half the prefixes,
 * or fewer than half the names, of @st's high-water mark; else 0. */
int m365_shrink_check(const struct m365_state *st,
		      const struct m365_counts *now, char *err, size_t errlen);

/* @st's high-water mark raised to @now's counts; set to them when
 * @reset (--accept-shrink). */
void m365_mark_update(struct m365_state *st, const struct m365_counts *now,
		      int reset);

/* Reads a state file's text; 0, or -1 with the reason in @err (the
 * caller then starts from an empty state). */
int m365_state_parse(const char *text, size_t len, struct m365_state *st,
		     char *err, size_t errlen);
/* The state as JSON text (malloc'd), or NULL if memory is short. */
char *m365_state_format(const struct m365_state *st);

/* @t as "YYYY-MM-DDTHH:MM:SSZ" into @out (21 bytes at least). */
void m365_time_format(int64_t t, char *out, size_t outlen);

#endif
