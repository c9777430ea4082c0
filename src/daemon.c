/* skyfenced inline. One packet: the packet mark (conntrack mark restored by
 * the SKYFENCE chain) says whether the flow is already decided; if not, the
 * engine inspects it. While a flow is inspected its packets are accepted;
 * once decided, the verdict travels back as a packet mark with NF_REPEAT,
 * the chain saves it into the conntrack mark and the kernel applies it to
 * the rest of the flow (DESIGN.md section 2: this kernel ignores NFQA_CT).
 */
#include "skyfence/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "skyfence/audit.h"
#include "skyfence/classify.h"
#include "skyfence/engine.h"
#include "skyfence/loader.h"
#include "skyfence/log.h"
#include "skyfence/mark.h"
#include "skyfence/pkt.h"
#include "skyfence/policy.h"
#include "skyfence/queue.h"

struct daemon_stats {
	uint64_t packets, inspected_accept, repeats, marked, throttled;
	uint64_t no_payload, bad;
	uint64_t reloads, reload_failures;
};

struct daemon {
	const struct daemon_opts *o;
	struct classifier *cls;
	struct policy *pol;
	struct engine *eng;
	struct queue *q;
	struct mark_layout ml;
	FILE *audit;
	uint64_t now_ms;
	struct log_limit bad_limit;
	struct daemon_stats st;
};

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void write_audit(struct daemon *d, const char *event,
			const struct flow *f)
{
	char rec[1024];

	audit_format(rec, sizeof(rec), event, clock_ms(CLOCK_REALTIME), f,
		     d->pol, d->cls);
	if (d->audit) {
		fprintf(d->audit, "%s\n", rec);
		fflush(d->audit);
	} else {
		syslog(LOG_INFO, "audit: %s", rec);
	}
}

static void on_decision(void *ctx, const struct flow *f)
{
	struct daemon *d = ctx;

	if (f->logged)
		write_audit(d, "decision", f);
}

static void on_flow_end(void *ctx, const struct flow *f, int reason)
{
	struct daemon *d = ctx;

	(void)reason;
	if (f->logged)
		write_audit(d, "end", f);
}

static enum mark_verdict mark_of_action(uint8_t action)
{
	switch (action) {
	case ACT_DROP:
		return MARK_DROP;
	case ACT_REJECT:
		return MARK_REJECT;
	case ACT_THROTTLE:
		return MARK_THROTTLE;
	default:
		return MARK_ACCEPT;
	}
}

static void on_packet(void *ctx, const struct queue_pkt *qp)
{
	struct daemon *d = ctx;
	enum mark_verdict mv = mark_verdict_of(&d->ml, qp->mark);
	struct engine_verdict v;
	enum pkt_status ps;
	struct pkt p;

	d->st.packets++;
	/* A decided flow's packet reaches us only when the kernel rules do
	 * not act on the mark (rules missing or changed): follow the mark,
	 * never repeat again, so no packet can loop. */
	if (mv == MARK_ACCEPT || mv == MARK_DROP || mv == MARK_REJECT) {
		d->st.marked++;
		queue_verdict(d->q, qp->id,
			      mv == MARK_ACCEPT ? QUEUE_ACCEPT : QUEUE_DROP, 0,
			      0);
		return;
	}
	if (!qp->payload || qp->len == 0) {
		d->st.no_payload++;
		queue_verdict(d->q, qp->id, QUEUE_ACCEPT, 0, 0);
		return;
	}
	ps = pkt_parse_ip(qp->payload, qp->len, 0, &p);
	if (ps != PKT_OK) {
		/* Not attributable to a flow: not ours to judge. */
		d->st.bad++;
		engine_count_bad(d->eng, ps);
		log_limited(
			&d->bad_limit, d->now_ms,
			"accepting a packet skyfenced cannot parse (%s, %u bytes)",
			pkt_status_name(ps), qp->len);
		queue_verdict(d->q, qp->id, QUEUE_ACCEPT, 0, 0);
		return;
	}
	engine_packet(d->eng, &p, d->now_ms, &v);
	if (log_get_level() >= LOG_LVL_DEBUG)
		log_debug("packet id %u len %u%s flow %" PRIu64 " pkts %" PRIu64
			  " tcp flags 0x%02x payload %u app %u.%u %s",
			  qp->id, qp->len, qp->gso ? " gso" : "", v.flow->id,
			  v.flow->pkts[0] + v.flow->pkts[1], p.tcp_flags,
			  p.l4_payload_len, v.flow->cls.master, v.flow->cls.app,
			  v.final ? policy_action_name(v.action)
				  : "inspecting");
	if (mv == MARK_THROTTLE) {
		/* Already decided and marked: the flow stays in the queue path
		 * for the shaper. */
		d->st.throttled++;
		queue_verdict(d->q, qp->id, QUEUE_ACCEPT, 0, 0);
		return;
	}
	if (!v.final) {
		d->st.inspected_accept++;
		queue_verdict(d->q, qp->id, QUEUE_ACCEPT, 0, 0);
		return;
	}
	d->st.repeats++;
	queue_verdict(d->q, qp->id, QUEUE_REPEAT, 1,
		      mark_encode(&d->ml, qp->mark, mark_of_action(v.action),
				  v.flow->cls.app));
}

static void log_error_line(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}

static void reload(struct daemon *d)
{
	struct policy_names n;
	struct policy *np;
	unsigned nerr;

	loader_names(d->cls, &n);
	np = policy_load_file(d->o->policy_path, &n, log_error_line, NULL,
			      &nerr);
	if (!np) {
		d->st.reload_failures++;
		log_warnx(
			"reload: %s has %u error(s); the running policy stays",
			d->o->policy_path, nerr);
		return;
	}
	if (strcmp(np->signatures, d->pol->signatures) != 0) {
		d->st.reload_failures++;
		log_warnx("reload: %s names another signatures file; restart "
			  "skyfenced to load it (the running policy stays)",
			  d->o->policy_path);
		policy_free(np);
		return;
	}
	engine_set_policy(d->eng, np);
	policy_free(d->pol);
	d->pol = np;
	d->st.reloads++;
	log_info("reload: %s applied (%u departments besides default)",
		 d->o->policy_path, np->n_depts - 1);
}

static void log_stats(struct daemon *d)
{
	struct engine_stats es;
	struct queue_stats qs;
	struct flow_table_stats fs;

	engine_get_stats(d->eng, &es);
	queue_get_stats(d->q, &qs);
	engine_get_flow_stats(d->eng, &fs);
	log_info("stats: packets=%" PRIu64 " inspected=%" PRIu64
		 " offloaded=%" PRIu64 " marked_in_queue=%" PRIu64
		 " throttled=%" PRIu64 " unparsed=%" PRIu64
		 " decisions_allow=%" PRIu64 " decisions_drop=%" PRIu64
		 " decisions_reject=%" PRIu64 " decisions_throttle=%" PRIu64
		 " flows_active=%u flows_created=%" PRIu64
		 " flows_evicted=%" PRIu64 " verdicts=%" PRIu64
		 " missed_verdicts=%" PRIu64 " send_errors=%" PRIu64
		 " kernel_errors=%" PRIu64 " reloads=%" PRIu64
		 " reload_failures=%" PRIu64,
		 d->st.packets, es.inspected, d->st.repeats, d->st.marked,
		 d->st.throttled, d->st.bad + d->st.no_payload,
		 es.decisions[ACT_ALLOW], es.decisions[ACT_DROP],
		 es.decisions[ACT_REJECT], es.decisions[ACT_THROTTLE],
		 fs.active, fs.created, fs.evicted, qs.verdicts, qs.missed,
		 qs.send_errors, qs.kernel_errors, d->st.reloads,
		 d->st.reload_failures);
}

static int daemonize(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	if (chdir("/") != 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	(void)pidfile;
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

int daemon_run(const struct daemon_opts *o)
{
	struct cls_opts co = { o->max_flows, 80, 24, 0, NULL };
	struct queue_opts qo = { o->queue_num, o->queue_maxlen, o->rcvbuf,
				 o->fail_open };
	struct engine_hooks h = { on_decision, on_flow_end, NULL };
	struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
	struct daemon d;
	struct engine_opts eo;
	struct epoll_event ev;
	sigset_t sigs;
	char err[512];
	int ep = -1, sfd = -1, tfd = -1, running = 1, rc = 1;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.bad_limit = (struct log_limit)LOG_LIMIT_INIT(5, 10000);
	h.ctx = &d;
	log_init("skyfenced", !o->foreground, o->log_level);
	if (mark_layout_init(&d.ml, o->mark_mask) != 0) {
		log_warnx("mark mask 0x%08x: needs %d or more contiguous bits",
			  o->mark_mask, MARK_MIN_BITS);
		return 1;
	}
	if (loader_load(o->policy_path, &co, &d.cls, &d.pol, log_error_line,
			NULL) != 0) {
		log_warnx("%s: not loaded", o->policy_path);
		return 1;
	}
	eo.max_flows = o->max_flows;
	eo.idle_ms = o->idle_ms;
	if (getrandom(&eo.seed, sizeof(eo.seed), 0) != sizeof(eo.seed))
		eo.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	d.eng = engine_create(&eo, d.cls, d.pol, &h);
	if (!d.eng) {
		log_warnx("out of memory for %u flows", o->max_flows);
		goto out;
	}
	if (o->audit_path) {
		d.audit = strcmp(o->audit_path, "-") == 0
				  ? stderr
				  : fopen(o->audit_path, "ae");
		if (!d.audit) {
			log_warn("%s", o->audit_path);
			goto out;
		}
	} else if (o->foreground) {
		d.audit = stderr;
	}
	d.q = queue_open(&qo, err, sizeof(err));
	if (!d.q) {
		log_warnx("%s", err);
		goto out;
	}
	if (!o->foreground && daemonize(o->pidfile) != 0) {
		log_warn("daemonize");
		goto out;
	}
	if (o->pidfile && write_pidfile(o->pidfile) != 0)
		log_warn("%s", o->pidfile);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0 ||
	    timerfd_settime(tfd, 0, &tick, NULL) < 0) {
		log_warn("event loop set-up");
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = queue_fd(d.q);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	log_info("queue %u bound (maxlen %u, %s), policy %s (%u departments "
		 "besides default), mark mask 0x%08x",
		 o->queue_num, o->queue_maxlen,
		 o->fail_open ? "fail-open" : "fail-closed", o->policy_path,
		 d.pol->n_depts - 1, o->mark_mask);

	while (running) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1), i;

		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		d.now_ms = clock_ms(CLOCK_MONOTONIC);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == queue_fd(d.q)) {
				int r = queue_receive(d.q, on_packet, &d);

				if (r < 0)
					log_limited(&d.bad_limit, d.now_ms,
						    "queue receive: %s",
						    strerror(-r));
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					engine_expire(d.eng, d.now_ms);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(&d);
					else if (si.ssi_signo == SIGUSR1)
						log_stats(&d);
					else
						running = 0;
				}
			}
		}
	}
	log_info("stopping");
	engine_flush(d.eng);
	log_stats(&d);
	rc = 0;
out:
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	queue_close(d.q);
	if (d.audit && d.audit != stderr)
		fclose(d.audit);
	engine_destroy(d.eng);
	policy_free(d.pol);
	classifier_close(d.cls);
	if (o->pidfile && rc == 0)
		unlink(o->pidfile);
	return rc;
}
