#!/bin/sh
#
# DNS over HTTPS to a backend (newServer's dohPath): our dnsdist against
# the PowerDNS one, each in front of the same Unbound serving DoH, under
# the same UDP load.
#
# usage: regress/bench/dohout.sh
#
# Environment: OURS, THEIRS as for run.sh; DOHOUT_SECONDS (10) per run,
# DOHOUT_ROUNDS (2) alternations, DOHOUT_CLIENTS (4) and
# DOHOUT_OUTSTANDING (200) for dnsperf -c and -q.
#
# Per daemon and round: queries per second that dnsperf gets over UDP,
# each query going to Unbound over kept HTTP/2 connections, and the
# daemon's CPU microseconds per query (utime + stime over the run).  Both
# daemons keep their defaults: one thread carries the UDP queries to DoH
# backends (setOutgoingDoHWorkerThreads).  Unbound runs one thread.  The
# daemon runs on CPU 0, dnsperf and Unbound on CPU 1 (taskset) when there
# are two.  Linux only (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
secs=${DOHOUT_SECONDS:-10}
rounds=${DOHOUT_ROUNDS:-2}
clients=${DOHOUT_CLIENTS:-4}
outstanding=${DOHOUT_OUTSTANDING:-200}

die() {
	echo "$prog: $*" >&2
	exit 1
}

for t in dnsperf openssl dig unbound; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -x "$OURS" ] && [ -x "$THEIRS" ] || die "need $OURS and $THEIRS"
. "$here/ports.sh"
bench_work dohout
hz=$(getconf CLK_TCK)
bench_tls
uport=$(free_port)
{
	printf 'server:\n'
	printf '\tinterface: 127.0.0.1@%s\n\thttps-port: %s\n' "$uport" "$uport"
	printf '\thttp-endpoint: "/dns-query"\n'
	printf '\ttls-service-key: "%s/k.pem"\n' "$work"
	printf '\ttls-service-pem: "%s/c.pem"\n' "$work"
	printf '\tnum-threads: 1\n\tincoming-num-tcp: 100\n'
	printf '\tdo-daemonize: no\n\tchroot: ""\n\tusername: ""\n'
	printf '\tdirectory: "%s"\n\tpidfile: ""\n\tuse-syslog: no\n' "$work"
	printf '\tdo-ip6: no\n\taccess-control: 127.0.0.0/8 allow\n'
	printf '\tmodule-config: "iterator"\n'
	printf '\tlocal-zone: "bench.example." static\n'
	printf '\tlocal-data: "ready.bench.example. 60 IN A 192.0.2.1"\n'
	awk 'BEGIN { for (i = 0; i < 500; i++) printf "\tlocal-data: " \
	    "\"n%d.bench.example. 60 IN A 192.0.2.1\"\n", i }'
	printf 'remote-control:\n\tcontrol-enable: no\n'
} >"$work/unbound.conf"
$pin_l unbound -d -c "$work/unbound.conf" >"$work/unbound.log" 2>&1 &
pids="$pids $!"
wait_answer "$uport" "$work/unbound.log"

# one NAME BINARY: a run; prints "NAME qps us/q".
one() {
	port=$(free_port "$uport")
	{
		echo "setSecurityPollSuffix('')"
		echo "setLocal('127.0.0.1:$port')"
		echo "newServer{address='127.0.0.1:$uport', tls='openssl'," \
		    "dohPath='/dns-query', subjectName='dns.test'," \
		    "caStore='$work/c.pem', checkName='ready.bench.example.'}"
	} >"$work/$1.conf"
	$pin_d "$2" --supervised --disable-syslog -C "$work/$1.conf" \
	    >"$work/$1.log" 2>&1 &
	d=$!
	pids="$pids $d"
	wait_answer "$port" "$work/$1.log"
	$pin_l dnsperf -s 127.0.0.1 -p "$port" -d "$work/q.txt" -c 4 -l 1 \
	    >/dev/null 2>&1
	t0=$(ticks "$d")
	$pin_l dnsperf -s 127.0.0.1 -p "$port" -d "$work/q.txt" \
	    -c "$clients" -q "$outstanding" -l "$secs" >"$work/$1.perf" 2>&1
	t1=$(ticks "$d")
	kill -TERM "$d"
	wait "$d" 2>/dev/null
	awk -v n="$1" -v dt=$((t1 - t0)) -v hz="$hz" '
	    /Queries completed:/ { q = $3 }
	    /Queries per second:/ { qps = $4 }
	    END { us = q > 0 ? dt / hz * 1e6 / q : 0
		printf "%s %.0f %.2f\n", n, qps, us }' "$work/$1.perf"
}

echo "daemon qps us/query"
r=0
while [ $r -lt "$rounds" ]; do
	one ours "$OURS"
	one theirs "$THEIRS"
	r=$((r + 1))
done | tee "$work/raw"
awk '{ q[$1] += $2; c[$1] += $3; n[$1]++ }
    END {
	for (d in n)
		printf "%-7s avg qps %.0f  us/query %.2f\n", d, q[d] / n[d],
		    c[d] / n[d]
	if (n["theirs"] && q["theirs"] && c["theirs"])
		printf "ratio   qps %.2fx  us/query %.2f\n",
		    q["ours"] / q["theirs"], c["ours"] / c["theirs"]
    }' "$work/raw"
echo "work directory: $work"
