#!/usr/bin/python3
"""maps.py BUILD_DIR - hostile input against pushbackd's socketmap and
tcp_table listeners.

Starts pushbackd (idle_timeout = 2) with SRS keys, a socketmap listener
and a tcp_table forward listener on free ports of 127.0.0.1:10250-10259,
then sends what no MTA should: broken netstrings, claimed lengths of
gigabytes, a megabyte without a delimiter, NUL and control bytes in keys,
binary noise, a client that sends half a request and waits, hundreds of
connections at once, a client that never reads its answers.  A framing
error must be answered with the protocol's own error (socketmap "PERM",
tcp_table "400") before the connection closes; after every case a normal
request on a NEW connection must still be answered correctly, and at the
end the daemon must run, its log must hold no sanitizer report, and it
must stop cleanly on SIGTERM.

Prints "ok - NAME" / "not ok - NAME" and "N passed, M failed".
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
PORTS = list(range(10250, 10260))
T = 10.0
IDLE = 2
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                       r"Segmentation fault|SIGSEGV|SIGABRT|double free")

passed = 0
failed = 0


def result(name, good, detail=""):
    global passed, failed
    if good:
        passed += 1
        print("ok - " + name, flush=True)
    else:
        failed += 1
        print("not ok - " + name, flush=True)
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)


def connect(port):
    s = socket.socket()
    s.settimeout(T)
    s.connect((HOST, port))
    return s


def read_all(s, limit=1 << 20):
    buf = b""
    try:
        while len(buf) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return buf


def sm_ok(port):
    """A normal socketmap request on a new connection."""
    s = connect(port)
    s.sendall(b"24:forward user@example.com,")
    buf = b""
    while not buf.endswith(b","):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    return re.fullmatch(rb"\d+:OK SRS0=.*@srs\.example\.org,", buf) is not None


def tt_ok(port):
    s = connect(port)
    s.sendall(b"get user@example.com\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf.startswith(b"200 SRS0=")


def fatal_sm(port, data):
    """Send data; expect a PERM netstring, then the close."""
    s = connect(port)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    buf = read_all(s)
    s.close()
    return re.match(rb"\d+:PERM ", buf) is not None, buf[:200]


def main():
    build = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="pb-hostile-maps-")
    proc = None
    try:
        keys = os.path.join(tmp, "srs.keys")
        fd = os.open(keys, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"hostile-test-secret\n")
        os.close(fd)
        free = []
        for p in PORTS:
            s = socket.socket()
            try:
                s.bind((HOST, p))
                free.append(p)
            except OSError:
                pass
            finally:
                s.close()
        if len(free) < 3:
            print("not ok - setup: no free ports")
            return 1
        pp, psm, ptt = free[:3]
        conf = os.path.join(tmp, "pushback.conf")
        with open(conf, "w") as f:
            f.write("""[pushbackd]
state_dir = {tmp}
idle_timeout = {idle}
max_connections = 256
[milter]
listen =

[policy]
listen = inet:127.0.0.1:{pp}
[socketmap]
listen = inet:127.0.0.1:{psm}
[tcp_table]
forward = inet:127.0.0.1:{ptt}
[srs]
domain = srs.example.org
local_domains = example.org
secrets = {keys}
""".format(tmp=tmp, idle=IDLE, pp=pp, psm=psm, ptt=ptt, keys=keys))
        logpath = os.path.join(tmp, "log")
        logf = open(logpath, "wb")
        proc = subprocess.Popen([os.path.join(build, "pushbackd"), "-f",
                                 "-c", conf], stdout=logf,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + T
        while time.time() < deadline:
            try:
                socket.create_connection((HOST, psm), 0.5).close()
                socket.create_connection((HOST, ptt), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        cases(psm, ptt)
        result("daemon still running", proc.poll() is None)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(T)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        result("stops cleanly on SIGTERM", rc == 0, "exit %r" % rc)
        log = open(logpath, "rb").read().decode(errors="replace")
        result("log: no sanitizer report", not SANITIZER.search(log),
               "\n".join(log.splitlines()[-20:]))
        result("log: no raw control bytes",
               not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", log), "")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def cases(psm, ptt):
    result("baseline: socketmap answers", sm_ok(psm))
    result("baseline: tcp_table answers", tt_ok(ptt))

    for name, data in [
            ("netstring without a length", b":forward a@b,"),
            ("netstring with a letter for a length", b"x:forward a@b,"),
            ("netstring claiming 9 GB", b"9999999999:forward"),
            ("netstring with a leading zero", b"05:abcde,"),
            ("netstring without its comma", b"5:abcdeX"),
            ("binary noise", bytes(range(256)) * 4),
            ("a megabyte of digits", b"1" * (1 << 20))]:
        good, buf = fatal_sm(psm, data)
        result("socketmap: %s gets PERM and a close" % name, good, buf)
        result("socketmap: ... then a new connection is served",
               sm_ok(psm))

    s = connect(psm)
    s.sendall(b"".join(b"%d:%s," % (len(k), k) for k in
                       (b"forward a\x00b@c.org", b"forward \x01@x.y")))
    buf = b""
    s.settimeout(2)
    try:
        while buf.count(b",") < 2:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    s.close()
    got = re.findall(rb"\d+:([A-Z]+) ", buf)
    result("socketmap: NUL and control bytes in keys get PERM, and the "
           "stream goes on", got == [b"PERM", b"PERM"], buf)
    result("socketmap: ... and served after", sm_ok(psm))

    s = connect(ptt)
    s.sendall(b"get " + b"a" * 100000)
    buf = read_all(s)
    s.close()
    result("tcp_table: a 100 kB line gets 400 and a close",
           buf.startswith(b"400 "), buf[:100])
    result("tcp_table: ... then a new connection is served", tt_ok(ptt))

    s = connect(ptt)
    s.sendall(b"get a%00b@x\nget \xff\xfe@x\nget ok@example.com\n")
    s.settimeout(T)
    buf = b""
    while buf.count(b"\n") < 3:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    lines = buf.split(b"\n")
    result("tcp_table: encoded NUL refused, 8-bit key answered, stream "
           "goes on", len(lines) >= 3 and lines[0].startswith(b"400 ") and
           lines[2].startswith(b"200 SRS0="), buf)

    # Half a request, then silence: the idle timeout must free the thread.
    s = connect(psm)
    s.sendall(b"30:forward us")
    t0 = time.time()
    buf = read_all(s)
    waited = time.time() - t0
    s.close()
    result("socketmap: half a request then silence is closed after "
           "idle_timeout", buf == b"" and waited < IDLE + 5,
           "waited %.1f s, got %r" % (waited, buf[:80]))

    # Many connections at once, each with one request.
    replies = []
    lock = threading.Lock()

    def one():
        try:
            good = sm_ok(psm)
        except OSError:
            good = False
        with lock:
            replies.append(good)

    threads = [threading.Thread(target=one) for _ in range(400)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3 * T)
    result("socketmap: 400 concurrent connections all answered",
           len(replies) == 400 and all(replies),
           "%d answered, %d right" % (len(replies), sum(replies)))

    # A client that sends many requests and never reads its answers.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(T)
    s.connect((HOST, psm))
    req = b"24:forward user@example.com,"
    sent = 0
    s.settimeout(1)
    try:
        while sent < 20 * 1024 * 1024:
            s.sendall(req * 1000)
            sent += len(req) * 1000
    except (socket.timeout, OSError):
        pass
    result("socketmap: a client that never reads does not stop others",
           sm_ok(psm))
    s.close()
    result("socketmap: ... and after it leaves, still served", sm_ok(psm))


if __name__ == "__main__":
    sys.exit(main())
