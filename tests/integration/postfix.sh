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
# shellcheck source=tests/integration/common.sh
. "$src/tests/integration/common.sh"

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
pf_reap postfix postfix.sh
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
mkdir -p "$pfconf" "$t/queue" "$t/pb" "$t/swaks"
echo $$ >"$t/test.pid" # for pf_reap in a later run, should this one be killed
: >"$pblog"

# --- pushbackd and its directory, filled with the CLI ----------------------

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
listen =

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
	--owner boss@example.org --check-sender envelope
pb_cli member add dev@lists.example.org member@example.net

# shellcheck disable=SC2016 # the pid of the moment, read at exit
pb_at_exit 'pb_stop_pid "$PB_DAEMON_PID"'
pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start"

# --- smtp-sink: Postfix's next hop, keeps each message in $sink ------------

sink_start

# --- the private Postfix instance -------------------------------------------

mail_version=$(postconf -d -h mail_version 2>/dev/null)
pf_main_cf postfix.sh >"$pfconf/main.cf"
cat >>"$pfconf/main.cf" <<EOF
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

pf_master_cf >"$pfconf/master.cf"

pf_start
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
