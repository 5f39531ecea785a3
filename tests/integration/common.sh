#!/bin/bash
# shellcheck shell=bash
# common.sh - a private Postfix instance for tests/integration/*.sh (bash;
# source it after lib.sh).  Not a test itself: CMake skips this name.
#
# Instance:  pf_stop DIR, pf_reap NAME SCRIPT, pf_main_cf, pf_master_cf,
#            pf_start.  The instance lives in $t (main.cf and master.cf in
#            $t/etc, queue in $t/queue, log in $t/maillog); its smtpd
#            listens on $host:$smtp_port.  Nothing under /etc/postfix is
#            read or touched.
# SMTP:      smtp NAME SWAKS-ARGS... (transcript in $t/swaks/NAME.txt, its
#            path in $last), send NAME FROM TO MARKER, reply_to CMD FILE,
#            expect NAME CMD ERE, show FILE.
# Next hop:  sink_start (smtp-sink on $host:$sink_port keeps each message
#            as a file in $sink), sink_files MARKER [SECS], delivered NAME
#            MARKER RCPT.
# The caller sets host, smtp_port, sink_port, t and maillog, sink (below
# $t) before using them; run (a marker unique to the run) is set here.

# The caller's variables are used here, and ours (run, last, sink_pid)
# there: shellcheck sees one file at a time.
# shellcheck disable=SC2034,SC2154

run=$$.$RANDOM # makes every message marker unique to this run

# pf_stop DIR - stop the private instance made in DIR; kill -9 what is left
pf_stop() {
	local dir=$1 pid kid
	[ -f "$dir/queue/pid/master.pid" ] || return 0
	postfix -c "$dir/etc" stop >/dev/null 2>&1
	pid=$(awk 'NR == 1 { print $1 }' "$dir/queue/pid/master.pid")
	[ -n "$pid" ] || return 0
	# only a master started with that configuration directory
	{ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
		grep -qx "MAIL_CONFIG=$dir/etc" || return 0
	if pb_alive "$pid"; then
		echo "# Postfix master $pid survived 'postfix stop'; killing it"
		for kid in $(ps -o pid= --ppid "$pid"); do
			kill -KILL "$kid" 2>/dev/null
		done
		kill -KILL "$pid" 2>/dev/null
	fi
}

# pf_reap NAME SCRIPT - clean up after an earlier run of SCRIPT (a file
# name, e.g. postfix.sh) that was killed before its own clean-up (SIGKILL,
# CTest timeout): its temp dir /tmp/pbtest-NAME.* is still there and the
# run's shell is gone.  Its Postfix is stopped, and the processes whose
# command line names that dir (its pushbackd and smtp-sink) are ended.
pf_reap() {
	local name=$1 script=$2 dir pid proc args
	for dir in /tmp/pbtest-"$name".*; do
		[ -f "$dir/test.pid" ] || continue
		pid=$(cat "$dir/test.pid")
		if pb_alive "$pid" &&
			{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
			grep -qF "$script"; then
			continue # a run in progress: leave it alone
		fi
		echo "# cleaning up after a killed run in $dir"
		pf_stop "$dir"
		for proc in /proc/[0-9]*; do
			# matched in the shell: a grep would match its own args
			args=$({ tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null)
			case $args in
			*"$dir/"*) pb_stop_pid "${proc#/proc/}" 5 ;;
			esac
		done
		rm -rf "$dir"
	done
}

# pf_main_cf SCRIPT - print the part of main.cf every test's instance
# shares: its own queue, data and log under $t, smtpd on $host only, no
# local delivery, the test's client a stranger (not in mynetworks), and
# queue runs every second so a deferred message is retried at once.  The
# caller appends its domains, next hop and contrib fragments.
pf_main_cf() {
	local level mail_version
	# -d: the system instance's main.cf may not exist
	mail_version=$(postconf -d -h mail_version 2>/dev/null)
	case $mail_version in
	2.* | 3.[0-5].*) level=2 ;;
	*) level=3.6 ;;
	esac
	cat <<EOF
# private Postfix instance made by tests/integration/$1
compatibility_level = $level
queue_directory = $t/queue
data_directory = $t/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-pbtest
maillog_file = $maillog
maillog_file_prefixes = $t
myhostname = mx.pbtest.invalid
mydomain = pbtest.invalid
myorigin = \$myhostname
inet_interfaces = $host
inet_protocols = ipv4
smtpd_peername_lookup = no
# The test's client plays a stranger on the Internet: not in mynetworks.
mynetworks = 192.0.2.1/32
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
EOF
}

# pf_master_cf - print master.cf: smtpd on $host:$smtp_port and the
# services a relaying Postfix needs (the caller may append more)
pf_master_cf() {
	# chroot column "n" everywhere: the queue lives in a temp dir
	cat <<EOF
$host:$smtp_port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# pf_start - check and start the instance in $t/etc; bail out unless its
# smtpd answers EHLO
pf_start() {
	# 'check' creates the private queue and data directories with the
	# right owners (post-install create-missing) and reports configuration
	# problems.
	postfix -c "$t/etc" check >"$t/postfix-check.log" 2>&1 ||
		pb_bail "postfix check: $(cat "$t/postfix-check.log")"
	pb_at_exit "pf_stop '$t'"
	postfix -c "$t/etc" start >"$t/postfix-start.log" 2>&1 ||
		pb_bail "postfix start: $(cat "$t/postfix-start.log") $(cat "$maillog")"
	pb_wait_port "$host" "$smtp_port" 10 || pb_bail "Postfix did not listen"
	# A smtpd that dies at start-up (a bad restriction list is fatal)
	# leaves clients hanging: find out now, not check by check.
	smtp banner --quit-after EHLO
	case $(reply_to EHLO "$last") in
	250*) ;;
	*)
		show "$last"
		tail -n 10 "$maillog" | sed 's/^/#   /'
		pb_bail "Postfix's smtpd does not answer EHLO"
		;;
	esac
}

# --- SMTP helpers --------------------------------------------------------

# smtp - swaks to the private Postfix; transcript in $t/swaks/NAME.txt
smtp() {
	local name=$1
	shift
	swaks --server "$host:$smtp_port" --helo client.example.net \
		--timeout 15 "$@" </dev/null >"$t/swaks/$name.txt" 2>&1
	last=$t/swaks/$name.txt
}

# reply_to - the server's reply to the first command matching ERE in FILE
reply_to() {
	CMD=$1 awk '
		f && /^<(-|\*\*) / { sub(/^<(-|\*\*) +/, ""); print; exit }
		$0 ~ "^ -> " ENVIRON["CMD"] { f = 1 }' "$2"
}

# show - print a transcript after a failed check, for the reader
show() {
	sed 's/^/#   /' "$1"
}

# expect - check the reply to COMMAND in the last transcript matches ERE
expect() {
	local name=$1 cmd=$2 ere=$3 before=$PB_FAILED
	pb_check_match "$name" "$(reply_to "$cmd" "$last")" "$ere"
	[ "$PB_FAILED" -eq "$before" ] || show "$last"
}

# send - a whole message from FROM to TO carrying MARKER in header and body
# (more swaks arguments may follow)
send() {
	local name=$1 from=$2 to=$3 marker=$4
	shift 4
	smtp "$name" --from "$from" --to "$to" \
		--header "X-Pushback-Test: $marker" \
		--header "Message-Id: <$marker@client.example.net>" \
		--body "pushback test message $marker" "$@"
}

# --- the next hop: smtp-sink ----------------------------------------------

# sink_start - smtp-sink on $host:$sink_port, one file per message in $sink
sink_start() {
	mkdir -p "$sink"
	chown postfix "$sink"
	smtp-sink -u postfix -d "$sink/%M." "$host:$sink_port" 10 \
		>>"$t/smtp-sink.log" 2>&1 &
	sink_pid=$!
	pb_at_exit "pb_stop_pid $sink_pid"
	pb_wait_port "$host" "$sink_port" 10 || pb_bail "smtp-sink did not listen"
}

# sink_files MARKER [SECS] - wait (default 20 s) for a message with MARKER
# to reach smtp-sink; print the names of all files holding MARKER
sink_files() {
	# the body comes last: once it is there the file is complete
	pb_wait_grep "^pushback test message $1" "$sink" "${2:-20}" >/dev/null
	grep -rl -- "$1" "$sink"
}

# delivered - check exactly one message with MARKER reached smtp-sink for RCPT
delivered() {
	local name=$1 marker=$2 rcpt=$3 files n
	files=$(sink_files "$marker")
	n=$(printf '%s' "$files" | grep -c .)
	if [ "$n" -ne 1 ]; then
		pb_not_ok "$name" "got $n messages with $marker in smtp-sink, want 1"
		tail -n 5 "$maillog" | sed 's/^/#   /'
		return
	fi
	if grep -q "^X-Rcpt-Args: <$rcpt>" "$files"; then
		pb_ok "$name"
	else
		pb_not_ok "$name" \
			"got '$(grep '^X-Rcpt-Args' "$files")', want X-Rcpt-Args: <$rcpt>"
	fi
}
