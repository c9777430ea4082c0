/* privdrop.c - from root to --user with CAP_NET_ADMIN only, through
 * libcap-ng (privdrop.h): its capng_change_id keeps the capabilities
 * across setresuid (PR_SET_KEEPCAPS), which hand-written capset calls
 * get subtly wrong. */
#include "sys/privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

int priv_lookup(const char *name, uid_t *uid, gid_t *gid, char *err,
		size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "no user '%s'%s%s", name,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen,
			 "user '%s' is root: give a user of its own (the "
			 "package makes 'skyfence')",
			 name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int priv_drop(const char *name, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int rc;

	(void)name;
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "--user needs skyfenced started as root (it runs as "
			 "uid %ld)",
			 (long)geteuid());
		return -1;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD,
			 CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			 CAP_NET_ADMIN) != 0) {
		snprintf(err, errlen, "libcap-ng: cannot select CAP_NET_ADMIN");
		return -1;
	}
	/* the bounding set first, while CAP_SETPCAP is still ours */
	if (capng_apply(CAPNG_SELECT_BOUNDS) != 0) {
		snprintf(err, errlen, "bounding set: %s", strerror(errno));
		return -1;
	}
	rc = capng_change_id((int)uid, (int)gid,
			     CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_AMBIENT);
	if (rc != 0) {
		snprintf(err, errlen,
			 "becoming uid %ld gid %ld: libcap-ng "
			 "capng_change_id %d (%s)",
			 (long)uid, (long)gid, rc, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* what the kernel now says, not what was asked */
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    !priv_only_net_admin()) {
		snprintf(err, errlen,
			 "after the change: uid %ld, gid %ld, capabilities "
			 "other than CAP_NET_ADMIN alone",
			 (long)geteuid(), (long)getegid());
		return -1;
	}
	return 0;
}

int priv_only_net_admin(void)
{
	unsigned c;

	if (capng_get_caps_process() != 0)
		return 0;
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) != 1)
		return 0;
	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (c != CAP_NET_ADMIN &&
		    (capng_have_capability(CAPNG_EFFECTIVE, c) ||
		     capng_have_capability(CAPNG_PERMITTED, c)))
			return 0;
	return 1;
}
