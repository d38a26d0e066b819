#!/bin/sh
#
# DNS over TLS: our dnsdist against the PowerDNS one, same certificate,
# same backend (the test responder over TCP), same load.
#
# usage: regress/bench/dot.sh
#
# Environment: OURS, THEIRS, RESPONDER as for run.sh; DOT_SECONDS (10)
# per run, DOT_ROUNDS (2) alternations, DOT_CLIENTS (20) and
# DOT_OUTSTANDING (100) for dnsperf -m dot -c and -q, DOT_HS_SECONDS (5)
# for the handshake run.
#
# Per daemon and round: queries per second over kept connections with
# dnsperf -m dot, and the daemon's CPU microseconds per query (utime +
# stime over the run); then new handshakes per second with openssl
# s_time -new (a full TLS 1.3 handshake per connection, no resumption).
# The daemon runs on CPU 0 and the load on CPU 1 (taskset) when there are
# two.  Both daemons run 2 TCP worker threads.  Linux only (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}
secs=${DOT_SECONDS:-10}
rounds=${DOT_ROUNDS:-2}
clients=${DOT_CLIENTS:-20}
outstanding=${DOT_OUTSTANDING:-100}
hsecs=${DOT_HS_SECONDS:-5}

die() {
	echo "$prog: $*" >&2
	exit 1
}

for t in dnsperf openssl dig; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -x "$OURS" ] && [ -x "$THEIRS" ] && [ -x "$RESPONDER" ] ||
    die "need $OURS, $THEIRS and $RESPONDER"
. "$here/ports.sh"
bench_work dot
hz=$(getconf CLK_TCK)
bench_tls
rport=$(free_port)
start_responder 1 "$rport"

ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# one NAME BINARY: a run of each measure; prints "NAME qps us/q hs/s".
one() {
	port=$(free_port "$rport")
	tport=$(free_port "$rport" "$port")
	cat >"$work/$1.conf" <<EOF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
addTLSLocal('127.0.0.1:$tport', '$work/c.pem', '$work/k.pem')
newServer{address='127.0.0.1:$rport'}
setMaxTCPClientThreads(2)
EOF
	$pin_d "$2" --supervised --disable-syslog -C "$work/$1.conf" \
	    >"$work/$1.log" 2>&1 &
	d=$!
	pids="$pids $d"
	wait_answer "$port" "$work/$1.log"
	# Warm up, so that both start with their threads and connections.
	$pin_l dnsperf -m dot -s 127.0.0.1 -p "$tport" -d "$work/q.txt" \
	    -c 4 -l 1 >/dev/null 2>&1
	t0=$(ticks "$d")
	$pin_l dnsperf -m dot -s 127.0.0.1 -p "$tport" -d "$work/q.txt" \
	    -c "$clients" -q "$outstanding" -l "$secs" >"$work/$1.perf" 2>&1
	t1=$(ticks "$d")
	hs=$($pin_l openssl s_time -connect "127.0.0.1:$tport" -new \
	    -time "$hsecs" 2>/dev/null | awk '/connections in .* real/ {
	    printf "%.0f", $1 / $4 }')
	kill -TERM "$d"
	wait "$d" 2>/dev/null
	awk -v n="$1" -v dt=$((t1 - t0)) -v hz="$hz" -v hs="${hs:-0}" '
	    /Queries completed:/ { q = $3 }
	    /Queries per second:/ { qps = $4 }
	    END { us = q > 0 ? dt / hz * 1e6 / q : 0
		printf "%s %.0f %.2f %s\n", n, qps, us, hs }' "$work/$1.perf"
}

echo "daemon qps us/query handshakes/s"
r=0
while [ $r -lt "$rounds" ]; do
	one ours "$OURS"
	one theirs "$THEIRS"
	r=$((r + 1))
done | tee "$work/raw"
awk '{ q[$1] += $2; c[$1] += $3; h[$1] += $4; n[$1]++ }
    END {
	for (d in n)
		printf "%-7s avg qps %.0f  us/query %.2f  handshakes/s %.0f\n",
		    d, q[d] / n[d], c[d] / n[d], h[d] / n[d]
	if (n["theirs"] && q["theirs"] && c["theirs"] && h["theirs"])
		printf "ratio   qps %.2fx  us/query %.2f  handshakes/s %.2fx\n",
		    q["ours"] / q["theirs"], c["ours"] / c["theirs"],
		    h["ours"] / h["theirs"]
    }' "$work/raw"
echo "work directory: $work"
