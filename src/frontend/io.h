/*
 * io - socket writing and closing that every frontend does the same way.
 *
 * Thread-safe: no state.
 */
#ifndef PB_IO_H
#define PB_IO_H

#include <stddef.h>

/* pb_write_all - write len bytes to fd, retrying short writes and EINTR;
 * send(2) without SIGPIPE on a socket, write(2) on a pipe.  0, or -1 with
 * errno set. */
int pb_write_all(int fd, const char *buf, size_t len);

/* pb_close_gently - after answering a request the stream cannot be
 * re-synchronised after: stop writing on fd_out, then read and drop what
 * the client still sends on fd_in (at most 1 MiB, 1 s), so that closing
 * does not reset the connection and destroy the answer before the client
 * has read it.  Does nothing when fd_out is not a socket. */
void pb_close_gently(int fd_in, int fd_out);

#endif
