/* Names exactly as the packet carried them (names.c). nDPI 4.2 keeps a
 * flow's SNI or DNS query name with every byte that is not printable
 * ASCII replaced by '?' (ndpi_is_printable_string(), dns.c) and
 * lowercased, so "café.skype.com" reaches the audit as "caf??.skype.com".
 * skyfence reads the name again from the packet nDPI read it from, and
 * keeps that one when nDPI's is its normalization. Pure. */
#ifndef SKYFENCE_NAMES_H
#define SKYFENCE_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The server_name of a TLS ClientHello starting a TCP payload (@p, @n).
 * Returns its length (the name NUL-terminated in @out), or -1. */
int names_tls_sni(const uint8_t *p, size_t n, char *out, size_t outlen);
/* The first question's name of a DNS message (@tcp: with its two-byte
 * length first), its labels joined by '.'. Returns its length, or -1. */
int names_dns_qname(const uint8_t *p, size_t n, int tcp, char *out,
		    size_t outlen);
/* 1 if nDPI's spelling @ndpi is @exact normalized as nDPI 4.2 does:
 * lowercased, a byte outside printable ASCII as '?', in a DNS name a
 * printable one it does not take as '_'. */
int names_ndpi_spelling(const char *exact, const char *ndpi);

#endif
