#!/bin/sh
#
# DNS over TLS and over HTTPS: our dnsdist against the PowerDNS one, same
# certificate, same backend (the test responder over TCP), same load.
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
# s_time -new (a full TLS 1.3 handshake per connection, no resumption);
# then the same as the first over DNS over HTTPS: h2load (nghttp2's load
# client; dnsperf 2.10's DoH waits for each answer and loses most) with
# DOT_CLIENTS connections of DOT_OUTSTANDING streams each, GET of
# /dns-query for one A query.
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

for t in dnsperf openssl dig h2load; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -x "$OURS" ] && [ -x "$THEIRS" ] && [ -x "$RESPONDER" ] ||
    die "need $OURS, $THEIRS and $RESPONDER"
. "$here/ports.sh"
bench_work dot
hz=$(getconf CLK_TCK)
bench_tls
# www.example. A, ID 0, RD, base64url without padding (RFC 8484).
doh_q=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlAAABAAE
rport=$(free_port)
start_responder 1 "$rport"

ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# one NAME BINARY: a run of each measure; prints "NAME qps us/q hs/s".
one() {
	port=$(free_port "$rport")
	tport=$(free_port "$rport" "$port")
	hport=$(free_port "$rport" "$port" "$tport")
	cat >"$work/$1.conf" <<EOF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
addTLSLocal('127.0.0.1:$tport', '$work/c.pem', '$work/k.pem')
addDOHLocal('127.0.0.1:$hport', '$work/c.pem', '$work/k.pem', '/dns-query')
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
	url="https://127.0.0.1:$hport/dns-query?dns=$doh_q"
	$pin_l h2load -c 4 -m 10 -D 1 "$url" >/dev/null 2>&1
	t2=$(ticks "$d")
	$pin_l h2load -c "$clients" -m "$outstanding" -D "$secs" "$url" \
	    >"$work/$1.hperf" 2>&1
	t3=$(ticks "$d")
	kill -TERM "$d"
	wait "$d" 2>/dev/null
	dot=$(perf_line $((t1 - t0)) "$work/$1.perf")
	doh=$(awk -v dt=$((t3 - t2)) -v hz="$hz" '
	    /^finished in/ { rps = $4 }
	    /^requests:/ { ok = $8 }
	    END { us = ok > 0 ? dt / hz * 1e6 / ok : 0
		printf "%.0f %.2f\n", rps, us }' "$work/$1.hperf")
	echo "$1 $dot ${hs:-0} $doh"
}

# perf_line TICKS FILE: "qps us/query" of a dnsperf run and the ticks the
# daemon spent in it.
perf_line() {
	awk -v dt="$1" -v hz="$hz" '
	    /Queries completed:/ { q = $3 }
	    /Queries per second:/ { qps = $4 }
	    END { us = q > 0 ? dt / hz * 1e6 / q : 0
		printf "%.0f %.2f\n", qps, us }' "$2"
}

echo "daemon dot-qps us/query handshakes/s doh-qps us/query"
r=0
while [ $r -lt "$rounds" ]; do
	one ours "$OURS"
	one theirs "$THEIRS"
	r=$((r + 1))
done | tee "$work/raw"
awk '{ q[$1] += $2; c[$1] += $3; h[$1] += $4; hq[$1] += $5
	hc[$1] += $6; n[$1]++ }
    END {
	for (d in n)
		printf "%-7s DoT qps %.0f  us/query %.2f  handshakes/s %.0f" \
		    "  DoH qps %.0f  us/query %.2f\n", d, q[d] / n[d],
		    c[d] / n[d], h[d] / n[d], hq[d] / n[d], hc[d] / n[d]
	if (n["theirs"] && q["theirs"] && c["theirs"] && h["theirs"] &&
	    hq["theirs"] && hc["theirs"])
		printf "ratio   DoT qps %.2fx  us/query %.2f  handshakes/s " \
		    "%.2fx  DoH qps %.2fx  us/query %.2f\n",
		    q["ours"] / q["theirs"], c["ours"] / c["theirs"],
		    h["ours"] / h["theirs"], hq["ours"] / hq["theirs"],
		    hc["ours"] / hc["theirs"]
    }' "$work/raw"
echo "work directory: $work"
