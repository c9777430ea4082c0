/* Whether a host name nDPI matched to an application belongs to the
 * namespace nDPI's pattern stands for (hostns.c).
 *
 * nDPI 4.2 matches host names against its table with an Aho-Corasick
 * automaton: a pattern that ends in a letter or digit ("teams.microsoft.com",
 * ".lync.com") matches only at the end of the name, one that ends in '.'
 * or '-' (".skype.", "skype-calling-missedcallsregistrar-") anywhere in
 * it. The second kind is what a look-alike name abuses:
 * "example.skype.org.evil.com" is Skype_Teams to nDPI. A name counts when:
 * - the label does not hold with ".invalid" appended to the name (an
 *   end-anchored pattern gave it), and the pattern, found as the shortest
 *   suffix of the name nDPI still labels so, covers the registered domain:
 *   its owner chose every other label ("x.teams.microsoft.com"), where
 *   "xteams.cloudapp.net" only ends like "teams.cloudapp.net"; a pattern
 *   that starts with '-' ("-teams.cloudapp.net") is Microsoft's naming of
 *   its Azure tenants and counts inside the tenant's name; or
 * - nDPI gives the same application to the registered domain alone, with
 *   a leading dot (".skype.com", ".skypedata.akadns.net"): the pattern
 *   lies within the part of the name its owner registered.
 * The registered domain is the public suffix list's (libpsl, Debian's
 * publicsuffix data, private section included, so "skype.akadns.net" is
 * Akamai's customer "skype"), with the multi-tenant suffixes Microsoft's
 * services are delegated to that the list lacks taken as public suffixes
 * too (HOSTNS_EXTRA_SUFFIXES).
 */
#ifndef SKYFENCE_HOSTNS_H
#define SKYFENCE_HOSTNS_H

#include <stddef.h>
#include <stdint.h>

/* Azure Traffic Manager and Azure's CDN and Front Door: any Azure
 * customer picks a name under them, as under the list's akadns.net or
 * cloudapp.net. */
#define HOSTNS_EXTRA_SUFFIXES "trafficmanager.net azureedge.net azurefd.net"

/* Loads the public suffix list once for the process (thread-safe). 0, or
 * -1 with a message in @err. */
int hostns_init(char *err, size_t errlen);

/* The registered domain of @host (lowercase), NUL-terminated in @out;
 * -1 if it has none (a public suffix itself, an address, too long). */
int hostns_registered(const char *host, char *out, size_t outlen);

/* How nDPI labels a name: its app id for @s, 0 if none. */
typedef int (*hostns_match_fn)(void *ctx, const char *s);

/* 1 if the label @app that @match gives @host counts (above), else 0. */
int hostns_counts(const char *host, uint16_t app, hostns_match_fn match,
		  void *ctx);

#endif
