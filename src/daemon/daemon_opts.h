/* The inline daemon's options (skyfenced's command line): read by the
 * event loop, the runtime layer and the control verbs. */
#ifndef SKYFENCE_DAEMON_OPTS_H
#define SKYFENCE_DAEMON_OPTS_H

#include <stdint.h>
#include <sys/types.h>

#define MAX_WORKERS 64 /* --workers */
#define MAX_QUEUES 256 /* main queues of a --queue A:B range */

struct daemon_opts {
	const char *policy_path;
	uint16_t queue_num; /* the first main queue */
	uint16_t n_queues;  /* main queues queue_num .. queue_num + n - 1 */
	uint16_t n_workers; /* threads serving them (worker.h) */
	uint32_t queue_maxlen;
	uint32_t rcvbuf;
	int fail_open;
	uint32_t mark_mask;
	uint32_t max_flows;
	uint64_t idle_ms;
	/* --dissectors policy (the default): departments without `log all`
	 * read their flows with the dissectors the policy needs only
	 * (worker_lean_set) */
	int lean;
	/* --overload-dissectors policy (the default): while a queue backs
	 * up, every department's new flows are read lean (worker.c) */
	int overload_lean;
	int foreground;
	const char *audit_path; /* NULL: stderr in the foreground, else syslog */
	const char *pidfile;	/* NULL: none */
	int log_level;
	const char *ctl_path;  /* control socket */
	gid_t ctl_group;       /* its group: read-only access; (gid_t)-1:
				* skyfenced's own */
	gid_t ctl_admin_group; /* admin access; (gid_t)-1: root only */
	uint64_t ctl_idle_ms;  /* idle clients are closed after this */
	/* the running policy and kill switch are kept here (state.h) and
	 * restored at start; NULL: runtime changes live in memory only */
	const char *state_dir;
	/* --user: started as root, skyfenced becomes this user with
	 * CAP_NET_ADMIN only (privdrop.h); NULL: stays who it is */
	const char *run_user;
	uid_t run_uid;
	gid_t run_gid;
	/* --metrics-listen ADDR:PORT: GET /metrics (metrics.h); NULL: off */
	const char *metrics_listen;
	/* the audit (auditlog.h): --node-id (NULL: the host name), a
	 * department's records per second and burst (--audit-rate; rate 0:
	 * every record), the queue's bytes (--audit-buffer), records to
	 * syslog as well (--audit-syslog), flows the side table keeps for
	 * their end records (--audit-flows) */
	const char *node_id;
	uint32_t audit_rate, audit_burst;
	uint32_t audit_buffer;
	int audit_syslog;
	uint32_t audit_flows;
	/* --audit-ct-reliable: conntrack's destroy events delivered
	 * reliably (ct.h says what a stalled daemon then costs) */
	int audit_ct_reliable;
	/* a fleet (fleetd.h): --nats URL[,URL...] (NULL: standalone),
	 * --nats-bucket, the node's credentials (--nats-user,
	 * --nats-password-file), an admin's (--nats-admin-user,
	 * --nats-admin-password-file; NULL: changes made here stay
	 * refused or local), TLS (--nats-ca, --nats-cert, --nats-key) */
	const char *nats_urls, *nats_bucket;
	const char *nats_user, *nats_password_file;
	const char *nats_admin_user, *nats_admin_password_file;
	const char *nats_ca, *nats_cert, *nats_key;
	/* identity (identity.h): RADIUS accounting on --radius-listen
	 * ADDR:PORT from the clients of --radius-clients FILE, groups from
	 * Class or Filter-Id (--radius-groups); the table's bound
	 * (--identity-max) and a session's life without a message
	 * (--identity-lifetime); the directory's groups (--ldap-*); DHCP
	 * leases through the control verb "lease", allowed to members of
	 * --lease-group ((gid_t)-1: root only) */
	const char *radius_listen;
	const char *radius_clients;
	int radius_filter_id; /* groups from Filter-Id, not Class */
	uint32_t identity_max;
	uint32_t identity_lifetime_s;
	const char *ldap_uri, *ldap_base, *ldap_user_filter;
	const char *ldap_group_filter, *ldap_group_attr;
	const char *ldap_bind_dn, *ldap_bind_pw_file;
	uint32_t ldap_lifetime_s;
	gid_t lease_group;
	/* --clock-offset SECONDS (tests only, skyfenced(8)): added to the
	 * wall clock wherever the schedule reads it (sched.h), conntrack's
	 * timestamps included */
	int64_t clock_offset;
};

#define DEFAULT_AUDIT_RATE 200
#define DEFAULT_AUDIT_BURST 2000
#define DEFAULT_AUDIT_BUFFER (8u << 20)
#define DEFAULT_AUDIT_FLOWS 65536
#define DEFAULT_IDENTITY_MAX 65536
#define DEFAULT_IDENTITY_LIFETIME_S 3600
#define DEFAULT_LDAP_LIFETIME_S 300

#endif
