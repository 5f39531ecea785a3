#!/bin/bash
# interop.sh BUILD - pushback's SRS and BATV against the real things.
#
# One secret, three other implementations, both directions:
#   postsrsd 1.x (Debian)   its tcp_table on loopback: "get ADDR" on the
#                           forward port gives SRS0/SRS1, on the reverse
#                           port the address back ("200 ADDR" / "500 why")
#   Mail::SRS (Debian)      Mail::SRS::Guarded through a small Perl script
#   Exim 4 (Debian, not     ${prvs{ADDR}{KEY}{N}} and ${prvscheck{...}}
#   installed: unpacked     evaluated by exim4 -be with a private config
#   by scripts/fetch-exim)
# and pushback through its CLI (pushback -c CONF srs forward|reverse,
# batv sign|verify).  For each pair: what one writes the other undoes,
# the two write the same bytes on the same day, a signature with one
# character changed is refused by both, and an upper-cased SRS address
# still reverses.  SRS1 is made by forwarding an SRS0 of another SRS
# domain a second time.
#
# Signatures depend on the day: a run that would straddle midnight UTC
# waits for it to pass first.
#
# Needs: postsrsd, perl with Mail::SRS, bash; for Exim apt-get download
# (package lists) and, the first time, root (the Debian-exim user).
# Ports: 127.0.0.1:10200 postsrsd forward, :10201 postsrsd reverse.
# PB_KEEP=1 keeps the temp dir (configs, keys, logs).
set -u

build=${1:-${PB_BUILD_DIR:-}}
src=${PB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$src/tests/integration/lib.sh"

host=127.0.0.1
fwd_port=10200
rev_port=10201
domain=srs.example.org

[ -n "$build" ] || pb_bail "usage: interop.sh BUILD_DIR"
build=$(cd "$build" && pwd) || pb_bail "no build directory $1"
[ -x "$build/pushback" ] || pb_bail "$build/pushback is not built"
pb_need_cmd postsrsd perl
perl -MMail::SRS -e 1 2>/dev/null ||
	pb_skip "perl module Mail::SRS not installed (libmail-srs-perl)"

# io_reap - end what an earlier run that was killed left behind: its
# postsrsd (found by the temp dir on its command line) and the dir
io_reap() {
	local dir pid proc args
	for dir in /tmp/pbtest-interop.*; do
		[ -f "$dir/test.pid" ] || continue
		pid=$(cat "$dir/test.pid")
		if pb_alive "$pid" &&
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -q 'interop\.sh'; then
			continue # a run in progress
		fi
		echo "# cleaning up after a killed run in $dir"
		for proc in /proc/[0-9]*; do
			args=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)
			case $args in
			*"$dir/"*) pb_stop_pid "${proc#/proc/}" 5 ;;
			esac
		done
		rm -rf "$dir"
	done
}

io_reap
pb_need_free_port $host $fwd_port
pb_need_free_port $host $rev_port
pb_mktemp interop || pb_bail "cannot make a temp dir"
t=$PB_TMP
echo $$ >"$t/test.pid"

# Wait out midnight UTC when it is less than a minute away: every check
# compares signatures made "today" by two programs.
secs=$(($(date +%s) % 86400))
if [ "$secs" -gt $((86400 - 60)) ]; then
	echo "# waiting $((86400 - secs + 1)) s for midnight UTC to pass"
	sleep $((86400 - secs + 1))
fi

# --- keys and configs ---------------------------------------------------

# pb_conf NAME SRS_DOMAIN SEPARATOR HASH_LENGTH - a pushback config using
# the shared key files
pb_conf() {
	cat >"$t/$1.conf" <<EOF
[pushbackd]
state_dir = $t/state
[srs]
domain = $2
local_domains = example.org
secrets = $t/srs.key
hash_length = $4
min_hash_length = 4
max_age = 21
separator = $3
[batv]
secrets = $t/batv.key
max_age = 7
EOF
}

mkdir -p "$t/state"
pb_conf pb "$domain" = 4
pb_conf hop2 hop2.example = 4
pb_conf plus "$domain" + 6
# the SRS key comes from pushback itself (pb_keys_new): base64 text that
# postsrsd, Mail::SRS and Exim all take as it is
"$build/pushback" -c "$t/pb.conf" secret new "$t/srs.key" 2>"$t/secret.err" ||
	pb_bail "pushback secret new failed: $(cat "$t/secret.err")"
# BATV: key number 3 signs, number 1 (an older key) still verifies
"$build/pushback" -c "$t/pb.conf" secret new "$t/batv-new.key" --batv \
	2>"$t/secret.err" || pb_bail "pushback secret new --batv failed"
batv_key3=$(sed 's/^0 //' "$t/batv-new.key")
batv_key1=old-batv-key-$RANDOM$RANDOM
(umask 077 && printf '3 %s\n1 %s\n' "$batv_key3" "$batv_key1" >"$t/batv.key")

# --- the four programs ----------------------------------------------------

# pbx CONF ARGS... - run the pushback CLI; stdout in $out, stderr in $err,
# exit code in $rc
pbx() {
	local conf=$1
	shift
	out=$("$build/pushback" -c "$t/$conf.conf" "$@" 2>"$t/pb.err")
	rc=$?
	err=$(cat "$t/pb.err")
}

# psrs PORT ADDR - one tcp_table lookup; prints postsrsd's answer line
psrs() {
	local line=
	exec 3<>"/dev/tcp/$host/$1" || return 1
	printf 'get %s\n' "$2" >&3
	IFS= read -r -t 5 line <&3
	exec 3>&-
	printf '%s\n' "${line%$'\r'}"
}

cat >"$t/srs.pl" <<'EOF'
# srs.pl KEYFILE SEP HASHLEN forward ADDR DOMAIN | reverse ADDR
use strict;
use warnings;
use Mail::SRS;
my ($file, $sep, $len, $op, $addr, $dom) = @ARGV;
open(my $fh, '<', $file) or die "$file: $!\n";
my $secret = <$fh>;
$secret =~ s/[\r\n]+\z//;
my $srs = Mail::SRS->new(Secret => $secret, Separator => $sep,
			 HashLength => $len);
my $r = eval {
	$op eq 'forward' ? $srs->forward($addr, $dom) : $srs->reverse($addr)
};
if (!defined $r) { print STDERR $@; exit 1; }
print "$r\n";
EOF

# msrs SEP HASHLEN forward ADDR DOMAIN | reverse ADDR - Mail::SRS
msrs() {
	perl "$t/srs.pl" "$t/srs.key" "$@" 2>>"$t/perl.err"
}

# --- postsrsd -------------------------------------------------------------

postsrsd -s "$t/srs.key" -d "$domain" -l$host -f$fwd_port -r$rev_port \
	-4 -p "$t/postsrsd.pid" >"$t/postsrsd.log" 2>&1 &
psrs_pid=$!
pb_at_exit "pb_stop_pid $psrs_pid 5"
if ! pb_wait_port $host $fwd_port 10 || ! pb_wait_port $host $rev_port 10
then
	pb_bail "postsrsd did not listen: $(cat "$t/postsrsd.log")"
fi

# flip_hash ADDR - the address with the first character of its hash
# (after "SRS0=" / "SRS1=" / "prvs=K DDD") changed
flip_hash() {
	local a=$1 i=5 c
	case $a in prvs=*) i=9 ;; esac
	c=${a:i:1}
	case $c in
	[0-8]) c=$((c + 1)) ;;
	9) c=0 ;;
	[Aa]) c=b ;;
	*) c=a ;;
	esac
	printf '%s%s%s\n' "${a:0:i}" "$c" "${a:i+1}"
}

# --- SRS: pushback and postsrsd ------------------------------------------

echo "# SRS: pushback <-> postsrsd"
plain=alice+tag@foo.example
foreign0="SRS0=AbCd=G3=orig.example=bob@first.example"
foreign1="SRS1=WxYz=first.example==AbCd=G3=orig.example=bob@hop9.example"

pbx pb srs forward "$plain"
pb_srs0=$out
pb_check_match "pushback forwards a plain address to SRS0" "$out" \
	"^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=foo\\.example=alice\\+tag@$domain\$"
pb_check_eq "postsrsd writes the same SRS0" \
	"$(psrs $fwd_port "$plain")" "200 $pb_srs0"
pb_check_eq "postsrsd reverses pushback's SRS0" \
	"$(psrs $rev_port "$pb_srs0")" "200 $plain"
ps_srs0=$(psrs $fwd_port "bob.smith@bar.example")
ps_srs0=${ps_srs0#200 }
pbx pb srs reverse "$ps_srs0"
pb_check_eq "pushback reverses postsrsd's SRS0" "$out" "bob.smith@bar.example"

pbx pb srs forward "$foreign0"
pb_srs1=$out
pb_check_match "pushback forwards a foreign SRS0 to SRS1" "$out" \
	"^SRS1=[A-Za-z0-9+/]{4}=first\\.example==AbCd=G3=orig\\.example=bob@$domain\$"
pb_check_eq "postsrsd writes the same SRS1" \
	"$(psrs $fwd_port "$foreign0")" "200 $pb_srs1"
pb_check_eq "postsrsd reverses pushback's SRS1" \
	"$(psrs $rev_port "$pb_srs1")" "200 $foreign0"
ps_srs1=$(psrs $fwd_port "SRS0+XyZw=AB=other.example=carol@first.example")
ps_srs1=${ps_srs1#200 }
pbx pb srs reverse "$ps_srs1"
pb_check_eq "pushback reverses postsrsd's SRS1" "$out" \
	"SRS0+XyZw=AB=other.example=carol@first.example"

pbx pb srs forward "$foreign1"
pb_check_eq "pushback and postsrsd re-sign an SRS1 alike" \
	"$(psrs $fwd_port "$foreign1")" "200 $out"
pb_check_eq "postsrsd reverses pushback's re-signed SRS1" \
	"$(psrs $rev_port "$out")" \
	"200 SRS0=AbCd=G3=orig.example=bob@first.example"

bad=$(flip_hash "$pb_srs0")
pb_check_match "postsrsd refuses pushback's SRS0 with a changed hash" \
	"$(psrs $rev_port "$bad")" "^500 "
pbx pb srs reverse "$bad"
pb_check_eq "pushback refuses it too" "$rc:$out:$err" "1::bad-hash"
bad=$(flip_hash "$ps_srs0")
pbx pb srs reverse "$bad"
pb_check_eq "pushback refuses postsrsd's SRS0 with a changed hash" \
	"$rc:$out:$err" "1::bad-hash"
bad=$(flip_hash "$pb_srs1")
pb_check_match "postsrsd refuses pushback's SRS1 with a changed hash" \
	"$(psrs $rev_port "$bad")" "^500 "
upper=$(printf '%s' "$pb_srs0" | tr '[:lower:]' '[:upper:]')
pb_check_eq "postsrsd reverses pushback's SRS0 upper-cased" \
	"$(psrs $rev_port "$upper")" \
	"200 $(printf '%s' "$plain" | tr '[:lower:]' '[:upper:]')"
upper=$(printf '%s' "$ps_srs0" | tr '[:lower:]' '[:upper:]')
pbx pb srs reverse "$upper"
pb_check_eq "pushback reverses postsrsd's SRS0 upper-cased" "$out" \
	"BOB.SMITH@BAR.EXAMPLE"

# --- SRS: pushback and Mail::SRS -----------------------------------------

echo "# SRS: pushback <-> Mail::SRS"
m_srs0=$(msrs '=' 4 forward "$plain" "$domain")
pb_check_eq "Mail::SRS writes the same SRS0" "$m_srs0" "$pb_srs0"
pb_check_eq "Mail::SRS reverses pushback's SRS0" \
	"$(msrs '=' 4 reverse "$pb_srs0")" "$plain"
m_srs0=$(msrs '=' 4 forward "dave@baz.example" "$domain")
pbx pb srs reverse "$m_srs0"
pb_check_eq "pushback reverses Mail::SRS's SRS0" "$out" "dave@baz.example"

# SRS1: the SRS0 of srs.example.org forwarded again by hop2.example
m_srs1=$(msrs '=' 4 forward "$m_srs0" hop2.example)
pbx hop2 srs forward "$m_srs0"
pb_check_eq "pushback (hop2) writes Mail::SRS's SRS1" "$out" "$m_srs1"
pb_check_match "that SRS1 keeps the SRS0 opaque" "$m_srs1" \
	"^SRS1=[A-Za-z0-9+/]{4}=$domain==.*=baz\\.example=dave@hop2\\.example\$"
pbx hop2 srs reverse "$m_srs1"
pb_check_eq "pushback (hop2) reverses Mail::SRS's SRS1" "$out" "$m_srs0"
pbx pb srs reverse "$out"
pb_check_eq "pushback then reverses the SRS0 inside" "$out" "dave@baz.example"
pbx hop2 srs forward "$pb_srs0"
pb_srs1=$out
pb_check_eq "Mail::SRS reverses pushback's SRS1" \
	"$(msrs '=' 4 reverse "$pb_srs1")" "$pb_srs0"
pb_check_eq "Mail::SRS then reverses the SRS0 inside" \
	"$(msrs '=' 4 reverse "$(msrs '=' 4 reverse "$pb_srs1")")" "$plain"
pbx pb srs forward "$m_srs1"
pb_check_eq "pushback and Mail::SRS re-sign an SRS1 alike" "$out" \
	"$(msrs '=' 4 forward "$m_srs1" "$domain")"

# separator '+' and 6-character hashes
pbx plus srs forward "$plain"
pb_check_eq "Mail::SRS (Separator +, HashLength 6) writes the same" \
	"$(msrs + 6 forward "$plain" "$domain")" "$out"
pb_check_eq "Mail::SRS reverses pushback's SRS0+ with a 6-char hash" \
	"$(msrs + 6 reverse "$out")" "$plain"
pbx pb srs reverse "$(msrs + 6 forward "erin@qux.example" "$domain")"
pb_check_eq "pushback (separator =) reverses Mail::SRS's SRS0+" "$out" \
	"erin@qux.example"

bad=$(flip_hash "$pb_srs0")
if msrs '=' 4 reverse "$bad" >/dev/null; then
	pb_not_ok "Mail::SRS refuses pushback's SRS0 with a changed hash" \
		"it reversed $bad"
else
	pb_ok "Mail::SRS refuses pushback's SRS0 with a changed hash"
fi
if msrs '=' 4 reverse "$(flip_hash "$pb_srs1")" >/dev/null; then
	pb_not_ok "Mail::SRS refuses pushback's SRS1 with a changed hash" \
		"it reversed it"
else
	pb_ok "Mail::SRS refuses pushback's SRS1 with a changed hash"
fi
pbx hop2 srs reverse "$(flip_hash "$m_srs1")"
pb_check_eq "pushback refuses Mail::SRS's SRS1 with a changed hash" \
	"$rc:$out:$err" "1::bad-hash"
upper=$(printf '%s' "$m_srs0" | tr '[:lower:]' '[:upper:]')
pbx pb srs reverse "$upper"
pb_check_eq "pushback reverses Mail::SRS's SRS0 upper-cased" "$out" \
	"DAVE@BAZ.EXAMPLE"

# --- BATV: pushback and Exim ----------------------------------------------

echo "# BATV: pushback <-> Exim"
exim_dir=$build/exim
exim=$exim_dir/usr/sbin/exim4
if ! "$src/scripts/fetch-exim" "$exim_dir" >"$t/fetch-exim.log" 2>&1; then
	pb_not_ok "scripts/fetch-exim $exim_dir" "$(tail -n 5 "$t/fetch-exim.log")"
else
	# The least config -be needs: spool and log inside the temp dir (as
	# root, Exim would otherwise create /var/spool/exim4 even for -be).
	mkdir -p "$t/exim/spool" "$t/exim/log"
	cat >"$t/exim/exim.conf" <<EOF
spool_directory = $t/exim/spool
log_file_path = $t/exim/log/%slog
EOF
	# exim_be EXPR - expand one string
	exim_be() {
		"$exim" -C "$t/exim/exim.conf" -be "$1" 2>>"$t/exim/stderr"
	}
	# exim_check ADDR KEY - "ok:ADDR" or "fail" from ${prvscheck}
	exim_check() {
		exim_be "\${prvscheck{$1}{$2}{\${if eq{\$prvscheck_result}{1}{ok:\$prvscheck_address}{fail}}}}"
	}
	addr="Frank.Jones+x@example.org"

	pbx pb batv sign "$addr"
	pb_prvs=$out
	pb_check_match "pushback signs with key 3, 7 days" "$pb_prvs" \
		"^prvs=3[0-9]{3}[0-9a-f]{6}=Frank\\.Jones\\+x@example\\.org\$"
	pb_check_eq "Exim writes the same prvs" \
		"$(exim_be "\${prvs{$addr}{$batv_key3}{3}}")" "$pb_prvs"
	pb_check_eq "Exim accepts pushback's prvs" \
		"$(exim_check "$pb_prvs" "$batv_key3")" "ok:$addr"
	e_prvs=$(exim_be "\${prvs{grace@example.org}{$batv_key3}{3}}")
	pbx pb batv verify "$e_prvs"
	pb_check_eq "pushback verifies Exim's prvs" "$out" "grace@example.org"
	e_prvs1=$(exim_be "\${prvs{heidi@example.org}{$batv_key1}{1}}")
	pbx pb batv verify "$e_prvs1"
	pb_check_eq "pushback verifies Exim's prvs made with the old key 1" \
		"$out" "heidi@example.org"

	bad=$(flip_hash "$pb_prvs")
	pb_check_eq "Exim refuses pushback's prvs with a changed hash" \
		"$(exim_check "$bad" "$batv_key3")" "fail"
	pbx pb batv verify "$bad"
	pb_check_eq "pushback refuses it too" "$rc:$out:$err" "1::bad-hash"
	pbx pb batv verify "$(flip_hash "$e_prvs")"
	pb_check_eq "pushback refuses Exim's prvs with a changed hash" \
		"$rc:$out:$err" "1::bad-hash"
	pb_check_eq "Exim refuses pushback's prvs under another key" \
		"$(exim_check "$pb_prvs" "$batv_key1")" "fail"
	# A documented difference: Exim compares the hex digits exactly, we
	# fold case.  Checked so the documentation stays true, on a prvs
	# whose hash holds a letter (the key is random: about one hash in
	# sixteen is all numerals, and would not change).
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		pbx pb batv sign "ivan$i@example.org"
		case ${out:9:6} in *[a-f]*) break ;; esac
	done
	upper="prvs=${out:5:4}$(printf '%s' "${out:9:6}" |
		tr '[:lower:]' '[:upper:]')${out:15}"
	pb_check_match "a prvs with a hex letter to upper-case" "$upper" \
		'^prvs=3[0-9]{3}[0-9A-F]*[A-F][0-9A-F]*=ivan'
	pb_check_eq "Exim refuses upper-case hex digits (documented)" \
		"$(exim_check "$upper" "$batv_key3")" "fail"
	pbx pb batv verify "$upper"
	pb_check_eq "pushback accepts upper-case hex digits" "$out" \
		"${upper#prvs=??????????=}"
fi

# --- the end ----------------------------------------------------------------

if ! pb_alive "$psrs_pid"; then
	pb_not_ok "postsrsd still running" "it died: $(cat "$t/postsrsd.log")"
fi
if [ -s "$t/perl.err" ]; then
	echo "# Mail::SRS said:"
	sed 's/^/#   /' "$t/perl.err"
fi
pb_summary
