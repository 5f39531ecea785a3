#!/usr/bin/python3
"""replay.py - send a policy request stream to a running pushbackd and
print the reply stream, byte for byte, on stdout.

    replay.py (--inet HOST:PORT | --unix PATH) [--chunk N] [--timeout S] FILE

The requests in FILE go over one connection.  The number of replies to
wait for is the number of empty lines in FILE (each empty line ends one
request, well-formed or not).  Once that many replies ("...\\n\\n") have
arrived and everything is sent, the write side is shut down and the rest
is read until the daemon closes the connection, so an extra or a missing
reply shows up in the comparison with the golden file.  The daemon may
also close first (a request it cannot re-synchronise after).

--chunk N sends FILE in pieces of N bytes (more for a big FILE: at most
about 500 pieces) with a short pause between them, so that lines and
requests arrive split across reads.

Exit status: 0 when the exchange ended with the daemon closing the
connection, 1 on a timeout or a socket error (said on stderr; what did
arrive is still printed).
"""

import argparse
import os
import select
import socket
import sys
import threading
import time


def expected_replies(data):
    """Empty lines (a trailing CR tolerated) in data: one reply each."""
    n = 0
    for line in data.split(b"\n")[:-1]:
        if line == b"" or line == b"\r":
            n += 1
    return n


def connect(args):
    if args.unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args.unix)
    else:
        host, _, port = args.inet.rpartition(":")
        s = socket.create_connection((host, int(port)), timeout=args.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(None)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inet")
    ap.add_argument("--unix")
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("file")
    args = ap.parse_args()
    if bool(args.inet) == bool(args.unix):
        ap.error("give exactly one of --inet and --unix")

    with open(args.file, "rb") as f:
        data = f.read()
    want = expected_replies(data)
    s = connect(args)
    sent = threading.Event()
    send_error = []

    def sender():
        try:
            if args.chunk > 0:
                # At most ~500 pieces, so big cases stay quick.
                step = max(args.chunk, len(data) // 500)
                for i in range(0, len(data), step):
                    s.sendall(data[i:i + step])
                    time.sleep(0.001)
            else:
                s.sendall(data)
        except OSError as e:  # the daemon may close first
            send_error.append(e)
        sent.set()

    t = threading.Thread(target=sender, daemon=True)
    t.start()

    got = bytearray()
    deadline = time.monotonic() + args.timeout
    shut = False
    rc = 0
    while True:
        if not shut and sent.is_set() and got.count(b"\n\n") >= want:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            shut = True
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stderr.write(
                "replay: timeout after %.1f s: %d of %d replies, %s\n" %
                (args.timeout, got.count(b"\n\n"), want,
                 "write side shut" if shut else "still sending"
                 if not sent.is_set() else "waiting for replies"))
            rc = 1
            break
        r, _, _ = select.select([s], [], [], min(left, 0.05))
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            sys.stderr.write("replay: connection reset by the daemon\n")
            rc = 1
            break
        if not chunk:
            break
        got += chunk
    t.join(timeout=1.0)
    s.close()
    sys.stdout.buffer.write(bytes(got))
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
