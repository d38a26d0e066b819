#!/bin/sh
#
# Benchmark: a block list of BLOCKLIST_NAMES names (default one million)
# loaded into a SuffixMatchNode by a Lua loop over the lines of a file, then
# one SuffixMatchNodeRule, as operators write it:
#
#	local smn = newSuffixMatchNode()
#	for line in io.lines(FILE) do smn:add(line) end
#	addAction(SuffixMatchNodeRule(smn), DropAction())
#
# For our daemon and the Debian dnsdist package in turn: the time from start
# until the daemon answers (the load), its resident memory once answering
# (VmRSS) and at its peak (VmHWM), and that a listed name is dropped while
# another is answered.  Loopback only; the names are generated.  Linux only
# (/proc).
#
# usage: regress/bench/blocklist.sh   (OURS=, THEIRS=, BLOCKLIST_NAMES=)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
N=${BLOCKLIST_NAMES:-1000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-blocklist.XXXXXX") || exit 1
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

now() {
	date +%s.%N
}

# answers PORT NAME: how many records the daemon gives for NAME (0: none).
answers() {
	dig +short +tries=1 +time=1 -p "$1" @127.0.0.1 "$2" 2>/dev/null |
	    grep -c '^[0-9]'
}

awk -v n="$N" 'BEGIN { srand(1); a = "abcdefghijklmnopqrstuvwxyz";
	for (i = 0; i < n; i++) { s = "";
		for (j = 0; j < 8; j++) s = s substr(a, int(rand() * 26) + 1, 1);
		printf "%s%d.%s.example.\n", s, i, (i % 3 == 0 ? "com" : "net") } }' \
    >"$work/names"
listed=$(sed -n '$p' "$work/names")
rport=$((20000 + $$ % 10000))
"$top/regress/responder/responder" -l "127.0.0.1:$rport" \
    -r "$work/responder.ready" >/dev/null 2>&1 &
pids="$pids $!"
i=0
while [ ! -f "$work/responder.ready" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done

printf '%d names\n' "$N"
printf '%-8s %8s %12s %12s %9s %9s\n' daemon load_s rss_kib peak_kib listed \
    other
for who in ours theirs; do
	if [ $who = ours ]; then bin=$OURS; else bin=$THEIRS; fi
	port=$((rport + 1))
	cat >"$work/$who.conf" <<CONF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
newServer{address='127.0.0.1:$rport', name='b1'}
local smn = newSuffixMatchNode()
for line in io.lines('$work/names') do smn:add(line) end
addAction(SuffixMatchNodeRule(smn), DropAction())
CONF
	t0=$(now)
	"$bin" --supervised --disable-syslog -C "$work/$who.conf" \
	    >"$work/$who.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	i=0
	until [ "$(answers $port www.example.)" -gt 0 ]; do
		i=$((i + 1))
		if [ $i -ge 1200 ] || ! kill -0 $dpid 2>/dev/null; then
			echo "$who did not start" >&2
			break
		fi
		sleep 0.05
	done
	t1=$(now)
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/$dpid/status)
	hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$dpid/status)
	l=$(answers $port "$listed")
	o=$(answers $port other.example.)
	printf '%-8s %8.2f %12s %12s %9s %9s\n' $who \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	    "$rss" "$hwm" "$([ "$l" = 0 ] && echo dropped || echo ANSWERED)" \
	    "$([ "$o" = 0 ] && echo LOST || echo answered)"
	kill $dpid
	wait $dpid 2>/dev/null
done
