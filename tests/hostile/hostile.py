#!/usr/bin/python3
"""hostile.py BUILD_DIR - hostile input against a live pushbackd.

Starts pushbackd (idle_timeout = 2, max_connections = 256, the default
request limits) on a free port of 127.0.0.1:10150-10159 with the directory
of tests/proto/setup.sh, then throws bad bytes, bad framing and bad
behaviour at it.  After every case a normal request on a NEW connection
must still get the right answer.  At the end the daemon must still run,
its log must hold no sanitizer report and no raw control byte, and it must
stop cleanly on SIGTERM.

A malformed request must be answered "action=451 4.3.0 malformed policy
request" (never 5xx, never DUNNO); where the daemon closes the connection
it must have answered first.

Prints "ok - NAME" / "not ok - NAME" per case and "N passed, M failed";
exits non-zero on failure.  Python 3 standard library only.
Env: PB_SOURCE_DIR (default: two levels up), PB_BUILD_DIR.
"""

import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PB_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
HOST = "127.0.0.1"
PORTS = range(10150, 10160)
IDLE_TIMEOUT = 2
# Generous: an ASan build is several times slower; these only bite on a
# real hang.
T = 10.0

MALFORMED = b"action=451 4.3.0 malformed policy request\n\n"
DUNNO = b"action=DUNNO\n\n"
UNKNOWN = b"action=550 5.1.1 unknown recipient\n\n"
NOT_PERMITTED = (b"action=550 5.7.1 you are not permitted to post to "
                 b"dev@lists.example.org; contact alice@example.org\n\n")

SANITIZER = re.compile(rb"AddressSanitizer|LeakSanitizer|ThreadSanitizer|"
                       rb"runtime error:|Segmentation fault|SIGSEGV|SIGABRT|"
                       rb"double free|stack smashing|Assertion .* failed")


class Fail(Exception):
    pass


def req(sender, rcpt, state="RCPT", inst=None, extra=()):
    """One well-formed request, as bytes."""
    if isinstance(sender, str):
        sender = sender.encode()
    if isinstance(rcpt, str):
        rcpt = rcpt.encode()
    lines = [b"request=smtpd_access_policy", b"protocol_state=" + state.encode(),
             b"protocol_name=ESMTP", b"client_address=192.0.2.10",
             b"client_name=mail.example.net", b"helo_name=mail.example.net",
             b"sender=" + sender, b"recipient=" + rcpt]
    if inst:
        lines.append(b"instance=" + inst.encode())
    lines += list(extra)
    return b"".join(l + b"\n" for l in lines) + b"\n"


GOOD_UNKNOWN = req("someone@example.net", "nobody@example.org")
GOOD_KNOWN = req("someone@example.net", "alice@example.org")


def connect(port, timeout=T, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((HOST, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_replies(s, n, timeout=T):
    """Read until n replies ("...\\n\\n") arrived, EOF or timeout.
    Returns (replies, eof); raises Fail on timeout."""
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\n\n") < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("timeout after %.1f s: %d of %d replies, got %r" %
                       (timeout, buf.count(b"\n\n"), n, buf[-200:]))
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise Fail("connection reset after %d of %d replies" %
                       (buf.count(b"\n\n"), n))
        if not chunk:
            return split_replies(buf), True
        buf += chunk
    return split_replies(buf), False


def split_replies(buf):
    out = []
    while b"\n\n" in buf:
        i = buf.index(b"\n\n") + 2
        out.append(buf[:i])
        buf = buf[i:]
    if buf:
        out.append(buf)  # a partial reply: never equal to a whole one
    return out


def read_to_eof(s, timeout=T):
    """Everything until the daemon closes; (data, seconds, how)."""
    buf = b""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("the daemon did not close the connection within "
                       "%.1f s (got %r)" % (timeout, buf[-200:]))
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return buf, time.monotonic() - t0, "reset"
        if not chunk:
            return buf, time.monotonic() - t0, "eof"
        buf += chunk


def expect(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def exchange(port, data, want, what="reply"):
    """One connection: send data, expect exactly the replies in want."""
    s = connect(port)
    try:
        s.sendall(data)
        got, _ = read_replies(s, len(want))
        expect(got, list(want), what)
    finally:
        s.close()


def send_async(s, data):
    """Send data from a thread (the daemon may stop reading or close);
    returns the thread, whose .error holds the socket error if any."""
    def run():
        try:
            s.sendall(data)
        except OSError as e:
            t.error = e
    t = threading.Thread(target=run, daemon=True)
    t.error = None
    t.start()
    return t


class Daemon:
    def __init__(self, build, tmp):
        self.build = build
        self.tmp = tmp
        self.log_path = os.path.join(tmp, "pushbackd.log")
        self.proc = None
        self.port = None

    def conf(self, port):
        path = os.path.join(self.tmp, "hostile.conf")
        with open(path, "w") as f:
            f.write("""# written by tests/hostile/hostile.py
[pushbackd]
state_dir = {tmp}
max_connections = 256
idle_timeout = {idle}
log = stderr
log_level = info

[milter]
listen =

[policy]
listen = inet:{host}:{port}
max_line_length = 4096
max_attributes = 256
max_request_size = 65536

[socketmap]
listen =

[directory]
database = {tmp}/pushback.db
""".format(tmp=self.tmp, idle=IDLE_TIMEOUT, host=HOST, port=port))
        return path

    def start(self):
        for port in PORTS:
            probe = socket.socket()
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            finally:
                probe.close()
            conf = self.conf(port)
            if self.port is None:
                self.setup(conf)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [os.path.join(self.build, "pushbackd"), "-f", "-c", conf],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            self.port = port
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            # lost a race for the port with someone else: try the next
        raise Fail("pushbackd did not start on any of 10150-10159:\n" +
                   self.log().decode(errors="replace")[-2000:])

    def setup(self, conf):
        pb = os.path.join(self.build, "pushback")
        r = subprocess.run([os.path.join(SRC, "tests/proto/setup.sh"), pb, conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Fail("setup.sh failed:\n" + r.stdout.decode(errors="replace"))
        # An SMTPUTF8 recipient for the 8-bit case.
        r = subprocess.run([pb, "-c", conf, "recipient", "add",
                            "j\u00f6rg@example.org"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Fail("pushback recipient add j\u00f6rg@example.org failed:\n"
                       + r.stdout.decode(errors="replace"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


# ---- the cases ---------------------------------------------------------
# Each takes the port and returns a short note (or None); raises Fail.

def c_garbage(port):
    rnd = random.Random(20240501)
    # One line of random bytes (no LF, no '='): not name=value.
    junk = bytes(rnd.choice([b for b in range(256) if b not in (10, 61)])
                 for _ in range(2000))
    exchange(port, junk + b"\n\n" + GOOD_UNKNOWN, [MALFORMED, UNKNOWN])
    # Random bytes with LFs in them: every empty line ends one malformed
    # request; then the stream is back in sync.
    junk = bytes(10 if rnd.random() < 0.05 else rnd.randrange(256)
                 for _ in range(20000))
    data = junk + b"\n\n"
    n = sum(1 for l in data.split(b"\n")[:-1] if l in (b"", b"\r"))
    exchange(port, data + GOOD_UNKNOWN, [MALFORMED] * n + [UNKNOWN])
    return "%d malformed requests answered" % (n + 1)


def c_nul_in_value(port):
    exchange(port, req(b"some\x00one@example.net", "alice@example.org")
             + req("someone@example.net", b"alice@example.org\x00nobody")
             + GOOD_UNKNOWN, [MALFORMED, MALFORMED, UNKNOWN])


def c_line_without_equals(port):
    exchange(port, b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
             b"recipient nobody@example.org\n\n" + GOOD_UNKNOWN,
             [MALFORMED, UNKNOWN])


def fatal_case(port, data, what):
    """data exceeds max_request_size: one 451, then the daemon closes."""
    s = connect(port)
    try:
        t = send_async(s, data)
        got, secs, how = read_to_eof(s)
        t.join(T)
    finally:
        s.close()
    if got != MALFORMED:
        raise Fail("%s: got %r (%s after %.1f s), want %r then close" %
                   (what, got[:200], how, secs, MALFORMED))
    return "answered, then closed (%s)" % how


def c_mb_line_no_newline(port):
    return fatal_case(port, b"request=smtpd_access_policy\nccert_subject=" +
                      b"a" * (1 << 20), "1 MB line")


def c_mb_line_newline(port):
    return fatal_case(port, b"request=smtpd_access_policy\nccert_subject=" +
                      b"a" * (1 << 20) + b"\n\n" + GOOD_UNKNOWN,
                      "1 MB line with newline")


def c_ten_thousand_attributes(port):
    data = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
            b"recipient=alice@example.org\n" +
            b"a=b\n" * 10000 + b"\n")
    if len(data) >= 65536:
        raise Fail("test bug: the request should fit max_request_size")
    exchange(port, data + GOOD_UNKNOWN, [MALFORMED, UNKNOWN])


def c_over_max_request(port):
    # Every line fits max_line_length; only the total is too big.
    data = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
            b"recipient=alice@example.org\n" +
            b"".join(b"x%d=%s\n" % (i, b"y" * 1000) for i in range(70)) +
            b"\n" + GOOD_UNKNOWN)
    return fatal_case(port, data, "70 KB request")


def c_eof_without_empty_line(port):
    s = connect(port)
    try:
        s.sendall(req("someone@example.net", "nobody@example.org")[:-1])
        s.shutdown(socket.SHUT_WR)
        got, secs, how = read_to_eof(s)
    finally:
        s.close()
    if got not in (b"", MALFORMED):
        raise Fail("an unfinished request got %r (want no answer or %r)" %
                   (got, MALFORMED))
    return "closed after %.2f s, %s" % (secs, "no answer" if not got else "451")


def c_half_open(port):
    s = connect(port)
    try:
        s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nrecip")
        time.sleep(0.2)
        s.shutdown(socket.SHUT_WR)
        got, secs, how = read_to_eof(s)
    finally:
        s.close()
    if got not in (b"", MALFORMED):
        raise Fail("half-open client got %r" % got)
    # EOF must end the connection at once, not the idle timer.
    if secs > IDLE_TIMEOUT * 0.75:
        raise Fail("closed only after %.2f s: EOF was not noticed" % secs)
    return "closed after %.2f s" % secs


def c_closed_mid_request(port):
    for cut in (1, 30, len(GOOD_UNKNOWN) - 1):
        s = connect(port)
        s.sendall(GOOD_UNKNOWN[:cut])
        s.close()
    # And with an RST instead of a FIN.
    s = connect(port)
    s.sendall(GOOD_UNKNOWN[:40])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    time.sleep(0.1)


def c_never_reads(port):
    # A small receive buffer so that the daemon's replies fill it soon.
    a = connect(port, rcvbuf=4096)
    a.setblocking(False)
    # Long replies fill the daemon's send buffer sooner.
    one = req("mallory@example.net", "dev@lists.example.org")
    blob = one * 2000
    sent = 0
    stalled_since = None
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            n = a.send(blob)
            sent += n
            stalled_since = None
        except BlockingIOError:
            if stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > 0.5:
                break
            time.sleep(0.01)
    if stalled_since is None:
        a.close()
        raise Fail("could not fill the daemon's buffers in 8 s "
                   "(sent %d bytes)" % sent)
    try:
        # Others are still served while that thread is stuck writing.
        t0 = time.monotonic()
        exchange(port, GOOD_UNKNOWN + GOOD_KNOWN, [UNKNOWN, DUNNO],
                 "another client while one never reads")
        secs = time.monotonic() - t0
    finally:
        a.close()
    return "%d KB unread; another client served in %.2f s" % (sent // 1024,
                                                            secs)


def c_two_thousand_connections(port):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        new = 2200 if hard == resource.RLIM_INFINITY else min(hard, 4096)
        if new < 2200:
            raise Fail("RLIMIT_NOFILE hard limit %d < 2200" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    socks = []
    try:
        for _ in range(2000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((HOST, port))
            socks.append(s)
        time.sleep(1.0)
        # The daemon must still be alive with all of them open.
        connected = 0
        for s in socks:
            try:
                s.getpeername()
                connected += 1
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()
    return "%d of 2000 connected, then closed" % connected


def c_idle_clients(port):
    a = connect(port, timeout=15)
    c = connect(port, timeout=15)
    c.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n")
    results = {}
    closed_at = {}

    def watch(name, s):
        try:
            results[name] = read_to_eof(s, timeout=15)
            closed_at[name] = time.monotonic()
        except Fail as e:
            results[name] = e

    ta = threading.Thread(target=watch, args=("idle", a))
    tc = threading.Thread(target=watch, args=("idle inside a request", c))
    ta.start()
    tc.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    exchange(port, GOOD_UNKNOWN + GOOD_KNOWN, [UNKNOWN, DUNNO],
             "a request while others idle")
    served_at = time.monotonic()
    served = served_at - t0
    ta.join(20)
    tc.join(20)
    a.close()
    c.close()
    notes = []
    for name in ("idle", "idle inside a request"):
        r = results.get(name)
        if isinstance(r, Exception) or r is None:
            raise Fail("%s connection: %s" % (name, r))
        got, secs, how = r
        if got not in (b"", MALFORMED) or (name == "idle" and got):
            raise Fail("%s connection got %r" % (name, got))
        # read_to_eof started right after connect (within a few ms).
        if not (IDLE_TIMEOUT * 0.75 <= secs <= IDLE_TIMEOUT + 3.0):
            raise Fail("%s connection closed after %.2f s; idle_timeout = %d"
                       % (name, secs, IDLE_TIMEOUT))
        notes.append("%s closed after %.1f s" % (name, secs))
        if served_at > closed_at[name]:
            raise Fail("the other request was only answered after the %s "
                       "connection was closed" % name)
    return "; ".join(notes) + "; other client served in %.2f s" % served


def c_slowloris(port):
    data = req("someone@example.net", "nobody@example.org", inst="slow")
    s = connect(port)
    other = {}

    def others():
        time.sleep(1.0)
        t0 = time.monotonic()
        try:
            exchange(port, GOOD_KNOWN, [DUNNO], "a request during slowloris")
            other["secs"] = time.monotonic() - t0
            other["at"] = time.monotonic()
        except Exception as e:  # noqa: BLE001 - reported below
            other["error"] = e

    t = threading.Thread(target=others)
    t.start()
    closed_early = False
    try:
        for i in range(30):  # 3 s, one byte per 100 ms
            s.sendall(data[i:i + 1])
            time.sleep(0.1)
        slow_done = time.monotonic()
        s.sendall(data[30:])
        got, eof = read_replies(s, 1)
    except (BrokenPipeError, ConnectionResetError):
        closed_early = True
        got = []
    finally:
        s.close()
    t.join(T)
    if "error" in other:
        raise Fail(str(other["error"]))
    if "secs" not in other:
        raise Fail("the other client was not served")
    if other["at"] > slow_done:
        raise Fail("the other client was served only after the slow one "
                   "finished (waited %.2f s)" % other["secs"])
    if closed_early or got == []:
        raise Fail("the slow client was dropped although it never idled "
                   "for idle_timeout")
    expect(got, [UNKNOWN], "slow client's answer")
    return "slow request answered; other client served in %.2f s" % other["secs"]


def c_binary_ff(port):
    exchange(port,
             req(b"\xff\xff@example.net", "alice@example.org")
             + req(b"\xff\xfe\xfd@example.net", "dev@lists.example.org")
             + req("someone@example.net", b"\xff@example.net")
             + GOOD_UNKNOWN,
             [DUNNO, NOT_PERMITTED, DUNNO, UNKNOWN])


def c_long_attribute_name(port):
    exchange(port,
             b"request=smtpd_access_policy\nprotocol_state=RCPT\n" +
             b"n" * 10000 + b"=x\nrecipient=alice@example.org\n\n" +
             req("someone@example.net", "nobody@example.org",
                 extra=[b"n" * 4000 + b"=x"]) + GOOD_KNOWN,
             [MALFORMED, UNKNOWN, DUNNO])


def c_empty_request(port):
    exchange(port, b"\n" + GOOD_UNKNOWN, [MALFORMED, UNKNOWN])


def c_request_foo(port):
    exchange(port, b"request=foo\nprotocol_state=RCPT\nsender=a@example.net\n"
             b"recipient=nobody@example.org\n\n" +
             b"request=\nprotocol_state=RCPT\nrecipient=nobody@example.org\n\n" +
             b"request=smtpd_access_policyX\nprotocol_state=RCPT\n"
             b"recipient=nobody@example.org\n\n" + GOOD_UNKNOWN,
             [MALFORMED, MALFORMED, MALFORMED, UNKNOWN])


def c_many_empty_lines(port):
    exchange(port, b"\n" * 1000 + GOOD_UNKNOWN, [MALFORMED] * 1000 + [UNKNOWN])


def c_utf8_addresses(port):
    exchange(port,
             req("someone@example.net", "j\u00f6rg@example.org".encode())
             + req("someone@example.net", "j\u00fcrgen@example.org".encode())
             + req("someone@example.net", "alice@ex\u00e4mple.org".encode())
             + req("j\u00f6rg@example.org".encode(), "dev@lists.example.org")
             + req("\u7528\u6237@example.net".encode(), "alice@example.org"),
             [DUNNO, UNKNOWN, DUNNO, NOT_PERMITTED, DUNNO])


def c_crlf(port):
    exchange(port, GOOD_UNKNOWN.replace(b"\n", b"\r\n") +
             GOOD_KNOWN.replace(b"\n", b"\r\n") + GOOD_UNKNOWN,
             [UNKNOWN, DUNNO, UNKNOWN])


def c_long_local_part(port):
    s = connect(port)
    try:
        s.sendall(req("someone@example.net", "x" * 1000 + "@example.org")
                  + req("someone@example.net", "x" * 1000 + "@example.net")
                  + GOOD_UNKNOWN)
        got, _ = read_replies(s, 3)
    finally:
        s.close()
    # Unknown in a protected domain: a refusal (550 5.1.1) or fail-safe
    # tempfail, never DUNNO (that would accept mail for nobody).
    if not (got[0] == UNKNOWN or got[0].startswith(b"action=451 4.")):
        raise Fail("1000-char local part @example.org got %r" % got[0])
    # Not ours: no opinion or a tempfail, never a 5xx.
    if not (got[1] == DUNNO or got[1].startswith(b"action=4")):
        raise Fail("1000-char local part @example.net got %r" % got[1])
    expect(got[2], UNKNOWN, "the request after")
    return "protected: %s; not protected: %s" % (
        got[0].strip().decode(), got[1].strip().decode())


def c_pipelined_100(port):
    kinds = [(GOOD_UNKNOWN, UNKNOWN), (GOOD_KNOWN, DUNNO),
             (req("mallory@example.net", "dev@lists.example.org"), NOT_PERMITTED),
             (req("someone@example.net", "x@example.net"), DUNNO),
             (b"request=foo\n\n", MALFORMED)]
    rnd = random.Random(7)
    seq = [rnd.choice(kinds) for _ in range(100)]
    exchange(port, b"".join(r for r, _ in seq), [a for _, a in seq],
             "100 pipelined replies")


CTL_ID = "ctl-case-7f3a"


def c_control_char_checked(port):
    s = connect(port)
    try:
        s.sendall(req(b"ev\x1b[2J\x07il\x7f\rFORGED id=x@example.net",
                      "alice@example.org", inst=CTL_ID) +
                  req("someone@example.net", b"ali\x01ce\x1b@example.org",
                      inst=CTL_ID + "-rcpt"))
        got, _ = read_replies(s, 2)
    finally:
        s.close()
    expect(got[0], DUNNO, "control chars in the sender, known recipient")
    if got[1] not in (DUNNO, UNKNOWN):
        raise Fail("control chars in a protected recipient got %r" % got[1])
    return None


def c_unparseable_protected(port):
    # A local part that is not a valid address (0xFF, Latin-1, control
    # bytes) in a protected domain names no recipient that exists, so the
    # spec's "unknown recipient -> 550 5.1.1" applies: accepting it would
    # only bounce later, which is the backscatter pushback exists to stop.
    for rcpt, what in ((b"\xff\xffbob@example.org", "0xFF"),
                       (b"j\xf6rg@example.org", "Latin-1"),
                       (b"ali\x01ce@example.org", "control byte"),
                       (b"a..b@example.org", "empty atom")):
        exchange(port, req("someone@example.net", rcpt), [UNKNOWN],
                 "%s local part in a protected domain" % what)


def check_log_clean(log):
    """No raw control byte (other than LF) anywhere in the log, and the
    decision line of the control-char case is there, escaped."""
    bad = [i for i, b in enumerate(log) if (b < 0x20 and b != 0x0a) or b == 0x7f]
    if bad:
        i = bad[0]
        raise Fail("%d raw control bytes in the log; first at %d: %r" %
                   (len(bad), i, log[max(0, i - 80):i + 40]))
    lines = [l for l in log.split(b"\n") if CTL_ID.encode() in l]
    if len(lines) < 2:
        raise Fail("no decision line with id=%s in the log" % CTL_ID)
    if any(l.startswith(b"FORGED") for l in log.split(b"\n")):
        raise Fail("a CR in a value forged a log line")


def c_flood(port):
    n = 500
    errors = []
    lock = threading.Lock()
    idx = iter(range(n))

    def worker():
        while True:
            with lock:
                i = next(idx, None)
            if i is None:
                return
            data, want = ((GOOD_UNKNOWN, UNKNOWN) if i % 2 else
                          (GOOD_KNOWN, DUNNO))
            try:
                exchange(port, data, [want], "flood connection %d" % i)
            except (Fail, OSError) as e:
                with lock:
                    errors.append("%d: %s" % (i, e))

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(25)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    if errors:
        raise Fail("%d of %d failed; first: %s" % (len(errors), n, errors[0]))
    return "%d connections in %.1f s" % (n, time.monotonic() - t0)


CASES = [
    ("garbage bytes", c_garbage),
    ("NUL in a value", c_nul_in_value),
    ("line without '='", c_line_without_equals),
    ("1 MB line without newline: answered, then closed", c_mb_line_no_newline),
    ("1 MB line with newline: answered, then closed", c_mb_line_newline),
    ("10,000 attributes", c_ten_thousand_attributes),
    ("request over max_request_size: answered, then closed", c_over_max_request),
    ("request ended by EOF without the empty line", c_eof_without_empty_line),
    ("half-open connection", c_half_open),
    ("connection closed mid-request", c_closed_mid_request),
    ("client that never reads its replies", c_never_reads),
    ("2,000 connections at once", c_two_thousand_connections),
    ("idle clients are closed after idle_timeout", c_idle_clients),
    ("slowloris", c_slowloris),
    ("0xFF bytes in values", c_binary_ff),
    ("very long attribute names", c_long_attribute_name),
    ("empty request", c_empty_request),
    ("request=foo", c_request_foo),
    ("1,000 empty lines", c_many_empty_lines),
    ("8-bit and UTF-8 addresses", c_utf8_addresses),
    ("CRLF line endings", c_crlf),
    ("recipient with a 1000-char local part", c_long_local_part),
    ("100 requests pipelined in one write", c_pipelined_100),
    ("control chars in addresses", c_control_char_checked),
    ("unparseable local part in a protected domain is unknown",
     c_unparseable_protected),
    ("500 short-lived connections", c_flood),
]


def after_check(port, timeout):
    """The normal request on a new connection, after every case."""
    s = connect(port, timeout=timeout)
    try:
        s.sendall(GOOD_UNKNOWN + GOOD_KNOWN)
        got, _ = read_replies(s, 2, timeout)
        expect(got, [UNKNOWN, DUNNO], "normal requests on a new connection")
    finally:
        s.close()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PB_BUILD_DIR")
    if not build:
        sys.stderr.write("usage: hostile.py BUILD_DIR\n")
        return 2
    build = os.path.abspath(build)
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="pb-hostile-")
    d = Daemon(build, tmp)

    def result(ok, name, note=None):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok - %s%s" % (name, " (%s)" % note if note else ""))
        else:
            failed += 1
            print("not ok - %s" % name)
            for line in str(note).splitlines():
                print("# " + line)
        sys.stdout.flush()

    try:
        try:
            d.start()
        except Fail as e:
            result(False, "start pushbackd", e)
            print("%d passed, %d failed" % (passed, failed))
            return 1
        t_all = time.monotonic()
        for name, fn in CASES:
            t0 = time.monotonic()
            try:
                note = fn(d.port)
                # A normal request on a new connection, one attempt.  After
                # 2,000 connections the daemon first drains its backlog.
                wait = 30 if fn is c_two_thousand_connections else T
                try:
                    after_check(d.port, wait)
                except (Fail, OSError) as e:
                    raise Fail("after the case: %s" % e)
                if not d.alive():
                    raise Fail("pushbackd died")
                secs = time.monotonic() - t0
                result(True, name, ("%s; " % note if note else "") + "%.1f s" % secs)
            except (Fail, OSError) as e:
                result(False, name, "%s%s" % (e, "" if d.alive() else
                                              "\npushbackd is not running"))
                if not d.alive():
                    break
        # The end: still running, log clean, clean stop.
        result(d.alive(), "pushbackd still running after every case",
               None if d.alive() else "exit status %s" % d.proc.returncode)
        try:
            check_log_clean(d.log())
            result(True, "log has no raw control bytes and no forged lines")
        except Fail as e:
            result(False, "log has no raw control bytes and no forged lines", e)
        rc = d.stop()
        log = d.log()
        m = SANITIZER.search(log)
        if rc == 0 and m is None:
            result(True, "clean stop on SIGTERM, no crash or sanitizer report "
                   "in the log")
        else:
            tail = log[m.start() - 200:m.start() + 2000] if m else log[-1500:]
            result(False, "clean stop on SIGTERM, no crash or sanitizer "
                   "report in the log",
                   "exit status %s\n%s" % (rc, tail.decode(errors="replace")))
        print("# total %.1f s" % (time.monotonic() - t_all))
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        if os.environ.get("PB_KEEP_TMP"):
            print("# kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
