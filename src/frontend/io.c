/*
 * io - pb_write_all and pb_close_gently, shared by the frontends.
 */
#include "frontend/io.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* pb_write_all - everything, or -1. */
int pb_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* pb_close_gently - half-close, then drain briefly. */
void pb_close_gently(int fd_in, int fd_out)
{
	struct timeval tv = {.tv_sec = 1};
	char buf[8192];
	size_t drained = 0;
	ssize_t n;

	if (shutdown(fd_out, SHUT_WR) < 0)
		return; /* not a socket: nothing to protect */
	(void)setsockopt(fd_in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (drained < 1024 * 1024 && (n = read(fd_in, buf, sizeof(buf))) > 0)
		drained += (size_t)n;
}
