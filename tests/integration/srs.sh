#!/bin/bash
# srs.sh BUILD - signed return paths (SRS and BATV) through a real Postfix.
#
# A private Postfix instance (as in postfix.sh: its own main.cf, queue and
# log in a temp dir) gets the lines of contrib/postfix/main.cf.fragment
# (pushbackd's policy service) and contrib/postfix/srs.cf.fragment (the
# socketmap lookups that sign envelope senders and undo the signature on
# bounces), with the test's ports put in.  All mail it sends, for our
# domain example.org and for the rest of the world, goes to smtp-sink,
# which keeps each message as a file: the envelope sender and recipient a
# next hop sees are read from there.  The checks, with swaks as the
# client:
#   - a message forwarded by a virtual alias (fwd@example.org ->
#     dest@remote.example) leaves with an SRS0 sender at srs.example.org,
#     which `pushback srs reverse` turns back into the original sender;
#   - our user's message (port "submission") leaves with a prvs= sender;
#   - a bounce to either signed address is accepted and delivered to the
#     address inside it;
#   - forged bounces (unsigned, an SRS address 40 days old, a prvs that
#     expired yesterday) are refused at RCPT and reach nobody; a bounce
#     with two recipients gets 452 4.5.3 for the second;
#   - pushbackd stopped: every such message gets a 4xx, Postfix queues
#     nothing, and after a restart the same messages go out signed.
#
# Needs root (Postfix's master runs as root), postfix, smtp-sink, swaks,
# python3.  Ports: 127.0.0.1:10240 Postfix smtpd (the MX, with the policy
# service), :10241 smtp-sink, :10242 pushbackd policy, :10243 pushbackd
# socketmap, :10244 and :10245 Postfix smtpd for our own users
# ("submission": clients on 127.0.0.0/8 may relay, no policy service).
# PB_KEEP=1 keeps the temp dir (logs, transcripts, delivered messages).
set -u

build=${1:-${PB_BUILD_DIR:-}}
src=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$src/tests/integration/lib.sh"
# shellcheck source=tests/integration/common.sh
. "$src/tests/integration/common.sh"

host=127.0.0.1
smtp_port=10240
sink_port=10241
policy_port=10242
map_port=10243
sub_port=10244
sub2_port=10245
policy_fragment=$src/contrib/postfix/main.cf.fragment
srs_fragment=$src/contrib/postfix/srs.cf.fragment
fragment_policy=inet:127.0.0.1:10040 # the addresses the fragments ship with
fragment_map=inet:127.0.0.1:10041
srs_domain=srs.example.org # as in srs.cf.fragment

pb_need_root
pb_need_cmd postfix postconf postqueue smtp-sink swaks python3
[ -n "$build" ] || pb_bail "usage: srs.sh BUILD_DIR"
[ -x "$build/pushbackd" ] || pb_bail "$build/pushbackd is not built"
[ -x "$build/pushback" ] || pb_bail "$build/pushback is not built"
[ -f "$policy_fragment" ] || pb_bail "$policy_fragment is missing"
[ -f "$srs_fragment" ] || pb_bail "$srs_fragment is missing"
[ -f "$src/tests/lib/signlib.py" ] || pb_bail "tests/lib/signlib.py is missing"
id postfix >/dev/null 2>&1 || pb_bail "no user postfix (postfix package?)"
getent group postdrop >/dev/null || pb_bail "no group postdrop"
pf_reap srs srs.sh
for port in $smtp_port $sink_port $policy_port $map_port $sub_port \
	$sub2_port; do
	pb_need_free_port $host "$port"
done

pb_mktemp srs || pb_bail "cannot make a temp dir"
t=$PB_TMP
pfconf=$t/etc      # main.cf, master.cf, virtual
maillog=$t/maillog # Postfix's log (maillog_file)
sink=$t/sink       # one file per message smtp-sink received
pbconf=$t/pushback.conf
pblog=$t/pushbackd.log
mkdir -p "$pfconf" "$t/queue" "$t/pb" "$t/swaks"
echo $$ >"$t/test.pid" # for pf_reap in a later run, should this one be killed
: >"$pblog"

# --- helpers of this test ---------------------------------------------------

# reply_to_nth N CMD FILE - the server's reply to the Nth command matching
# ERE CMD in FILE
reply_to_nth() {
	N=$1 CMD=$2 awk '
		/^ -> / { f = $0 ~ "^ -> " ENVIRON["CMD"] && ++n == ENVIRON["N"] }
		f && /^<(-|\*\*) / { sub(/^<(-|\*\*) +/, ""); print; exit }' "$3"
}

# sink_field MARKER FIELD - the envelope address smtp-sink recorded in the
# one message with MARKER (FIELD: Mail or Rcpt); empty unless exactly one
sink_field() {
	local files
	files=$(sink_files "$1")
	[ "$(printf '%s' "$files" | grep -c .)" -eq 1 ] || return 0
	sed -n "s/^X-$2-Args: <\\([^>]*\\)>.*/\\1/p" "$files" | head -n 1
}

# none_delivered NAME MARKER... - check no message with any MARKER reached
# smtp-sink (after the queue had a moment to send it)
none_delivered() {
	local name=$1 m n=0
	shift
	sleep 2
	for m in "$@"; do
		n=$((n + $(grep -rl -- "$m" "$sink" | grep -c .)))
	done
	pb_check_eq "$name" "$n" 0
}

# queue_empty NAME - check Postfix holds no message (none deferred, none
# bounced back to the sender)
queue_empty() {
	pb_check_match "$1" "$(postqueue -c "$pfconf" -p 2>&1)" \
		'^Mail queue is empty'
}

# not_queued NAME - check the last transaction left no message in Postfix
not_queued() {
	if grep -q 'queued as' "$last"; then
		pb_not_ok "$1" "got '$(grep 'queued as' "$last")', want no 'queued as'"
	else
		pb_ok "$1"
	fi
}

# signlib EXPR - evaluate a call of tests/lib/signlib.py (the independent
# signer) and print the address it makes
signlib() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import signlib
print(eval(sys.argv[2], vars(signlib)))' "$src/tests/lib" "$1"
}

# pb_cli - run the pushback CLI on the test's configuration
pb_cli() {
	"$build/pushback" -c "$pbconf" "$@" >>"$t/cli.log" 2>&1 ||
		pb_bail "pushback $* failed: $(tail -n 3 "$t/cli.log")"
}

# pb_out - the pushback CLI's answer on stdout (errors to the CLI log)
pb_out() {
	"$build/pushback" -c "$pbconf" "$@" 2>>"$t/cli.log"
}

# --- pushbackd: keys, configuration, directory ------------------------------

# The keys are made as contrib/postfix/README says, and read back for the
# independent signer.
pb_cli secret new "$t/srs.keys"
pb_cli secret new "$t/batv.keys" --batv
srs_key=$(grep -v -e '^#' -e '^[[:space:]]*$' "$t/srs.keys" | head -n 1)
read -r batv_num batv_key < <(grep -v -e '^#' -e '^[[:space:]]*$' \
	"$t/batv.keys" | head -n 1)
if [ -z "$srs_key" ] || [ -z "${batv_key:-}" ]; then
	pb_bail "no key in the files 'pushback secret new' made"
fi

cat >"$pbconf" <<EOF
[pushbackd]
state_dir = $t/pb
log = stderr
log_level = info

[milter]
listen =

[policy]
listen = inet:$host:$policy_port

[directory]
database = $t/pb/pushback.db

[srs]
domain = $srs_domain
local_domains = example.org
secrets = $t/srs.keys
max_age = 21

[batv]
secrets = $t/batv.keys
max_age = 7

[bounces]
protect = example.org

[socketmap]
listen = inet:$host:$map_port
EOF

pb_cli domain add example.org
pb_cli recipient add alice@example.org bob@example.org fwd@example.org

# shellcheck disable=SC2016 # the pid of the moment, read at exit
pb_at_exit 'pb_stop_pid "$PB_DAEMON_PID"'
pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start"
pb_wait_port $host $map_port 10 || pb_bail "pushbackd's socketmap did not listen"

# --- smtp-sink: the next hop for all mail -----------------------------------

sink_start

# --- the private Postfix instance -------------------------------------------

mail_version=$(postconf -d -h mail_version 2>/dev/null)
printf 'fwd@example.org dest@remote.example\n' >"$pfconf/virtual"
{
	pf_main_cf srs.sh
	cat <<EOF
# Our domain, relayed to the next hop (smtp-sink) like all other mail, so
# a bounce that comes back to one of our users can be seen there.
relay_domains = example.org
relay_recipient_maps =
relayhost = [$host]:$sink_port
smtpd_relay_restrictions = reject_unauth_destination
# A forwarding address of ours.
virtual_alias_maps = texthash:$pfconf/virtual
queue_run_delay = 1s
minimal_backoff_time = 1s

# --- contrib/postfix/main.cf.fragment, policy address set to the test's ---
EOF
	sed "s/$fragment_policy/inet:$host:$policy_port/" "$policy_fragment"
	echo
	echo "# --- contrib/postfix/srs.cf.fragment, socketmap address set to the test's ---"
	sed "s/$fragment_map/inet:$host:$map_port/g" "$srs_fragment"
} >"$pfconf/main.cf"

pf_master_cf >"$pfconf/master.cf"
# Our own users' mail comes in here (a submission service without login):
# relaying for 127.0.0.0/8, no policy service.  The second one does not
# check recipients at RCPT (smtpd_reject_unlisted_recipient = no): there
# the first lookup in pushbackd's socketmap is cleanup's, the one that
# signs the sender.
cat >>"$pfconf/master.cf" <<EOF
$host:$sub_port inet n - n - - smtpd
  -o syslog_name=postfix-pbtest/submission
  -o mynetworks=127.0.0.0/8
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o smtpd_recipient_restrictions=
$host:$sub2_port inet n - n - - smtpd
  -o syslog_name=postfix-pbtest/submission2
  -o mynetworks=127.0.0.0/8
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o smtpd_recipient_restrictions=
  -o smtpd_reject_unlisted_recipient=no
EOF

pf_start
for port in $sub_port $sub2_port; do
	pb_wait_port $host "$port" 10 || pb_bail "Postfix did not listen on $port"
done
for p in sender_canonical_maps recipient_canonical_maps; do
	got=$(postconf -c "$pfconf" -h $p)
	case $got in
	*"socketmap:inet:$host:$map_port:"*) ;;
	*) pb_bail "$p = $got (want the socketmap of $srs_fragment)" ;;
	esac
done
got=$(postconf -c "$pfconf" -h virtual_alias_domains)
case $got in
*"$srs_domain"*) ;;
*) pb_bail "virtual_alias_domains = $got (want $srs_domain)" ;;
esac

# --- the checks -----------------------------------------------------------

echo "# Postfix $mail_version on $host:$smtp_port (MX), $host:$sub_port and" \
	":$sub2_port (submission), pushbackd on $host:$policy_port (policy) and" \
	"$host:$map_port (socketmap), smtp-sink on $host:$sink_port"

# 1. Forwarding: the next hop sees an SRS0 sender at our SRS domain.
m=fwd.$run
send fwd user@foreign.example fwd@example.org "$m"
expect "forwarded message accepted at RCPT (250)" "RCPT TO:" '^250 '
expect "forwarded message queued (250 after DATA)" '\.$' '^250 .*queued as'
delivered "forwarded message reached the forwarding target" \
	"$m" dest@remote.example
srs=$(sink_field "$m" Mail)
pb_check_match "forwarded message left with an SRS0 envelope sender at $srs_domain" \
	"$srs" '^SRS0=[^=@]+=[A-Z2-7]{2}=foreign\.example=user@srs\.example\.org$'
pb_check_eq "'pushback srs reverse' of that sender gives the original sender" \
	"$(pb_out srs reverse "$srs")" user@foreign.example
pb_check_eq "that sender is the one an independent SRS signer makes" \
	"$srs" "$(signlib "srs0('$srs_key', 'user@foreign.example', '$srs_domain')")"

# 2. Our user's own mail: the next hop sees a prvs= sender.
m=batv.$run
smtp_port=$sub_port send batv alice@example.org friend@remote.example "$m"
expect "our user's message accepted on the submission port (250 after DATA)" \
	'\.$' '^250 .*queued as'
delivered "our user's message reached the next hop" "$m" friend@remote.example
prvs=$(sink_field "$m" Mail)
pb_check_match "our user's message left with a prvs= envelope sender" \
	"$prvs" '^prvs=[0-9][0-9]{3}[0-9a-f]{6}=alice@example\.org$'
pb_check_eq "'pushback batv verify' of that sender gives the user" \
	"$(pb_out batv verify "$prvs")" alice@example.org

if [ -z "$srs" ] || [ -z "$prvs" ]; then
	pb_bail "no signed return addresses to bounce to (checks 1 and 2 failed)"
fi

# 3. Genuine bounces come back to the signed addresses and are delivered
#    to the address inside them, envelope and To: header.
m=srsbounce.$run
send srsbounce '<>' "$srs" "$m"
expect "bounce to the SRS address accepted at RCPT (250)" "RCPT TO:" '^250 '
delivered "bounce to the SRS address delivered to the original sender" \
	"$m" user@foreign.example
f=$(sink_files "$m" 1 | head -n 1)
pb_check_eq "bounce to the SRS address still has the null sender" \
	"$([ -n "$f" ] && sed -n 's/^X-Mail-Args: \(<[^>]*>\).*/\1/p' "$f")" "<>"
pb_check_eq "bounce to the SRS address: its To: header rewritten too" \
	"$([ -n "$f" ] && grep -m 1 '^To:' "$f")" "To: user@foreign.example"

m=prvsbounce.$run
send prvsbounce '<>' "$prvs" "$m"
expect "bounce to the prvs address accepted at RCPT (250)" "RCPT TO:" '^250 '
delivered "bounce to the prvs address delivered to our user" \
	"$m" alice@example.org

# 4. Forged bounces: refused at RCPT, and nothing reaches anybody.
today=$(signlib 'today()')
old_srs=$(signlib "srs0('$srs_key', 'user@foreign.example', '$srs_domain', day=$today - 40)")
old_prvs=$(signlib "prvs('$batv_key', $batv_num, 'alice@example.org', $today - 1)")
bad_srs=$(signlib "srs0('not-our-key', 'user@foreign.example', '$srs_domain')")

m1=unsigned.$run
send unsigned '<>' alice@example.org "$m1"
expect "unsigned bounce to our user refused at RCPT with 550 5.7.1" \
	"RCPT TO:" '^550 5\.7\.1 <alice@example\.org>: '
m2=oldsrs.$run
send oldsrs '<>' "$old_srs" "$m2"
expect "bounce to an SRS address signed 40 days ago refused at RCPT (550)" \
	"RCPT TO:" '^550 '
m3=oldprvs.$run
send oldprvs '<>' "$old_prvs" "$m3"
expect "bounce to a prvs address that expired yesterday refused at RCPT (550 5.7.1)" \
	"RCPT TO:" '^550 5\.7\.1 '
m4=badsrs.$run
send badsrs '<>' "$bad_srs" "$m4"
expect "bounce to an SRS address signed with another key refused at RCPT (550)" \
	"RCPT TO:" '^550 '
# Not a bounce: Postfix itself refuses an SRS address it cannot reverse
# (srs.cf.fragment's virtual_alias_domains), so it is never relayed.
m5=badsrsmail.$run
send badsrsmail someone@elsewhere.example "$bad_srs" "$m5"
expect "mail to a forged SRS address refused at RCPT (550 5.1.1)" \
	"RCPT TO:" '^550 5\.1\.1 '
none_delivered "no forged bounce reached anybody" "$m1" "$m2" "$m3" "$m4" "$m5"

# 5. A bounce has one recipient: the second gets "try later".
m=tworcpt.$run
send tworcpt '<>' "$prvs,$srs" "$m"
pb_check_match "bounce with two recipients: the first accepted (250)" \
	"$(reply_to_nth 1 'RCPT TO:' "$last")" '^250 '
pb_check_match "bounce with two recipients: the second refused with 452 4.5.3" \
	"$(reply_to_nth 2 'RCPT TO:' "$last")" '^452 4\.5\.3 '
delivered "bounce with two recipients delivered to the first only" \
	"$m" alice@example.org

# 6. pushbackd down: 4xx everywhere, nothing queued, nothing bounced, and
#    nothing leaves unsigned; after a restart the same mail goes out signed.
queue_empty "Postfix's queue is empty before pushbackd stops"
pb_stop_pid "$PB_DAEMON_PID"
PB_DAEMON_PID=
pb_wait_port_closed $host $policy_port 5 ||
	pb_bail "pushbackd still listens after SIGTERM"
pb_wait_port_closed $host $map_port 5 ||
	pb_bail "pushbackd's socketmap still listens after SIGTERM"

m_bounce=downbounce.$run
send downbounce '<>' "$prvs" "$m_bounce"
expect "pushbackd stopped: bounce to a valid prvs address gets 4xx at RCPT" \
	"RCPT TO:" '^4[0-9][0-9] '
not_queued "pushbackd stopped: the bounce is not accepted"
m_fwd=downfwd.$run
send downfwd user@foreign.example fwd@example.org "$m_fwd"
expect "pushbackd stopped: forwarded message gets 4xx at RCPT" \
	"RCPT TO:" '^4[0-9][0-9] '
not_queued "pushbackd stopped: the forwarded message is not accepted"
# Our user's message: smtpd checks the recipient in recipient_canonical_maps
# (smtpd_reject_unlisted_recipient), cannot, and says "try later" at once;
# without that check cleanup cannot sign the sender, and the message is
# refused at the end of DATA.  Either way it is not sent unsigned.
m_sub=downsub.$run
smtp_port=$sub_port send downsub alice@example.org friend@remote.example "$m_sub"
expect "pushbackd stopped: our user's message gets 451 4.3.0 at RCPT (lookup failure)" \
	"RCPT TO:" '^451 4\.3\.0 .*[Tt]emporary lookup failure'
not_queued "pushbackd stopped: our user's message is not accepted"
smtp_port=$sub2_port send downsub2 alice@example.org friend@remote.example "$m_sub"
expect "pushbackd stopped, no RCPT check: our user's message gets 4xx after DATA" \
	'\.$' '^4[0-9][0-9] '
not_queued "pushbackd stopped, no RCPT check: our user's message is not accepted"
queue_empty "pushbackd stopped: Postfix's queue is empty (nothing deferred or bounced)"
none_delivered "pushbackd stopped: nothing reached the next hop" \
	"$m_bounce" "$m_fwd" "$m_sub"

pb_start_pushbackd "$build" "$pbconf" "$pblog" $host $policy_port ||
	pb_bail "pushbackd did not start again"
pb_wait_port $host $map_port 10 || pb_bail "pushbackd's socketmap did not listen again"
send upfwd user@foreign.example fwd@example.org "$m_fwd"
expect "pushbackd back: the forwarded message accepted (250 after DATA)" \
	'\.$' '^250 .*queued as'
delivered "pushbackd back: the forwarded message reached its target" \
	"$m_fwd" dest@remote.example
pb_check_match "pushbackd back: ... with an SRS0 envelope sender" \
	"$(sink_field "$m_fwd" Mail)" '^SRS0=[^@]*=foreign\.example=user@srs\.example\.org$'
smtp_port=$sub_port send upsub alice@example.org friend@remote.example "$m_sub"
expect "pushbackd back: our user's message accepted (250 after DATA)" \
	'\.$' '^250 .*queued as'
pb_check_match "pushbackd back: ... and left with a prvs= envelope sender" \
	"$(sink_field "$m_sub" Mail)" '^prvs=[0-9a-f]{10}=alice@example\.org$'
send upbounce '<>' "$prvs" "$m_bounce"
expect "pushbackd back: the bounce accepted at RCPT (250)" "RCPT TO:" '^250 '
delivered "pushbackd back: the bounce delivered to our user" \
	"$m_bounce" alice@example.org

if [ "$PB_FAILED" -ne 0 ]; then
	echo "# Postfix log (last 40 lines):"
	tail -n 40 "$maillog" | sed 's/^/#   /'
	echo "# pushbackd log (last 30 lines):"
	tail -n 30 "$pblog" | sed 's/^/#   /'
fi
pb_summary
