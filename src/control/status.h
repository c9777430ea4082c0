/* What an admin reads: `status`, `stats` in text, JSON and Prometheus,
 * and the SIGUSR1 log line (status.c). The renderers take a view, values
 * gathered by the caller, and never reach into the daemon: each line goes
 * to @emit, which may be a control reply, an HTTP body or the log. */
#ifndef SKYFENCE_STATUS_H
#define SKYFENCE_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/identity.h"
#include "identity/idtab.h"
#include "audit/auditlog.h"
#include "control/ctl.h"
#include "daemon/stats.h"
#include "daemon/fleetd.h"
#include "daemon/sched.h"
#include "kernel/ct.h"

enum status_format { STATUS_TEXT, STATUS_JSON, STATUS_PROMETHEUS, STATUS_LOG };

/* The running policy as `status` shows it. */
struct status_policy {
	const char *source;	/* its file, or what made it */
	unsigned n_depts;	/* besides default */
	const char *killswitch; /* apps, "" off */
};

/* The state file (state.h). */
struct status_state {
	int kept;	 /* --state-dir given */
	int dirty;	 /* the last save failed */
	const char *err; /* why */
	const char *dir;
};

/* The audit, its flow ends and where they come from. */
struct status_audit {
	const char *path; /* NULL: syslog */
	const char *node;
	unsigned rate, burst;
	struct auditlog_stats log;
	int ct_events; /* flow ends from conntrack (ct_events open) */
	struct ct_events_stats ev;
};

/* Who is behind an address (daemon/identity.h): the sources' counters and
 * the table's. */
struct status_identity {
	int enabled;
	unsigned max;
	struct identity_stats src;
	struct idtab_stats tab;
};

/* The endpoints feed (skyfence-endpoints(8)) the running policy holds. */
struct status_feed {
	const char *path; /* the policy's feed option; "" none */
	int present;	  /* a version is loaded */
	const char *instance, *version;
	int64_t version_date, fetched; /* epoch s */
	int64_t checked;	/* the file's mtime (the last check); -1 none */
	int64_t now;		/* wall clock, epoch s */
	unsigned v4, v6, names; /* with the address list */
};

struct policy;

/* The allow-only departments (policy.h's policy_dept_allow_only): their
 * hosts' new flows pass uninspected (skyfence-rules.sh's SKYFENCE-ALLOW),
 * each counted in the nfacct object skyfence-allowonly. */
struct status_allowonly {
	const struct policy *pol; /* the running policy; NULL: not shown */
	int counted;		  /* the kernel has the counter */
	uint64_t flows;		  /* its packets: a flow's first each */
};

struct status_view {
	/* every format */
	const struct stats_snap *snap;
	const struct app_stat *apps; /* APP_STATS slots */
	struct classifier *cls;	     /* app names */
	const char *digest;	     /* the running policy's SHA-256 */
	uint64_t now_ms;	     /* monotonic */
	/* the fleet (fleetd.h); bucket NULL: standalone */
	const struct fleetd_view *fleet;
	/* `status` only */
	long pid;
	uint64_t uptime_s;
	struct status_policy pol;
	unsigned queue_num, n_queues, n_workers, max_flows;
	int bypass_counted, bypass_growing;
	uint64_t bypassed;
	int ha_rules; /* the INVALID drop counter is there */
	uint64_t ha_dropped;
	int tcp_loose; /* nf_conntrack_tcp_loose; -1 not readable */
	struct ctl_stats ctl;
	struct ct_stats ct;
	const char *log_level;
	long rss_kib;
	struct status_state state;
	struct status_audit audit;
	int metrics; /* --metrics-listen given */
	const char *metrics_listen;
	unsigned metrics_open;
	unsigned long long metrics_served;
	struct status_identity ident;
	struct status_feed feed;
	struct sched_view sched; /* the schedule (daemon/sched.h) */
	/* `status` and the Prometheus exposition */
	struct status_allowonly allow;
};

/* `status` (STATUS_TEXT or STATUS_JSON, one line) of @v. */
void status_render(const struct status_view *v, enum status_format f,
		   void (*emit)(void *ctx, const char *line), void *ctx);
/* v->snap and the per department and app counters in @f: `stats`,
 * `stats json`, `stats prometheus` (/metrics), and the SIGUSR1 log line
 * ("stats: key=value ..."). */
void status_render_stats(const struct status_view *v, enum status_format f,
			 void (*emit)(void *ctx, const char *line), void *ctx);
/* @s escaped for a JSON string / a Prometheus label value. */
void status_json_str(char *out, size_t len, const char *s);
void status_prom_str(char *out, size_t len, const char *s);

#endif
