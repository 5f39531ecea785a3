#!/bin/sh
# miltertest.sh BUILD_DIR - the milter frontend, driven by miltertest (the
# OpenDKIM project's Lua-scripted milter client, Debian package
# miltertest) and by raw.py for what miltertest cannot send or see.
#
# Starts pushbackd with the directory of tests/proto/setup.sh, [policy] on
# one port, [milter] on another and on a unix socket, [socketmap] off,
# [bounces] quarantine = unsigned-bounce; then runs every
# tests/milter/*.lua (but lib.lua) with miltertest, then raw.py, then
# checks the log and a clean stop on SIGTERM.
#
# Prints "ok - NAME" or "not ok - NAME" per check and "N passed, M
# failed"; exits non-zero if anything failed.
# Env: PB_SOURCE_DIR (default: two levels up from here), PB_BUILD_DIR.
# Ports: two free ones of 127.0.0.1:10270-10279.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${PB_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${1:-${PB_BUILD_DIR:-}}
if [ -z "$build" ]; then
	echo "usage: miltertest.sh BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$build" && pwd)
pbd=$build/pushbackd
pb=$build/pushback
py=/usr/bin/python3
passed=0
failed=0

ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}

for f in "$pbd" "$pb"; do
	if [ ! -x "$f" ]; then
		echo "not ok - setup: $f is missing (build it first)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if ! command -v miltertest >/dev/null 2>&1; then
	echo "not ok - setup: miltertest is not installed (apt-get install miltertest)"
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d /tmp/pb-milter-XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	if [ "${PB_KEEP_TMP:-}" = "" ]; then
		rm -rf "$tmp"
	else
		echo "# kept $tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ports=$($py - <<'PY'
import socket
free = []
for p in range(10270, 10280):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        free.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(free) == 2:
        break
print(" ".join(map(str, free)))
PY
)
set -- $ports
if [ $# -ne 2 ]; then
	echo "not ok - setup: no two free ports in 10270-10279"
	echo "0 passed, 1 failed"
	exit 1
fi
pport=$1
mport=$2
sock=$tmp/milter.sock

conf=$tmp/pb.conf
cat >"$conf" <<CONF
[pushbackd]
state_dir = $tmp
log = stderr
log_level = debug

[directory]
database = $tmp/pushback.db

[policy]
listen = inet:127.0.0.1:$pport

[milter]
listen = inet:127.0.0.1:$mport
listen = unix:$sock

[socketmap]
listen =

[bounces]
protect = example.org
quarantine = unsigned-bounce
CONF

if "$src/tests/proto/setup.sh" "$pb" "$conf" 2>"$tmp/setup.err"; then
	ok "setup: the test directory"
else
	not_ok "setup: the test directory"
	sed 's/^/# /' "$tmp/setup.err"
	echo "$passed passed, $failed failed"
	exit 1
fi

"$pbd" -f -c "$conf" 2>"$tmp/daemon.log" &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q "ready" "$tmp/daemon.log" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q "listening on inet:127.0.0.1:$mport (milter)" "$tmp/daemon.log" &&
	grep -q "listening on unix:$sock (milter)" "$tmp/daemon.log"; then
	ok "pushbackd listens on inet and unix for the milter"
else
	not_ok "pushbackd listens on inet and unix for the milter"
	sed 's/^/# /' "$tmp/daemon.log"
	echo "$passed passed, $failed failed"
	exit 1
fi

# Hostile and byte-exact checks first: the scripts after them show the
# daemon still serves.
if $py "$here/raw.py" "$mport" >"$tmp/raw.out" 2>&1; then :; fi
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$tmp/raw.out"
if ! grep -q "^ok - raw: after hostile input" "$tmp/raw.out"; then
	not_ok "raw.py ran to the end"
fi

for script in "$here"/*.lua; do
	name=$(basename "$script" .lua)
	[ "$name" = lib ] && continue
	out=$(miltertest -D lib="$here/lib.lua" -D port="$mport" \
		-D sock="$sock" -s "$script" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "^PASS $name\$"; then
		ok "miltertest $name.lua"
	else
		not_ok "miltertest $name.lua (exit $rc)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	fi
done

# want_log PATTERN NAME - the daemon's log has a line matching PATTERN.
want_log() {
	if grep -Eq -- "$1" "$tmp/daemon.log"; then
		ok "log: $2"
	else
		not_ok "log: $2"
	fi
}
want_log "id=ENV0001 queue_id=ENV0001 client=192.0.2.10 sender=<mallory@example.net> recipient=<nobody@example.org> stage=RCPT action=REJECT code=550 enh=5.1.1 reason=unknown-recipient" \
	"unknown recipient, with the queue id from the macro"
want_log "sender=<mallory@example.net> recipient=<dev@lists.example.org> stage=RCPT action=REJECT code=550 enh=5.7.1 reason=sender-not-permitted check=list-post" \
	"list non-member refused at RCPT"
want_log "client=2001:db8::25 sender=<mallory@example.net> recipient=<nobody@example.org> stage=RCPT action=REJECT" \
	"IPv6 client, no macros"
want_log "id=HDR0001 .*recipient=<news@lists.example.org> stage=RCPT action=TEMPFAIL code=452 enh=4.5.3 reason=one-list-per-transaction" \
	"second deferred list: 452 4.5.3"
want_log "id=HDR0001 .*stage=EOH action=REJECT code=550 enh=5.7.1 reason=sender-not-permitted check=header-sender" \
	"non-member author refused at end of headers"
want_log "sender=<> recipient=<alice@example.org> stage=RCPT action=QUARANTINE .*reason=unsigned-bounce" \
	"quarantine decided at RCPT"
want_log "malformed or unexpected milter packet: .*unknown command 0x5a; closing" \
	"a clear warning for an unknown command"
want_log "milter packet length [0-9]+ is 0 or over 65536; closing" \
	"a clear warning for a bad length"
n=$(grep -c "stage=RCPT action=REJECT code=550 enh=5.1.1 .*client=192.0.2.14\|client=192.0.2.14 .*stage=RCPT action=REJECT code=550 enh=5.1.1" "$tmp/daemon.log")
if [ "$n" -ge 200 ]; then
	ok "log: 200 sessions decided ($n)"
else
	not_ok "log: 200 sessions decided (got $n)"
fi
if grep -Eq "ERROR|AddressSanitizer|runtime error|internal:" "$tmp/daemon.log"; then
	not_ok "log: no errors or sanitizer reports"
	grep -E "ERROR|AddressSanitizer|runtime error|internal:" "$tmp/daemon.log" |
		head -n 20 | sed 's/^/# /'
else
	ok "log: no errors or sanitizer reports"
fi

kill -TERM "$pid"
i=0
while [ $i -lt 150 ] && kill -0 "$pid" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$pid" 2>/dev/null; then
	not_ok "SIGTERM: pushbackd stops"
else
	wait "$pid"
	rc=$?
	pid=""
	if [ $rc -eq 0 ] && [ ! -e "$sock" ]; then
		ok "SIGTERM: pushbackd stops cleanly and removes its socket"
	else
		not_ok "SIGTERM: pushbackd stops cleanly (exit $rc)"
		tail -n 20 "$tmp/daemon.log" | sed 's/^/# /'
	fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
