/* skyfenced inline. One packet: the packet mark (conntrack mark restored by
 * the SKYFENCE chain) says whether the flow is already decided; if not, the
 * engine inspects it. While a flow is inspected its packets are accepted;
 * once decided, the verdict travels back as a packet mark with NF_REPEAT,
 * the chain saves it into the conntrack mark and the kernel applies it to
 * the rest of the flow (DESIGN.md section 2: this kernel ignores NFQA_CT).
 */
#include "daemon_int.h"
#include "skyfence/daemon.h"
#include "held.h"
#include "runtime.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "skyfence/audit.h"
#include "skyfence/buckets.h"
#include "skyfence/classify.h"
#include "skyfence/engine.h"
#include "skyfence/fcset.h"
#include "skyfence/loader.h"
#include "skyfence/log.h"
#include "skyfence/mark.h"
#include "skyfence/pkt.h"
#include "skyfence/policy.h"
#include "skyfence/queue.h"
#include "skyfence/shaper.h"
#include "skyfence/verdict.h"

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
		/* buffered; flushed once per turn of the event loop */
		fprintf(d->audit, "%s\n", rec);
		d->audit_dirty = 1;
	} else {
		syslog(LOG_INFO, "audit: %s", rec);
	}
}

static void on_decision(void *ctx, const struct flow *f)
{
	struct daemon *d = ctx;

	stats_count_decision(d, f);
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

/* The next release of a held packet, or nothing. */
static void arm_shaper(struct daemon *d)
{
	struct itimerspec its;
	uint64_t next = shaper_next_us(d->sh);

	memset(&its, 0, sizeof(its));
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000000);
		its.it_value.tv_nsec = (long)(next % 1000000) * 1000;
	}
	if (timerfd_settime(d->shaper_tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_limited(&d->bad_limit, d->now_ms, "shaper timer: %s",
			    strerror(errno));
}

/* The verdict for the packet being handled; the mark goes back with the
 * queued bit clear (mark.h), so the bypass counter skips it. */
static void verdict(struct daemon *d, const struct queue_pkt *qp, int v)
{
	queue_verdict(d->q[d->cur], qp->id, v, 1, mark_seen(&d->ml, qp->mark));
}

static void shape(struct daemon *d, const struct queue_pkt *qp,
		  const struct pkt *p, const struct engine_verdict *v)
{
	int32_t b = buckets_pair_of(&d->bm, v->flow->dept, v->flow->rule);
	enum shaper_result r = SHAPER_PASS;
	uint64_t tag;

	d->st.throttled++;
	if (b >= 0 &&
	    held_take(d, qp->id, mark_seen(&d->ml, qp->mark), &tag) == 0) {
		r = shaper_submit(
			d->sh, 2 * (uint32_t)b + !v->from_inside, tag,
			verdict_wire_len(qp->len, qp->gso,
					 (uint32_t)(p->l4_payload - p->l3),
					 p->l4proto == IPPROTO_TCP
						 ? p->l4_payload_len
						 : 0),
			(uint32_t)((v->flow->id * 0x9e3779b97f4a7c15ull) >> 40),
			d->now_us, held_drop, d);
		if (r != SHAPER_HOLD)
			held_put(d, tag);
	} else if (b >= 0) {
		d->st.held_no_slot++;
	}
	if (r == SHAPER_HOLD)
		queue_defer(d->q[d->cur], qp->id);
	else
		verdict(d, qp, r == SHAPER_PASS ? QUEUE_ACCEPT : QUEUE_DROP);
}

/* One packet through verdict.h: the mark, then the engine. */
static void give(struct daemon *d, const struct queue_pkt *qp,
		 const struct verdict_step *vs)
{
	queue_verdict(d->q[d->cur], qp->id,
		      vs->kind == VERDICT_ACCEPT   ? QUEUE_ACCEPT
		      : vs->kind == VERDICT_REPEAT ? QUEUE_REPEAT
						   : QUEUE_DROP,
		      1, vs->mark);
}

static void on_packet(void *ctx, const struct queue_pkt *qp)
{
	struct daemon *d = ctx;
	enum mark_verdict mv = mark_verdict_of(&d->ml, qp->mark);
	struct verdict_step vs;
	struct engine_verdict v;
	enum pkt_status ps;
	struct pkt p;

	d->st.packets++;
	if (verdict_from_mark(&d->ml, qp->mark, &vs)) {
		d->st.marked++;
		give(d, qp, &vs);
		return;
	}
	if (!qp->payload || qp->len == 0) {
		d->st.no_payload++;
		verdict(d, qp, QUEUE_ACCEPT);
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
		verdict(d, qp, QUEUE_ACCEPT);
		return;
	}
	if (mv == MARK_THROTTLE)
		engine_packet_known(d->eng, &p, d->now_ms,
				    mark_app_of(&d->ml, qp->mark), &v);
	else
		engine_packet(d->eng, &p, d->now_ms, &v);
	if (log_get_level() >= LOG_LVL_DEBUG)
		log_debug("packet id %u len %u%s flow %" PRIu64 " pkts %" PRIu64
			  " tcp flags 0x%02x payload %u app %u.%u %s",
			  qp->id, qp->len, qp->gso ? " gso" : "", v.flow->id,
			  v.flow->pkts[0] + v.flow->pkts[1], p.tcp_flags,
			  p.l4_payload_len, v.flow->cls.master, v.flow->cls.app,
			  v.final ? policy_action_name(v.action)
				  : "inspecting");
	stats_count_packet(d, v.flow, qp->len);
	verdict_after_engine(&d->ml, qp->mark, v.final, v.action,
			     v.flow->cls.app, &vs);
	switch (vs.kind) {
	case VERDICT_SHAPE:
		shape(d, qp, &p, &v);
		return;
	case VERDICT_REPEAT:
		d->st.repeats++;
		break;
	default:
		d->st.inspected_accept++;
		break;
	}
	give(d, qp, &vs);
}

static void flush_all(struct daemon *d)
{
	unsigned k;

	for (k = 0; k < QUEUE_KINDS; k++)
		queue_flush(d->q[k]);
}

/* Packets the kernel passed without us (bypass.h): a warning at most every
 * 10 s while it goes on, with how many. */
static void check_bypass(struct daemon *d)
{
	uint64_t grew = bypass_run(d->bypass, d->now_ms);
	int growing;
	uint64_t total;

	if (!grew)
		return;
	d->bypass_new += grew;
	total = bypass_total(d->bypass, d->now_ms, 0, &growing);
	if (log_limited(&d->bypass_limit, d->now_ms,
			"the kernel passed %" PRIu64
			" packets without skyfenced (full queue, fail-open) "
			"since the last warning; %" PRIu64
			" in all (skyfence_bypassed_packets_total)",
			d->bypass_new, total))
		d->bypass_new = 0;
}

static void log_shaper_stats(struct daemon *d)
{
	static const char *const dir[2] = { "from_inside", "to_inside" };
	uint32_t i, j, n = 0, k;

	for (i = 0; i < d->pol->n_depts; i++) {
		for (j = 0; j < d->pol->depts[i].n_rules; j++, n++) {
			const struct policy_rule *r =
				&d->pol->depts[i].rules[j];

			if (d->bm.of[n] < 0)
				continue;
			for (k = 0; k < 2; k++) {
				struct shaper_stats st;

				shaper_get_stats(d->sh,
						 2 * (uint32_t)d->bm.of[n] + k,
						 &st);
				log_info("shaper: department=%s rule_line=%u "
					 "direction=%s rate_bps=%" PRIu64
					 " passed=%" PRIu64 " delayed=%" PRIu64
					 " dropped=%" PRIu64 " backlog=%u"
					 " passed_bytes=%" PRIu64
					 " dropped_bytes=%" PRIu64
					 " delay_avg_us=%" PRIu64
					 " delay_max_us=%" PRIu64,
					 d->pol->depts[i].name, r->line, dir[k],
					 r->rate_bps, st.passed, st.delayed,
					 st.dropped, st.backlog,
					 st.passed_bytes, st.dropped_bytes,
					 st.delayed
						 ? st.delay_us_sum / st.delayed
						 : 0,
					 st.delay_us_max);
			}
		}
	}
}

static void emit_log(void *ctx, const char *line)
{
	(void)ctx;
	log_info("%s", line);
}

/* SIGUSR1, and at the stop: every counter, the shaper's. */
static void log_stats(struct daemon *d)
{
	struct stats_snap s;

	stats_snapshot(d, &s);
	stats_render(d, &s, STATS_LOG, emit_log, NULL);
	log_shaper_stats(d);
}

static int daemonize(void)
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

/* An event loop source: its descriptor, what runs when it is readable
 * (epoll_event.data.ptr points here), and the queue kind for a queue. */
struct source {
	int fd;
	void (*run)(struct daemon *d, struct source *s);
	unsigned kind;
};

static int watch(int ep, struct source *s, int fd,
		 void (*run)(struct daemon *d, struct source *s), unsigned kind)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	s->fd = fd;
	s->run = run;
	s->kind = kind;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("epoll_ctl (descriptor %d)", fd);
		return -1;
	}
	return 0;
}

/* A timerfd's expirations, read so it is not readable again. */
static void read_timer(struct daemon *d, int fd, const char *what)
{
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_limited(&d->bad_limit, d->now_ms, "%s: %s", what,
			    strerror(errno));
}

static void on_queue(struct daemon *d, struct source *s)
{
	int r;

	d->cur = s->kind;
	r = queue_receive(d->q[s->kind], on_packet, d);
	if (r < 0)
		log_limited(&d->bad_limit, d->now_ms, "queue receive: %s",
			    strerror(-r));
}

static void on_shaper_timer(struct daemon *d, struct source *s)
{
	read_timer(d, s->fd, "shaper timer");
	shaper_run(d->sh, d->now_us, held_release, d);
}

static void on_ctl(struct daemon *d, struct source *s)
{
	(void)s;
	ctl_run(d->ctl, d->now_ms);
}

static void on_bypass(struct daemon *d, struct source *s)
{
	(void)s;
	check_bypass(d);
}

static void on_ct(struct daemon *d, struct source *s)
{
	(void)s;
	ct_run(d->ct, runtime_ct_entry, d);
}

/* Every second: idle flows, idle clients, the bypass counters, the
 * fail-closed sets every FCSET_REFRESH_S, a state save that failed. */
static void on_tick(struct daemon *d, struct source *s)
{
	read_timer(d, s->fd, "timer");
	engine_expire(d->eng, d->now_ms);
	ctl_tick(d->ctl, d->now_ms);
	if (d->bypass)
		bypass_poll(d->bypass);
	if (++d->ticks % FCSET_REFRESH_S == 0)
		runtime_refresh_fcset(d);
	if (d->state_dirty)
		runtime_save_state(d);
}

static void on_signal(struct daemon *d, struct source *s)
{
	struct signalfd_siginfo si;

	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			runtime_reload(d);
		else if (si.ssi_signo == SIGUSR1)
			log_stats(d);
		else
			d->running = 0;
	}
}

int daemon_run(const struct daemon_opts *o)
{
	struct cls_opts co = { o->max_flows, 80, 24, 0, NULL };
	struct queue_opts qo = {
		o->queue_num, o->queue_maxlen, o->rcvbuf, o->fail_open, 1, 0
	};
	struct engine_hooks h = { on_decision, on_flow_end, NULL };
	struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
	struct daemon d;
	struct engine_opts eo;
	sigset_t sigs;
	char err[512];
	int ep = -1, sfd = -1, tfd = -1, rc = 1;
	uint32_t max_held, b;
	struct source src[QUEUE_KINDS + 6];
	unsigned k, ns = 0;

	/* Large buffers (a slow control client's replies, an nDPI module
	 * replaced by signatures reload) come from mmap and go back to the
	 * system when freed: a fixed threshold, not glibc's sliding one,
	 * which rises after the first large free and keeps later ones on the
	 * heap. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* The signals the loop reads (signalfd) are blocked before anything
	 * else: one sent while starting (a SIGUSR1 once the queue shows, a
	 * SIGHUP from a config tool) waits for the loop instead of taking
	 * SIGUSR1's and SIGHUP's default action, which ends the process. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.shaper_tfd = -1;
	d.state_dfd = -1;
	d.state_limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	d.bad_limit = (struct log_limit)LOG_LIMIT_INIT(5, 10000);
	d.bypass_limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	h.ctx = &d;
	log_init("skyfenced", !o->foreground, o->log_level);
	if (mark_layout_init(&d.ml, o->mark_mask) != 0) {
		log_warnx("mark mask 0x%08x: needs %d or more contiguous bits",
			  o->mark_mask, MARK_MIN_BITS);
		return 1;
	}
	if (loader_load(o->policy_path, &co, &d.cls, &d.pol, d.base,
			runtime_log_line, NULL) != 0) {
		log_warnx("%s: not loaded", o->policy_path);
		return 1;
	}
	if (o->state_dir && runtime_restore(&d) != 0)
		goto out;
	/* Held packets stay in the kernel's queue: at most half of it, so
	 * holding never makes the queue overflow. */
	max_held = o->queue_maxlen / 2;
	d.sh = shaper_create(MAX_BUCKETS, max_held);
	d.held = calloc(max_held + 1, sizeof(*d.held));
	if (!d.held) {
		log_warnx("out of memory");
		goto out;
	}
	for (b = 0; b <= max_held; b++)
		d.held[b].next_free = b < max_held ? (int32_t)b + 1 : -1;
	d.held_free = 0;
	d.now_us = clock_ms(CLOCK_MONOTONIC) * 1000;
	if (!d.sh || runtime_map_buckets(&d, d.pol) != 0) {
		log_warnx(
			"shaper: out of memory or more than %d throttle rules",
			MAX_BUCKETS);
		goto out;
	}
	eo.max_flows = o->max_flows;
	eo.idle_ms = o->idle_ms;
	if (runtime_seed(&eo.seed) != 0) {
		log_warn("getrandom (the flow table's hash seed)");
		goto out;
	}
	d.eng = engine_create(&eo, d.cls, d.pol, &h);
	if (!d.eng) {
		log_warnx("out of memory for %u flows", o->max_flows);
		goto out;
	}
	if (d.pol->killswitch[0]) {
		struct policy *ks = runtime_kill_rules(d.cls, d.pol->killswitch,
						       runtime_log_line, NULL);

		if (!ks) {
			log_warnx("kill switch %s: does not resolve",
				  d.pol->killswitch);
			goto out;
		}
		runtime_install_kill(&d, ks);
	}
	if (o->audit_path) {
		if (strcmp(o->audit_path, "-") == 0) {
			d.audit = stderr;
		} else {
			/* 0640 whatever the umask, and whatever mode an
			 * existing file had */
			int afd = open(o->audit_path,
				       O_WRONLY | O_APPEND | O_CREAT |
					       O_CLOEXEC | O_NOCTTY,
				       0640);

			if (afd >= 0 && fchmod(afd, 0640) == 0)
				d.audit = fdopen(afd, "a");
			else if (afd >= 0)
				close(afd);
		}
		if (!d.audit) {
			log_warn("%s", o->audit_path);
			goto out;
		}
		if (d.audit != stderr)
			setvbuf(d.audit, NULL, _IOFBF, 64 * 1024);
	} else if (o->foreground) {
		d.audit = stderr;
	}
	d.apps = calloc(APP_STATS, sizeof(*d.apps));
	d.recent = calloc(RECENT, sizeof(*d.recent));
	if (!d.apps || !d.recent) {
		log_warnx("out of memory");
		goto out;
	}
	d.ct = ct_open(err, sizeof(err));
	if (!d.ct) {
		log_warnx("%s (needed to change established flows)", err);
		goto out;
	}
	/* established flows the kernel carries follow the policy as
	 * restored: a flow the kill switch cut stays cut */
	ct_walk(d.ct);
	{
		struct ctl_opts co2 = { o->ctl_path,	    o->ctl_group,
					o->ctl_admin_group, 512,
					o->ctl_idle_ms,	    4u << 20,
					32u << 20 };

		d.ctl = ctl_open(&co2, control_request, &d, err, sizeof(err));
		if (!d.ctl) {
			log_warnx("control socket: %s", err);
			goto out;
		}
	}
	d.started_ms = clock_ms(CLOCK_MONOTONIC);
	/* The fail-closed departments' set is right before the first packet
	 * of theirs can reach a queue. */
	if (fcset_apply(d.pol, o->queue_num, err, sizeof(err)) < 0) {
		if (policy_has_fail_closed(d.pol)) {
			log_warnx("fail-closed departments: %s (is ipset "
				  "available?); not starting",
				  err);
			goto out;
		}
		log_warnx("fail-closed departments: %s (the policy has none)",
			  err);
	}
	d.bypass = bypass_open(err, sizeof(err));
	if (!d.bypass)
		log_warnx("%s: packets the kernel passes without skyfenced "
			  "will not be counted",
			  err);
	/* the state file as running from the start (a changed policy file
	 * with a kept kill switch, say); a failure is retried */
	runtime_save_state(&d);
	for (k = 0; k < QUEUE_KINDS; k++) {
		qo.num = (uint16_t)QUEUE_NUMBER(o->queue_num, k);
		qo.gso = !(k & QUEUE_KIND_THROTTLE);
		qo.fail_open = o->fail_open && !(k & QUEUE_KIND_FAILCLOSED);
		qo.clear_mark = d.ml.queued;
		d.q[k] = queue_open(&qo, err, sizeof(err));
		if (!d.q[k]) {
			log_warnx("%s", err);
			goto out;
		}
	}
	if (!o->foreground && daemonize() != 0) {
		log_warn("daemonize");
		goto out;
	}
	if (o->pidfile && write_pidfile(o->pidfile) != 0)
		log_warn("%s", o->pidfile);

	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d.shaper_tfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || d.shaper_tfd < 0 || ep < 0 ||
	    timerfd_settime(tfd, 0, &tick, NULL) < 0) {
		log_warn("event loop set-up");
		goto out;
	}
	for (k = 0; k < QUEUE_KINDS; k++)
		if (watch(ep, &src[ns++], queue_fd(d.q[k]), on_queue, k) != 0)
			goto out;
	if (d.bypass) {
		if (watch(ep, &src[ns++], bypass_fd(d.bypass), on_bypass, 0) !=
		    0)
			goto out;
		bypass_poll(d.bypass);
	}
	if (watch(ep, &src[ns++], sfd, on_signal, 0) != 0 ||
	    watch(ep, &src[ns++], tfd, on_tick, 0) != 0 ||
	    watch(ep, &src[ns++], d.shaper_tfd, on_shaper_timer, 0) != 0 ||
	    watch(ep, &src[ns++], ctl_fd(d.ctl), on_ctl, 0) != 0 ||
	    watch(ep, &src[ns++], ct_fd(d.ct), on_ct, 0) != 0)
		goto out;
	log_info(
		"queues %u, %u (throttled flows), %u and %u (fail-closed "
		"departments) bound (maxlen %u, %s), policy %s (%u departments "
		"besides default), mark mask 0x%08x",
		o->queue_num, QUEUE_NUMBER(o->queue_num, 1),
		QUEUE_NUMBER(o->queue_num, 2), QUEUE_NUMBER(o->queue_num, 3),
		o->queue_maxlen, o->fail_open ? "fail-open" : "fail-closed",
		o->policy_path, d.pol->n_depts - 1, o->mark_mask);
	log_info("shaper: up to %u held packets (half the queue)", max_held);

	d.running = 1;
	while (d.running) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1), i;
		struct timespec ts;

		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		d.now_us = (uint64_t)ts.tv_sec * 1000000 +
			   (uint64_t)ts.tv_nsec / 1000;
		d.now_ms = d.now_us / 1000;
		for (i = 0; i < n; i++) {
			struct source *sr = evs[i].data.ptr;

			sr->run(&d, sr);
		}
		/* once per turn: the verdicts of every source (a packet's,
		 * a held packet's release or drop, those a change or a
		 * reload released), the shaper's next wake-up, the audit */
		flush_all(&d);
		arm_shaper(&d);
		if (d.audit_dirty) {
			fflush(d.audit);
			d.audit_dirty = 0;
		}
	}
	log_info("stopping");
	engine_flush(d.eng);
	log_stats(&d);
	/* held packets are passed, not left for the kernel to drop */
	for (b = 0; b < MAX_BUCKETS; b++)
		if (shaper_in_use(d.sh, b))
			shaper_clear(d.sh, b, held_release, &d);
	flush_all(&d);
	rc = 0;
out:
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (d.shaper_tfd >= 0)
		close(d.shaper_tfd);
	shaper_destroy(d.sh);
	buckets_free(&d.bm);
	for (k = QUEUE_KINDS; k-- > 0;)
		queue_close(d.q[k]);
	bypass_close(d.bypass);
	free(d.held);
	ctl_close(d.ctl);
	ct_close(d.ct);
	policy_free(d.kill);
	if (d.state_dfd >= 0)
		close(d.state_dfd);
	free(d.apps);
	free(d.recent);
	if (d.audit && d.audit != stderr)
		fclose(d.audit);
	engine_destroy(d.eng);
	policy_free(d.pol);
	classifier_close(d.cls);
	if (o->pidfile && rc == 0)
		unlink(o->pidfile);
	return rc;
}
