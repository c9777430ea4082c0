/* nlsock.c - the netfilter netlink socket queue.c, ct.c and bypass.c
 * open (nlsock.h). */
#include "kernel/nlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>

struct mnl_socket *nlsock_open(const char *what, char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int fd;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	fd = mnl_socket_get_fd(nl);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	return nl;
fail:
	snprintf(err, errlen, "%s socket: %s", what, strerror(errno));
	if (nl)
		mnl_socket_close(nl);
	return NULL;
}
