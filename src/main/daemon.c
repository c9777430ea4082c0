/* skyfenced inline: the control thread. It sets up the workers
 * (worker.h: the packet path), then runs the event loop of everything
 * else: signals, the control socket, the conntrack walk, the bypass
 * counters and the one-second tick; a shaper thread releases held packets
 * on time. Changes to what the workers run go through runtime.c.
 */
#include "daemon/change.h"
#include "daemon/identity.h"
#include "daemon/daemon_int.h"
#include "daemon/fleetd.h"
#include "main/daemon.h"
#include "control/control.h"
#include "control/metrics.h"
#include "daemon/runtime.h"
#include "daemon/sched.h"
#include "daemon/stats.h"
#include "daemon/worker.h"

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
#include <systemd/sd-daemon.h>

#include "audit/audit.h"
#include "audit/auditlog.h"
#include "audit/sidetab.h"
#include "daemon/buckets.h"
#include "classify/classify.h"
#include "engine/engine.h"
#include "policy/loader.h"
#include "sys/log.h"
#include "core/mark.h"
#include "core/pkt.h"
#include "policy/policy.h"
#include "sys/privdrop.h"
#include "sys/safedir.h"
#include "kernel/queue.h"
#include "core/shaper.h"
#include "core/verdict.h"
#include "skyfence.h"

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
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

/* SIGUSR1, and at the stop: every counter, the shaper's. */
static void log_stats(struct daemon *d)
{
	control_log_stats(d);
	throttle_log_stats(d->th, d->run.pol);
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

/* The process id in --pidfile, through the descriptor opened before
 * --user's change (the file's directory may be root's). */
static void write_pidfile(struct daemon *d)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

	if (ftruncate(d->pid_fd, 0) != 0 ||
	    pwrite(d->pid_fd, line, (size_t)n, 0) != n)
		log_warn("%s", d->o->pidfile);
}

/* What was opened before the policy, closed when it does not load. */
static void close_early(struct daemon *d)
{
	if (d->audit.fd > STDERR_FILENO)
		close(d->audit.fd);
	if (d->pid_fd >= 0) {
		if (unlink(d->o->pidfile) != 0 && ftruncate(d->pid_fd, 0) != 0)
			log_warn("%s", d->o->pidfile);
		close(d->pid_fd);
	}
	fleetd_close(d);
}

/* What `systemctl status` shows: the policy and its file's digest, the
 * flows, the kill switch. */
static void notify_status(struct daemon *d, uint64_t active, uint64_t capacity)
{
	char hex[2 * STATE_DIGEST + 1];
	unsigned i;

	for (i = 0; i < 6; i++)
		snprintf(hex + 2 * i, 3, "%02x", d->run.base[i]);
	sd_notifyf(0,
		   "STATUS=policy %s (sha256 %s..., %u departments); flows "
		   "%" PRIu64 " of %" PRIu64 "; kill switch %s%s",
		   d->run.pol->source, hex, d->run.pol->n_depts - 1, active,
		   capacity, d->run.pol->killswitch[0] ? "ON for " : "off",
		   d->run.pol->killswitch);
}

/* --user: what needs root is opened (the --pidfile, the audit log, the
 * control socket's and state directories made for that user), then
 * skyfenced keeps CAP_NET_ADMIN only and becomes the user. Before any
 * thread: capabilities are per thread. */
static int become_user(struct daemon *d, gid_t ctl_gid)
{
	const struct daemon_opts *o = d->o;
	char dir[4096], err[512], *slash;

	if (geteuid() != 0) {
		log_warnx("--user %s needs skyfenced started as root (it runs "
			  "as uid %ld); not starting",
			  o->run_user, (long)geteuid());
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", o->ctl_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (safedir_make(dir, 0750, o->run_uid, ctl_gid, err,
				 sizeof(err)) != 0) {
			log_warnx("control socket directory %s; not starting",
				  err);
			return -1;
		}
	}
	if (o->state_dir && safedir_make(o->state_dir, 0700, o->run_uid,
					 o->run_gid, err, sizeof(err)) != 0) {
		log_warnx("state directory %s; not starting", err);
		return -1;
	}
	if (priv_drop(o->run_user, o->run_uid, o->run_gid, err, sizeof(err)) !=
	    0) {
		log_warnx("--user %s: %s; not starting", o->run_user, err);
		return -1;
	}
	log_info("running as %s (uid %ld) with CAP_NET_ADMIN only", o->run_user,
		 (long)o->run_uid);
	return 0;
}

/* An event loop source: its descriptor and what runs when it is
 * readable (epoll_event.data.ptr points here). */
struct source {
	int fd;
	void (*run)(struct daemon *d, struct source *s);
};

static int watch(int ep, struct source *s, int fd,
		 void (*run)(struct daemon *d, struct source *s))
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	s->fd = fd;
	s->run = run;
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

static void on_metrics(struct daemon *d, struct source *s)
{
	(void)s;
	metrics_run(d->metrics);
}

static void on_ct(struct daemon *d, struct source *s)
{
	(void)s;
	ct_run(d->ct, runtime_ct_entry, d);
}

/* Conntrack's destroy events: the kernel's flow ends, in slices. */
static void on_ctev(struct daemon *d, struct source *s)
{
	(void)s;
	d->audit.ct_overruns_new +=
		ct_events_run(d->audit.ctev, auditrec_ct_end, &d->audit);
}

/* Once a second: overruns of the destroy events' socket and the events
 * they lost since the last report, as a record (never silent). */
static void report_overruns(struct daemon *d)
{
	struct ct_events_stats st;
	uint64_t lost;
	char f[512];

	ct_events_get_stats(d->audit.ctev, &st);
	lost = st.lost - d->audit.ct_lost_reported;
	if (!d->audit.ct_overruns_new && !lost)
		return;
	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64 ",\"event\":\"ct_overrun\","
		 "\"overruns\":%" PRIu64 ",\"reliable\":%s,\"lost\":%" PRIu64
		 ",\"lost_total\":%" PRIu64 ",\"note\":\"%s\"",
		 auditlog_now_ms(), d->audit.ct_overruns_new,
		 st.reliable ? "true" : "false", lost, st.lost,
		 st.reliable
			 ? "the kernel delivers the delayed destroy events "
			   "again: none lost"
			 : "destroy events lost (the socket's drops): their "
			   "flows have no end record");
	auditlog_put(d->audit.log, NULL, f);
	log_limited(&d->bad_limit, d->now_ms,
		    "conntrack destroy events: %" PRIu64 " overrun(s), %" PRIu64
		    " event(s) lost%s",
		    d->audit.ct_overruns_new, lost,
		    st.reliable ? " (delivered again by the kernel)" : "");
	d->audit.ct_overruns_new = 0;
	d->audit.ct_lost_reported = st.lost;
}

/* Idle flows out; the flow counts summed into @arg (workers_call runs
 * one worker at a time). */
static void expire(struct worker *w, void *arg)
{
	struct flow_table_stats fs;
	uint64_t *sum = arg;

	engine_expire(w->eng, w->now_ms);
	worker_overload_expire(w);
	engine_get_flow_stats(w->eng, &fs);
	sum[0] += fs.active;
	sum[1] += fs.capacity;
}

/* Every second: idle flows (in each worker), idle clients, the bypass counters, the
 * fail-closed sets every FCSET_REFRESH_S, a state save that failed. */
static void on_tick(struct daemon *d, struct source *s)
{
	uint64_t flows[2] = { 0, 0 };

	read_timer(d, s->fd, "timer");
	workers_call(d, expire, flows);
	/* every worker answered and this loop turns: systemd's watchdog
	 * (a wedged worker stops it, and systemd restarts skyfenced) */
	if (d->watchdog_us)
		sd_notify(0, "WATCHDOG=1");
	notify_status(d, flows[0], flows[1]);
	metrics_run(d->metrics);
	ctl_tick(d->ctl, d->now_ms);
	if (d->bypass)
		bypass_poll(d->bypass);
	if (++d->ticks % FCSET_REFRESH_S == 0)
		runtime_refresh_fcset(d);
	if (d->run.state_dirty)
		runtime_save_state(d);
	report_overruns(d);
	fleetd_tick(d);
	identity_tick(d);
	/* a step of the wall clock is seen here; boundaries by the timer */
	sched_tick(d);
}

/* The change hook: a new policy's windows are the schedule's. */
static void on_change(void *ctx, const struct change *c)
{
	sched_changed(ctx, c);
}

/* The schedule's timer: a boundary is due. */
static void on_sched(struct daemon *d, struct source *s)
{
	(void)s;
	sched_tick(d);
}

static void on_radius(struct daemon *d, struct source *s)
{
	(void)s;
	identity_on_radius(d);
}

static void on_ldap(struct daemon *d, struct source *s)
{
	(void)s;
	identity_on_ldap(d);
}

static void on_ident_timer(struct daemon *d, struct source *s)
{
	(void)s;
	identity_on_timer(d);
}

static void on_fleet(struct daemon *d, struct source *s)
{
	(void)s;
	fleetd_input(d);
}

static void on_signal(struct daemon *d, struct source *s)
{
	struct signalfd_siginfo si;

	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sd_notify(0, "RELOADING=1");
			struct change c = { .kind = CHANGE_RELOAD,
					    .origin = CHANGE_SIGNAL,
					    .uid = (long)si.ssi_uid,
					    .what = "" };
			char err[600];

			change_apply(d, &c, NULL, NULL, err, sizeof(err));
			sd_notify(0, "READY=1");
		} else if (si.ssi_signo == SIGUSR1) {
			log_stats(d);
		} else if (si.ssi_signo == SIGUSR2) {
			/* logrotate's postrotate */
			auditlog_reopen(d->audit.log);
		} else {
			d->running = 0;
		}
	}
}

/* The main queues of the range, in contiguous blocks, one per worker. */
static void assign_queues(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	unsigned i, q = 0;

	for (i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->w[i];
		unsigned n = o->n_queues / d->n_workers +
			     (i < o->n_queues % d->n_workers);
		unsigned j;

		for (j = 0; j < n; j++)
			w->qnum[j] = (uint16_t)(o->queue_num + q++);
		w->n_q = n * QUEUE_KINDS;
	}
}

/* The --audit-log file, opened before --user's change (the package's
 * LogsDirectory= is the user's, so reopening it later works too): '-' is
 * stderr; none is stderr in the foreground, else syslog. */
static int open_audit(struct daemon *d)
{
	const struct daemon_opts *o = d->o;

	d->audit.fd = -1;
	if (!o->audit_path) {
		if (o->foreground)
			d->audit.fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(o->audit_path, "-") == 0) {
		d->audit.fd = STDERR_FILENO;
		return 0;
	}
	d->audit.fd = auditlog_open_file(o->audit_path);
	if (d->audit.fd < 0) {
		log_warn("%s", o->audit_path);
		return -1;
	}
	/* --user: the file is the user's, so it can be opened again by its
	 * path after the change (SIGUSR2 when logrotate has not moved it) */
	if (o->run_user && fchown(d->audit.fd, o->run_uid, o->run_gid) != 0) {
		log_warn("%s: chown to %s", o->audit_path, o->run_user);
		return -1;
	}
	return 0;
}

/* The audit's writer with the chain continued, the side table, and
 * conntrack's destroy events with accounting (without them a flow the
 * kernel carried ends with what skyfenced saw). Returns 0, or -1. */
static int start_audit(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	struct auditlog_opts ao;
	char err[512];
	uint64_t seed;
	FILE *acct;

	memset(&ao, 0, sizeof(ao));
	d->audit.ml = &d->ml;
	d->audit.cls = d->run.cls;
	audit_default_node(o->node_id, d->audit.node);
	ao.path = o->audit_path && strcmp(o->audit_path, "-") ? o->audit_path
							      : NULL;
	ao.fd = d->audit.fd;
	ao.use_syslog = o->audit_syslog || d->audit.fd < 0;
	ao.node = d->audit.node;
	ao.rate = o->audit_rate;
	ao.burst = o->audit_burst;
	ao.buffer = o->audit_buffer;
	ao.state_dfd = d->run.state_dfd;
	ao.version = SKYFENCE_VERSION;
	audit_policy_digest(d->run.pol, d->run.digest);
	ao.policy = d->run.digest;
	d->audit.log = auditlog_open(&ao, err, sizeof(err));
	if (!d->audit.log) {
		log_warnx("audit log: %s; not starting", err);
		return -1;
	}
	d->audit.fd = -1; /* the log's now */
	d->audit.change_uid = -1;
	if (runtime_seed(&seed) != 0) {
		log_warn("getrandom (the side table's hash seed)");
		return -1;
	}
	d->audit.side = sidetab_create(o->audit_flows, seed);
	if (!d->audit.side) {
		log_warnx("out of memory for --audit-flows %u", o->audit_flows);
		return -1;
	}
	d->audit.ctev = ct_events_open(64 << 20, o->audit_ct_reliable, err,
				       sizeof(err));
	if (!d->audit.ctev)
		log_warnx("%s: the end records of flows the kernel carries "
			  "will hold what skyfenced saw, not their bytes",
			  err);
	acct = fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "re");
	if (acct) {
		if (fgetc(acct) == '0')
			log_warnx("net.netfilter.nf_conntrack_acct is 0: end "
				  "records will lack bytes and packets "
				  "(skyfence-rules up sets it)");
		fclose(acct);
	}
	return 0;
}

/* The shaper and its hold records, shared by the workers. Held packets
 * stay in the kernel's queues: at most half of one queue's length, so
 * holding never makes a queue overflow. */
static int shaper_setup(struct daemon *d)
{
	d->th = throttle_create(d->o->queue_maxlen / 2, worker_release, d->w);
	if (!d->th) {
		log_warnx("out of memory");
		return -1;
	}
	if (runtime_map_buckets(d, d->run.pol) != 0) {
		log_warnx("shaper: more than %d throttle rules",
			  2 * BUCKET_PAIRS);
		return -1;
	}
	return 0;
}

/* The event loop's descriptors: signals, the one-second tick, and
 * every source it watches. */
struct loop {
	sigset_t sigs;
	int ep, sfd, tfd;
	struct source src[13];
	unsigned n;
};

/* Large buffers (a slow control client's replies, an nDPI module
 * replaced by signatures reload) come from mmap and go back to the
 * system when freed: a fixed threshold, not glibc's sliding one, which
 * rises after the first large free and keeps later ones on the heap.
 * The signals the loop reads (signalfd) are blocked before anything
 * else: one sent while starting (a SIGUSR1 once the queue shows, a
 * SIGHUP from a config tool) waits for the loop instead of taking
 * SIGUSR1's and SIGHUP's default action, which ends the process. The
 * worker and shaper threads inherit the mask: the signals come to the
 * control thread's signalfd only. */
static void process_setup(struct loop *l)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	memset(l, 0, sizeof(*l));
	l->ep = l->sfd = l->tfd = -1;
	sigemptyset(&l->sigs);
	sigaddset(&l->sigs, SIGTERM);
	sigaddset(&l->sigs, SIGINT);
	sigaddset(&l->sigs, SIGHUP);
	sigaddset(&l->sigs, SIGUSR1);
	sigaddset(&l->sigs, SIGUSR2);
	sigprocmask(SIG_BLOCK, &l->sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void daemon_init(struct daemon *d, const struct daemon_opts *o)
{
	memset(d, 0, sizeof(*d));
	d->o = o;
	d->run.state_dfd = -1;
	d->pid_fd = -1;
	d->audit.fd = -1;
	d->run.state_limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	d->bad_limit = (struct log_limit)LOG_LIMIT_INIT(5, 10000);
	d->bypass_limit = (struct log_limit)LOG_LIMIT_INIT(1, 10000);
	log_init("skyfenced", !o->foreground, o->log_level);
	/* every policy parsed is checked at the schedule's clock (an
	 * "until" already past, a window that never opens again) */
	loader_set_clock_offset(o->clock_offset);
}

/* --pidfile, opened before --user's change: a root directory's file. */
static void open_pidfile(struct daemon *d)
{
	const char *path = d->o->pidfile;
	struct stat pst;

	d->pid_fd = open(path,
			 O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
			 0644);
	if (d->pid_fd < 0) {
		log_warn("%s", path);
		return;
	}
	/* opened as root, perhaps in a directory others may write: a hard
	 * link to another file is not ours to truncate */
	if (fstat(d->pid_fd, &pst) != 0 || !S_ISREG(pst.st_mode) ||
	    pst.st_nlink != 1) {
		log_warnx("%s: not a plain file of its own (a link?); not "
			  "written",
			  path);
		close(d->pid_fd);
		d->pid_fd = -1;
	}
}

/* What needs root, then --user, then the policy with the control
 * thread's module (names and categories, no flows). Returns 0, or -1
 * with what was opened closed. */
static int start_early(struct daemon *d, gid_t ctl_gid)
{
	const struct daemon_opts *o = d->o;
	struct cls_opts co = { 16, 80, 24, 0, NULL, NULL, 0 };

	if (mark_layout_init(&d->ml, o->mark_mask) != 0) {
		log_warnx("mark mask 0x%08x: needs %d or more contiguous bits",
			  o->mark_mask, MARK_MIN_BITS);
		return -1;
	}
	if (o->pidfile)
		open_pidfile(d);
	/* the fleet's password files are read here, before --user, like
	 * the audit log: they can stay root's (0600) */
	if (open_audit(d) != 0 || fleetd_open(d) != 0 ||
	    identity_open_early(d) != 0 ||
	    (o->run_user && become_user(d, ctl_gid) != 0)) {
		close_early(d);
		return -1;
	}
	if (loader_load_start(o->policy_path, &co, &d->run.cls, &d->run.pol,
			      d->run.base, runtime_log_line, NULL) != 0) {
		if (o->run_user && access(o->policy_path, R_OK) != 0)
			log_warnx("%s: not loaded (skyfenced runs as %s: the "
				  "file, and every directory above it, must "
				  "be readable by that user)",
				  o->policy_path, o->run_user);
		else
			log_warnx("%s: not loaded", o->policy_path);
		close_early(d);
		return -1;
	}
	runtime_log_notes(d->run.pol);
	return 0;
}

/* The running policy as restored, the audit's chain continued, the
 * throttle, and the control thread's engine (conntrack entries'
 * decisions) with the kill switch. Returns 0, or -1 (logged). */
static int start_policy(struct daemon *d)
{
	struct engine_hooks h = { NULL, NULL, NULL };
	struct engine_opts eo;
	struct policy *ks;

	d->n_workers = d->o->n_workers ? d->o->n_workers : 1;
	d->w = calloc(d->n_workers, sizeof(*d->w));
	d->apps = calloc(APP_STATS, sizeof(*d->apps));
	if (!d->w || !d->apps) {
		log_warnx("out of memory");
		return -1;
	}
	assign_queues(d);
	if (d->o->state_dir && runtime_restore(d) != 0)
		return -1;
	/* as runtime_apply_policy() refuses it later: the kernel would
	 * never see the DSCP the policy asks for */
	if (d->run.pol->has_dscp && !mark_has_dscp(&d->ml)) {
		log_warnx("%s: mark dscp needs a mark mask of %d bits or more "
			  "(--mark-mask); this daemon's has %d; not starting",
			  d->run.pol->source, MARK_DSCP_MIN_BITS,
			  __builtin_popcount(d->ml.mask));
		return -1;
	}
	if (start_audit(d) != 0)
		return -1;
	d->now_ms = mono_us() / 1000;
	if (shaper_setup(d) != 0)
		return -1;
	memset(&eo, 0, sizeof(eo));
	eo.max_flows = 16;
	eo.idle_ms = d->o->idle_ms;
	if (runtime_seed(&eo.seed) != 0) {
		log_warn("getrandom (the flow table's hash seed)");
		return -1;
	}
	d->run.eng = engine_create(&eo, d->run.cls, d->run.pol, &h);
	if (!d->run.eng) {
		log_warnx("out of memory");
		return -1;
	}
	if (identity_start(d) != 0)
		return -1;
	if (!d->run.pol->killswitch[0])
		return 0;
	ks = runtime_kill_rules(d->run.cls, d->run.pol->killswitch,
				runtime_log_line, NULL);
	if (!ks) {
		log_warnx("kill switch %s: does not resolve",
			  d->run.pol->killswitch);
		return -1;
	}
	runtime_install_kill(d, ks);
	return 0;
}

/* The fail-closed and allow-only sets before the first packet of theirs
 * can reach a queue, and before conntrack is walked (established flows
 * follow the policy as restored, a flow the kill switch cut stays cut, a
 * flow an earlier daemon's allow-only set passed is inspected unless the
 * policy still passes it), the control socket, /metrics, the bypass
 * counters and the state file as running from the start. Returns 0, or
 * -1 (logged). */
static int start_kernel(struct daemon *d, gid_t ctl_gid)
{
	const struct daemon_opts *o = d->o;
	struct ctl_opts co = { o->ctl_path,    ctl_gid,	 o->ctl_admin_group,
			       o->lease_group, 512,	 o->ctl_idle_ms,
			       4u << 20,       32u << 20 };
	char err[512];

	if (runtime_start_sets(d) != 0)
		return -1;
	d->ct = ct_open(err, sizeof(err));
	if (!d->ct) {
		log_warnx("%s (needed to change established flows)", err);
		return -1;
	}
	ct_walk(d->ct);
	d->ctl = ctl_open(&co, control_request, d, err, sizeof(err));
	if (!d->ctl) {
		log_warnx("control socket: %s", err);
		return -1;
	}
	if (o->metrics_listen) {
		d->metrics = metrics_open(o->metrics_listen, control_metrics, d,
					  err, sizeof(err));
		if (!d->metrics) {
			log_warnx("%s; not starting", err);
			return -1;
		}
	}
	d->started_ms = mono_us() / 1000;
	d->bypass = bypass_open(err, sizeof(err));
	if (!d->bypass)
		log_warnx("%s: packets the kernel passes without skyfenced "
			  "will not be counted",
			  err);
	runtime_save_state(d);
	return 0;
}

/* Each worker's module, engine and queues; the queues bound last, so a
 * packet finds everything set. Returns 0 and the flows they hold in
 * *@flow_cap, or -1 (logged). */
static int start_workers(struct daemon *d, uint64_t *flow_cap)
{
	struct flow_table_stats fs;
	uint64_t seed;
	unsigned k;

	for (k = 0; k < d->n_workers; k++) {
		if (runtime_seed(&seed) != 0) {
			log_warn("getrandom (the flow table's hash seed)");
			return -1;
		}
		if (worker_init(d, &d->w[k], k, seed) != 0)
			return -1;
	}
	*flow_cap = 0;
	for (k = 0; k < d->n_workers; k++) {
		if (worker_bind(&d->w[k]) != 0)
			return -1;
		/* read before its thread starts */
		engine_get_flow_stats(d->w[k].eng, &fs);
		*flow_cap += fs.capacity;
	}
	return 0;
}

/* The loop's descriptors, and every source it watches. */
static int loop_open(struct daemon *d, struct loop *l)
{
	struct itimerspec tick = { { 1, 0 }, { 1, 0 } };

	l->sfd = signalfd(-1, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->sfd < 0 || l->tfd < 0 || l->ep < 0 ||
	    timerfd_settime(l->tfd, 0, &tick, NULL) < 0) {
		log_warn("event loop set-up");
		return -1;
	}
	if (d->bypass) {
		if (watch(l->ep, &l->src[l->n++], bypass_fd(d->bypass),
			  on_bypass) != 0)
			return -1;
		bypass_poll(d->bypass);
	}
	if (watch(l->ep, &l->src[l->n++], l->sfd, on_signal) != 0 ||
	    watch(l->ep, &l->src[l->n++], l->tfd, on_tick) != 0 ||
	    watch(l->ep, &l->src[l->n++], ctl_fd(d->ctl), on_ctl) != 0 ||
	    watch(l->ep, &l->src[l->n++], ct_fd(d->ct), on_ct) != 0 ||
	    watch(l->ep, &l->src[l->n++], sched_fd(d), on_sched) != 0 ||
	    (d->audit.ctev &&
	     watch(l->ep, &l->src[l->n++], ct_events_fd(d->audit.ctev),
		   on_ctev) != 0) ||
	    (d->metrics && watch(l->ep, &l->src[l->n++], metrics_fd(d->metrics),
				 on_metrics) != 0) ||
	    (fleetd_fd(d) >= 0 &&
	     watch(l->ep, &l->src[l->n++], fleetd_fd(d), on_fleet) != 0))
		return -1;
	if ((identity_radius_fd(d) >= 0 &&
	     watch(l->ep, &l->src[l->n++], identity_radius_fd(d), on_radius) !=
		     0) ||
	    (identity_ldap_fd(d) >= 0 &&
	     watch(l->ep, &l->src[l->n++], identity_ldap_fd(d), on_ldap) !=
		     0) ||
	    (identity_timer_fd(d) >= 0 &&
	     watch(l->ep, &l->src[l->n++], identity_timer_fd(d),
		   on_ident_timer) != 0))
		return -1;
	return 0;
}

static void log_started(const struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	unsigned a = o->queue_num, b = a + o->n_queues - 1;

	log_info("queues %u-%u, %u-%u (throttled flows), %u-%u and %u-%u "
		 "(fail-closed departments) bound (maxlen %u, %s) by %u "
		 "worker(s), policy %s (%u departments besides default), "
		 "mark mask 0x%08x",
		 a, b, QUEUE_NUMBER(a, 1), QUEUE_NUMBER(b, 1),
		 QUEUE_NUMBER(a, 2), QUEUE_NUMBER(b, 2), QUEUE_NUMBER(a, 3),
		 QUEUE_NUMBER(b, 3), o->queue_maxlen,
		 o->fail_open ? "fail-open" : "fail-closed", d->n_workers,
		 o->policy_path, d->run.pol->n_depts - 1, o->mark_mask);
	log_info("shaper: up to %u held packets (half a queue)",
		 throttle_max_held(d->th));
	if (o->metrics_listen)
		log_info("metrics: GET http://%s/metrics (at most %u "
			 "connections, %u per address, idle %u s, %u s in all)",
			 o->metrics_listen, METRICS_MAX_CONNS,
			 METRICS_MAX_PER_IP, METRICS_TIMEOUT_S,
			 METRICS_DEADLINE_S);
}

/* The shaper's and the workers' threads (after the fork: a fork keeps
 * only the calling thread), then systemd told (Type=notify: ready once
 * every queue is bound and the policy loaded; WatchdogSec= wants a ping
 * from the tick). */
static int start_threads(struct daemon *d, uint64_t flow_cap)
{
	char err[256];
	unsigned k;

	if (throttle_start(d->th, err, sizeof(err)) != 0) {
		log_warnx("%s", err);
		return -1;
	}
	for (k = 0; k < d->n_workers; k++)
		if (worker_start(&d->w[k]) != 0)
			return -1;
	log_started(d);
	if (sd_watchdog_enabled(0, &d->watchdog_us) <= 0)
		d->watchdog_us = 0;
	else if (d->watchdog_us < 3000000)
		log_warnx("WatchdogSec= below 3 s: the one-second tick may "
			  "miss it");
	sd_notify(0, "READY=1");
	notify_status(d, 0, flow_cap);
	return 0;
}

static void run_loop(struct daemon *d, struct loop *l)
{
	d->running = 1;
	while (d->running) {
		struct epoll_event evs[8];
		int n = epoll_wait(l->ep, evs, 8, -1), i;

		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		d->now_ms = mono_us() / 1000;
		for (i = 0; i < n; i++) {
			struct source *sr = evs[i].data.ptr;

			sr->run(d, sr);
		}
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
}

/* The stop, after a run (@ran: every flow's end record, then the
 * counters) or a failed start. Held packets are passed, not left for the
 * kernel to drop; every producer stops before the audit writes what is
 * queued and saves the chain's head. */
static void daemon_stop(struct daemon *d, struct loop *l, int ran)
{
	unsigned k;

	throttle_stop(d->th);
	if (ran) {
		workers_call(d, worker_flush, NULL);
		log_stats(d);
	}
	/* the windows' state saved with the time of the stop */
	sched_close(d);
	for (k = 0; d->w && k < d->n_workers; k++)
		worker_stop(&d->w[k]);
	if (l->ep >= 0)
		close(l->ep);
	if (l->sfd >= 0)
		close(l->sfd);
	if (l->tfd >= 0)
		close(l->tfd);
	for (k = 0; d->w && k < d->n_workers; k++)
		worker_free(&d->w[k]);
	free(d->w);
	identity_close(d);
	throttle_destroy(d->th);
	bypass_close(d->bypass);
	metrics_close(d->metrics);
	fleetd_close(d);
	ctl_close(d->ctl);
	ct_close(d->ct);
	policy_free(d->run.kill);
	auditlog_close(d->audit.log);
	if (d->run.state_dfd >= 0)
		close(d->run.state_dfd);
	free(d->apps);
	free(d->snap);
	free(d->flow_lines);
	free(d->flow_recent);
	if (d->audit.fd > STDERR_FILENO)
		close(d->audit.fd);
	ct_events_close(d->audit.ctev);
	sidetab_destroy(d->audit.side);
	engine_destroy(d->run.eng);
	policy_free(d->run.pol);
	classifier_close(d->run.cls);
	if (d->pid_fd >= 0) {
		/* --user: the directory may be root's; then the file is
		 * emptied, not left naming a process that ended */
		if (unlink(d->o->pidfile) != 0 && ftruncate(d->pid_fd, 0) != 0)
			log_warn("%s", d->o->pidfile);
		close(d->pid_fd);
	}
}

int daemon_run(const struct daemon_opts *o)
{
	gid_t ctl_gid = o->ctl_group != (gid_t)-1 ? o->ctl_group
			: o->run_user		  ? o->run_gid
						  : getegid();
	uint64_t flow_cap = 0;
	struct daemon d;
	struct loop l;
	int ran = 0;

	process_setup(&l);
	daemon_init(&d, o);
	if (start_early(&d, ctl_gid) != 0)
		return 1;
	/* the schedule's state before the first verdict: every engine is
	 * made (the workers' threads start later) */
	if (start_policy(&d) == 0 && start_kernel(&d, ctl_gid) == 0 &&
	    start_workers(&d, &flow_cap) == 0 && sched_open(&d) == 0) {
		d.change_hook.applied = on_change;
		d.change_hook.ctx = &d;
		/* threads after the fork */
		if (!o->foreground && daemonize() != 0) {
			log_warn("daemonize");
		} else {
			if (d.pid_fd >= 0)
				write_pidfile(&d);
			if (identity_start_ldap(&d) == 0 &&
			    fleetd_start(&d) == 0 && loop_open(&d, &l) == 0 &&
			    start_threads(&d, flow_cap) == 0) {
				run_loop(&d, &l);
				ran = 1;
			}
		}
	}
	daemon_stop(&d, &l, ran);
	return ran ? 0 : 1;
}
