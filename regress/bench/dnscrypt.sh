#!/bin/sh
#
# DNSCrypt over UDP: our dnsdist against the PowerDNS one (Debian's
# dnsdist 1.7.3), the same DNSCrypt bind and backend, the same load.
#
# usage: regress/bench/dnscrypt.sh
#
# Environment:
#   OURS, THEIRS, RESPONDER	as run.sh
#   BENCH_SECONDS=10	length of one run
#   BENCH_ROUNDS=3	pairs of runs, alternating ours and theirs
#   BENCH_WINDOW=32	queries the client keeps in flight
#
# The load client is regress/dnsdist/dnscryptq.py load: Python, one
# thread, libsodium through ctypes; no DNSCrypt load generator is packaged
# (dnsperf speaks no DNSCrypt).  It keeps BENCH_WINDOW encrypted queries
# in flight and decrypts every answer, so it, not the daemon, is the
# limit: qps says how fast the pair went, and the daemon's CPU per
# answered query (utime and stime of /proc/PID/stat) is the figure that
# compares the daemons.  The daemon runs on CPU 0, the client on CPU 1
# (taskset, when there are two CPUs), the responder where it may.  Traffic stays
# on 127.0.0.1.  Linux only (/proc).

set -u

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
window=${BENCH_WINDOW:-32}
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}
DCQ=$top/regress/dnsdist/dnscryptq.py
PROVIDER=2.bench.example

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$secs" "$rounds" "$window"; do
	case $v in
	''|*[!0-9]*|0) die "BENCH_* values must be positive integers" ;;
	esac
done
[ "$rounds" -le 20 ] || die "BENCH_ROUNDS: at most 20"
[ -x "$OURS" ] || die "$OURS: not found; build it with make"
[ -x "$THEIRS" ] || die "$THEIRS: not found; install the dnsdist package"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found; build it with make"

. "$here/ports.sh"
bench_work dnscrypt
hz=$(getconf CLK_TCK)
pin_daemon=
pin_load=
if command -v taskset >/dev/null 2>&1 &&
    [ "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" -ge 2 ]; then
	pin_daemon="taskset -c 0"
	pin_load="taskset -c 1"
fi

cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

bport=$(free_port)
dport=$(free_port "$bport")
start_responder 1 "$bport"

cd "$work" || die "no work directory"
echo "setSecurityPollSuffix('')" >gen.conf
echo "generateDNSCryptProviderKeys('prov.pub', 'prov.key')" >>gen.conf
"$OURS" --check-config -C gen.conf >/dev/null || die "no provider keys"

# run NAME BIN: one run; appends "NAME qps us/query" to raw.
run() {
	now=$(date +%s)
	{
		echo "setSecurityPollSuffix('')"
		echo "generateDNSCryptCertificate('prov.key', 'r.cert', 'r.key', 1, $((now - 60)), $((now + 86400)))"
		echo "addDNSCryptBind('127.0.0.1:$dport', '$PROVIDER', 'r.cert', 'r.key')"
		echo "newServer{address='127.0.0.1:$bport'}"
	} >"$1.conf"
	$pin_daemon "$2" --supervised --disable-syslog -C "$1.conf" \
	    >>"$1.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	_i=0
	until python3 "$DCQ" certs "$dport" "$PROVIDER" prov.pub \
	    >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || die "no DNSCrypt answer from $1, see $work/$1.log"
		sleep 0.1
	done
	c0=$(cpu_ticks "$dpid")
	out=$($pin_load python3 "$DCQ" load -d "$secs" -w "$window" \
	    "$dport" "$PROVIDER" prov.pub www.bench.example.) ||
	    die "the load failed against $1"
	c1=$(cpu_ticks "$dpid")
	kill "$dpid"
	wait "$dpid" 2>/dev/null
	echo "$1 $out $c0 $c1" | awk -v hz="$hz" '{
		qps = $3 / $4; us = ($6 - $5) / hz * 1e6 / ($3 > 0 ? $3 : 1)
		printf "%s %.0f %.2f %d %d\n", $1, qps, us, $2, $3 }' >>raw
}

i=0
while [ $i -lt "$rounds" ]; do
	run this "$OURS"
	run dnsdist-1.7 "$THEIRS"
	i=$((i + 1))
done
echo "DNSCrypt over UDP, $rounds rounds of ${secs}s, $window in flight"
echo "(per run: name qps CPU-us/query sent answered)"
cat raw
awk '{ q[$1] += $2; u[$1] += $3; n[$1]++ }
END {
	printf "%-12s %10s %14s\n", "", "qps", "CPU us/query"
	for (k in q) printf "%-12s %10.0f %14.2f\n", k, q[k] / n[k], u[k] / n[k]
	if (n["this"] && n["dnsdist-1.7"])
		printf "%-12s %9.2fx %14.2f\n", "ratio",
		    q["this"] / n["this"] / (q["dnsdist-1.7"] / n["dnsdist-1.7"]),
		    (u["this"] / n["this"]) / (u["dnsdist-1.7"] / n["dnsdist-1.7"])
}' raw
echo "raw figures and logs: $work"
