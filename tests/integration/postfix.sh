#!/bin/bash
# postfix.sh BUILD - pushbackd behind a real Postfix.
#
# Starts a private Postfix instance (its own main.cf, master.cf, queue and
# log in a temp dir; the system instance in /etc/postfix is never touched),
# whose smtpd asks pushbackd through the lines of
# contrib/postfix/main.cf.fragment and relays accepted mail to smtp-sink,
# which writes every message it receives to a file.  Then talks SMTP to
# Postfix with swaks and checks what a sender and a recipient would see:
# the reply to RCPT TO, and whether the message arrived.
#
# Needs root (Postfix's master runs as root), postfix, smtp-sink, swaks.
# Ports: 127.0.0.1:10160 Postfix smtpd, :10161 smtp-sink, :10162 pushbackd.
# PB_KEEP=1 keeps the temp dir (logs, transcripts, delivered messages).
set -u

build=${1:-${PB_BUILD_DIR:-}}
src=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$src/tests/integration/lib.sh"

host=127.0.0.1
smtp_port=10160
sink_port=10161
policy_port=10162
fragment=$src/contrib/postfix/main.cf.fragment
fragment_policy=inet:127.0.0.1:10040

pb_need_root
pb_need_cmd postfix postconf postqueue smtp-sink swaks
[ -n "$build" ] || pb_bail "usage: postfix.sh BUILD_DIR"
[ -x "$build/pushbackd" ] || pb_bail "$build/pushbackd is not built"
[ -x "$build/pushback" ] || pb_bail "$build/pushback is not built"
[ -f "$fragment" ] || pb_bail "$fragment is missing"
id postfix >/dev/null 2>&1 || pb_bail "no user postfix (postfix package?)"
getent group postdrop >/dev/null || pb_bail "no group postdrop"
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

# pf_reap - clean up after an earlier run that was killed before its own
# clean-up (SIGKILL, CTest timeout): its temp dir is still there and the
# run's shell is gone.  Its Postfix is stopped, and the processes whose
# command line names that dir (its pushbackd and smtp-sink) are ended.
pf_reap() {
	local dir pid proc args
	for dir in /tmp/pbtest-postfix.*; do
		[ -f "$dir/test.pid" ] || continue
		pid=$(cat "$dir/test.pid")
		if pb_alive "$pid" &&
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -q 'postfix\.sh'; then
			continue # a run in progress: leave it alone
		fi
		echo "# cleaning up after a killed run in $dir"
		pf_stop "$dir"
		for proc in /proc/[0-9]*; do
			# matched in the shell: a grep would match its own args
			args=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)
			case $args in
			*"$dir/"*) pb_stop_pid "${proc#/proc/}" 5 ;;
			esac
		done
		rm -rf "$dir"
	done
}

pf_reap
for port in $smtp_port $sink_port $policy_port; do
	pb_need_free_port $host "$port"
done

pb_mktemp postfix || pb_bail "cannot make a temp dir"
t=$PB_TMP
pfconf=$t/etc               # main.cf, master.cf
maillog=$t/maillog          # Postfix's log (maillog_file)
sink=$t/sink                # one file per message smtp-sink received
pbconf=$t/pushback.conf
pblog=$t/pushbackd.log
mkdir -p "$pfconf" "$t/queue" "$sink" "$t/pb" "$t/swaks"
echo $$ >"$t/test.pid" # for pf_reap in a later run, should this one be killed
chown postfix "$sink"
: >"$pblog"

# --- SMTP helpers --------------------------------------------------------

run=$$.$RANDOM # makes every message marker unique to this run

# smtp - swaks to the private Postfix; transcript in $t/swaks/NAME.txt
smtp() {
	local name=$1
	shift
	swaks --server $host:$smtp_port --helo client.example.net \
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

# delivered - check exactly one message with MARKER reached smtp-sink for RCPT
delivered() {
	local name=$1 marker=$2 rcpt=$3 files n
	# the body comes last: once it is there the file is complete
	pb_wait_grep "^pushback test message $marker" "$sink" 20 >/dev/null
	files=$(grep -rl -- "$marker" "$sink")
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

# send - a whole message from FROM to TO carrying MARKER in header and body
send() {
	local name=$1 from=$2 to=$3 marker=$4
	smtp "$name" --from "$from" --to "$to" \
		--header "X-Pushback-Test: $marker" \
		--header "Message-Id: <$marker@client.example.net>" \
		--body "pushback test message $marker"
}

# --- pushbackd and its directory, filled with the CLI ----------------------

cat >"$pbconf" <<EOF
[pushbackd]
state_dir = $t/pb
log = stderr
log_level = info

[policy]
listen = inet:$host:$policy_port

[directory]
database = $t/pb/pushback.db
EOF

# pb_cli - run the pushback CLI on the test's configuration
pb_cli() {
	"$build/pushback" -c "$pbconf" "$@" >>"$t/cli.log" 2>&1 ||
		pb_bail "pushback $* failed: $(tail -n 3 "$t/cli.log")"
}

pb_cli domain add example.org
pb_cli recipient add alice@example.org bob@example.org
pb_cli list add dev@lists.example.org --policy members \
	--owner boss@example.org
pb_cli member add dev@lists.example.org member@example.net

# shellcheck disable=SC2016 # the pid of the moment, read at exit
pb_at_exit 'pb_stop_pid "$PB_DAEMON_PID"'
pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start"

# --- smtp-sink: Postfix's next hop, keeps each message in $sink ------------

smtp-sink -u postfix -d "$sink/%M." $host:$sink_port 10 \
	>>"$t/smtp-sink.log" 2>&1 &
sink_pid=$!
pb_at_exit "pb_stop_pid $sink_pid"
pb_wait_port $host $sink_port 10 || pb_bail "smtp-sink did not listen"

# --- the private Postfix instance -------------------------------------------

# -d: the system instance's main.cf may not exist
mail_version=$(postconf -d -h mail_version 2>/dev/null)
case $mail_version in
2.* | 3.[0-5].*) level=2 ;;
*) level=3.6 ;;
esac

cat >"$pfconf/main.cf" <<EOF
# private Postfix instance made by tests/integration/postfix.sh
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
# The domains pushback protects, relayed to the next hop (smtp-sink).
relay_domains = example.org lists.example.org
relay_recipient_maps =
relayhost = [$host]:$sink_port
smtpd_relay_restrictions = reject_unauth_destination
queue_run_delay = 1s
minimal_backoff_time = 1s

# --- contrib/postfix/main.cf.fragment, policy address set to the test's ---
EOF
sed "s/$fragment_policy/inet:$host:$policy_port/" "$fragment" \
	>>"$pfconf/main.cf"
grep -q "check_policy_service inet:$host:$policy_port\$" "$pfconf/main.cf" ||
	pb_bail "no 'check_policy_service $fragment_policy' in $fragment"

# chroot column "n" everywhere: the queue lives in a temp dir
cat >"$pfconf/master.cf" <<EOF
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

# 'check' creates the private queue and data directories with the right
# owners (post-install create-missing) and reports configuration problems.
postfix -c "$pfconf" check >"$t/postfix-check.log" 2>&1 ||
	pb_bail "postfix check: $(cat "$t/postfix-check.log")"
pb_at_exit "pf_stop '$t'"
postfix -c "$pfconf" start >"$t/postfix-start.log" 2>&1 ||
	pb_bail "postfix start: $(cat "$t/postfix-start.log") $(cat "$maillog")"
pb_wait_port $host $smtp_port 10 || pb_bail "Postfix did not listen"
# A smtpd that dies at start-up (a bad restriction list is fatal) leaves
# clients hanging: find out now, not check by check.
smtp banner --quit-after EHLO
case $(reply_to EHLO "$last") in
250*) ;;
*)
	show "$last"
	tail -n 10 "$maillog" | sed 's/^/#   /'
	pb_bail "Postfix's smtpd does not answer EHLO"
	;;
esac
got=$(postconf -c "$pfconf" -h smtpd_recipient_restrictions)
case $got in
*"check_policy_service inet:$host:$policy_port"*) ;;
*) pb_bail "smtpd_recipient_restrictions = $got" ;;
esac

# --- the checks -----------------------------------------------------------

echo "# Postfix $mail_version on $host:$smtp_port," \
	"pushbackd on $host:$policy_port, smtp-sink on $host:$sink_port"

# 0. Postfix's own relay check still comes first.
smtp relay --from stranger@example.net --to someone@example.com \
	--quit-after RCPT
expect "mail for an unprotected domain refused as relaying (554 5.7.1)" \
	"RCPT TO:" '^554 5\.7\.1 .*Relay access denied'

# 1. Unknown recipient: refused during SMTP, nobody bounces anything.
smtp unknown --from stranger@example.net --to nobody@example.org \
	--quit-after RCPT
expect "unknown recipient refused at RCPT with 550 5.1.1" \
	"RCPT TO:" '^550 5\.1\.1 <nobody@example\.org>: .*unknown recipient'
if grep -q 'nobody@example\.org.*reason=unknown-recipient' "$pblog"; then
	pb_ok "pushbackd logged the refusal with reason unknown-recipient"
else
	pb_not_ok "pushbackd logged the refusal with reason unknown-recipient" \
		"got no line with nobody@example.org and reason=unknown-recipient"
fi

# 2. Known recipient: accepted and delivered to the next hop.
m=known.$run
send known stranger@example.net alice@example.org "$m"
expect "known recipient accepted at RCPT (250)" "RCPT TO:" '^250 '
expect "known recipient's message queued (250 after DATA)" \
	'\.$' '^250 .*queued as'
delivered "known recipient's message reached the next hop" \
	"$m" alice@example.org

# 3. A member posts to a members-only list.
m=member.$run
send member member@example.net dev@lists.example.org "$m"
expect "member posting to the list accepted at RCPT (250)" \
	"RCPT TO:" '^250 '
delivered "member's post reached the next hop" "$m" dev@lists.example.org

# 4. A non-member posts: refused, and told whom to ask.
smtp nonmember --from stranger@example.net --to dev@lists.example.org \
	--quit-after RCPT
expect "non-member posting refused at RCPT with 550 5.7.1 naming the owner" \
	"RCPT TO:" '^550 5\.7\.1 <dev@lists\.example\.org>: .*boss@example\.org'

# 5. The null sender (a bounce) to a list posting address.
smtp nullsender --from '<>' --to dev@lists.example.org --quit-after RCPT
expect "null sender accepted at MAIL FROM:<> (Postfix)" "MAIL FROM:<>" \
	'^250 '
expect "null sender to the list refused at RCPT with 550" \
	"RCPT TO:" '^550 5\.7\.1 <dev@lists\.example\.org>: .*null sender'

# 6. pushbackd down: Postfix says "try later" (4xx, never 5xx) and does not
#    take the message; once pushbackd is back the same message goes through.
pb_stop_pid "$PB_DAEMON_PID"
PB_DAEMON_PID=
pb_wait_port_closed $host $policy_port 5 ||
	pb_bail "pushbackd still listens after SIGTERM"
m=retry.$run
send down stranger@example.net alice@example.org "$m"
expect "pushbackd stopped: RCPT answered 4xx, not 5xx" \
	"RCPT TO:" '^4[0-9][0-9] '
expect "pushbackd stopped: the 451 4.3.5 of main.cf.fragment" \
	"RCPT TO:" '^451 4\.3\.5 <alice@example\.org>: .*policy service unavailable'
if grep -q 'queued as' "$last"; then
	pb_not_ok "pushbackd stopped: message not accepted" \
		"got '$(grep 'queued as' "$last")', want no 'queued as'"
else
	pb_ok "pushbackd stopped: message not accepted (the sender keeps it)"
fi
got=$(postqueue -c "$pfconf" -p 2>&1)
pb_check_match "pushbackd stopped: Postfix's queue is empty" "$got" \
	'^Mail queue is empty'
sleep 1
n=$(grep -rl -- "$m" "$sink" | grep -c .)
pb_check_eq "pushbackd stopped: nothing reached the next hop" "$n" 0

pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start again"
send retry stranger@example.net alice@example.org "$m"
expect "pushbackd back: the retried message accepted at RCPT (250)" \
	"RCPT TO:" '^250 '
delivered "pushbackd back: the retried message reached the next hop" \
	"$m" alice@example.org

# 7. A CLI change reaches the running daemon at once.
smtp newbefore --from stranger@example.net --to newbie@example.org \
	--quit-after RCPT
expect "new address refused before 'pushback recipient add' (550 5.1.1)" \
	"RCPT TO:" '^550 5\.1\.1 '
pb_cli recipient add newbie@example.org
m=newbie.$run
send newafter stranger@example.net newbie@example.org "$m"
expect "new address accepted right after 'pushback recipient add' (250)" \
	"RCPT TO:" '^250 '
delivered "new address's message reached the next hop" \
	"$m" newbie@example.org

if [ "$PB_FAILED" -ne 0 ]; then
	echo "# Postfix log (last 30 lines):"
	tail -n 30 "$maillog" | sed 's/^/#   /'
	echo "# pushbackd log (last 30 lines):"
	tail -n 30 "$pblog" | sed 's/^/#   /'
fi
pb_summary
