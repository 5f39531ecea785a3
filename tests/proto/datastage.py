#!/usr/bin/python3
"""datastage.py BUILD_DIR - decisions that wait for the headers, over the
policy protocol, against a live pushbackd.

The directory is tests/proto/setup.sh's: talk@lists.example.org is
members-only and news@lists.example.org closed, both with the default
check_sender = any (Mailman's rule: the envelope sender or any address in
From:, Reply-To: or Sender: may be the poster); dev@ and announce@ judge
the envelope only.  Checks what an MTA sees:
  - at RCPT, a non-member envelope sender to talk@ is let through (the
    answer waits for the headers), a member passes, an envelope-only
    list still refuses at once;
  - one list per transaction: a second list whose answer waits gets
    452 4.5.3 in the same instance, and passes in a new one; ordinary
    recipients mix freely;
  - DATA requests carrying from_header= / reply_to_header= /
    sender_header= and several recipient= lines (Exim's DATA ACL): a
    member in any of the fields passes, nobody refuses with 550 naming
    the list and its owner, a DATA request without header fields
    (Postfix's) is DUNNO;
  - Exim's ${readsocket} way: one request, a half-close, one answer, EOF;
  - pushback check --from-header explains the end-of-headers decision.
Prints "ok - NAME" / "not ok - NAME" and "N passed, M failed".
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PB_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
HOST = "127.0.0.1"
PORTS = range(10280, 10290)
T = 10.0
TALK_NO = ("550 5.7.1 you are not permitted to post to "
           "talk@lists.example.org; contact bob@example.org")

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + name, flush=True)
    else:
        failed += 1
        print("not ok - " + name, flush=True)
        for line in str(detail).splitlines():
            print("#   " + line)


def request(attrs):
    return "".join("%s=%s\n" % kv for kv in attrs).encode() + b"\n"


def ask(port, reqs, half_close=False):
    """Send requests (lists of (name, value)) on one connection."""
    s = socket.create_connection((HOST, port), T)
    s.settimeout(T)
    s.sendall(b"".join(request(r) for r in reqs))
    if half_close:
        s.shutdown(socket.SHUT_WR)
    buf = b""
    while buf.count(b"\n\n") < len(reqs) or half_close:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    out = [a[len("action="):] for a in buf.decode().split("\n\n") if a]
    return out, buf


def rcpt(sender, recipient, inst):
    return [("request", "smtpd_access_policy"), ("protocol_state", "RCPT"),
            ("instance", inst), ("sender", sender),
            ("recipient", recipient)]


def data(sender, recipients, frm=None, reply_to=None, snd=None,
         state="DATA"):
    r = [("request", "smtpd_access_policy"), ("protocol_state", state),
         ("instance", "d1"), ("sender", sender)]
    for x in recipients:
        r.append(("recipient", x))
    if frm is not None:
        r.append(("from_header", frm))
    if reply_to is not None:
        r.append(("reply_to_header", reply_to))
    if snd is not None:
        r.append(("sender_header", snd))
    return r


def main():
    build = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="pb-datastage-")
    proc = None
    try:
        port = None
        for p in PORTS:
            s = socket.socket()
            try:
                s.bind((HOST, p))
                port = p
                break
            except OSError:
                pass
            finally:
                s.close()
        conf = os.path.join(tmp, "pushback.conf")
        with open(conf, "w") as f:
            f.write("[pushbackd]\nstate_dir = %s\n[milter]\nlisten =\n"
                    "[socketmap]\nlisten =\n[policy]\nlisten = "
                    "inet:127.0.0.1:%d\n" % (tmp, port))
        pb = os.path.join(build, "pushback")
        subprocess.run([os.path.join(SRC, "tests", "proto", "setup.sh"), pb,
                        conf], check=True, capture_output=True)
        logf = open(os.path.join(tmp, "log"), "wb")
        proc = subprocess.Popen([os.path.join(build, "pushbackd"), "-f",
                                 "-c", conf], stdout=logf,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + T
        while time.time() < deadline:
            try:
                socket.create_connection((HOST, port), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        cases(port, pb, conf)
        proc.send_signal(signal.SIGTERM)
        check("stops cleanly on SIGTERM", proc.wait(T) == 0)
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def cases(port, pb, conf):
    out, _ = ask(port, [rcpt("mallory@example.net", "talk@lists.example.org",
                             "a1")])
    check("RCPT: a non-member envelope sender to a check_sender=any list "
          "waits for the headers (DUNNO)", out == ["DUNNO"], out)
    out, _ = ask(port, [rcpt("alice@example.org", "talk@lists.example.org",
                             "a2")])
    check("RCPT: a member passes", out == ["DUNNO"], out)
    out, _ = ask(port, [rcpt("mallory@example.net", "dev@lists.example.org",
                             "a3")])
    check("RCPT: a check_sender=envelope list still refuses at once",
          out and out[0].startswith("550 5.7.1 you are not permitted"), out)
    out, _ = ask(port, [
        rcpt("mallory@example.net", "talk@lists.example.org", "b1"),
        rcpt("mallory@example.net", "alice@example.org", "b1"),
        rcpt("mallory@example.net", "news@lists.example.org", "b1"),
        rcpt("mallory@example.net", "talk@lists.example.org", "b1"),
        rcpt("mallory@example.net", "news@lists.example.org", "b2")])
    check("one list per transaction: the second waiting list gets 452 "
          "4.5.3, ordinary recipients and the same list again pass, a new "
          "transaction takes the second list",
          len(out) == 5 and out[0] == "DUNNO" and out[1] == "DUNNO" and
          out[2].startswith("452 4.5.3 one list per transaction") and
          out[3] == "DUNNO" and out[4] == "DUNNO", out)
    out, _ = ask(port, [
        rcpt("alice@example.org", "talk@lists.example.org", "c1"),
        rcpt("alice@example.org", "news@lists.example.org", "c1")])
    check("a poster permitted by the envelope needs no header decision: "
          "two lists in one transaction", out == ["DUNNO", "DUNNO"], out)

    tl = ["talk@lists.example.org"]
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="Alice <alice@example.org>")])
    check("DATA: From: a member passes", out == ["DUNNO"], out)
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="Mallory <mallory@example.net>")])
    check("DATA: nobody permitted: 550 naming the list and its owner",
          out == [TALK_NO], out)
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="Mallory <mallory@example.net>",
                             reply_to="alice@example.org")])
    check("DATA: Reply-To: a member passes", out == ["DUNNO"], out)
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="Mallory <mallory@example.net>",
                             snd="\"Alice (list bot)\" <ALICE@Example.ORG>")])
    check("DATA: Sender: a member (any case) passes", out == ["DUNNO"], out)
    out, _ = ask(port, [data("alice@example.org", tl,
                             frm="Mallory <mallory@example.net>")])
    check("DATA: check_sender any: a member envelope sender passes",
          out == ["DUNNO"], out)
    out, _ = ask(port, [data("mallory@example.net",
                             ["chat@lists.example.org",
                              "talk@lists.example.org",
                              "bob@example.org"],
                             frm="=?UTF-8?B?TWFsbG9yeQ==?= "
                                 "<mallory@example.net>")])
    check("DATA: several recipients, the waiting list refuses the message",
          out == [TALK_NO], out)
    out, _ = ask(port, [data("mallory@example.net",
                             ["news@lists.example.org"],
                             frm="alice@example.org")])
    check("DATA: closed list, an allowed poster in From: passes",
          out == ["DUNNO"], out)
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="undisclosed-recipients:;",
                             reply_to="Mallory <mallory@example.net")])
    check("DATA: malformed header fields count as no address: 550",
          out == [TALK_NO], out)
    out, _ = ask(port, [data("mallory@example.net", tl)])
    check("DATA without header fields (Postfix's DATA state): DUNNO",
          out == ["DUNNO"], out)
    out, _ = ask(port, [data("mallory@example.net", tl,
                             frm="Mallory <mallory@example.net>",
                             state="END-OF-MESSAGE")])
    check("END-OF-MESSAGE with header fields: same rule", out == [TALK_NO],
          out)
    out, buf = ask(port, [data("mallory@example.net", tl,
                               frm="Mallory <mallory@example.net>")],
                   half_close=True)
    check("Exim ${readsocket}: one request, half-close, one answer, EOF",
          out == [TALK_NO] and buf.endswith(b"\n\n"), buf)

    p = subprocess.run([pb, "-c", conf, "check", "--sender",
                        "mallory@example.net", "--recipient",
                        "talk@lists.example.org", "--from-header",
                        "Mallory <mallory@example.net>"],
                       capture_output=True, text=True, timeout=T)
    blocks = p.stdout.split("\n\n")
    check("pushback check --from-header: RCPT waits, end of headers "
          "refuses, with the header-sender step",
          len(blocks) == 2 and blocks[0].startswith("action=DUNNO") and
          blocks[1].startswith("action=" + TALK_NO) and
          "header-sender" in blocks[1], p.stdout + p.stderr)


if __name__ == "__main__":
    sys.exit(main())
