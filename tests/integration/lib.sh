#!/bin/bash
# shellcheck shell=bash
# lib.sh - shared helpers for tests/integration/*.sh (bash; source it).
#
# Results:   pb_ok NAME, pb_not_ok NAME WHY, pb_check_eq NAME GOT WANT,
#            pb_check_match NAME GOT ERE, pb_summary (prints
#            "N passed, M failed" and returns non-zero on any failure).
# Set-up:    pb_bail WHY (count a failure, print the summary, exit 1),
#            pb_skip WHY (exit 77: CTest SKIP_RETURN_CODE, never a pass),
#            pb_need_cmd CMD..., pb_need_root.
# Clean-up:  pb_at_exit CMD (run in reverse order on EXIT, INT, TERM).
# Files:     pb_mktemp NAME (sets PB_TMP: a dir under /tmp, traversable by
#            daemons that drop privileges; removed at exit unless PB_KEEP).
# Network:   pb_port_open HOST PORT, pb_wait_port HOST PORT SECS,
#            pb_wait_port_closed HOST PORT SECS, pb_need_free_port HOST PORT.
# Processes: pb_alive PID, pb_stop_pid PID [SECS],
#            pb_start_pushbackd BUILD CONF LOG HOST PORT (sets PB_DAEMON_PID;
#            never call it in $(...): the daemon must be our child).
# Waiting:   pb_wait_grep ERE PATH SECS (poll until a file matches).
#
# Every message names what was got and what was wanted, so a failed run can
# be read without re-running it.  Sourcing installs EXIT/INT/TERM traps.
# Run directly (CTest does: integration/lib), it tests its own checks.

PB_PASSED=0
PB_FAILED=0
PB_AT_EXIT=()
PB_DAEMON_PID=

# pb_ok - count and print one passed check
pb_ok() {
	PB_PASSED=$((PB_PASSED + 1))
	printf 'ok - %s\n' "$1"
}

# pb_not_ok - count and print one failed check with the reason
pb_not_ok() {
	PB_FAILED=$((PB_FAILED + 1))
	printf 'not ok - %s: %s\n' "$1" "$2"
}

# pb_check_eq - pass when GOT equals WANT exactly
pb_check_eq() {
	if [ "$2" = "$3" ]; then
		pb_ok "$1"
	else
		pb_not_ok "$1" "got '$2', want '$3'"
	fi
}

# pb_check_match - pass when GOT is not empty and matches the extended
# regular expression (no answer is never the answer a check wants)
pb_check_match() {
	if [ -z "$2" ]; then
		pb_not_ok "$1" "got nothing, want a match for /$3/"
	elif printf '%s\n' "$2" | grep -Eq -- "$3"; then
		pb_ok "$1"
	else
		pb_not_ok "$1" "got '$2', want a match for /$3/"
	fi
}

# pb_summary - print "N passed, M failed"; fail on any failure or no checks
pb_summary() {
	printf '%d passed, %d failed\n' "$PB_PASSED" "$PB_FAILED"
	[ "$PB_FAILED" -eq 0 ] && [ "$PB_PASSED" -gt 0 ]
}

# pb_bail - a set-up step failed: record it, summarise, exit 1
pb_bail() {
	pb_not_ok "set-up" "$1"
	pb_summary
	exit 1
}

# pb_skip - the test cannot run here; exit 77 (not a pass)
pb_skip() {
	printf 'skip - %s\n' "$1"
	exit 77
}

# pb_need_cmd - skip unless every named command is installed
pb_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			pb_skip "$c not installed (scripts/install-deps)"
	done
}

# pb_need_root - skip unless running as root
pb_need_root() {
	[ "$(id -u)" -eq 0 ] || pb_skip "needs root"
}

# pb_run_at_exit - run the registered clean-up commands, newest first
pb_run_at_exit() {
	local i
	for ((i = ${#PB_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${PB_AT_EXIT[i]}" || true
	done
	PB_AT_EXIT=()
}

# pb_at_exit - register a clean-up command (a string, eval'ed at exit)
pb_at_exit() {
	PB_AT_EXIT+=("$1")
}

trap 'pb_run_at_exit' EXIT
trap 'pb_run_at_exit; trap - EXIT; exit 130' INT
trap 'pb_run_at_exit; trap - EXIT; exit 143' TERM

# pb_mktemp - make a private, world-traversable temp dir, removed at exit,
# and set PB_TMP to it (never call it in $(...): the clean-up would be lost)
pb_mktemp() {
	PB_TMP=$(mktemp -d "/tmp/pbtest-$1.XXXXXX") || return 1
	chmod 755 "$PB_TMP"
	if [ -n "${PB_KEEP:-}" ]; then
		pb_at_exit "echo '# kept $PB_TMP (PB_KEEP is set)'"
	else
		pb_at_exit "rm -rf '$PB_TMP'"
	fi
}

# pb_port_open - true when something accepts TCP connections on HOST PORT
pb_port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# pb_wait_port - wait up to SECS for HOST PORT to accept connections
pb_wait_port() {
	local n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		pb_port_open "$1" "$2" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# pb_wait_port_closed - wait up to SECS for HOST PORT to refuse connections
pb_wait_port_closed() {
	local n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		pb_port_open "$1" "$2" || return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# pb_need_free_port - bail out when HOST PORT is already taken
pb_need_free_port() {
	if pb_port_open "$1" "$2"; then
		pb_bail "$1:$2 is already in use (a leftover from an earlier run?)"
	fi
}

# pb_alive - true when PID runs (a zombie does not count: outside a real
# init nobody may reap a daemon that double-forked)
pb_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# pb_stop_pid - SIGTERM PID, wait up to SECS (default 10), then SIGKILL
pb_stop_pid() {
	local pid=$1 n=$((${2:-10} * 10))
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while [ "$n" -gt 0 ] && pb_alive "$pid"; do
		sleep 0.1
		n=$((n - 1))
	done
	if pb_alive "$pid"; then
		printf '# pid %s ignored SIGTERM; killing it\n' "$pid"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# pb_start_pushbackd - start BUILD/pushbackd -f -c CONF, wait for HOST PORT
pb_start_pushbackd() {
	local build=$1 conf=$2 log=$3 host=$4 port=$5
	"$build/pushbackd" -f -c "$conf" 2>>"$log" &
	PB_DAEMON_PID=$!
	if ! pb_wait_port "$host" "$port" 10; then
		printf '# pushbackd did not listen on %s:%s; its log:\n' \
			"$host" "$port"
		sed 's/^/#   /' "$log"
		pb_stop_pid "$PB_DAEMON_PID" 2
		PB_DAEMON_PID=
		return 1
	fi
	return 0
}

# pb_wait_grep - wait up to SECS for a line matching ERE in PATH (a file,
# or a directory searched recursively); prints the matching file names
pb_wait_grep() {
	local ere=$1 path=$2 n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		grep -rlE -- "$ere" "$path" 2>/dev/null && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# Run directly (CTest globs tests/integration/*.sh, so it does), this file
# tests its own checks: a helper that passed everything would make every
# integration test worthless.  The checks under test print into a pipe;
# their lines and counts are then checked by hand.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# pb_selftest_case - run CMD with counts of its own; print its output
	# and those counts
	pb_selftest_case() {
		local PB_PASSED=0 PB_FAILED=0
		eval "$1" 2>&1
		printf '%s/%s\n' "$PB_PASSED" "$PB_FAILED"
	}
	# pb_selftest - check CMD printed exactly WANT (lines joined by '|')
	pb_selftest() {
		local got
		got=$(pb_selftest_case "$2" | paste -sd '|')
		pb_check_eq "$1" "$got" "$3"
	}
	pb_selftest "pb_check_eq passes on equal strings" \
		"pb_check_eq x 'a b' 'a b'" "ok - x|1/0"
	pb_selftest "pb_check_eq fails on different strings, says got and want" \
		"pb_check_eq x 'a' 'b'" "not ok - x: got 'a', want 'b'|0/1"
	pb_selftest "pb_check_match passes on a match" \
		"pb_check_match x '550 5.1.1 no' '^550 5\\.1\\.1 '" "ok - x|1/0"
	pb_selftest "pb_check_match fails without a match" \
		"pb_check_match x '250 ok' '^550'" \
		"not ok - x: got '250 ok', want a match for /^550/|0/1"
	pb_selftest "pb_check_match fails on an empty reply" \
		"pb_check_match x '' '.*'" \
		"not ok - x: got nothing, want a match for /.*/|0/1"
	pb_selftest "pb_summary fails when a check failed" \
		"pb_ok a; pb_not_ok b c; pb_summary || echo failed" \
		"ok - a|not ok - b: c|1 passed, 1 failed|failed|1/1"
	pb_selftest "pb_summary fails when nothing was checked" \
		"pb_summary || echo failed" "0 passed, 0 failed|failed|0/0"
	pb_selftest "pb_summary passes when all checks passed" \
		"pb_ok a; pb_summary && echo passed" \
		"ok - a|1 passed, 0 failed|passed|1/0"
	pb_mktemp selftest || pb_bail "cannot make a temp dir"
	printf 'one\nX-Marker: m1\n' >"$PB_TMP/f"
	pb_selftest "pb_wait_grep finds a line in a directory" \
		"pb_wait_grep 'X-Marker: m1' '$PB_TMP' 1" "$PB_TMP/f|0/0"
	pb_selftest "pb_wait_grep gives up without a match" \
		"pb_wait_grep 'X-Marker: m2' '$PB_TMP' 1 || echo none" "none|0/0"
	pb_summary
	exit
fi
