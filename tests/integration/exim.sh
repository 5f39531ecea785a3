#!/bin/bash
# exim.sh BUILD - pushbackd behind a real Exim, through contrib/exim.
#
# Starts pushbackd (policy service and socketmap, BATV keys, [bounces]
# protect = example.org) and a private Exim daemon (Debian's exim4,
# unpacked into BUILD/exim by scripts/fetch-exim; its own configuration,
# spool and logs in a temp dir, nothing under /etc/exim4 or /var is read
# or touched) whose configuration includes the three files of
# contrib/exim and adds the one transport line their README asks for.
# Exim receives mail for example.org and relays the rest; every delivery,
# local or remote, goes to smtp-sink, which writes each message it
# receives to a file.  Then talks SMTP to Exim with swaks and checks what
# a sender and a recipient would see: the reply to RCPT TO, whether the
# message arrived, and with which envelope sender it left.
#
# The contrib files are copied into the temp dir with sed, their two
# socket macros changed to the test's ports (the way postfix.sh uses
# contrib/postfix/main.cf.fragment); everything else is as shipped.
#
# Needs root (Exim's daemon binds and switches users; fetch-exim creates
# the Debian-exim user once), smtp-sink, swaks, python3, flock, apt-get download
# (package lists) the first time.
# Ports: 127.0.0.1:10260 Exim, :10261 smtp-sink, :10262 pushbackd's policy
# service, :10263 its socketmap.
# PB_KEEP=1 keeps the temp dir (logs, transcripts, delivered messages).
set -u

build=${1:-${PB_BUILD_DIR:-}}
src=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$src/tests/integration/lib.sh"

host=127.0.0.1
smtp_port=10260
sink_port=10261
policy_port=10262
map_port=10263
contrib=$src/contrib/exim
contrib_policy=inet:127.0.0.1:10040 # the addresses contrib/exim ships with
contrib_maps=inet:127.0.0.1:10041

pb_need_root
pb_need_cmd smtp-sink swaks python3 flock
[ -n "$build" ] || pb_bail "usage: exim.sh BUILD_DIR"
[ -x "$build/pushbackd" ] || pb_bail "$build/pushbackd is not built"
[ -x "$build/pushback" ] || pb_bail "$build/pushback is not built"
for f in pushback.conf rcpt-acl.conf batv-router.conf; do
	[ -f "$contrib/$f" ] || pb_bail "$contrib/$f is missing"
done
[ -f "$src/tests/lib/signlib.py" ] || pb_bail "tests/lib/signlib.py is missing"
id postfix >/dev/null 2>&1 || pb_bail "no user postfix (smtp-sink -u postfix)"

# --- helpers of this test ---------------------------------------------------

# exim_reap - clean up after an earlier run that was killed before its own
# clean-up (SIGKILL, CTest timeout): its temp dir is still there and the
# run's shell is gone.  The processes whose command line names that dir
# (Exim's daemon, pushbackd, smtp-sink) are ended and the dir removed.
exim_reap() {
	local dir pid proc args
	for dir in /tmp/pbtest-exim.*; do
		[ -f "$dir/test.pid" ] || continue
		pid=$(cat "$dir/test.pid")
		if pb_alive "$pid" &&
			{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
			grep -qF exim.sh; then
			continue # a run in progress: leave it alone
		fi
		echo "# cleaning up after a killed run in $dir"
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

# smtp NAME SWAKS-ARGS... - swaks to the private Exim; the transcript goes
# to $t/swaks/NAME.txt, its path to $last
smtp() {
	local name=$1
	shift
	swaks --server "$host:$smtp_port" --helo client.example.net \
		--timeout 15 "$@" </dev/null >"$t/swaks/$name.txt" 2>&1
	last=$t/swaks/$name.txt
}

# send NAME FROM TO MARKER [SWAKS-ARGS...] - a whole message carrying
# MARKER in a header and its body
send() {
	local name=$1 from=$2 to=$3 marker=$4
	shift 4
	smtp "$name" --from "$from" --to "$to" \
		--header "X-Pushback-Test: $marker" \
		--header "Message-Id: <$marker@client.example.net>" \
		--body "pushback test message $marker" "$@"
}

# reply_to_nth N CMD FILE - the server's reply to the Nth command matching
# ERE CMD in a swaks transcript, on one line: Exim splits a long ACL
# message into a multi-line reply ("452-4.5.3 one ..." then "452 4.5.3
# ... rest"), printed here as "452 4.5.3 one ... rest"
reply_to_nth() {
	N=$1 CMD=$2 awk '
		/^ -> / { f = $0 ~ "^ -> " ENVIRON["CMD"] && ++n == ENVIRON["N"]; next }
		f && /^<(-|\*\*) / {
			sub(/^<(-|\*\*) +/, "")
			last = $0 !~ /^[0-9][0-9][0-9]-/
			if (r == "") {
				r = substr($0, 1, 3) " " substr($0, 5)
			} else {
				sub(/^[0-9][0-9][0-9][ -]([245]\.[0-9]+\.[0-9]+ )?/, "")
				r = r " " $0
			}
			if (last) { print r; exit }
		}' "$3"
}

# show FILE - print a file after a failed check, for the reader
show() {
	sed 's/^/#   /' "$1"
}

# expect_nth NAME N CMD ERE - check the reply to the Nth CMD in the last
# transcript matches ERE
expect_nth() {
	local before=$PB_FAILED
	pb_check_match "$1" "$(reply_to_nth "$2" "$3" "$last")" "$4"
	[ "$PB_FAILED" -eq "$before" ] || show "$last"
}

# expect NAME CMD ERE - the same for the first CMD
expect() {
	expect_nth "$1" 1 "$2" "$3"
}

# sink_files MARKER [SECS] - wait (default 20 s) for a message with MARKER
# to reach smtp-sink; print the names of all files holding MARKER
sink_files() {
	# the body comes last: once it is there the file is complete
	pb_wait_grep "^pushback test message $1" "$sink" "${2:-20}" >/dev/null
	grep -rl -- "$1" "$sink"
}

# sink_count MARKER - how many files in smtp-sink hold MARKER, now
sink_count() {
	grep -rl -- "$1" "$sink" | grep -c .
}

# sink_field MARKER FIELD - the envelope address smtp-sink recorded for
# the one message with MARKER (FIELD: Mail or Rcpt); empty unless exactly
# one message has MARKER
sink_field() {
	local files
	files=$(sink_files "$1")
	[ "$(printf '%s' "$files" | grep -c .)" -eq 1 ] || return 0
	sed -n "s/^X-$2-Args: <\\([^>]*\\)>.*/\\1/p" "$files" | head -n 1
}

# delivered NAME MARKER RCPT - check exactly one message with MARKER
# reached smtp-sink, for RCPT
delivered() {
	local n
	n=$(sink_files "$2" | grep -c .)
	if [ "$n" -ne 1 ]; then
		pb_not_ok "$1" "got $n messages with $2 in smtp-sink, want 1"
		tail -n 5 "$mainlog" | sed 's/^/#   /'
		return
	fi
	pb_check_eq "$1" "$(sink_field "$2" Rcpt)" "$3"
}

# signlib EXPR - evaluate a call of tests/lib/signlib.py (the independent
# signer) and print the address it makes
signlib() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import signlib
print(eval(sys.argv[2], vars(signlib)))' "$src/tests/lib" "$1"
}

# exim_q ARGS... - run the Exim binary on the test's configuration
exim_q() {
	"$exim" -C "$econf" "$@" 2>>"$t/exim/stderr"
}

# pb_cli - run the pushback CLI on the test's configuration
pb_cli() {
	"$build/pushback" -c "$pbconf" "$@" >>"$t/cli.log" 2>&1 ||
		pb_bail "pushback $* failed: $(tail -n 3 "$t/cli.log")"
}

# --- set-up -----------------------------------------------------------------

exim_reap
for port in $smtp_port $sink_port $policy_port $map_port; do
	pb_need_free_port $host "$port"
done

pb_mktemp exim || pb_bail "cannot make a temp dir"
t=$PB_TMP
econf=$t/exim/exim.conf     # Exim's configuration (below)
mainlog=$t/exim/log/mainlog # Exim's log (log_file_path)
sink=$t/sink                # one file per message smtp-sink received
pbconf=$t/pushback.conf
pblog=$t/pushbackd.log
run=$$.$RANDOM # makes every message marker unique to this run
mkdir -p "$t/pb" "$t/swaks" "$t/exim/spool" "$t/exim/log" "$t/exim/pushback"
echo $$ >"$t/test.pid" # for exim_reap in a later run, should this one be killed
: >"$pblog"

exim_dir=$build/exim
exim=$exim_dir/usr/sbin/exim4
# (fetch-exim takes a lock: CTest runs tests in parallel, and interop.sh
# unpacks the same copy)
"$src/scripts/fetch-exim" "$exim_dir" \
	>"$t/fetch-exim.log" 2>&1 ||
	pb_bail "scripts/fetch-exim $exim_dir: $(tail -n 5 "$t/fetch-exim.log")"

# --- pushbackd and its directory, filled with the CLI ----------------------

batv_keys=$t/batv.keys
pb_cli secret new "$batv_keys" --batv
read -r batv_num batv_key <"$batv_keys"

cat >"$pbconf" <<EOF
[pushbackd]
state_dir = $t/pb
log = stderr
log_level = info

[milter]
listen =

[policy]
listen = inet:$host:$policy_port

[socketmap]
listen = inet:$host:$map_port

[batv]
secrets = $batv_keys
max_age = 7

[bounces]
protect = example.org

[directory]
database = $t/pb/pushback.db
EOF

pb_cli domain add example.org
pb_cli recipient add alice@example.org bob@example.org

# shellcheck disable=SC2016 # the pid of the moment, read at exit
pb_at_exit 'pb_stop_pid "$PB_DAEMON_PID"'
pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start"
pb_wait_port $host $map_port 5 || pb_bail "pushbackd's socketmap did not listen"

# --- smtp-sink: Exim's next hop for all mail, keeps each message in $sink --

mkdir -p "$sink"
chown postfix "$sink"
smtp-sink -u postfix -d "$sink/%M." "$host:$sink_port" 10 \
	>>"$t/smtp-sink.log" 2>&1 &
sink_pid=$!
pb_at_exit "pb_stop_pid $sink_pid"
pb_wait_port $host $sink_port 10 || pb_bail "smtp-sink did not listen"

# --- the private Exim --------------------------------------------------------

# contrib/exim as shipped, only the two socket addresses changed
for f in pushback.conf rcpt-acl.conf batv-router.conf; do
	sed -e "s/$contrib_policy\$/inet:$host:$policy_port/" \
		-e "s/$contrib_maps\$/inet:$host:$map_port/" \
		"$contrib/$f" >"$t/exim/pushback/$f"
done
grep -q "^PUSHBACK_POLICY_SOCKET = inet:$host:$policy_port\$" \
	"$t/exim/pushback/pushback.conf" ||
	pb_bail "no 'PUSHBACK_POLICY_SOCKET = $contrib_policy' in $contrib/pushback.conf"
grep -q "^PUSHBACK_MAPS_SOCKET = inet:$host:$map_port\$" \
	"$t/exim/pushback/pushback.conf" ||
	pb_bail "no 'PUSHBACK_MAPS_SOCKET = $contrib_maps' in $contrib/pushback.conf"

cat >"$econf" <<EOF
# private Exim made by tests/integration/exim.sh
#
# Started as root with -C (fetch-exim clears the set-uid bit): the daemon
# binds its port as root and then runs as exim_user, and so do the
# processes it starts; each of those re-executions logs "exim user lost
# privilege for using -C option" (the file is not in Debian's trusted
# list), which is harmless: nothing here needs root after the bind.
# Debian's binary has never_users = root built in.
exim_user = Debian-exim
exim_group = Debian-exim
# Exim re-executes itself (to deliver, to remove its pid file): the
# unpacked binary, not the /usr/sbin/exim4 it was built for.
exim_path = $exim
spool_directory = $t/exim/spool
log_file_path = $t/exim/log/%slog
primary_hostname = mx.pbtest.invalid
# The daemon listens here only (its port comes from -oX).
local_interfaces = $host
# No DNS, no ident: the test runs without a network.
host_lookup =
rfc1413_hosts =
# Exim empties its environment; say so rather than be warned about it.
keep_environment =
# The domain received here; everything else is relayed for the test's
# client (127.0.0.1 plays the users' own submission host).
domainlist local_domains = example.org
hostlist relay_from_hosts = $host
acl_smtp_rcpt = acl_check_rcpt

# --- contrib/exim/pushback.conf ---
.include $t/exim/pushback/pushback.conf

begin acl

acl_check_rcpt:
  # the relay check, as in Debian's acl_check_rcpt
  deny    !domains = +local_domains
          !hosts = +relay_from_hosts
          message = 550 5.7.1 relay not permitted
  # --- contrib/exim/rcpt-acl.conf ---
.include $t/exim/pushback/rcpt-acl.conf
  # as in Debian's acl_check_rcpt: the routers must take the address (an
  # invalid prvs address fails in contrib's router)
  require verify = recipient
  accept

begin routers

# --- contrib/exim/batv-router.conf, the first router ---
.include $t/exim/pushback/batv-router.conf

# Every delivery goes to smtp-sink on this host; self = send because
# 127.0.0.1 is also where Exim itself listens.
local_domains:
  driver = manualroute
  domains = +local_domains
  route_list = * $host
  self = send
  transport = local_smtp

remote:
  driver = manualroute
  route_list = * $host
  self = send
  transport = remote_smtp

begin transports

remote_smtp:
  driver = smtp
  port = $sink_port
  allow_localhost
  # --- the one line contrib/exim/README asks for ---
  return_path = PUSHBACK_BATV_RETURN_PATH

local_smtp:
  driver = smtp
  port = $sink_port
  allow_localhost

begin retry

# A deferred message stays queued; the test forces each retry (-qff).
*   *   F,1d,1h
EOF
chown -R Debian-exim:Debian-exim "$t/exim/spool" "$t/exim/log"

exim_version=$("$exim" -C "$econf" -bV 2>&1 | sed -n 's/^Exim version \([^ ]*\).*/\1/p')
"$exim" -C "$econf" -bV >"$t/exim/bV.txt" 2>&1 ||
	pb_bail "exim4 -bV: $(grep -v '^ *$' "$t/exim/bV.txt" | tail -n 5)"

# -bdf: the daemon stays in the foreground, our child; no -q: there is no
# queue runner, a deferred message waits for the test's -qff.  The pid
# file is in the spool, where the unprivileged daemon can remove it.
"$exim" -C "$econf" -bdf -oX "$smtp_port" -oP "$t/exim/spool/exim.pid" \
	>>"$t/exim/stderr" 2>&1 &
exim_pid=$!
pb_at_exit "pb_stop_pid $exim_pid"
if ! pb_wait_port $host $smtp_port 10; then
	show "$t/exim/stderr"
	[ -f "$t/exim/log/paniclog" ] && show "$t/exim/log/paniclog"
	pb_bail "Exim did not listen on $host:$smtp_port"
fi

# --- the checks ---------------------------------------------------------------

echo "# Exim $exim_version on $host:$smtp_port, pushbackd on" \
	"$host:$policy_port (policy) and :$map_port (socketmap)," \
	"smtp-sink on $host:$sink_port"

# 1. Unknown recipient: refused during SMTP with pushbackd's words.
smtp unknown --from stranger@example.net --to nobody@example.org \
	--quit-after RCPT
expect "unknown recipient refused at RCPT with pushbackd's 550 5.1.1" \
	"RCPT TO:" '^550 5\.1\.1 unknown recipient'

# 2. Known recipient from an ordinary sender: accepted and delivered.
m=known.$run
send known stranger@example.net alice@example.org "$m"
expect "known recipient accepted at RCPT (250)" "RCPT TO:" '^250 '
delivered "known recipient's message delivered to alice@example.org" \
	"$m" alice@example.org
pb_check_eq "known recipient's message kept its envelope sender" \
	"$(sink_field "$m" Mail)" stranger@example.net

# 3. Our user writes out: the message leaves with a prvs return path that
#    pushback verifies.
m=out.$run
send out alice@example.org someone@remote.example "$m"
expect "alice to a remote address accepted at RCPT (250)" "RCPT TO:" '^250 '
delivered "alice's message relayed to someone@remote.example" \
	"$m" someone@remote.example
prvs=$(sink_field "$m" Mail)
# (swaks would wait for a --to typed on its stdin: never pass it nothing)
[ -n "$prvs" ] || prvs=no-prvs-was-sent@example.org
pb_check_match "alice's message left with a prvs envelope sender" \
	"$prvs" '^prvs=[0-9]{4}[0-9a-f]{6}=alice@example\.org$'
got=$("$build/pushback" -c "$pbconf" batv verify "$prvs" 2>&1)
pb_check_eq "pushback batv verify accepts that envelope sender" \
	"$got" alice@example.org

# 4. Senders pushback does not sign, and the null sender, leave unchanged
#    (the return_path expansion is forced to fail: nothing replaced).
m=foreign.$run
send foreign carol@example.net someone@remote.example "$m"
pb_check_eq "a sender outside [bounces] protect leaves unchanged" \
	"$(sink_field "$m" Mail)" carol@example.net
m=nullout.$run
send nullout '<>' someone@remote.example "$m"
expect "a bounce to a remote address accepted at RCPT (250)" \
	"RCPT TO:" '^250 '
delivered "a bounce to a remote address relayed" "$m" someone@remote.example
pb_check_eq "a bounce to a remote address leaves with the null sender" \
	"$(sink_files "$m" | xargs -r sed -n 's/^X-Mail-Args: //p')" "<>"

# 5. The bounce of alice's message comes back to the prvs address: taken,
#    and delivered to alice by contrib's router.
m=bounce.$run
send bounce '<>' "$prvs" "$m"
expect "a bounce to alice's prvs address accepted at RCPT (250)" \
	"RCPT TO:" '^250 '
delivered "the bounce to the prvs address delivered to alice@example.org" \
	"$m" alice@example.org

# 6. Forged bounces.
smtp forged --from '<>' --to alice@example.org --quit-after RCPT
expect "a bounce to the unsigned alice@example.org refused at RCPT (550 5.7.1)" \
	"RCPT TO:" '^550 5\.7\.1 '
today=$(signlib 'today()')
old=$(signlib "prvs('$batv_key', $batv_num, 'alice@example.org', $today - 1)")
smtp expired --from '<>' --to "$old" --quit-after RCPT
expect "a bounce to a prvs address expired yesterday refused at RCPT (550)" \
	"RCPT TO:" '^550 5\.7\.1 '
bad=$(signlib "prvs('not-our-key', $batv_num, 'alice@example.org', $today + 3)")
smtp badsig --from '<>' --to "$bad" --quit-after RCPT
expect "a bounce to a prvs address under another key refused at RCPT (550)" \
	"RCPT TO:" '^550 5\.7\.1 '

# A real sender's message to an expired prvs address: pushbackd does not
# judge it (not a bounce), but contrib's router finds no mailbox in it,
# and verify = recipient refuses it at RCPT.
smtp expiredreal --from stranger@example.net --to "$old" --quit-after RCPT
expect "a real sender to an expired prvs address refused at RCPT by the router (550)" \
	"RCPT TO:" '^550 .*invalid or expired return address'

# 7. A bounce has one recipient: the second one is told to wait (452).
prvs_bob=$("$build/pushback" -c "$pbconf" batv sign bob@example.org 2>&1)
smtp tworcpt --from '<>' --to "$prvs,$prvs_bob" --quit-after RCPT
expect_nth "a bounce's first recipient accepted (250)" 1 "RCPT TO:" '^250 '
expect_nth "a bounce's second recipient deferred with 452 4.5.3" 2 \
	"RCPT TO:" '^452 4\.5\.3 one recipient per bounce'

# 8. pushbackd down: RCPT is answered 4xx, and a message already taken
#    (here a local submission, as sendmail would make it) waits in the
#    queue: not sent unsigned, not bounced.  Back up, the next queue run
#    sends it signed.
pb_stop_pid "$PB_DAEMON_PID"
PB_DAEMON_PID=
pb_wait_port_closed $host $policy_port 5 ||
	pb_bail "pushbackd still listens after SIGTERM"
smtp down --from stranger@example.net --to alice@example.org \
	--quit-after RCPT
expect "pushbackd stopped: RCPT answered 451 4.3.5 (try later)" \
	"RCPT TO:" '^451 4\.3\.5 '

m=queued.$run
printf 'From: alice@example.org\nTo: someone@remote.example\nSubject: %s\nX-Pushback-Test: %s\n\npushback test message %s\n' \
	"$m" "$m" "$m" |
	exim_q -odi -f alice@example.org someone@remote.example
queue=$(exim_q -bp)
id=$(printf '%s\n' "$queue" | awk '/<alice@example\.org>/ { print $3; exit }')
pb_check_match "pushbackd stopped: alice's message waits in Exim's queue" \
	"$queue" '<alice@example\.org>'
if printf '%s\n' "$queue" | grep -q 'frozen'; then
	pb_not_ok "pushbackd stopped: the message is not frozen" "got '$queue'"
else
	pb_ok "pushbackd stopped: the message is not frozen"
fi
n=$(printf '%s\n' "$queue" | grep -c '^ *[0-9].* <')
pb_check_eq "pushbackd stopped: one message queued, no bounce beside it" "$n" 1
pb_check_match "pushbackd stopped: Exim logged the delivery deferred" \
	"$(grep -F "$id" "$mainlog" | grep -F '== someone@remote.example')" \
	'Failed to expand return path|return path'
sleep 1
pb_check_eq "pushbackd stopped: nothing reached smtp-sink" "$(sink_count "$m")" 0

pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start again"
exim_q -qff
delivered "pushbackd back: the queued message delivered after -qff" \
	"$m" someone@remote.example
got=$(sink_field "$m" Mail)
pb_check_match "pushbackd back: it left with a prvs envelope sender" \
	"$got" '^prvs=[0-9]{4}[0-9a-f]{6}=alice@example\.org$'
pb_check_eq "pushbackd back: Exim's queue is empty" "$(exim_q -bpc)" 0

# 9. [bounces] quarantine: pushbackd answers PREPEND instead of 550, and
#    the RCPT ACL adds its header to the message.
pb_stop_pid "$PB_DAEMON_PID"
PB_DAEMON_PID=
pb_wait_port_closed $host $policy_port 5 ||
	pb_bail "pushbackd still listens after SIGTERM"
sed 's/^protect = example\.org$/&\nquarantine = unsigned-bounce/' "$pbconf" \
	>"$t/pushback-quarantine.conf"
pb_start_pushbackd "$build" "$t/pushback-quarantine.conf" "$pblog" $host \
	$policy_port || pb_bail "pushbackd did not start with quarantine"
m=quarantine.$run
send quarantine '<>' alice@example.org "$m"
expect "quarantine: the unsigned bounce accepted at RCPT (250)" \
	"RCPT TO:" '^250 '
delivered "quarantine: the unsigned bounce delivered to alice@example.org" \
	"$m" alice@example.org
pb_check_match "quarantine: it carries pushbackd's X-Pushback-Reason header" \
	"$(sink_files "$m" | xargs -r grep -h '^X-Pushback-Reason:')" \
	'^X-Pushback-Reason: unsigned-bounce'

# Exim's panic log: the lines Exim writes there in this set-up, and nothing
# else (a configuration or taint error in contrib/exim would be here).
got=$(grep -v -e 'exim user lost privilege for using -C option' \
	-e '== someone@remote\.example .* Failed to expand return path' \
	"$t/exim/log/paniclog" 2>/dev/null)
pb_check_eq "Exim's panic log has no unexpected line" "$got" ""

if [ "$PB_FAILED" -ne 0 ]; then
	echo "# Exim's main log (last 30 lines):"
	tail -n 30 "$mainlog" | sed 's/^/#   /'
	echo "# pushbackd log (last 30 lines):"
	tail -n 30 "$pblog" | sed 's/^/#   /'
fi
pb_summary
