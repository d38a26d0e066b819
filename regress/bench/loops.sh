#!/bin/sh
#
# UDP loops: one listener (one loop) against two addLocal() of one address
# with reusePort=true (two loops), at the same offered load.
#
# usage: regress/bench/loops.sh [--quick]
#
#   --quick	a smoke test: 3 s load, 1 round
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   LOOPS_QPS=30000	offered load (dnsperf -Q), the same for both
#   LOOPS_SECONDS=10	length of each run
#   LOOPS_ROUNDS=2	pairs of runs, alternating one loop, two loops, ...
#   LOOPS_CLIENTS=128	dnsperf -c: source ports, which the kernel hashes
#			over the loops' sockets
#   THEIRS=/usr/bin/dnsdist	PowerDNS dnsdist, run the same way in the same
#			rounds (one addLocal and two, its listener threads);
#			THEIRS= (empty) to leave it out
#
# Each run starts the daemon (--supervised, a console on a control socket)
# forwarding to one responder, waits until it answers and settles, reads
# its CPU time (utime + stime in /proc/PID/stat), runs dnsperf -Q at the
# offered load, reads the CPU time again and the UDP query counts of
# showBinds() (one row per listener, that is per loop), and stops it.
#
# Figures per setup (averages over the rounds):
#   qps		answered queries per second
#   lost	queries dnsperf gave up on
#   us/q	daemon CPU microseconds (user + sys) per answered query
#   min share	the smallest share of the queries one loop carried
# and the ratio of us/q, two loops over one, for each daemon, and ours over
# dnsdist's for each setup.  The daemon and the load are not pinned: the
# loops may take both cores.  Traffic stays on 127.0.0.1.  Linux only
# (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS-/usr/bin/dnsdist}
RESPONDER=$top/regress/responder/responder
qps=${LOOPS_QPS:-30000}
secs=${LOOPS_SECONDS:-10}
rounds=${LOOPS_ROUNDS:-2}
clients=${LOOPS_CLIENTS:-128}
KEY=$(head -c 32 /dev/urandom | base64)

die() {
	echo "$prog: $*" >&2
	exit 1
}

case $# in
0)	;;
1)	[ "$1" = --quick ] || die "usage: $prog [--quick]"
	secs=3
	rounds=1
	;;
*)	die "usage: $prog [--quick]" ;;
esac
for v in "$qps" "$secs" "$rounds" "$clients"; do
	case $v in
	''|*[!0-9]*|0) die "LOOPS_* values must be positive integers" ;;
	esac
done
[ "$rounds" -le 20 ] || die "LOOPS_ROUNDS: at most 20"
[ "$secs" -le 120 ] || die "LOOPS_SECONDS: at most 120"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -z "$THEIRS" ] || [ -x "$THEIRS" ] ||
    die "$THEIRS: not found (apt-get install dnsdist, or THEIRS=)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
command -v dnsperf >/dev/null || die "dnsperf: not found (make deps)"
[ -r /proc/self/stat ] || die "/proc is needed"

. "$here/ports.sh"
bench_work loops
hz=$(getconf CLK_TCK)

bport=$(free_port)
port=$(free_port "$bport")
cport=$(free_port "$bport" "$port")
"$RESPONDER" -l "127.0.0.1:$bport" -r "$work/r.ready" >"$work/r.log" 2>&1 &
pids="$pids $!"
i=0
while [ ! -f "$work/r.ready" ] && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
[ -f "$work/r.ready" ] || die "responder not ready"
awk 'BEGIN { for (i = 1; i <= 500; i++)
    printf "host%d.bench.example. A\n", i }' >"$work/names"

# conf N: the configuration with N listeners of one address.
conf() {
	{
		echo "setSecurityPollSuffix('')"
		echo "setKey('$KEY')"
		echo "controlSocket('127.0.0.1:$cport')"
		echo "setACL('127.0.0.0/8')"
		echo "setMaxUDPOutstanding(65535)"
		echo "newServer{address='127.0.0.1:$bport', name='b1'}"
		if [ "$1" = 1 ]; then
			echo "setLocal('127.0.0.1:$port')"
		else
			echo "setLocal('127.0.0.1:$port', {reusePort=true})"
			n=1
			while [ $n -lt "$1" ]; do
				echo "addLocal('127.0.0.1:$port', {reusePort=true})"
				n=$((n + 1))
			done
		fi
	} >"$work/d$1.conf"
}

# run N ROUND [DAEMON]: one run with N loops of DAEMON (ours by default);
# appends "N qps lost us/q minshare shares..." to $work/raw (ours) or
# $work/raw.theirs.
run() {
	daemon=${3:-$OURS}
	raw=$work/raw
	[ "$daemon" = "$OURS" ] || raw=$work/raw.theirs
	conf "$1"
	log=$work/d$1.$2.log
	"$daemon" --supervised --disable-syslog -C "$work/d$1.conf" \
	    >"$log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	wait_answer "$port" "$log"
	ctl '"ready"' | grep -qx ready || die "no console on port $cport"
	sleep 0.5
	c0=$(ticks "$dpid")
	b0=$(ctl 'showBinds()' | awk '$3 == "UDP" { printf "%s ", $4 }')
	dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" \
	    -Q "$qps" -c "$clients" -q 1000 >"$work/d$1.$2.dnsperf" 2>&1 ||
	    die "dnsperf failed, see $work/d$1.$2.dnsperf"
	c1=$(ticks "$dpid")
	b1=$(ctl 'showBinds()' | awk '$3 == "UDP" { printf "%s ", $4 }')
	kill -TERM "$dpid"
	wait "$dpid" 2>/dev/null
	pids=${pids%" $dpid"}
	awk -v n="$1" -v hz="$hz" -v t="$((c1 - c0))" -v b0="$b0" \
	    -v b1="$b1" '
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { q = $4 }
		END {
			k = split(b0, x, " "); split(b1, y, " ")
			for (i = 1; i <= k; i++) { d[i] = y[i] - x[i]; all += d[i] }
			min = 1
			for (i = 1; i <= k; i++) {
				s = all > 0 ? d[i] / all : 0
				if (s < min) min = s
				sh = sh sprintf(" %.3f", s)
			}
			printf "%d %.0f %d %.3f %.3f%s\n", n, q, lost,
			    (done > 0 ? t / hz * 1e6 / done : 0), min, sh
		}' "$work/d$1.$2.dnsperf" >>"$raw"
	tail -n 1 "$raw" | awk '{ printf "  %s %d loop(s) round %d: %s qps, " \
	    "%s lost, %s us/q, shares", w, $1, r, $2, $3, $4
	    for (i = 6; i <= NF; i++) printf " %s", $i; printf "\n" }' r="$2" \
	    w="$([ "$raw" = "$work/raw" ] && echo ours || echo dnsdist)"
}

echo "daemon: $OURS${THEIRS:+, and $THEIRS}"
echo "load:   dnsperf -Q $qps -c $clients -l $secs, $rounds round(s)"
: >"$work/raw"
r=1
while [ "$r" -le "$rounds" ]; do
	run 1 "$r"
	run 2 "$r"
	if [ -n "$THEIRS" ]; then
		run 1 "$r" "$THEIRS"
		run 2 "$r" "$THEIRS"
	fi
	r=$((r + 1))
done
echo
awk '
	{ n[$1]++; q[$1] += $2; l[$1] += $3; u[$1] += $4
	  if (!($1 in m) || $5 < m[$1]) m[$1] = $5 }
	END {
		printf "%-7s %10s %10s %10s %10s\n", "loops", "qps", "lost",
		    "us/q", "min share"
		for (k = 1; k <= 2; k++)
			printf "%-7d %10.0f %10.0f %10.3f %10.3f\n", k,
			    q[k] / n[k], l[k] / n[k], u[k] / n[k], m[k]
		r = u[2] / n[2] / (u[1] / n[1])
		printf "us/q two loops / one: %.3f (at most 1.1: %s)\n", r,
		    (r <= 1.1 ? "yes" : "no")
		printf "smallest share of a loop: %.3f (at least 0.35: %s)\n",
		    m[2], (m[2] >= 0.35 ? "yes" : "no")
	}' "$work/raw"
if [ -n "$THEIRS" ]; then
	echo
	echo "dnsdist, the same rounds:"
	awk '
		{ n[$1]++; q[$1] += $2; l[$1] += $3; u[$1] += $4
		  if (!($1 in m) || $5 < m[$1]) m[$1] = $5 }
		END {
			printf "%-7s %10s %10s %10s %10s\n", "threads", "qps",
			    "lost", "us/q", "min share"
			for (k = 1; k <= 2; k++)
				printf "%-7d %10.0f %10.0f %10.3f %10.3f\n", k,
				    q[k] / n[k], l[k] / n[k], u[k] / n[k], m[k]
			printf "us/q two threads / one: %.3f\n",
			    u[2] / n[2] / (u[1] / n[1])
		}' "$work/raw.theirs"
	awk 'FNR == NR { u[$1] += $4; n[$1]++; next }
		{ t[$1] += $4; m[$1]++ }
		END {
			for (k = 1; k <= 2; k++)
				printf "us/q ours / dnsdist, %d loop(s): %.3f\n",
				    k, (u[k] / n[k]) / (t[k] / m[k])
		}' "$work/raw" "$work/raw.theirs"
fi
echo "raw figures: $work/raw"
