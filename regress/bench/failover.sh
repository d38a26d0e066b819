#!/bin/sh
#
# Failover benchmark: queries lost when one of two backends dies under
# steady load, our daemon against the PowerDNS one, same config, same load.
#
# usage: regress/bench/failover.sh
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   THEIRS=path		the reference daemon (default: /usr/bin/dnsdist)
#   RESPONDER=path	the backends (default: regress/responder/responder)
#   FAIL_QPS=10000	the steady load (dnsperf -Q)
#   FAIL_SECONDS=6	its length; the first backend dies after a third
#   FAIL_ROUNDS=2	runs per daemon, alternating
#   FAIL_MODE=kill	kill: SIGKILL (the kernel answers port unreachable);
#			silent: the backend stops answering (SIGUSR1)
#   FAIL_DNSPERF_ARGS	more dnsperf arguments, e.g. "-b 4096": a silent
#			backend's queries come back all at once when they are
#			sent elsewhere, more than dnsperf's small default
#			socket buffers hold
#
# Each run starts two responders on loopback ports and the daemon with
# `--supervised --disable-syslog` in front of them (roundrobin, dnsdist's
# default health checks: every second, down after one failure), waits for
# it to answer, runs dnsperf at FAIL_QPS for FAIL_SECONDS, kills (or
# silences) the first responder a third of the way in, and reads dnsperf's
# "Queries lost" (not answered within its 5 s timeout); dnsperf may keep
# 20000 queries outstanding, so that losses do not stall the load.  Traffic stays on
# 127.0.0.1.  Linux only (taskset and /proc are used when present).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}
qps=${FAIL_QPS:-10000}
secs=${FAIL_SECONDS:-6}
rounds=${FAIL_ROUNDS:-2}
mode=${FAIL_MODE:-kill}

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$qps" "$secs" "$rounds"; do
	case $v in
	''|*[!0-9]*|0) die "FAIL_* values must be positive integers" ;;
	esac
done
case $mode in kill|silent) ;; *) die "FAIL_MODE: kill or silent" ;; esac
[ "$secs" -ge 3 ] || die "FAIL_SECONDS: at least 3"
[ "$rounds" -le 20 ] || die "FAIL_ROUNDS: at most 20"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$THEIRS" ] || die "$THEIRS: not found (apt-get install dnsdist)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
for t in dnsperf dig; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done

. "$here/ports.sh"
bench_work failover

awk 'BEGIN { for (i = 1; i <= 500; i++)
    printf "host%d.fail.example. A\n", i }' >"$work/queries.txt"

# wait_file FILE: at most 5 s for the responder's ready file.
wait_file() {
	i=0
	while [ ! -f "$1" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -f "$1" ] || die "responder not ready: $1"
}

# run_one LABEL BINARY ROUND: prints the number of queries lost.
run_one() {
	p1=$(free_port)
	p2=$(free_port "$p1")
	port=$(free_port "$p1" "$p2")
	rm -f "$work/r1.ready" "$work/r2.ready"
	"$RESPONDER" -l "127.0.0.1:$p1" -A 192.0.2.1 -r "$work/r1.ready" \
	    2>/dev/null &
	r1=$!
	"$RESPONDER" -l "127.0.0.1:$p2" -A 192.0.2.2 -r "$work/r2.ready" \
	    2>/dev/null &
	r2=$!
	pids="$r1 $r2"
	wait_file "$work/r1.ready"
	wait_file "$work/r2.ready"
	cat >"$work/$1.conf" <<CONF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
setACL('127.0.0.0/8')
setServerPolicy(roundrobin)
newServer{address='127.0.0.1:$p1', name='r1'}
newServer{address='127.0.0.1:$p2', name='r2'}
CONF
	"$2" --supervised --disable-syslog -C "$work/$1.conf" \
	    >"$work/$1.$3.log" 2>&1 &
	d=$!
	pids="$pids $d"
	wait_answer "$port" "$work/$1.$3.log"
	dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$secs" \
	    -Q "$qps" -c 4 -q 20000 ${FAIL_DNSPERF_ARGS:-} >"$work/$1.$3.dnsperf" 2>&1 &
	pp=$!
	sleep "$(awk -v s="$secs" 'BEGIN { print s / 3 }')"
	if [ "$mode" = kill ]; then
		kill -KILL "$r1"
	else
		kill -USR1 "$r1"
	fi
	wait "$pp" || die "dnsperf failed, see $work/$1.$3.dnsperf"
	cleanup
	awk '/Queries lost:/ { print $3 }' "$work/$1.$3.dnsperf"
}

echo "failover ($mode) at $qps qps for $secs s, $rounds rounds:"
tours=0 ttheirs=0 r=1
while [ $r -le "$rounds" ]; do
	o=$(run_one ours "$OURS" $r)
	t=$(run_one theirs "$THEIRS" $r)
	echo "  round $r: lost ours $o, theirs $t"
	tours=$((tours + o))
	ttheirs=$((ttheirs + t))
	r=$((r + 1))
done
sent=$((qps * secs * rounds))
echo "queries lost: ours $tours, theirs $ttheirs, of about $sent sent each"
echo "(work directory: $work)"
