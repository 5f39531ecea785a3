#!/bin/sh
# transcripts.sh BUILD_DIR - replay the golden policy transcripts
# (tests/proto/cases/NAME.in -> NAME.out) against a live pushbackd.
#
# The directory is filled by tests/proto/setup.sh.  How a case is replayed
# follows from its name:
#   stdin-*      pushbackd --stdin -c main.conf < NAME.in
#   nodb-*       pushbackd --stdin with a database that does not exist
#   nodbdunno-*  the same with on_error = dunno
#   unix-*       the main daemon, over its unix: listener
#   soft-*       a second daemon, soft_bounce = yes, same directory
#   shadow-*     a third daemon, shadow = yes, same directory
#   anything else: the main daemon over TCP, once in one write and once
#                split into 5-byte pieces ("NAME (split)")
# After the cases: the decision log lines, shadow's "would REJECT" lines,
# and a clean stop of every daemon on SIGTERM.
#
# Prints "ok - NAME" or "not ok - NAME" (with a diff) per check, then
# "N passed, M failed"; exits non-zero if anything failed.
# Env: PB_SOURCE_DIR (default: two levels up from here), PB_BUILD_DIR.
# Ports: a free one of 127.0.0.1:10140-10149 for each daemon.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${PB_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${1:-${PB_BUILD_DIR:-}}
if [ -z "$build" ]; then
	echo "usage: transcripts.sh BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$build" && pwd)
pbd=$build/pushbackd
pb=$build/pushback
py=/usr/bin/python3
replay="$py $src/tests/proto/replay.py"
cases=$src/tests/proto/cases
# ASan builds are slower: generous timeouts, they only matter on failure.
tmo=20

for f in "$pbd" "$pb"; do
	if [ ! -x "$f" ]; then
		echo "not ok - setup: $f is missing (build it first)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/pb-proto-XXXXXX)
pids=""
passed=0
failed=0

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	if [ "${PB_KEEP_TMP:-}" = "" ]; then
		rm -rf "$tmp"
	else
		echo "# kept $tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}

# free_port N - print N distinct ports of 10140-10149 nobody listens on.
free_ports() {
	$py - "$1" <<'PY'
import socket, sys
want = int(sys.argv[1])
got = []
for port in range(10140, 10150):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        got.append(port)
    except OSError:
        pass
    finally:
        s.close()
    if len(got) == want:
        break
if len(got) < want:
    sys.exit("no free port in 10140-10149")
print(" ".join(map(str, got)))
PY
}

# write_conf FILE LISTEN EXTRA_PUSHBACKD EXTRA_DIRECTORY DATABASE
write_conf() {
	cat >"$1" <<CONF
# written by tests/proto/transcripts.sh
[pushbackd]
state_dir = $tmp
max_connections = 256
idle_timeout = 30
log = stderr
log_level = info
$3

[milter]
listen =

[policy]
listen = $2

[socketmap]
listen =

[directory]
database = $5
$4
CONF
}

# wait_listen PORT PID - wait until PORT accepts, or the daemon died.
wait_listen() {
	i=0
	while [ $i -lt 200 ]; do
		if ! kill -0 "$2" 2>/dev/null; then
			return 1
		fi
		if $py -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1).close()" "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

ports=$(free_ports 3) || {
	not_ok "setup: free ports"
	echo "$passed passed, $failed failed"
	exit 1
}
# shellcheck disable=SC2086 # split into three words
set -- $ports
port_main=$1
port_soft=$2
port_shadow=$3
sock=$tmp/policy.sock
db=$tmp/pushback.db

write_conf "$tmp/main.conf" "inet:127.0.0.1:$port_main unix:$sock" "" "" "$db"
write_conf "$tmp/soft.conf" "inet:127.0.0.1:$port_soft" "soft_bounce = yes" "" "$db"
write_conf "$tmp/shadow.conf" "inet:127.0.0.1:$port_shadow" "shadow = yes" "" "$db"
write_conf "$tmp/nodb.conf" "inet:127.0.0.1:$port_main" "" "" "$tmp/missing/pushback.db"
write_conf "$tmp/nodbdunno.conf" "inet:127.0.0.1:$port_main" "" "on_error = dunno" "$tmp/missing/pushback.db"

if ! "$src/tests/proto/setup.sh" "$pb" "$tmp/main.conf" >"$tmp/setup.log" 2>&1; then
	not_ok "setup: tests/proto/setup.sh"
	sed 's/^/# /' "$tmp/setup.log"
	echo "$passed passed, $failed failed"
	exit 1
fi
if ! "$pbd" -t -c "$tmp/main.conf" >/dev/null 2>"$tmp/t.err"; then
	not_ok "setup: pushbackd -t accepts the test config"
	sed 's/^/# /' "$tmp/t.err"
	echo "$passed passed, $failed failed"
	exit 1
fi

for d in main:$port_main soft:$port_soft shadow:$port_shadow; do
	name=${d%%:*}
	port=${d#*:}
	"$pbd" -f -c "$tmp/$name.conf" 2>"$tmp/$name.log" &
	pid=$!
	pids="$pids $pid"
	eval "pid_$name=$pid"
	if ! wait_listen "$port" "$pid"; then
		not_ok "setup: $name daemon listens on $port"
		sed 's/^/# /' "$tmp/$name.log"
		echo "$passed passed, $failed failed"
		exit 1
	fi
done

# compare NAME WANT GOT STDERR_FILE RC - one ok/not ok line.
compare() {
	if [ "$5" -eq 0 ] && cmp -s "$2" "$3"; then
		ok "$1"
		return
	fi
	not_ok "$1"
	if [ -s "$4" ]; then
		sed 's/^/# /' "$4"
	fi
	diff -u --text "$2" "$3" | sed 's/^/# /'
}

ncases=0
for inf in "$cases"/*.in; do
	[ -e "$inf" ] || continue
	ncases=$((ncases + 1))
	name=$(basename "$inf" .in)
	want=$cases/$name.out
	got=$tmp/$name.got
	err=$tmp/$name.err
	if [ ! -f "$want" ]; then
		not_ok "$name: no $name.out"
		continue
	fi
	case $name in
	stdin-* | nodb-* | nodbdunno-*)
		conf=main
		case $name in
		nodbdunno-*) conf=nodbdunno ;;
		nodb-*) conf=nodb ;;
		esac
		timeout $tmo "$pbd" --stdin -c "$tmp/$conf.conf" <"$inf" >"$got" 2>"$err"
		rc=$?
		compare "$name" "$want" "$got" "$err" $rc
		cat "$err" >>"$tmp/stdin.log"
		;;
	unix-*)
		$replay --timeout $tmo --unix "$sock" "$inf" >"$got" 2>"$err"
		compare "$name" "$want" "$got" "$err" $?
		;;
	soft-*)
		$replay --timeout $tmo --inet "127.0.0.1:$port_soft" "$inf" >"$got" 2>"$err"
		compare "$name" "$want" "$got" "$err" $?
		;;
	shadow-*)
		$replay --timeout $tmo --inet "127.0.0.1:$port_shadow" "$inf" >"$got" 2>"$err"
		compare "$name" "$want" "$got" "$err" $?
		;;
	*)
		$replay --timeout $tmo --inet "127.0.0.1:$port_main" "$inf" >"$got" 2>"$err"
		compare "$name" "$want" "$got" "$err" $?
		$replay --timeout $tmo --chunk 5 --inet "127.0.0.1:$port_main" "$inf" >"$got" 2>"$err"
		compare "$name (split)" "$want" "$got" "$err" $?
		;;
	esac
done
if [ $ncases -lt 15 ]; then
	not_ok "at least 15 cases (found $ncases)"
fi

# log_has NAME FILE PATTERN - the log FILE has a line matching PATTERN.
log_has() {
	if grep -Eq -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1"
		echo "# no line matching /$3/ in $(basename "$2"):"
		tail -n 20 "$2" | sed 's/^/# /'
	fi
}

# Every decision is logged with its reason token, code and timing.
for r in not-protected unknown-recipient null-sender-to-list list-closed \
	sender-not-permitted malformed-request; do
	log_has "log: a decision line with reason=$r" "$tmp/main.log" \
		"reason=$r( |$)"
done
log_has "log: decision lines carry sender, recipient, code, enh and us" \
	"$tmp/main.log" \
	'sender=<[^>]*> recipient=<nobody@example.org>.*code=550 enh=5\.1\.1 reason=unknown-recipient.*us=[0-9]+'
log_has "log: soft_bounce logs the 4xx it answered" "$tmp/soft.log" \
	'code=450 enh=4\.1\.1 reason=unknown-recipient'
log_has "log: shadow logs \"would REJECT\" for an unknown recipient" \
	"$tmp/shadow.log" 'would REJECT.*reason=unknown-recipient'
log_has "log: shadow logs \"would REJECT\" for a non-member" \
	"$tmp/shadow.log" 'would REJECT.*reason=sender-not-permitted'
if [ -f "$tmp/stdin.log" ]; then
	log_has "log: a missing directory is logged as backend-unavailable" \
		"$tmp/stdin.log" 'reason=backend-unavailable'
fi

# The daemons survived every case and stop cleanly on SIGTERM.
for name in main soft shadow; do
	eval "pid=\$pid_$name"
	if ! kill -0 "$pid" 2>/dev/null; then
		not_ok "$name daemon still running after the cases"
		tail -n 20 "$tmp/$name.log" | sed 's/^/# /'
		continue
	fi
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "$name daemon stops within 10 s of SIGTERM"
		continue
	fi
	wait "$pid"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/$name.log"; then
		ok "$name daemon stopped cleanly on SIGTERM"
	else
		not_ok "$name daemon stopped cleanly on SIGTERM (exit $rc)"
		tail -n 30 "$tmp/$name.log" | sed 's/^/# /'
	fi
done
pids=""

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
