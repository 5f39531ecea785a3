#!/bin/sh
# setup.sh PUSHBACK CONF - fill the directory named by CONF with the fixed
# test data the protocol transcripts (tests/proto/cases) and the hostile
# input test (tests/hostile/hostile.py) are written against, using the
# admin CLI only.  Fails (non-zero) on the first CLI error.
#
# setup.sh BUILD_DIR - (how CTest runs every tests/proto/*.sh) fill a
# scratch directory the same way and check, with `pushback check`, that
# the CLI sees the data as the transcripts expect.  Prints ok/not ok lines
# and "N passed, M failed".
#
# The data:
#   example.org                protected; alice, bob, postmaster exist
#   catchall.example           protected, catch-all
#   lists.example.org          protected (through its lists):
#     dev@       members, owner alice@example.org, check_sender envelope;
#                members alice@example.org, carol@example.net;
#                allowed poster bot@example.com
#     announce@  closed, default owner, check_sender envelope; allowed
#                poster alice@example.org;
#                member carol@example.net (members may not post)
#     chat@      open
#     mod@       moderated, member alice@example.org
#     talk@      members, owner bob@example.org, check_sender any (the
#                default: decided at end of headers for non-members);
#                member alice@example.org
#     news@      closed, check_sender any; allowed poster alice@example.org
#   anything else (example.net, example.com ...) is not protected
set -eu

# fill PUSHBACK CONF
fill() {
	pb=$1
	conf=$2
	run() {
		if ! "$pb" -c "$conf" "$@" >/dev/null; then
			echo "setup.sh: pushback $* failed" >&2
			exit 1
		fi
	}
	run domain add example.org
	run recipient add alice@example.org bob@example.org postmaster@example.org
	run domain add catchall.example --catch-all
	run list add dev@lists.example.org --policy members --owner alice@example.org --check-sender envelope
	run member add dev@lists.example.org alice@example.org carol@example.net
	run poster add dev@lists.example.org bot@example.com
	run list add announce@lists.example.org --policy closed --check-sender envelope
	run poster add announce@lists.example.org alice@example.org
	run member add announce@lists.example.org carol@example.net
	run list add chat@lists.example.org --policy open
	run list add mod@lists.example.org --policy moderated
	run list add talk@lists.example.org --policy members --owner bob@example.org
	run member add talk@lists.example.org alice@example.org
	run list add news@lists.example.org --policy closed
	run poster add news@lists.example.org alice@example.org
	run member add mod@lists.example.org alice@example.org
}

if [ $# -eq 2 ]; then
	fill "$1" "$2"
	exit 0
fi
if [ $# -ne 1 ]; then
	echo "usage: setup.sh PUSHBACK CONF | setup.sh BUILD_DIR" >&2
	exit 2
fi

# Self-check: the CLI's own view of the data.
pb=$(cd "$1" && pwd)/pushback
tmp=$(mktemp -d /tmp/pb-proto-setup-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/pb.conf" <<CONF
[pushbackd]
state_dir = $tmp
log = stderr

[directory]
database = $tmp/pushback.db
CONF
passed=0
failed=0
if (fill "$pb" "$tmp/pb.conf") 2>"$tmp/err"; then
	echo "ok - fill the test directory with the CLI"
	passed=$((passed + 1))
else
	echo "not ok - fill the test directory with the CLI"
	sed 's/^/# /' "$tmp/err"
	echo "0 passed, 1 failed"
	exit 1
fi

# want SENDER RECIPIENT ACTION - the first line of `pushback check`.
want() {
	out=$("$pb" -c "$tmp/pb.conf" check --sender "$1" --recipient "$2" 2>&1)
	rc=$?
	first=$(printf '%s\n' "$out" | head -n 1)
	if [ "$rc" -le 1 ] && [ "$first" = "action=$3" ]; then
		echo "ok - check <$1> -> <$2>: $3"
		passed=$((passed + 1))
	else
		echo "not ok - check <$1> -> <$2>: got '$first' (exit $rc), want 'action=$3'"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
set +e
want someone@example.net anybody@example.net DUNNO
want someone@example.net alice@example.org DUNNO
want someone@example.net Bob+tag@EXAMPLE.org DUNNO
want someone@example.net nobody@example.org "550 5.1.1 unknown recipient"
want someone@example.net x@catchall.example DUNNO
want carol@example.net dev@lists.example.org DUNNO
want bot@example.com dev@lists.example.org DUNNO
want mallory@example.net dev@lists.example.org \
	"550 5.7.1 you are not permitted to post to dev@lists.example.org; contact alice@example.org"
want carol@example.net announce@lists.example.org \
	"550 5.7.1 announce@lists.example.org is closed to posts; contact announce-owner@lists.example.org"
want alice@example.org announce@lists.example.org DUNNO
want mallory@example.net chat@lists.example.org DUNNO
want mallory@example.net mod@lists.example.org DUNNO
want "" dev@lists.example.org \
	"550 5.7.1 the list dev@lists.example.org takes no mail from the null sender"
want mallory@example.net dev-request@lists.example.org DUNNO
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
