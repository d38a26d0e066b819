#!/bin/sh
#
# UDP latency while TCP clients keep a Lua hook busy: the configuration
# lock must not let TCP queries waiting for the Lua lock hold up the UDP
# loop.  UDP queries at a steady rate, first alone, then with TCP
# connections hammering a TCP-only LuaAction; our daemon against the
# PowerDNS one, same configuration, same load.
#
# usage: regress/bench/hooklat.sh
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   THEIRS=path		the reference daemon (default: /usr/bin/dnsdist;
#			"none" to skip it)
#   HL_QPS=2000		UDP queries a second
#   HL_SECONDS=10	seconds of each run
#   HL_TCP=8		TCP connections of the second run
#
# The backend is the test responder (answers 192.0.2.1 over UDP and TCP).
# Each daemon gets `addAction(TCPRule(true), LuaAction(...))` whose
# function loops 20000 times, and a maintenance() function.  dnsperf
# sends HL_QPS UDP queries a second for HL_SECONDS (-v: each latency);
# in the second run another dnsperf keeps HL_TCP TCP connections as busy
# as they go.  Prints, per daemon and run: UDP queries sent, lost, and the
# median, 99th percentile and largest latency in ms, and the TCP queries
# answered.  Traffic stays on 127.0.0.1.  Linux only (/proc for ports).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=$top/regress/responder/responder
qps=${HL_QPS:-2000}
secs=${HL_SECONDS:-10}
ntcp=${HL_TCP:-8}

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$qps" "$secs" "$ntcp"; do
	case $v in
	''|*[!0-9]*|0) die "HL_* values must be positive integers" ;;
	esac
done
[ "$qps" -le 50000 ] || die "HL_QPS: at most 50000"
[ "$secs" -le 120 ] || die "HL_SECONDS: at most 120"
[ "$ntcp" -le 64 ] || die "HL_TCP: at most 64"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
command -v dnsperf >/dev/null || die "dnsperf: not found (make deps)"

. "$here/ports.sh"
bench_work hooklat

backend=$(free_port)
"$RESPONDER" -l "127.0.0.1:$backend" -A 192.0.2.1 -T \
    -r "$work/responder.ready" >/dev/null 2>&1 &
pids="$pids $!"
for i in $(seq 1 200); do echo "q$i.example. A"; done >"$work/names"

# summary OUT: a dnsperf -v run as "sent lost p50 p99 max".
summary() {
	sent=$(awk '/Queries sent:/ { print $3 }' "$1")
	lost=$(awk '/Queries lost:/ { print $3 }' "$1")
	awk '/^> / { print $NF * 1000 }' "$1" | sort -n >"$1.lat"
	n=$(wc -l <"$1.lat")
	if [ "$n" -eq 0 ]; then
		printf '%8s %6s %8s %8s %8s' "${sent:-0}" "${lost:-0}" - - -
		return
	fi
	p50=$(sed -n "$(( (n + 1) / 2 ))p" "$1.lat")
	p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$1.lat")
	max=$(tail -1 "$1.lat")
	printf '%8s %6s %8.3f %8.3f %8.3f' "$sent" "$lost" "$p50" "$p99" "$max"
}

# measure NAME BINARY: both runs against one daemon.
measure() {
	name=$1 bin=$2
	port=$(free_port "$backend")
	cat >"$work/$name.conf" <<EOF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
newServer{address='127.0.0.1:$backend'}
setMaxTCPClientThreads(4)
addAction(TCPRule(true), LuaAction(function(dq)
	local x = 0
	for i = 1, 20000 do x = x + i end
	return DNSAction.None
end))
function maintenance() end
EOF
	"$bin" --supervised --disable-syslog -C "$work/$name.conf" \
	    >"$work/$name.log" 2>&1 </dev/null &
	dpid=$!
	pids="$pids $dpid"
	wait_answer "$port" "$work/$name.log"
	dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" \
	    -Q "$qps" -c 1 -t 2 -v >"$work/$name.alone" 2>&1
	dnsperf -s 127.0.0.1 -p "$port" -m tcp -d "$work/names" \
	    -l "$((secs + 2))" -c "$ntcp" -q "$ntcp" -t 5 \
	    >"$work/$name.tcp" 2>&1 &
	tpid=$!
	pids="$pids $tpid"
	sleep 1		# the TCP clients connected and busy
	dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" \
	    -Q "$qps" -c 1 -t 2 -v >"$work/$name.loaded" 2>&1
	wait "$tpid"
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	tcpdone=$(awk '/Queries completed:/ { print $3 }' "$work/$name.tcp")
	printf '%-12s %-10s %s %10s\n' "$name" "UDP alone" \
	    "$(summary "$work/$name.alone")" -
	printf '%-12s %-10s %s %10s\n' "$name" "+$ntcp TCP" \
	    "$(summary "$work/$name.loaded")" "${tcpdone:-0}"
}

printf '%-12s %-10s %8s %6s %8s %8s %8s %10s\n' daemon run sent lost \
    p50_ms p99_ms max_ms tcp_done
measure this "$OURS"
[ "$THEIRS" = none ] || { [ -x "$THEIRS" ] && measure dnsdist "$THEIRS"; }
