/* metrics.h - GET /metrics over HTTP (--metrics-listen): the families of
 * `stats prometheus`, served by libmicrohttpd from the control thread's
 * event loop, never from a worker's. */
#ifndef SKYFENCE_METRICS_H
#define SKYFENCE_METRICS_H

#include <stddef.h>

struct metrics;

/* Writes the body of GET /metrics, a line at a time to @emit. Returns 0,
 * or -1 (out of memory: the client gets a 500). */
typedef int metrics_render_fn(void *ctx,
			      void (*emit)(void *ectx, const char *line),
			      void *ectx);

/* Connections at once, per client address, how long one may stay idle,
 * and how long one may last however it trickles (a slow client sending a
 * byte now and then resets the idle time-out, not this one). */
#define METRICS_MAX_CONNS 32
#define METRICS_MAX_PER_IP 4
#define METRICS_TIMEOUT_S 5
#define METRICS_DEADLINE_S 10

/* Listens on @listen ("ADDR:PORT" or "[ADDR6]:PORT"), answering with
 * what @render(@ctx) writes; NULL with a message in @err. */
struct metrics *metrics_open(const char *listen, metrics_render_fn *render,
			     void *ctx, char *err, size_t errlen);
/* An epoll descriptor for the caller's loop: readable when metrics_run()
 * has work. */
int metrics_fd(const struct metrics *m);
/* Accepts, reads, answers and closes timed-out connections; never
 * blocks. Called when metrics_fd() is readable and once a second. */
void metrics_run(struct metrics *m);
/* Connections open now, and requests answered. */
void metrics_counts(const struct metrics *m, unsigned *open,
		    unsigned long long *served);
void metrics_close(struct metrics *m);

#endif
