#!/usr/bin/python3
"""signing.py BUILD_DIR - signed return paths against a live pushbackd.

Starts three pushbackd daemons on loopback (ports from 10230-10239) with
the directory of tests/proto/setup.sh:
  main        SRS and BATV keys, [bounces] protect, socketmap on inet and
              unix, all four tcp_table maps;
  quarantine  the same, with [bounces] quarantine = unsigned-bounce
              expired-signature;
  nokeys      no key files at all.
and checks what an MTA would see:
  - the socketmap and tcp_table maps: forward/reverse round trips, local
    and null senders left alone, SRS1 for re-forwarding, key rotation,
    case-folded addresses, tampered and expired signatures, BATV sign and
    reverse, pipelining, split reads, a half-closed one-shot client
    (Exim's ${readsocket}), an unknown map, a malformed tcp_table line;
  - the bounce rules over the policy protocol: every rule's answer and
    reason, one recipient per bounce (same instance) and a new instance,
    signed recipients looked up by the mailbox inside, quarantine, shadow
    of nothing else, and 4xx when keys are missing;
  - key files: a group-readable key stops the daemon with a clear error;
    `pushback secret new` writes a 0600 file and never overwrites.
Expired and old-key signatures come from tests/lib/signlib.py, an
independent implementation, so they also cross-check the formats.

Prints "ok - NAME" / "not ok - NAME" and "N passed, M failed".
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PB_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import signlib  # noqa: E402

HOST = "127.0.0.1"
PORTS = list(range(10230, 10240))
T = 10.0
SRS_KEY = "first-srs-secret"
SRS_OLD = "older-srs-secret"
BATV_KEY = "batv-secret-one"
BATV_OLD = "batv-secret-zero"
SRS_DOMAIN = "srs.example.org"

passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print("ok - " + name, flush=True)


def not_ok(name, detail=""):
    global failed
    failed += 1
    print("not ok - " + name, flush=True)
    if detail:
        for line in str(detail).splitlines():
            print("#   " + line)


def check(name, cond, detail=""):
    if cond:
        ok(name)
    else:
        not_ok(name, detail)


def free_ports(n):
    out = []
    for p in PORTS:
        s = socket.socket()
        try:
            s.bind((HOST, p))
        except OSError:
            continue
        finally:
            s.close()
        out.append(p)
        if len(out) == n:
            return out
    raise SystemExit("not ok - setup: no %d free ports in %s" % (n, PORTS))


def connect(addr):
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX)
    else:
        s = socket.socket()
    s.settimeout(T)
    s.connect(addr)
    return s


def recv_until(s, done):
    buf = b""
    while not done(buf):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


# --- socketmap ---------------------------------------------------------

def netstring(b):
    return b"%d:%s," % (len(b), b)


def parse_netstrings(buf):
    out = []
    while buf:
        m = re.match(rb"(\d+):", buf)
        if not m:
            break
        n = int(m.group(1))
        start = m.end()
        if len(buf) < start + n + 1:
            break
        out.append(buf[start:start + n].decode())
        buf = buf[start + n + 1:]
    return out


def sm_many(addr, reqs, chunk=None):
    """Send (map, key) requests on one connection; the replies."""
    data = b"".join(netstring(("%s %s" % r).encode()) for r in reqs)
    s = connect(addr)
    if chunk:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
            time.sleep(0.002)
    else:
        s.sendall(data)
    buf = recv_until(s, lambda b: len(parse_netstrings(b)) >= len(reqs))
    s.close()
    return parse_netstrings(buf)


def sm(addr, mapname, key):
    r = sm_many(addr, [(mapname, key)])
    return r[0] if r else "(no reply)"


# --- tcp_table ---------------------------------------------------------

def tt(port, key, raw=None):
    s = connect((HOST, port))
    s.sendall(raw if raw is not None else b"get " + key.encode() + b"\n")
    buf = recv_until(s, lambda b: b.endswith(b"\n"))
    s.close()
    return buf.decode(errors="replace").rstrip("\n")


# --- policy ------------------------------------------------------------

def policy_many(port, reqs):
    """reqs: (sender, recipient, instance); the action= values."""
    data = b""
    for sender, rcpt, inst in reqs:
        data += ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                 "instance=%s\nsender=%s\nrecipient=%s\n"
                 "client_address=192.0.2.1\n\n" % (inst, sender, rcpt)).encode()
    s = connect((HOST, port))
    s.sendall(data)
    buf = recv_until(s, lambda b: b.count(b"\n\n") >= len(reqs))
    s.close()
    return [a[len("action="):] for a in
            buf.decode(errors="replace").split("\n\n") if a]


def policy(port, sender, rcpt, inst="t1"):
    r = policy_many(port, [(sender, rcpt, inst)])
    return r[0] if r else "(no reply)"


# --- daemons -----------------------------------------------------------

class Daemon:
    def __init__(self, build, tmp, name, conf_text):
        self.name = name
        self.conf = os.path.join(tmp, name + ".conf")
        self.logpath = os.path.join(tmp, name + ".log")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.build = build
        self.proc = None

    def start(self, ports):
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [os.path.join(self.build, "pushbackd"), "-f", "-c", self.conf],
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + T
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("not ok - setup: %s exited:\n%s" %
                                 (self.name, self.log()))
            try:
                for p in ports:
                    socket.create_connection((HOST, p), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("not ok - setup: %s did not listen" % self.name)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(T)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return None
        return self.proc.returncode if self.proc else None


def write_key(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)


def base_conf(tmp, state, ports, extra=""):
    return """[pushbackd]
state_dir = {state}
idle_timeout = 5
log_level = info
[milter]
listen =

[policy]
listen = inet:127.0.0.1:{p0}
[directory]
database = {tmp}/pushback.db
[socketmap]
listen = inet:127.0.0.1:{p1}
{extra}""".format(state=state, tmp=tmp, p0=ports[0], p1=ports[1],
                  extra=extra)


def signing_conf(tmp):
    return """[srs]
domain = {d}
local_domains = example.org lists.example.org
secrets = {tmp}/srs.keys
[batv]
secrets = {tmp}/batv.keys
[bounces]
protect = example.org alice@example.net
""".format(d=SRS_DOMAIN, tmp=tmp)


def main():
    if len(sys.argv) < 2:
        print("usage: signing.py BUILD_DIR", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    pb = os.path.join(build, "pushback")
    tmp = tempfile.mkdtemp(prefix="pb-signing-")
    daemons = []
    try:
        return run(build, pb, tmp, daemons)
    finally:
        for d in daemons:
            d.stop()
        if not os.environ.get("PB_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# kept " + tmp)


def run(build, pb, tmp, daemons):
    state = os.path.join(tmp, "state")
    os.mkdir(state)
    write_key(os.path.join(tmp, "srs.keys"), SRS_KEY + "\n" + SRS_OLD + "\n")
    write_key(os.path.join(tmp, "batv.keys"),
              "1 %s\n0 %s\n" % (BATV_KEY, BATV_OLD))
    ports = free_ports(10)
    sock = os.path.join(tmp, "sm.sock")
    main_conf = base_conf(tmp, state, ports[0:2], signing_conf(tmp) + """
[socketmap]
listen = unix:{sock}
[tcp_table]
forward = inet:127.0.0.1:{f}
reverse = inet:127.0.0.1:{r}
batv-sign = inet:127.0.0.1:{bs}
batv-reverse = inet:127.0.0.1:{br}
""".format(sock=sock, f=ports[2], r=ports[3], bs=ports[4], br=ports[5]))
    # [socketmap] appears twice in main_conf: listen lines add up.
    dmain = Daemon(build, tmp, "main", main_conf)
    setup = subprocess.run(
        [os.path.join(SRC, "tests", "proto", "setup.sh"), pb, dmain.conf],
        capture_output=True, text=True)
    if setup.returncode != 0:
        print("not ok - setup.sh: " + setup.stderr)
        return 1
    daemons.append(dmain)
    dmain.start([ports[0], ports[1], ports[2], ports[3], ports[4],
                 ports[5]])
    dq = Daemon(build, tmp, "quarantine",
                base_conf(tmp, state, ports[6:8], signing_conf(tmp) +
                          "quarantine = unsigned-bounce expired-signature\n"))
    daemons.append(dq)
    dq.start(ports[6:8])
    dn = Daemon(build, tmp, "nokeys", base_conf(tmp, state, ports[8:10], """
[bounces]
protect = example.org
"""))
    daemons.append(dn)
    dn.start(ports[8:10])

    sma = (HOST, ports[1])
    maps_tests(sma, sock)
    tcp_table_tests(ports[2], ports[3], ports[4], ports[5])
    bounce_tests(ports[0], ports[1])
    quarantine_tests(ports[6], ports[7])
    nokeys_tests(ports[8], ports[9])
    log_tests(dmain, dq)
    key_file_tests(build, pb, tmp, state)
    for d in daemons:
        rc = d.stop()
        check("%s: stops cleanly on SIGTERM" % d.name, rc == 0,
              "exit status %r" % rc)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def maps_tests(sma, sock):
    fwd = sm(sma, "forward", "user@example.com")
    check("socketmap forward: foreign sender gets SRS0 at the SRS domain",
          re.fullmatch(r"OK SRS0=[^=@]{4}=[A-Z2-7]{2}=example\.com=user@" +
                       re.escape(SRS_DOMAIN), fwd), fwd)
    srs = fwd[3:]
    want = signlib.srs0(SRS_KEY, "user@example.com", SRS_DOMAIN)
    check("socketmap forward: same address as an independent SRS0 signer",
          srs == want, "pushback %s, signlib %s" % (srs, want))
    r = sm(sma, "reverse", srs)
    check("socketmap reverse: SRS0 back to the original", r ==
          "OK user@example.com", r)
    r = sm(sma, "reverse", srs.upper())
    check("socketmap reverse: upper-cased SRS0 still verifies",
          r == "OK USER@EXAMPLE.COM", r)
    for local in ("alice@example.org", "x@lists.example.org",
                  "y@" + SRS_DOMAIN):
        r = sm(sma, "forward", local)
        check("socketmap forward: local sender %s left alone" % local,
              r == "NOTFOUND ", r)
    r = sm(sma, "forward", "")
    check("socketmap forward: null sender left alone", r == "NOTFOUND ", r)
    other = signlib.srs0("someone-elses-key", "u@origin.example",
                         "fwd.example.net")
    r = sm(sma, "forward", other)
    check("socketmap forward: an SRS0 of another forwarder becomes SRS1",
          re.fullmatch(r"OK SRS1=[^=@]{4}=fwd\.example\.net==.*@" +
                       re.escape(SRS_DOMAIN), r), r)
    r2 = sm(sma, "reverse", r[3:])
    check("socketmap reverse: SRS1 back to the first forwarder's SRS0",
          r2 == "OK " + other, "%s (want OK %s)" % (r2, other))
    bad = srs[:5] + ("A" if srs[5] != "A" else "B") + srs[6:]
    r = sm(sma, "reverse", bad)
    check("socketmap reverse: tampered hash is NOTFOUND", r == "NOTFOUND ",
          r)
    old = signlib.srs0(SRS_KEY, "user@example.com", SRS_DOMAIN,
                       day=signlib.today() - 30)
    r = sm(sma, "reverse", old)
    check("socketmap reverse: 30-day-old SRS0 (max_age 21) is NOTFOUND",
          r == "NOTFOUND ", r)
    rot = signlib.srs0(SRS_OLD, "user@example.com", SRS_DOMAIN)
    r = sm(sma, "reverse", rot)
    check("socketmap reverse: SRS0 signed with the second key verifies "
          "(rotation)", r == "OK user@example.com", r)
    r = sm(sma, "reverse", "user@example.com")
    check("socketmap reverse: a plain address is NOTFOUND",
          r == "NOTFOUND ", r)

    r = sm(sma, "batv-sign", "alice@example.org")
    check("socketmap batv-sign: protected sender gets prvs with key 1",
          re.fullmatch(r"OK prvs=1\d{3}[0-9a-f]{6}=alice@example\.org", r),
          r)
    want = signlib.prvs(BATV_KEY, 1, "alice@example.org",
                        signlib.today() + 7)
    check("socketmap batv-sign: same address as an independent prvs signer",
          r[3:] == want, "pushback %s, signlib %s" % (r[3:], want))
    r2 = sm(sma, "batv-reverse", r[3:])
    check("socketmap batv-reverse: prvs back to the mailbox",
          r2 == "OK alice@example.org", r2)
    r = sm(sma, "batv-sign", "bob@example.com")
    check("socketmap batv-sign: unprotected sender left alone",
          r == "NOTFOUND ", r)
    r = sm(sma, "batv-sign", want)
    check("socketmap batv-sign: already signed sender left alone",
          r == "NOTFOUND ", r)
    exp = signlib.prvs(BATV_KEY, 1, "alice@example.org", signlib.today() - 1)
    r = sm(sma, "batv-reverse", exp)
    check("socketmap batv-reverse: expired prvs is NOTFOUND",
          r == "NOTFOUND ", r)
    oldk = signlib.prvs(BATV_OLD, 0, "alice@example.org",
                        signlib.today() + 3)
    r = sm(sma, "batv-reverse", oldk)
    check("socketmap batv-reverse: prvs with key 0 (second line) verifies",
          r == "OK alice@example.org", r)

    r = sm(sma, "nosuchmap", "user@example.com")
    check("socketmap: unknown map is PERM", r.startswith("PERM "), r)
    reqs = [("forward", "a@example.com"), ("forward", "alice@example.org"),
            ("batv-sign", "bob@example.org")]
    whole = sm_many(sma, reqs)
    split = sm_many(sma, reqs, chunk=3)
    check("socketmap: three pipelined requests, three answers in order",
          len(whole) == 3 and whole[0].startswith("OK SRS0=") and
          whole[1] == "NOTFOUND " and whole[2].startswith("OK prvs="),
          whole)
    check("socketmap: the same stream in 3-byte pieces, same answers",
          split == whole, "%s vs %s" % (split, whole))
    s = connect(sma)
    s.sendall(netstring(b"forward one@example.com"))
    s.shutdown(socket.SHUT_WR)
    buf = recv_until(s, lambda b: False)
    s.close()
    got = parse_netstrings(buf)
    check("socketmap: one request then half-close (${readsocket}) gets "
          "one answer and EOF", len(got) == 1 and
          got[0].startswith("OK SRS0="), buf)
    r = sm(sock, "forward", "user@example.com")
    check("socketmap over the unix: listener", r.startswith("OK SRS0="), r)


def tcp_table_tests(pf, pr, pbs, pbr):
    r = tt(pf, "user@example.com")
    check("tcp_table forward: 200 SRS0", r.startswith("200 SRS0="), r)
    r2 = tt(pr, r[4:])
    check("tcp_table reverse: 200 and the original", r2 ==
          "200 user@example.com", r2)
    r = tt(pf, "a%2Bb@example.com")
    r2 = tt(pr, r[4:]) if r.startswith("200 ") else r
    check("tcp_table: %-encoded key decoded, answer encoded",
          r.startswith("200 SRS0=") and r2 == "200 a+b@example.com",
          "%s / %s" % (r, r2))
    r = tt(pf, "alice@example.org")
    check("tcp_table forward: local sender is 500", r.startswith("500 "), r)
    r = tt(pbs, "alice@example.org")
    r2 = tt(pbr, r[4:]) if r.startswith("200 ") else r
    check("tcp_table batv-sign / batv-reverse round trip",
          r.startswith("200 prvs=1") and r2 == "200 alice@example.org",
          "%s / %s" % (r, r2))
    s = connect((HOST, pf))
    s.sendall(b"put x y\nget u@example.com\n")
    buf = recv_until(s, lambda b: b.count(b"\n") >= 2).decode()
    s.close()
    lines = buf.splitlines()
    check("tcp_table: a malformed line gets 400 and the connection goes on",
          len(lines) == 2 and lines[0].startswith("400 ") and
          lines[1].startswith("200 SRS0="), lines)


def bounce_tests(pp, psm):
    sma = (HOST, psm)
    r = policy(pp, "", "alice@example.org")
    check("bounce to an unsigned protected address: 550 5.7.1",
          r.startswith("550 5.7.1 "), r)
    good = sm(sma, "batv-sign", "alice@example.org")[3:]
    r = policy(pp, "", good)
    check("bounce to a valid prvs address: DUNNO", r == "DUNNO", r)
    nobody = signlib.prvs(BATV_KEY, 1, "nobody@example.org",
                          signlib.today() + 5)
    r = policy(pp, "", nobody)
    check("bounce to a valid prvs of an unknown mailbox: 550 5.1.1",
          r.startswith("550 5.1.1"), r)
    bad = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
    r = policy(pp, "", bad)
    check("bounce to a prvs with a wrong hash: 550 5.7.1", r.startswith(
        "550 5.7.1 ") and "did not sign" in r, r)
    exp = signlib.prvs(BATV_KEY, 1, "alice@example.org", signlib.today() - 2)
    r = policy(pp, "", exp)
    check("bounce to an expired prvs: 550 5.7.1", r.startswith(
        "550 5.7.1 ") and "expired" in r, r)
    srs = sm(sma, "forward", "user@example.com")[3:]
    r = policy(pp, "", srs)
    check("bounce to a valid SRS0 at the SRS domain: DUNNO", r == "DUNNO", r)
    old = signlib.srs0(SRS_KEY, "user@example.com", SRS_DOMAIN,
                       day=signlib.today() - 40)
    r = policy(pp, "", old)
    check("bounce to an expired SRS0: 550 5.7.1", r.startswith("550 5.7.1 ")
          and "expired" in r, r)
    r = policy(pp, "", "random@" + SRS_DOMAIN)
    check("bounce to an unsigned address at the SRS domain: 550 5.7.1",
          r.startswith("550 5.7.1 "), r)
    r = policy(pp, "", "alice@example.net")
    check("bounce to a protected single address: 550 5.7.1",
          r.startswith("550 5.7.1 "), r)
    r = policy(pp, "", "alice+tag@example.net")
    check("bounce to a subaddress of a protected address: 550 5.7.1",
          r.startswith("550 5.7.1 "), r)
    r = policy(pp, "", "carol@example.net")
    check("bounce to an unprotected address: DUNNO", r == "DUNNO", r)
    nr = sm(sma, "batv-sign", "noreply@example.org")[3:]
    r = policy(pp, "", nr)
    check("bounce to noreply@ (even signed): 550 5.7.1",
          r.startswith("550 5.7.1 ") and "takes no bounces" in r, r)
    g2 = sm(sma, "batv-sign", "bob@example.org")[3:]
    rs = policy_many(pp, [("", good, "i1"), ("", g2, "i1"), ("", g2, "i2")])
    check("a bounce's second recipient: 452 4.5.3; a new transaction: "
          "DUNNO", len(rs) == 3 and rs[0] == "DUNNO" and
          rs[1].startswith("452 4.5.3 ") and rs[2] == "DUNNO", rs)
    s = connect((HOST, pp))
    s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
               "instance=x9\nsender=\nrecipient=%s\nrecipient_count=1\n\n"
               % g2).encode())
    r = recv_until(s, lambda b: b.endswith(b"\n\n")).decode()
    s.close()
    check("a bounce whose MTA says a recipient is accepted already "
          "(recipient_count=1, Exim's way): 452 4.5.3",
          r.startswith("action=452 4.5.3 "), r)
    r = policy(pp, "someone@example.com", bad)
    check("real sender to a prvs address with a bad hash: DUNNO (only "
          "bounces are judged; the mailbox exists)", r == "DUNNO", r)
    r = policy(pp, "someone@example.com",
               "prvs=1234abcdef=nobody@example.org")
    check("real sender to a prvs form of an unknown mailbox: 550 5.1.1",
          r.startswith("550 5.1.1"), r)
    r = policy(pp, "someone@example.com", "alice@example.org")
    check("real sender to a protected address: DUNNO", r == "DUNNO", r)


def quarantine_tests(pp, psm):
    r = policy(pp, "", "alice@example.org")
    check("quarantine: unsigned bounce is accepted with "
          "X-Pushback-Reason", r.startswith(
              "PREPEND X-Pushback-Reason: unsigned-bounce"), r)
    r = policy(pp, "", "nobody@example.org")
    check("quarantine: a later refusal still wins (unknown recipient 550)",
          r.startswith("550 5.1.1"), r)
    good = sm((HOST, psm), "batv-sign", "alice@example.org")[3:]
    bad = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
    r = policy(pp, "", bad)
    check("quarantine: a rule not listed still rejects (bad-signature)",
          r.startswith("550 5.7.1 "), r)


def nokeys_tests(pp, psm):
    r = sm((HOST, psm), "forward", "user@example.com")
    check("no keys: socketmap forward answers TEMP (mail waits, never goes "
          "out unsigned)", r.startswith("TEMP "), r)
    r = policy(pp, "", signlib.prvs(BATV_KEY, 1, "alice@example.org",
                                    signlib.today() + 2))
    check("no keys: bounce to a prvs address is 4xx, never 5xx",
          r.startswith("451 4.3.5"), r)
    r = policy(pp, "", "alice@example.org")
    check("no keys: an unsigned bounce to a protected address is still "
          "refused", r.startswith("550 5.7.1"), r)


def log_tests(dmain, dq):
    log = dmain.log()
    for reason in ("unsigned-bounce", "bad-signature", "expired-signature",
                   "one-recipient-per-bounce", "no-bounces-here"):
        check("log: a decision line with reason=%s check=bounce" % reason,
              re.search(r"reason=%s check=bounce " % reason, log), "")
    check("log: map lookups logged with their result",
          "map=forward key=<user@example.com> result=OK" in log, "")
    check("log: quarantine decision logged as QUARANTINE",
          "action=QUARANTINE" in dq.log(), "")


def key_file_tests(build, pb, tmp, state):
    loose = os.path.join(tmp, "loose.keys")
    write_key(loose, "open-secret\n", 0o644)
    conf = os.path.join(tmp, "loose.conf")
    with open(conf, "w") as f:
        f.write("[pushbackd]\nstate_dir = %s\n[policy]\nlisten = "
                "inet:127.0.0.1:1\n[socketmap]\nlisten =\n[srs]\ndomain = "
                "%s\nsecrets = %s\n" % (state, SRS_DOMAIN, loose))
    p = subprocess.run([os.path.join(build, "pushbackd"), "-f", "-c", conf],
                       capture_output=True, text=True, timeout=T)
    check("a group/other-readable key file stops the daemon, naming it",
          p.returncode != 0 and loose in p.stderr, p.stderr)
    p = subprocess.run([os.path.join(build, "pushbackd"), "-t", "-c", conf],
                       capture_output=True, text=True, timeout=T)
    check("... and so does pushbackd -t (the config test)",
          p.returncode != 0 and loose in p.stderr, p.stderr)
    p = subprocess.run([pb, "-c", conf, "srs", "forward", "u@example.com"],
                       capture_output=True, text=True, timeout=T)
    check("... and the CLI", p.returncode != 0 and loose in p.stderr,
          p.stderr)
    new = os.path.join(tmp, "new.keys")
    p = subprocess.run([pb, "secret", "new", new], capture_output=True,
                       text=True, timeout=T)
    mode = stat.S_IMODE(os.stat(new).st_mode) if os.path.exists(new) else 0
    check("pushback secret new: writes a mode 0600 key file",
          p.returncode == 0 and mode == 0o600 and
          len(open(new).read().strip()) >= 32, "%s mode %o" % (p.stderr,
                                                              mode))
    before = open(new).read()
    p = subprocess.run([pb, "secret", "new", new], capture_output=True,
                       text=True, timeout=T)
    check("pushback secret new: never overwrites a key file",
          p.returncode != 0 and open(new).read() == before, p.stderr)


if __name__ == "__main__":
    sys.exit(main())
