/* hostport.h - the address options' form, "192.0.2.1:9935" or
 * "[2001:db8::1]:9935" (--metrics-listen, --radius-listen): an IPv6
 * address only in brackets, so "2001:db8::1:3790" is refused rather than
 * split at a guess. */
#ifndef SKYFENCE_HOSTPORT_H
#define SKYFENCE_HOSTPORT_H

#include <sys/socket.h>

/* 0 and the address in @ss (@sl its length), or -1. */
int hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sl);

#endif
