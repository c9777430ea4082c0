/* metrics.c - the Prometheus endpoint (metrics.h) on libmicrohttpd, not a
 * hand-written HTTP parser: Debian's libmicrohttpd is maintained, copes
 * with what slow and broken clients send, and runs without threads of its
 * own on an epoll descriptor the control thread's loop watches. */
#include "control/metrics.h"
#include "sys/hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sys/log.h"

/* A connection libmicrohttpd accepted, and when. */
struct open_conn {
	int fd; /* -1: a free slot */
	uint64_t since_ms;
};

struct metrics {
	struct MHD_Daemon *mhd;
	metrics_render_fn *render;
	void *render_ctx;
	uint64_t now_ms; /* monotonic, read once a turn (metrics_run) */
	int fd;
	unsigned open;
	/* at most METRICS_MAX_CONNS (libmicrohttpd refuses more); a few
	 * more slots for one closing while another starts */
	struct open_conn conns[METRICS_MAX_CONNS + 8];
	unsigned long long served;
	struct log_limit limit;
};

/* The exposition, built a line at a time. */
struct body {
	char *buf;
	size_t len, cap;
	int oom;
};

static void append(void *ctx, const char *line)
{
	struct body *b = ctx;
	size_t n = strlen(line);

	if (b->oom)
		return;
	if (b->len + n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *nb;

		while (b->len + n + 2 > cap)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->oom = 1;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, line, n);
	b->len += n;
	b->buf[b->len++] = '\n';
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     char *text, size_t len, int owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, text,
		owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(
		r, MHD_HTTP_HEADER_CONTENT_TYPE,
		status == MHD_HTTP_OK
			? "text/plain; version=0.0.4; charset=utf-8"
			: "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **req)
{
	static char not_found[] = "not found: skyfenced serves /metrics\n";
	static char no_method[] = "only GET and HEAD\n";
	static char no_memory[] = "out of memory\n";
	struct metrics *m = cls;
	struct body b = { NULL, 0, 0, 0 };

	(void)version;
	(void)upload;
	(void)req;
	/* a body is never read: the answer goes out at once and the
	 * connection closes after it */
	*upload_len = 0;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, no_method,
			     sizeof(no_method) - 1, 0);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found,
			     sizeof(not_found) - 1, 0);
	if (m->render(m->render_ctx, append, &b) != 0 || b.oom || !b.buf) {
		free(b.buf);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, no_memory,
			     sizeof(no_memory) - 1, 0);
	}
	m->served++;
	return reply(c, MHD_HTTP_OK, b.buf, b.len, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sock,
			  enum MHD_ConnectionNotificationCode what)
{
	struct metrics *m = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd = ci ? (int)ci->connect_fd : -1;
	unsigned i;

	(void)sock;
	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		m->open++;
		for (i = 0;
		     fd >= 0 && i < sizeof(m->conns) / sizeof(m->conns[0]); i++)
			if (m->conns[i].fd < 0) {
				m->conns[i].fd = fd;
				m->conns[i].since_ms = m->now_ms;
				break;
			}
		return;
	}
	if (m->open)
		m->open--;
	for (i = 0; i < sizeof(m->conns) / sizeof(m->conns[0]); i++)
		if (m->conns[i].fd == fd)
			m->conns[i].fd = -1;
}

/* Connections past METRICS_DEADLINE_S are shut down: libmicrohttpd reads
 * the end and closes them itself (the descriptor stays its own). */
static void enforce_deadline(struct metrics *m)
{
	unsigned i;

	for (i = 0; i < sizeof(m->conns) / sizeof(m->conns[0]); i++)
		if (m->conns[i].fd >= 0 &&
		    m->now_ms - m->conns[i].since_ms >=
			    METRICS_DEADLINE_S * 1000ull) {
			shutdown(m->conns[i].fd, SHUT_RDWR);
			m->conns[i].since_ms = m->now_ms; /* once a turn */
		}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics *m = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_limited(&m->limit, m->now_ms, "metrics: %s", line);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct metrics *metrics_open(const char *listen, metrics_render_fn *render,
			     void *ctx, char *err, size_t errlen)
{
	struct metrics *m;
	struct sockaddr_storage ss;
	socklen_t sl;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG, i;

	if (hostport_parse(listen, &ss, &sl) != 0) {
		snprintf(err, errlen,
			 "--metrics-listen %s: not ADDR:PORT or [ADDR6]:PORT "
			 "(a numeric address, port 1-65535)",
			 listen);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	m->render = render;
	m->render_ctx = ctx;
	m->now_ms = mono_ms();
	m->fd = -1;
	for (i = 0; i < sizeof(m->conns) / sizeof(m->conns[0]); i++)
		m->conns[i].fd = -1;
	m->limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)METRICS_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)METRICS_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)16384, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)64,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, m, MHD_OPTION_END);
	(void)sl;
	if (!m->mhd) {
		snprintf(err, errlen,
			 "--metrics-listen %s: cannot listen%s%s (a port below "
			 "1024 needs CAP_NET_BIND_SERVICE, which skyfenced "
			 "does not keep; under systemd, allow AF_INET and "
			 "AF_INET6: skyfenced(8))",
			 listen, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		free(m);
		return NULL;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "libmicrohttpd: no epoll descriptor");
		MHD_stop_daemon(m->mhd);
		free(m);
		return NULL;
	}
	m->fd = info->epoll_fd;
	return m;
}

int metrics_fd(const struct metrics *m)
{
	return m->fd;
}

void metrics_run(struct metrics *m)
{
	if (!m)
		return;
	m->now_ms = mono_ms();
	enforce_deadline(m);
	MHD_run(m->mhd);
}

void metrics_counts(const struct metrics *m, unsigned *open,
		    unsigned long long *served)
{
	*open = m ? m->open : 0;
	*served = m ? m->served : 0;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
