/* One HTTPS GET through libcurl, for the endpoints web service: bounded
 * in time and size, https only unless a lab says otherwise, through the
 * proxy the *_proxy variables name (libcurl's default). */
#ifndef SKYFENCE_FETCH_H
#define SKYFENCE_FETCH_H

#include <stddef.h>

#define FETCH_MAX_BYTES (16u << 20)

struct fetch_opts {
	const char *user_agent;
	const char *ca_file;  /* CA bundle to trust instead of the system's */
	long connect_timeout; /* seconds */
	long timeout;	      /* seconds, the whole transfer */
	size_t max_bytes;     /* a larger answer is an error */
	int allow_http;	      /* plain http:// too (labs) */
};

enum fetch_result {
	FETCH_OK = 0,
	FETCH_FAILED = -1,    /* network, TLS, size or an HTTP status not 200 */
	FETCH_SLOW_DOWN = -2, /* 429: the service asks us to slow down */
};

/* Call once before any thread starts (curl_global_init); 0 or -1. */
int fetch_init(void);
void fetch_cleanup(void);

/* GETs @url. FETCH_OK with the body (malloc'd, NUL-terminated, its
 * length in *@len); otherwise *@body is NULL and @err says what failed,
 * naming @url. */
enum fetch_result fetch_get(const struct fetch_opts *o, const char *url,
			    char **body, size_t *len, char *err, size_t errlen);

#endif
