#!/usr/bin/python3
"""raw.py PORT - byte-level milter checks miltertest cannot make.

miltertest reports only a reply's letter; this speaks the protocol by
hand to check the negotiation and the exact reply texts, and sends what
no MTA would (garbage, a huge length, a command before negotiation, an
unknown command) to see the connection closed while the next one is
served.  Prints "ok - ..." / "not ok - ..." lines; exit status 1 when
anything failed.
"""
import socket
import struct
import sys

PORT = int(sys.argv[1])
T = 20
failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok - raw: %s" % name)
    else:
        failed += 1
        print("not ok - raw: %s" % name)
        if detail:
            print("# %s" % detail)


def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def conn():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=T)
    return s


def read_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += chunk
    return b


def read_pkt(s):
    (n,) = struct.unpack(">I", read_exact(s, 4))
    body = read_exact(s, n)
    return body[:1], body[1:]


def closed(s):
    """The peer closes (EOF or reset) within T seconds."""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def negotiate(s, actions=0x1FF, proto=0x1FFFFF):
    s.sendall(pkt(b"O", struct.pack(">III", 6, actions, proto)))
    cmd, data = read_pkt(s)
    return cmd, data


# Negotiation: version 6, only ADDHDRS|SETSYMLIST, flags a subset of the
# offer, the macro lists.
s = conn()
cmd, data = negotiate(s)
ver, act, prot = struct.unpack(">III", data[:12])
check("OPTNEG answered with OPTNEG", cmd == b"O", repr(cmd))
check("version 6", ver == 6, str(ver))
check("actions ADDHDRS|SETSYMLIST", act == 0x101, hex(act))
check("flags within the offer, NOBODY NODATA NOUNKNOWN NR_HDR",
      prot & ~0x1FFFFF == 0 and prot & 0x310 == 0x310 and prot & 0x80,
      hex(prot))
check("RCPT and EOH replies awaited",
      prot & (0x8000 | 0x40000 | 0x8 | 0x40 | 0x20) == 0, hex(prot))
lists = {}
rest = data[12:]
while len(rest) >= 5:
    (stage,) = struct.unpack(">I", rest[:4])
    end = rest.index(b"\0", 4)
    lists[stage] = rest[4:end].decode()
    rest = rest[end + 1:]
check("macro lists for connect, mail, rcpt, eoh",
      "{client_addr}" in lists.get(0, "") and "i" in lists.get(2, "").split()
      and "{auth_authen}" in lists.get(2, "")
      and "{rcpt_addr}" in lists.get(3, "") and lists.get(6) == "i",
      repr(lists))

# Exact reply texts at RCPT.  CONNECT and MAIL are not answered (NR_CONN,
# NR_MAIL negotiated above, while no check runs there).
nr_conn = prot & 0x1000
nr_mail = prot & 0x4000
s.sendall(pkt(b"C", b"client.example.net\x004" + struct.pack(">H", 25) +
              b"192.0.2.20\x00"))
if not nr_conn:
    read_pkt(s)
s.sendall(pkt(b"M", b"<mallory@example.net>\x00SIZE=100\x00"))
if not nr_mail:
    read_pkt(s)
want = {
    b"<nobody@example.org>": b"550 5.1.1 unknown recipient\x00",
    b"<dev@lists.example.org>":
        b"550 5.7.1 you are not permitted to post to dev@lists.example.org;"
        b" contact alice@example.org\x00",
    b"<announce@lists.example.org>":
        b"550 5.7.1 announce@lists.example.org is closed to posts; contact"
        b" announce-owner@lists.example.org\x00",
}
for rcpt, text in want.items():
    s.sendall(pkt(b"R", rcpt + b"\x00"))
    cmd, data = read_pkt(s)
    check("RCPT %s: REPLYCODE %s" % (rcpt.decode(), text[:9].decode()),
          cmd == b"y" and data == text, "%r %r" % (cmd, data))
s.sendall(pkt(b"R", b"<alice@example.org>\x00"))
cmd, data = read_pkt(s)
check("RCPT known recipient: CONTINUE", cmd == b"c" and data == b"",
      repr(cmd))
# a header with a NUL in its value is kept as no address, not an error
s.sendall(pkt(b"L", b"From\x00a\x00b\x00") + pkt(b"N"))
cmd, data = read_pkt(s)
check("header with a NUL in its value, EOH: CONTINUE", cmd == b"c",
      repr(cmd))
s.sendall(pkt(b"E"))
cmd, data = read_pkt(s)
check("EOM: CONTINUE", cmd == b"c", repr(cmd))
s.sendall(pkt(b"Q"))
check("QUIT: closed", closed(s))
s.close()

# An MTA offering nothing optional: every command answered.
s = conn()
cmd, data = negotiate(s, actions=0, proto=0)
ver, act, prot = struct.unpack(">III", data[:12])
check("minimal offer: no actions, no flags, no lists",
      act == 0 and prot == 0 and len(data) == 12, repr(data))
s.sendall(pkt(b"C", b"[192.0.2.21]\x00U"))
check("CONNECT family U answered", read_pkt(s)[0] == b"c")
s.sendall(pkt(b"H", b"helo.example\x00"))
check("HELO answered", read_pkt(s)[0] == b"c")
s.sendall(pkt(b"M", b"<>\x00"))
check("MAIL answered", read_pkt(s)[0] == b"c")
s.sendall(pkt(b"T"))
check("DATA answered", read_pkt(s)[0] == b"c")
s.sendall(pkt(b"B", b"body\r\n"))
check("BODY answered", read_pkt(s)[0] == b"c")
s.sendall(pkt(b"K"))
s.sendall(pkt(b"C", b"next.example\x006" + struct.pack(">H", 1) +
              b"IPv6:2001:db8::1\x00"))
check("after QUIT_NC, a new CONNECT is answered", read_pkt(s)[0] == b"c")
s.close()

# Hostile input: each connection is closed, the daemon goes on.
for name, data in [
        ("garbage (HTTP request)", b"GET / HTTP/1.0\r\n\r\n"),
        ("length 0", b"\0\0\0\0"),
        ("length over 64 KiB", struct.pack(">I", 1 << 20) + b"O"),
        ("command before OPTNEG", pkt(b"C", b"x\x00U")),
        ("unknown command", pkt(b"O", struct.pack(">III", 6, 0, 0)) +
         pkt(b"Z", b"zz")),
        ("OPTNEG too short", pkt(b"O", b"\0\0\0\6")),
        ("CONNECT unknown family", pkt(b"O", struct.pack(">III", 6, 0, 0)) +
         pkt(b"C", b"h\x00X")),
        ("HEADER without NUL", pkt(b"O", struct.pack(">III", 6, 0, 0)) +
         pkt(b"L", b"From")),
        ("MTA version 1", pkt(b"O", struct.pack(">III", 1, 0, 0))),
]:
    s = conn()
    s.sendall(data)
    check("%s: connection closed" % name, closed(s))
    s.close()

# ... and the next connection is served.
s = conn()
cmd, data = negotiate(s, actions=0, proto=0)
s.sendall(pkt(b"C", b"h\x00U") + pkt(b"M", b"<x@example.net>\x00"))
read_pkt(s)
read_pkt(s)
s.sendall(pkt(b"R", b"<nobody@example.org>\x00"))
cmd, data = read_pkt(s)
check("after hostile input, the next connection is served",
      cmd == b"y" and data.startswith(b"550 5.1.1"), repr(data))
s.close()
sys.exit(1 if failed else 0)
