/* fetch.c - one bounded HTTPS GET through libcurl (fetch.h). */
#include "feed/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct body {
	char *p;
	size_t n, max;
	int too_big;
};

/* libcurl's write callback: returning less than given aborts the
 * transfer (CURLE_WRITE_ERROR), which is how the size cap stops it */
static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;
	char *p;

	if (n > b->max - b->n) {
		b->too_big = 1;
		return 0;
	}
	p = realloc(b->p, b->n + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

int fetch_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void fetch_cleanup(void)
{
	curl_global_cleanup();
}

/* the options of every request; CURLE_OK or the first that failed */
static CURLcode setup(CURL *c, const struct fetch_opts *o, const char *url,
		      struct body *b, char *errbuf)
{
	const char *protos = o->allow_http ? "https,http" : "https";
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(c, opt, val); \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, protos);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protos);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 3L);
	SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
	SET(CURLOPT_TIMEOUT, o->timeout);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
	SET(CURLOPT_USERAGENT, o->user_agent);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, b);
	if (o->ca_file)
		SET(CURLOPT_CAINFO, o->ca_file);
#undef SET
	return rc;
}

/* an HTTP status other than 200 as the result and a message */
static enum fetch_result status_of(CURL *c, long status, const char *url,
				   char *err, size_t errlen)
{
	curl_off_t after = 0;

	if (status == 200)
		return FETCH_OK;
	if (status == 429) {
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) !=
		    CURLE_OK)
			after = 0;
		if (after > 0)
			snprintf(
				err, errlen,
				"%s: HTTP 429: the service asks us to slow down (Retry-After: %lld s)",
				url, (long long)after);
		else
			snprintf(
				err, errlen,
				"%s: HTTP 429: the service asks us to slow down",
				url);
		return FETCH_SLOW_DOWN;
	}
	snprintf(err, errlen, "%s: HTTP %ld", url, status);
	return FETCH_FAILED;
}

enum fetch_result fetch_get(const struct fetch_opts *o, const char *url,
			    char **body, size_t *len, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body b = { .max = o->max_bytes };
	enum fetch_result r = FETCH_FAILED;
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = 0;

	*body = NULL;
	*len = 0;
	if (!c) {
		snprintf(err, errlen, "%s: cannot start libcurl", url);
		return FETCH_FAILED;
	}
	rc = setup(c, o, url, &b, errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (b.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(err, errlen, "%s: the answer is larger than %zu bytes",
			 url, o->max_bytes);
	else if (rc != CURLE_OK)
		snprintf(err, errlen, "%s: %s", url,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		r = status_of(c, status, url, err, errlen);
	curl_easy_cleanup(c);
	if (r == FETCH_OK) {
		*body = b.p ? b.p : strdup("");
		*len = b.n;
		if (!*body) {
			snprintf(err, errlen, "%s: out of memory", url);
			r = FETCH_FAILED;
		}
	} else {
		free(b.p);
	}
	return r;
}
